"""Control-point procedures on one connection, one at a time.

Owns: `ProcedureRunner` — drives `ftms.ControlPointSession`: arms the response waiter before the
write (an early indication is matched, Q11), writes with or without response (Q18), retries a
write refused with ATT 0xFE Procedure Already In Progress (FTMP §4.7), waits for the 0x80 until
the profile's timeout (taken as success where the profile says, Q14), spaces writes by
`min_command_interval_ms` (Q17), and requests control as the profile says (once / before each /
never; best effort on 0x04/0x05, Q14; again after 0xFF or a 0x05 answer). Failed procedures
raise `ControlPointError` with the result code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from treadctl import ftms
from treadctl.ble.gatt import FtmsGatt
from treadctl.ble.quirks import QuirkProfile, RequestControl
from treadctl.ble.tracking import EchoFilter
from treadctl.errors import AttError, BluetoothError, ControlPointError, LinkLostError

log = structlog.get_logger("treadctl.ble")

_Outcome = ftms.Outcome
_REFUSALS = (ftms.ResultCode.OPERATION_FAILED, ftms.ResultCode.CONTROL_NOT_PERMITTED)
ATT_PROCEDURE_ALREADY_IN_PROGRESS = 0xFE
BUSY_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4)  # FTMP 4.7: tolerate 0xFE and keep working
# An emergency stop refused with 0xFE (the answer to the procedure it cut short is still being
# confirmed) is written again within milliseconds; about as long in all as the others.
URGENT_RETRY_DELAYS_S = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)


class Preempted(ControlPointError):
    """An emergency stop took the control point from the procedure in flight."""


class ProcedureRunner:
    """Runs control-point requests for one link. `now` is the link's monotonic clock (s);
    `on_timeout` is called after a genuine timeout (reconnect first, FTMP §4.4.14.3)."""

    def __init__(
        self, profile: QuirkProfile, now: Callable[[], float], on_timeout: Callable[[], None]
    ) -> None:
        self._now = now
        self._on_timeout = on_timeout
        self._gatt: FtmsGatt | None = None
        self._waiter: asyncio.Future[ftms.ProcedureResult] | None = None
        self._last_write_s: float | None = None
        self._control_refused = False  # best-effort Request Control was refused (Q14)
        # Set while an emergency stop waits: nothing else may start, and a write waiting to
        # retry after 0xFE wakes and gives way.
        self._preempted = asyncio.Event()
        self.use_profile(profile)

    def use_profile(self, profile: QuirkProfile) -> None:
        """Start afresh with `profile` (between connections)."""
        self.profile = profile
        self.echo = EchoFilter(profile.echo_window_s)
        self._session = ftms.ControlPointSession(
            timeout_s=profile.indication_timeout_s,
            timeout_is_success=profile.treat_timeout_as_success,
        )

    @property
    def attached(self) -> bool:
        """True while a connection can take writes."""
        return self._gatt is not None

    def attach(self, gatt: FtmsGatt) -> None:
        """A new connection is ready."""
        self._gatt = gatt
        self._control_refused = False

    def detach(self) -> None:
        """The connection is gone: permission lost, a procedure in flight fails."""
        self._gatt = None
        self._session.connection_lost()
        self.echo.reset()
        self._last_write_s = None
        self._fail_waiter(LinkLostError("the link dropped during a procedure"))

    def preempt(self) -> None:
        """An emergency stop goes next: abandon the procedure in flight, start no other."""
        self._preempted.set()
        self._fail_waiter(Preempted("interrupted by an emergency stop", op_code=-1))

    def _fail_waiter(self, error: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def on_response(self, data: bytes) -> None:
        """A control-point indication/notification arrived."""
        try:
            result = self._session.response_received(data)
        except ftms.FTMSDecodeError as exc:
            log.warning("control_point_undecodable", data=data.hex(), error=str(exc))
            return
        if result.outcome is _Outcome.UNMATCHED:
            log.info("control_point_unmatched", data=data.hex())
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(result)

    def on_machine_status(self, status: ftms.MachineStatus) -> None:
        """Control Permission Lost (0xFF) drops control: the next command asks again."""
        self._session.machine_status(status)
        if status.op_code == ftms.MachineStatusOpCode.CONTROL_PERMISSION_LOST:
            self._control_refused = False

    # --- running --------------------------------------------------------------------------

    async def run(self, request: bytes, *, ask_control: bool = True, urgent: bool = False) -> None:
        """One procedure, with Request Control as the profile says; raises when it failed.

        `urgent` marks the emergency stop that `preempt()` made way for.
        """
        if urgent:
            self._preempted.clear()
        policy = self.profile.request_control
        wanted = (policy is RequestControl.BEFORE_EACH and ask_control) or (
            policy is RequestControl.ONCE
            and not self._session.has_control
            and not self._control_refused
        )
        if wanted:
            await self._request_control()
        result = await self._procedure(request, urgent=urgent)
        if (
            _code(result) == ftms.ResultCode.CONTROL_NOT_PERMITTED
            and policy is not RequestControl.NEVER
        ):
            log.info("control_not_permitted_retry", op_code=request[0])
            self._control_refused = False
            await self._request_control()
            result = await self._procedure(request, urgent=urgent)
        _raise_unless_succeeded(result)

    async def _request_control(self) -> None:
        result = await self._procedure(ftms.encode_request_control())
        best_effort = self.profile.request_control_best_effort
        if result.outcome is _Outcome.FAILED and best_effort and _code(result) in _REFUSALS:
            log.info("request_control_refused_best_effort", result_code=_code(result))
            self._control_refused = True
            return
        _raise_unless_succeeded(result)

    async def _procedure(self, request: bytes, *, urgent: bool = False) -> ftms.ProcedureResult:
        """Write one request and wait for its response (or timeout); returns the result."""
        gatt = self._gatt
        if gatt is None:
            raise LinkLostError("the treadmill is not connected")
        await self._space()
        op = request[0]
        if self._preempted.is_set():
            raise Preempted("dropped: an emergency stop goes first", op_code=op)
        self._session.begin(request, self._now())
        waiter: asyncio.Future[ftms.ProcedureResult] = asyncio.get_running_loop().create_future()
        self._waiter = waiter  # armed before the write: an early indication is matched (Q11)
        self.echo.wrote(op)
        try:
            await self._write(gatt, request, urgent=urgent)
            self._session.write_acknowledged(self._now())
            result = await self._await_result(waiter)
        except Preempted:
            self._session.write_failed()  # abandoned: the emergency stop goes next
            raise Preempted("interrupted by an emergency stop", op_code=op) from None
        except asyncio.CancelledError:
            self._session.write_failed()  # the caller gave up: a late answer is just unmatched
            raise
        finally:
            self._waiter = None
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # retrieved, so asyncio does not log it as forgotten
            self.echo.finished(op, self._now())
        _log_result(result)
        return result

    async def _write(self, gatt: FtmsGatt, request: bytes, *, urgent: bool = False) -> None:
        """Write once more after each Procedure Already In Progress (0xFE), then give up. An
        emergency stop retries within milliseconds; any other write waiting to retry gives way
        to one at once (`Preempted`)."""
        delays = URGENT_RETRY_DELAYS_S if urgent else BUSY_RETRY_DELAYS_S
        for delay_s in (*delays, None):
            try:
                await gatt.write_control_point(request)
            except AttError as exc:
                if exc.att_code != ATT_PROCEDURE_ALREADY_IN_PROGRESS or delay_s is None:
                    self._session.write_failed()
                    raise ControlPointError(str(exc), op_code=request[0]) from exc
                log.info("control_point_busy_retry", op_code=request[0], delay_s=delay_s)
            except BluetoothError as exc:
                self._session.write_failed()
                if not gatt.client.is_connected:
                    raise LinkLostError(f"the link dropped: {exc}") from exc
                raise
            else:
                return
            finally:
                self._last_write_s = self._now()
            if not urgent and await self._preempted_within(delay_s):
                raise Preempted("interrupted by an emergency stop", op_code=request[0])

    async def _preempted_within(self, delay_s: float) -> bool:
        """Wait `delay_s`; True as soon as an emergency stop preempts (at once if it has)."""
        try:
            async with asyncio.timeout(delay_s):
                await self._preempted.wait()
        except TimeoutError:
            return self._preempted.is_set()
        return True

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


def _code(result: ftms.ProcedureResult) -> ftms.ResultCode | None:
    return result.response.result_code if result.response is not None else None


def _log_result(result: ftms.ProcedureResult) -> None:
    op = result.request.op_code.name if result.request is not None else "?"
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
