"""A flood of MQTT commands, for the emergency-stop latency under load (issue 7): pure parts.

Owns: what the flood sends (`MIX`, `command_at`), its pacing (`batch_due_ns`), when the harness
publishes its emergency stops during it (`estop_times_ns`), what the publishers achieved
(`combine`) and what the broker forwarded and the daemon answered (`tally`). No I/O, no clock;
the publisher process is `flood_pub.py`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

RATE_PER_S = 1000
SECONDS = 10.0
BATCH = 10  # commands handed to the client together, every BATCH / rate seconds (10 ms)
HARNESS_PREFIX = "bench-"  # request_id of the harness's own commands (latency.command)

# (command, payload), published in this order, round and round. The mix of
# tests/faults/test_command_flood.py (BEFORE_STOP): a person's commands, a speed above the cap,
# and malformed ones; plus `status`, which a dashboard may
# well try but treadctl has no such command (refused as unknown). Left out on purpose: `skip`
# and `stop` would end the workout within a second, after which no estop finds a belt to stop;
# `start` likewise; `estop` is the harness's own.
MIX: tuple[tuple[str, bytes], ...] = (
    ("resume", b"{}"),
    ("pause", b"{}"),
    ("set_speed", b'{"speed_kmh": 1.8}'),
    ("set_speed", b'{"speed_kmh": 6.8}'),  # above the 6.0 km/h forward cap (any cap): refused
    ("set_speed", b'{"speed_kmh": "fast"}'),  # wrong type
    ("set_incline", b'{"incline_pct": 1.0}'),
    ("status", b"{}"),  # no such command
    ("bogus", b"{}"),
    ("pause", b"\xff\xfe"),  # not UTF-8
    ("resume", b"{"),  # not JSON
    ("pause", b'{"unknown": 1}'),  # unknown field
)


def command_at(index: int) -> tuple[str, bytes]:
    """The `index`-th command of the flood (the mix, round and round)."""
    return MIX[index % len(MIX)]


def batch_due_ns(batch: int, rate_per_s: float, batch_size: int = BATCH) -> int:
    """When batch number `batch` is due, in ns after the flood's start."""
    if rate_per_s <= 0:
        raise ValueError(f"flood rate must be above 0, got {rate_per_s}")
    return round(batch * batch_size * 1e9 / rate_per_s)


def estop_times_ns(
    count: int, start_ns: int, span_ns: int, rng: random.Random, jitter: float = 0.6
) -> list[int]:
    """`count` moments spread over [start_ns, start_ns + span_ns): one in each of `count` equal
    slots, at a random place in the slot's middle `jitter` (so two are at least
    (1 - jitter) of a slot apart), in time order."""
    if count <= 0 or span_ns <= 0:
        raise ValueError(f"need a positive count and span, got {count} and {span_ns} ns")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    slot = span_ns / count
    low = (1 - jitter) / 2
    return [start_ns + round((i + low + rng.uniform(0, jitter)) * slot) for i in range(count)]


def is_harness_message(payload: Any) -> bool:
    """Whether a command or answer belongs to the harness (its request_id), not to the flood."""
    return isinstance(payload, dict) and str(payload.get("request_id", "")).startswith(
        HARNESS_PREFIX
    )


def _rate(stamps: Sequence[int]) -> float | None:
    if len(stamps) < 2 or stamps[-1] == stamps[0]:
        return None
    return round((len(stamps) - 1) * 1e9 / (stamps[-1] - stamps[0]), 1)


def tally(
    messages: Iterable[tuple[int, str, Any]], treadmill: str, start_ns: int, end_ns: int
) -> dict[str, Any]:
    """What the harness's subscriber saw of the flood: `messages` are (arrival ns, topic, JSON
    payload or None) in arrival order, kept when `start_ns <= ns <= end_ns`.

    forwarded: flood commands the broker delivered (every cmd/<name> but cmd/result, the
    harness's own commands and estops); answered: the daemon's cmd/result answers to them, by
    outcome (accepted, refused "busy" because its command queue was full, refused otherwise);
    telemetry: the daemon's telemetry messages meanwhile. Rates are per second between the
    first and the last of each.
    """
    base = f"treadctl/{treadmill}/"
    forwarded: list[int] = []
    answered: list[int] = []
    outcomes = {"accepted": 0, "busy": 0, "refused": 0}
    telemetry: list[int] = []
    for stamp_ns, topic, payload in messages:
        if not start_ns <= stamp_ns <= end_ns or not topic.startswith(base):
            continue
        name = topic[len(base) :]
        if name == "telemetry":
            telemetry.append(stamp_ns)
        elif name == "cmd/result":
            body = payload if isinstance(payload, dict) else {}
            if body.get("command") == "estop" or is_harness_message(body):
                continue
            answered.append(stamp_ns)
            if body.get("ok") is True:
                outcomes["accepted"] += 1
            elif str(body.get("reason", "")).startswith("busy"):
                outcomes["busy"] += 1
            else:
                outcomes["refused"] += 1
        elif name.startswith("cmd/") and name != "cmd/estop" and not is_harness_message(payload):
            forwarded.append(stamp_ns)
    return {
        "forwarded": len(forwarded),
        "forwarded_per_s": _rate(forwarded),
        "answered": len(answered),
        "answered_per_s": _rate(answered),
        **outcomes,
        "telemetry_messages": len(telemetry),
        "telemetry_per_s": _rate(telemetry),
    }


def combine(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One figure from the publishers' reports: commands published (written to the socket)
    and per second, from the first publish of any to the last of any."""
    published = sum(int(r["published"]) for r in reports)
    first_ns = min(int(r["first_ns"]) for r in reports)
    last_ns = max(int(r["last_ns"]) for r in reports)
    span_s = (last_ns - first_ns) / 1e9
    return {
        "clients": len(reports),
        "published": published,
        "published_per_s": round(published / span_s, 1) if span_s > 0 else None,
        "span_s": round(span_s, 3),
        "late_start_ms": max(float(r["late_start_ms"]) for r in reports),
        "max_behind_ms": max(float(r["max_behind_ms"]) for r in reports),
        "first_ns": first_ns,
        "last_ns": last_ns,
    }
