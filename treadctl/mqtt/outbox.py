"""What waits to be published for one treadmill, in what order, and what may be dropped.

Owns: `Outbox` (sans-I/O queues) and `TelemetryThrottle` (when a telemetry sample goes out).
Order of publication, highest first: emergency-stop answers, re-announcements (discovery and
state after Home Assistant comes online), events, state, other command answers, telemetry.
What is kept while the broker is away:
- events (and with them the session summary) are never dropped: an unbounded FIFO; they are
  published with QoS 1 and taken off the queue only once the broker has acknowledged them
  (at-least-once: after a reconnect an event may arrive twice, never zero times);
- state is retained on the broker, so only the newest state is kept;
- telemetry keeps the newest `telemetry_queue_size` samples (the oldest are dropped first);
- command answers keep the newest `result_queue_size` (answers to a flood may be dropped;
  estop answers never are).
Pure: the caller publishes `peek()` and then calls `done(item)`; nothing here awaits.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["urgent", "announce", "event", "state", "result", "telemetry"]


@dataclass(frozen=True, eq=False)
class Publication:
    """One message to publish. Compared by identity: `done()` removes exactly this one."""

    kind: Kind
    topic: str
    payload: bytes
    qos: int
    retain: bool


class Outbox:
    """The queues of one treadmill; see the module docstring for order and limits."""

    def __init__(self, *, telemetry_size: int, result_size: int) -> None:
        self._urgent: deque[Publication] = deque()
        self._announce: deque[Publication] = deque()
        self._events: deque[Publication] = deque()
        self._state: Publication | None = None
        self._results: deque[Publication] = deque(maxlen=result_size)
        self._telemetry: deque[Publication] = deque(maxlen=telemetry_size)
        self.dropped_telemetry = 0
        self.dropped_results = 0

    def put(self, item: Publication) -> None:
        """Queue `item` by its kind (state replaces the state still waiting)."""
        if item.kind == "urgent":
            self._urgent.append(item)
        elif item.kind == "announce":
            self._announce.append(item)
        elif item.kind == "event":
            self._events.append(item)
        elif item.kind == "state":
            self._state = item
        elif item.kind == "result":
            self.dropped_results += _append_counting(self._results, item)
        else:
            self.dropped_telemetry += _append_counting(self._telemetry, item)

    def replace_announcements(self, items: list[Publication]) -> None:
        """Drop announcements still waiting and queue `items` instead (only the newest count)."""
        self._announce.clear()
        self._announce.extend(items)

    def peek(self) -> Publication | None:
        """The next item to publish, or None when there is nothing."""
        for queue in (self._urgent, self._announce, self._events):
            if queue:
                return queue[0]
        if self._state is not None:
            return self._state
        for queue in (self._results, self._telemetry):
            if queue:
                return queue[0]
        return None

    def done(self, item: Publication) -> None:
        """`item` reached the broker: take it off its queue (unless it was already replaced)."""
        if self._state is item:
            self._state = None
            return
        for queue in (self._urgent, self._announce, self._events, self._results, self._telemetry):
            if queue and queue[0] is item:
                queue.popleft()
                return

    def __len__(self) -> int:
        queues = (self._urgent, self._announce, self._events, self._results, self._telemetry)
        return sum(len(q) for q in queues) + (self._state is not None)

    def pending(self) -> dict[str, int]:
        """How many items wait, by kind (for logs)."""
        return {
            "urgent": len(self._urgent),
            "announce": len(self._announce),
            "event": len(self._events),
            "state": int(self._state is not None),
            "result": len(self._results),
            "telemetry": len(self._telemetry),
        }


def _append_counting(queue: deque[Publication], item: Publication) -> int:
    full = queue.maxlen is not None and len(queue) == queue.maxlen
    queue.append(item)
    return int(full)


# A change at least this large publishes a telemetry sample at once instead of at the next tick.
SIGNIFICANT_DELTAS: Mapping[str, float] = {
    "speed_kmh": 0.5,
    "incline_pct": 0.5,
}
# Any change of these publishes at once.
SIGNIFICANT_KEYS: tuple[str, ...] = (
    "direction",
    "target_speed_kmh",
    "target_incline_pct",
    "status",
)


class TelemetryThrottle:
    """Decides when a telemetry sample is published: at most `telemetry_hz`, or at once on a
    significant change (direction, targets, status, speed ±0.5 km/h, incline ±0.5 %).

    `offer(sample, now_s)` returns True when the sample should go out now; otherwise it is kept
    and `due(now_s)` hands it out once the period has passed since the last publication.
    """

    def __init__(self, telemetry_hz: float) -> None:
        self.period_s = 1.0 / telemetry_hz
        self._last_sent: dict[str, Any] | None = None
        self._last_sent_s = -math.inf
        self._pending: dict[str, Any] | None = None

    def offer(self, sample: dict[str, Any], now_s: float) -> bool:
        if self._last_sent is None or self._significant(sample) or self._period_over(now_s):
            self._mark_sent(sample, now_s)
            return True
        self._pending = sample
        return False

    def due(self, now_s: float) -> dict[str, Any] | None:
        """The kept sample, when its time has come (it is then counted as published)."""
        if self._pending is None or not self._period_over(now_s):
            return None
        sample = self._pending
        self._mark_sent(sample, now_s)
        return sample

    def take_pending(self) -> dict[str, Any] | None:
        """The kept sample regardless of time (for a flush at shutdown)."""
        sample, self._pending = self._pending, None
        if sample is not None:
            self._last_sent = sample
        return sample

    def _period_over(self, now_s: float) -> bool:
        # A hair of tolerance so a tick scheduled exactly one period later is never a period short.
        return now_s - self._last_sent_s >= self.period_s * 0.999

    def _mark_sent(self, sample: dict[str, Any], now_s: float) -> None:
        self._last_sent = sample
        self._last_sent_s = now_s
        self._pending = None

    def _significant(self, sample: dict[str, Any]) -> bool:
        last = self._last_sent or {}
        if any(sample.get(key) != last.get(key) for key in SIGNIFICANT_KEYS):
            return True
        for key, delta in SIGNIFICANT_DELTAS.items():
            new, old = sample.get(key), last.get(key)
            if isinstance(new, int | float) and isinstance(old, int | float):
                if abs(new - old) >= delta:
                    return True
            elif (new is None) != (old is None):
                return True
        return False


def encode_json(payload: dict[str, Any]) -> bytes:
    """Compact JSON; non-finite floats become null (JSON has no NaN)."""
    return json.dumps(
        finite(payload), separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if hasattr(value, "model_dump"):
        return finite(value.model_dump(mode="json"))
    return value
