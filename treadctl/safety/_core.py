"""The governor's state and step logic (see `governor.py` for the public requests).

Owns: the state (belt, goals, commanded and reported values, turn, latch, announcement),
`next_command` / `wake_at_s`, and the checks of each request against caps and device ranges.
A move is chosen in a fixed order — incline down, speed down, incline up, speed up — so each
ramp is a clean segment that a plan can predict. A step of `ramp_step` hundredths is sent once
the linear ramp from its anchor has reached it, and never within the command interval; a speed
rise additionally waits for an announcement at least `turn.announce_s` old. Caps come before
ramps (rule 1 over rule 2): a commanded speed above the cap (a lowered cap, a belt found faster)
goes to the cap first of all, as soon as the interval allows — the one fall faster than
`decel_kmh_per_s` besides a pause, stop or emergency stop. A move whose value the treadmill
refused waits for its retry, or is skipped once given up (`refusals`); a refused fall goes after
the other fall, which it never holds back. An ending (pause, stop, turn) is complete once its
moves are done or given up; a refused speed gives it up at once: Pause (or Stop) next.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from treadctl.safety._state import Ending, GovernorState, TurnStage
from treadctl.safety.commands import (
    BeltCommand,
    StopCommand,
    _issue_incline,
    _issue_speed,
    _issue_start,
    _issue_stop,
)
from treadctl.safety.grid import centi, ramp_step, real
from treadctl.safety.types import Announcement, BeltState, Move

_EPS_S = 1e-9


@dataclass(frozen=True)
class _Step:
    quantity: str  # "speed", "incline" or "announce" (a rise needs an announcement first)
    value: int
    send_at: float
    anchor_s: float  # when its ramp began (inf: no ramp, a jump when it is sent)


class GovernorCore(GovernorState):
    """Step logic shared by `Governor`'s request methods."""

    # --- output --------------------------------------------------------------------------

    def next_command(
        self, now_s: float, reported_speed_kmh: float | None = None
    ) -> BeltCommand | None:
        """The next command to send now, or None (ask again at `wake_at_s()`)."""
        if reported_speed_kmh is not None:
            self._observe_speed(centi(reported_speed_kmh), now_s)
        if self._pending_stop is not None:
            stop, self._pending_stop = self._pending_stop, None
            self._last_cmd_s = now_s
            return stop
        if not (self._link and self._control):
            return None
        ready = self._last_cmd_s + self._device.min_command_interval_s
        if self._pending_start:
            if now_s < ready - _EPS_S:
                return None
            self._pending_start, self._start_unanswered = False, True
            self._belt_before_start, self._belt = self._belt, BeltState.RUNNING
            self._cmd_speed = None
            self._last_cmd_s = now_s
            return _issue_start()
        if self._belt is not BeltState.RUNNING:
            return None
        if self._ending is None and not self._ranges.can_run(self._direction):
            self._ramp_down(Ending.PAUSE, now_s)  # no speed fits under the cap
        step = self._next_step(ready)
        if step is None:
            return self._complete_ending(now_s, ready)
        if step.quantity == "announce":
            self._ensure_announced(step.value, now_s, "resume")
            return None
        if now_s < step.send_at - _EPS_S:
            return None
        return self._send(step, now_s)

    def wake_at_s(self) -> float | None:
        """When `next_command` may next return a command (None: only after a request)."""
        if self._pending_stop is not None:
            return -math.inf
        if not (self._link and self._control):
            return None
        ready = self._last_cmd_s + self._device.min_command_interval_s
        if self._pending_start:
            return ready
        if self._belt is not BeltState.RUNNING:
            return None
        if not self._ranges.can_run(self._direction):
            return ready
        step = self._next_step(ready)
        if step is not None:
            return step.send_at
        if self._turn_slowed():
            return max(self._last_cmd_s, self._ending_s)
        return ready if self._ending is not None else None

    # --- steps ---------------------------------------------------------------------------

    def _send(self, step: _Step, now_s: float) -> BeltCommand:
        command: BeltCommand
        refused = self._refused.get(step.quantity)
        if refused is not None and centi(refused.value) != step.value:
            del self._refused[step.quantity]  # another value: the refused one is behind us
        if step.quantity == "speed":
            before = self._cmd_speed
            self._prev_speed, self._cmd_speed = before, step.value
            self._last_speed_s, self._rep_off_since_s = now_s, None
            rise = before is not None and step.value > before
            if rise and self._announced is not None and step.value >= self._announced[0]:
                self._announced = None  # this announcement is used up (a retry needs another)
            command = _issue_speed(real(step.value))
        else:
            before = self._incline_base()
            self._prev_incline, self._cmd_incline = self._cmd_incline, step.value
            command = _issue_incline(real(step.value))
        self.last_move = Move(
            step.quantity,
            min(step.anchor_s, now_s),
            now_s,
            None if before is None else real(before),
            real(step.value),
        )
        self._last_cmd_s = now_s
        return command

    def _next_step(self, ready: float) -> _Step | None:
        given_up = self._ending is not None and self._gave_up  # Pause (Stop) next
        if given_up or not self._ranges.can_run(self._direction):
            return None
        holding = self._ending is None and self._turn_stage is TurnStage.HOLDING
        moving_turn = (self._ending is Ending.TURN or holding) and self._turn.speed_kmh > 0
        if self._cmd_speed is None and moving_turn:
            return self._held(_Step("speed", self._turn_floor(), ready, self._last_cmd_s))
        if self._cmd_speed is None and self._ending is not None:
            return None  # speed unknown (e.g. after a reconnect): pause without a ramp
        if self._cmd_speed is None:  # just started: set the start speed
            value = self._ranges.start_speed(self._direction)
            if self._goal_speed is not None:
                value = min(
                    value, max(self._goal_speed, self._ranges.speed_grid(self._direction).low)
                )
            return self._held(_Step("speed", value, ready, self._last_cmd_s))
        s_base = self._speed_base()
        if s_base is None:
            return None
        for move in self._moves(s_base, ready):
            held = self._held(move)
            if held is not None:
                return held
        return None  # nothing to do, or only moves given up after refusals

    def _moves(self, s_base: int, ready: float) -> Iterator[_Step]:
        """The moves wanted now, in the fixed order (each given up one lets the next go)."""
        s_goal, i_goal = self._targets(s_base)
        i_base = self._incline_base()
        falls: list[_Step] = []
        top = self._ranges.top_speed(self._direction)
        over_cap = max(s_base, self._cmd_speed or 0) > top
        if over_cap:  # rule 1 before rule 2: down to the cap (or the belt, if lower) at once
            falls.append(_Step("speed", min(s_base, top), ready, math.inf))
        if i_goal is not None and i_base is not None and i_goal < i_base:
            falls.append(self._ramp("incline", i_base, i_goal, ready))
        if s_goal is not None and s_goal < s_base and not over_cap:
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
        if quantity == "incline":  # a deck above a lowered cap: one step to it (speed: `_moves`)
            top = self._ranges.incline_grid().high_on()
            value, delta = (top, base - top) if value > top else (value, delta)
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

    def _complete_ending(self, now_s: float, ready: float) -> BeltCommand | None:
        if self._ending is None:
            return None
        if self._turn_slowed():
            self._enter_hold(max(self._last_cmd_s, self._ending_s))
            return None
        if now_s < ready - _EPS_S:
            return None
        pause = self._ending is not Ending.STOP and self._device.pause_supported
        command = _issue_stop(pause=pause)
        self._belt = BeltState.PAUSED if pause else BeltState.STOPPED
        if self._ending is Ending.TURN:
            self._enter_hold(now_s)
        else:
            self._announced = None
        self._ending = None
        self._cmd_speed = None
        self._last_cmd_s = now_s
        return command

    def _turn_slowed(self) -> bool:
        """A moving turn whose belt is down to the turn speed: the hold begins, no Pause. When
        a refused speed gave the ramp-down up, or no speed fits under the cap of the direction
        walked (the turn speed is above it), the turn pauses instead (the safe way)."""
        if self._ending is not Ending.TURN or self._turn.speed_kmh <= 0 or self._gave_up:
            return False
        if not self._ranges.can_run(self._direction):
            return False
        base = self._speed_base()
        return base is not None and base <= self._turn_floor()

    # --- state changes -------------------------------------------------------------------

    def _ensure_announced(
        self, value: int, now_s: float, reason: str, from_c: int | None = None
    ) -> float:
        announced = self._announced
        if announced is not None and announced[0] >= value:
            return announced[1] + self._turn.announce_s
        if from_c is None:
            base = self._speed_base()
            from_c = self._ranges.start_speed(self._direction) if base is None else base
        self._announced = (value, now_s)
        rise_at = now_s + self._turn.announce_s
        self._outbox.append(Announcement(real(value), real(from_c), now_s, rise_at, reason))
        return rise_at

    def _enter_hold(self, now_s: float) -> None:
        self._turn_stage, self._hold_started_s = TurnStage.HOLDING, now_s
        if self._turn_to is not None:
            self._direction = self._turn_to
        self._ending = None

    def _finish_turn(self, now_s: float) -> None:
        if self._turn_goal_speed is not None:
            self._goal_speed, self._speed_goal_s = self._turn_goal_speed, now_s
        if self._turn_goal_incline is not None:
            self._goal_incline, self._incline_goal_s = self._turn_goal_incline, now_s
        self._clear_turn()

    def _clear_turn(self) -> None:
        self._turn_stage = self._turn_to = self._hold_started_s = None
        self._turn_goal_speed = self._turn_goal_incline = None

    def _queue_stop(self, command: StopCommand | None, belt: BeltState) -> None:
        self._pending_stop, self._pending_start, self._start_unanswered = command, False, False
        self._belt, self._ending, self._announced = belt, None, None
        self._cmd_speed = None
        self._forget_refusals()
