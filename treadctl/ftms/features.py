"""Advertised service data, Fitness Machine Feature and the Supported … Range characteristics.

Owns: the static description a treadmill gives of itself (FTMS v1.0 §3.1, §4.3, §4.13–4.15;
ref/ftms-spec.md §1, §2, §4, §5). Feature bit fields are `IntFlag`s that keep RFU bits in their
value (the Collector ignores them, FTMP §4.4.1). Trailing octets are ignored on decode.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from treadctl.ftms._wire import check_int, need, to_raw


class FitnessMachineType(enum.IntFlag):
    """Fitness Machine Type of the advertised service data (u16; bits 6–15 RFU)."""

    TREADMILL = 1 << 0
    CROSS_TRAINER = 1 << 1
    STEP_CLIMBER = 1 << 2
    STAIR_CLIMBER = 1 << 3
    ROWER = 1 << 4
    INDOOR_BIKE = 1 << 5


@dataclass(frozen=True, slots=True)
class ServiceData:
    """The FTMS Service Data AD payload: `available` is flag bit 0 ("Fitness Machine Available")."""

    available: bool
    machine_type: FitnessMachineType


def decode_service_data(data: bytes) -> ServiceData:
    """Decode the 3 octets that follow the 0x1826 UUID in the Service Data AD structure.

    Raises `FTMSDecodeError` for fewer than 3 octets; RFU bits and extra octets are ignored.
    """
    need(data, 3, "service data")
    return ServiceData(
        available=bool(data[0] & 0x01),
        machine_type=FitnessMachineType(data[1] | (data[2] << 8)),
    )


def encode_service_data(service_data: ServiceData) -> bytes:
    """The 3 octets after the 0x1826 UUID. Raises `FTMSEncodeError` for a type outside u16."""
    machine_type = check_int(int(service_data.machine_type), 0, 0xFFFF, "machine_type")
    return bytes([0x01 if service_data.available else 0x00]) + machine_type.to_bytes(2, "little")


class MachineFeatures(enum.IntFlag):
    """Fitness Machine Features (first u32 of 0x2ACC; bits 17–31 RFU)."""

    AVERAGE_SPEED = 1 << 0
    CADENCE = 1 << 1
    TOTAL_DISTANCE = 1 << 2
    INCLINATION = 1 << 3
    ELEVATION_GAIN = 1 << 4
    PACE = 1 << 5
    STEP_COUNT = 1 << 6
    RESISTANCE_LEVEL = 1 << 7
    STRIDE_COUNT = 1 << 8
    EXPENDED_ENERGY = 1 << 9
    HEART_RATE_MEASUREMENT = 1 << 10
    METABOLIC_EQUIVALENT = 1 << 11
    ELAPSED_TIME = 1 << 12
    REMAINING_TIME = 1 << 13
    POWER_MEASUREMENT = 1 << 14
    FORCE_ON_BELT_AND_POWER_OUTPUT = 1 << 15
    USER_DATA_RETENTION = 1 << 16


class TargetSettingFeatures(enum.IntFlag):
    """Target Setting Features (second u32 of 0x2ACC; bits 17–31 RFU)."""

    SPEED_TARGET = 1 << 0
    INCLINATION_TARGET = 1 << 1
    RESISTANCE_TARGET = 1 << 2
    POWER_TARGET = 1 << 3
    HEART_RATE_TARGET = 1 << 4
    TARGETED_EXPENDED_ENERGY = 1 << 5
    TARGETED_STEP_NUMBER = 1 << 6
    TARGETED_STRIDE_NUMBER = 1 << 7
    TARGETED_DISTANCE = 1 << 8
    TARGETED_TRAINING_TIME = 1 << 9
    TARGETED_TIME_IN_TWO_HR_ZONES = 1 << 10
    TARGETED_TIME_IN_THREE_HR_ZONES = 1 << 11
    TARGETED_TIME_IN_FIVE_HR_ZONES = 1 << 12
    INDOOR_BIKE_SIMULATION = 1 << 13
    WHEEL_CIRCUMFERENCE = 1 << 14
    SPIN_DOWN_CONTROL = 1 << 15
    TARGETED_CADENCE = 1 << 16


_MACHINE_KNOWN = (1 << 17) - 1
_TARGET_KNOWN = (1 << 17) - 1


@dataclass(frozen=True, slots=True)
class FitnessMachineFeature:
    """Fitness Machine Feature (0x2ACC). RFU bits stay in the values but `supports` ignores them.

    Real devices set bits they do not honour and omit bits they use (Q8): treat it as a hint.
    """

    machine: MachineFeatures
    target: TargetSettingFeatures

    def supports(self, feature: MachineFeatures | TargetSettingFeatures) -> bool:
        """True when every (non-RFU) bit of `feature` is set in the matching bit field."""
        if isinstance(feature, MachineFeatures):
            wanted = int(feature) & _MACHINE_KNOWN
            return bool(wanted) and int(self.machine) & wanted == wanted
        wanted = int(feature) & _TARGET_KNOWN
        return bool(wanted) and int(self.target) & wanted == wanted


_FEATURE = struct.Struct("<II")


def decode_fitness_machine_feature(data: bytes) -> FitnessMachineFeature:
    """Decode 0x2ACC (two u32). Raises `FTMSDecodeError` for fewer than 8 octets."""
    need(data, 8, "fitness machine feature")
    machine, target = _FEATURE.unpack_from(data)
    return FitnessMachineFeature(MachineFeatures(machine), TargetSettingFeatures(target))


def encode_fitness_machine_feature(feature: FitnessMachineFeature) -> bytes:
    """The 8 octets of 0x2ACC. Raises `FTMSEncodeError` for a value outside u32."""
    machine = check_int(int(feature.machine), 0, 0xFFFF_FFFF, "machine")
    target = check_int(int(feature.target), 0, 0xFFFF_FFFF, "target")
    return _FEATURE.pack(machine, target)


# --- Supported ranges (all: minimum, maximum, minimum increment) -----------------------------

_U16X3 = struct.Struct("<HHH")
_S16S16U16 = struct.Struct("<hhH")
_U8X3 = struct.Struct("<BBB")
_S16 = (-0x8000, 0x7FFF)


@dataclass(frozen=True, slots=True)
class SpeedRange:
    """Supported Speed Range (0x2AD4), km/h with 0.01 resolution."""

    min_kmh: float
    max_kmh: float
    increment_kmh: float


@dataclass(frozen=True, slots=True)
class InclinationRange:
    """Supported Inclination Range (0x2AD5), % with 0.1 resolution; the minimum may be < 0."""

    min_pct: float
    max_pct: float
    increment_pct: float


@dataclass(frozen=True, slots=True)
class ResistanceLevelRange:
    """Supported Resistance Level Range (0x2AD6), unitless with 0.1 resolution."""

    min_level: float
    max_level: float
    increment_level: float


@dataclass(frozen=True, slots=True)
class PowerRange:
    """Supported Power Range (0x2AD8), watts."""

    min_w: int
    max_w: int
    increment_w: int


@dataclass(frozen=True, slots=True)
class HeartRateRange:
    """Supported Heart Rate Range (0x2AD7), beats per minute."""

    min_bpm: int
    max_bpm: int
    increment_bpm: int


def decode_speed_range(data: bytes) -> SpeedRange:
    """Decode 0x2AD4 (3 × u16, 0.01 km/h). Raises `FTMSDecodeError` for fewer than 6 octets."""
    need(data, 6, "supported speed range")
    lo, hi, step = _U16X3.unpack_from(data)
    return SpeedRange(lo / 100, hi / 100, step / 100)


def encode_speed_range(speed_range: SpeedRange) -> bytes:
    """The 6 octets of 0x2AD4. Raises `FTMSEncodeError` naming a field that does not fit."""
    return _U16X3.pack(
        to_raw(speed_range.min_kmh, 100, 0, 0xFFFF, "min_kmh"),
        to_raw(speed_range.max_kmh, 100, 0, 0xFFFF, "max_kmh"),
        to_raw(speed_range.increment_kmh, 100, 0, 0xFFFF, "increment_kmh"),
    )


def decode_inclination_range(data: bytes) -> InclinationRange:
    """Decode 0x2AD5 (s16, s16, u16; 0.1 %). Raises `FTMSDecodeError` for fewer than 6 octets."""
    need(data, 6, "supported inclination range")
    lo, hi, step = _S16S16U16.unpack_from(data)
    return InclinationRange(lo / 10, hi / 10, step / 10)


def encode_inclination_range(inclination_range: InclinationRange) -> bytes:
    """The 6 octets of 0x2AD5. Raises `FTMSEncodeError` naming a field that does not fit."""
    return _S16S16U16.pack(
        to_raw(inclination_range.min_pct, 10, *_S16, "min_pct"),
        to_raw(inclination_range.max_pct, 10, *_S16, "max_pct"),
        to_raw(inclination_range.increment_pct, 10, 0, 0xFFFF, "increment_pct"),
    )


def decode_resistance_level_range(data: bytes) -> ResistanceLevelRange:
    """Decode 0x2AD6 (s16, s16, u16; 0.1). Raises `FTMSDecodeError` for fewer than 6 octets."""
    need(data, 6, "supported resistance level range")
    lo, hi, step = _S16S16U16.unpack_from(data)
    return ResistanceLevelRange(lo / 10, hi / 10, step / 10)


def encode_resistance_level_range(resistance_range: ResistanceLevelRange) -> bytes:
    """The 6 octets of 0x2AD6. Raises `FTMSEncodeError` naming a field that does not fit."""
    return _S16S16U16.pack(
        to_raw(resistance_range.min_level, 10, *_S16, "min_level"),
        to_raw(resistance_range.max_level, 10, *_S16, "max_level"),
        to_raw(resistance_range.increment_level, 10, 0, 0xFFFF, "increment_level"),
    )


def decode_power_range(data: bytes) -> PowerRange:
    """Decode 0x2AD8 (s16, s16, u16; W). Raises `FTMSDecodeError` for fewer than 6 octets."""
    need(data, 6, "supported power range")
    return PowerRange(*_S16S16U16.unpack_from(data))


def encode_power_range(power_range: PowerRange) -> bytes:
    """The 6 octets of 0x2AD8. Raises `FTMSEncodeError` naming a field that does not fit."""
    return _S16S16U16.pack(
        check_int(power_range.min_w, *_S16, "min_w"),
        check_int(power_range.max_w, *_S16, "max_w"),
        check_int(power_range.increment_w, 0, 0xFFFF, "increment_w"),
    )


def decode_heart_rate_range(data: bytes) -> HeartRateRange:
    """Decode 0x2AD7 (3 × u8, bpm). Raises `FTMSDecodeError` for fewer than 3 octets."""
    need(data, 3, "supported heart rate range")
    return HeartRateRange(*_U8X3.unpack_from(data))


def encode_heart_rate_range(heart_rate_range: HeartRateRange) -> bytes:
    """The 3 octets of 0x2AD7. Raises `FTMSEncodeError` naming a field that does not fit."""
    return _U8X3.pack(
        check_int(heart_rate_range.min_bpm, 0, 0xFF, "min_bpm"),
        check_int(heart_rate_range.max_bpm, 0, 0xFF, "max_bpm"),
        check_int(heart_rate_range.increment_bpm, 0, 0xFF, "increment_bpm"),
    )
