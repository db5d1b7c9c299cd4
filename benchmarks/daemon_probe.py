"""The daemon with timing probes, for `benchmarks/diagnose.py`: where a notification's time goes.

Run as `python -m benchmarks.daemon_probe run --config FILE` with `$BENCH_PROBE_LOG` naming a
file. Runs `treadctl` unchanged after wrapping, from the outside, four places with a
`time.monotonic_ns()` stamp and duration per call, one line each:
`event <start> <ns> <key…>` (the daemon handling a Treadmill Data record: runner, session record,
MQTT hand-over), `fsync <start> <ns>`, `send <start> <ns>` (paho writing to the broker's socket)
and `gc <generation> <start> <ns>`. The wrapped names are internals (a diagnostic, not an API):
one that has moved is reported on stderr and left unprobed. `$BENCH_CPROFILE`, when set, also
profiles the whole run into that file.
"""

from __future__ import annotations

import cProfile
import gc
import os
import runpy
import sys
import time
from typing import Any, TextIO

from benchmarks.stats import record_key


def _install(out: TextIO) -> None:
    started: dict[str, int] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started["gc"] = time.monotonic_ns()
        elif "gc" in started:
            begin = started["gc"]
            out.write(f"gc {info['generation']} {begin} {time.monotonic_ns() - begin}\n")

    gc.callbacks.append(on_gc)
    real_fsync = os.fsync

    def fsync(fd: Any) -> None:
        begin = time.monotonic_ns()
        real_fsync(fd)
        out.write(f"fsync {begin} {time.monotonic_ns() - begin}\n")

    os.fsync = fsync
    _wrap_event(out)
    _wrap_send(out)


def _wrap_event(out: TextIO) -> None:
    from treadctl import ble
    from treadctl.daemon import treadmill

    service = treadmill.TreadmillService
    real = getattr(service, "_on_link_event", None)
    if real is None:
        print("daemon_probe: TreadmillService._on_link_event is gone; not probed", file=sys.stderr)
        return

    def on_link_event(self: Any, event: Any) -> None:
        begin = time.monotonic_ns()
        real(self, event)
        if isinstance(event, ble.TelemetryReceived):
            key = " ".join(repr(v) for v in record_key(event.record))
            out.write(f"event {begin} {time.monotonic_ns() - begin} {key}\n")

    service._on_link_event = on_link_event  # type: ignore[method-assign]


def _wrap_send(out: TextIO) -> None:
    from paho.mqtt import client

    real = getattr(client.Client, "_sock_send", None)
    if real is None:
        print("daemon_probe: paho Client._sock_send is gone; not probed", file=sys.stderr)
        return

    def sock_send(self: Any, buf: bytes) -> Any:
        begin = time.monotonic_ns()
        sent = real(self, buf)
        out.write(f"send {begin} {time.monotonic_ns() - begin}\n")
        return sent

    client.Client._sock_send = sock_send  # type: ignore[method-assign,assignment]


def main() -> None:
    out = open(os.environ["BENCH_PROBE_LOG"], "a", buffering=1, encoding="ascii")  # noqa: SIM115
    _install(out)
    sys.argv = ["treadctl", *sys.argv[1:]]
    profile_path = os.environ.get("BENCH_CPROFILE")
    profiler = cProfile.Profile() if profile_path else None
    if profiler is not None:
        profiler.enable()
    try:
        runpy.run_module("treadctl", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        if profiler is not None and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)


if __name__ == "__main__":
    main()
