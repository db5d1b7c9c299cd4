"""`python -m benchmarks.diagnose`: where the time and memory go when a `make bench` target is
missed. The evidence behind `benchmarks/README.md`'s "When a target is missed".

Two parts. `latency`: the latency benchmark's setup (broker, simulator, daemon, a workout) with
the daemon run under `benchmarks/daemon_probe.py`, which stamps when the daemon starts handling
each Treadmill Data record, how long that takes, every fsync, every socket write to the broker
and every garbage collection; each notification's latency is then split into simulator ->
daemon (the virtual radio: bumble in both processes), the daemon's handling, and daemon ->
subscriber (MQTT). `--cprofile FILE` adds a cProfile of the whole daemon run. `imports`: the
import time and RSS of the daemon's modules with and without the virtual radio, RSS added by
each dependency in import order, and how many treadctl modules this environment compiles from
source at every start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import latency, stats
from benchmarks.procs import REPO, Children, Probe, start_mosquitto, start_sim
from benchmarks.procs import write_daemon_config as write_config

DEPENDENCIES = ("asyncio", "pydantic", "pydantic_settings", "structlog", "bleak",
                "bleak_retry_connector", "aiomqtt", "treadctl.daemon.app", "treadctl.cli",
                "treadctl.sim.radio")  # fmt: skip
_MEASURE = """
import importlib, json, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
steps, last = [], rss()
for name in sys.argv[1:]:
    began = time.perf_counter()
    importlib.import_module(name)
    now = rss()
    steps.append([name, round(now - last, 1), round((time.perf_counter() - began) * 1000)])
    last = now
