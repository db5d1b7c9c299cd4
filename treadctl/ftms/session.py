"""Control Point procedure state, sans I/O (FTMS v1.0 §4.16; FTMP §4.4.14; Q11, Q14).

Owns: `ControlPointSession` — who holds control permission, which procedure is in flight, and
when it has timed out. It reads no clock: methods that need time take `now_s` (any monotonic
seconds). The BLE layer drives it:

    request = session.begin(encode_set_target_speed(3.0), now_s)   # raises if one is in flight
    write the octets (with response); on an ATT error: session.write_failed()
    session.write_acknowledged(now_s)                               # starts the timeout
    indication → result = session.response_received(data)           # may come before the ack
    every tick  → result = session.check_timeout(now_s)
    link lost   → session.connection_lost()

A procedure is in flight from `begin()` until its 0x80 response has arrived *and* its write has
been acknowledged (either order, Q11), or until it fails, times out or the link drops. Results
are returned, never raised: an unmatched or unsolicited response is reported as UNMATCHED.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from treadctl.errors import ControlPointError, ProcedureTimeoutError
from treadctl.ftms.control_point import (
    ControlPointRequest,
    ControlPointResponse,
    OpCode,
    ResultCode,
    decode_control_point_request,
    decode_control_point_response,
)
from treadctl.ftms.status import MachineStatus, MachineStatusOpCode

DEFAULT_TIMEOUT_S = 30.0  # FTMP §4.4.14.3: the ATT transaction timeout


class Outcome(enum.Enum):
    """How a procedure ended (or what an incoming response was)."""

    SUCCEEDED = "succeeded"  # matching response with result Success
    FAILED = "failed"  # matching response with another result code
    TIMED_OUT = "timed_out"  # no response within timeout_s of the write response
    ASSUMED_SUCCEEDED = "assumed_succeeded"  # timed out, and the session treats that as success
    LINK_LOST = "link_lost"  # the link dropped while the procedure was in flight
    UNMATCHED = "unmatched"  # a response that answers no procedure in flight


@dataclass(frozen=True, slots=True)
class ProcedureResult:
    """What happened to a procedure (`request`) or to an incoming `response`."""

    outcome: Outcome
    request: ControlPointRequest | None
    response: ControlPointResponse | None = None

    @property
    def succeeded(self) -> bool:
        """True for SUCCEEDED and ASSUMED_SUCCEEDED."""
        return self.outcome in (Outcome.SUCCEEDED, Outcome.ASSUMED_SUCCEEDED)

    def error(self) -> ControlPointError | None:
        """The exception describing a failed procedure (to raise or log), None otherwise."""
        if self.succeeded or self.outcome is Outcome.UNMATCHED or self.request is None:
            return None
        op = self.request.op_code
        if self.outcome is Outcome.FAILED and self.response is not None:
            code = self.response.result_code
            return ControlPointError(
                f"{op.name} failed: {code.name} (0x{int(code):02X})",
                op_code=int(op),
                result_code=int(code),
            )
        if self.outcome is Outcome.TIMED_OUT:
            return ProcedureTimeoutError(f"{op.name}: no response in time", op_code=int(op))
        return ControlPointError(f"{op.name}: link lost before the response", op_code=int(op))


class ControlPointSession:
    """Control permission and the one procedure in flight.

    `timeout_s` (default 30 s) runs from the write response. After a genuine timeout no new
    procedure may start until `connection_lost()` (FTMP §4.4.14.3: reconnect first), unless
    `timeout_is_success` is set for devices that never indicate (Q14, Q15).

    Permission is tracked, not enforced: `begin()` accepts any procedure, because some devices
    must be driven without it (Q13, Q14); callers check `has_control` per their quirk profile.
    Raises `ValueError` for a `timeout_s` that is not > 0.
    """

    def __init__(
        self, *, timeout_s: float = DEFAULT_TIMEOUT_S, timeout_is_success: bool = False
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.timeout_s = timeout_s
        self.timeout_is_success = timeout_is_success
        self._has_control = False
        self._blocked = False
        self._request: ControlPointRequest | None = None
        self._acked_at_s: float | None = None
        self._answered = False
        self._begun_at_s: float | None = None

    @property
    def has_control(self) -> bool:
        """True after a successful Request Control, until Reset, 0xFF status or link loss."""
        return self._has_control

    @property
    def in_flight(self) -> ControlPointRequest | None:
        """The procedure in flight, if any."""
        return self._request

    @property
    def blocked(self) -> bool:
        """True after a genuine timeout: reconnect (`connection_lost()`) before the next write."""
        return self._blocked

    @property
    def begun_at_s(self) -> float | None:
        """The `now_s` passed to `begin()` for the procedure in flight."""
        return self._begun_at_s if self._request is not None else None

    @property
    def deadline_s(self) -> float | None:
        """When the procedure in flight times out (None before its write is acknowledged)."""
        if self._request is None or self._acked_at_s is None or self._answered:
            return None
        return self._acked_at_s + self.timeout_s

    def begin(self, request: ControlPointRequest | bytes, now_s: float) -> ControlPointRequest:
        """Register the procedure about to be written; returns it decoded.

        Raises `ControlPointError` when a procedure is already in flight or the session is
        blocked by an earlier timeout, and `FTMSDecodeError` for empty octets.
        """
        if isinstance(request, bytes | bytearray | memoryview):
            request = decode_control_point_request(bytes(request))
        op = int(request.op_code)
        if self._blocked:
            raise ControlPointError(
                f"{request.op_code.name}: an earlier procedure timed out; reconnect before "
                "writing to the control point again (FTMP 4.4.14.3)",
                op_code=op,
            )
        if self._request is not None:
            raise ControlPointError(
                f"{request.op_code.name}: {self._request.op_code.name} is still in flight",
                op_code=op,
            )
        self._request, self._acked_at_s, self._answered = request, None, False
        self._begun_at_s = now_s  # kept for latency reports; the timeout starts at the ack
        return request

    def write_acknowledged(self, now_s: float) -> None:
        """The ATT Write Response arrived: start the timeout (or finish an early-answered one)."""
        if self._request is None or self._acked_at_s is not None:
            return
        if self._answered:
            self._clear()
        else:
            self._acked_at_s = now_s

    def write_failed(self) -> None:
        """The write failed at ATT level (e.g. 0xFE in progress): no procedure was started."""
        self._clear()

    def response_received(self, response: ControlPointResponse | bytes) -> ProcedureResult:
        """Match a 0x80 indication to the procedure in flight by its request op code.

        Raises `FTMSDecodeError` only for octets that are not a response at all.
        """
        if isinstance(response, bytes | bytearray | memoryview):
            response = decode_control_point_response(bytes(response))
        request = self._request
        if request is None or self._answered or response.request_op_code != request.op_code:
            return ProcedureResult(Outcome.UNMATCHED, None, response)
        self._answered = True
        if self._acked_at_s is not None:
            self._clear()
        ok = response.result_code == ResultCode.SUCCESS
        self._permission_after(request.op_code, response.result_code, ok)
        return ProcedureResult(Outcome.SUCCEEDED if ok else Outcome.FAILED, request, response)

    def check_timeout(self, now_s: float) -> ProcedureResult | None:
        """TIMED_OUT (or ASSUMED_SUCCEEDED) once `now_s` reaches the deadline; else None."""
        deadline = self.deadline_s
        if deadline is None or now_s < deadline:
            return None
        request = self._request
        if request is None:  # unreachable: a deadline implies a procedure in flight
            return None
        self._clear()
        if self.timeout_is_success:
            self._permission_after(request.op_code, ResultCode.SUCCESS, True)
            return ProcedureResult(Outcome.ASSUMED_SUCCEEDED, request)
        self._blocked = True
        return ProcedureResult(Outcome.TIMED_OUT, request)

    def machine_status(self, status: MachineStatus) -> None:
        """Feed every Fitness Machine Status: 0xFF Control Permission Lost drops control."""
        if status.op_code == MachineStatusOpCode.CONTROL_PERMISSION_LOST:
            self._has_control = False

    def connection_lost(self) -> ProcedureResult | None:
        """The link dropped: control is gone, a procedure in flight fails, a block is lifted."""
        request = self._request
        answered = self._answered
        self._clear()
        self._has_control = False
        self._blocked = False
        if request is None or answered:
            return None
        return ProcedureResult(Outcome.LINK_LOST, request)

    def _clear(self) -> None:
        self._request, self._acked_at_s, self._answered = None, None, False

    def _permission_after(self, op_code: OpCode, result: ResultCode, ok: bool) -> None:
        if ok and op_code == OpCode.REQUEST_CONTROL:
            self._has_control = True
        elif (ok and op_code == OpCode.RESET) or result == ResultCode.CONTROL_NOT_PERMITTED:
            self._has_control = False
