"""ControlPointSession: one procedure in flight, early responses, timeouts, permission."""

from __future__ import annotations

import pytest

from treadctl import ftms
from treadctl.errors import ControlPointError, ProcedureTimeoutError

Outcome = ftms.Outcome


def _granted(session: ftms.ControlPointSession, now_s: float = 0.0) -> None:
    session.begin(b"\x00", now_s)
    session.write_acknowledged(now_s)
    assert session.response_received(b"\x80\x00\x01").outcome is Outcome.SUCCEEDED


def test_request_control_success_grants_permission() -> None:
    """Write → write response → `80 00 01`: control is held and nothing is in flight."""
    session = ftms.ControlPointSession()
    assert not session.has_control
    _granted(session)
    assert session.has_control
    assert session.in_flight is None


def test_response_before_write_response_is_matched() -> None:
    """Q11: the indication may beat the ATT Write Response; it still completes the procedure."""
    session = ftms.ControlPointSession()
    request = session.begin(b"\x08\x01", 0.0)
    session.machine_status(ftms.decode_machine_status(b"\x02\x01"))  # echo of our own stop (Q12)
    result = session.response_received(b"\x80\x08\x01")
    assert result == ftms.ProcedureResult(
        Outcome.SUCCEEDED, request, ftms.decode_control_point_response(b"\x80\x08\x01")
    )
    assert session.in_flight == request, "still in flight until the write is acknowledged"
    with pytest.raises(ControlPointError):
        session.begin(b"\x07", 0.01)
    session.write_acknowledged(0.02)
    assert session.in_flight is None
    assert session.check_timeout(100.0) is None
    session.begin(b"\x07", 0.03)


def test_second_procedure_while_one_is_in_flight_raises() -> None:
    """Only one procedure at a time; the error names the refused op code."""
    session = ftms.ControlPointSession()
    session.begin(ftms.encode_set_target_speed(3.0), 0.0)
    with pytest.raises(ControlPointError) as caught:
        session.begin(ftms.encode_start_or_resume(), 0.1)
    assert caught.value.op_code == 0x07
    assert caught.value.result_code is None
    assert "SET_TARGET_SPEED" in str(caught.value)


def test_timeout_runs_from_the_write_response() -> None:
    """30 s after the write response (not the begin) the procedure times out."""
    session = ftms.ControlPointSession()
    request = session.begin(b"\x07", 0.0)
    assert session.deadline_s is None
    assert session.check_timeout(1000.0) is None, "no timer before the write response"
    session.write_acknowledged(10.0)
    assert session.deadline_s == 40.0
    assert session.check_timeout(39.999) is None
    result = session.check_timeout(40.0)
    assert result == ftms.ProcedureResult(Outcome.TIMED_OUT, request)
    assert isinstance(result.error(), ProcedureTimeoutError)
    assert session.in_flight is None


def test_after_a_genuine_timeout_no_procedure_starts_until_reconnect() -> None:
    """FTMP §4.4.14.3: after a timeout the control point is closed until a new link."""
    session = ftms.ControlPointSession(timeout_s=5.0)
    session.begin(b"\x07", 0.0)
    session.write_acknowledged(0.0)
    session.check_timeout(5.0)
    assert session.blocked
    with pytest.raises(ControlPointError) as caught:
        session.begin(b"\x08\x01", 6.0)
    assert "reconnect" in str(caught.value)
    assert session.connection_lost() is None
    assert not session.blocked
    session.begin(b"\x08\x01", 7.0)


def test_timeout_treated_as_success_for_devices_that_never_indicate() -> None:
    """Q14: with timeout_is_success a silent device's procedure counts as done, nothing blocks."""
    session = ftms.ControlPointSession(timeout_s=1.0, timeout_is_success=True)
    session.begin(b"\x00", 0.0)
    session.write_acknowledged(0.5)
    result = session.check_timeout(1.5)
    assert result is not None
    assert result.outcome is Outcome.ASSUMED_SUCCEEDED
    assert result.succeeded
    assert result.error() is None
    assert session.has_control
    assert not session.blocked
    session.begin(b"\x07", 2.0)


def test_unsolicited_response_is_reported_not_raised() -> None:
    """A response with nothing in flight comes back as UNMATCHED."""
    session = ftms.ControlPointSession()
    result = session.response_received(b"\x80\x07\x01")
    assert result.outcome is Outcome.UNMATCHED
    assert result.request is None
    assert result.error() is None


