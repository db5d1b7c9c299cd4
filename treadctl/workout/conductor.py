"""The conductor: plays a workout's steps through the governor. Pure: `now_s` is an argument.

Owns: the workout's state (ready, running, turning, paused, halted, finishing, finished,
stopped), step timing (a step's clock stops while paused), turns between steps (DESIGN §2
rule 5: `turn_around` with the coming setpoint, resume on a person's confirmation or an opted-in
countdown), rise announcements ahead of step changes, console/safety-key/permission/link
events (rules 4 and 7) and the events for listeners. With no steps it is manual mode. The
compiler runs it against a perfect belt; the `Runner` runs it against a real one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from treadctl.errors import CommandError
from treadctl.safety import (
    BeltCommand,
    BeltState,
    Direction,
    Governor,
    Move,
    Setpoint,
    StartCommand,
    StopCommand,
    TurnStage,
    describe_command,
)
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


_OVER = (RunState.FINISHED, RunState.STOPPED)


class Conductor:
    """Plays `steps` (none: manual mode) through `governor`. See the module docstring."""

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

    # --- a person ------------------------------------------------------------------------

    @property
    def manual(self) -> bool:
        """Manual mode: no steps, speeds set by hand."""
        return not self.steps

    def start(self, now_s: float) -> None:
        """Start the workout, or resume it (person's start or resume). Raises `SafetyError`
        (latch, turn hold, no link) or `CommandError` once the workout is over."""
        if self.state in _OVER:
            raise CommandError("the workout is over; load it again to start anew")
        if self.state is RunState.READY:
            if not self.manual:
                first = self.steps[0]
                self.governor.face(first.direction)
                self.governor.set_speed(first.speed_kmh, now_s)
                self.governor.set_incline(first.incline_pct, now_s)
            self.governor.start(now_s)
            self._go(RunState.RUNNING)
            if not self.manual:
                self._begin_step(0, now_s)
            self._collect()
            return
        if self.state in (RunState.RUNNING, RunState.FINISHING):
            self.governor.start(now_s)  # nothing to resume; clears a latch
            return
        self.governor.start(now_s)
        self._resumed(now_s, "person")

    def pause(self, now_s: float) -> None:
        """Pause gently (ramp down, then Pause); the step's clock stops."""
        if self.state not in (RunState.RUNNING, RunState.TURNING):
            return
        self.governor.pause(now_s)
        self._auto_cancelled = True
        self._hold(now_s, RunState.PAUSED, "person")
        self._emit("paused", reason="person")

    def stop(self, now_s: float) -> None:
        """End the workout: a moving belt ramps down (incline to 0) and stops; a still one gets
        Stop at once."""
        if self.governor.belt is BeltState.RUNNING:
            self.governor.finish(now_s)
        else:
            self.governor.stop(now_s)
        if self.state not in _OVER:
            self._freeze(now_s)
            self._go(RunState.STOPPED, "person")
            self._emit("workout_finished", completed=False, reason="stopped")

    def emergency_stop(self, now_s: float) -> StopCommand:
        """Always allowed: the emergency Stop to send at once; latches."""
        command = self.governor.emergency_stop(now_s)
        if self.state not in _OVER:
            self._hold(now_s, RunState.HALTED, "emergency_stop")
        self._emit("safety_stop", reason="emergency_stop")
        return command

    def skip(self, now_s: float) -> None:
        """End the current step now and go on. Raises `CommandError` outside a running step."""
        if self.manual or self.state is not RunState.RUNNING:
            raise CommandError(f"nothing to skip while {self.state}; skip works in a running step")
        self._end_step(now_s)
        self._collect()

    def set_speed(self, speed_kmh: float, now_s: float) -> Setpoint:
        """A person's speed (until the step ends); caps refuse, never clamp."""
        setpoint = self.governor.set_speed(speed_kmh, now_s)
        self._collect()
        return setpoint

    def set_incline(self, incline_pct: float, now_s: float) -> Setpoint:
        """A person's incline (until the step ends)."""
        setpoint = self.governor.set_incline(incline_pct, now_s)
        self._collect()
        return setpoint

    def set_direction(self, direction: Direction, now_s: float) -> None:
        """Manual mode: turn to `direction` (a full turn while the belt moves)."""
        if not self.manual:
            raise CommandError("the workout sets the direction; stop it to walk by hand")
        if direction is self.governor.direction:
            return
        if self.governor.belt is not BeltState.RUNNING and self.governor.turn_stage is None:
            self.governor.face(direction)
            return
        speed = self.governor.goal_speed_kmh or self.governor.start_speed_kmh(direction)
        speed = min(speed, self.governor.top_speed_kmh(direction))
        self.governor.begin_turn(direction, now_s, speed_kmh=speed)
        self._go(RunState.TURNING)
        self._turn_events(direction, speed, 0.0)

    # --- the treadmill -------------------------------------------------------------------

    def telemetry(self, now_s: float, speed_kmh: float | None, incline_pct: float | None) -> None:
        """A Treadmill Data record: follow the belt, report drift, notice a belt that stopped."""
        self.governor.observe_speed(speed_kmh, now_s)
        if incline_pct is not None:
            self.governor.observe_incline(incline_pct, now_s)
        g = self.governor
        settled = now_s - self._started_s >= self.drift.start_grace_s
        if speed_kmh is None or g.belt is not BeltState.RUNNING or not settled:
            self._off_since_s = self._still_since_s = None
            return
        self._check_still(now_s, speed_kmh)
        commanded = g.commanded_speed_kmh
        if commanded is None or abs(speed_kmh - commanded) <= self.drift.tolerance_kmh:
            self._off_since_s = None
            self._on_since_s = self._on_since_s if self._on_since_s is not None else now_s
            if now_s - self._on_since_s >= self.drift.settle_s:
                self._drift_sent = False  # following again for a while: a new episode may start
            return
        self._on_since_s = None
        self._off_since_s = self._off_since_s if self._off_since_s is not None else now_s
        if now_s - self._off_since_s >= self.drift.settle_s and not self._drift_sent:
            self._drift_sent = True
            self._emit(
                "drift",
                commanded_kmh=commanded,
                reported_kmh=speed_kmh,
                for_s=round(now_s - self._off_since_s, 3),
            )

    def machine_status(self, kind: str, now_s: float) -> None:
        """A console or safety event: "console_stop", "console_pause", "safety_key",
        "console_start" or "control_lost" (echoes of our own commands are filtered before)."""
        g = self.governor
        if kind in ("console_stop", "console_pause"):
            g.console_stopped(now_s, pause=kind == "console_pause")
            self._halt(now_s, kind, "paused")
        elif kind == "safety_key":
            g.safety_key_pulled(now_s)
            self._halt(now_s, "safety_key", "safety_stop")
        elif kind == "console_start":
            moving = g.belt is BeltState.RUNNING
            if not moving and self.state in (RunState.PAUSED, RunState.HALTED, RunState.TURNING):
                g.console_started(now_s)
                self._started_s = now_s
                self._resumed(now_s, "console")
        elif kind == "control_lost":
            g.control_lost(now_s)
            if self.state in (RunState.RUNNING, RunState.TURNING, RunState.FINISHING):
                self._hold(now_s, RunState.PAUSED, "control_permission_lost")
            self._emit("paused", reason="control_permission_lost")
        self._collect()

    def link_lost(self, now_s: float) -> None:
        """The link dropped: the workout pauses (rule 7)."""
        self.governor.link_lost(now_s)
        if self.state is RunState.FINISHING:
            self._finished()
        elif self.state in (RunState.RUNNING, RunState.TURNING):
            self._hold(now_s, RunState.PAUSED, "link_lost")
        self._emit("link_lost")

    def link_restored(
        self, now_s: float, belt_moving: bool, speed_kmh: float | None = None
    ) -> None:
        """The link is back: a moving belt is ramped down and paused; nothing resumes."""
        self.governor.link_restored(now_s, belt_moving=belt_moving, reported_speed_kmh=speed_kmh)
        self._emit("link_restored", belt_moving=belt_moving)

    def command_failed(
        self, command: BeltCommand, error: str, now_s: float, **detail: object
    ) -> None:
        """The treadmill refused `command` (or it could not be sent)."""
        self.governor.command_failed(command, now_s)
        self._emit("command_rejected", **describe_command(command), error=error, **detail)
        if isinstance(command, StartCommand) and self.state is RunState.RUNNING:
            self._hold(now_s, RunState.PAUSED, "start_refused")

    # --- time ----------------------------------------------------------------------------

    def tick(self, now_s: float) -> list[BeltCommand]:
        """Advance to `now_s`; returns the commands to send now, in order."""
        if self.state is RunState.RUNNING and not self.manual:
            self._announce_next(now_s)
            if now_s >= self._step_end_s() - 1e-9:
                self._end_step(now_s)
        if self.state is RunState.TURNING:
            self._turn_tick(now_s)
        commands: list[BeltCommand] = []
        for _ in range(8):
            command = self.governor.next_command(now_s)
            if command is None:
                break
            commands.append(command)
            if self._on_command is not None:
                moving = not isinstance(command, StartCommand | StopCommand)
                self._on_command(now_s, command, self.governor.last_move if moving else None)
            if isinstance(command, StartCommand):
                self._started_s = now_s
        if self.state is RunState.FINISHING and self.governor.belt is not BeltState.RUNNING:
            self._finished()
        self._collect()
        return commands

    def wake_at(self) -> float | None:
        """When `tick` next has something to do (None: only after an input)."""
        times = [self.governor.wake_at_s()]
        if self.state is RunState.RUNNING and not self.manual:
            times.append(self._step_end_s())
            if not self._announced_next:
                times.append(self._announce_at_s())
        if self.state is RunState.TURNING:
            due = self._auto_due_s()
            if due is not None:
                times.append(due if self._countdown_sent else due - self.governor.turn.countdown_s)
        found = [t for t in times if t is not None and math.isfinite(t)]
        if any(t == -math.inf for t in times if t is not None):
            return -math.inf
        return min(found) if found else None

    def take_events(self) -> list[RunnerEvent]:
        """Events since the last call, in order."""
        events, self._events = self._events, []
        return events

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
        elif self.state not in _OVER and self.state is not RunState.READY:
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
            self._emit(
                "speed_rise_announced",
                reason=a.reason,
                speed_kmh=a.speed_kmh,
                from_kmh=a.from_kmh,
                in_s=round(a.rise_at_s - a.at_s, 3),
            )
