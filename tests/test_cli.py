"""The command line's wiring: every subcommand has --help, errors become one line."""

from __future__ import annotations

import pytest

from treadctl import __version__, cli


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`treadctl version` prints the version from the package."""
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"treadctl {__version__}"


@pytest.mark.parametrize("name", sorted(cli.SUBCOMMANDS))
def test_every_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`treadctl NAME --help` exits 0 and describes the subcommand."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    assert f"treadctl {name}" in capsys.readouterr().out
