"""Treadmill Data (0x2ACD) encoding: one notification, or a record split with More Data.

Owns: `encode_treadmill_data` and `split_treadmill_data`, used by the virtual treadmill to
build its notifications (FTMS v1.0 §4.9, §4.19; ref/ftms-spec.md §3.2). Rules: `round()` plus a
range check on every value, errors name the field; a field listed in `record.unavailable` goes
on the wire as its "data not available" value; a flag group is sent when any of its fields is
set or unavailable.
"""

from __future__ import annotations

from typing import Any

from treadctl.errors import FTMSEncodeError
from treadctl.ftms._wire import check_int, to_raw
from treadctl.ftms.treadmill_data import (
    GROUPS,
    MORE_DATA,
    OCTETS,
    SENTINELS,
    STEP_COUNT_BIT,
    TreadmillData,
)

_SIGNED = {"h"}
_WIRE_MAX = {"H": 0xFFFF, "h": 0x7FFF, "B": 0xFF, "T": 0xFF_FFFF}


def _pace_seconds(name: str, km_per_min: float) -> int:
    """km/min → seconds per 500 m (30 / pace); 0.0 km/min (standing) → 0."""
    if isinstance(km_per_min, int | float) and not isinstance(km_per_min, bool) and km_per_min > 0:
        return to_raw(30 / km_per_min, 1, 1, 0xFFFF, name)
    if km_per_min == 0:
        return 0
    raise FTMSEncodeError(
        f"{name}: pace must be a number >= 0 km/min, got {km_per_min!r}",
        field=name,
        value=km_per_min,
    )


def _raw(name: str, code: str, divisor: int, value: Any, pace_octets: int) -> bytes:
    """One field's octets (little-endian), range-checked; a sentinel value is never produced."""
    if code == "P":
        if pace_octets == 2:  # GSS layout: u16 seconds per 500 m (see TreadmillData).
            return _pace_seconds(name, value).to_bytes(2, "little")
        return to_raw(value, divisor, 0, 0xFF, name).to_bytes(1, "little")
    lo = -0x8000 if code in _SIGNED else 0
    hi = _WIRE_MAX[code] - (1 if name in SENTINELS else 0)
    raw = to_raw(value, divisor, lo, hi, name) if divisor else check_int(value, lo, hi, name)
    return raw.to_bytes(OCTETS[code], "little", signed=code in _SIGNED)


def _check(record: TreadmillData, step_count_ext: bool, pace_octets: int) -> None:
    if pace_octets not in (1, 2):
        raise FTMSEncodeError(
            f"pace_octets: must be 1 or 2, got {pace_octets!r}",
            field="pace_octets",
            value=pace_octets,
        )
    for name in record.unavailable:
        if name not in SENTINELS:
            raise FTMSEncodeError(
                f"unavailable: {name!r} has no 'data not available' value", field=name, value=name
            )
        if getattr(record, name) is not None:
            raise FTMSEncodeError(
                f"unavailable: {name!r} is listed as unavailable but holds a value",
                field=name,
                value=getattr(record, name),
            )
    if record.more_data and record.speed_kmh is not None:
        raise FTMSEncodeError(
            "speed_kmh: a More Data fragment carries no speed (it belongs in the last one)",
            field="speed_kmh",
            value=record.speed_kmh,
        )
    if not record.more_data and record.speed_kmh is None:
        raise FTMSEncodeError(
            "speed_kmh: required when more_data is False (the last notification carries it)",
            field="speed_kmh",
        )
    if record.step_count is not None and not step_count_ext:
        raise FTMSEncodeError(
            "step_count: only sent with step_count_ext=True (vendor flag bit 13)",
            field="step_count",
            value=record.step_count,
        )


