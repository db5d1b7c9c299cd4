"""Control Point requests and responses: recorded writes, every procedure's encoder, fuzzing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadctl import ftms

Op = ftms.OpCode
RC = ftms.ResultCode

# name, written octets, op code, typed accessor and value, source
RECORDED_REQUESTS = [
    (
        "spec-10-kmh",
        b"\x02\xe8\x03",
        Op.SET_TARGET_SPEED,
        "speed_kmh",
        10.0,
        "ref/ftms-spec.md §7.2 example",
    ),
    (
        "kingsmith-mc21-4-kmh",
        b"\x02\x90\x01",
        Op.SET_TARGET_SPEED,
        "speed_kmh",
        4.0,
        "KingSmith KS-MC21 btsnoop; mcdax/walkingpad-controller docs/ftms-protocol-reference.md §3",
    ),
    (
        "kingsmith-z1-2-5-kmh",
        b"\x02\xfa\x00",
        Op.SET_TARGET_SPEED,
        "speed_kmh",
        2.5,
        "KingSmith KS-HD-Z1D; slandau3/z1-walkingpad-mcp docs/protocol.md",
    ),
    (
        "citysports-request-control",
        b"\x00",
        Op.REQUEST_CONTROL,
        None,
        None,
        "CITYSPORTS-Linker btsnoop ('Wakeup 00'); hughesjs/FitnessMachine protocol/README.md",
    ),
    (
        "citysports-start",
        b"\x07",
        Op.START_OR_RESUME,
        None,
        None,
        "CITYSPORTS-Linker btsnoop; hughesjs/FitnessMachine protocol/notes",
    ),
    (
        "citysports-stop",
        b"\x08\x01",
        Op.STOP_OR_PAUSE,
        "control",
        ftms.StopPauseControl.STOP,
        "CITYSPORTS-Linker btsnoop ('Stop is 0801'); hughesjs/FitnessMachine protocol/notes",
    ),
    (
        "kingsmith-mc21-pause",
        b"\x08\x02",
        Op.STOP_OR_PAUSE,
        "control",
        ftms.StopPauseControl.PAUSE,
        "KingSmith KS-MC21 btsnoop; mcdax/walkingpad-controller docs/ftms-protocol-reference.md §3",
    ),
    (
        "incline-minus-1-5",
        b"\x03\xf1\xff",
        Op.SET_TARGET_INCLINATION,
        "incline_pct",
        -1.5,
        "FTMS v1.0 Table 4.15: s16, 0.1 % (constructed)",
    ),
]


@pytest.mark.parametrize(
    ("name", "wire", "op_code", "accessor", "value", "source"), RECORDED_REQUESTS
)
def test_recorded_requests_both_directions(
    name: str, wire: bytes, op_code: Op, accessor: str | None, value: Any, source: str
) -> None:
    """Recorded writes decode to their op code and value, and re-encode octet for octet."""
    request = ftms.decode_control_point_request(wire)
    assert request.op_code == op_code
    assert request.parameter_ok
    if accessor is not None:
        assert getattr(request, accessor) == value
    assert ftms.encode_control_point_request(request) == wire
    assert ftms.ControlPointRequest.build(op_code, value) == request


RECORDED_RESPONSES = [
    (
        "spec-speed-success",
        b"\x80\x02\x01",
        Op.SET_TARGET_SPEED,
        RC.SUCCESS,
        "ref/ftms-spec.md §7.2 example",
    ),
    (
        "kingsmith-mc21-request-control-failed",
        b"\x80\x00\x04",
        Op.REQUEST_CONTROL,
        RC.OPERATION_FAILED,
        "KingSmith KS-MC21 btsnoop, 40 of 40 (Q14); mcdax/walkingpad-controller",
    ),
    (
        "citysports-stop-success",
        b"\x80\x08\x01",
        Op.STOP_OR_PAUSE,
        RC.SUCCESS,
        "CITYSPORTS-Linker btsnoop, before the write response (Q11); hughesjs",
    ),
    (
        "citysports-start-without-control",
        b"\x80\x07\x01",
        Op.START_OR_RESUME,
        RC.SUCCESS,
        "CITYSPORTS JG-0x22 accepts Start before Request Control (Q13); hughesjs third-capture.log",
    ),
    (
        "reebok-fr30z-stop-failed",
        b"\x80\x08\x04",
        Op.STOP_OR_PAUSE,
        RC.OPERATION_FAILED,
        "Reebok FR30z (Q16); syamaner/paceprompt-ios",
    ),
    (
        "control-not-permitted",
        b"\x80\x02\x05",
        Op.SET_TARGET_SPEED,
        RC.CONTROL_NOT_PERMITTED,
        "KingSmith KS-MC21 commands without the vendor preamble (op code illustrative); "
        "mcdax/walkingpad-controller docs/ftms-protocol-reference.md §2.3, §3.1",
    ),
]


@pytest.mark.parametrize(("name", "wire", "op_code", "result", "source"), RECORDED_RESPONSES)
def test_recorded_responses_both_directions(
    name: str, wire: bytes, op_code: Op, result: RC, source: str
) -> None:
    """Recorded indications decode to request op code and result, and encode back."""
    response = ftms.decode_control_point_response(wire)
    assert response == ftms.ControlPointResponse(op_code, result)
    assert response.succeeded is (result == RC.SUCCESS)
    assert ftms.encode_control_point_response(response) == wire


ENCODERS: list[tuple[Callable[[], bytes], bytes, str | None, Any]] = [
    (ftms.encode_request_control, b"\x00", None, None),
    (ftms.encode_reset, b"\x01", None, None),
    (lambda: ftms.encode_set_target_speed(8.2), b"\x02\x34\x03", "speed_kmh", 8.2),
    (lambda: ftms.encode_set_target_speed(1.15), b"\x02\x73\x00", "speed_kmh", 1.15),
    (lambda: ftms.encode_set_target_inclination(-3.0), b"\x03\xe2\xff", "incline_pct", -3.0),
    (lambda: ftms.encode_set_target_resistance_level(4.5), b"\x04\x2d", "resistance_level", 4.5),
    (lambda: ftms.encode_set_target_power(-50), b"\x05\xce\xff", "power_w", -50),
    (lambda: ftms.encode_set_target_heart_rate(140), b"\x06\x8c", "heart_rate_bpm", 140),
    (ftms.encode_start_or_resume, b"\x07", None, None),
    (lambda: ftms.encode_stop_or_pause(ftms.StopPauseControl.PAUSE), b"\x08\x02", "control", 2),
    (
        lambda: ftms.encode_set_targeted_expended_energy(250),
        b"\x09\xfa\x00",
        "expended_energy_kcal",
        250,
    ),
    (lambda: ftms.encode_set_targeted_steps(10000), b"\x0a\x10\x27", "steps", 10000),
    (lambda: ftms.encode_set_targeted_strides(500), b"\x0b\xf4\x01", "strides", 500),
    (
        lambda: ftms.encode_set_targeted_distance(0xABCDEF),
        b"\x0c\xef\xcd\xab",
        "distance_m",
        0xABCDEF,
    ),
    (
        lambda: ftms.encode_set_targeted_training_time(3600),
        b"\x0d\x10\x0e",
        "training_time_s",
        3600,
    ),
    (
        lambda: ftms.encode_set_targeted_time_in_two_hr_zones(60, 120),
        b"\x0e\x3c\x00\x78\x00",
        "hr_zone_times_s",
        (60, 120),
    ),
    (
        lambda: ftms.encode_set_targeted_time_in_three_hr_zones(1, 2, 3),
        b"\x0f\x01\x00\x02\x00\x03\x00",
        "hr_zone_times_s",
        (1, 2, 3),
    ),
    (
        lambda: ftms.encode_set_targeted_time_in_five_hr_zones(1, 2, 3, 4, 5),
        b"\x10\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00",
        "hr_zone_times_s",
        (1, 2, 3, 4, 5),
    ),
    (
        lambda: ftms.encode_set_indoor_bike_simulation(
            ftms.IndoorBikeSimulation(-1.0, 5.25, 0.0033, 0.6)
        ),
        b"\x11\x18\xfc\x0d\x02\x21\x3c",
        "simulation",
        ftms.IndoorBikeSimulation(-1.0, 5.25, 0.0033, 0.6),
    ),
    (
        lambda: ftms.encode_set_wheel_circumference(2096.0),
        b"\x12\xe0\x51",
        "wheel_circumference_mm",
        2096.0,
    ),
    (
        lambda: ftms.encode_spin_down_control(ftms.SpinDownControl.START),
        b"\x13\x01",
        "spin_down_control",
        1,
    ),
    (lambda: ftms.encode_set_targeted_cadence(85.5), b"\x14\xab\x00", "cadence_per_min", 85.5),
]


@pytest.mark.parametrize(("encoder", "wire", "accessor", "value"), ENCODERS)
def test_every_procedure_encoder(
    encoder: Callable[[], bytes], wire: bytes, accessor: str | None, value: Any
) -> None:
    """Each procedure's encoder writes the spec layout; decoding reads the value back."""
    assert encoder() == wire
    request = ftms.decode_control_point_request(wire)
    assert request.parameter_ok
    if accessor is not None:
        assert getattr(request, accessor) == value
        assert request.value == value