def test_response_for_another_op_code_leaves_the_procedure_waiting() -> None:
    """A mismatched response is UNMATCHED; the real one still completes the procedure."""
    session = ftms.ControlPointSession()
    request = session.begin(b"\x02\x2c\x01", 0.0)
    session.write_acknowledged(0.0)
    assert session.response_received(b"\x80\x07\x01").outcome is Outcome.UNMATCHED
    assert session.in_flight == request
    assert session.response_received(b"\x80\x02\x01").outcome is Outcome.SUCCEEDED
    assert session.response_received(b"\x80\x02\x01").outcome is Outcome.UNMATCHED


def test_failed_result_is_reported_with_its_code() -> None:
    """`80 00 04` (Q14) is FAILED; its error carries op and result codes."""
    session = ftms.ControlPointSession()
    session.begin(b"\x00", 0.0)
    session.write_acknowledged(0.0)
    result = session.response_received(b"\x80\x00\x04")
    assert result.outcome is Outcome.FAILED
    error = result.error()
    assert isinstance(error, ControlPointError)
    assert (error.op_code, error.result_code) == (0x00, 0x04)
    assert "OPERATION_FAILED" in str(error)
    assert not session.has_control


def test_control_permission_lost_status_drops_control() -> None:
    """Machine Status 0xFF ends control permission."""
    session = ftms.ControlPointSession()
    _granted(session)
    session.machine_status(ftms.decode_machine_status(b"\x04"))
    assert session.has_control
    session.machine_status(ftms.decode_machine_status(b"\xff"))
    assert not session.has_control


def test_successful_reset_releases_control() -> None:
    """The client's own Reset releases control (FTMS v1.0 §4.16.2.1)."""
    session = ftms.ControlPointSession()
    _granted(session)
    session.begin(ftms.encode_reset(), 1.0)
    session.write_acknowledged(1.0)
    session.response_received(b"\x80\x01\x01")
    assert not session.has_control


def test_control_not_permitted_result_drops_control() -> None:
    """A 0x05 answer means the server does not consider us in control."""
    session = ftms.ControlPointSession()
    _granted(session)
    session.begin(b"\x07", 1.0)
    session.write_acknowledged(1.0)
    session.response_received(b"\x80\x07\x05")
    assert not session.has_control


def test_connection_lost_fails_the_procedure_and_drops_control() -> None:
    """Link loss counts as a failed procedure, and permission does not survive it."""
    session = ftms.ControlPointSession()
    _granted(session)
    request = session.begin(b"\x08\x02", 1.0)
    result = session.connection_lost()
    assert result == ftms.ProcedureResult(Outcome.LINK_LOST, request)
    assert isinstance(result.error(), ControlPointError)
    assert not session.has_control
    assert session.in_flight is None


def test_write_failure_means_no_procedure_started() -> None:
    """An ATT error on the write (e.g. 0xFE) frees the slot without a result."""
    session = ftms.ControlPointSession()
    session.begin(b"\x07", 0.0)
    session.write_failed()
    assert session.in_flight is None
    assert session.check_timeout(100.0) is None
    session.begin(b"\x07", 1.0)


def test_begin_accepts_request_objects_and_reports_when_it_began() -> None:
    """Typed requests work like octets; `begun_at_s` keeps the begin time."""
    session = ftms.ControlPointSession()
    request = ftms.ControlPointRequest.build(ftms.OpCode.SET_TARGET_SPEED, 2.5)
    assert session.begin(request, 12.5) is request
    assert session.begun_at_s == 12.5


def test_begin_with_empty_octets_raises_decode_error() -> None:
    """An empty write is not a procedure."""
    with pytest.raises(ftms.FTMSDecodeError):
        ftms.ControlPointSession().begin(b"", 0.0)


@pytest.mark.parametrize("timeout_s", [0.0, -1.0])
def test_timeout_must_be_positive(timeout_s: float) -> None:
    """A session with a non-positive timeout is a programming error."""
    with pytest.raises(ValueError, match="timeout_s"):
        ftms.ControlPointSession(timeout_s=timeout_s)


def test_default_timeout_is_thirty_seconds() -> None:
    """The default is the ATT transaction timeout (FTMP §4.4.14.3)."""
    assert ftms.ControlPointSession().timeout_s == 30.0
