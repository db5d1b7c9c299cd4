"""`make bench`: every benchmark of issue 7 in one run, a table, and `benchmarks/results.json`.

Run: `.venv/bin/python -m benchmarks.run [--quick] [--keep] [--out FILE]`. Sets up what it
needs: a Python 3.12 environment with pyftms for the decode comparison
(`benchmarks/pyftms_env.py`), a Mosquitto broker on a free port, `treadctl sim` processes and
the real daemon (`python -m treadctl run`), all stopped by pid at the end, on failure or on
Ctrl-C. Speed targets live here, never in `make test`. Each figure's method is in
`results["notes"]` and in the module that measures it (`latency.py`, `footprint.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import footprint, latency, pyftms_env, report, runtime_env, stats
from benchmarks.procs import REPO, BenchError, Children, mosquitto_binary, start_mosquitto
from benchmarks.procs import start_sim as start_sim_process

RESULTS = REPO / "benchmarks" / "results.json"
REPRODUCE = "make bench   (or: .venv/bin/python -m benchmarks.run)"
METHOD_NOTES = [
    "decode_us: mean over the recorded frames both decoders accept (benchmarks/frames.py) of "
    "the best-of-5 µs per decode; both decoders timed in the same Python 3.12 interpreter "
    "(benchmarks/.env-pyftms; treadctl's codec from the source tree). pyftms decodes with "
    "get_serializer(TreadmillData).deserialize(data), as its notification handler does.",
    "telemetry_latency_ms: from the simulator handing a Treadmill Data notification to its "
    "virtual radio (a stamp written by the opt-in trace of treadctl/sim/trace.py) to the MQTT "
    "message reaching a subscriber through Mosquitto, the real daemon in between "
    "(telemetry_hz = 10, a first-timer workout running). The simulator runs its clock ×8 and "
    "notifies at 0.5 Hz of its time, i.e. 4 Hz of ours with each frame's elapsed time 2 s on, "
    "so each message's fields name exactly one notification; at 4 Hz every notification is "
    "published at once (none is held back by the telemetry throttle). floor: the harness's "
    "own publish to receive through the same broker, ~4 Hz, during the same window.",
    "estop_latency_ms: from just before cmd/estop ({}) is published to the Stop write (0x08) "
    "the virtual treadmill accepted (the last Stop write before its 0x80 response), with the "
    "belt running (the workout is resumed after each stop and runs 0.15-0.5 s before the next).",
    "estop_latency_ms.flood_p50/flood_p99: the same measurement (the same code) during a flood "
    "of MQTT commands to the daemon: benchmarks/flood_pub.py, in a process of its own, "
    "publishes 1,000 commands a second for 10 s (QoS 0, batches of 10 every 10 ms; the mix of "
    "tests/faults/test_command_flood.py: resume, pause, set_speed within and above the cap, "
    "set_incline, malformed payloads, unknown commands, as in benchmarks/flood.py), while the "
    "harness publishes one estop in each of N equal slots of the flood (random place in the "
    "slot), each answered and followed by a resume (sent again while refused busy) before the "
    "next. details.estop_flood.flood: commands published (written to the socket) per second, "
    "commands the broker forwarded to the harness's subscriber per second, answers the daemon "
    "published to them (accepted, refused busy, refused otherwise) and its telemetry meanwhile.",
    "cpu_ms_per_notification, rss_mb: the daemon process alone, virtual treadmills in another "
    "process (treadctl sim --count N --rate-hz 4), a first-timer workout on every treadmill, "
    "telemetry_hz = 10 (every notification published); CPU = utime + stime from "
    "/proc/<pid>/stat over the window divided by the notifications sent in it; RSS = VmRSS "
    "at the end of the window in MB (10^6 bytes; MiB and the peak, VmHWM, in details). The "
    "daemon runs in benchmarks/.env-runtime: treadctl's runtime dependencies and bumble only, "
    "as installed on a Pi plus the virtual radio (the project venv's test tools pull in rich, "
    "which structlog imports whenever it is installed).",
    "startup_s: median of the runs in details.startup_runs_s, from just before the daemon is "
    "spawned to the READY=1 datagram on the NOTIFY_SOCKET the harness binds (the broker and "
    "the simulator already running; READY waits for the MQTT connection, not for Bluetooth).",
    "Every process shares this machine's cores: the simulator, the daemon, Mosquitto and the "
    "harness all run at once, beside whatever else the machine is doing; p99 figures from a "
    "few hundred samples move by a millisecond or two from run to run (compare floor_p99).",
    "Bytecode: every child starts from cached .pyc files, as an installed package does "
    "(PYTHONPYCACHEPREFIX in the work directory, written once before anything is timed); "
    "where PYTHONDONTWRITEBYTECODE is set, treadctl's ~85 modules would otherwise be compiled "
    "at every start (~0.1 s more to READY here).",
]


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / len(values)


def decode_phase(number: int, repeat: int) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(decode_us, details, notes): both decoders in the 3.12 environment, treadctl in ours."""
    notes: list[str] = []
    ours = pyftms_env.run_compare(sys.executable, number=number, repeat=repeat)
    details: dict[str, Any] = {"project_venv": ours}
    python, passed_over = pyftms_env.find_python()
    details["python_search"] = {"chosen": python, "passed_over": passed_over}
    if python is None:
        why = "no Python 3.12 found (" + "; ".join(passed_over or ["no candidates"]) + ")"
        notes.append(f"decode_us.pyftms is null: {why}; pyftms 0.2.20 needs Python 3.12.")
        return {"treadctl": round(_mean(ours["treadctl"]), 3), "pyftms": None}, details, notes
    both = pyftms_env.run_compare(pyftms_env.ensure_env(python), number=number, repeat=repeat)
    details["pyftms_env"] = both
    if both["rejected"]:
        notes.append(
            "decode_us leaves out frames pyftms 0.2.20 does not decode: "
            + "; ".join(f"{name} ({why})" for name, why in both["rejected"].items())
        )
    decode = {
        "treadctl": round(_mean(both["treadctl"]), 3),
        "pyftms": round(_mean(both["pyftms"]), 3),
        "treadctl_project_venv": round(
            statistics.fmean(ours["treadctl"][name] for name in both["frames"]), 3
        ),
    }
    details["common_frames"] = both["frames"]
    return {k: decode[k] for k in ("treadctl", "pyftms")}, {**details, **decode}, notes


