"""Treadmill Data edge cases: scaling, sentinels, widths, truncation, pace layouts, errors."""

from __future__ import annotations

import math

import pytest

from treadctl import ftms

TD = ftms.TreadmillData
decode = ftms.decode_treadmill_data
encode = ftms.encode_treadmill_data


def test_speed_8_2_goes_over_the_air_as_820() -> None:
    """8.2 km/h is 820 (0x0334) on the wire, not 819."""
    assert encode(TD(speed_kmh=8.2)) == b"\x00\x00\x34\x03"


def test_speed_1_15_goes_over_the_air_as_115() -> None:
    """1.15 km/h is 115 (0x0073) on the wire, not 114."""
    assert encode(TD(speed_kmh=1.15)) == b"\x00\x00\x73\x00"


def test_integer_speed_is_accepted() -> None:
    """A whole-number speed given as int encodes like the float."""
    assert encode(TD(speed_kmh=3)) == b"\x00\x00\x2c\x01"


def test_negative_inclination_and_ramp_round_trip() -> None:
    """Inclination and ramp angle are signed: -1.5 % and -0.9° survive both directions."""
    wire = b"\x08\x00\x2c\x01\xf1\xff\xf7\xff"
    record = TD(speed_kmh=3.0, inclination_pct=-1.5, ramp_angle_deg=-0.9)
    assert encode(record) == wire
    assert decode(wire) == record


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (
            b"\x08\x00\x00\x00\xff\x7f\x0a\x00",
            TD(speed_kmh=0.0, ramp_angle_deg=1.0, unavailable=frozenset({"inclination_pct"})),
        ),
        (
            b"\x80\x00\x00\x00\xff\xff\xff\xff\xff",
            TD(
                speed_kmh=0.0,
                unavailable=frozenset(
                    {"total_energy_kcal", "energy_per_hour_kcal", "energy_per_minute_kcal"}
                ),
            ),
        ),
        (
            b"\x00\x10\x00\x00\xff\x7f\xff\x7f",
            TD(speed_kmh=0.0, unavailable=frozenset({"force_on_belt_n", "power_output_w"})),
        ),
    ],
    ids=["inclination-0x7fff", "energy-0xffff-0xff", "force-power-0x7fff"],
)
def test_data_not_available_sentinels_decode_to_none_and_re_encode(
    wire: bytes, expected: ftms.TreadmillData
) -> None:
    """The spec's "data not available" values become None, and encode back to themselves."""
    assert decode(wire) == expected
    assert encode(expected) == wire


def test_fields_without_sentinels_decode_literally() -> None:
    """0xFFFF elapsed/remaining/elevation, 0xFF heart rate and MET are values, not sentinels."""
    wire = b"\x10\x0f\x00\x00" + b"\xff\xff\xff\xff" + b"\xff\xff" + b"\xff\xff\xff\xff"
    record = decode(wire)
    assert record.positive_elevation_gain_m == 6553.5
    assert record.negative_elevation_gain_m == 6553.5
    assert record.heart_rate_bpm == 255
    assert record.metabolic_equivalent == 25.5
    assert record.elapsed_time_s == 65535
    assert record.remaining_time_s == 65535
    assert record.unavailable == frozenset()
    assert encode(record) == wire


def test_u24_distance_uses_all_three_octets() -> None:
    """Total Distance is u24: 0x123456 m decodes whole, and 2^24 m does not fit."""
    wire = b"\x04\x00\x00\x00\x56\x34\x12"
    assert decode(wire).total_distance_m == 0x123456
    assert encode(TD(speed_kmh=0.0, total_distance_m=0xFFFFFF)) == b"\x04\x00\x00\x00\xff\xff\xff"
    with pytest.raises(ftms.FTMSEncodeError) as caught:
        encode(TD(speed_kmh=0.0, total_distance_m=0x1000000))
    assert caught.value.field == "total_distance_m"


@pytest.mark.parametrize("data", [b"", b"\x00"])
def test_fewer_than_two_octets_cannot_be_decoded(data: bytes) -> None:
    """No flags, no record: FTMSDecodeError, which is also a ValueError."""
    with pytest.raises(ftms.FTMSDecodeError) as caught:
        decode(data)
    assert isinstance(caught.value, ValueError)
    assert caught.value.characteristic == "treadmill data"


def test_flags_promising_speed_with_nothing_after_are_truncated() -> None:
    """`00 00` promises a speed that is not there: an empty, truncated record."""
    assert decode(b"\x00\x00") == TD(truncated=True)


def test_more_data_fragment_without_fields() -> None:
    """`01 00` is a More Data fragment carrying nothing, complete as sent."""
    assert decode(b"\x01\x00") == TD(more_data=True)


def test_rfu_flag_bits_and_trailing_octets_are_ignored() -> None:
    """Bits 13–15 and octets after the last field change nothing (FTMP §4.4.2)."""
    assert decode(b"\x00\xe0\x64\x00\xaa\xbb") == TD(speed_kmh=1.0)


def test_step_count_extension_u24_u16_and_missing() -> None:
    """Bit 13 with the extension: 3 octets → u24, 2 → u16, fewer → truncated."""
    base = b"\x00\x20\x64\x00"
    assert decode(base + b"\x01\x02\x03", step_count_ext=True).step_count == 0x030201
    assert decode(base + b"\x01\x02", step_count_ext=True).step_count == 0x0201
    assert decode(base + b"\x01", step_count_ext=True) == TD(speed_kmh=1.0, truncated=True)
    assert decode(base, step_count_ext=True) == TD(speed_kmh=1.0, truncated=True)


