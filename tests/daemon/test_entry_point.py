"""The one `treadctl` entry point: the subcommands a user installs it for, each with --help.

(`tests/test_cli.py` checks --help for whatever `SUBCOMMANDS` holds; this pins what it must
hold, so a command dropped from the table fails here.)"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from testsupport.daemon import run_treadctl

from treadctl import cli

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("run", "scan", "plan", "sim", "sessions", "check-config", "demo", "version")


def test_the_entry_point_is_cli_main() -> None:
    """pyproject installs one console script, `treadctl`, running `treadctl.cli:main`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {"treadctl": "treadctl.cli:main"}


def test_every_command_is_offered() -> None:
    """run, scan, plan, sim, sessions, check-config, demo and version are all subcommands."""
    assert set(COMMANDS) <= set(cli.SUBCOMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_builds_its_options(name: str) -> None:
    """Each command's own options are set up (its runner exists), not only its help line."""
    _, runners = cli.build_parser([name])
    assert set(runners) == {name}
    assert callable(runners[name])


async def test_top_level_help_lists_every_command() -> None:
    """`python -m treadctl --help` exits 0 and lists every command."""
    code, out, err = await run_treadctl("--help")
    assert code == 0, err
    for name in COMMANDS:
        assert f"    {name}" in out, out
