"""Parameter formats shared by Control Point requests (0x2AD9) and Machine Status (0x2ADA).

Owns: how each procedure's parameter is laid out (FTMS v1.0 Tables 4.15 and 4.27, ref/ftms-spec.md
§7.1, §8) and the small enums and value types that appear in them. A `Param` turns parameter
octets into a typed value (None when too short; extra octets ignored) and back (round() plus a
range check, errors naming the field); `encode_parameter` / `decode_parameter` look an op code up
in a table of them, for requests and statuses alike.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from treadctl.errors import FTMSEncodeError
from treadctl.ftms._wire import OpenIntEnum, check_int, to_raw


class StopPauseControl(OpenIntEnum):
    """Control Information of Stop or Pause (CP 0x08) and of status 0x02."""

    STOP = 0x01
    PAUSE = 0x02


class SpinDownControl(OpenIntEnum):
    """Parameter of Spin Down Control (CP 0x13)."""

    START = 0x01
    IGNORE = 0x02


class SpinDownStatus(OpenIntEnum):
    """Parameter of the Spin Down Status machine status (0x14)."""

    SPIN_DOWN_REQUESTED = 0x01
    SUCCESS = 0x02
    ERROR = 0x03
    STOP_PEDALING = 0x04


@dataclass(frozen=True, slots=True)
class IndoorBikeSimulation:
    """Indoor Bike Simulation Parameters (CP 0x11, status 0x12)."""

    wind_speed_mps: float  # s16, 0.001 m/s
    grade_pct: float  # s16, 0.01 %
    rolling_resistance: float  # u8, Crr, 0.0001
    wind_resistance_kg_per_m: float  # u8, Cw, 0.01 kg/m


_LIMITS = {"B": (0, 0xFF), "H": (0, 0xFFFF), "h": (-0x8000, 0x7FFF)}


class Param:
    """One scalar parameter: struct `code` ("B", "H", "h"), value = raw / `divisor`."""

    def __init__(self, field: str, code: str, divisor: int = 0) -> None:
        self.field = field
        self._struct = struct.Struct("<" + code)
        self._limits = _LIMITS[code]
        self._divisor = divisor
        self.size = self._struct.size

    def decode(self, parameter: bytes) -> Any:
        """The typed value, or None when `parameter` is too short."""
        if len(parameter) < self._struct.size:
            return None
        (raw,) = self._struct.unpack_from(parameter)
        return raw / self._divisor if self._divisor else raw

    def encode(self, value: Any) -> bytes:
        """The parameter octets; raises `FTMSEncodeError` naming the field when out of range."""
        if self._divisor:
            raw = to_raw(value, self._divisor, *self._limits, self.field)
        else:
            raw = check_int(value, *self._limits, self.field)
        return self._struct.pack(raw)


def encode_parameter(
    table: Mapping[int, Param], op_code: OpenIntEnum, value: Any, no_parameter: str
) -> bytes:
    """The parameter octets of `op_code` for `value`, by `table` (b"" for an op code without one).

    Raises `FTMSEncodeError` naming the field when the value does not fit, or naming `parameter`
    (with `no_parameter` as the reason) when `op_code` has no parameter and `value` is not None.
    """
    param = table.get(op_code)
    if param is not None:
        return param.encode(value)
    if value is not None:
        raise FTMSEncodeError(
            f"{op_code.name}: {no_parameter}, got {value!r}", field="parameter", value=value
        )
    return b""


def decode_parameter(table: Mapping[int, Param], op_code: int, parameter: bytes) -> Any:
    """The typed value of `op_code`'s `parameter` by `table`; None when it has none or too few."""
    param = table.get(op_code)
    return None if param is None else param.decode(parameter)


class EnumParam(Param):
    """A one-octet code decoded into an open enum."""

    def __init__(self, field: str, enum_type: type[OpenIntEnum]) -> None:
        super().__init__(field, "B")
        self._enum = enum_type

    def decode(self, parameter: bytes) -> Any:
        return self._enum(parameter[0]) if parameter else None


class U24Param(Param):
    """An unsigned 24-bit integer (targeted distance, m)."""

    def __init__(self, field: str) -> None:
        super().__init__(field, "B")
        self.size = 3

    def decode(self, parameter: bytes) -> Any:
        return int.from_bytes(parameter[:3], "little") if len(parameter) >= 3 else None

    def encode(self, value: Any) -> bytes:
        return check_int(value, 0, 0xFF_FFFF, self.field).to_bytes(3, "little")


class ZonesParam(Param):
    """`count` × u16 seconds: the targeted time in 2, 3 or 5 heart-rate zones."""

    def __init__(self, field: str, count: int) -> None:
        super().__init__(field, "H")
        self._count = count
        self.size = 2 * count

    def decode(self, parameter: bytes) -> Any:
        if len(parameter) < 2 * self._count:
            return None
        return struct.unpack_from(f"<{self._count}H", parameter)

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, tuple | list) or len(value) != self._count:
            raise FTMSEncodeError(
                f"{self.field}: expected {self._count} zone times in seconds, got {value!r}",
                field=self.field,
                value=value,
            )
        return b"".join(
            check_int(v, 0, 0xFFFF, f"{self.field}[{i}]").to_bytes(2, "little")
            for i, v in enumerate(value)
        )


_SIMULATION = struct.Struct("<hhBB")


class SimulationParam(Param):
    """Indoor Bike Simulation Parameters: s16 wind, s16 grade, u8 Crr, u8 Cw."""

    def __init__(self, field: str) -> None:
        super().__init__(field, "B")
        self.size = _SIMULATION.size

    def decode(self, parameter: bytes) -> Any:
        if len(parameter) < _SIMULATION.size:
            return None
        wind, grade, crr, cw = _SIMULATION.unpack_from(parameter)
        return IndoorBikeSimulation(wind / 1000, grade / 100, crr / 10000, cw / 100)

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, IndoorBikeSimulation):
            raise FTMSEncodeError(
                f"{self.field}: expected IndoorBikeSimulation, got {value!r}",
                field=self.field,
                value=value,
            )
        return _SIMULATION.pack(
            to_raw(value.wind_speed_mps, 1000, -0x8000, 0x7FFF, "wind_speed_mps"),
            to_raw(value.grade_pct, 100, -0x8000, 0x7FFF, "grade_pct"),
            to_raw(value.rolling_resistance, 10000, 0, 0xFF, "rolling_resistance"),
            to_raw(value.wind_resistance_kg_per_m, 100, 0, 0xFF, "wind_resistance_kg_per_m"),
        )


class ResistanceStatusParam(Param):
    """Status 0x07 Target Resistance Level: u8 in FTMS v1.0, s16 in v1.0.1 (both 0.1).

    Two or more octets are read as s16 (a u8 padded with 0x00 reads the same), one as u8.
    Encodes the v1.0.1 s16.
    """

    def __init__(self, field: str) -> None:
        super().__init__(field, "h", 10)

    def decode(self, parameter: bytes) -> Any:
        if len(parameter) == 1:
            return parameter[0] / 10
        return super().decode(parameter)