def test_step_count_extension_without_bit_13_reads_nothing() -> None:
    """With the extension on but bit 13 clear, trailing octets are still ignored."""
    assert decode(b"\x00\x00\x64\x00\x01\x02\x03", step_count_ext=True) == TD(speed_kmh=1.0)


def test_step_count_is_encoded_as_u24_behind_bit_13() -> None:
    """The encoder writes the vendor step count as u24 and sets bit 13."""
    record = TD(speed_kmh=1.0, step_count=70000)
    assert encode(record, step_count_ext=True) == b"\x00\x20\x64\x00\x70\x11\x01"


def test_pace_one_octet_layout_when_the_length_matches() -> None:
    """Pace bits with a v1.0-sized payload: u8 in 0.1 km/min."""
    record = decode(b"\x60\x00\xe8\x03\x0f\x0a")
    assert record == TD(speed_kmh=10.0, instantaneous_pace=1.5, average_pace=1.0)
    assert encode(record) == b"\x60\x00\xe8\x03\x0f\x0a"


def test_pace_two_octet_layout_only_when_only_it_matches() -> None:
    """A payload that fits only 2-octet pace is read as GSS u16 seconds per 500 m."""
    record = decode(b"\x20\x04\xe8\x03\x3c\x00\x3c\x00")
    assert record == TD(speed_kmh=10.0, instantaneous_pace=0.5, elapsed_time_s=60)
    assert encode(record, pace_octets=2) == b"\x20\x04\xe8\x03\x3c\x00\x3c\x00"


def test_pace_ambiguous_length_falls_back_to_one_octet() -> None:
    """A length matching neither layout (trailing octets) is read with the v1.0 layout."""
    record = decode(b"\x20\x04\xe8\x03\x0f\x3c\x00\xaa\xbb\xcc")
    assert record == TD(speed_kmh=10.0, instantaneous_pace=1.5, elapsed_time_s=60)


def test_pace_zero_seconds_is_standing() -> None:
    """In the 2-octet layout 0 s decodes as 0.0 km/min and encodes back to 0."""
    wire = b"\x20\x00\x00\x00\x00\x00"
    record = decode(wire)
    assert record.instantaneous_pace == 0.0
    assert encode(record, pace_octets=2) == wire


@pytest.mark.parametrize(
    ("record", "kwargs", "field"),
    [
        (TD(speed_kmh=655.36), {}, "speed_kmh"),
        (TD(speed_kmh=-0.01), {}, "speed_kmh"),
        (TD(speed_kmh=math.nan), {}, "speed_kmh"),
        (TD(speed_kmh=math.inf), {}, "speed_kmh"),
        (TD(speed_kmh="fast"), {}, "speed_kmh"),  # type: ignore[arg-type]
        (TD(speed_kmh=1.0, inclination_pct=3276.7, ramp_angle_deg=0.0), {}, "inclination_pct"),
        (
            TD(
                speed_kmh=1.0,
                total_energy_kcal=65535,
                energy_per_hour_kcal=0,
                energy_per_minute_kcal=0,
            ),
            {},
            "total_energy_kcal",
        ),
        (TD(speed_kmh=1.0, heart_rate_bpm=256), {}, "heart_rate_bpm"),
        (TD(speed_kmh=1.0, heart_rate_bpm=True), {}, "heart_rate_bpm"),  # type: ignore[arg-type]
        (TD(speed_kmh=1.0, elapsed_time_s=1.5), {}, "elapsed_time_s"),  # type: ignore[arg-type]
        (TD(speed_kmh=1.0, positive_elevation_gain_m=1.0), {}, "negative_elevation_gain_m"),
        (TD(speed_kmh=1.0, step_count=5), {}, "step_count"),
        (TD(speed_kmh=1.0, step_count=1 << 24), {"step_count_ext": True}, "step_count"),
        (TD(speed_kmh=1.0, instantaneous_pace=25.6), {}, "instantaneous_pace"),
        (TD(speed_kmh=1.0, instantaneous_pace=-1.0), {"pace_octets": 2}, "instantaneous_pace"),
        (TD(speed_kmh=1.0), {"pace_octets": 3}, "pace_octets"),
        (TD(more_data=True, speed_kmh=1.0), {}, "speed_kmh"),
        (TD(average_speed_kmh=1.0), {}, "speed_kmh"),
        (TD(speed_kmh=1.0, unavailable=frozenset({"elapsed_time_s"})), {}, "elapsed_time_s"),
        (
            TD(
                speed_kmh=1.0,
                inclination_pct=1.0,
                ramp_angle_deg=1.0,
                unavailable=frozenset({"inclination_pct"}),
            ),
            {},
            "inclination_pct",
        ),
    ],
)
def test_encoder_refuses_what_the_wire_cannot_carry(
    record: ftms.TreadmillData, kwargs: dict[str, object], field: str
) -> None:
    """Out-of-range, sentinel-colliding or inexpressible values raise, naming the field."""
    with pytest.raises(ftms.FTMSEncodeError) as caught:
        encode(record, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert field in str(caught.value)


def test_more_data_fragment_encodes_without_speed() -> None:
    """A fragment (more_data=True) sets bit 0 and carries no speed field."""
    record = TD(more_data=True, total_distance_m=5)
    assert encode(record) == b"\x05\x00\x05\x00\x00"
    assert decode(b"\x05\x00\x05\x00\x00") == record


def test_record_is_frozen_and_hashable() -> None:
    """Decoded records are immutable values usable as dict keys."""
    record = decode(b"\x00\x00\x64\x00")
    with pytest.raises(AttributeError):
        record.speed_kmh = 2.0  # type: ignore[misc]
    assert {record: 1}[TD(speed_kmh=1.0)] == 1