# Imported once before anything is timed, so every child starts from cached bytecode as an
# installed package does (see `children_env`).
WARM_MODULES = (
    "treadctl.cli", "treadctl.daemon.app", "treadctl.sim.radio", "treadctl.sim.app",
    "treadctl.sim.gatt", "bleak.backends.bluezdbus.client", "bleak.backends.bluezdbus.scanner",
)  # fmt: skip


def children_env(work: Path) -> tuple[dict[str, str], tuple[str, ...]]:
    """(added, removed) environment of every child: bytecode cached in the work directory.

    An installed treadctl starts from the .pyc files pip wrote. Where `PYTHONDONTWRITEBYTECODE`
    is set (as on the machine these figures come from), every start would compile treadctl's
    modules again; a private `PYTHONPYCACHEPREFIX` keeps the working tree clean instead.
    """
    return {"PYTHONPYCACHEPREFIX": str(work / "pycache")}, ("PYTHONDONTWRITEBYTECODE",)


async def warm_bytecode(children: Children) -> None:
    """Import what the daemon and the simulator import, writing their bytecode once."""
    code = (
        f"import importlib\nfor m in {WARM_MODULES!r}:\n"
        "    try: importlib.import_module(m)\n    except ImportError: pass\n"
    )
    for python in dict.fromkeys((sys.executable, children.daemon_python)):
        await (await children.spawn([python, "-c", code], env=children.daemon_env)).wait()


