"""Service data, Fitness Machine Feature and Supported … Range: vectors, round trips, fuzzing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadctl import ftms

# name, octets, decoder, expected, encoder, source
VECTORS: list[tuple[str, bytes, Callable[[bytes], Any], Any, Callable[[Any], bytes], str]] = [
    (
        "service-data-treadmill-available",
        b"\x01\x01\x00",
        ftms.decode_service_data,
        ftms.ServiceData(available=True, machine_type=ftms.FitnessMachineType.TREADMILL),
        ftms.encode_service_data,
        "FTMS v1.0 §3.1 Service Data AD layout (flags, u16 type)",
    ),
    (
        "service-data-treadmill-busy",
        b"\x00\x01\x00",
        ftms.decode_service_data,
        ftms.ServiceData(available=False, machine_type=ftms.FitnessMachineType.TREADMILL),
        ftms.encode_service_data,
        "FTMP §5.1.4: Available cleared while in use",
    ),
    (
        "feature-citysports",
        b"\x44\x12\x00\x00\x01\x00\x00\x00",
        ftms.decode_fitness_machine_feature,
        ftms.FitnessMachineFeature(
            ftms.MachineFeatures.TOTAL_DISTANCE
            | ftms.MachineFeatures.STEP_COUNT
            | ftms.MachineFeatures.EXPENDED_ENERGY
            | ftms.MachineFeatures.ELAPSED_TIME,
            ftms.TargetSettingFeatures.SPEED_TARGET,
        ),
        ftms.encode_fitness_machine_feature,
        "CITYSPORTS-Linker walking pad, features 0x00001244 / 0x00000001 (Q8); "
        "hughesjs/FitnessMachine captures",
    ),
    (
        "speed-range-fitshow-fs-bt-t4",
        b"\x3c\x00\x7c\x01\x0a\x00",
        ftms.decode_speed_range,
        ftms.SpeedRange(min_kmh=0.6, max_kmh=3.8, increment_kmh=0.1),
        ftms.encode_speed_range,
        "FITSHOW FS-BT-T4 (DBT walking pad) reads 0.6 / 3.8 / 0.1 (Q4); "
        "justintout/treadmill README",
    ),
    (
        "speed-range-kingsmith-z1",
        b"\xa0\x00\x80\x02\x0a\x00",
        ftms.decode_speed_range,
        ftms.SpeedRange(min_kmh=1.6, max_kmh=6.4, increment_kmh=0.1),
        ftms.encode_speed_range,
        "KingSmith KS-HD-Z1D range 1.6–6.4 km/h; slandau3/z1-walkingpad-mcp docs/protocol.md "
        "(increment 0.1 assumed)",
    ),
    (
        "inclination-range-with-decline",
        b"\xe2\xff\x96\x00\x05\x00",
        ftms.decode_inclination_range,
        ftms.InclinationRange(min_pct=-3.0, max_pct=15.0, increment_pct=0.5),
        ftms.encode_inclination_range,
        "ref/ftms-spec.md §5: s16 minimum may be negative (decline treadmill, constructed)",
    ),
    (
        "resistance-range",
        b"\x0a\x00\xc8\x00\x0a\x00",
        ftms.decode_resistance_level_range,
        ftms.ResistanceLevelRange(min_level=1.0, max_level=20.0, increment_level=1.0),
        ftms.encode_resistance_level_range,
        "ref/ftms-spec.md §5 (s16, s16, u16; 0.1), constructed",
    ),
    (
        "power-range-kingsmith-zeros",
        b"\x00\x00\x00\x00\x00\x00",
        ftms.decode_power_range,
        ftms.PowerRange(min_w=0, max_w=0, increment_w=0),
        ftms.encode_power_range,
        "KingSmith treadmills read zeros (mcdax/walkingpad-controller "
        "docs/ftms-protocol-reference.md §1.1)",
    ),
    (
        "heart-rate-range",
        b"\x28\xdc\x01",
        ftms.decode_heart_rate_range,
        ftms.HeartRateRange(min_bpm=40, max_bpm=220, increment_bpm=1),
        ftms.encode_heart_rate_range,
        "ref/ftms-spec.md §5 (3 × u8 bpm), constructed",
    ),
]


@pytest.mark.parametrize(("name", "wire", "decoder", "expected", "encoder", "source"), VECTORS)
def test_vector_both_directions(
    name: str, wire: bytes, decoder: Any, expected: Any, encoder: Any, source: str
) -> None:
    """Each vector decodes to its value and that value encodes to the same octets."""
    assert decoder(wire) == expected
    assert encoder(expected) == wire
    assert decoder(wire + b"\xaa\xbb") == expected, "trailing octets are ignored"


DECODERS = [
    (ftms.decode_service_data, 3),
    (ftms.decode_fitness_machine_feature, 8),
    (ftms.decode_speed_range, 6),
    (ftms.decode_inclination_range, 6),
    (ftms.decode_resistance_level_range, 6),
    (ftms.decode_power_range, 6),
    (ftms.decode_heart_rate_range, 3),
]


@pytest.mark.parametrize(("decoder", "size"), DECODERS)
def test_short_input_raises_decode_error(decoder: Any, size: int) -> None:
    """One octet short of the fixed size raises FTMSDecodeError carrying the octets."""
    with pytest.raises(ftms.FTMSDecodeError) as caught:
        decoder(b"\x00" * (size - 1))
    assert caught.value.data == b"\x00" * (size - 1)


@given(st.sampled_from(DECODERS), st.binary(max_size=12))
def test_fuzz_only_decode_error_escapes(case: tuple[Any, int], data: bytes) -> None:
    """Random octets decode, or raise FTMSDecodeError when too short."""
    decoder, size = case
    try:
        decoder(data)
    except ftms.FTMSDecodeError:
        assert len(data) < size


@given(st.binary(min_size=8, max_size=8))
def test_feature_round_trips_every_bit_pattern(data: bytes) -> None:
    """RFU bits survive decode → encode, so nothing a device sends is lost."""
    feature = ftms.decode_fitness_machine_feature(data)
    assert ftms.encode_fitness_machine_feature(feature) == data


def test_rfu_feature_bits_are_kept_but_ignored_by_supports() -> None:
    """Bits 17–31 stay in the value; `supports` only answers for defined features."""
    feature = ftms.decode_fitness_machine_feature(b"\x00\x00\xfe\xff\x01\x00\xfe\xff")
    assert int(feature.machine) == 0xFFFE0000
    assert not feature.supports(ftms.MachineFeatures.AVERAGE_SPEED)
    assert feature.supports(ftms.TargetSettingFeatures.SPEED_TARGET)
    assert not feature.supports(ftms.TargetSettingFeatures.INCLINATION_TARGET)
    both = ftms.TargetSettingFeatures.SPEED_TARGET | ftms.TargetSettingFeatures.INCLINATION_TARGET
    assert not feature.supports(both)


def test_service_data_rfu_type_bits_are_kept() -> None:
    """Unknown machine-type bits stay in the IntFlag value."""
    decoded = ftms.decode_service_data(b"\xff\xff\xff")
    assert decoded.available
    assert int(decoded.machine_type) == 0xFFFF
    assert ftms.FitnessMachineType.TREADMILL in decoded.machine_type


@given(st.binary(min_size=6, max_size=6))
def test_ranges_round_trip_every_octet_pattern(data: bytes) -> None:
    """Every 6-octet range value decodes and encodes back to itself."""
    for decoder, encoder in [
        (ftms.decode_speed_range, ftms.encode_speed_range),
        (ftms.decode_inclination_range, ftms.encode_inclination_range),
        (ftms.decode_resistance_level_range, ftms.encode_resistance_level_range),
        (ftms.decode_power_range, ftms.encode_power_range),
    ]:
        assert encoder(decoder(data)) == data


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: ftms.encode_speed_range(ftms.SpeedRange(0.5, 655.36, 0.1)), "max_kmh"),
        (lambda: ftms.encode_speed_range(ftms.SpeedRange(-0.1, 5.0, 0.1)), "min_kmh"),
        (
            lambda: ftms.encode_inclination_range(ftms.InclinationRange(-3276.9, 1.0, 0.5)),
            "min_pct",
        ),
        (
            lambda: ftms.encode_inclination_range(ftms.InclinationRange(0.0, 1.0, -0.5)),
            "increment_pct",
        ),
        (lambda: ftms.encode_heart_rate_range(ftms.HeartRateRange(40, 256, 1)), "max_bpm"),
        (lambda: ftms.encode_power_range(ftms.PowerRange(0, 40000, 1)), "max_w"),
    ],
)
def test_range_encoders_name_the_field_that_does_not_fit(call: Any, field: str) -> None:
    """Out-of-range values raise FTMSEncodeError naming the field."""
    with pytest.raises(ftms.FTMSEncodeError) as caught:
        call()
    assert caught.value.field == field


def test_speed_range_scaling_uses_round() -> None:
    """8.2 and 1.15 km/h limits become 820 and 115."""
    wire = ftms.encode_speed_range(ftms.SpeedRange(1.15, 8.2, 0.1))
    assert wire == b"\x73\x00\x34\x03\x0a\x00"