def _groups(
    record: TreadmillData, step_count_ext: bool, pace_octets: int
) -> list[tuple[int, bytes]]:
    """(flag bit, octets) of every group the record carries, in spec order, speed excluded."""
    found: list[tuple[int, bytes]] = []
    for bit, group in GROUPS:
        if all(getattr(record, n) is None and n not in record.unavailable for n, _, _ in group):
            continue
        octets = bytearray()
        for name, code, divisor in group:
            value = getattr(record, name)
            if value is not None:
                octets += _raw(name, code, divisor, value, pace_octets)
            elif name in record.unavailable:
                octets += SENTINELS[name].to_bytes(OCTETS[code], "little")
            else:
                raise FTMSEncodeError(
                    f"{name}: must be set (or listed in unavailable) when the other fields of "
                    "its flag group are sent",
                    field=name,
                )
        found.append((bit, bytes(octets)))
    if step_count_ext and record.step_count is not None:
        found.append(
            (
                STEP_COUNT_BIT,
                check_int(record.step_count, 0, 0xFF_FFFF, "step_count").to_bytes(3, "little"),
            )
        )
    return found


def _speed(speed_kmh: float | None) -> bytes:
    if speed_kmh is None:  # refused by _check() already; kept for the type checker
        raise FTMSEncodeError("speed_kmh: required", field="speed_kmh")
    return to_raw(speed_kmh, 100, 0, 0xFFFF, "speed_kmh").to_bytes(2, "little")


def _frame(groups: list[tuple[int, bytes]], speed: bytes | None) -> bytes:
    flags = 0 if speed is not None else MORE_DATA
    for bit, _ in groups:
        flags |= bit
    return flags.to_bytes(2, "little") + (speed or b"") + b"".join(octets for _, octets in groups)


def encode_treadmill_data(
    record: TreadmillData, *, step_count_ext: bool = False, pace_octets: int = 1
) -> bytes:
    """One Treadmill Data notification carrying every field of `record` that is not None.

    `record.more_data` sets flag bit 0 (the fragment then has no speed); `truncated` is not
    encoded. `step_count` needs `step_count_ext=True` (written as u24 behind bit 13).
    `pace_octets` picks the 1-octet v1.0 or the 2-octet GSS pace layout.
    Raises `FTMSEncodeError` naming the field for a value that does not fit or a record the
    wire cannot express.
    """
    _check(record, step_count_ext, pace_octets)
    speed = None if record.more_data else _speed(record.speed_kmh)
    return _frame(_groups(record, step_count_ext, pace_octets), speed)


def split_treadmill_data(
    record: TreadmillData,
    max_payload: int,
    *,
    step_count_ext: bool = False,
    pace_octets: int = 1,
) -> list[bytes]:
    """Notifications of at most `max_payload` octets (ATT_MTU − 3) that carry one record.

    A record that fits is one notification with More Data = 0. Otherwise every notification but
    the last has More Data = 1 and no speed; the last has More Data = 0 and the speed (FTMS v1.0
    §4.19). Flag groups are never cut. Raises `FTMSEncodeError` like `encode_treadmill_data`, or
    naming `max_payload` when it cannot hold the largest group with its flags.
    """
    if record.more_data:
        raise FTMSEncodeError("more_data: split a whole record, not a fragment", field="more_data")
    _check(record, step_count_ext, pace_octets)
    speed = _speed(record.speed_kmh)
    groups = _groups(record, step_count_ext, pace_octets)
    need = 2 + max([len(speed)] + [len(octets) for _, octets in groups])
    if isinstance(max_payload, bool) or not isinstance(max_payload, int) or max_payload < need:
        raise FTMSEncodeError(
            f"max_payload: {max_payload!r} octets cannot hold this record's largest group "
            f"(need at least {need})",
            field="max_payload",
            value=max_payload,
        )
    whole = _frame(groups, speed)
    if len(whole) <= max_payload:
        return [whole]
    room = max_payload - 2
    packets: list[list[tuple[int, bytes]]] = [[]]
    used = 0
    for group in groups:
        if used + len(group[1]) > room:
            packets.append([])
            used = 0
        packets[-1].append(group)
        used += len(group[1])
    if used + len(speed) > room:
        packets.append([])
    return [_frame(p, None) for p in packets[:-1]] + [_frame(packets[-1], speed)]
