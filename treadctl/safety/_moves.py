"""The moves the governor wants next: caps first, then the ramps, in a fixed order.

Owns: `_Step` (one wanted command: quantity, value, when it may go) and `MovePlanner`, which
lists the moves for the belt as it is — drops to a cap first (rule 1 before rule 2: a speed
commanded above its cap, then a deck above its cap, each to the cap in one command as soon as
the command interval allows), then the ramps toward the targets of a goal or an ending (incline
down, speed down, incline up, speed up) — and holds back the ones refused (`refusals`). What
is sent, and when an ending is complete, is `_core`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from treadctl.safety._state import Ending, GovernorState, TurnStage
from treadctl.safety.grid import centi, ramp_step, real


@dataclass(frozen=True)
class _Step:
    quantity: str  # "speed", "incline" or "announce" (a rise needs an announcement first)
    value: int
    send_at: float
    anchor_s: float  # when its ramp began (inf: no ramp, a jump when it is sent)
    to_cap: bool = False  # it brings a value above its cap down to the cap (a jump)


class MovePlanner(GovernorState):
    """The moves wanted now (see the module docstring)."""

    def _moves(self, s_base: int, ready: float) -> Iterator[_Step]:
        """The moves wanted now, in the fixed order (each given up one lets the next go)."""
        s_goal, i_goal = self._targets(s_base)
        i_base = self._incline_base()
        falls: list[_Step] = []
        top = self._ranges.top_speed(self._direction)
        speed_over = max(s_base, self._cmd_speed or 0) > top
        if speed_over:  # rule 1 before rule 2: down to the cap (or the belt, if lower) at once
            falls.append(_Step("speed", min(s_base, top), ready, math.inf, to_cap=True))
        if self._deck_over_cap():  # then the deck to its cap at once (never while latched)
            top_i = self._ranges.incline_grid().high_on()
            falls.append(_Step("incline", top_i, ready, math.inf, to_cap=True))
        elif i_goal is not None and i_base is not None and i_goal < i_base:
            falls.append(self._ramp("incline", i_base, i_goal, ready))
        if s_goal is not None and s_goal < s_base and not speed_over:
            falls.append(self._ramp("speed", s_base, s_goal, ready))
        yield from sorted(falls, key=self._was_refused)  # a refused fall never blocks the other
        if i_goal is not None and i_base is not None and i_goal > i_base:
            yield self._ramp("incline", i_base, i_goal, ready)
        if s_goal is not None and s_goal > s_base:
            announced = self._announced
            if announced is None or announced[0] < s_goal:
                if self._held(self._ramp("speed", s_base, s_goal, ready)) is not None:
                    yield _Step("announce", s_goal, -math.inf, -math.inf)
                return  # a rise given up is not announced again
            yield self._ramp("speed", s_base, s_goal, ready, announced[1] + self._turn.announce_s)

    def _deck_over_cap(self) -> bool:
        """The deck as commanded is above the incline cap (a cap lowered under it) and the
        governor may move it (not while latched: then only a moving belt is slowed). A deck
        reported higher than commanded is not looked for: reports place a deck only before
        the first incline command, and then on the grid, so never above the cap."""
        base = self._incline_base()
        return (
            not self._latched and base is not None and base > self._ranges.incline_grid().high_on()
        )

    def _was_refused(self, step: _Step) -> bool:
        refused = self._refused.get(step.quantity)
        return refused is not None and centi(refused.value) == step.value

    def _held(self, step: _Step) -> _Step | None:
        """`step` as a refusal of its value allows it: not before the retry, None when given
        up (`refusals`). Another value is another setpoint: it goes as planned."""
        refused = self._refused.get(step.quantity)
        if refused is None or centi(refused.value) != step.value:
            return step
        if refused.retry_at_s is None:
            return None
        return replace(step, send_at=max(step.send_at, refused.retry_at_s))

    def _ramp(
        self, quantity: str, base: int, target: int, ready: float, not_before: float = -math.inf
    ) -> _Step:
        """One ramp step from `base` toward `target` (never past it), sent once the linear ramp
        from its anchor has reached it and the command interval allows (`ready`)."""
        if quantity == "speed":
            rate = self._limits.accel_kmh_per_s if target > base else self._limits.decel_kmh_per_s
            increment = centi(self._device.speed_increment_kmh)
            goal_s = self._speed_goal_s
        else:
            rate = self._limits.incline_rate_pct_per_s
            increment = centi(self._device.incline_increment_pct or 0.1)
            goal_s = self._incline_goal_s
        step = ramp_step(rate, increment, self._device.min_command_interval_s)
        delta = min(abs(target - base), step)
        value = base + delta if target > base else base - delta
        since = self._ending_s if self._ending is not None else goal_s
        anchor = max(self._last_cmd_s, since, not_before)
        if quantity == "speed":  # a base taken from the belt counts from when it was seen
            anchor = max(anchor, self._base_s if base == self._cmd_speed else self._rep_speed_s)
        return _Step(quantity, value, max(anchor + real(delta) / rate, ready), anchor)

    def _targets(self, s_base: int) -> tuple[int | None, int | None]:
        level = self._ranges.incline_grid().low_on() if self._device.incline_supported else None
        if self._latched:  # latched: only ramping a moving belt down, never the deck
            level = None
        if self._ending is Ending.PAUSE:
            return min(self._ranges.start_speed(self._direction), s_base), None
        if self._ending is Ending.STOP:
            return min(self._ranges.start_speed(self._direction), s_base), level
        if self._ending is Ending.TURN or self._turn_stage is TurnStage.HOLDING:
            return min(self._turn_floor(), s_base), level
        speed = self._goal_speed
        if speed is not None:
            speed = min(speed, self._ranges.top_speed(self._direction))
        incline = self._goal_incline
        if incline is not None and self._device.incline_supported:
            incline = self._ranges.incline_grid().floor(incline)
        return speed, incline if self._device.incline_supported else None