async def process_phases(children: Children, work: Path, quick: bool) -> dict[str, Any]:
    """Everything that needs the broker, the simulator and the daemon."""
    warmup_s, window_s = (3.0, 8.0) if quick else (10.0, 30.0)
    await warm_bytecode(children)
    port = await start_mosquitto(children, work)
    sim = await start_sim_process(
        children, work / "trace-cpu-1.txt", count=1, rate_hz=footprint.RATE_HZ
    )
    say("startup: spawning the daemon until READY=1 …")
    runs = 2 if quick else 5
    startup = (await footprint.measure_startup(children, work, port, sim, runs))["ready_s"]
    bluez = await footprint.measure_startup(
        children, work, port, sim, runs, radio="bluez", settle_s=3.0
    )
    say("CPU and memory with 1 treadmill …")
    one = await footprint.measure_footprint(
        children, work, port, 1, warmup_s=warmup_s, window_s=window_s, sim=sim
    )
    await children.stop(sim.process)
    say("CPU and memory with 8 treadmills …")
    eight = await footprint.measure_footprint(
        children, work, port, 8, warmup_s=warmup_s, window_s=window_s
    )
    say("telemetry and emergency-stop latency …")
    lat = await latency.measure_latency(
        children, work, port, window_s=12.0 if quick else 60.0, estops=30 if quick else 200,
        flood_estops=20 if quick else 40,
    )  # fmt: skip
    return {
        "telemetry_latency_ms": lat["telemetry_latency_ms"],
        "estop_latency_ms": lat["estop_latency_ms"],
        "cpu_ms_per_notification": {
            "1": one["cpu_ms_per_notification"],
            "8": eight["cpu_ms_per_notification"],
        },
        "rss_mb": {"1": stats.mb(one["rss_mib"]), "8": stats.mb(eight["rss_mib"])},
        "startup_s": round(statistics.median(startup), 3),
        "details": {
            **lat["details"],
            "footprint": {"1": one, "8": eight},
            "startup_runs_s": [round(s, 3) for s in startup],
            "bluez_radio": {
                "startup_runs_s": [round(s, 3) for s in bluez["ready_s"]],
                "startup_s": round(statistics.median(bluez["ready_s"]), 3),
                "rss_mib_3s_after_ready": round(statistics.median(bluez["rss_mib"]), 1),
                "rss_mb_3s_after_ready": stats.mb(statistics.median(bluez["rss_mib"])),
            },
        },
    }


def say(text: str) -> None:
    """Progress on stderr, so stdout carries the table only."""
    print(text, file=sys.stderr, flush=True)


def metadata(started: datetime.datetime, quick: bool) -> dict[str, Any]:
    """Where and when the figures were made."""
    return {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "mosquitto": mosquitto_binary(),
        "reproduce": REPRODUCE,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def _main_async(children: Children, work: Path, quick: bool) -> dict[str, Any]:
    task = asyncio.current_task()
    if task is not None:  # SIGTERM stops the run the way Ctrl-C does: children stopped first
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with children:
        return await process_phases(children, work, quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows, to try the harness")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    work = Path(tempfile.mkdtemp(prefix="treadctl-bench-"))
    added, removed = children_env(work)
    children = Children(env=added, unset=removed)
    failed = True
    try:
        mosquitto_binary()  # fail before anything slow when the broker is missing
        say("decode: treadctl and pyftms …")
        decode, decode_details, notes = decode_phase(5000 if args.quick else 20000, 5)
        say("the daemon's environment: runtime dependencies and bumble only …")
        children.daemon_python = str(runtime_env.ensure_env())
        children.daemon_env = runtime_env.daemon_env()
        measured = asyncio.run(_main_async(children, work, args.quick))
        failed = False
    except BenchError as exc:
        say(f"make bench failed: {exc}\n(logs kept in {work})")
        return 1
    except KeyboardInterrupt:
        say(f"interrupted; every process stopped (logs kept in {work})")
        return 130
    finally:
        children.kill_all()  # normally nothing is left; this is the last resort
        if not failed and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    details = {"decode": decode_details, **measured.pop("details")}
    results = {"decode_us": decode, **measured}
    notes += METHOD_NOTES + explain_misses({**results, "details": details})
    results |= {"meta": metadata(started, args.quick), "notes": notes, "details": details}
    problems = report.missing_keys(results)
    if problems:
        say(f"results incomplete: {', '.join(problems)}")
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(report.format_table(results))
    print(f"\nwritten: {args.out}\nreproduce: {REPRODUCE}")
    return 1 if problems else 0


def explain_misses(results: dict[str, Any]) -> list[str]:
    """A note for each target missed, saying what limits it (see benchmarks/README.md)."""
    verdicts = report.check_targets(results)
    bluez = results.get("details", {}).get("bluez_radio", {})
    figures = {
        "rss_one": results["rss_mb"]["1"],
        "rss_one_mib": results.get("details", {}).get("footprint", {}).get("1", {}).get("rss_mib"),
        "startup": results["startup_s"],
        "bluez_rss": bluez.get("rss_mb_3s_after_ready"),
        "bluez_rss_mib": bluez.get("rss_mib_3s_after_ready"),
        "bluez_startup": bluez.get("startup_s"),
    }
    missed = [name for name, met in verdicts.items() if met is False]  # None: not measured
    notes = [report.MISS_NOTES[name].format(**figures) for name in missed]
    notes += [
        f"{name} met by less than 10 % of its limit, so another run may miss it; what limits it: "
        + report.MISS_NOTES[name].format(**figures)
        for name in report.close_calls(results)
    ]
    return notes


if __name__ == "__main__":
    sys.exit(main())