def test_typed_accessors_are_none_for_other_op_codes() -> None:
    """A Stop request has no speed, and a speed request no control information."""
    stop = ftms.decode_control_point_request(b"\x08\x01")
    speed = ftms.decode_control_point_request(b"\x02\x34\x03")
    assert stop.speed_kmh is None
    assert speed.control is None
    assert speed.incline_pct is None


@pytest.mark.parametrize(
    ("wire", "ok"),
    [
        (b"\x00", True),
        (b"\x00\x00", False),
        (b"\x02\x34", False),
        (b"\x02\x34\x03\x00", False),
        (b"\x0c\x01\x02\x03", True),
        (b"\x42", False),
        (b"\x80\x02\x01", False),
    ],
)
def test_parameter_ok_checks_the_length_the_op_code_defines(wire: bytes, ok: bool) -> None:
    """A server answers Invalid Parameter when this is False; decoding never fails."""
    assert ftms.decode_control_point_request(wire).parameter_ok is ok


def test_unknown_op_code_is_a_named_placeholder() -> None:
    """RFU op code 0x42 decodes as UNKNOWN_0x42, keeps its parameter and re-encodes."""
    request = ftms.decode_control_point_request(b"\x42\x01")
    assert request.op_code.name == "UNKNOWN_0x42"
    assert repr(request.op_code) == "<OpCode.UNKNOWN_0x42: 66>"
    assert request.op_code is ftms.OpCode(0x42)
    assert request.value is None
    assert ftms.encode_control_point_request(request) == b"\x42\x01"


