"""Advertising data building/parsing, and the simulator's settings and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from treadctl.errors import InputError
from treadctl.sim.adv import ParsedAdvertisement, build_advertising_data, parse_advertisement
from treadctl.sim.settings import (
    Quirks,
    TreadmillConfig,
    load_settings_file,
    parse_assignments,
)

FTMS = "00001826-0000-1000-8000-00805f9b34fb"


def test_build_ftms_advertisement() -> None:
    """Flags 06, UUID list 1826, service data 1826 01 0100, complete name (Core Supp. A §1)."""
    data = build_advertising_data(
        "TM", service_uuids16=(0x1826,), service_data16=((0x1826, b"\x01\x01\x00"),)
    )
    assert data == bytes.fromhex("020106 03032618 06162618010100 0309") + b"TM"


def test_long_name_is_shortened_to_fit_31_octets() -> None:
    """A name too long for legacy advertising goes as a Shortened Local Name (0x08)."""
    data = build_advertising_data(
        "CITYSPORTS-Linker-1234",
        service_uuids16=(0x1826,),
        service_data16=((0x1826, b"\x01\x01\x00"),),
    )
    assert len(data) == 31
    parsed = parse_advertisement(data)
    assert parsed.local_name == "CITYSPORTS-Link"
    assert data[-16] == 0x08  # AD type of the 15-octet name


def test_parse_every_field_and_ignore_a_broken_tail() -> None:
    """UUIDs (16/128-bit), service data, manufacturer data, TX power; a cut tail is skipped."""
    data = (
        bytes.fromhex("03022618")  # incomplete 16-bit list
        + bytes([17, 0x07]) + bytes(range(16))  # 128-bit UUID
        + bytes.fromhex("0416261801")  # service data 1826: 01
        + bytes.fromhex("05ff4c000102")  # manufacturer 0x004C: 01 02
        + bytes.fromhex("020af4")  # TX power -12 dBm
        + bytes.fromhex("0908")  # length 9 but only one octet follows: ignored
    )  # fmt: skip
    parsed = parse_advertisement(data)
    assert parsed.service_uuids == (FTMS, "0f0e0d0c-0b0a-0908-0706-050403020100")
    assert parsed.service_data == ((FTMS, b"\x01"),)
    assert parsed.manufacturer_data == ((0x004C, b"\x01\x02"),)
    assert parsed.tx_power == -12
    assert parsed.local_name is None


def test_scan_response_merges_over_advertisement() -> None:
    """A later report adds its fields and keeps the earlier ones (BlueZ-style merge)."""
    first = ParsedAdvertisement(local_name="TM", service_uuids=(FTMS,))
    merged = first.merged_with(ParsedAdvertisement(service_data=((FTMS, b"\x01\x01\x00"),)))
    assert merged == ParsedAdvertisement(
        local_name="TM", service_uuids=(FTMS,), service_data=((FTMS, b"\x01\x01\x00"),)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"speed_min_kmh": 5.0, "speed_max_kmh": 4.0}, "0 < speed_min_kmh < speed_max_kmh"),
        ({"rate_hz": 0.0}, "rate_hz must be > 0"),
        ({"accel_kmh_per_s": float("nan")}, "accel_kmh_per_s must be a finite number"),
        ({"start_speed_kmh": 30.0}, "start_speed_kmh must lie within the speed range"),
        ({"name": "x" * 30}, "name must be 1 to 29 octets"),
    ],
)
def test_config_validation(changes: dict[str, object], message: str) -> None:
    """Impossible machines are refused with an InputError naming the setting."""
    with pytest.raises(InputError, match=message):
        TreadmillConfig(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"request_control": "maybe"}, "request_control must be"),
        ({"stop_fail_probability": 2.0}, "stop_fail_probability must be in 0..1"),
        ({"more_data_split": 4}, "more_data_split must be 0"),
        ({"target_lag_s": -1.0}, "target_lag_s must be >= 0"),
    ],
)
def test_quirk_validation(changes: dict[str, object], message: str) -> None:
    """Impossible quirks are refused with an InputError naming the quirk."""
    with pytest.raises(InputError, match=message):
        Quirks(**changes)  # type: ignore[arg-type]


def test_settings_file_round_trip(tmp_path: Path) -> None:
    """A TOML file builds the config and quirks it describes, lists and pairs included."""
    path = tmp_path / "cs.toml"
    path.write_text(
        '[treadmill]\nname = "CITYSPORTS-Linker"\nspeed_max_kmh = 6\nrate_hz = 5.3\n'
        "[quirks]\nstatus_echo = true\nignored_ops = [7]\nfeature_override = [4676, 1]\n"
    )
    config, quirks = load_settings_file(path).build(str(path))
    assert (config.name, config.speed_max_kmh, config.rate_hz) == ("CITYSPORTS-Linker", 6.0, 5.3)
    assert quirks == Quirks(
        status_echo=True, ignored_ops=frozenset({7}), feature_override=(0x1244, 1)
    )


def test_parse_assignments() -> None:
    """KEY=VALUE pairs parse as TOML scalars; a bare word is a string."""
    assert parse_assignments(["a=1", "b=true", "c=2.5", "d=fails", 'e="x y"'], "--set") == {
        "a": 1,
        "b": True,
        "c": 2.5,
        "d": "fails",
        "e": "x y",
    }
