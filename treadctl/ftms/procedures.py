"""One small encoder per Control Point procedure (FTMS v1.0 §4.16.2; ref/ftms-spec.md §7.1).

Owns: the octets a client writes for each procedure, e.g. `encode_set_target_speed(8.2)` →
`02 34 03`. Each raises `FTMSEncodeError` naming the field when a value does not fit its wire
format (scaling is `round()` plus a range check). Whether a value is *allowed* (caps, device
range) is the governor's business, not the codec's.
"""

from __future__ import annotations

from treadctl.ftms._wire import to_raw
from treadctl.ftms.control_point import (
    ControlPointRequest,
    ControlPointResponse,
    OpCode,
    ResultCode,
    encode_control_point_request,
    encode_control_point_response,
)
from treadctl.ftms.params import IndoorBikeSimulation, SpinDownControl, StopPauseControl


def _request(op_code: OpCode, value: object = None) -> bytes:
    return encode_control_point_request(ControlPointRequest.build(op_code, value))


def encode_request_control() -> bytes:
    """0x00 Request Control."""
    return _request(OpCode.REQUEST_CONTROL)


def encode_reset() -> bytes:
    """0x01 Reset (also releases control)."""
    return _request(OpCode.RESET)


def encode_set_target_speed(speed_kmh: float) -> bytes:
    """0x02 Set Target Speed: u16, 0.01 km/h (8.2 → 820)."""
    return _request(OpCode.SET_TARGET_SPEED, speed_kmh)


def encode_set_target_inclination(incline_pct: float) -> bytes:
    """0x03 Set Target Inclination: s16, 0.1 % (may be negative)."""
    return _request(OpCode.SET_TARGET_INCLINATION, incline_pct)


def encode_set_target_resistance_level(resistance_level: float) -> bytes:
    """0x04 Set Target Resistance Level: u8, 0.1."""
    return _request(OpCode.SET_TARGET_RESISTANCE_LEVEL, resistance_level)


def encode_set_target_power(power_w: int) -> bytes:
    """0x05 Set Target Power: s16, W."""
    return _request(OpCode.SET_TARGET_POWER, power_w)


def encode_set_target_heart_rate(heart_rate_bpm: int) -> bytes:
    """0x06 Set Target Heart Rate: u8, bpm."""
    return _request(OpCode.SET_TARGET_HEART_RATE, heart_rate_bpm)


def encode_start_or_resume() -> bytes:
    """0x07 Start or Resume."""
    return _request(OpCode.START_OR_RESUME)


def encode_stop_or_pause(control: StopPauseControl) -> bytes:
    """0x08 Stop or Pause: 0x01 Stop, 0x02 Pause."""
    return _request(OpCode.STOP_OR_PAUSE, control)


def encode_set_targeted_expended_energy(energy_kcal: int) -> bytes:
    """0x09 Set Targeted Expended Energy: u16, kcal."""
    return _request(OpCode.SET_TARGETED_EXPENDED_ENERGY, energy_kcal)


def encode_set_targeted_steps(steps: int) -> bytes:
    """0x0A Set Targeted Number of Steps: u16."""
    return _request(OpCode.SET_TARGETED_NUMBER_OF_STEPS, steps)


def encode_set_targeted_strides(strides: int) -> bytes:
    """0x0B Set Targeted Number of Strides: u16."""
    return _request(OpCode.SET_TARGETED_NUMBER_OF_STRIDES, strides)


def encode_set_targeted_distance(distance_m: int) -> bytes:
    """0x0C Set Targeted Distance: u24, m."""
    return _request(OpCode.SET_TARGETED_DISTANCE, distance_m)


def encode_set_targeted_training_time(training_time_s: int) -> bytes:
    """0x0D Set Targeted Training Time: u16, s."""
    return _request(OpCode.SET_TARGETED_TRAINING_TIME, training_time_s)


def encode_set_targeted_time_in_two_hr_zones(fat_burn_s: int, fitness_s: int) -> bytes:
    """0x0E Set Targeted Time in Two Heart Rate Zones: 2 × u16, s."""
    return _request(OpCode.SET_TARGETED_TIME_IN_TWO_HR_ZONES, (fat_burn_s, fitness_s))


def encode_set_targeted_time_in_three_hr_zones(light_s: int, moderate_s: int, hard_s: int) -> bytes:
    """0x0F Set Targeted Time in Three Heart Rate Zones: 3 × u16, s."""
    return _request(OpCode.SET_TARGETED_TIME_IN_THREE_HR_ZONES, (light_s, moderate_s, hard_s))


def encode_set_targeted_time_in_five_hr_zones(
    very_light_s: int, light_s: int, moderate_s: int, hard_s: int, maximum_s: int
) -> bytes:
    """0x10 Set Targeted Time in Five Heart Rate Zones: 5 × u16, s."""
    zones = (very_light_s, light_s, moderate_s, hard_s, maximum_s)
    return _request(OpCode.SET_TARGETED_TIME_IN_FIVE_HR_ZONES, zones)


def encode_set_indoor_bike_simulation(simulation: IndoorBikeSimulation) -> bytes:
    """0x11 Set Indoor Bike Simulation Parameters: wind, grade, Crr, Cw."""
    return _request(OpCode.SET_INDOOR_BIKE_SIMULATION_PARAMETERS, simulation)


def encode_set_wheel_circumference(wheel_circumference_mm: float) -> bytes:
    """0x12 Set Wheel Circumference: u16, 0.1 mm."""
    return _request(OpCode.SET_WHEEL_CIRCUMFERENCE, wheel_circumference_mm)


def encode_spin_down_control(control: SpinDownControl) -> bytes:
    """0x13 Spin Down Control: 0x01 Start, 0x02 Ignore."""
    return _request(OpCode.SPIN_DOWN_CONTROL, control)


def encode_set_targeted_cadence(cadence_per_min: float) -> bytes:
    """0x14 Set Targeted Cadence: u16, 0.5 /min."""
    return _request(OpCode.SET_TARGETED_CADENCE, cadence_per_min)


def encode_spin_down_success(low_kmh: float, high_kmh: float) -> bytes:
    """The server's `80 13 01` response with Target Speed Low and High (u16, 0.01 km/h)."""
    parameter = to_raw(low_kmh, 100, 0, 0xFFFF, "low_kmh").to_bytes(2, "little") + to_raw(
        high_kmh, 100, 0, 0xFFFF, "high_kmh"
    ).to_bytes(2, "little")
    response = ControlPointResponse(OpCode.SPIN_DOWN_CONTROL, ResultCode.SUCCESS, parameter)
    return encode_control_point_response(response)
