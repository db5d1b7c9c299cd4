"""The pure part of `make bench`: percentiles, trace parsing, sample matching, /proc parsing.

Owns: `percentile` (linear interpolation between closest ranks, numpy's default), `summary`,
`parse_trace` (the virtual treadmill's opt-in trace, `treadctl/sim/trace.py`),
`match_telemetry` (which Treadmill Data notification each MQTT telemetry message carries),
`match_estops` (which Stop write answers each emergency stop published), and the readers of
`/proc/<pid>/stat` and `/proc/<pid>/status`. No I/O and no clock: everything is passed in, so
`tests/benchmarks/` checks it without starting a process.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from treadctl import ftms

NS_PER_MS = 1_000_000
STOP_OP = 0x08  # FTMS Control Point op code "Stop or Pause" (ref/ftms-spec.md)
STOP_WRITE = bytes([STOP_OP, 0x01])  # Stop or Pause with parameter 0x01 Stop (0x02 is Pause)
RESPONSE_OP = 0x80
TREADMILL_DATA = "2acd"
CONTROL_POINT = "2ad9"


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct`-th percentile (0-100) by linear interpolation; raises ValueError when empty."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {pct}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def summary(values: Sequence[float], digits: int = 3) -> dict[str, float | int | None]:
    """n, p50, p90, p99, max and mean of `values`, rounded (None for an empty sequence)."""
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), digits),
        "p90": round(percentile(values, 90), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits),
        "mean": round(sum(values) / len(values), digits),
    }


@dataclass(frozen=True)
class TraceEvent:
    """One line of the simulator's trace: `<monotonic_ns> <kind> <treadmill> <uuid16> <hex>`."""

    stamp_ns: int
    kind: str  # notify, indicate or write
    treadmill: str
    uuid16: str
    data: bytes


def parse_trace(lines: Iterable[str]) -> list[TraceEvent]:
    """Every well-formed line, in file order; a torn last line (still being written) is skipped."""
    events = []
    for line in lines:
        parts = line.split()
        if len(parts) != 5 or not parts[0].isdigit():
            continue
        try:
            data = bytes.fromhex(parts[4])
        except ValueError:
            continue
        events.append(TraceEvent(int(parts[0]), parts[1], parts[2], parts[3], data))
    return events


@dataclass(frozen=True)
class Arrival:
    """An MQTT message as the harness's subscriber received it."""

    stamp_ns: int
    payload: Mapping[str, Any]


def _key(*values: Any) -> tuple[Any, ...]:
    return tuple(round(v, 2) if isinstance(v, float) else v for v in values)


def record_key(record: ftms.TreadmillData) -> tuple[Any, ...]:
    """The fields of a decoded record that the telemetry payload carries, as a match key."""
    return _key(
        record.speed_kmh,
        record.inclination_pct,
        record.total_distance_m,
        record.elapsed_time_s,
        record.total_energy_kcal,
    )


def notification_key(data: bytes) -> tuple[Any, ...] | None:
    """`record_key` of a Treadmill Data frame (None when it does not decode)."""
    try:
        return record_key(ftms.decode_treadmill_data(data))
    except ftms.FTMSDecodeError:
        return None


def telemetry_key(payload: Mapping[str, Any]) -> tuple[Any, ...]:
    """The same fields read back from a telemetry message (DESIGN §7 payload keys)."""
    return _key(
        payload.get("speed_kmh"),
        payload.get("incline_pct"),
        payload.get("distance_m"),
        payload.get("elapsed_s"),
        payload.get("energy_kcal"),
    )


@dataclass
class TelemetryMatch:
    """Latencies of the messages matched to exactly one notification, and what was left."""

    latencies_ms: list[float] = field(default_factory=list)
    ambiguous: int = 0  # the message's fields fit several notifications: not counted
    unmatched_messages: int = 0  # no notification in the trace carries these fields
    unpublished: int = 0  # notifications no message carried (throttled, or outside the window)


