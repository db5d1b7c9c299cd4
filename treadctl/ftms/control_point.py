"""Fitness Machine Control Point (0x2AD9): requests, responses and their op codes.

Owns: `ControlPointRequest` / `ControlPointResponse` and their codecs (FTMS v1.0 §4.16, Tables
4.15, 4.23, 4.24; ref/ftms-spec.md §7). A request keeps its raw `parameter`; typed properties read
it (None for another op code or a parameter too short), so the virtual treadmill can answer a
malformed write with Invalid Parameter instead of failing. Enums are open.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final

from treadctl.errors import FTMSDecodeError, FTMSEncodeError
from treadctl.ftms._wire import OpenIntEnum, check_int, need
from treadctl.ftms.params import (
    EnumParam,
    IndoorBikeSimulation,
    Param,
    SimulationParam,
    SpinDownControl,
    StopPauseControl,
    U24Param,
    ZonesParam,
    decode_parameter,
    encode_parameter,
)


class OpCode(OpenIntEnum):
    """Control Point op codes (0x15–0x7F, 0x81–0xFF RFU decode as UNKNOWN_0x..)."""

    REQUEST_CONTROL = 0x00
    RESET = 0x01
    SET_TARGET_SPEED = 0x02
    SET_TARGET_INCLINATION = 0x03
    SET_TARGET_RESISTANCE_LEVEL = 0x04
    SET_TARGET_POWER = 0x05
    SET_TARGET_HEART_RATE = 0x06
    START_OR_RESUME = 0x07
    STOP_OR_PAUSE = 0x08
    SET_TARGETED_EXPENDED_ENERGY = 0x09
    SET_TARGETED_NUMBER_OF_STEPS = 0x0A
    SET_TARGETED_NUMBER_OF_STRIDES = 0x0B
    SET_TARGETED_DISTANCE = 0x0C
    SET_TARGETED_TRAINING_TIME = 0x0D
    SET_TARGETED_TIME_IN_TWO_HR_ZONES = 0x0E
    SET_TARGETED_TIME_IN_THREE_HR_ZONES = 0x0F
    SET_TARGETED_TIME_IN_FIVE_HR_ZONES = 0x10
    SET_INDOOR_BIKE_SIMULATION_PARAMETERS = 0x11
    SET_WHEEL_CIRCUMFERENCE = 0x12
    SPIN_DOWN_CONTROL = 0x13
    SET_TARGETED_CADENCE = 0x14
    RESPONSE_CODE = 0x80


class ResultCode(OpenIntEnum):
    """Result codes of the 0x80 response (0x00, 0x06–0xFF RFU decode as UNKNOWN_0x..)."""

    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_PARAMETER = 0x03
    OPERATION_FAILED = 0x04
    CONTROL_NOT_PERMITTED = 0x05


RESPONSE_OP_CODE: Final = 0x80
_O = OpCode
REQUEST_PARAMS: dict[int, Param] = {
    _O.SET_TARGET_SPEED: Param("speed_kmh", "H", 100),
    _O.SET_TARGET_INCLINATION: Param("incline_pct", "h", 10),
    _O.SET_TARGET_RESISTANCE_LEVEL: Param("resistance_level", "B", 10),
    _O.SET_TARGET_POWER: Param("power_w", "h"),
    _O.SET_TARGET_HEART_RATE: Param("heart_rate_bpm", "B"),
    _O.STOP_OR_PAUSE: EnumParam("control", StopPauseControl),
    _O.SET_TARGETED_EXPENDED_ENERGY: Param("expended_energy_kcal", "H"),
    _O.SET_TARGETED_NUMBER_OF_STEPS: Param("steps", "H"),
    _O.SET_TARGETED_NUMBER_OF_STRIDES: Param("strides", "H"),
    _O.SET_TARGETED_DISTANCE: U24Param("distance_m"),
    _O.SET_TARGETED_TRAINING_TIME: Param("training_time_s", "H"),
    _O.SET_TARGETED_TIME_IN_TWO_HR_ZONES: ZonesParam("hr_zone_times_s", 2),
    _O.SET_TARGETED_TIME_IN_THREE_HR_ZONES: ZonesParam("hr_zone_times_s", 3),
    _O.SET_TARGETED_TIME_IN_FIVE_HR_ZONES: ZonesParam("hr_zone_times_s", 5),
    _O.SET_INDOOR_BIKE_SIMULATION_PARAMETERS: SimulationParam("simulation"),
    _O.SET_WHEEL_CIRCUMFERENCE: Param("wheel_circumference_mm", "H", 10),
    _O.SPIN_DOWN_CONTROL: EnumParam("spin_down_control", SpinDownControl),
    _O.SET_TARGETED_CADENCE: Param("cadence_per_min", "H", 2),
}
_NO_PARAMETER = frozenset({_O.REQUEST_CONTROL, _O.RESET, _O.START_OR_RESUME})


@dataclass(frozen=True, slots=True)
class ControlPointRequest:
    """One Control Point write: `op_code` and its raw `parameter` octets."""

    op_code: OpCode
    parameter: bytes = b""

    @classmethod
    def build(cls, op_code: OpCode, value: Any = None) -> ControlPointRequest:
        """A request with `value` encoded as `op_code`'s parameter (None when it takes none).

        Raises `FTMSEncodeError` naming the field when the value does not fit.
        """
        no_parameter = "this procedure takes no parameter"
        return cls(op_code, encode_parameter(REQUEST_PARAMS, op_code, value, no_parameter))

    @property
    def parameter_ok(self) -> bool:
        """True when the parameter has exactly the octets this (known) op code defines."""
        if self.op_code in _NO_PARAMETER:
            return not self.parameter
        param = REQUEST_PARAMS.get(self.op_code)
        return param is not None and len(self.parameter) == param.size

    @property
    def value(self) -> Any:
        """The decoded parameter of this op code, or None (no parameter / too short)."""
        return decode_parameter(REQUEST_PARAMS, self.op_code, self.parameter)

    def _typed(self, *op_codes: OpCode) -> Any:
        return self.value if self.op_code in op_codes else None

    @property
    def speed_kmh(self) -> float | None:
        """0x02 Set Target Speed, km/h."""
        return self._typed(_O.SET_TARGET_SPEED)  # type: ignore[no-any-return]

    @property
    def incline_pct(self) -> float | None:
        """0x03 Set Target Inclination, %."""
        return self._typed(_O.SET_TARGET_INCLINATION)  # type: ignore[no-any-return]

    @property
    def resistance_level(self) -> float | None:
        """0x04 Set Target Resistance Level (u8, 0.1)."""
        return self._typed(_O.SET_TARGET_RESISTANCE_LEVEL)  # type: ignore[no-any-return]

    @property
    def power_w(self) -> int | None:
        """0x05 Set Target Power, W."""
        return self._typed(_O.SET_TARGET_POWER)  # type: ignore[no-any-return]

    @property
    def heart_rate_bpm(self) -> int | None:
        """0x06 Set Target Heart Rate, bpm."""
        return self._typed(_O.SET_TARGET_HEART_RATE)  # type: ignore[no-any-return]

    @property
    def control(self) -> StopPauseControl | None:
        """0x08 Stop or Pause: STOP or PAUSE."""
        return self._typed(_O.STOP_OR_PAUSE)  # type: ignore[no-any-return]

    @property
    def expended_energy_kcal(self) -> int | None:
        """0x09 Set Targeted Expended Energy, kcal."""
        return self._typed(_O.SET_TARGETED_EXPENDED_ENERGY)  # type: ignore[no-any-return]

    @property
    def steps(self) -> int | None:
        """0x0A Set Targeted Number of Steps."""
        return self._typed(_O.SET_TARGETED_NUMBER_OF_STEPS)  # type: ignore[no-any-return]

    @property
    def strides(self) -> int | None:
        """0x0B Set Targeted Number of Strides."""
        return self._typed(_O.SET_TARGETED_NUMBER_OF_STRIDES)  # type: ignore[no-any-return]

    @property
    def distance_m(self) -> int | None:
        """0x0C Set Targeted Distance, m (u24)."""
        return self._typed(_O.SET_TARGETED_DISTANCE)  # type: ignore[no-any-return]

    @property
    def training_time_s(self) -> int | None:
        """0x0D Set Targeted Training Time, s."""
        return self._typed(_O.SET_TARGETED_TRAINING_TIME)  # type: ignore[no-any-return]

    @property
    def hr_zone_times_s(self) -> tuple[int, ...] | None:
        """0x0E / 0x0F / 0x10 Set Targeted Time in 2 / 3 / 5 HR Zones, s per zone."""
        return self._typed(  # type: ignore[no-any-return]
            _O.SET_TARGETED_TIME_IN_TWO_HR_ZONES,
            _O.SET_TARGETED_TIME_IN_THREE_HR_ZONES,
            _O.SET_TARGETED_TIME_IN_FIVE_HR_ZONES,
        )

    @property
    def simulation(self) -> IndoorBikeSimulation | None:
        """0x11 Set Indoor Bike Simulation Parameters."""
        return self._typed(_O.SET_INDOOR_BIKE_SIMULATION_PARAMETERS)  # type: ignore[no-any-return]

    @property
    def wheel_circumference_mm(self) -> float | None:
        """0x12 Set Wheel Circumference, mm."""
        return self._typed(_O.SET_WHEEL_CIRCUMFERENCE)  # type: ignore[no-any-return]

    @property
    def spin_down_control(self) -> SpinDownControl | None:
        """0x13 Spin Down Control: START or IGNORE."""
        return self._typed(_O.SPIN_DOWN_CONTROL)  # type: ignore[no-any-return]

    @property
    def cadence_per_min(self) -> float | None:
        """0x14 Set Targeted Cadence, 1/min."""
        return self._typed(_O.SET_TARGETED_CADENCE)  # type: ignore[no-any-return]


def decode_control_point_request(data: bytes) -> ControlPointRequest:
    """Decode a Control Point write. Raises `FTMSDecodeError` only for an empty write."""
    need(data, 1, "control point request")
    return ControlPointRequest(OpCode(data[0]), bytes(data[1:]))


def encode_control_point_request(request: ControlPointRequest) -> bytes:
    """The octets to write: op code, then the parameter as held."""
    op_code = check_int(int(request.op_code), 0, 0xFF, "op_code")
    if op_code == RESPONSE_OP_CODE:
        raise FTMSEncodeError("op_code: 0x80 is the response code, not a request", field="op_code")
    return bytes([op_code]) + bytes(request.parameter)


_SPIN_DOWN_SPEEDS = struct.Struct("<HH")


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """The 0x80 response indication: which request it answers, the result, and any parameter."""

    request_op_code: OpCode
    result_code: ResultCode
    parameter: bytes = b""

    @property
    def succeeded(self) -> bool:
        """True for result code Success (0x01)."""
        return self.result_code == ResultCode.SUCCESS

    @property
    def spin_down_speeds_kmh(self) -> tuple[float, float] | None:
        """Spin Down success: (target speed low, target speed high) in km/h, else None."""
        if (
            self.request_op_code != OpCode.SPIN_DOWN_CONTROL
            or not self.succeeded
            or len(self.parameter) < _SPIN_DOWN_SPEEDS.size
        ):
            return None
        low, high = _SPIN_DOWN_SPEEDS.unpack_from(self.parameter)
        return low / 100, high / 100


def decode_control_point_response(data: bytes) -> ControlPointResponse:
    """Decode a Control Point indication (`80 op result [parameter]`).

    Raises `FTMSDecodeError` for fewer than 3 octets or a first octet other than 0x80.
    """
    need(data, 3, "control point response")
    if data[0] != RESPONSE_OP_CODE:
        raise FTMSDecodeError(
            f"control point response: first octet must be 0x80, got 0x{data[0]:02X} "
            f"({bytes(data).hex()})",
            characteristic="control point response",
            data=data,
        )
    return ControlPointResponse(OpCode(data[1]), ResultCode(data[2]), bytes(data[3:]))


def encode_control_point_response(response: ControlPointResponse) -> bytes:
    """The octets of the 0x80 indication. Raises `FTMSEncodeError` for codes outside u8."""
    op_code = check_int(int(response.request_op_code), 0, 0xFF, "request_op_code")
    result = check_int(int(response.result_code), 0, 0xFF, "result_code")
    return bytes([RESPONSE_OP_CODE, op_code, result]) + bytes(response.parameter)
