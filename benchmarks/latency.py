"""Telemetry and emergency-stop latency through the real daemon, simulator and Mosquitto.

Owns: `measure_latency` — one `treadctl sim` process (tracing, see `treadctl/sim/trace.py`), the
daemon (`python -m treadctl run`) on its virtual radio and a Mosquitto broker, with a workout
running. Telemetry: from the stamp the simulator takes as it hands a Treadmill Data
notification to its radio, to the stamp the harness's subscriber takes as the MQTT message
arrives; the floor is the harness's own publish -> receive through the same broker, at the same
rate, at the same time. Emergency stop: from just before the harness publishes `cmd/estop` to
the Stop write (op code 0x08) the virtual treadmill accepted; measured a second time, the same
way, while a `benchmarks/flood_pub.py` process floods the daemon with 1,000 commands a second
for 10 s (`flood_p50`/`flood_p99`). All stamps are `time.monotonic_ns()` (CLOCK_MONOTONIC: one
clock for every process on Linux).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import flood, flood_pub, stats
from benchmarks.procs import BenchError, Children, Message, Probe, start_daemon, start_sim
from benchmarks.procs import write_daemon_config as write_config

# The simulator's clock runs ×8 and notifies at 0.5 Hz of its time: 4 Hz of ours, and every
# frame's elapsed time is 2 s on from the last, so each frame's fields are unique and a
# telemetry message names the one notification it carries. At 4 Hz, below telemetry_hz = 10,
# every notification is published at once (none held back by the throttle).
SPEEDUP = 8.0
MODEL_RATE_HZ = 0.5
FLOOR_INTERVAL_S = (0.2, 0.3)  # ~4 Hz, jittered so the pings do not lock onto the notifications
ESTOP_GAP_S = (0.15, 0.5)  # belt running again before the next emergency stop
FLOOD_LEAD_S = 1.5  # the flood publishers connect, then all start at the same moment
FLOOD_SETTLE_S = 0.5  # the flood is under way before the first emergency stop
FLOOD_TAIL_S = 0.7  # the last emergency stop's cycle ends inside the flood
FLOOD_MIN_RUN_S = 0.05  # belt resumed at least this long before the next emergency stop
RESUME_TRIES = 200  # a resume refused "busy" (queue full of flood commands) is sent again
_request_ids = itertools.count()


async def wait_connected(probe: Probe, ids: list[str], timeout_s: float, log: Path) -> None:
    """Return once every treadmill's state, as published now (not a retained one left by an
    earlier daemon), says its link is up."""
    pending = set(ids)
    index = 0
    try:
        async with asyncio.timeout(timeout_s):
            while pending:
                message = await probe.wait_for(
                    lambda m: m.topic.endswith("/state") and not m.retain, timeout_s, index
                )
                index = probe.messages.index(message) + 1
                if (message.json() or {}).get("link_connected") is True:
                    pending.discard(message.topic.split("/")[1])
    except TimeoutError:
        tail = log.read_text(errors="replace").splitlines()[-15:]  # noqa: ASYNC240  # failing anyway
        raise BenchError(
            f"the daemon did not connect to {sorted(pending)} within {timeout_s:g} s; "
            "its log ends:\n" + "\n".join(tail)
        ) from None


async def command(probe: Probe, treadmill: str, name: str, body: dict[str, Any]) -> Message:
    """Publish `cmd/<name>` with a request_id of the harness's own and return the daemon's
    answer to it on `cmd/result` (never the answer to a flood command of the same name)."""
    request_id = f"{flood.HARNESS_PREFIX}{next(_request_ids)}"
    index = len(probe.messages)
    payload = json.dumps({**body, "request_id": request_id}).encode()
    await probe.publish(f"treadctl/{treadmill}/cmd/{name}", payload)
    result_topic = f"treadctl/{treadmill}/cmd/result"
    return await probe.wait_for(
        lambda m: m.topic == result_topic and (m.json() or {}).get("request_id") == request_id,
        10,
        index,
    )


async def start_workout(probe: Probe, treadmill: str, workout: str = "first-timer") -> None:
    """Start `workout`, retrying while the daemon is still reading the treadmill's ranges."""
    for _ in range(20):
        answer = (await command(probe, treadmill, "start", {"workout": workout})).json()
        if answer.get("ok"):
            return
        await asyncio.sleep(0.5)
    raise BenchError(f"the daemon refused to start {workout!r} on {treadmill}: {answer}")