def match_telemetry(
    notifications: Sequence[TraceEvent], messages: Sequence[Arrival]
) -> TelemetryMatch:
    """Pair each message with the one notification whose decoded fields it carries.

    A message is counted only when exactly one notification in `notifications` has its fields
    and that notification was sent before the message arrived; the pair's latency is arrival
    minus the notification's stamp.
    """
    by_key: dict[tuple[Any, ...], list[TraceEvent]] = {}
    for event in notifications:
        key = notification_key(event.data)
        if key is not None:
            by_key.setdefault(key, []).append(event)
    result = TelemetryMatch()
    used: set[int] = set()
    for message in messages:
        candidates = by_key.get(telemetry_key(message.payload), [])
        if len(candidates) > 1:
            result.ambiguous += 1
            continue
        if not candidates or candidates[0].stamp_ns > message.stamp_ns:
            result.unmatched_messages += 1
            continue
        used.add(id(candidates[0]))
        result.latencies_ms.append((message.stamp_ns - candidates[0].stamp_ns) / NS_PER_MS)
    result.unpublished = sum(1 for group in by_key.values() for e in group if id(e) not in used)
    return result


@dataclass
class EstopMatch:
    """Per emergency stop: latency to the Stop write the treadmill accepted."""

    latencies_ms: list[float] = field(default_factory=list)
    first_arrival_ms: list[float] = field(default_factory=list)  # first attempt, even if refused
    retried: int = 0  # stops whose first write was refused (e.g. 0xFE) and sent again
    missing: int = 0  # no accepted Stop before the next estop (or the end of the trace)


def match_estops(published_ns: Sequence[int], events: Sequence[TraceEvent]) -> EstopMatch:
    """For each estop published at `published_ns[i]`, find the Stop write that answered it.

    `events` are one treadmill's control-point writes and indications in time order. The Stop
    that counts is the last Stop write (0x08 0x01) before the treadmill's 0x80 response to op
    0x08 (a write the treadmill refused at the ATT layer gets no response and is sent again by
    the client). A Pause (0x08 0x02) is not the emergency stop: one already on its way when the
    estop was published (a pause command during the command flood) is passed over, and so is
    the response to it that comes before any Stop write.
    """
    result = EstopMatch()
    starts = sorted(published_ns)
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else math.inf
        stop_writes: list[int] = []
        accepted: int | None = None
        for event in events:
            if event.stamp_ns < start or event.stamp_ns >= end or event.uuid16 != CONTROL_POINT:
                continue
            if event.kind == "write" and event.data[:2] == STOP_WRITE:
                stop_writes.append(event.stamp_ns)
            elif (
                event.kind in ("indicate", "notify")
                and event.data[:2] == bytes([RESPONSE_OP, STOP_OP])
                and stop_writes
            ):
                accepted = stop_writes[-1]
                break
        if accepted is None:
            result.missing += 1
            continue
        result.latencies_ms.append((accepted - start) / NS_PER_MS)
        result.first_arrival_ms.append((stop_writes[0] - start) / NS_PER_MS)
        result.retried += len(stop_writes) > 1
    return result


def cpu_ms(stat_text: str, ticks_per_s: int) -> float:
    """User plus system CPU time in ms from the text of `/proc/<pid>/stat` (proc(5))."""
    # The fields after "pid (comm) "; comm may hold spaces or ")", so split after the last ")".
    fields = stat_text[stat_text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) * 1000 / ticks_per_s


def memory_mib(status_text: str) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) in MiB from the text of `/proc/<pid>/status`."""
    found: dict[str, float] = {}
    for line in status_text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(rest.split()[0]) / 1024  # reported in kB (KiB)
    return found


def mb(mib: float) -> float:
    """`mib` MiB in MB (10^6 bytes), to 0.1: the unit of the `rss_mb` results."""
    return round(mib * 1024 * 1024 / 1e6, 1)
