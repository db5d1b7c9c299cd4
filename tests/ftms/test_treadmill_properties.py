"""Treadmill Data properties: round trips over every flag combination, fuzzing, More Data."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from treadctl import ftms

TD = ftms.TreadmillData

# The wire format, written out from ref/ftms-spec.md §3.1 independently of the codec:
# flag bit → [(field, octets, signed, divisor, sentinel)].
SPEC: dict[int, list[tuple[str, int, bool, int, int | None]]] = {
    1: [("average_speed_kmh", 2, False, 100, None)],
    2: [("total_distance_m", 3, False, 1, None)],
    3: [("inclination_pct", 2, True, 10, 0x7FFF), ("ramp_angle_deg", 2, True, 10, 0x7FFF)],
    4: [
        ("positive_elevation_gain_m", 2, False, 10, None),
        ("negative_elevation_gain_m", 2, False, 10, None),
    ],
    5: [("instantaneous_pace", 1, False, 10, None)],
    6: [("average_pace", 1, False, 10, None)],
    7: [
        ("total_energy_kcal", 2, False, 1, 0xFFFF),
        ("energy_per_hour_kcal", 2, False, 1, 0xFFFF),
        ("energy_per_minute_kcal", 1, False, 1, 0xFF),
    ],
    8: [("heart_rate_bpm", 1, False, 1, None)],
    9: [("metabolic_equivalent", 1, False, 10, None)],
    10: [("elapsed_time_s", 2, False, 1, None)],
    11: [("remaining_time_s", 2, False, 1, None)],
    12: [("force_on_belt_n", 2, True, 1, 0x7FFF), ("power_output_w", 2, True, 1, 0x7FFF)],
}


def _value(raw: int, octets: int, signed: bool, divisor: int, pace_octets: int, name: str) -> Any:
    if name.endswith("_pace") and pace_octets == 2:
        return 30 / raw if raw else 0.0
    return raw / divisor if divisor != 1 else raw


@st.composite
def records(
    draw: st.DrawFn, flags: int | None = None, *, whole: bool = False
) -> tuple[TD, bool, int]:
    """(record, step_count_ext, pace_octets) as the decoder would produce them."""
    if flags is None:
        flags = draw(st.integers(0, 0x1FFF))
    if whole:
        flags &= ~1
    pace_octets = draw(st.sampled_from([1, 2]))
    step_count_ext = draw(st.booleans())
    fields: dict[str, Any] = {"more_data": bool(flags & 1)}
    unavailable = set()
    if not flags & 1:
        fields["speed_kmh"] = draw(st.integers(0, 0xFFFF)) / 100
    for bit, group in SPEC.items():
        if not flags & (1 << bit):
            continue
        for name, octets, signed, divisor, sentinel in group:
            width = pace_octets if name.endswith("_pace") else octets
            bits = 8 * width
            lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            raw = draw(st.integers(lo, hi))
            if raw == sentinel:
                fields[name] = None
                unavailable.add(name)
            else:
                fields[name] = _value(raw, width, signed, divisor, pace_octets, name)
    if step_count_ext and draw(st.booleans()):
        fields["step_count"] = draw(st.integers(0, 0xFFFFFF))
    return TD(**fields, unavailable=frozenset(unavailable)), step_count_ext, pace_octets


@given(records())
def test_decode_encode_round_trip(case: tuple[TD, bool, int]) -> None:
    """decode(encode(x)) == x for generated records over random flag combinations."""
    record, ext, pace_octets = case
    wire = ftms.encode_treadmill_data(record, step_count_ext=ext, pace_octets=pace_octets)
    assert ftms.decode_treadmill_data(wire, step_count_ext=ext) == record


def test_every_flag_combination_round_trips() -> None:
    """All 8192 flag combinations (bits 0–12) encode and decode back, seeded values."""
    rng = random.Random(20240601)
    for flags in range(0x2000):
        fields: dict[str, Any] = {"more_data": bool(flags & 1)}
        if not flags & 1:
            fields["speed_kmh"] = rng.randrange(0x10000) / 100
        for bit, group in SPEC.items():
            if flags & (1 << bit):
                for name, octets, signed, divisor, sentinel in group:
                    bits = 8 * octets
                    lo = -(1 << (bits - 1)) if signed else 0
                    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
                    raw = rng.randint(lo, hi - 1 if sentinel == hi else hi)
                    fields[name] = raw / divisor if divisor != 1 else raw
        record = TD(**fields)
        wire = ftms.encode_treadmill_data(record)
        assert wire[0] | (wire[1] << 8) == flags
        assert ftms.decode_treadmill_data(wire) == record, hex(flags)


@given(st.binary(max_size=48), st.booleans())
def test_random_bytes_raise_nothing_but_decode_error(data: bytes, ext: bool) -> None:
    """Any octets decode, or raise FTMSDecodeError when there are fewer than two."""
    try:
        record = ftms.decode_treadmill_data(data, step_count_ext=ext)
    except ftms.FTMSDecodeError:
        assert len(data) < 2
        return
    assert isinstance(record, TD)


@given(st.binary(min_size=2, max_size=48), st.booleans())
def test_decode_encode_decode_is_stable(data: bytes, ext: bool) -> None:
    """A complete decoded record re-encodes to octets that decode to the same record."""
    record = ftms.decode_treadmill_data(data, step_count_ext=ext)
    if record.truncated:
        return
    has_pace = record.instantaneous_pace is not None or record.average_pace is not None
    results = []
    for pace_octets in (1, 2) if has_pace else (1,):
        try:
            wire = ftms.encode_treadmill_data(record, step_count_ext=ext, pace_octets=pace_octets)
        except ftms.FTMSEncodeError:
            continue  # e.g. a 2-octet pace that the 1-octet layout cannot carry
        results.append(ftms.decode_treadmill_data(wire, step_count_ext=ext) == record)
    assert any(results)


@given(records(whole=True), st.integers(7, 40))
def test_split_record_fed_one_fragment_at_a_time(
    case: tuple[TD, bool, int], max_payload: int
) -> None:
    """split → assembler gives the record back; fragments obey the More Data rules."""
    record, ext, pace_octets = case
    fragments = ftms.split_treadmill_data(
        record, max_payload, step_count_ext=ext, pace_octets=pace_octets
    )
    assembler = ftms.TreadmillDataAssembler(step_count_ext=ext)
    for fragment in fragments[:-1]:
        assert len(fragment) <= max_payload
        assert fragment[0] & 0x01, "every fragment but the last has More Data = 1"
        assert ftms.decode_treadmill_data(fragment, step_count_ext=ext).speed_kmh is None
        assert assembler.feed(fragment) is None
        assert assembler.pending
    last = fragments[-1]
    assert len(last) <= max_payload
    assert not last[0] & 0x01, "the last fragment has More Data = 0 and the speed"
    assert assembler.feed(last) == record
    assert not assembler.pending


@given(records(whole=True), st.integers(7, 40))
def test_split_fragments_are_each_complete(case: tuple[TD, bool, int], max_payload: int) -> None:
    """No fragment is truncated and the union of their fields is the record."""
    record, ext, pace_octets = case
    fragments = ftms.split_treadmill_data(
        record, max_payload, step_count_ext=ext, pace_octets=pace_octets
    )
    seen: set[str] = set()
    for fragment in fragments:
        decoded = ftms.decode_treadmill_data(fragment, step_count_ext=ext)
        assert not decoded.truncated
        present = {
            f.name
            for f in dataclasses.fields(decoded)
            if f.name not in ("more_data", "truncated", "unavailable")
            and getattr(decoded, f.name) is not None
        } | decoded.unavailable
        assert not present & seen, "a field is not duplicated within a record"
        seen |= present
