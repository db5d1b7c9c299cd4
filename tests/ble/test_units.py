"""Pure pieces of the BLE layer: DeviceCaps from ranges, notification decoding in real units,
and bleak errors translated with hints. Wire input is pinned with literal octets."""

from __future__ import annotations

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)
from bleak_retry_connector import BleakNotFoundError
from structlog.testing import capture_logs

from treadctl import ftms
from treadctl.ble.caps import device_caps
from treadctl.ble.notifications import NotificationDecoder
from treadctl.ble.quirks import ProfileSet, QuirkProfile, SpeedUnit
from treadctl.ble.tracking import EchoFilter
from treadctl.ble.translate import bluetooth_error
from treadctl.errors import BluetoothError, DeviceNotFoundError

MPH = QuirkProfile(
    name="mph",
    target_speed_units=SpeedUnit.MPH,
    reported_speed_units=SpeedUnit.MPH,
    speed_range_units=SpeedUnit.MPH,
)


def test_caps_from_spec_ranges() -> None:
    """Ranges 0.80–16.00/0.10 km/h and 0.0–15.0/0.5 % pass through unchanged."""
    speed = ftms.decode_speed_range(bytes.fromhex("500040060a00"))
    incline = ftms.decode_inclination_range(bytes.fromhex("000096000500"))
    caps = device_caps(QuirkProfile(min_command_interval_ms=400), speed, incline)
    assert (caps.min_speed_kmh, caps.max_speed_kmh, caps.speed_increment_kmh) == (0.8, 16.0, 0.1)
    assert (caps.min_incline_pct, caps.max_incline_pct, caps.incline_increment_pct) == (0, 15, 0.5)
    assert caps.min_command_interval_s == 0.4


def test_mph_range_converts_and_rounds_inwards() -> None:
    """FS-BT-T4 reads 0.6/3.8/0.1 "km/h" that are mph (Q4): 0.97–6.11 km/h, step 0.16."""
    speed = ftms.decode_speed_range(bytes.fromhex("3c007c010a00"))
    caps = device_caps(MPH, speed, None)
    assert caps.min_speed_kmh == 0.97  # 0.9656 rounded up: never below the device minimum
    assert caps.max_speed_kmh == 6.11  # 6.1155 rounded down: never above the device maximum
    assert caps.speed_increment_kmh == 0.16
    assert caps.incline_increment_pct is None


def test_min_target_speed_raises_the_floor() -> None:
    """A profile minimum target speed (Mobvoi, Q17) lifts the range's minimum."""
    speed = ftms.decode_speed_range(bytes.fromhex("320040060a00"))
    caps = device_caps(QuirkProfile(min_target_speed_kmh=1.0), speed, None)
    assert caps.min_speed_kmh == 1.0


def test_missing_speed_range_falls_back_and_says_so() -> None:
    """No Supported Speed Range: a conservative range, and a warning in the log."""
    with capture_logs() as logs:
        caps = device_caps(QuirkProfile(), None, None)
    assert (caps.min_speed_kmh, caps.max_speed_kmh) == (0.5, 6.0)
    assert logs[0]["event"] == "speed_range_missing"


def test_bh_incline_range_uses_the_target_scale(profiles: ProfileSet) -> None:
    """BH targets use the spec scale, so its range converts at 10 raw per % (Q3)."""
    incline = ftms.decode_inclination_range(bytes.fromhex("0000a0000a00"))
    speed = ftms.decode_speed_range(bytes.fromhex("500040060a00"))
    caps = device_caps(profiles.get("bh-fitness"), speed, incline)
    assert caps.max_incline_pct == 16.0


def test_decoder_converts_mph_telemetry_to_kmh() -> None:
    """Flags 0x0000 speed 0x00c8 (2.00 mph) is 3.22 km/h under an mph profile."""
    event = NotificationDecoder(MPH).treadmill_data(b"\x00\x00\xc8\x00", 5.0)
    assert event is not None
    assert event.record.speed_kmh == pytest.approx(3.218688)
    assert event.received_s == 5.0


