"""Wire helpers shared by every FTMS codec module.

Owns: the open-enum base for values a device sends (unknown values become named placeholders,
never a crash) and the one way an encoder turns a physical value into a wire integer: `round()`
of value × scale, then a range check whose error names the field. Pure, stdlib only.
"""

from __future__ import annotations

import enum
import math
from typing import Any

from treadctl.errors import FTMSDecodeError, FTMSEncodeError


class OpenIntEnum(enum.IntEnum):
    """An `IntEnum` for a one-octet wire code that also accepts values it does not name.

    `OpCode(0x42)` returns a pseudo-member named `UNKNOWN_0x42` whose value is 0x42, so a device
    that sends an RFU or vendor code is decoded, logged and answered instead of crashing us.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFF:
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_0x{value:02X}"
        member._value_ = value
        # Cache it like Flag pseudo-members, so identity and hashing stay stable.
        return cls._value2member_map_.setdefault(value, member)

    @property
    def is_known(self) -> bool:
        """True for a value the specification names, False for an `UNKNOWN_0x..` placeholder."""
        return self._name_ in type(self).__members__


def to_raw(value: float, scale: float, lo: int, hi: int, field: str) -> int:
    """`round(value * scale)` checked against the wire range [lo, hi].

    8.2 km/h at scale 100 becomes 820 (never 819). Raises `FTMSEncodeError` naming `field` when
    the value is not a finite number or does not fit.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FTMSEncodeError(
            f"{field}: expected a number, got {value!r}", field=field, value=value
        )
    if not math.isfinite(value):
        raise FTMSEncodeError(
            f"{field}: {value!r} is not a finite number", field=field, value=value
        )
    raw = round(value * scale)
    if not lo <= raw <= hi:
        raise FTMSEncodeError(
            f"{field}: {value!r} is outside the range the wire can carry "
            f"({lo / scale:g} … {hi / scale:g})",
            field=field,
            value=value,
        )
    return raw


def check_int(value: int, lo: int, hi: int, field: str) -> int:
    """An integer wire value checked against [lo, hi]; `FTMSEncodeError` naming `field` if not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FTMSEncodeError(
            f"{field}: expected an integer, got {value!r}", field=field, value=value
        )
    if not lo <= value <= hi:
        raise FTMSEncodeError(
            f"{field}: {value} is outside the range the wire can carry ({lo} … {hi})",
            field=field,
            value=value,
        )
    return value


def u24(value: int) -> bytes:
    """Three little-endian octets of an already range-checked unsigned value."""
    return value.to_bytes(3, "little")


def need(data: bytes, octets: int, characteristic: str) -> None:
    """Raise `FTMSDecodeError` unless `data` holds at least `octets` octets."""
    if len(data) < octets:
        raise FTMSDecodeError(
            f"{characteristic}: need at least {octets} octets, "
            f"got {len(data)} ({bytes(data).hex()})",
            characteristic=characteristic,
            data=data,
        )
