"""Training Status and Fitness Machine Status: recorded vectors, typed values, fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadctl import ftms

TS = ftms.TrainingStatus
TSC = ftms.TrainingStatusCode
MS = ftms.MachineStatus
MSO = ftms.MachineStatusOpCode

TRAINING_VECTORS = [
    (
        "idle-empty-string",
        b"\x01\x01",
        TS(TSC.IDLE, ""),
        "CITYSPORTS (hughesjs) and FS-6041F1 (TMIW #470), Q7",
    ),
    ("pre-workout-empty", b"\x01\x0e", TS(TSC.PRE_WORKOUT, ""), "CITYSPORTS-Linker, hughesjs, Q7"),
    ("manual-mode-empty", b"\x01\x0d", TS(TSC.MANUAL_MODE, ""), "CITYSPORTS-Linker, hughesjs, Q7"),
    (
        "post-workout-empty",
        b"\x01\x0f",
        TS(TSC.POST_WORKOUT, ""),
        "CITYSPORTS-Linker, hughesjs, Q7",
    ),
    ("other-no-string", b"\x00\x00", TS(TSC.OTHER), "Reebok FR30z, syamaner/paceprompt-ios, Q7"),
    (
        "with-string",
        b"\x01\x0dQuick",
        TS(TSC.MANUAL_MODE, "Quick"),
        "FTMS v1.0 §4.10 (constructed)",
    ),
    (
        "extended-string",
        b"\x03\x0bCool down",
        TS(TSC.COOL_DOWN, "Cool down", extended=True),
        "FTMS v1.0 §4.10 flag bit 1 (constructed)",
    ),
    (
        "utf8-string",
        "\x01\x02Échauffement".encode(),
        TS(TSC.WARMING_UP, "Échauffement"),
        "FTMS v1.0 §4.10: the string is UTF-8 (constructed)",
    ),
]


@pytest.mark.parametrize(("name", "wire", "expected", "source"), TRAINING_VECTORS)
def test_training_status_both_directions(
    name: str, wire: bytes, expected: ftms.TrainingStatus, source: str
) -> None:
    """Each Training Status vector decodes to its value and encodes back."""
    assert ftms.decode_training_status(wire) == expected
    assert ftms.encode_training_status(expected) == wire
    assert ftms.encode_training_status(expected) == wire


def test_training_status_octets_after_an_absent_string_are_ignored() -> None:
    """With flag bit 0 clear, extra octets are not a string."""
    assert ftms.decode_training_status(b"\x00\x01\xaa") == TS(TSC.IDLE)


def test_training_status_bad_utf8_is_replaced_not_raised() -> None:
    """Invalid UTF-8 in the string decodes with U+FFFD instead of failing."""
    assert ftms.decode_training_status(b"\x01\x01\xff").string == "\ufffd"


def test_unknown_training_status_is_a_named_placeholder() -> None:
    """RFU status 0x42 decodes as UNKNOWN_0x42 and re-encodes."""
    status = ftms.decode_training_status(b"\x00\x42")
    assert status.status.name == "UNKNOWN_0x42"
    assert not status.status.is_known
    assert ftms.encode_training_status(status) == b"\x00\x42"


MACHINE_VECTORS = [
    (
        "cs-wp8-started-padded",
        b"\x04\x00\x00",
        MSO.STARTED_OR_RESUMED_BY_USER,
        {},
        "CITYSPORTS CS-WP8 nRF log 00:08:47.207 'Unknown parameters: 00-00' (Q6); hughesjs "
        "protocol/CS-WP8/1_to_6_without_person.log",
    ),
    (
        "cs-wp8-stopped-padded",
        b"\x02\x01\x00",
        MSO.STOPPED_OR_PAUSED_BY_USER,
        {"control": ftms.StopPauseControl.STOP},
        "CITYSPORTS CS-WP8 nRF log 00:09:25.303 (Q6); hughesjs 1_to_6_without_person.log",
    ),
    (
        "cs-wp8-target-speed-1-5",
        b"\x05\x96\x00",
        MSO.TARGET_SPEED_CHANGED,
        {"target_speed_kmh": 1.5},
        "CITYSPORTS CS-WP8 nRF log 00:08:49.739; hughesjs 1_to_6_without_person.log",
    ),
    (
        "cs-wp8-target-speed-3-0",
        b"\x05\x2c\x01",
        MSO.TARGET_SPEED_CHANGED,
        {"target_speed_kmh": 3.0},
        "CITYSPORTS CS-WP8 nRF log 00:08:54.838; hughesjs 1_to_6_without_person.log",
    ),
    (
        "jg-0x22-stopped",
        b"\x02\x01",
        MSO.STOPPED_OR_PAUSED_BY_USER,
        {"control": ftms.StopPauseControl.STOP},
        "CITYSPORTS JG-0x22 btsnoop, status before the 80 08 01 indication (Q11, Q12); hughesjs",
    ),
    (
        "paused",
        b"\x02\x02",
        MSO.STOPPED_OR_PAUSED_BY_USER,
        {"control": ftms.StopPauseControl.PAUSE},
        "FTMS v1.0 Table 4.27",
    ),
    ("safety-key", b"\x03", MSO.STOPPED_BY_SAFETY_KEY, {}, "FTMS v1.0 Table 4.27"),
    ("reset", b"\x01", MSO.RESET, {}, "FTMS v1.0 Table 4.27"),
    ("control-lost", b"\xff", MSO.CONTROL_PERMISSION_LOST, {}, "FTMS v1.0 Table 4.27"),
    (
        "incline-negative",
        b"\x06\xf1\xff",
        MSO.TARGET_INCLINE_CHANGED,
        {"target_incline_pct": -1.5},
        "FTMS v1.0 Table 4.27 (s16)",
    ),
    (
        "resistance-u8-v1-0",
        b"\x07\x0a",
        MSO.TARGET_RESISTANCE_LEVEL_CHANGED,
        {"target_resistance_level": 1.0},
        "FTMS v1.0: u8",
    ),
    (
        "resistance-s16-v1-0-1",
        b"\x07\xf6\xff",
        MSO.TARGET_RESISTANCE_LEVEL_CHANGED,
        {"target_resistance_level": -1.0},
        "FTMS v1.0.1: s16",
    ),
    (
        "distance-u24",
        b"\x0d\x10\x27\x01",
        MSO.TARGETED_DISTANCE_CHANGED,
        {"targeted_distance_m": 0x012710},
        "FTMS v1.0 Table 4.27 (u24)",
    ),
    (
        "spin-down-success",
        b"\x14\x02",
        MSO.SPIN_DOWN_STATUS,
        {"spin_down_status": ftms.SpinDownStatus.SUCCESS},
        "FTMS v1.0 Table 4.27",
    ),
]

TYPED = [
    "control",
    "target_speed_kmh",
    "target_incline_pct",
    "target_resistance_level",
    "target_power_w",
    "target_heart_rate_bpm",
    "targeted_expended_energy_kcal",
    "targeted_steps",
    "targeted_strides",
    "targeted_distance_m",
    "targeted_training_time_s",
    "targeted_hr_zone_times_s",
    "simulation",
    "wheel_circumference_mm",
    "spin_down_status",
    "targeted_cadence_per_min",
]


@pytest.mark.parametrize(("name", "wire", "op_code", "values", "source"), MACHINE_VECTORS)
def test_machine_status_both_directions(
    name: str, wire: bytes, op_code: MSO, values: dict[str, Any], source: str
) -> None:
    """Each status decodes to its op code and typed values, and re-encodes octet for octet."""
    status = ftms.decode_machine_status(wire)
    assert status.op_code == op_code
    assert status.parameter == wire[1:]
    for name_ in TYPED:
        assert getattr(status, name_) == values.get(name_), name_
    assert ftms.encode_machine_status(status) == wire


BUILDS = [
    (MSO.STOPPED_OR_PAUSED_BY_USER, ftms.StopPauseControl.PAUSE, b"\x02\x02", "control"),
    (MSO.TARGET_SPEED_CHANGED, 8.2, b"\x05\x34\x03", "target_speed_kmh"),
    (MSO.TARGET_INCLINE_CHANGED, -0.5, b"\x06\xfb\xff", "target_incline_pct"),
    (MSO.TARGET_RESISTANCE_LEVEL_CHANGED, 2.5, b"\x07\x19\x00", "target_resistance_level"),
    (MSO.TARGET_POWER_CHANGED, -20, b"\x08\xec\xff", "target_power_w"),
    (MSO.TARGET_HEART_RATE_CHANGED, 120, b"\x09\x78", "target_heart_rate_bpm"),
    (MSO.TARGETED_EXPENDED_ENERGY_CHANGED, 300, b"\x0a\x2c\x01", "targeted_expended_energy_kcal"),
    (MSO.TARGETED_NUMBER_OF_STEPS_CHANGED, 5000, b"\x0b\x88\x13", "targeted_steps"),
    (MSO.TARGETED_NUMBER_OF_STRIDES_CHANGED, 2500, b"\x0c\xc4\x09", "targeted_strides"),
    (MSO.TARGETED_DISTANCE_CHANGED, 100000, b"\x0d\xa0\x86\x01", "targeted_distance_m"),
    (MSO.TARGETED_TRAINING_TIME_CHANGED, 1800, b"\x0e\x08\x07", "targeted_training_time_s"),
    (
        MSO.TARGETED_TIME_IN_TWO_HR_ZONES_CHANGED,
        (60, 120),
        b"\x0f\x3c\x00\x78\x00",
        "targeted_hr_zone_times_s",
    ),
    (
        MSO.TARGETED_TIME_IN_THREE_HR_ZONES_CHANGED,
        (1, 2, 3),
        b"\x10\x01\x00\x02\x00\x03\x00",
        "targeted_hr_zone_times_s",
    ),
    (
        MSO.TARGETED_TIME_IN_FIVE_HR_ZONES_CHANGED,
        (1, 2, 3, 4, 5),
        b"\x11\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00",
        "targeted_hr_zone_times_s",
    ),
    (
        MSO.INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED,
        ftms.IndoorBikeSimulation(1.5, -2.5, 0.004, 0.51),
        b"\x12\xdc\x05\x06\xff\x28\x33",
        "simulation",
    ),
    (MSO.WHEEL_CIRCUMFERENCE_CHANGED, 2100.5, b"\x13\x0d\x52", "wheel_circumference_mm"),
    (MSO.SPIN_DOWN_STATUS, ftms.SpinDownStatus.STOP_PEDALING, b"\x14\x04", "spin_down_status"),
    (MSO.TARGETED_CADENCE_CHANGED, 90.5, b"\x15\xb5\x00", "targeted_cadence_per_min"),
]


@pytest.mark.parametrize(("op_code", "value", "wire", "accessor"), BUILDS)
def test_every_parameterised_status_builds_and_reads_back(
    op_code: MSO, value: Any, wire: bytes, accessor: str
) -> None:
    """MachineStatus.build encodes each op code's parameter; the typed accessor reads it."""
    status = MS.build(op_code, value)
    assert ftms.encode_machine_status(status) == wire
    decoded = ftms.decode_machine_status(wire)
    assert getattr(decoded, accessor) == value
    assert decoded.value == value


