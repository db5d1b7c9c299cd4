"""The daemon's environment for the benchmarks: what a Raspberry Pi install has, plus bumble.

Owns: `ensure_env` (`benchmarks/.env-runtime`, a venv made with the harness's own interpreter
holding treadctl's runtime dependencies from `pyproject.toml` and the exact bumble pin of its
`demo` extra, nothing else; reused while it still holds them) and `daemon_env` (the variables
that run treadctl from the source tree in it).

Why: the project venv also holds the test and demo tools (pytest, hypothesis, amqtt, typer and
the `rich` it pulls in), and structlog imports `rich` whenever it is installed, ~4.5 MiB the
daemon on a Pi never loads. bumble is there only because the daemon reaches the virtual
treadmills through it (`radio = "sim:…"`); with `radio = "bluez"` it is never imported.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from benchmarks.procs import REPO, BenchError

ENV_DIR = REPO / "benchmarks" / ".env-runtime"
_STAMP = ENV_DIR / "requirements.json"


def requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """treadctl's runtime dependencies and its bumble pin, as pip requirement strings."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    bumble = [r for r in project["optional-dependencies"]["demo"] if r.startswith("bumble")]
    return [*project["dependencies"], *bumble]


def env_python() -> Path:
    return ENV_DIR / "bin" / "python"


def _stamp(wanted: list[str]) -> str:
    key = json.dumps({"python": sys.version, "requirements": wanted})
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_env() -> Path:
    """`benchmarks/.env-runtime` with the runtime dependencies installed; its interpreter.

    Raises `BenchError` with pip's message when the environment cannot be made."""
    wanted = requirements()
    python = env_python()
    if python.exists() and _STAMP.exists() and _STAMP.read_text("utf-8") == _stamp(wanted):
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(ENV_DIR)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *wanted],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            raise BenchError(f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}".strip())
    _STAMP.write_text(_stamp(wanted), encoding="utf-8")
    return python


def daemon_env() -> dict[str, str]:
    """treadctl from the source tree (not installed in the environment: nothing to rebuild)."""
    return {"PYTHONPATH": str(REPO)}
