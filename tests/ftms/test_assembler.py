"""TreadmillDataAssembler: merging More Data fragments, and dropping them on reset."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadctl import ftms

TD = ftms.TreadmillData

# One record split in three by hand, as FTMS v1.0 Appendix 1 describes: distance, then
# elapsed time, then the speed with More Data = 0.
DISTANCE = b"\x05\x00\x10\x27\x00"  # More Data, Total Distance 10000 m
ELAPSED = b"\x01\x04\x58\x02"  # More Data, Elapsed Time 600 s
SPEED = b"\x00\x00\x90\x01"  # Speed 4.00 km/h, last
WHOLE = TD(speed_kmh=4.0, total_distance_m=10000, elapsed_time_s=600)


def test_fragments_merge_into_one_record() -> None:
    """None while the record is open, the merged record on the More Data = 0 notification."""
    assembler = ftms.TreadmillDataAssembler()
    assert assembler.feed(DISTANCE) is None
    assert assembler.feed(ELAPSED) is None
    assert assembler.feed(SPEED) == WHOLE


def test_reset_drops_a_partial_record() -> None:
    """After reset (link lost) the held fragments are gone; the next record stands alone."""
    assembler = ftms.TreadmillDataAssembler()
    assembler.feed(DISTANCE)
    assert assembler.pending
    assembler.reset()
    assert not assembler.pending
    assert assembler.feed(SPEED) == TD(speed_kmh=4.0)


def test_single_notification_records_pass_straight_through() -> None:
    """Without More Data every notification is a whole record."""
    assembler = ftms.TreadmillDataAssembler()
    assert assembler.feed(SPEED) == TD(speed_kmh=4.0)
    assert assembler.feed(b"\x00\x00\x91\x01") == TD(speed_kmh=4.01)


def test_undecodable_notification_keeps_the_partial_record() -> None:
    """A one-octet notification raises FTMSDecodeError; the open record survives it."""
    assembler = ftms.TreadmillDataAssembler()
    assembler.feed(DISTANCE)
    with pytest.raises(ftms.FTMSDecodeError):
        assembler.feed(b"\x05")
    assert assembler.feed(SPEED) == TD(speed_kmh=4.0, total_distance_m=10000)


def test_truncated_fragment_marks_the_record() -> None:
    """A cut fragment keeps its complete fields and makes the whole record truncated."""
    assembler = ftms.TreadmillDataAssembler()
    assembler.feed(b"\x85\x00\x10\x27\x00\x03\x00\xff")  # energy group cut after 1 octet
    assert assembler.feed(SPEED) == TD(
        speed_kmh=4.0, total_distance_m=10000, total_energy_kcal=3, truncated=True
    )


def test_later_fragment_wins_and_unavailable_merges() -> None:
    """A field sent twice takes the later value; sentinels from any fragment are kept."""
    assembler = ftms.TreadmillDataAssembler()
    assembler.feed(b"\x09\x00\xff\x7f\x05\x00")  # inclination n/a, ramp 0.5°
    assembler.feed(DISTANCE)
    record = assembler.feed(b"\x04\x00\x90\x01\x11\x27\x00")  # distance again: 10001 m
    assert record == TD(
        speed_kmh=4.0,
        total_distance_m=10001,
        ramp_angle_deg=0.5,
        unavailable=frozenset({"inclination_pct"}),
    )


def test_a_value_replaces_an_earlier_unavailable_mark() -> None:
    """A later real value clears the field's 'not available' mark."""
    assembler = ftms.TreadmillDataAssembler()
    assembler.feed(b"\x09\x00\xff\x7f\x05\x00")
    record = assembler.feed(b"\x08\x00\x90\x01\x14\x00\x05\x00")
    assert record == TD(speed_kmh=4.0, inclination_pct=2.0, ramp_angle_deg=0.5)


def test_step_count_extension_applies_to_fragments() -> None:
    """The assembler decodes with the per-device bit-13 option."""
    assembler = ftms.TreadmillDataAssembler(step_count_ext=True)
    assert assembler.feed(b"\x01\x20\x2a\x00\x00") is None
    assert assembler.feed(SPEED) == TD(speed_kmh=4.0, step_count=42)


@given(st.lists(st.binary(max_size=24), max_size=8), st.booleans())
def test_fuzz_fragment_sequences(notifications: list[bytes], ext: bool) -> None:
    """Any sequence of notifications yields records or None; only FTMSDecodeError escapes."""
    assembler = ftms.TreadmillDataAssembler(step_count_ext=ext)
    for data in notifications:
        try:
            record = assembler.feed(data)
        except ftms.FTMSDecodeError:
            assert len(data) < 2
            continue
        assert record is None or not record.more_data
