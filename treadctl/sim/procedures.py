"""The virtual treadmill's Fitness Machine Control Point (FTMS v1.0 §4.16; ref/ftms-spec.md §7).

Owns: `ControlPoint.write` — ATT-level refusals (0xFD, 0xFE), permission (0x05), parameter and
range checks (0x03), unsupported procedures (0x02), "already started/stopped" (0x04), the
procedures a treadmill supports (Request Control, Reset, Set Target Speed and Inclination,
Start or Resume, Stop or Pause), the control-point quirks and the forced results of fault tests,
and the order of what is sent: spec order is the 0x80 response, then any status change;
with the Q12 echo the machine notifies Training Status and Machine Status first (CITYSPORTS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from treadctl import ftms
from treadctl.errors import AttError
from treadctl.sim import frames
from treadctl.sim.frames import Notification
from treadctl.sim.state import BeltState, ControlPointWrite

if TYPE_CHECKING:
    from treadctl.sim.model import TreadmillModel

Op = ftms.OpCode
R = ftms.ResultCode
MS = ftms.MachineStatusOpCode
_ATT_INVALID_LENGTH = 0x0D
_EPSILON = 1e-9

# (result code, status changes sent anyway, the Q12 echo of the change)
Outcome = tuple[int | None, list[Notification], list[Notification]]


def _quantise(value: float, step: float) -> float:
    return round(round(value / step) * step, 2)


class ControlPoint:
    """Control-point procedures of one `TreadmillModel`."""

    def __init__(self, model: TreadmillModel) -> None:
        self.m = model

    def write(self, data: bytes, now_s: float) -> list[Notification]:
        """See `TreadmillModel.write_control_point`."""
        m, q = self.m, self.m.quirks
        refusal = self._refusal(data)
        if refusal is not None:
            self._log(now_s, data, None, f"refused: {refusal}")
            raise refusal
        gap = q.min_command_interval_s
        if gap and m._last_write_s is not None and now_s - m._last_write_s < gap:
            self._log(now_s, data, None, "dropped: sooner than min_command_interval_s")
            return []
        m._last_write_s = now_s
        request = ftms.decode_control_point_request(data)
        result, changes, echo = self._dispatch(request, now_s)
        m._previous_op = int(request.op_code)
        if result is None:
            self._log(now_s, data, None, "link dropped")
            return []
        silent = q.no_indications or m._no_indications
        if m._no_indications and not q.no_indications:
            m._link.pending_op = int(request.op_code)
        self._log(now_s, data, None if silent else result, "not indicated" if silent else "")
        reply = [] if silent else [frames.response(int(request.op_code), result, q)]
        if q.status_echo:
            return changes + (echo if result == R.SUCCESS else []) + reply
        return reply + changes

    def _refusal(self, data: bytes) -> AttError | None:
        """The ATT error a write gets before any procedure starts (FTMS §4.16.3), if any."""
        m, q, link = self.m, self.m.quirks, self.m._link
        if not q.no_indications and m.connected is not False:
            needed = 0x01 if q.control_point == "write_nr_notify" else 0x02
            if not link.cccd.get(ftms.CONTROL_POINT_UUID, 0) & needed:
                return AttError("control point CCCD is not configured", att_code=0xFD)
        if link.pending_op is not None:
            return AttError(f"procedure 0x{link.pending_op:02X} is in progress", att_code=0xFE)
        if not data:
            return AttError("empty control point write", att_code=_ATT_INVALID_LENGTH)
        return None

    def _log(self, now_s: float, data: bytes, result: int | None, note: str) -> None:
        code = None if result is None else int(result)
        self.m.writes.append(ControlPointWrite(now_s, bytes(data), code, note))

    def _dispatch(self, req: ftms.ControlPointRequest, now_s: float) -> Outcome:
        m, q = self.m, self.m.quirks
        op = int(req.op_code)
        if op in m.forced_results:
            return m.forced_results[op], [], []
        if op == Op.REQUEST_CONTROL:
            if q.request_control == "fails":
                return R.OPERATION_FAILED, [], []
            m._link.has_control = True
            return R.SUCCESS, [], []
        if not m._link.has_control and q.request_control != "ignored":
            return R.CONTROL_NOT_PERMITTED, [], []
        handler = {
            Op.RESET: self._reset,
            Op.SET_TARGET_SPEED: self._speed,
            Op.SET_TARGET_INCLINATION: self._incline,
            Op.START_OR_RESUME: self._start,
            Op.STOP_OR_PAUSE: self._stop_or_pause,
        }.get(req.op_code)
        if handler is None:
            return R.OP_CODE_NOT_SUPPORTED, [], []
        if not req.parameter_ok:
            return R.INVALID_PARAMETER, [], []
        if op in q.ignored_ops:
            return R.SUCCESS, [], []
        if m._spoil_next:
            m._spoil_next = False
            return R.SUCCESS, [], []
        return handler(req, now_s)

    def _status(self, op: ftms.MachineStatusOpCode, value: object = None) -> list[Notification]:
        return [frames.machine_status(op, self.m.quirks, value)]

    def _reset(self, req: ftms.ControlPointRequest, now_s: float) -> Outcome:
        changes = self.m.reset(now_s, "control_point")
        self.m._link.has_control = False  # Reset releases control (FTMS §4.16.2.1)
        return R.SUCCESS, changes, self._status(MS.RESET)

    def _speed(self, req: ftms.ControlPointRequest, now_s: float) -> Outcome:
        m, q, c = self.m, self.m.quirks, self.m.config
        wire = req.speed_kmh or 0.0
        started = m._last_start_cp_s
        early = started is not None and now_s - started < q.crash_on_early_speed_s
        if q.crash_on_early_speed_s and early:
            m.link_drop_requested = True  # KingSmith: 07 then 02 too soon kills the link
            return None, [], []
        if q.start_before_speed and m._previous_op != Op.START_OR_RESUME:
            return R.OPERATION_FAILED, [], []
        kmh = wire * frames.KMH_PER_MPH if q.target_speed_mph else wire
        kmh = _quantise(kmh, c.speed_increment_kmh)
        if not c.speed_min_kmh - _EPSILON <= kmh <= c.speed_max_kmh + _EPSILON:
            return R.INVALID_PARAMETER, [], []
        m.set_target_speed(kmh, now_s, "control_point")
        return R.SUCCESS, [], self._status(MS.TARGET_SPEED_CHANGED, wire)

    def _incline(self, req: ftms.ControlPointRequest, now_s: float) -> Outcome:
        m, c = self.m, self.m.config
        wire = req.incline_pct or 0.0
        pct = _quantise(frames.incline_in(wire, m.quirks), c.incline_increment_pct)
        if not c.incline_min_pct - _EPSILON <= pct <= c.incline_max_pct + _EPSILON:
            return R.INVALID_PARAMETER, [], []
        m.set_target_incline(pct, "control_point")
        return R.SUCCESS, [], self._status(MS.TARGET_INCLINE_CHANGED, wire)

    def _start(self, req: ftms.ControlPointRequest, now_s: float) -> Outcome:
        m, q = self.m, self.m.quirks
        echo = self._status(MS.STARTED_OR_RESUMED_BY_USER)
        if not m.safety_key_in:
            return R.OPERATION_FAILED, [], []
        if m.state in (BeltState.RUNNING, BeltState.STARTING):
            if q.start_while_running_spoils_next:
                m._spoil_next = True
                return R.SUCCESS, [], echo
            if q.start_before_speed or q.request_control == "ignored":
                return R.SUCCESS, [], echo  # Q13/Q17: a repeated Start is accepted
            return R.OPERATION_FAILED, [], []
        m._last_start_cp_s = now_s
        return R.SUCCESS, m.start(now_s, "control_point"), echo

    def _stop_or_pause(self, req: ftms.ControlPointRequest, now_s: float) -> Outcome:
        m, q = self.m, self.m.quirks
        control = req.control
        if control == ftms.StopPauseControl.STOP:
            if m.state in (BeltState.IDLE, BeltState.STOPPED):
                return R.OPERATION_FAILED, [], []
            changes = m.stop(now_s, "control_point")
            failed = q.stop_fail_probability > 0 and m._rng.random() < q.stop_fail_probability
            echo = self._status(MS.STOPPED_OR_PAUSED_BY_USER, control)
            return (R.OPERATION_FAILED if failed else R.SUCCESS), changes, echo
        if control == ftms.StopPauseControl.PAUSE:
            if m.state not in (BeltState.RUNNING, BeltState.STARTING):
                return R.OPERATION_FAILED, [], []
            changes = m.pause(now_s, "control_point")
            return R.SUCCESS, changes, self._status(MS.STOPPED_OR_PAUSED_BY_USER, control)
        return R.INVALID_PARAMETER, [], []