def test_decoder_scales_reported_inclination(profiles: ProfileSet) -> None:
    """BH's raw 180 in Inclination (flags 0x0008) is 2.88 % (Q3, duhow capture)."""
    decoder = NotificationDecoder(profiles.get("bh-fitness"))
    event = decoder.treadmill_data(b"\x08\x00\x62\x02\xb4\x00\x00\x00", 0.0)
    assert event is not None
    assert event.record.inclination_pct == pytest.approx(2.88)
    assert event.record.speed_kmh == 6.1


def test_decoder_reads_vendor_steps_only_with_the_profile_flag(profiles: ProfileSet) -> None:
    """Flag bit 13 with 3 trailing octets is a step count only for vendor-step profiles (Q1)."""
    frame = b"\x00\x20\x58\x02\x42\x00\x00"  # flags 0x2000, 6.00 km/h, steps 66
    with_steps = NotificationDecoder(profiles.get("citysports")).treadmill_data(frame, 0.0)
    without = NotificationDecoder(profiles.default).treadmill_data(frame, 0.0)
    assert with_steps is not None
    assert with_steps.record.step_count == 66
    assert without is not None
    assert without.record.step_count is None


def test_decoder_holds_more_data_fragments_and_forgets_them_on_reset() -> None:
    """A More Data fragment gives nothing until its record completes; reset drops it."""
    decoder = NotificationDecoder(QuirkProfile())
    fragment = b"\x05\x00\x0a\x00\x00"  # More Data + Total Distance 10 m
    assert decoder.treadmill_data(fragment, 0.0) is None
    decoder.reset()
    event = decoder.treadmill_data(b"\x00\x00\x2c\x01", 1.0)
    assert event is not None
    assert event.record.total_distance_m is None
    assert event.record.speed_kmh == 3.0


def test_undecodable_frames_are_logged_and_dropped() -> None:
    """One octet of Treadmill Data or an empty status is logged, never raised."""
    decoder = NotificationDecoder(QuirkProfile())
    with capture_logs() as logs:
        assert decoder.treadmill_data(b"\x00", 0.0) is None
        assert decoder.machine_status(b"", 0.0, EchoFilter()) is None
        assert decoder.training_status(b"", 0.0) is None
    assert [entry["event"] for entry in logs] == [
        "treadmill_data_undecodable",
        "machine_status_undecodable",
        "training_status_undecodable",
    ]


def test_status_target_speed_in_mph_becomes_kmh() -> None:
    """Target Speed Changed 05 c8 00 (2.00 mph) reads 3.22 km/h under an mph profile."""
    event = NotificationDecoder(MPH).machine_status(b"\x05\xc8\x00", 0.0, EchoFilter())
    assert event is not None
    assert event.status.target_speed_kmh == pytest.approx(3.22, abs=0.005)
    assert event.echo is False


def test_status_after_our_write_is_flagged_as_echo() -> None:
    """04 right after our own 07 is an echo (Q12, CITYSPORTS)."""
    echo = EchoFilter()
    echo.wrote(0x07)
    event = NotificationDecoder(QuirkProfile()).machine_status(b"\x04\x00\x00", 0.5, echo)
    assert event is not None
    assert event.echo is True


@pytest.mark.parametrize(
    ("error", "kind", "hint"),
    [
        (
            BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.POWERED_OFF),
            BluetoothError,
            "rfkill unblock bluetooth",
        ),
        (
            BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.NO_BLUETOOTH),
            BluetoothError,
            "bluetoothctl show",
        ),
        (
            BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM),
            BluetoothError,
            "bluetooth` group",
        ),
        (FileNotFoundError(2, "No such file or directory"), BluetoothError, "bluetoothd running"),
        (
            BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []),
            BluetoothError,
            "bluetoothd running",
        ),
        (BleakNotFoundError("gone"), DeviceNotFoundError, "out of range"),
        (TimeoutError(), BluetoothError, "timed out"),
        (
            BleakError("[org.bluez.Error] le-connection-abort-by-local"),
            BluetoothError,
            "USB Bluetooth dongle",
        ),
    ],
)
def test_bleak_errors_become_ours_with_a_hint(
    error: BaseException, kind: type[BluetoothError], hint: str
) -> None:
    """Each bleak failure maps to a BluetoothError (or DeviceNotFoundError) saying what to do."""
    translated = bluetooth_error("scan", error, address="AA:BB")
    assert type(translated) is kind
    assert str(translated).startswith("cannot scan: ")
    assert hint in str(translated)
    assert translated.address == "AA:BB"
