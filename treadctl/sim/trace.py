"""An opt-in timing trace of the virtual treadmill, for the benchmarks; off unless asked for.

Owns: `TRACE`, set once at import: None unless `$TREADCTL_SIM_TRACE` names a file, in which case
every notification or indication handed to the radio and every control-point write received is
appended to that file as one line, `<monotonic_ns> <kind> <treadmill> <uuid16> <hex octets>`,
kind `notify`, `indicate` or `write`. `time.monotonic_ns()` reads CLOCK_MONOTONIC, which on Linux
is one clock for every process, so `benchmarks/run.py` compares these stamps with its own.
Callers test `trace.TRACE is not None` first: with the variable unset that test is the whole cost.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from treadctl import ftms

ENV_VAR = "TREADCTL_SIM_TRACE"


class Trace:
    """Appends one line per event to a line-buffered text file."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def record(self, kind: str, treadmill: str, uuid: str, data: bytes) -> None:
        """One line, stamped now; `uuid` is the characteristic's 128-bit UUID string."""
        stamp_ns = time.monotonic_ns()
        name = treadmill.replace(" ", "_")  # one field per column, whatever the name
        self._stream.write(f"{stamp_ns} {kind} {name} {uuid[4:8]} {data.hex()}\n")

    def write(self, treadmill: str, data: bytes) -> None:
        """A control-point write, stamped as it arrives."""
        self.record("write", treadmill, ftms.CONTROL_POINT_UUID, data)


def _open_from_environment() -> Trace | None:
    path = os.environ.get(ENV_VAR)
    if not path:
        return None
    # Line-buffered so a reader sees each line as it happens; closed when the process exits.
    return Trace(open(path, "a", buffering=1, encoding="ascii"))


TRACE: Trace | None = _open_from_environment()
