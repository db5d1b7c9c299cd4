"""Treadmill Data against recorded frames from real treadmills, in both directions."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadctl import ftms

TD = ftms.TreadmillData


@dataclasses.dataclass(frozen=True)
class Vector:
    name: str
    hex: str
    expected: ftms.TreadmillData
    source: str
    step_count_ext: bool = False
    # What encode(expected) gives: "same" (the frame itself), other hex, or None (not
    # re-encodable: a truncated frame lost fields the flags promise).
    reencoded: str | None = "same"


VECTORS = [
    Vector(
        "treadctl-issue-2-check",
        "0c045203020000000000000100",
        TD(
            speed_kmh=8.5,
            total_distance_m=2,
            inclination_pct=0.0,
            ramp_angle_deg=0.0,
            elapsed_time_s=1,
        ),
        "treadctl issue #2 'Done when' check (flags 0x040C)",
    ),
    Vector(
        "citysports-jg-0x22-steps-66",
        "8424aa002100000100ffffff3c00420000",
        TD(
            speed_kmh=1.7,
            total_distance_m=33,
            total_energy_kcal=1,
            elapsed_time_s=60,
            step_count=66,
            unavailable=frozenset({"energy_per_hour_kcal", "energy_per_minute_kcal"}),
        ),
        "CITYSPORTS-Linker JG-0x22 walking pad, btsnoop; hughesjs/FitnessMachine protocol/notes "
        "('Second Capture … 0.03km, 1kcal, 1:00, Steps ~65'); Q1 bit-13 steps",
        step_count_ext=True,
    ),
    Vector(
        "citysports-jg-0x22-steps-ignored",
        "8424aa002100000100ffffff3c00420000",
        TD(
            speed_kmh=1.7,
            total_distance_m=33,
            total_energy_kcal=1,
            elapsed_time_s=60,
            unavailable=frozenset({"energy_per_hour_kcal", "energy_per_minute_kcal"}),
        ),
        "same frame without the bit-13 extension: bit 13 and the 3 trailing octets are ignored",
        reencoded="8404aa002100000100ffffff3c00",
    ),
    Vector(
        "citysports-cs-wp8-49m-3kcal-100-steps",
        "8424140031000003000000004600640000",
        TD(
            speed_kmh=0.2,
            total_distance_m=49,
            total_energy_kcal=3,
            energy_per_hour_kcal=0,
            energy_per_minute_kcal=0,
            elapsed_time_s=70,
            step_count=100,
        ),
        "CITYSPORTS-Linker CS-WP8, nRF Connect 00:16:21.464; hughesjs/FitnessMachine "
        "protocol/CS-WP8/1_to_3_with_person_60s_49m_3cal.log (0 instead of sentinels, Q5)",
        step_count_ext=True,
    ),
    Vector(
        "citysports-cs-wp8-1kmh-first-second",
        "8424640000000000000000000100010000",
        TD(
            speed_kmh=1.0,
            total_distance_m=0,
            total_energy_kcal=0,
            energy_per_hour_kcal=0,
            energy_per_minute_kcal=0,
            elapsed_time_s=1,
            step_count=1,
        ),
        "CITYSPORTS-Linker CS-WP8, nRF Connect 00:15:10.468; hughesjs/FitnessMachine "
        "protocol/CS-WP8/1_to_3_with_person_60s_49m_3cal.log",
        step_count_ext=True,
    ),
    Vector(
        "kingsmith-ks-hd-z1d-u16-steps",
        "0424c80028000048006400",
        TD(speed_kmh=2.0, total_distance_m=40, elapsed_time_s=72, step_count=100),
        "KingSmith KS-HD-Z1D layout (flags 0x2404, u16 steps); slandau3/z1-walkingpad-mcp "
        "docs/protocol.md, frame built as in its tests/test_client.py (2.0 km/h, 40 m, 100 steps)",
        step_count_ext=True,
        reencoded="0424c8002800004800640000",  # we always send the u24 form
    ),
    Vector(
        "urevo-hassio-ftms-3-zeros",
        "9c25" + "00" * 24,
        TD(
            speed_kmh=0.0,
            total_distance_m=0,
            inclination_pct=0.0,
            ramp_angle_deg=0.0,
            positive_elevation_gain_m=0.0,
            negative_elevation_gain_m=0.0,
            total_energy_kcal=0,
            energy_per_hour_kcal=0,
            energy_per_minute_kcal=0,
            heart_rate_bpm=0,
            elapsed_time_s=0,
            step_count=0,
        ),
        "Urevo treadmill (flags 0x259C, 26 octets); dudanov/hassio-ftms issue #3, "
        "as tested in dudanov/pyftms tests/test_models.py",
        step_count_ext=True,
    ),
    Vector(
        "horizon-idle-zeros",
        "8404" + "00" * 12,
        TD(
            speed_kmh=0.0,
            total_distance_m=0,
            total_energy_kcal=0,
            energy_per_hour_kcal=0,
            energy_per_minute_kcal=0,
            elapsed_time_s=0,
        ),
        "Horizon treadmill, iOS log 'Value of Characteristic 2ACD updated to 0x84-04-00…'; "
        "cagnulein/qdomyos-zwift issue #175",
    ),
    Vector(
        "life-fitness-0x049e",
        "9e04730233022500003c00ff7f0000ff7f0200ffffff1f00",
        TD(
            speed_kmh=6.27,
            average_speed_kmh=5.63,
            total_distance_m=37,
            inclination_pct=6.0,
            positive_elevation_gain_m=0.0,
            negative_elevation_gain_m=3276.7,
            total_energy_kcal=2,
            elapsed_time_s=31,
            unavailable=frozenset(
                {"ramp_angle_deg", "energy_per_hour_kcal", "energy_per_minute_kcal"}
            ),
        ),
        "Life Fitness treadmill (0x7FFF in the unsigned Negative Elevation Gain, Q5); "
        "TrackMyIndoorWorkout test/life_fitness_treadmill_test.dart",
    ),
    Vector(
        "life-fitness-0x059e-heart-rate",
        "9e0517059202fb00000000ff7f7c00ff7f1b00ffffff698a00",
        TD(
            speed_kmh=13.03,
            average_speed_kmh=6.58,
            total_distance_m=251,
            inclination_pct=0.0,
            positive_elevation_gain_m=12.4,
            negative_elevation_gain_m=3276.7,
            total_energy_kcal=27,
            heart_rate_bpm=105,
            elapsed_time_s=138,
            unavailable=frozenset(
                {"ramp_angle_deg", "energy_per_hour_kcal", "energy_per_minute_kcal"}
            ),
        ),
        "Life Fitness treadmill; TrackMyIndoorWorkout test/life_fitness_treadmill_test.dart",
    ),
    Vector(
        "life-fitness-0x0c9e-remaining-time",
        "9e0c5000bd025301000000ff7f7c00ff7f2300ffffffad003b00",
        TD(
            speed_kmh=0.8,
            average_speed_kmh=7.01,
            total_distance_m=339,
            inclination_pct=0.0,
            positive_elevation_gain_m=12.4,
            negative_elevation_gain_m=3276.7,
            total_energy_kcal=35,
            elapsed_time_s=173,
            remaining_time_s=59,
            unavailable=frozenset(
                {"ramp_angle_deg", "energy_per_hour_kcal", "energy_per_minute_kcal"}
            ),
        ),
        "Life Fitness treadmill; TrackMyIndoorWorkout test/life_fitness_treadmill_test.dart",
    ),
    Vector(
        "matrix-0x1b9e-before-workout-20-of-30",
        "9e1b000000000000000000ff7f0000ffff000000",
        TD(
            speed_kmh=0.0,
            average_speed_kmh=0.0,
            total_distance_m=0,
            inclination_pct=0.0,
            positive_elevation_gain_m=0.0,
            negative_elevation_gain_m=6553.5,
            total_energy_kcal=0,
            truncated=True,
            unavailable=frozenset({"ramp_angle_deg"}),
        ),
        "Matrix treadmill, 20 octets where flags 0x1B9E promise 30 (Q2); "
        "TrackMyIndoorWorkout test/matrix_treadmill_test.dart",
        reencoded=None,
    ),
    Vector(
        "matrix-0x1f9e-during-workout-20-of-32",
        "9e1fc60394023e01005a00ff7f3200ffff2500f4",
        TD(
            speed_kmh=9.66,
            average_speed_kmh=6.6,
            total_distance_m=318,
            inclination_pct=9.0,
            positive_elevation_gain_m=5.0,
            negative_elevation_gain_m=6553.5,
            total_energy_kcal=37,
            truncated=True,
            unavailable=frozenset({"ramp_angle_deg"}),
        ),
        "Matrix treadmill, 20 octets where flags 0x1F9E promise 32 (Q2); "
        "TrackMyIndoorWorkout test/matrix_treadmill_test.dart (TMIW #223)",
        reencoded=None,
    ),
    Vector(
        "matrix-0x1f9e-88m",
        "9e1f5100b2005800000000ff7f0000ffff0c0097",
        TD(
            speed_kmh=0.81,
            average_speed_kmh=1.78,
            total_distance_m=88,
            inclination_pct=0.0,
            positive_elevation_gain_m=0.0,
            negative_elevation_gain_m=6553.5,
            total_energy_kcal=12,
            truncated=True,
            unavailable=frozenset({"ramp_angle_deg"}),
        ),
        "Matrix treadmill; TrackMyIndoorWorkout test/matrix_treadmill_test.dart",
        reencoded=None,
    ),
]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_decode_recorded_frame(vector: Vector) -> None:
    """Each recorded frame decodes to exactly the record its source describes."""
    record = ftms.decode_treadmill_data(
        bytes.fromhex(vector.hex), step_count_ext=vector.step_count_ext
    )
    assert record == vector.expected


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v.reencoded is not None], ids=lambda v: v.name
)
def test_encode_recorded_record(vector: Vector) -> None:
    """Encoding the expected record gives the recorded octets back (or their canonical form)."""
    wire = ftms.encode_treadmill_data(vector.expected, step_count_ext=vector.step_count_ext)
    assert wire.hex() == (vector.hex if vector.reencoded == "same" else vector.reencoded)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_recorded_frame_through_assembler(vector: Vector) -> None:
    """The assembler passes a single-notification record through unchanged."""
    assembler = ftms.TreadmillDataAssembler(step_count_ext=vector.step_count_ext)
    assert assembler.feed(bytes.fromhex(vector.hex)) == vector.expected
    assert not assembler.pending


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_recorded_frame_fed_as_bytearray_and_memoryview(vector: Vector) -> None:
    """bleak hands over bytearray; the decoder accepts any bytes-like object."""
    data = bytes.fromhex(vector.hex)
    for view in (bytearray(data), memoryview(data)):
        record = ftms.decode_treadmill_data(view, step_count_ext=vector.step_count_ext)
        assert record == vector.expected


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_recorded_frame_prefixes_never_fail(vector: Vector) -> None:
    """Every cut of a real frame (≥ 2 octets) decodes, keeps its leading fields, and says so."""
    data = bytes.fromhex(vector.hex)
    full = ftms.decode_treadmill_data(data, step_count_ext=vector.step_count_ext)
    for cut in range(2, len(data)):
        record = ftms.decode_treadmill_data(data[:cut], step_count_ext=vector.step_count_ext)
        assert record.more_data == full.more_data
        for field in dataclasses.fields(record):
            value = getattr(record, field.name)
            if value is not None and field.name not in ("truncated", "unavailable"):
                assert value == getattr(full, field.name), (cut, field.name)
        # One octet short of a u24 step count is the valid u16 form (Q1), not a cut.
        u16_steps = vector.step_count_ext and cut == len(data) - 1
        if not full.truncated and vector.reencoded == "same" and not u16_steps:
            assert record.truncated, cut


@st.composite
def mutated_frames(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A real frame with a few octets changed, inserted or removed."""
    vector = draw(st.sampled_from(VECTORS))
    data = bytearray.fromhex(vector.hex)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data.insert(at, draw(st.integers(0, 255)))
        elif data and at < len(data):
            del data[at]
    return bytes(data), vector.step_count_ext


@given(mutated_frames())
def test_mutated_real_frames_decode_or_raise_decode_error(case: tuple[bytes, bool]) -> None:
    """Mutated captures never crash the decoder; only a frame under 2 octets is refused."""
    data, ext = case
    try:
        record = ftms.decode_treadmill_data(data, step_count_ext=ext)
    except ftms.FTMSDecodeError:
        assert len(data) < 2
    else:
        assert isinstance(record, ftms.TreadmillData)
