"""Playing steps: the conductor's state, step clock, turns between steps and its events.

Owns: `RunState`, `DriftSettings` and `Playback` — the state the `Conductor` keeps (step index,
the step's clock that stops while paused, turn bookkeeping, the belt watch) and the moves it
makes: begin and end a step, announce the next rise, start a turn and resume after it, hold,
freeze, finish, and the events for listeners. The public requests are in `conductor`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from treadctl.safety import BeltCommand, BeltState, Direction, Governor, Move, TurnStage
from treadctl.workout.plan import RunnerEvent
from treadctl.workout.script import Step


class RunState(StrEnum):
    """Where the workout is."""

    READY = "ready"
    RUNNING = "running"
    TURNING = "turning"
    PAUSED = "paused"  # by a person, a lost link or lost control: resumes on a person's command
    HALTED = "halted"  # console stop, safety key, emergency stop: latched until a person starts
    FINISHING = "finishing"  # last step done, ramping down to stop
    FINISHED = "finished"
    STOPPED = "stopped"  # a person ended it


@dataclass(frozen=True)
class DriftSettings:
    """When the belt counts as not following: reported speed off by more than
    `tolerance_kmh` for `settle_s`, or still for `stopped_after_s`, once `start_grace_s`
    have passed since it started."""

    tolerance_kmh: float = 0.5
    settle_s: float = 5.0
    start_grace_s: float = 10.0
    stopped_after_s: float = 3.0


OVER = (RunState.FINISHED, RunState.STOPPED)


class Playback:
    """What the conductor knows and does between its requests."""

    def __init__(
        self,
        governor: Governor,
        steps: Sequence[Step] = (),
        *,
        drift: DriftSettings | None = None,
        on_command: Callable[[float, BeltCommand, Move | None], None] | None = None,
    ) -> None:
        self.governor = governor
        self._on_command = on_command  # the compiler watches every command and its ramp move
        self.steps = tuple(steps)
        self.drift = drift or DriftSettings()
        self.state = RunState.READY
        self.reason: str | None = None
        self.index = 0  # the step playing (or the one a turn leads to)
        self._step_start_s: float | None = None  # when the step's clock last (re)started
        self._step_done_s = 0.0  # step time played before that
        self._resume_done_s = 0.0  # step time a crashed session had played (see `position`)
        self._announced_next = False
        self._turn_pending = False
        self._countdown_sent = False
        self._auto_cancelled = False
        self._started_s = -math.inf
        self._off_since_s: float | None = None
        self._drift_sent = False
        self._on_since_s: float | None = None
        self._still_since_s: float | None = None
        self._events: list[RunnerEvent] = []

    @property
    def manual(self) -> bool:
        """Manual mode: no steps, speeds set by hand."""
        return not self.steps

    # --- steps ---------------------------------------------------------------------------

    @property
    def step(self) -> Step | None:
        """The step playing (or the one a turn leads to)."""
        return self.steps[self.index] if self.steps and self.index < len(self.steps) else None

    def step_elapsed_s(self, now_s: float) -> float:
        """Time played in the current step."""
        running = self._step_start_s
        return self._step_done_s + (now_s - running if running is not None else 0.0)

    def _step_end_s(self) -> float:
        step = self.step
        if step is None or self._step_start_s is None:
            return math.inf
        return self._step_start_s + step.duration_s - self._step_done_s

    def _announce_at_s(self) -> float:
        return max(self._step_start_s or 0.0, self._step_end_s() - self.governor.turn.announce_s)

    def _announce_next(self, now_s: float) -> None:
        nxt = self.steps[self.index + 1] if self.index + 1 < len(self.steps) else None
        if self._announced_next or now_s < self._announce_at_s() - 1e-9:
            return
        self._announced_next = True
        if nxt is not None and nxt.direction is self.governor.direction:
            self.governor.announce_rise(nxt.speed_kmh, now_s)

    def _end_step(self, now_s: float) -> None:
        if self.index + 1 >= len(self.steps):
            self._freeze(now_s)
            self.governor.finish(now_s)
            self._go(RunState.FINISHING)
            return
        self._begin_step(self.index + 1, now_s)

    def _begin_step(self, index: int, now_s: float) -> None:
        step, g = self.steps[index], self.governor
        self.index, self._step_done_s, self._announced_next = index, 0.0, False
        self._turn_pending = False
        if step.direction is not g.direction:
            if g.belt is not BeltState.RUNNING and g.turn_stage is None:
                g.face(step.direction)
            else:
                self._step_start_s = None
                g.begin_turn(
                    step.direction, now_s, speed_kmh=step.speed_kmh, incline_pct=step.incline_pct
                )
                self._turn_pending, self._countdown_sent, self._auto_cancelled = True, False, False
                self._go(RunState.TURNING)
                self._turn_events(step.direction, step.speed_kmh, step.incline_pct)
                return
        g.set_speed(step.speed_kmh, now_s)
        g.set_incline(step.incline_pct, now_s)
        self._step_start_s = now_s
        self._go(RunState.RUNNING)
        self._emit(
            "step_started",
            step=step.index,
            name=step.name,
            direction=str(step.direction),
            speed_kmh=step.speed_kmh,
            incline_pct=step.incline_pct,
            duration_s=step.duration_s,
        )

    # --- turns, pauses -------------------------------------------------------------------

    def _turn_events(self, direction: Direction, speed_kmh: float, incline_pct: float) -> None:
        turn = self.governor.turn
        self._emit(
            "turn_around",
            from_direction=str(self.governor.direction),
            to_direction=str(direction),
            speed_kmh=speed_kmh,
            incline_pct=incline_pct,
            hold_s=turn.hold_s,
            auto_resume=turn.auto_resume,
            countdown_s=turn.auto_resume_after_s if turn.auto_resume else None,
            step=self.step.index if self.step and not self.manual else None,
        )

    def _auto_due_s(self) -> float | None:
        if self._auto_cancelled or self.governor.latched:
            return None
        return self.governor.auto_resume_at_s

    def _turn_tick(self, now_s: float) -> None:
        due = self._auto_due_s()
        if due is None or self.governor.turn_stage is not TurnStage.HOLDING:
            return
        if not self._countdown_sent and now_s >= due - self.governor.turn.countdown_s - 1e-9:
            self._countdown_sent = True
            step = self.step
            self._emit(
                "speed_rise_announced",
                reason="auto_resume",
                in_s=round(due - now_s, 3),
                speed_kmh=step.speed_kmh if step and not self.manual else None,
            )
        if now_s >= due - 1e-9:
            self.governor.auto_resume(now_s)
            self._resumed(now_s, "auto_resume")

    def _resumed(self, now_s: float, by: str) -> None:
        """The belt may go again (a person, the console or the countdown): carry on."""
        self._emit("resumed", by=by)
        turning = self._turn_pending or self.state is RunState.TURNING
        if turning and self.governor.turn_stage is None:
            if self.manual:
                self._go(RunState.RUNNING)
            else:
                self._begin_step(self.index, now_s)
        elif turning:
            self._go(RunState.TURNING)
        else:
            if self._step_start_s is None and not self.manual:
                self._step_start_s = now_s
            self._go(RunState.RUNNING)
        self._collect()

    def _halt(self, now_s: float, reason: str, event: str) -> None:
        if self.state is RunState.FINISHING:
            self._finished()
        elif self.state not in OVER and self.state is not RunState.READY:
            self._hold(now_s, RunState.HALTED, reason)
        self._emit(event, reason=reason)

    def _hold(self, now_s: float, state: RunState, reason: str) -> None:
        if self.state is RunState.TURNING:
            self._turn_pending = True
        self._freeze(now_s)
        self._go(state, reason)

    def _freeze(self, now_s: float) -> None:
        if self._step_start_s is not None:
            self._step_done_s += now_s - self._step_start_s
            self._step_start_s = None

    def _finished(self) -> None:
        self._go(RunState.FINISHED)
        self._emit("workout_finished", completed=True, reason="finished")

    def _check_still(self, now_s: float, speed_kmh: float) -> None:
        if speed_kmh > 0.05:
            self._still_since_s = None
            return
        self._still_since_s = self._still_since_s if self._still_since_s is not None else now_s
        if now_s - self._still_since_s >= self.drift.stopped_after_s:
            self.governor.console_stopped(now_s, pause=False)
            self._halt(now_s, "belt_stopped", "safety_stop")

    def _go(self, state: RunState, reason: str | None = None) -> None:
        self.state, self.reason = state, reason

    def _emit(self, kind: str, **data: object) -> None:
        self._events.append(RunnerEvent(kind, dict(data)))

    def _collect(self) -> None:
        for a in self.governor.take_announcements():
            # A turn's coming speed rises only once the belt resumes after the hold (a person,
            # or the auto-resume countdown, which announces its own `in_s`): no time is given.
            self._emit(
                "speed_rise_announced",
                reason=a.reason,
                speed_kmh=a.speed_kmh,
                from_kmh=a.from_kmh,
                in_s=None if a.reason == "turn" else round(a.rise_at_s - a.at_s, 3),
            )
