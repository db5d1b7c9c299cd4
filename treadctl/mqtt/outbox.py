"""What waits to be published for one treadmill, in what order, and what may be dropped.

Owns: `Outbox` (sans-I/O queues, fair scheduling, in-flight bookkeeping) and `TelemetryThrottle`
(when a telemetry sample goes out).
Order of publication: emergency-stop answers always first (they jump every queue); then, highest
first, re-announcements (discovery and state after Home Assistant comes online), events, state,
other command answers, telemetry -- except that a kind with something waiting that has been
passed over `MAX_PASSED` times is overdue, and overdue kinds go first (the one passed over most,
then by priority): nothing waits behind more than `MAX_PASSED` publications plus one for each
other kind overdue at the same moment. A command flood (its answers, and the events and state
changes the commands it carries out cause) therefore cannot starve telemetry, nor the answers.
What is kept while the broker is away:
- events (and with them the session summary) are never dropped: an unbounded FIFO; they are
  published with QoS 1 and taken off the queue only once the broker has acknowledged them
  (at-least-once: after a reconnect an event may arrive twice, never zero times, and first
  arrivals keep their order);
- state is retained on the broker, so only the newest state is kept;
- telemetry keeps the newest `telemetry_queue_size` samples waiting (the oldest are dropped);
- command answers keep `result_queue_size` waiting; when more come, refusals go first (the
  oldest refusal is dropped, then the oldest answer): answers of commands carried out outlive
  a flood of refused ones. The answer of an estop carried out is never dropped (its queue is
  unbounded), and an estop's refusal only when no other refusal is left to drop.
Pure: the caller `take()`s an item (it is then in flight: it stays queued but is not handed out
again), publishes it, and calls `done(item)` once the broker has it, or `retry(item)` /
`retry_all()` when the connection lost it. Several items may be in flight at once; items in
flight do not count against the bounds above. Nothing here awaits.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["urgent", "announce", "event", "state", "result", "telemetry"]
# Priority order, highest first.
KINDS: tuple[Kind, ...] = ("urgent", "announce", "event", "state", "result", "telemetry")
# A kind with an item waiting is overdue once this many publications of other kinds went ahead
# of it (see the module docstring). Small enough that telemetry and answers keep flowing under
# any load; large enough that, at ordinary rates, subscribers see the priority order above.
MAX_PASSED = 4


@dataclass(frozen=True, eq=False)
class Publication:
    """One message to publish. Compared by identity: `done()` removes exactly this one.

    `sheddable` marks what a full queue drops first (refusals of commands other than estop)."""

    kind: Kind
    topic: str
    payload: bytes
    qos: int
    retain: bool
    sheddable: bool = False


class Outbox:
    """The queues of one treadmill; see the module docstring for order and limits."""

    def __init__(self, *, telemetry_size: int, result_size: int) -> None:
        self._queues: dict[Kind, deque[Publication]] = {kind: deque() for kind in KINDS}
        self._limits: dict[Kind, int] = {"result": result_size, "telemetry": telemetry_size}
        self._in_flight: set[Publication] = set()
        self._passed: dict[Kind, int] = dict.fromkeys(KINDS, 0)
        self.dropped_telemetry = 0
        self.dropped_results = 0

    def put(self, item: Publication) -> None:
        """Queue `item` by its kind (state replaces the state still waiting; a bounded kind
        drops what its bound no longer allows)."""
        queue = self._queues[item.kind]
        if item.kind == "state":
            self._discard_waiting(queue)
        queue.append(item)
        limit = self._limits.get(item.kind)
        if limit is None:
            return
        dropped = self._shed(queue, limit)
        if item.kind == "result":
            self.dropped_results += dropped
        else:
            self.dropped_telemetry += dropped

    def replace_announcements(self, items: list[Publication]) -> None:
        """Drop announcements still waiting and queue `items` instead (only the newest count)."""
        queue = self._queues["announce"]
        self._discard_waiting(queue)
        queue.extend(items)

    def peek(self, *, urgent_only: bool = False) -> Publication | None:
        """The item `take()` would hand out next, or None when nothing waits (with
        `urgent_only`: unless it is an estop answer)."""
        ready = self._ready()
        if not ready:
            return None
        if "urgent" in ready:
            return ready["urgent"]
        if urgent_only:
            return None
        kinds = list(ready)
        overdue = [kind for kind in kinds if self._passed[kind] >= MAX_PASSED]
        if overdue:  # the one passed over most often; the higher priority on a tie
            return ready[max(overdue, key=lambda kind: self._passed[kind])]
        return ready[kinds[0]]

    def take(self, *, urgent_only: bool = False) -> Publication | None:
        """Hand out the next item to publish and mark it in flight (see `peek`)."""
        item = self.peek(urgent_only=urgent_only)
        if item is not None:
            self._serve(item)
            self._in_flight.add(item)
        return item

    def done(self, item: Publication) -> None:
        """`item` (handed out by `take()`) reached the broker: take it off its queue (unless it
        was already replaced or dropped)."""
        self._in_flight.discard(item)
        queue = self._queues[item.kind]
        if item in queue:
            queue.remove(item)

    def retry(self, item: Publication) -> None:
        """Publishing `item` failed: it waits again, in its place in its queue."""
        self._in_flight.discard(item)

    def retry_all(self) -> None:
        """The connection is gone: everything in flight waits again, each in its place."""
        self._in_flight.clear()

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def pending(self) -> dict[str, int]:
        """How many items wait or are in flight, by kind (for logs)."""
        return {kind: len(queue) for kind, queue in self._queues.items()}

    def _ready(self) -> dict[Kind, Publication]:
        """The first item not in flight of each kind that has one, in priority order."""
        ready: dict[Kind, Publication] = {}
        for kind, queue in self._queues.items():
            for item in queue:
                if item not in self._in_flight:
                    ready[kind] = item
                    break
        return ready

    def _serve(self, item: Publication) -> None:
        """Count a turn given to `item`: every other kind with an item waiting was passed over.
        Estop answers are outside the count: they always go first."""
        if item.kind == "urgent":
            return
        ready = self._ready()
        for kind in KINDS:
            if kind == item.kind or kind not in ready:
                self._passed[kind] = 0
            else:
                self._passed[kind] += 1

    def _discard_waiting(self, queue: deque[Publication]) -> None:
        kept = [item for item in queue if item in self._in_flight]
        queue.clear()
        queue.extend(kept)

    def _shed(self, queue: deque[Publication], limit: int) -> int:
        """Drop waiting items beyond `limit`: the oldest sheddable first, then the oldest."""
        waiting = [item for item in queue if item not in self._in_flight]
        dropped = 0
        while len(waiting) > limit:
            victim = next((item for item in waiting if item.sheddable), waiting[0])
            waiting.remove(victim)
            queue.remove(victim)
            dropped += 1
        return dropped


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
        """Whether `sample` goes out now (it then counts as published); otherwise it is kept,
        replacing a sample kept before."""
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
    """`value` (JSON-ready: dicts, lists, tuples, scalars) with every NaN or infinite float
    replaced by None, keys made strings. Anything else is left for `json.dumps` to refuse."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
