"""Training Status (0x2AD3) and Fitness Machine Status (0x2ADA).

Owns: both status characteristics (FTMS v1.0 §4.10, §4.17; ref/ftms-spec.md §6, §8). Rules: the
enums are open; Training Status with the string flag set and no string is valid (Q7); Machine
Status keeps its raw `parameter` and reads typed values from it, so padded notifications such
as `04 00 00` and `02 01 00` (Q6) decode and re-encode octet for octet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from treadctl.ftms._wire import OpenIntEnum, check_int, need
from treadctl.ftms.params import (
    EnumParam,
    IndoorBikeSimulation,
    Param,
    ResistanceStatusParam,
    SimulationParam,
    SpinDownStatus,
    StopPauseControl,
    U24Param,
    ZonesParam,
    decode_parameter,
    encode_parameter,
)

# --- Training Status -----------------------------------------------------------------------


class TrainingStatusCode(OpenIntEnum):
    """Training Status values (0x10–0xFF RFU decode as UNKNOWN_0x..)."""

    OTHER = 0x00
    IDLE = 0x01
    WARMING_UP = 0x02
    LOW_INTENSITY_INTERVAL = 0x03
    HIGH_INTENSITY_INTERVAL = 0x04
    RECOVERY_INTERVAL = 0x05
    ISOMETRIC = 0x06
    HEART_RATE_CONTROL = 0x07
    FITNESS_TEST = 0x08
    SPEED_OUTSIDE_CONTROL_REGION_LOW = 0x09
    SPEED_OUTSIDE_CONTROL_REGION_HIGH = 0x0A
    COOL_DOWN = 0x0B
    WATT_CONTROL = 0x0C
    MANUAL_MODE = 0x0D
    PRE_WORKOUT = 0x0E
    POST_WORKOUT = 0x0F


@dataclass(frozen=True, slots=True)
class TrainingStatus:
    """Training Status: `string` is None when flag bit 0 is clear ("" when set but empty, Q7);
    `extended` is flag bit 1 (the rest of the string must be read with Read Long)."""

    status: TrainingStatusCode
    string: str | None = None
    extended: bool = False


def decode_training_status(data: bytes) -> TrainingStatus:
    """Decode 0x2AD3. Raises `FTMSDecodeError` for fewer than 2 octets.

    The string is UTF-8; undecodable octets become U+FFFD rather than an error.
    """
    need(data, 2, "training status")
    flags = data[0]
    text = bytes(data[2:]).decode("utf-8", errors="replace") if flags & 0x01 else None
    return TrainingStatus(TrainingStatusCode(data[1]), text, bool(flags & 0x02))


def encode_training_status(training_status: TrainingStatus) -> bytes:
    """The octets of 0x2AD3. Raises `FTMSEncodeError` for a status outside u8."""
    status = check_int(int(training_status.status), 0, 0xFF, "status")
    flags = (0x01 if training_status.string is not None else 0) | (
        0x02 if training_status.extended else 0
    )
    text = (training_status.string or "").encode("utf-8")
    return bytes([flags, status]) + text


# --- Fitness Machine Status ----------------------------------------------------------------


class MachineStatusOpCode(OpenIntEnum):
    """Fitness Machine Status op codes (0x00, 0x16–0xFE RFU decode as UNKNOWN_0x..)."""

    RESET = 0x01
    STOPPED_OR_PAUSED_BY_USER = 0x02
    STOPPED_BY_SAFETY_KEY = 0x03
    STARTED_OR_RESUMED_BY_USER = 0x04
    TARGET_SPEED_CHANGED = 0x05
    TARGET_INCLINE_CHANGED = 0x06
    TARGET_RESISTANCE_LEVEL_CHANGED = 0x07
    TARGET_POWER_CHANGED = 0x08
    TARGET_HEART_RATE_CHANGED = 0x09
    TARGETED_EXPENDED_ENERGY_CHANGED = 0x0A
    TARGETED_NUMBER_OF_STEPS_CHANGED = 0x0B
    TARGETED_NUMBER_OF_STRIDES_CHANGED = 0x0C
    TARGETED_DISTANCE_CHANGED = 0x0D
    TARGETED_TRAINING_TIME_CHANGED = 0x0E
    TARGETED_TIME_IN_TWO_HR_ZONES_CHANGED = 0x0F
    TARGETED_TIME_IN_THREE_HR_ZONES_CHANGED = 0x10
    TARGETED_TIME_IN_FIVE_HR_ZONES_CHANGED = 0x11
    INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED = 0x12
    WHEEL_CIRCUMFERENCE_CHANGED = 0x13
    SPIN_DOWN_STATUS = 0x14
    TARGETED_CADENCE_CHANGED = 0x15
    CONTROL_PERMISSION_LOST = 0xFF


_S = MachineStatusOpCode
STATUS_PARAMS: dict[int, Param] = {
    _S.STOPPED_OR_PAUSED_BY_USER: EnumParam("control", StopPauseControl),
    _S.TARGET_SPEED_CHANGED: Param("target_speed_kmh", "H", 100),
    _S.TARGET_INCLINE_CHANGED: Param("target_incline_pct", "h", 10),
    _S.TARGET_RESISTANCE_LEVEL_CHANGED: ResistanceStatusParam("target_resistance_level"),
    _S.TARGET_POWER_CHANGED: Param("target_power_w", "h"),
    _S.TARGET_HEART_RATE_CHANGED: Param("target_heart_rate_bpm", "B"),
    _S.TARGETED_EXPENDED_ENERGY_CHANGED: Param("targeted_expended_energy_kcal", "H"),
    _S.TARGETED_NUMBER_OF_STEPS_CHANGED: Param("targeted_steps", "H"),
    _S.TARGETED_NUMBER_OF_STRIDES_CHANGED: Param("targeted_strides", "H"),
    _S.TARGETED_DISTANCE_CHANGED: U24Param("targeted_distance_m"),
    _S.TARGETED_TRAINING_TIME_CHANGED: Param("targeted_training_time_s", "H"),
    _S.TARGETED_TIME_IN_TWO_HR_ZONES_CHANGED: ZonesParam("targeted_hr_zone_times_s", 2),
    _S.TARGETED_TIME_IN_THREE_HR_ZONES_CHANGED: ZonesParam("targeted_hr_zone_times_s", 3),
    _S.TARGETED_TIME_IN_FIVE_HR_ZONES_CHANGED: ZonesParam("targeted_hr_zone_times_s", 5),
    _S.INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED: SimulationParam("simulation"),
    _S.WHEEL_CIRCUMFERENCE_CHANGED: Param("wheel_circumference_mm", "H", 10),
    _S.SPIN_DOWN_STATUS: EnumParam("spin_down_status", SpinDownStatus),
    _S.TARGETED_CADENCE_CHANGED: Param("targeted_cadence_per_min", "H", 2),
}


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """One Fitness Machine Status notification: `op_code` and its raw `parameter` octets.

    The typed properties (`control`, `target_speed_kmh`, …) read the parameter of their own op
    code and are None for any other op code or a parameter too short to hold them; extra octets
    are ignored. Build one with `MachineStatus.build(op_code, value)`.
    """

    op_code: MachineStatusOpCode
    parameter: bytes = b""

    @classmethod
    def build(cls, op_code: MachineStatusOpCode, value: Any = None) -> MachineStatus:
        """A status with `value` encoded as `op_code`'s parameter (None for op codes without one).

        Raises `FTMSEncodeError` naming the field when the value does not fit.
        """
        no_parameter = "this status has no parameter"
        return cls(op_code, encode_parameter(STATUS_PARAMS, op_code, value, no_parameter))

    @property
    def value(self) -> Any:
        """The decoded parameter of this op code, or None (no parameter / too short)."""
        return decode_parameter(STATUS_PARAMS, self.op_code, self.parameter)

    def _typed(self, *op_codes: MachineStatusOpCode) -> Any:
        return self.value if self.op_code in op_codes else None

    @property
    def control(self) -> StopPauseControl | None:
        """0x02 Stopped or Paused by the User: STOP or PAUSE."""
        return self._typed(_S.STOPPED_OR_PAUSED_BY_USER)  # type: ignore[no-any-return]

    @property
    def target_speed_kmh(self) -> float | None:
        """0x05 Target Speed Changed, km/h."""
        return self._typed(_S.TARGET_SPEED_CHANGED)  # type: ignore[no-any-return]

    @property
    def target_incline_pct(self) -> float | None:
        """0x06 Target Incline Changed, %."""
        return self._typed(_S.TARGET_INCLINE_CHANGED)  # type: ignore[no-any-return]

    @property
    def target_resistance_level(self) -> float | None:
        """0x07 Target Resistance Level Changed (u8 or s16, 0.1)."""
        return self._typed(_S.TARGET_RESISTANCE_LEVEL_CHANGED)  # type: ignore[no-any-return]

    @property
    def target_power_w(self) -> int | None:
        """0x08 Target Power Changed, W."""
        return self._typed(_S.TARGET_POWER_CHANGED)  # type: ignore[no-any-return]

    @property
    def target_heart_rate_bpm(self) -> int | None:
        """0x09 Target Heart Rate Changed, bpm."""
        return self._typed(_S.TARGET_HEART_RATE_CHANGED)  # type: ignore[no-any-return]

    @property
    def targeted_expended_energy_kcal(self) -> int | None:
        """0x0A Targeted Expended Energy Changed, kcal."""
        return self._typed(_S.TARGETED_EXPENDED_ENERGY_CHANGED)  # type: ignore[no-any-return]

    @property
    def targeted_steps(self) -> int | None:
        """0x0B Targeted Number of Steps Changed."""
        return self._typed(_S.TARGETED_NUMBER_OF_STEPS_CHANGED)  # type: ignore[no-any-return]

    @property
    def targeted_strides(self) -> int | None:
        """0x0C Targeted Number of Strides Changed."""
        return self._typed(_S.TARGETED_NUMBER_OF_STRIDES_CHANGED)  # type: ignore[no-any-return]

    @property
    def targeted_distance_m(self) -> int | None:
        """0x0D Targeted Distance Changed, m (u24)."""
        return self._typed(_S.TARGETED_DISTANCE_CHANGED)  # type: ignore[no-any-return]

    @property
    def targeted_training_time_s(self) -> int | None:
        """0x0E Targeted Training Time Changed, s."""
        return self._typed(_S.TARGETED_TRAINING_TIME_CHANGED)  # type: ignore[no-any-return]

    @property
    def targeted_hr_zone_times_s(self) -> tuple[int, ...] | None:
        """0x0F / 0x10 / 0x11 Targeted Time in 2 / 3 / 5 HR Zones Changed, s per zone."""
        return self._typed(  # type: ignore[no-any-return]
            _S.TARGETED_TIME_IN_TWO_HR_ZONES_CHANGED,
            _S.TARGETED_TIME_IN_THREE_HR_ZONES_CHANGED,
            _S.TARGETED_TIME_IN_FIVE_HR_ZONES_CHANGED,
        )

    @property
    def simulation(self) -> IndoorBikeSimulation | None:
        """0x12 Indoor Bike Simulation Parameters Changed."""
        return self._typed(_S.INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED)  # type: ignore[no-any-return]

    @property
    def wheel_circumference_mm(self) -> float | None:
        """0x13 Wheel Circumference Changed, mm."""
        return self._typed(_S.WHEEL_CIRCUMFERENCE_CHANGED)  # type: ignore[no-any-return]

    @property
    def spin_down_status(self) -> SpinDownStatus | None:
        """0x14 Spin Down Status."""
        return self._typed(_S.SPIN_DOWN_STATUS)  # type: ignore[no-any-return]

    @property
    def targeted_cadence_per_min(self) -> float | None:
        """0x15 Targeted Cadence Changed, 1/min."""
        return self._typed(_S.TARGETED_CADENCE_CHANGED)  # type: ignore[no-any-return]


def decode_machine_status(data: bytes) -> MachineStatus:
    """Decode 0x2ADA. Raises `FTMSDecodeError` for an empty notification; never for the rest."""
    need(data, 1, "fitness machine status")
    return MachineStatus(MachineStatusOpCode(data[0]), bytes(data[1:]))


def encode_machine_status(status: MachineStatus) -> bytes:
    """The octets of 0x2ADA: op code, then the parameter as held."""
    return bytes([check_int(int(status.op_code), 0, 0xFF, "op_code")]) + bytes(status.parameter)