def test_unknown_result_code_is_a_named_placeholder() -> None:
    """RFU result 0x06 decodes as UNKNOWN_0x06 and is not a success."""
    response = ftms.decode_control_point_response(b"\x80\x02\x06")
    assert response.result_code.name == "UNKNOWN_0x06"
    assert not response.succeeded


def test_spin_down_success_parameters() -> None:
    """Spin Down success carries Target Speed Low and High (u16, 0.01 km/h)."""
    wire = b"\x80\x13\x01\xe8\x03\xd0\x07"
    assert ftms.encode_spin_down_success(10.0, 20.0) == wire
    response = ftms.decode_control_point_response(wire)
    assert response.spin_down_speeds_kmh == (10.0, 20.0)
    assert (
        ftms.decode_control_point_response(b"\x80\x02\x01\xe8\x03\xd0\x07").spin_down_speeds_kmh
        is None
    )
    assert ftms.decode_control_point_response(b"\x80\x13\x04").spin_down_speeds_kmh is None


@pytest.mark.parametrize("wire", [b"", b"\x80", b"\x80\x02", b"\x81\x02\x01", b"\x02\xe8\x03"])
def test_malformed_responses_raise_decode_error(wire: bytes) -> None:
    """Short indications and ones not starting with 0x80 raise FTMSDecodeError."""
    with pytest.raises(ftms.FTMSDecodeError):
        ftms.decode_control_point_response(wire)


