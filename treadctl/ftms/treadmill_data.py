"""Treadmill Data (0x2ACD): the record type and its decoder.

Owns: `TreadmillData` and `decode_treadmill_data` (FTMS v1.0 §4.9, ref/ftms-spec.md §3). Rules:
fields in spec order, each only when its flag says so; RFU flag bits and trailing octets are
ignored (FTMP §4.4.2); a frame whose flags promise more than was sent keeps its complete leading
fields and is marked `truncated` (Q2) — nothing is ever read past the end; only the spec's "data
not available" values become None (Q5); the vendor bit-13 step count is opt-in (Q1).

Speed: the decoder compiles one layout per (flags, length, step_count_ext) — a precompiled
`struct.Struct` plus the list of scalings — and caches it, so a notification costs one
`unpack_from` and a few dictionary stores.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import Any, Final

from treadctl.errors import FTMSDecodeError

# Fields that have a "data not available" value, and that value (ref/ftms-spec.md §3.1).
SENTINELS: Final[dict[str, int]] = {
    "inclination_pct": 0x7FFF,
    "ramp_angle_deg": 0x7FFF,
    "total_energy_kcal": 0xFFFF,
    "energy_per_hour_kcal": 0xFFFF,
    "energy_per_minute_kcal": 0xFF,
    "force_on_belt_n": 0x7FFF,
    "power_output_w": 0x7FFF,
}


@dataclass(frozen=True)
class TreadmillData:
    """One Treadmill Data record (or, with `more_data`, one fragment of a record).

    Every measurement is None when its flag is absent or it holds the spec's "data not
    available" value. Units are in the names; `metabolic_equivalent` is in MET.

    Pace (`instantaneous_pace`, `average_pace`) is in **km/min**, the FTMS v1.0 unit (SIG XML:
    u8, 0.1 km/min; 1.5 km/min = 9 km/h). No public capture carries pace. When the length
    check of ref/ftms-spec.md §3.3 selects the 2-octet layout of the current GSS (u16 seconds
    per 500 m), the value is converted to km/min as 30 / seconds (0 seconds → 0.0).

    `unavailable` names the fields that were present on the wire with their "data not available"
    value (e.g. `{"energy_per_hour_kcal"}`), so that encoding a decoded record gives back the
    same octets. `truncated` is True when the flags promised more octets than were sent; the
    complete fields before the cut are kept. `step_count` is the vendor bit-13 extension (Q1).
    """

    more_data: bool = False
    speed_kmh: float | None = None
    average_speed_kmh: float | None = None
    total_distance_m: int | None = None
    inclination_pct: float | None = None
    ramp_angle_deg: float | None = None
    positive_elevation_gain_m: float | None = None
    negative_elevation_gain_m: float | None = None
    instantaneous_pace: float | None = None
    average_pace: float | None = None
    total_energy_kcal: int | None = None
    energy_per_hour_kcal: int | None = None
    energy_per_minute_kcal: int | None = None
    heart_rate_bpm: int | None = None
    metabolic_equivalent: float | None = None
    elapsed_time_s: int | None = None
    remaining_time_s: int | None = None
    force_on_belt_n: int | None = None
    power_output_w: int | None = None
    step_count: int | None = None
    truncated: bool = False
    unavailable: frozenset[str] = frozenset()


VALUE_FIELDS: Final = tuple(
    f.name for f in fields(TreadmillData) if f.name not in ("more_data", "truncated", "unavailable")
)

# (name, struct code, divisor or 0 for an integer) per flag bit, in spec order. "T" marks u24
# (read as H + B), "P" a pace field (1 or 2 octets, see the length check).
SPEED: Final = ("speed_kmh", "H", 100)
GROUPS: Final[tuple[tuple[int, tuple[tuple[str, str, int], ...]], ...]] = (
    (1 << 1, (("average_speed_kmh", "H", 100),)),
    (1 << 2, (("total_distance_m", "T", 0),)),
    (1 << 3, (("inclination_pct", "h", 10), ("ramp_angle_deg", "h", 10))),
    (1 << 4, (("positive_elevation_gain_m", "H", 10), ("negative_elevation_gain_m", "H", 10))),
    (1 << 5, (("instantaneous_pace", "P", 10),)),
    (1 << 6, (("average_pace", "P", 10),)),
    (
        1 << 7,
        (
            ("total_energy_kcal", "H", 0),
            ("energy_per_hour_kcal", "H", 0),
            ("energy_per_minute_kcal", "B", 0),
        ),
    ),
    (1 << 8, (("heart_rate_bpm", "B", 0),)),
    (1 << 9, (("metabolic_equivalent", "B", 10),)),
    (1 << 10, (("elapsed_time_s", "H", 0),)),
    (1 << 11, (("remaining_time_s", "H", 0),)),
    (1 << 12, (("force_on_belt_n", "h", 0), ("power_output_w", "h", 0))),
)
MORE_DATA: Final = 1 << 0
STEP_COUNT_BIT: Final = 1 << 13
OCTETS: Final = {"H": 2, "h": 2, "B": 1, "T": 3}  # octets per struct code ("T": u24)


class _Layout:
    """How to decode one (flags, length, step_count_ext) combination."""

    __slots__ = ("base", "checked", "pace2", "plain", "scaled", "u24", "unpack")

    def __init__(self) -> None:
        self.unpack: Any = None
        self.base: dict[str, Any] = {}
        self.plain: list[tuple[str, int]] = []
        self.scaled: list[tuple[str, int, int]] = []
        self.checked: list[tuple[str, int, int, int]] = []
        self.u24: list[tuple[str, int]] = []
        self.pace2: list[tuple[str, int]] = []


_TEMPLATE: Final[dict[str, Any]] = {f.name: f.default for f in fields(TreadmillData)}
_CACHE: dict[int, _Layout] = {}
_CACHE_MAX: Final = 4096


def _field_list(flags: int) -> list[tuple[str, str, int]]:
    found = [] if flags & MORE_DATA else [SPEED]
    for bit, group in GROUPS:
        if flags & bit:
            found.extend(group)
    return found


def _size(code: str, pace_octets: int) -> int:
    return pace_octets if code == "P" else OCTETS[code]


def _length_matches(
    specs: list[tuple[str, str, int]], pace_octets: int, length: int, steps: bool
) -> bool:
    rest = length - 2 - sum(_size(code, pace_octets) for _, code, _ in specs)
    return rest in (2, 3) if steps else rest == 0


def _add_field(
    layout: _Layout, codes: list[str], name: str, code: str, divisor: int, pace_octets: int
) -> None:
    """Append one field's struct codes and its conversion to the layout."""
    index = len(codes)
    if code == "T":
        codes += ["H", "B"]
        layout.u24.append((name, index))
    elif code == "P" and pace_octets == 2:
        codes.append("H")
        layout.pace2.append((name, index))
    elif code == "P":
        codes.append("B")
        layout.scaled.append((name, index, divisor))
    elif name in SENTINELS:
        codes.append(code)
        layout.checked.append((name, index, SENTINELS[name], divisor))
    else:
        codes.append(code)
        if divisor:
            layout.scaled.append((name, index, divisor))
        else:
            layout.plain.append((name, index))