def test_build_refuses_a_value_for_a_status_without_parameter() -> None:
    """Statuses like 0x03 carry no parameter: giving one is an encode error."""
    with pytest.raises(ftms.FTMSEncodeError):
        MS.build(MSO.STOPPED_BY_SAFETY_KEY, 1)
    assert ftms.encode_machine_status(MS.build(MSO.STOPPED_BY_SAFETY_KEY)) == b"\x03"


def test_build_names_the_field_out_of_range() -> None:
    """A target speed beyond u16 raises with the field name."""
    with pytest.raises(ftms.FTMSEncodeError) as caught:
        MS.build(MSO.TARGET_SPEED_CHANGED, 700.0)
    assert caught.value.field == "target_speed_kmh"


def test_short_parameter_reads_as_none() -> None:
    """A target speed status cut to one octet has no speed (and does not raise)."""
    assert ftms.decode_machine_status(b"\x05\x96").target_speed_kmh is None


def test_unknown_status_op_codes_are_named_placeholders() -> None:
    """RFU 0x00 and 0x16 decode as UNKNOWN_… and keep their parameter."""
    status = ftms.decode_machine_status(b"\x16\x01\x02")
    assert status.op_code.name == "UNKNOWN_0x16"
    assert status.op_code == 0x16
    assert status.value is None
    assert ftms.decode_machine_status(b"\x00").op_code.name == "UNKNOWN_0x00"


def test_empty_machine_status_raises_decode_error() -> None:
    """A notification without an op code cannot be decoded."""
    with pytest.raises(ftms.FTMSDecodeError):
        ftms.decode_machine_status(b"")


@given(st.binary(max_size=24))
def test_fuzz_machine_status(data: bytes) -> None:
    """Random octets decode (or raise FTMSDecodeError when empty); accessors never raise."""
    try:
        status = ftms.decode_machine_status(data)
    except ftms.FTMSDecodeError:
        assert data == b""
        return
    for name in TYPED:
        getattr(status, name)
    assert ftms.encode_machine_status(status) == data


@given(st.binary(max_size=24))
def test_fuzz_training_status(data: bytes) -> None:
    """Random octets decode (or raise FTMSDecodeError when under 2 octets)."""
    try:
        status = ftms.decode_training_status(data)
    except ftms.FTMSDecodeError:
        assert len(data) < 2
        return
    assert isinstance(status.status, ftms.TrainingStatusCode)