def test_empty_request_raises_decode_error() -> None:
    """A write without an op code cannot be decoded."""
    with pytest.raises(ftms.FTMSDecodeError):
        ftms.decode_control_point_request(b"")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: ftms.encode_set_target_speed(655.36), "speed_kmh"),
        (lambda: ftms.encode_set_target_speed(-1.0), "speed_kmh"),
        (lambda: ftms.encode_set_target_inclination(3276.8), "incline_pct"),
        (lambda: ftms.encode_set_target_heart_rate(256), "heart_rate_bpm"),
        (lambda: ftms.encode_set_targeted_distance(1 << 24), "distance_m"),
        (lambda: ftms.encode_set_targeted_time_in_two_hr_zones(60, -1), "hr_zone_times_s[1]"),
        (
            lambda: ftms.encode_set_indoor_bike_simulation(
                ftms.IndoorBikeSimulation(40.0, 0, 0, 0)
            ),
            "wind_speed_mps",
        ),
        (lambda: ftms.encode_set_indoor_bike_simulation((1, 2, 3, 4)), "simulation"),  # type: ignore[arg-type]
        (
            lambda: ftms.ControlPointRequest.build(Op.SET_TARGETED_TIME_IN_TWO_HR_ZONES, (1, 2, 3)),
            "hr_zone_times_s",
        ),
        (lambda: ftms.ControlPointRequest.build(Op.RESET, 1), "parameter"),
        (
            lambda: ftms.encode_control_point_request(ftms.ControlPointRequest(Op.RESPONSE_CODE)),
            "op_code",
        ),
        (lambda: ftms.encode_spin_down_success(-1.0, 2.0), "low_kmh"),
    ],
)
def test_encoders_name_the_field_that_does_not_fit(call: Callable[[], object], field: str) -> None:
    """Values outside the wire format raise FTMSEncodeError naming the field."""
    with pytest.raises(ftms.FTMSEncodeError) as caught:
        call()
    assert caught.value.field == field


ACCESSORS = [
    "speed_kmh",
    "incline_pct",
    "resistance_level",
    "power_w",
    "heart_rate_bpm",
    "control",
    "expended_energy_kcal",
    "steps",
    "strides",
    "distance_m",
    "training_time_s",
    "hr_zone_times_s",
    "simulation",
    "wheel_circumference_mm",
    "spin_down_control",
    "cadence_per_min",
    "value",
    "parameter_ok",
]


@given(st.binary(max_size=24))
def test_fuzz_requests(data: bytes) -> None:
    """Random writes decode (or raise FTMSDecodeError when empty); accessors never raise."""
    try:
        request = ftms.decode_control_point_request(data)
    except ftms.FTMSDecodeError:
        assert data == b""
        return
    for name in ACCESSORS:
        getattr(request, name)
    if data[0] != 0x80:
        assert ftms.encode_control_point_request(request) == data


@given(st.binary(max_size=24))
def test_fuzz_responses(data: bytes) -> None:
    """Random indications decode or raise FTMSDecodeError; nothing else escapes."""
    try:
        response = ftms.decode_control_point_response(data)
    except ftms.FTMSDecodeError:
        assert len(data) < 3 or data[0] != 0x80
        return
    response.spin_down_speeds_kmh  # noqa: B018  (must not raise)
    assert ftms.encode_control_point_response(response) == data