def _compile(flags: int, length: int, step_count_ext: bool) -> _Layout:
    """Walk the flags' fields in spec order, stopping at the first that does not fit."""
    specs = _field_list(flags)
    steps = step_count_ext and bool(flags & STEP_COUNT_BIT)
    pace_octets = 1  # ref/ftms-spec.md §3.3: the v1.0 layout unless only the GSS one fits.
    if flags & 0x60 and not _length_matches(specs, 1, length, steps):
        pace_octets = 2 if _length_matches(specs, 2, length, steps) else 1
    layout = _Layout()
    codes: list[str] = []
    offset, truncated = 2, False
    for name, code, divisor in specs:
        size = _size(code, pace_octets)
        if offset + size > length:
            truncated = True
            break
        offset += size
        _add_field(layout, codes, name, code, divisor, pace_octets)
    if steps and not truncated:
        rest = length - offset  # vendor step count (Q1): u24, or u16 when only 2 octets remain
        if rest >= 2:
            _add_field(layout, codes, "step_count", "T" if rest >= 3 else "H", 0, pace_octets)
        else:
            truncated = True
    layout.unpack = struct.Struct("<" + "".join(codes)).unpack_from
    layout.base = dict(_TEMPLATE, more_data=bool(flags & MORE_DATA), truncated=truncated)
    return layout


_new = object.__new__
_set = object.__setattr__


def decode_treadmill_data(data: bytes, *, step_count_ext: bool = False) -> TreadmillData:
    """Decode one Treadmill Data notification.

    `step_count_ext` (per device, from its quirk profile) reads the vendor step count behind
    RFU flag bit 13: u24 LE after the standard fields, or u16 LE when only 2 octets remain.
    Raises `FTMSDecodeError` only for fewer than 2 octets (no flags); everything else decodes.
    """
    length = len(data)
    if length < 2:
        raise FTMSDecodeError(
            f"treadmill data: need at least 2 octets of flags, got {length} ({bytes(data).hex()})",
            characteristic="treadmill data",
            data=data,
        )
    flags = data[0] | (data[1] << 8)
    key = (flags & (0x3FFF if step_count_ext else 0x1FFF)) | (min(length, 48) << 16)
    if step_count_ext:
        key |= 1 << 24
    layout = _CACHE.get(key)
    if layout is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        layout = _CACHE[key] = _compile(flags, length, step_count_ext)
    # Hot path (every notification): kept in one function on purpose, no per-field calls.
    values = layout.unpack(data, 2)
    record = layout.base.copy()
    for name, index in layout.plain:
        record[name] = values[index]
    for name, index, divisor in layout.scaled:
        record[name] = values[index] / divisor
    if layout.u24:
        for name, index in layout.u24:
            record[name] = values[index] | (values[index + 1] << 16)
    if layout.checked:
        unavailable = []
        for name, index, sentinel, divisor in layout.checked:
            raw = values[index]
            if raw == sentinel:
                record[name] = None
                unavailable.append(name)
            else:
                record[name] = raw / divisor if divisor else raw
        if unavailable:
            record["unavailable"] = frozenset(unavailable)
    for name, index in layout.pace2:
        seconds = values[index]
        record[name] = 30 / seconds if seconds else 0.0
    # A frozen dataclass's __init__ stores 22 fields through object.__setattr__ (about 2.5 µs);
    # the values here are complete and already converted, so the instance dict is set directly.
    instance = _new(TreadmillData)
    _set(instance, "__dict__", record)
    return instance
