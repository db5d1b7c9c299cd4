"""From a played command record to plan phases.

Owns: `Timeline` (the commanded speed and incline as knots of a piecewise-linear curve, plus
marks of the workout's state and step over time) and `cut_phases` (steady, ramp and turn
phases between the knots, merged where one continues the other). A ramp move is drawn from its
anchor — when the linear ramp began — to the command that completed it: the governor only sends
a step once that line has reached it, so the line is what the belt is asked to follow.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field, replace

from treadctl.safety import (
    BeltCommand,
    Direction,
    InclineCommand,
    Move,
    SpeedCommand,
    StartCommand,
    StopCommand,
)
from treadctl.workout.plan import Phase

_TURNING = "turning"


@dataclass(frozen=True)
class Mark:
    """The workout at `t_s`: the step index (from 0), its state and the walking direction."""

    t_s: float
    index: int
    state: str
    direction: Direction


@dataclass
class Timeline:
    """Knots of commanded speed and incline, and state marks, as the workout is played."""

    speed: list[tuple[float, float]] = field(default_factory=lambda: [(0.0, 0.0)])
    incline: list[tuple[float, float]] = field(default_factory=lambda: [(0.0, 0.0)])
    marks: list[Mark] = field(default_factory=list)

    def command(self, t_s: float, command: BeltCommand, move: Move | None) -> None:
        """Record a command sent at `t_s` (and the ramp move it completes)."""
        if isinstance(command, StartCommand):
            _add(self.speed, t_s, 0.0)
        elif isinstance(command, StopCommand):
            _add(self.speed, t_s, self.speed[-1][1])
            _add(self.speed, t_s, 0.0)
        elif isinstance(command, SpeedCommand):
            self._ramp(self.speed, t_s, command.speed_kmh, move)
        elif isinstance(command, InclineCommand):
            self._ramp(self.incline, t_s, command.incline_pct, move)

    def mark(self, mark: Mark) -> None:
        """Record the workout's state after a tick (only changes are kept)."""
        last = self.marks[-1] if self.marks else None
        if last is None or (last.index, last.state, last.direction) != (
            mark.index,
            mark.state,
            mark.direction,
        ):
            self.marks.append(mark)

    @staticmethod
    def _ramp(
        knots: list[tuple[float, float]], t_s: float, value: float, move: Move | None
    ) -> None:
        if move is not None and move.from_value is not None:
            _add(knots, max(move.start_s, knots[-1][0]), knots[-1][1])
        _add(knots, t_s, value)


def _add(knots: list[tuple[float, float]], t_s: float, value: float) -> None:
    if knots[-1] != (t_s, value):
        knots.append((t_s, value))


def _value_after(knots: list[tuple[float, float]], t_s: float) -> float:
    """The value just after `t_s` (the last knot at `t_s` wins over a jump)."""
    times = [k[0] for k in knots]
    i = bisect.bisect_right(times, t_s) - 1
    if i < 0:
        return knots[0][1]
    if i + 1 >= len(knots):
        return knots[i][1]
    (t0, v0), (t1, v1) = knots[i], knots[i + 1]
    return v0 if t1 == t0 else v0 + (v1 - v0) * (t_s - t0) / (t1 - t0)


def _value_before(knots: list[tuple[float, float]], t_s: float) -> float:
    """The value just before `t_s` (the first knot at `t_s` wins over a jump)."""
    times = [k[0] for k in knots]
    i = bisect.bisect_left(times, t_s)
    if i == 0:
        return knots[0][1]
    if i >= len(knots):
        return knots[-1][1]
    (t0, v0), (t1, v1) = knots[i - 1], knots[i]
    return v1 if t1 == t0 else v0 + (v1 - v0) * (t_s - t0) / (t1 - t0)


def cut_phases(timeline: Timeline, names: dict[int, str]) -> list[Phase]:
    """The phases of a played timeline; `names` maps step index (from 1) to its name."""
    end_s = max(timeline.speed[-1][0], timeline.incline[-1][0], timeline.marks[-1].t_s)
    cuts = sorted(
        {k[0] for k in timeline.speed}
        | {k[0] for k in timeline.incline}
        | {m.t_s for m in timeline.marks}
        | {end_s}
    )
    mark_times = [m.t_s for m in timeline.marks]
    phases: list[Phase] = []
    for start_s, stop_s in itertools.pairwise(cuts):
        if stop_s - start_s < 1e-9:
            continue
        mark = timeline.marks[max(0, bisect.bisect_right(mark_times, start_s) - 1)]
        speeds = (_value_after(timeline.speed, start_s), _value_before(timeline.speed, stop_s))
        inclines = (
            _value_after(timeline.incline, start_s),
            _value_before(timeline.incline, stop_s),
        )
        moving = abs(speeds[1] - speeds[0]) > 1e-9 or abs(inclines[1] - inclines[0]) > 1e-9
        kind = "turn" if mark.state == _TURNING else "ramp" if moving else "steady"
        step = mark.index + 1
        phase = Phase(
            start_s,
            stop_s,
            kind,
            mark.direction,
            speeds[0],
            speeds[1],
            inclines[0],
            inclines[1],
            step,
            names.get(step, ""),
        )
        if phases and _continues(phases[-1], phase):
            phases[-1] = _join(phases[-1], phase)
        else:
            phases.append(phase)
    return phases


def _trend(a: float, b: float) -> int:
    return 0 if abs(b - a) <= 1e-9 else (1 if b > a else -1)


def _continues(before: Phase, after: Phase) -> bool:
    same = (before.kind, before.step, before.direction) == (after.kind, after.step, after.direction)
    joined = (
        abs(before.speed_kmh_end - after.speed_kmh_start) <= 1e-9
        and abs(before.incline_pct_end - after.incline_pct_start) <= 1e-9
    )
    trends = _trend(before.speed_kmh_start, before.speed_kmh_end) == _trend(
        after.speed_kmh_start, after.speed_kmh_end
    ) and _trend(before.incline_pct_start, before.incline_pct_end) == _trend(
        after.incline_pct_start, after.incline_pct_end
    )
    started = before.speed_kmh_start == 0 and before.speed_kmh_end > 0  # the belt's own start
    return same and joined and trends and not started


def _join(before: Phase, after: Phase) -> Phase:
    return replace(
        before,
        end_s=after.end_s,
        speed_kmh_end=after.speed_kmh_end,
        incline_pct_end=after.incline_pct_end,
    )
