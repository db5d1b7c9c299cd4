"""The daemon's own cost: time to READY, and CPU and memory with 1 and 8 treadmills.

Owns: `measure_startup` (the daemon is given a `NOTIFY_SOCKET`, a datagram socket the harness
binds, and timed from just before it is spawned to the `READY=1` datagram) and
`measure_footprint` (the daemon alone, the virtual treadmills in a `treadctl sim` process
notifying at 4 Hz, a workout running on every treadmill: CPU time from `/proc/<pid>/stat`
(utime + stime) over a window after a warm-up, divided by the Treadmill Data notifications the
simulator sent in that window, and VmRSS / VmHWM from `/proc/<pid>/status` at its end).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

from benchmarks import stats
from benchmarks.latency import command, start_workout, wait_connected
from benchmarks.procs import BenchError, Children, Probe, Sim, start_daemon, start_sim
from benchmarks.procs import write_daemon_config as write_config

RATE_HZ = 4.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


async def measure_startup(
    children: Children, work: Path, mqtt_port: int, sim: Sim, runs: int, *,
    radio: str | None = None, settle_s: float = 0.0,
) -> dict[str, list[float]]:  # fmt: skip
    """Seconds from spawning `python -m treadctl run` to its `READY=1`, `runs` times; with
    `settle_s`, also the daemon's RSS (MiB) that long after READY."""
    config = work / f"startup-{radio or 'sim'}.toml"
    write_config(config, sim=sim, mqtt_port=mqtt_port, state_dir=work / "state", radio=radio)
    log_path = work / f"daemon-startup-{radio or 'sim'}.log"
    loop = asyncio.get_running_loop()
    result: dict[str, list[float]] = {"ready_s": [], "rss_mib": []}
    for run in range(runs):
        path = work / f"notify-{radio or 'sim'}-{run}.sock"
        path.unlink(missing_ok=True)  # a socket file left by an earlier call
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, log_path.open("ab") as log:
            sock.bind(str(path))
            sock.setblocking(False)
            start_ns = time.monotonic_ns()
            daemon = await start_daemon(children, config, log, env={"NOTIFY_SOCKET": str(path)})
            try:
                async with asyncio.timeout(30):
                    while b"READY=1" not in (await loop.sock_recv(sock, 4096)).split(b"\n"):
                        pass
            except TimeoutError:
                raise BenchError(f"no READY=1 within 30 s; see {log_path}") from None
            result["ready_s"].append((time.monotonic_ns() - start_ns) / 1e9)
            if settle_s:
                await asyncio.sleep(settle_s)
                result["rss_mib"].append(stats.memory_mib(_read(daemon.pid, "status"))["VmRSS"])
            await children.stop(daemon)
    return result


def _read(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_text(encoding="ascii", errors="replace")


async def measure_footprint(
    children: Children, work: Path, mqtt_port: int, count: int, *, warmup_s: float,
    window_s: float, sim: Sim | None = None,
) -> dict[str, Any]:  # fmt: skip
    """CPU per notification and memory of a daemon driving `count` treadmills."""
    own_sim = sim is None
    if sim is None:
        sim = await start_sim(
            children, work / f"trace-cpu-{count}.txt", count=count, rate_hz=RATE_HZ
        )
    config, log_path = work / f"cpu-{count}.toml", work / f"daemon-cpu-{count}.log"
    ids = write_config(config, sim=sim, mqtt_port=mqtt_port, state_dir=work / "state", count=count)
    with log_path.open("ab") as log:
        filters = ["treadctl/+/state", "treadctl/+/cmd/result"]
        async with Probe(mqtt_port, filters, f"bench-cpu-{count}") as probe:
            daemon = await start_daemon(children, config, log)
            await wait_connected(probe, ids, 120, log_path)
            for treadmill in ids:
                await start_workout(probe, treadmill)
            await asyncio.sleep(warmup_s)
            cpu_start_ms = stats.cpu_ms(_read(daemon.pid, "stat"), TICKS_PER_S)
            start_ns = time.monotonic_ns()
            await asyncio.sleep(window_s)
            cpu_end_ms = stats.cpu_ms(_read(daemon.pid, "stat"), TICKS_PER_S)
            end_ns = time.monotonic_ns()
            memory = stats.memory_mib(_read(daemon.pid, "status"))
            for treadmill in ids:  # stop the belts so the daemon exits without a wind-down
                await command(probe, treadmill, "estop", {})
            await children.stop(daemon)
    if own_sim:
        await children.stop(sim.process)
    events = stats.parse_trace(sim.trace.read_text(encoding="ascii").splitlines())
    sent = sum(
        1 for e in events
        if e.kind == "notify" and e.uuid16 == stats.TREADMILL_DATA
        and start_ns <= e.stamp_ns <= end_ns and e.treadmill in ids
    )  # fmt: skip
    if sent == 0:
        raise BenchError(f"no Treadmill Data notifications in the window; see {sim.trace}")
    used_ms = cpu_end_ms - cpu_start_ms
    window_ms = (end_ns - start_ns) / 1e6
    return {
        "treadmills": count,
        "notifications": sent,
        "window_s": round(window_ms / 1000, 2),
        "cpu_ms": round(used_ms, 1),
        "cpu_ms_per_notification": round(used_ms / sent, 4),
        "cpu_pct_of_one_core": round(100 * used_ms / window_ms, 2),
        "rss_mib": round(memory["VmRSS"], 1),
        "peak_rss_mib": round(memory["VmHWM"], 1),
        "cpu_resolution_ms": round(1000 / TICKS_PER_S, 1),
    }
