"""The governor's commands as control-point procedures, the way each treadmill needs them.

Owns: `ControlChannel` — turns each `BeltCommand` into FTMS requests per the quirk profile
(Start before a speed only while a person-started session runs and the belt moves, Q17 and
DESIGN §2 rule 4; hold speeds after Start until the belt moves, Q17; minimum target speed, mph
and incline scales, Q4/Q3) and runs them one at a time through `ProcedureRunner`. An emergency
stop jumps the queue: the procedure in flight is abandoned and commands queued before it are
dropped, never sent after it. Nothing is ever sent except through `send()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from treadctl import ftms
from treadctl.ble.gatt import FtmsGatt
from treadctl.ble.procedures import ProcedureRunner
from treadctl.ble.quirks import QuirkProfile
from treadctl.ble.tracking import BeltMotion, EchoFilter
from treadctl.errors import ControlPointError, LinkLostError
from treadctl.safety import BeltCommand, InclineCommand, SpeedCommand, StartCommand, StopCommand

log = structlog.get_logger("treadctl.ble")
_S = ftms.MachineStatusOpCode


class ControlChannel:
    """Runs `BeltCommand`s on one `TreadmillLink`; `now` and `on_timeout` as `ProcedureRunner`."""

    def __init__(
        self,
        profile: QuirkProfile,
        belt: BeltMotion,
        now: Callable[[], float],
        on_timeout: Callable[[], None],
    ) -> None:
        self._runner = ProcedureRunner(profile, now, on_timeout)
        self._belt = belt
        self._now = now
        self._lock = asyncio.Lock()
        self._emergencies = 0  # emergency stops asked for; commands queued before one drop
        self._started = False  # a person started the session (our Start or the console's)
        self._moving = asyncio.Event()

    @property
    def profile(self) -> QuirkProfile:
        """The profile in use."""
        return self._runner.profile

    @property
    def echo(self) -> EchoFilter:
        """Which status notifications echo our own writes (Q12)."""
        return self._runner.echo

    # --- the link tells the channel what happens ---------------------------------------------

    def set_profile(self, profile: QuirkProfile) -> None:
        """Use another profile (chosen after reading Device Information); only while detached."""
        self._runner.use_profile(profile)

    def attach(self, gatt: FtmsGatt, *, belt_moving: bool) -> None:
        """A new connection is ready; `belt_moving` says whether a session is under way."""
        self._runner.attach(gatt)
        self._started = belt_moving  # a moving belt was started by a person before the drop

    def detach(self) -> None:
        """The connection is gone."""
        self._runner.detach()

    def on_response(self, data: bytes) -> None:
        """A control-point indication/notification arrived."""
        self._runner.on_response(data)

    def on_machine_status(self, status: ftms.MachineStatus, *, echo: bool) -> None:
        """Track permission and who started or stopped the session (echoes do not count)."""
        self._runner.on_machine_status(status)
        if echo:
            return
        if status.op_code == _S.STARTED_OR_RESUMED_BY_USER:
            self._started = True
            self._moving.clear()
        elif status.op_code in (_S.STOPPED_OR_PAUSED_BY_USER, _S.STOPPED_BY_SAFETY_KEY):
            self._started = False

    def on_speed(self, speed_kmh: float | None) -> None:
        """A reported belt speed (real km/h) from telemetry."""
        if speed_kmh is not None and speed_kmh > 0:
            self._moving.set()

    # --- commands ---------------------------------------------------------------------------

    async def send(self, command: BeltCommand) -> None:
        """Run one governor command; returns when the treadmill accepted it.

        Raises `LinkLostError` (not connected, or the link dropped), `ControlPointError` with
        `result_code` (refused, or dropped by an emergency stop), `ProcedureTimeoutError`
        (no answer: the link reconnects).
        """
        if not self._runner.attached:
            raise LinkLostError("the treadmill is not connected")
        if isinstance(command, StopCommand) and command.emergency:
            await self._emergency_stop()
            return
        epoch = self._emergencies
        if isinstance(command, SpeedCommand):
            await self._wait_for_belt(command)
        async with self._lock:
            if self._emergencies != epoch:
                raise ControlPointError(
                    "dropped: an emergency stop was sent after this command was queued",
                    op_code=_op_of(command),
                )
            await self._run(command)

    async def _emergency_stop(self) -> None:
        self._emergencies += 1
        self._runner.preempt()
        async with self._lock:
            log.warning("emergency_stop_sent")
            stop = ftms.encode_stop_or_pause(ftms.StopPauseControl.STOP)
            await self._runner.run(stop, urgent=True)
            self._started = False

    async def _wait_for_belt(self, command: SpeedCommand) -> None:
        """After Start, hold speed commands until the belt moves (KingSmith, FR30z; Q17)."""
        if not (self.profile.wait_for_belt_moving and self._started) or self._moving.is_set():
            return
        timeout_s = self.profile.belt_moving_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                await self._moving.wait()
        except TimeoutError:
            raise ControlPointError(
                f"the belt did not start moving within {timeout_s:g} s after Start "
                f"(speed {command.speed_kmh:g} km/h not sent; does it need Start on the console?)",
                op_code=int(ftms.OpCode.SET_TARGET_SPEED),
            ) from None

    async def _run(self, command: BeltCommand) -> None:
        if isinstance(command, SpeedCommand):
            await self._set_speed(command.speed_kmh)
        elif isinstance(command, InclineCommand):
            wire = self.profile.target_incline_to_wire(command.incline_pct)
            await self._runner.run(ftms.encode_set_target_inclination(wire))
        elif isinstance(command, StartCommand):
            self._moving.clear()
            await self._runner.run(ftms.encode_start_or_resume())
            self._started = True
        else:
            control = ftms.StopPauseControl.PAUSE if command.pause else ftms.StopPauseControl.STOP
            await self._runner.run(ftms.encode_stop_or_pause(control))
            self._started = False

    async def _set_speed(self, speed_kmh: float) -> None:
        minimum = self.profile.min_target_speed_kmh
        if 0 < speed_kmh < minimum:
            raise ControlPointError(
                f"{speed_kmh:g} km/h is below this treadmill's lowest target speed "
                f"{minimum:g} km/h",
                op_code=int(ftms.OpCode.SET_TARGET_SPEED),
            )
        start_first = (
            self.profile.start_before_speed and self._started and self._belt.moving(self._now())
        )
        if start_first:
            # Technogym MyRun (Q17): Request Control, Start/Resume, then the speed — only while
            # a person-started session runs and the belt moves: never starts a stopped belt.
            await self._runner.run(ftms.encode_start_or_resume())
        wire = self.profile.target_speed_to_wire(speed_kmh)
        await self._runner.run(ftms.encode_set_target_speed(wire), ask_control=not start_first)


def _op_of(command: BeltCommand) -> int:
    if isinstance(command, SpeedCommand):
        return int(ftms.OpCode.SET_TARGET_SPEED)
    if isinstance(command, InclineCommand):
        return int(ftms.OpCode.SET_TARGET_INCLINATION)
    if isinstance(command, StartCommand):
        return int(ftms.OpCode.START_OR_RESUME)
    return int(ftms.OpCode.STOP_OR_PAUSE)
