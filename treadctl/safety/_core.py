"""The governor's output: the next command, when to ask again, and how an ending completes.

Owns: `next_command` / `wake_at_s` (a pending Stop or Start first, then the next move that
`_moves` lists, then the Pause or Stop that completes an ending), what sending a move does to
the state, turn holds and announcements. A step of `ramp_step` hundredths is sent once the
linear ramp from its anchor has reached it, and never within the command interval; a speed
rise additionally waits for an announcement at least `turn.announce_s` old. Caps come before
ramps (rule 1 over rule 2): a speed above its cap (a lowered cap, a belt found faster), then a
deck above a lowered cap, goes to the cap first of all, as soon as the interval allows — the
one fall faster than the ramp rates besides a pause, stop or emergency stop (`_moves`). A move
whose value the treadmill refused waits for its retry, or is skipped once given up
(`refusals`). An ending (pause, stop, turn) is complete once its moves are done or given up;
a refused speed gives it up at once: Pause (or Stop) next. A moving turn pauses instead of
holding when it was given up or the deck is left above its cap.
"""

from __future__ import annotations

import math

from treadctl.safety._moves import MovePlanner, _Step
from treadctl.safety._state import Ending, TurnStage
from treadctl.safety.commands import (
    BeltCommand,
    StopCommand,
    _issue_incline,
    _issue_speed,
    _issue_start,
    _issue_stop,
)
from treadctl.safety.grid import centi, real
from treadctl.safety.types import Announcement, BeltState, Move

_EPS_S = 1e-9
# A Start (resume) goes no sooner than this after the last Pause or Stop sent: a belt just told
# to stop is let come to rest, and pause/resume toggled quickly (a flood of commands, a faulty
# automation) never jerks it on and off; the Start waits, and a pause meanwhile cancels it.
RESTART_AFTER_S = 2.0


class GovernorCore(MovePlanner):
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
            self._last_cmd_s = self._stopped_s = now_s
            return stop
        if not (self._link and self._control):
            return None
        ready = self._last_cmd_s + self._device.min_command_interval_s
        if self._pending_start:
            if now_s < self._start_ready_s(ready) - _EPS_S:
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
            return self._start_ready_s(ready)
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
        self._to_cap[step.quantity] = step.value if step.to_cap else None
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
        self._last_cmd_s = self._stopped_s = now_s
        return command

    def _start_ready_s(self, ready: float) -> float:
        """When a queued Start may go: after the command interval, and not sooner than
        `RESTART_AFTER_S` after the last Pause or Stop (a belt is never toggled on and off)."""
        return max(ready, self._stopped_s + RESTART_AFTER_S)

    def _turn_slowed(self) -> bool:
        """A moving turn whose belt is down to the turn speed: the hold begins, no Pause. When
        a refused speed gave the ramp-down up, no speed fits under the cap of the direction
        walked (the turn speed is above it), or the deck is left above its cap (its drop was
        refused), the turn pauses instead (the safe way)."""
        if self._ending is not Ending.TURN or self._turn.speed_kmh <= 0 or self._gave_up:
            return False
        if not self._ranges.can_run(self._direction) or self._deck_over_cap():
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
