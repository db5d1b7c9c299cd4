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

from treadctl.errors import CommandError
from treadctl.safety import (
    BeltCommand,
    BeltState,
    Direction,
    Setpoint,
    StartCommand,
    StopCommand,
    describe_command,
)
from treadctl.workout.plan import RunnerEvent
from treadctl.workout.playback import OVER, DriftSettings, Playback, RunState

__all__ = ["Conductor", "DriftSettings", "RunState"]


class Conductor(Playback):
    """Plays `steps` (none: manual mode) through `governor`. See the module docstring."""

    def start(self, now_s: float) -> None:
        """Start the workout, or resume it (person's start or resume). Raises `SafetyError`
        (latch, turn hold, no link) or `CommandError` once the workout is over."""
        if self.state in OVER:
            raise CommandError("the workout is over; load it again to start anew")
        if self.state is RunState.READY:
            if not self.manual:
                first = self.steps[self.index]
                self.governor.face(first.direction)
                self.governor.set_speed(first.speed_kmh, now_s)
                self.governor.set_incline(first.incline_pct, now_s)
            self.governor.start(now_s)
            self._go(RunState.RUNNING)
            if not self.manual:
                self._begin_step(self.index, now_s)
                self._step_done_s, self._resume_done_s = self._resume_done_s, 0.0
            self._collect()
            return
        if self.state in (RunState.RUNNING, RunState.FINISHING):
            self.governor.start(now_s)  # nothing to resume; clears a latch
            return
        self.governor.start(now_s)
        self._resumed(now_s, "person")

    def position(self, index: int, step_elapsed_s: float = 0.0) -> None:
        """Before the start: begin at step `index` (0-based) with `step_elapsed_s` of it already
        played (resuming a session a crash interrupted). Raises `CommandError` otherwise."""
        if self.state is not RunState.READY or self.manual:
            raise CommandError("a workout can be positioned only before it starts")
        if not 0 <= index < len(self.steps):
            raise CommandError(f"no step {index + 1}; the workout has {len(self.steps)}")
        duration_s = self.steps[index].duration_s
        self.index = index
        self._resume_done_s = min(max(0.0, step_elapsed_s), duration_s)

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
        if self.state not in OVER:
            self._freeze(now_s)
            self._go(RunState.STOPPED, "person")
            self._emit("workout_finished", completed=False, reason="stopped")

    def emergency_stop(self, now_s: float) -> StopCommand:
        """Always allowed: the emergency Stop to send at once; latches."""
        command = self.governor.emergency_stop(now_s)
        if self.state not in OVER:
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
        """The link dropped: the workout pauses (rule 7). Said once, however many parts of the
        daemon notice (the link's event and a send that failed on it)."""
        if not self.governor.linked:
            return
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
        self, command: BeltCommand, error: str, now_s: float, *, result_code: int | None = None
    ) -> None:
        """The treadmill refused `command` with `result_code` (None: no answer, or it could
        not be sent). `command_rejected` says so, and for a speed or incline which attempt
        this was and when the governor tries again (`retry_in_s`) or that it gave up. When the
        governor pauses the belt because of it (a drop to a cap given up), `safety_stop` says
        why and the workout pauses until a person resumes it."""
        refusal = self.governor.command_failed(command, now_s, result_code=result_code)
        retry = refusal.describe(now_s) if refusal is not None else {}
        self._emit(
            "command_rejected",
            **describe_command(command),
            error=error,
            result_code=result_code,
            **retry,
        )
        if isinstance(command, StartCommand) and self.state is RunState.RUNNING:
            self._hold(now_s, RunState.PAUSED, "start_refused")
        if refusal is not None and refusal.safety_stop is not None:
            if self.state in (RunState.RUNNING, RunState.TURNING):
                self._hold(now_s, RunState.PAUSED, refusal.safety_stop)
            self._emit("safety_stop", reason=refusal.safety_stop)

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
