"""The decode comparison: a Python >= 3.12 environment with pyftms, and both decoders run in it.

Owns: `find_python` (the first of `python3.13`, `python3.12` on PATH, then
`~/.pyenv/versions/3.1[23]*/bin/python3`, newest first, that really runs and is a 3.12: a
pyenv shim for a version that is not selected fails to run and is skipped, and pyftms 0.2.20
declares `Requires-Python >=3.11,<3.13` on PyPI, so a 3.13 is passed over), `ensure_env`
(`benchmarks/.env-pyftms` with `pyftms==0.2.20`, reused while it still works), and
`run_compare` (`python -m benchmarks.compare --json` in a given interpreter, the repository on
`PYTHONPATH`). pyftms 0.2.20 uses `typing.override` and 3.12 f-string syntax, hence the
separate interpreter.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.procs import REPO, BenchError

ENV_DIR = REPO / "benchmarks" / ".env-pyftms"
PYFTMS = "pyftms==0.2.20"
SUPPORTED = ((3, 12), (3, 13))  # >= 3.12 for the syntax, < 3.13 by pyftms's own metadata
_VERSION = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


def _version(python: str) -> tuple[int, ...] | None:
    try:
        done = subprocess.run(
            [python, "-c", _VERSION], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        return tuple(int(part) for part in done.stdout.strip().split("."))
    except ValueError:
        return None


def candidates() -> list[str]:
    """Where a Python >= 3.12 may be, in the order they are tried."""
    found = [p for p in (shutil.which("python3.13"), shutil.which("python3.12")) if p]
    pattern = os.path.expanduser("~/.pyenv/versions/3.1[23]*/bin/python3")
    found += sorted(glob.glob(pattern), reverse=True)
    return found


def find_python() -> tuple[str | None, list[str]]:
    """The first usable Python 3.12 and a note for every candidate passed over."""
    passed_over: list[str] = []
    low, high = SUPPORTED
    for python in candidates():
        version = _version(python)
        if version is not None and low <= version < high:
            return python, passed_over
        why = (
            "does not run"
            if version is None
            else f"is {'.'.join(map(str, version))} (pyftms 0.2.20 needs a 3.12)"
        )
        passed_over.append(f"{python} {why}")
    return None, passed_over


def _env_python() -> Path:
    return ENV_DIR / "bin" / "python"


def _has_pyftms(python: Path) -> bool:
    check = "import importlib.metadata as m, pyftms; print(m.version('pyftms'))"
    try:
        done = subprocess.run(
            [str(python), "-c", check], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == PYFTMS.split("==")[1]


def ensure_env(python: str) -> Path:
    """`benchmarks/.env-pyftms` made with `python`, with pyftms installed; its interpreter.

    Raises `BenchError` with pip's message when the environment cannot be made.
    """
    env_python = _env_python()
    version = _version(str(env_python)) if env_python.exists() else None
    low, high = SUPPORTED
    if version is not None and low <= version < high and _has_pyftms(env_python):
        return env_python
    shutil.rmtree(ENV_DIR, ignore_errors=True)
    steps = [
        [python, "-m", "venv", str(ENV_DIR)],
        [str(env_python), "-m", "pip", "install", "--disable-pip-version-check", "-q", PYFTMS],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise BenchError(f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}".strip())
    return env_python


def run_compare(python: str | Path, *, number: int, repeat: int) -> dict[str, Any]:
    """`benchmarks.compare` in `python`; raises `BenchError` with its output when it fails."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [str(python), "-m", "benchmarks.compare", "--json", "--number", str(number),
            "--repeat", str(repeat)]  # fmt: skip
    done = subprocess.run(
        argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=900, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}".strip())
    result: dict[str, Any] = json.loads(done.stdout)
    return result
