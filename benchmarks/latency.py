"""Telemetry and emergency-stop latency through the real daemon, simulator and Mosquitto.

Owns: `measure_latency` — one `treadctl sim` process (tracing, see `treadctl/sim/trace.py`), the
daemon (`python -m treadctl run`) on its virtual radio and a Mosquitto broker, with a workout
running. Telemetry: from the stamp the simulator takes as it hands a Treadmill Data
notification to its radio, to the stamp the harness's subscriber takes as the MQTT message
arrives; the floor is the harness's own publish -> receive through the same broker, at the same
rate, at the same time. Emergency stop: from just before the harness publishes `cmd/estop` to
the Stop write (op code 0x08) the virtual treadmill accepted. All stamps are
`time.monotonic_ns()` (CLOCK_MONOTONIC: one clock for every process on Linux).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

from benchmarks import stats
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
    """Publish `cmd/<name>` and return the daemon's answer on `cmd/result`."""
    index = len(probe.messages)
    await probe.publish(f"treadctl/{treadmill}/cmd/{name}", json.dumps(body).encode())
    result_topic = f"treadctl/{treadmill}/cmd/result"
    return await probe.wait_for(
        lambda m: m.topic == result_topic and (m.json() or {}).get("command") == name, 10, index
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
    children: Children, work: Path, mqtt_port: int, *, window_s: float, estops: int
) -> dict[str, Any]:
    """Run both latency measurements; returns the figures and what they were made of."""
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
            await command(probe, treadmill, "estop", {})
            await children.stop(daemon)
    await children.stop(sim.process)
    events = stats.parse_trace(sim.trace.read_text(encoding="ascii").splitlines())
    telemetry = _telemetry(events, probe, treadmill, start_ns, end_ns)
    floor = stats.summary(_floor_latencies(probe, sent))
    estop = _estop(events, published)
    return {
        "telemetry_latency_ms": {
            "p50": telemetry["summary"]["p50"],
            "p99": telemetry["summary"]["p99"],
            "floor_p50": floor["p50"],
            "floor_p99": floor["p99"],
        },
        "estop_latency_ms": {"p50": estop["summary"]["p50"], "p99": estop["summary"]["p99"]},
        "details": {"telemetry": telemetry, "floor": floor, "estop": estop},
    }


async def _estops(probe: Probe, treadmill: str, count: int) -> list[int]:
    published: list[int] = []
    result_topic = f"treadctl/{treadmill}/cmd/result"
    for _ in range(count):
        await asyncio.sleep(random.uniform(*ESTOP_GAP_S))
        index = len(probe.messages)
        published.append(await probe.publish(f"treadctl/{treadmill}/cmd/estop", b"{}"))
        await probe.wait_for(
            lambda m: m.topic == result_topic and (m.json() or {}).get("command") == "estop",
            10,
            index,
        )
        answer = (await command(probe, treadmill, "resume", {})).json()
        if not answer.get("ok"):
            raise BenchError(f"resume after an emergency stop was refused: {answer}")
    return published


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


def _estop(events: list[stats.TraceEvent], published: list[int]) -> dict[str, Any]:
    control = [e for e in events if e.uuid16 == stats.CONTROL_POINT]
    match = stats.match_estops(published, control)
    data = [e for e in events if e.uuid16 == stats.TREADMILL_DATA and e.kind == "notify"]
    moving = 0
    for start in published:
        before = [e for e in data if e.stamp_ns < start]
        if before:
            with_speed = stats.notification_key(before[-1].data)
            moving += bool(with_speed and with_speed[0])
    return {
        "summary": stats.summary(match.latencies_ms),
        "first_attempt": stats.summary(match.first_arrival_ms),
        "estops": len(published),
        "belt_moving_at_estop": moving,
        "stop_retried": match.retried,
        "missing": match.missing,
    }
