"""Safety outcomes read from the machine's own history, the MQTT messages and the session record.

Owns the checks every fault test ends with (DESIGN §2):
- `assert_within_caps` — the belt was never above the cap: every Set Target Speed (0x02) the
  virtual treadmill received, every target in its history, every speed it reported on MQTT, and
  every speed setpoint in the session record (checked against its own direction's cap);
- `assert_nothing_started_or_sped_up` — from a given point in the write log on, the treadmill
  received no Start/Resume (0x07) and no target above the one it had (rule 4);
  `assert_nothing_sent` — it received nothing at all;
- `read_record` / `assert_record_complete` — the session record is whole: a header first, a
  summary last, every line JSON, times in order.
The wire is read with literals (0x02 = Set Target Speed, u16 in 0.01 km/h; 0x07 = Start or
Resume; 0x08 0x01/0x02 = Stop/Pause), never with production constants.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from treadctl.sim.model import ControlPointWrite, TreadmillModel

EPSILON_KMH = 1e-6
# The belt's reported speed may round up by one display step (0.01 km/h) on the wire.
REPORTED_SLACK_KMH = 0.011

SET_TARGET_SPEED = 0x02
START_OR_RESUME = 0x07
STOP_OR_PAUSE = 0x08
STOP = b"\x08\x01"
PAUSE = b"\x08\x02"


@dataclass(frozen=True)
class Caps:
    """The caps a test holds the daemon to, km/h (the site's, lowered by the workout's)."""

    backward_kmh: float
    forward_kmh: float

    def of(self, direction: str) -> float:
        """The cap of `direction` ("forward" or "backward")."""
        return self.backward_kmh if direction == "backward" else self.forward_kmh

    @property
    def highest_kmh(self) -> float:
        """The higher of the two caps: nothing on the wire may ever exceed it."""
        return max(self.backward_kmh, self.forward_kmh)


def speed_of(write: ControlPointWrite) -> float | None:
    """The km/h of a Set Target Speed write (u16 little-endian, 0.01 km/h), else None."""
    if write.data[:1] != bytes([SET_TARGET_SPEED]) or len(write.data) < 3:
        return None
    return int.from_bytes(write.data[1:3], "little") / 100


def speed_writes(writes: Iterable[ControlPointWrite]) -> list[float]:
    """The km/h of every Set Target Speed write, in order."""
    return [kmh for kmh in (speed_of(w) for w in writes) if kmh is not None]


def describe_writes(writes: Sequence[ControlPointWrite]) -> str:
    """The write log, one line each (for assertion messages)."""
    lines = []
    for write in writes:
        result = "-" if write.result is None else f"0x{write.result:02X}"
        lines.append(f"  t={write.time_s:8.3f} {write.data.hex(' '):<12} {result} {write.note}")
    return "\n".join(lines)


def assert_nothing_sent(model: TreadmillModel, since: int) -> None:
    """The treadmill received no write at all from write `since` on."""
    after = model.writes[since:]
    assert after == [], describe_writes(after)


def assert_within_caps(
    model: TreadmillModel,
    caps: Caps,
    *,
    direction: str | None = None,
    telemetry: Iterable[dict[str, Any]] = (),
    record: Iterable[dict[str, Any]] = (),
) -> None:
    """The belt was never above its cap (DESIGN §2 rule 1), from every angle we can see.

    `direction` is the one direction the workout walks, when it walks only one (then the wire is
    held to that direction's cap, otherwise to the higher cap); setpoints in the `record` are
    held to the cap of the direction each carries; `telemetry` is what the daemon published.
    """
    wire_cap = caps.of(direction) if direction is not None else caps.highest_kmh
    log = describe_writes(model.writes)
    for write in model.writes:
        kmh = speed_of(write)
        assert kmh is None or kmh <= wire_cap + EPSILON_KMH, (
            f"Set Target Speed {kmh} km/h above the cap {wire_cap} km/h:\n{log}"
        )
    for entry in model.history:
        if entry.what == "target_speed_kmh" and entry.cause != "console":
            assert isinstance(entry.value, float | int)
            assert entry.value <= wire_cap + EPSILON_KMH, (
                f"the machine's target went to {entry.value} km/h (cap {wire_cap}): {entry}"
            )
    for sample in telemetry:
        speed = sample.get("speed_kmh")
        assert speed is None or speed <= wire_cap + REPORTED_SLACK_KMH, (
            f"the belt reported {speed} km/h, above the cap {wire_cap} km/h: {sample}"
        )
    for line in record:
        if line.get("type") == "setpoint" and line.get("command") == "set_speed":
            cap = caps.of(str(line.get("direction", "forward")))
            assert line["speed_kmh"] <= cap + EPSILON_KMH, f"setpoint above the cap {cap}: {line}"


def target_before(model: TreadmillModel, index: int) -> float:
    """The target speed the machine had accepted before write `index` (0 if none)."""
    target = 0.0
    for write in model.writes[:index]:
        kmh = speed_of(write)
        if kmh is not None and write.result == 0x01:
            target = kmh
    return target


def assert_nothing_started_or_sped_up(
    model: TreadmillModel, since: int, *, until: int | None = None
) -> None:
    """Between write `since` and write `until` (default: now) the treadmill received no
    Start/Resume and no speed above the one before it: the belt only ever slowed, starting
    from the target it had at `since` (DESIGN §2 rule 4)."""
    ceiling = target_before(model, since)
    log = describe_writes(model.writes)
    for write in model.writes[since:until]:
        assert write.data[:1] != bytes([START_OR_RESUME]), f"started without a command:\n{log}"
        kmh = speed_of(write)
        if kmh is None:
            continue
        assert kmh <= ceiling + EPSILON_KMH, (
            f"sped up to {kmh} km/h (from {ceiling}) without a command:\n{log}"
        )
        ceiling = kmh


# --- session records -------------------------------------------------------------------------


def read_record(path: Path, *, cut_short: bool = False) -> list[dict[str, Any]]:
    """Every line of a session record, parsed. A half-written last line fails the test unless
    `cut_short` (a killed daemon may have been writing it); any other bad line always does."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if cut_short and lines:
        try:
            json.loads(lines[-1])
        except json.JSONDecodeError:
            lines.pop()
    return [json.loads(line) for line in lines]


def session_records(state_dir: Path) -> list[Path]:
    """The session records under `state_dir`, oldest first."""
    return sorted((state_dir / "sessions").glob("*.jsonl"))


def assert_record_complete(lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A closed record: header first, summary last, nothing else of either. Returns the summary.

    (Times in order is a check of its own, `assert_record_in_order`.)
    """
    assert lines, "the session record is empty"
    kinds = [line.get("type") for line in lines]
    assert kinds[0] == "session", f"no header: {lines[0]}"
    assert kinds[-1] == "summary", f"the record was not closed (last line {lines[-1]})"
    assert kinds.count("session") == 1, kinds
    assert kinds.count("summary") == 1, kinds
    return lines[-1]


def assert_record_in_order(lines: Sequence[dict[str, Any]]) -> None:
    """Every line is stamped no earlier than the line before it (written as it happened)."""
    for before, after in itertools.pairwise(lines[1:]):
        assert after["t_s"] >= before["t_s"], f"record time goes back:\n  {before}\n  {after}"


def record_events(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `event` lines of a record as the events they were published as (without `type`)."""
    return [
        {k: v for k, v in line.items() if k != "type"}
        for line in lines
        if line.get("type") == "event"
    ]