async def _floor_pings(probe: Probe, until_ns: int, sent: dict[int, int]) -> None:
    seq = 0
    while time.monotonic_ns() < until_ns:
        await asyncio.sleep(random.uniform(*FLOOR_INTERVAL_S))
        sent[seq] = await probe.publish("bench/floor", json.dumps({"seq": seq}).encode())
        seq += 1


def _floor_latencies(probe: Probe, sent: dict[int, int]) -> list[float]:
    out = []
    for message in probe.messages:
        if message.topic == "bench/floor":
            seq = (message.json() or {}).get("seq")
            if seq in sent:
                out.append((message.stamp_ns - sent[seq]) / stats.NS_PER_MS)
    return out


async def measure_latency(
    children: Children, work: Path, mqtt_port: int, *, window_s: float, estops: int,
    flood_estops: int, flood_clients: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """Run the latency measurements (telemetry, estop, estop under a flood); returns the
    figures and what they were made of."""
    sim = await start_sim(
        children, work / "trace-latency.txt", count=1, rate_hz=MODEL_RATE_HZ, speedup=SPEEDUP
    )
    config, log_path = work / "latency.toml", work / "daemon-latency.log"
    (treadmill,) = write_config(config, sim=sim, mqtt_port=mqtt_port, state_dir=work / "state")
    topics = [f"treadctl/{treadmill}/#", "bench/floor"]
    with log_path.open("ab") as log:
        async with (
            Probe(mqtt_port, topics, "bench-sub") as probe,
            Probe(mqtt_port, [], "bench-floor") as pinger,
        ):
            daemon = await start_daemon(children, config, log)
            await wait_connected(probe, [treadmill], 60, log_path)
            await start_workout(probe, treadmill)
            await asyncio.sleep(3.0)  # warm-up: the workout's first commands are out
            start_ns = time.monotonic_ns()
            end_ns = start_ns + int(window_s * 1e9)
            sent: dict[int, int] = {}
            await _floor_pings(pinger, end_ns, sent)
            await asyncio.sleep(0.5)  # the last messages of the window arrive
            published = await _estops(probe, treadmill, estops)
            flooded = await _flood_estops(
                children, probe, treadmill, mqtt_port, flood_estops, flood_clients
            )
            await command(probe, treadmill, "estop", {})
            await children.stop(daemon)
    await children.stop(sim.process)
    events = stats.parse_trace(sim.trace.read_text(encoding="ascii").splitlines())
    telemetry = _telemetry(events, probe, treadmill, start_ns, end_ns)
    floor = stats.summary(_floor_latencies(probe, sent))
    estop = _estop(events, published)
    under_flood = {**_estop(events, flooded.published, samples=True), "flood": flooded.figures}
    return {
        "telemetry_latency_ms": {
            "p50": telemetry["summary"]["p50"],
            "p99": telemetry["summary"]["p99"],
            "floor_p50": floor["p50"],
            "floor_p99": floor["p99"],
        },
        "estop_latency_ms": {
            "p50": estop["summary"]["p50"],
            "p99": estop["summary"]["p99"],
            "flood_p50": under_flood["summary"]["p50"],
            "flood_p99": under_flood["summary"]["p99"],
        },
        "details": {
            "telemetry": telemetry,
            "floor": floor,
            "estop": estop,
            "estop_flood": under_flood,
        },
    }


async def _estops(probe: Probe, treadmill: str, count: int) -> list[int]:
    published: list[int] = []
    for _ in range(count):
        await asyncio.sleep(random.uniform(*ESTOP_GAP_S))
        published.append((await _estop_cycle(probe, treadmill))[0])
    return published


async def _estop_cycle(probe: Probe, treadmill: str) -> tuple[int, int]:
    """Publish `cmd/estop` (`{}`), wait for its answer, resume the workout; returns the stamp
    taken just before the publish and how often the resume was refused "busy"."""
    result_topic = f"treadctl/{treadmill}/cmd/result"
    index = len(probe.messages)
    published = await probe.publish(f"treadctl/{treadmill}/cmd/estop", b"{}")
    await probe.wait_for(
        lambda m: m.topic == result_topic and (m.json() or {}).get("command") == "estop",
        10,
        index,
    )
    for busy in range(RESUME_TRIES):
        answer = (await command(probe, treadmill, "resume", {})).json()
        if answer.get("ok"):
            return published, busy
        if not str(answer.get("reason", "")).startswith("busy"):
            break
        await asyncio.sleep(0.01)  # the daemon's command queue is full of flood commands
    raise BenchError(f"resume after an emergency stop was refused: {answer}")


@dataclass
class Flooded:
    """The emergency stops published during the flood, and what the flood achieved."""

    published: list[int]
    figures: dict[str, Any]


async def _flood_estops(
    children: Children, probe: Probe, treadmill: str, port: int, count: int, clients: int
) -> Flooded:
    """`count` emergency-stop cycles spread over a flood of `flood.RATE_PER_S` commands a
    second for `flood.SECONDS`, published by `clients` processes of their own."""
    start_ns = time.monotonic_ns() + round(FLOOD_LEAD_S * 1e9)
    publishers = await flood_pub.start_publishers(
        children, port, treadmill, clients=clients, start_ns=start_ns,
        ready_timeout_s=FLOOD_LEAD_S + 10,
    )  # fmt: skip
    first_ns = start_ns + round(FLOOD_SETTLE_S * 1e9)
    last_ns = start_ns + round((flood.SECONDS - FLOOD_TAIL_S) * 1e9)
    published: list[int] = []
    busy = 0
    for due_ns in flood.estop_times_ns(count, first_ns, last_ns - first_ns, random.Random()):
        due_ns = max(due_ns, time.monotonic_ns() + round(FLOOD_MIN_RUN_S * 1e9))
        if due_ns > last_ns:
            break  # the cycles took longer than their slots: report the ones that fit
        await asyncio.sleep((due_ns - time.monotonic_ns()) / 1e9)
        stamp_ns, retries = await _estop_cycle(probe, treadmill)
        published.append(stamp_ns)
        busy += retries
    achieved = await flood_pub.collect_reports(children, publishers)
    await asyncio.sleep(1.0)  # the last answers arrive
    seen = flood.tally(
        ((m.stamp_ns, m.topic, m.json()) for m in probe.messages),
        treadmill, achieved["first_ns"], achieved["last_ns"] + 1_000_000_000,
    )  # fmt: skip
    figures = {
        "target_per_s": flood.RATE_PER_S,
        "seconds": flood.SECONDS,
        **{k: v for k, v in achieved.items() if not k.endswith("_ns")},
        **seen,
        "estops_planned": count,
        "resume_refused_busy": busy,
    }
    return Flooded(published, figures)


def _telemetry(
    events: list[stats.TraceEvent], probe: Probe, treadmill: str, start_ns: int, end_ns: int
) -> dict[str, Any]:
    notifications = [
        e for e in events
        if e.kind == "notify" and e.uuid16 == stats.TREADMILL_DATA
        and start_ns <= e.stamp_ns <= end_ns
    ]  # fmt: skip
    topic = f"treadctl/{treadmill}/telemetry"
    messages = [
        stats.Arrival(m.stamp_ns, m.json() or {})
        for m in probe.messages
        if m.topic == topic and start_ns <= m.stamp_ns <= end_ns + 500_000_000
    ]
    match = stats.match_telemetry(notifications, messages)
    return {
        "summary": stats.summary(match.latencies_ms),
        "notifications": len(notifications),
        "messages": len(messages),
        "ambiguous": match.ambiguous,
        "unmatched_messages": match.unmatched_messages,
        "unpublished_notifications": match.unpublished,
    }


def _estop(
    events: list[stats.TraceEvent], published: list[int], *, samples: bool = False
) -> dict[str, Any]:
    """The estop figures; with `samples`, also every latency and first attempt in ms, in the
    order the estops were published (the flood's few dozen, to see how they spread)."""
    control = [e for e in events if e.uuid16 == stats.CONTROL_POINT]
    match = stats.match_estops(published, control)
    data = [e for e in events if e.uuid16 == stats.TREADMILL_DATA and e.kind == "notify"]
    moving = 0
    for start in published:
        before = [e for e in data if e.stamp_ns < start]
        if before:
            with_speed = stats.notification_key(before[-1].data)
            moving += bool(with_speed and with_speed[0])
    figures: dict[str, Any] = {
        "summary": stats.summary(match.latencies_ms),
        "first_attempt": stats.summary(match.first_arrival_ms),
        "estops": len(published),
        "belt_moving_at_estop": moving,
        "stop_retried": match.retried,
        "missing": match.missing,
    }
    if samples:
        figures["samples_ms"] = [round(v, 3) for v in match.latencies_ms]
        figures["first_attempt_samples_ms"] = [round(v, 3) for v in match.first_arrival_ms]
    return figures
