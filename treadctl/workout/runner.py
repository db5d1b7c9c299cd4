"""The runner: plays a plan (or manual mode) on one treadmill, in real time. Thin async shell.

Owns: the loop that ticks the pure `Conductor` at its wake times on an injected `Clock`, sends
its commands one by one to a `CommandSink` (a refused command is reported and undone, a lost
link pauses the workout), person commands (`start`, `pause`, `resume`, `stop`, `skip`,
`set_speed`, `set_incline`; `emergency_stop` is sent at once, ahead of anything queued),
what the daemon feeds in (telemetry, machine status, link lost/restored), events to listeners
and what goes into the session record (written through `bookkeeping.SessionRecords`; distance
and backward time added up by `bookkeeping.Odometer`). Every event and record is stamped with
the clock when it is written (a setpoint when its send returned), not when the loop pass
began: a send may take seconds, and the record's times must never go back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from treadctl import ftms
from treadctl.errors import CommandError, ControlPointError, LinkLostError, TreadctlError
from treadctl.safety import BeltCommand, Direction, Governor, Setpoint, describe_command
from treadctl.workout.bookkeeping import Odometer, SessionRecords, telemetry_fields
from treadctl.workout.clock import Clock
from treadctl.workout.conductor import Conductor, DriftSettings, RunState
from treadctl.workout.plan import Plan, RunnerEvent
from treadctl.workout.playback import OVER
from treadctl.workout.progress import progress_of, summary_of
from treadctl.workout.recorder import SessionRecorder

log = structlog.get_logger("treadctl.workout")
Listener = Callable[[RunnerEvent], None]
_S = ftms.MachineStatusOpCode


class CommandSink(Protocol):
    """Where commands go (`ble.TreadmillLink`, or the model in tests)."""

    async def send(self, command: BeltCommand) -> None:
        """Send `command`; raises `ControlPointError` if refused, `LinkLostError` if the link
        is gone."""
        ...


class Runner:
    """Plays `plan` (None: manual mode) through `governor` into `sink` on `clock`.

    Raises `CommandError` when `plan` was compiled for other device ranges than the
    governor's, or when `start_at` (step index from 0, seconds of it played) is not a step.
    """

    def __init__(
        self,
        governor: Governor,
        sink: CommandSink,
        clock: Clock,
        *,
        plan: Plan | None = None,
        recorder: SessionRecorder | None = None,
        drift: DriftSettings | None = None,
        start_at: tuple[int, float] | None = None,
    ) -> None:
        if plan is not None:
            if plan.device != governor.device:
                raise CommandError(
                    "the plan was compiled for other device ranges; compile it for this treadmill"
                )
            governor.lower_limits(plan.limits, clock.now())
        self.plan, self.governor = plan, governor
        self.conductor = Conductor(governor, plan.steps if plan else (), drift=drift)
        if start_at is not None:  # (step index from 0, seconds of it already played)
            self.conductor.position(*start_at)
        self._sink, self._clock = sink, clock
        self._records = SessionRecords(recorder)
        self._listeners: list[Listener] = []
        self._wakeup = asyncio.Event()
        self._estops = 0
        self._t0_s = clock.now()
        self._odometer = Odometer()

    # --- listeners and state -------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(event)` for every event (exceptions are logged, never raised)."""
        self._listeners.append(listener)

    @property
    def state(self) -> RunState:
        """Where the workout is."""
        return self.conductor.state

    @property
    def done(self) -> bool:
        """Finished or stopped."""
        return self.conductor.state in OVER

    def progress(self) -> dict[str, Any]:
        """A JSON-ready snapshot for state and telemetry topics."""
        return progress_of(self.conductor, self.plan, self._clock.now())

    # --- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Play until the workout is finished or stopped (manual mode: until stopped)."""
        self._records.open(self._t0_s)
        try:
            while True:
                self._wakeup.clear()
                commands = self.conductor.tick(self._clock.now())
                await self._deliver(commands)
                self._publish()
                if self.done and self.governor.wake_at_s() is None:
                    return
                await self._wait(self.conductor.wake_at(), self._clock.now())
        finally:
            self._close()

    async def _wait(self, wake_s: float | None, now_s: float) -> None:
        if wake_s is not None and wake_s <= now_s:
            await asyncio.sleep(0)
            return
        tasks: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wakeup.wait())}
        if wake_s is not None:
            tasks.add(asyncio.ensure_future(self._clock.sleep(wake_s - now_s)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _deliver(self, commands: list[BeltCommand]) -> None:
        estops = self._estops
        for command in commands:
            if self._estops != estops:
                break  # an emergency stop came in meanwhile: nothing queued before it goes out
            if await self._send(command):
                direction = str(self.governor.direction)
                self._record("setpoint", {**describe_command(command), "direction": direction})
            elif not self.governor.has_control:
                break

    async def _send(self, command: BeltCommand) -> bool:
        try:
            await self._sink.send(command)
        except LinkLostError as exc:
            log.warning("command_link_lost", command=describe_command(command), error=str(exc))
            self.conductor.link_lost(self._clock.now())
            return False
        except ControlPointError as exc:
            log.warning("command_refused", command=describe_command(command), error=str(exc))
            self.conductor.command_failed(
                command, str(exc), self._clock.now(), result_code=exc.result_code
            )
            return False
        return True

    # --- a person ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workout, or resume it. Raises `SafetyError` or `CommandError` when refused."""
        self._input(lambda now_s: self.conductor.start(now_s))

    async def resume(self) -> None:
        """Resume after a pause, a stop on the console, or confirm a turn (same as `start`)."""
        await self.start()

    async def pause(self) -> None:
        """Ramp down and pause; the step's clock stops."""
        self._input(lambda now_s: self.conductor.pause(now_s))

    async def stop(self) -> None:
        """End the workout: ramp down and stop."""
        self._input(lambda now_s: self.conductor.stop(now_s))

    async def skip(self) -> None:
        """Go on to the next step (ramps and turns still apply)."""
        self._input(lambda now_s: self.conductor.skip(now_s))

    async def set_speed(self, speed_kmh: float, direction: Direction | None = None) -> Setpoint:
        """Set the speed (and, in manual mode, the direction: a turn if it changes)."""
        if direction is not None:
            self._input(lambda t: self.conductor.set_direction(direction, t))
        setpoint = self.conductor.set_speed(speed_kmh, self._clock.now())
        self._after_input()
        return setpoint

    async def set_incline(self, incline_pct: float) -> Setpoint:
        """Set the incline."""
        setpoint = self.conductor.set_incline(incline_pct, self._clock.now())
        self._after_input()
        return setpoint

    async def emergency_stop(self) -> None:
        """Stop now: sent at once, ahead of anything queued; latches until a person starts."""
        command = self.conductor.emergency_stop(self._clock.now())
        self._estops += 1
        self._after_input()
        try:
            await self._sink.send(command)
        except TreadctlError as exc:
            log.exception("emergency_stop_not_sent", error=str(exc))
            self._emit(
                RunnerEvent("command_rejected", {**describe_command(command), "error": str(exc)})
            )
        else:
            self._record("setpoint", describe_command(command))

    def _input(self, action: Callable[[float], None]) -> None:
        try:
            action(self._clock.now())
        finally:
            self._after_input()

    def _after_input(self) -> None:
        self._publish()
        self._wakeup.set()

    # --- the daemon feeds in what the treadmill does --------------------------------------

    def feed_telemetry(self, record: ftms.TreadmillData, now_s: float) -> None:
        """A complete Treadmill Data record."""
        self.conductor.telemetry(now_s, record.speed_kmh, record.inclination_pct)
        direction, step = self.governor.direction, self.conductor.step
        self._odometer.feed(record.speed_kmh, direction is Direction.BACKWARD, now_s)
        step_index = step.index if step else None
        self._record("telemetry", telemetry_fields(record, str(direction), step_index))
        self._after_input()

    def feed_machine_status(self, status: ftms.MachineStatus, now_s: float) -> None:
        """A Fitness Machine Status notification (echoes of our own commands filtered out)."""
        op = status.op_code
        if op == _S.STOPPED_OR_PAUSED_BY_USER:
            pause = status.control == ftms.StopPauseControl.PAUSE
            kind = "console_pause" if pause else "console_stop"
        elif op == _S.STOPPED_BY_SAFETY_KEY:
            kind = "safety_key"
        elif op == _S.STARTED_OR_RESUMED_BY_USER:
            kind = "console_start"
        elif op == _S.CONTROL_PERMISSION_LOST:
            kind = "control_lost"
        else:
            return
        self.conductor.machine_status(kind, now_s)
        self._after_input()

    def link_lost(self, now_s: float) -> None:
        """The link dropped (rule 7: the workout pauses)."""
        self.conductor.link_lost(now_s)
        self._after_input()

    def link_restored(
        self, now_s: float, belt_moving: bool, speed_kmh: float | None = None
    ) -> None:
        """The link is back (rule 7: a moving belt is ramped down and paused)."""
        self.conductor.link_restored(now_s, belt_moving, speed_kmh)
        self._after_input()

    # --- events, records -----------------------------------------------------------------

    def _publish(self) -> None:
        for event in self.conductor.take_events():
            self._emit(event)

    def _emit(self, event: RunnerEvent) -> None:
        now_s = self._clock.now()  # when it is published, as the record says
        self._record("event", event.as_dict(), now_s)
        self._notify(event, now_s)

    def _notify(self, event: RunnerEvent, now_s: float) -> None:
        stamped = RunnerEvent(event.kind, {**event.data, "t_s": round(now_s - self._t0_s, 3)})
        log.info("workout_event", kind=event.kind, **event.data)
        for listener in list(self._listeners):
            try:
                listener(stamped)
            except Exception:  # a listener's bug must never stop a workout
                log.exception("workout_listener_failed", kind=event.kind)

    def _record(self, kind: str, data: dict[str, Any], now_s: float | None = None) -> None:
        """Write `kind` stamped with the clock now (or `now_s`, read just before)."""
        if self._records.enabled:
            self._records.write(kind, self._clock.now() if now_s is None else now_s, data)

    def _close(self) -> None:
        """The loop ended: the record gets its summary, and listeners get it as the last event,
        `session_summary` (for MQTT, where events are never dropped)."""
        now_s = self._clock.now()
        odometer = self._odometer
        summary = summary_of(
            self.conductor, now_s - self._t0_s, odometer.backward_s, odometer.distance_m
        )
        self._notify(RunnerEvent("session_summary", self._records.close(now_s, summary)), now_s)