print(json.dumps({"steps": steps, "rss_mib": round(last, 1), "rich": "rich" in sys.modules}))
"""


def imports() -> dict[str, Any]:
    """Import cost of the daemon (BlueZ radio) and of the daemon plus the virtual radio."""

    def run(*modules: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, *modules],
            capture_output=True, text=True, cwd=REPO, check=True,
        )  # fmt: skip
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    verbose = subprocess.run(
        [sys.executable, "-v", "-c", "import treadctl.cli, treadctl.daemon.app"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    from_source = [
        line for line in verbose.stderr.splitlines()
        if line.startswith("# code object from") and "/treadctl/" in line and ".pyc" not in line
    ]  # fmt: skip
    began = time.perf_counter()
    daemon = run("treadctl.cli", "treadctl.daemon.app")
    daemon["wall_s"] = round(time.perf_counter() - began, 3)
    began = time.perf_counter()
    virtual = run("treadctl.cli", "treadctl.daemon.app", "treadctl.sim.radio")
    virtual["wall_s"] = round(time.perf_counter() - began, 3)
    return {
        "daemon_bluez": daemon,
        "daemon_virtual_radio": virtual,
        "by_dependency": run(*DEPENDENCIES)["steps"],
        "treadctl_modules_compiled_from_source": len(from_source),
    }


def _split(events: list[stats.TraceEvent], lines: list[str], probe: Probe) -> dict[str, Any]:
    sent = {}
    for event in events:
        if event.kind == "notify" and event.uuid16 == stats.TREADMILL_DATA:
            key = stats.notification_key(event.data)
            sent[key] = None if key in sent else event.stamp_ns  # None: ambiguous
    arrived = {
        stats.telemetry_key(m.json() or {}): m.stamp_ns
        for m in probe.messages
        if m.topic.endswith("/telemetry")
    }
    parts: dict[str, list[float]] = {"radio": [], "handling": [], "mqtt": [], "total": []}
    records: dict[str, list[tuple[int, float]]] = {"fsync": [], "send": [], "gc": []}
    gc_by_generation: dict[str, list[float]] = {"0": [], "1": [], "2": []}
    for line in lines:
        f = line.split()
        if f and f[0] in ("fsync", "send"):
            records[f[0]].append((int(f[1]), int(f[2]) / 1e6))
        elif f and f[0] == "gc":
            records["gc"].append((int(f[2]), int(f[3]) / 1e6))
            gc_by_generation.setdefault(f[1], []).append(int(f[3]) / 1e6)
        elif f and f[0] == "event":
            key = tuple(None if v == "None" else float(v) if "." in v else int(v) for v in f[3:])
            begin, handled_ms = int(f[1]), int(f[2]) / 1e6
            if sent.get(key) is None or key not in arrived:
                continue
            notified, received = sent[key] or 0, arrived[key]
            parts["radio"].append((begin - notified) / 1e6)
            parts["handling"].append(handled_ms)
            parts["mqtt"].append((received - begin) / 1e6 - handled_ms)
            parts["total"].append((received - notified) / 1e6)
    slow = [
        (int(f[1]), int(f[2])) for f in (line.split() for line in lines)
        if f and f[0] == "event" and int(f[2]) > 1_000_000
    ]  # fmt: skip
    with_fsync = sum(1 for b, d in slow if any(b <= s <= b + d for s, _ in records["fsync"]))
    return {
        "split_ms": {name: stats.summary(values) for name, values in parts.items()},
        "fsync_ms": stats.summary([d for _, d in records["fsync"]]),
        "mqtt_socket_write_ms": stats.summary([d for _, d in records["send"]]),
        "gc_ms_by_generation": {g: stats.summary(v) for g, v in gc_by_generation.items()},
        "handlings_over_1ms": len(slow),
        "of_which_with_fsync": with_fsync,
    }


async def latency_split(work: Path, seconds: float, cprofile: Path | None) -> dict[str, Any]:
    """The latency benchmark's setup, the daemon probed; see the module docstring."""
    async with Children() as children:
        port = await start_mosquitto(children, work)
        sim = await start_sim(
            children, work / "trace.txt", count=1, rate_hz=latency.MODEL_RATE_HZ,
            speedup=latency.SPEEDUP,
        )  # fmt: skip
        config, log_path, probe_log = work / "d.toml", work / "daemon.log", work / "probe.log"
        (treadmill,) = write_config(config, sim=sim, mqtt_port=port, state_dir=work / "state")
        env = {"BENCH_PROBE_LOG": str(probe_log)}
        if cprofile is not None:
            env["BENCH_CPROFILE"] = str(cprofile)
        argv = [sys.executable, "-m", "benchmarks.daemon_probe", "run", "--config", str(config)]
        with log_path.open("ab") as log:
            async with Probe(port, [f"treadctl/{treadmill}/#"], "bench-diagnose") as probe:
                daemon = await children.spawn(argv, env=env, stdout=log, stderr=log)
                await latency.wait_connected(probe, [treadmill], 60, log_path)
                await latency.start_workout(probe, treadmill)
                await asyncio.sleep(3.0)
                began = time.monotonic_ns()
                await asyncio.sleep(seconds)
                await latency.command(probe, treadmill, "estop", {})
                await children.stop(daemon)
        await children.stop(sim.process)
    events = [
        e for e in stats.parse_trace(sim.trace.read_text(encoding="ascii").splitlines())
        if e.stamp_ns >= began
    ]  # fmt: skip
    lines = [
        line for line in probe_log.read_text(encoding="ascii").splitlines()
        if len(line.split()) > 2 and int(line.split()[-2 if line.startswith("gc") else 1]) >= began
    ]  # fmt: skip
    return _split(events, lines, probe)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--cprofile", type=Path, help="also write a cProfile of the daemon here")
    parser.add_argument("--skip-latency", action="store_true", help="only the import part")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"imports": imports()}
    if not args.skip_latency:
        work = Path(tempfile.mkdtemp(prefix="treadctl-diagnose-"))
        try:
            profile = args.cprofile.resolve() if args.cprofile else None
            result["latency"] = asyncio.run(latency_split(work, args.seconds, profile))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
