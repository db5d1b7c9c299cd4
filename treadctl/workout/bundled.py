"""The workouts that ship with treadctl (`config/workouts/` in the repository).

Owns: finding them at run time — `treadctl/_bundled/workouts` inside an installed wheel (through
`importlib.resources`), else the repository's `config/workouts/` — and resolving a name such as
"first-timer" to its file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from treadctl.errors import WorkoutError

_REPO_DIR = Path(__file__).resolve().parents[2] / "config" / "workouts"


def bundled_dir() -> Path | None:
    """The directory of bundled workouts, or None when neither place exists."""
    try:
        packaged = resources.files("treadctl") / "_bundled" / "workouts"
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - odd installs
        pass
    return _REPO_DIR if _REPO_DIR.is_dir() else None


def bundled_workouts() -> dict[str, Path]:
    """Bundled workout files by name (file name without `.toml`)."""
    folder = bundled_dir()
    if folder is None:
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def resolve_workout(name_or_path: str) -> Path:
    """A workout file: an existing path as given, else a bundled workout of that name.

    Raises `WorkoutError` naming the bundled workouts when neither exists.
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    found = bundled_workouts().get(name_or_path.removesuffix(".toml"))
    if found is not None:
        return found
    known = ", ".join(bundled_workouts()) or "none found"
    raise WorkoutError(
        f"no such file, and no bundled workout of that name ({known})", where=name_or_path
    )
