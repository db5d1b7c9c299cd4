"""The public names other modules rely on, and the UUIDs pinned as literals."""

from __future__ import annotations

import pytest

from treadctl import errors, ftms


@pytest.mark.parametrize(
    ("name", "uuid"),
    [
        ("FTMS_SERVICE_UUID", "00001826-0000-1000-8000-00805f9b34fb"),
        ("FEATURE_UUID", "00002acc-0000-1000-8000-00805f9b34fb"),
        ("TREADMILL_DATA_UUID", "00002acd-0000-1000-8000-00805f9b34fb"),
        ("TRAINING_STATUS_UUID", "00002ad3-0000-1000-8000-00805f9b34fb"),
        ("SPEED_RANGE_UUID", "00002ad4-0000-1000-8000-00805f9b34fb"),
        ("INCLINATION_RANGE_UUID", "00002ad5-0000-1000-8000-00805f9b34fb"),
        ("RESISTANCE_LEVEL_RANGE_UUID", "00002ad6-0000-1000-8000-00805f9b34fb"),
        ("HEART_RATE_RANGE_UUID", "00002ad7-0000-1000-8000-00805f9b34fb"),
        ("POWER_RANGE_UUID", "00002ad8-0000-1000-8000-00805f9b34fb"),
        ("CONTROL_POINT_UUID", "00002ad9-0000-1000-8000-00805f9b34fb"),
        ("MACHINE_STATUS_UUID", "00002ada-0000-1000-8000-00805f9b34fb"),
        ("DEVICE_INFORMATION_SERVICE_UUID", "0000180a-0000-1000-8000-00805f9b34fb"),
        ("MANUFACTURER_NAME_UUID", "00002a29-0000-1000-8000-00805f9b34fb"),
        ("MODEL_NUMBER_UUID", "00002a24-0000-1000-8000-00805f9b34fb"),
        ("SERIAL_NUMBER_UUID", "00002a25-0000-1000-8000-00805f9b34fb"),
        ("HARDWARE_REVISION_UUID", "00002a27-0000-1000-8000-00805f9b34fb"),
        ("FIRMWARE_REVISION_UUID", "00002a26-0000-1000-8000-00805f9b34fb"),
        ("SOFTWARE_REVISION_UUID", "00002a28-0000-1000-8000-00805f9b34fb"),
    ],
)
def test_uuids_are_full_lowercase_128_bit_strings(name: str, uuid: str) -> None:
    """Each UUID constant is the SIG 16-bit UUID on the Bluetooth base UUID."""
    assert getattr(ftms, name) == uuid


def test_uuid16_helper() -> None:
    """uuid16 expands a 16-bit UUID and refuses values that do not fit."""
    assert ftms.uuid16(0x2ACD) == "00002acd-0000-1000-8000-00805f9b34fb"
    for bad in (-1, 0x10000, True):
        with pytest.raises(ValueError, match="16-bit"):
            ftms.uuid16(bad)


def test_errors_are_the_shared_exception_tree() -> None:
    """Codec errors are re-exported from treadctl.errors and are ValueErrors."""
    assert ftms.FTMSDecodeError is errors.FTMSDecodeError
    assert ftms.FTMSEncodeError is errors.FTMSEncodeError
    assert issubclass(ftms.FTMSDecodeError, errors.TreadctlError)
    assert issubclass(ftms.FTMSDecodeError, ValueError)
    assert issubclass(ftms.FTMSEncodeError, ValueError)


def test_every_name_in_all_is_importable() -> None:
    """`from treadctl import ftms; ftms.X` works for every advertised name."""
    missing = [name for name in ftms.__all__ if not hasattr(ftms, name)]
    assert missing == []


def test_issue_2_done_when_check() -> None:
    """The check from issue #2 prints speed 8.5, distance 2, inclination 0.0, elapsed 1."""
    text = str(ftms.decode_treadmill_data(bytes.fromhex("0c045203020000000000000100")))
    for part in ("speed_kmh=8.5", "total_distance_m=2", "inclination_pct=0.0", "elapsed_time_s=1"):
        assert part in text


@pytest.mark.parametrize(
    ("enum", "known"),
    [
        (
            ftms.OpCode,
            {0x00: "REQUEST_CONTROL", 0x14: "SET_TARGETED_CADENCE", 0x80: "RESPONSE_CODE"},
        ),
        (ftms.ResultCode, {0x01: "SUCCESS", 0x05: "CONTROL_NOT_PERMITTED"}),
        (
            ftms.MachineStatusOpCode,
            {0x02: "STOPPED_OR_PAUSED_BY_USER", 0xFF: "CONTROL_PERMISSION_LOST"},
        ),
        (ftms.TrainingStatusCode, {0x0D: "MANUAL_MODE", 0x0F: "POST_WORKOUT"}),
        (ftms.StopPauseControl, {0x01: "STOP", 0x02: "PAUSE"}),
    ],
)
def test_open_enums_name_known_values_and_accept_every_octet(
    enum: type[ftms.OpCode], known: dict[int, str]
) -> None:
    """Known codes keep their names; every other octet value becomes UNKNOWN_0xNN."""
    for value, name in known.items():
        assert enum(value).name == name
        assert enum(value).is_known
    for value in range(256):
        member = enum(value)
        assert int(member) == value
        if not member.is_known:
            assert member.name == f"UNKNOWN_0x{value:02X}"
    with pytest.raises(ValueError, match="256"):
        enum(256)
    assert len(list(enum)) == len(enum.__members__), "placeholders are not enumerated"
