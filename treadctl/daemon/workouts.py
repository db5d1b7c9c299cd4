"""The workouts a daemon offers: the bundled ones plus the site's own directory.

Owns: resolving a workout *name* (from MQTT or the config) to its file. Names only: a command
can never make the daemon read an arbitrary path. A site file with a bundled name replaces the
bundled one.
"""

from __future__ import annotations

from pathlib import Path

from treadctl.errors import CommandError
from treadctl.workout.bundled import bundled_workouts

MANUAL = "manual"  # the pseudo-workout: the person sets speed and incline by command


class WorkoutCatalog:
    """Workout files by name: bundled, overridden by `*.toml` in `site_dir`."""

    def __init__(self, site_dir: Path | None) -> None:
        self._site_dir = site_dir

    def files(self) -> dict[str, Path]:
        """Every workout by name (read afresh, so files added later are found)."""
        found = dict(bundled_workouts())
        if self._site_dir is not None and self._site_dir.is_dir():
            found.update({path.stem: path for path in sorted(self._site_dir.glob("*.toml"))})
        return found

    def names(self) -> list[str]:
        """The names a `start` command accepts, `manual` included."""
        return [*sorted(self.files()), MANUAL]

    def path(self, name: str) -> Path:
        """The file of workout `name`; raises `CommandError` naming the known workouts."""
        found = self.files().get(name.removesuffix(".toml"))
        if found is None:
            known = ", ".join(self.names())
            raise CommandError(f"unknown workout {name!r}; known: {known}", where="workout")
        return found
