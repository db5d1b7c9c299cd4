"""Control-point procedures for the governor's commands, on one treadmill link.

Owns: `ControlChannel` — turns each `BeltCommand` into FTMS procedures the way the quirk profile
says (Request Control once / before each / never, Start before speed only while a person-started
session runs, wait for a moving belt after Start, mph and incline scales, minimum target speed),
runs them one at a time through `ftms.ControlPointSession` (the response waiter is armed before
the write, so an early indication is matched, Q11), spaces writes by `min_command_interval_ms`,
maps result codes to `ControlPointError`, and lets an emergency stop jump the queue. It never
sends anything on its own: only `send()` writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from treadctl import ftms
from treadctl.ble.gatt import FtmsGatt
from treadctl.ble.quirks import QuirkProfile, RequestControl
from treadctl.ble.tracking import BeltMotion, EchoFilter
from treadctl.errors import AttError, BluetoothError, ControlPointError, LinkLostError
from treadctl.safety import BeltCommand, InclineCommand, SpeedCommand, StartCommand, StopCommand

log = structlog.get_logger("treadctl.ble")

_Outcome = ftms.Outcome
_REFUSALS = (ftms.ResultCode.OPERATION_FAILED, ftms.ResultCode.CONTROL_NOT_PERMITTED)
ATT_PROCEDURE_ALREADY_IN_PROGRESS = 0xFE
BUSY_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4)  # FTMP 4.7: tolerate 0xFE and keep working


class _Preempted(Exception):
    """An emergency stop took over the control point from the procedure in flight."""


class ControlChannel:
    """Runs `BeltCommand`s as control-point procedures; one instance per `TreadmillLink`.

    `now` is the link's monotonic clock (seconds); `on_timeout` is called after a genuine
    procedure timeout (the link must reconnect before the next write, FTMP §4.4.14.3).
    """

    def __init__(
        self,
        profile: QuirkProfile,
        belt: BeltMotion,
        now: Callable[[], float],
        on_timeout: Callable[[], None],
    ) -> None:
        self.profile = profile
        self.echo = EchoFilter(profile.echo_window_s)
        self._belt = belt
        self._now = now
        self._on_timeout = on_timeout
        self._session = self._new_session()
        self._gatt: FtmsGatt | None = None
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[ftms.ProcedureResult] | None = None
        self._last_write_s: float | None = None
        self._emergencies = 0  # emergency stops asked for; commands queued before one drop
        self._started = False  # a person started the session (our Start or the console's)
        self._control_refused = False  # best-effort Request Control was refused (Q14)
        self._moving = asyncio.Event()

    def _new_session(self) -> ftms.ControlPointSession:
        return ftms.ControlPointSession(
            timeout_s=self.profile.indication_timeout_s,
            timeout_is_success=self.profile.treat_timeout_as_success,
        )

    # --- the link tells the channel what happens ---------------------------------------------

    def attach(self, gatt: FtmsGatt, *, belt_moving: bool) -> None:
        """A new connection is ready; `belt_moving` says whether a session is under way."""
        self._gatt = gatt
        self._started = belt_moving  # a moving belt was started by a person before the drop
        self._control_refused = False

    def detach(self) -> None:
        """The connection is gone: permission lost, a procedure in flight fails."""
        self._gatt = None
        self._session.connection_lost()
        self.echo.reset()
        self._last_write_s = None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(LinkLostError("the link dropped during a procedure"))

    def set_profile(self, profile: QuirkProfile) -> None:
        """Use another profile (chosen after reading Device Information); only while detached."""
        self.profile = profile
        self.echo = EchoFilter(profile.echo_window_s)
        self._session = self._new_session()

    def on_response(self, data: bytes) -> None:
        """A control-point indication/notification arrived (called by the link's dispatcher)."""
        try:
            result = self._session.response_received(data)
        except ftms.FTMSDecodeError as exc:
            log.warning("control_point_undecodable", data=data.hex(), error=str(exc))
            return
        if result.outcome is _Outcome.UNMATCHED:
            log.info("control_point_unmatched", data=data.hex())
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(result)

    def on_machine_status(self, status: ftms.MachineStatus, *, echo: bool) -> None:
        """Track permission and who started or stopped the session."""
        self._session.machine_status(status)
        op = status.op_code
        if op == ftms.MachineStatusOpCode.CONTROL_PERMISSION_LOST:
            self._control_refused = False
        elif not echo and op == ftms.MachineStatusOpCode.STARTED_OR_RESUMED_BY_USER:
            self._started = True
            self._moving.clear()
        elif not echo and op in (
            ftms.MachineStatusOpCode.STOPPED_OR_PAUSED_BY_USER,
            ftms.MachineStatusOpCode.STOPPED_BY_SAFETY_KEY,
        ):
            self._started = False

    def on_speed(self, speed_kmh: float | None) -> None:
        """A reported belt speed (real km/h) from telemetry."""
        if speed_kmh is not None and speed_kmh > 0:
            self._moving.set()

    # --- commands ---------------------------------------------------------------------------

    async def send(self, command: BeltCommand) -> None:
        """Run one governor command; returns when the treadmill accepted it.

        Raises `LinkLostError` (not connected, or the link dropped), `ControlPointError` with
        `result_code` (refused), `ProcedureTimeoutError` (no answer: the link reconnects).
        """
        if self._gatt is None:
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
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(_Preempted())
        async with self._lock:
            log.warning("emergency_stop_sent")
            await self._with_control(ftms.encode_stop_or_pause(ftms.StopPauseControl.STOP))
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
            await self._with_control(ftms.encode_set_target_inclination(wire))
        elif isinstance(command, StartCommand):
            self._moving.clear()
            await self._with_control(ftms.encode_start_or_resume())
            self._started = True
        else:
            control = ftms.StopPauseControl.PAUSE if command.pause else ftms.StopPauseControl.STOP
            await self._with_control(ftms.encode_stop_or_pause(control))
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
            await self._with_control(ftms.encode_start_or_resume())
        wire = self.profile.target_speed_to_wire(speed_kmh)
        await self._with_control(ftms.encode_set_target_speed(wire), ask_control=not start_first)

    # --- procedures ---------------------------------------------------------------------------

    async def _with_control(self, request: bytes, *, ask_control: bool = True) -> None:
        """One procedure, with Request Control as the profile says; raises when it failed."""
        policy = self.profile.request_control
        wanted = (policy is RequestControl.BEFORE_EACH and ask_control) or (
            policy is RequestControl.ONCE
            and not self._session.has_control
            and not self._control_refused
        )
        if wanted:
            await self._request_control()
        result = await self._procedure(request)
        code = result.response.result_code if result.response is not None else None
        if code == ftms.ResultCode.CONTROL_NOT_PERMITTED and policy is not RequestControl.NEVER:
            log.info("control_not_permitted_retry", op_code=request[0])
            self._control_refused = False
            await self._request_control()
            result = await self._procedure(request)
        _raise_unless_succeeded(result)

    async def _request_control(self) -> None:
        result = await self._procedure(ftms.encode_request_control())
        code = result.response.result_code if result.response is not None else None
        best_effort = self.profile.request_control_best_effort
        if result.outcome is _Outcome.FAILED and best_effort and code in _REFUSALS:
            log.info("request_control_refused_best_effort", result_code=code)
            self._control_refused = True
            return
        _raise_unless_succeeded(result)

    async def _procedure(self, request: bytes) -> ftms.ProcedureResult:
        """Write one request and wait for its response (or timeout); returns the result."""
        gatt = self._gatt
        if gatt is None:
            raise LinkLostError("the treadmill is not connected")
        await self._space()
        op = request[0]
        self._session.begin(request, self._now())
        waiter: asyncio.Future[ftms.ProcedureResult] = asyncio.get_running_loop().create_future()
        self._waiter = waiter  # armed before the write: an early indication is matched (Q11)
        self.echo.wrote(op)
        try:
            await self._write(gatt, request)
            self._session.write_acknowledged(self._now())
            result = await self._await_result(waiter)
        except _Preempted:
            self._session.write_failed()  # abandon it: the emergency stop goes next
            raise ControlPointError("interrupted by an emergency stop", op_code=op) from None
        finally:
            self._waiter = None
            self.echo.finished(op, self._now())
        self._log_result(result)
        return result

    async def _write(self, gatt: FtmsGatt, request: bytes) -> None:
        """Write once more after each Procedure Already In Progress (0xFE), then give up."""
        for delay_s in (*BUSY_RETRY_DELAYS_S, None):
            try:
                await gatt.write_control_point(request)
            except AttError as exc:
                if exc.att_code != ATT_PROCEDURE_ALREADY_IN_PROGRESS or delay_s is None:
                    self._session.write_failed()
                    raise ControlPointError(str(exc), op_code=request[0]) from exc
                log.info("control_point_busy_retry", op_code=request[0], delay_s=delay_s)
                await asyncio.sleep(delay_s)
            except BluetoothError as exc:
                self._session.write_failed()
                if not gatt.client.is_connected:
                    raise LinkLostError(f"the link dropped: {exc}") from exc
                raise
            else:
                return
            finally:
                self._last_write_s = self._now()

    async def _await_result(
        self, waiter: asyncio.Future[ftms.ProcedureResult]
    ) -> ftms.ProcedureResult:
        while not waiter.done():
            deadline = self._session.deadline_s
            remaining = 0.0 if deadline is None else max(0.0, deadline - self._now())
            try:
                async with asyncio.timeout(remaining):
                    return await asyncio.shield(waiter)
            except TimeoutError:
                result = self._session.check_timeout(self._now())
                if result is not None:
                    if result.outcome is _Outcome.TIMED_OUT:
                        self._gatt = None  # no more writes on this link (FTMP 4.4.14.3)
                        self._on_timeout()
                    return result
        return waiter.result()

    async def _space(self) -> None:
        interval_s = self.profile.min_command_interval_ms / 1000
        if self._last_write_s is not None and interval_s > 0:
            wait_s = self._last_write_s + interval_s - self._now()
            if wait_s > 0:
                await asyncio.sleep(wait_s)

    def _log_result(self, result: ftms.ProcedureResult) -> None:
        request = result.request
        op = request.op_code.name if request is not None else "?"
        if result.outcome is _Outcome.SUCCEEDED:
            log.debug("control_point_succeeded", op=op)
        elif result.outcome is _Outcome.ASSUMED_SUCCEEDED:
            log.info("control_point_no_answer_assumed_success", op=op)
        else:
            log.warning("control_point_failed", op=op, outcome=result.outcome.value)


def _raise_unless_succeeded(result: ftms.ProcedureResult) -> None:
    if result.succeeded:
        return
    error = result.error()
    if result.outcome is _Outcome.LINK_LOST:
        raise LinkLostError(str(error) if error else "the link dropped during a procedure")
    if error is not None:
        raise error


def _op_of(command: BeltCommand) -> int:
    if isinstance(command, SpeedCommand):
        return int(ftms.OpCode.SET_TARGET_SPEED)
    if isinstance(command, InclineCommand):
        return int(ftms.OpCode.SET_TARGET_INCLINATION)
    if isinstance(command, StartCommand):
        return int(ftms.OpCode.START_OR_RESUME)
    return int(ftms.OpCode.STOP_OR_PAUSE)
