"""Reports the unit's systemd-analyze exposure figure at the end of the run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_REPORT: list[str] = []


@pytest.fixture
def report_line() -> Callable[[str], None]:
    """Add a line to the end-of-run summary (shown without -s too)."""
    return _REPORT.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _REPORT:
        terminalreporter.section("systemd unit")
        for line in _REPORT:
            terminalreporter.write_line(line)
