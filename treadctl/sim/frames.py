"""The octets the virtual treadmill sends, built with the FTMS codec.

Owns: `Notification` (what a model call hands the GATT layer to send) and the builders for every
characteristic value: Treadmill Data frames (whole, split with More Data to fit the MTU, or cut to
20 octets for Q2), Fitness Machine Status, Training Status, the 0x80 response, Feature and the
ranges. Quirks that change only the octets (mph, incline scale, padding, Q7 strings, Q8 bits) are
applied here; the model decides *what* to send and *when*.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadctl import ftms
from treadctl.sim.belt import Belt
from treadctl.sim.settings import Quirks, TreadmillConfig

KMH_PER_MPH = 1.609344  # exact, by definition of the international mile

FEATURES = ftms.FitnessMachineFeature(
    ftms.MachineFeatures.AVERAGE_SPEED
    | ftms.MachineFeatures.TOTAL_DISTANCE
    | ftms.MachineFeatures.INCLINATION
    | ftms.MachineFeatures.ELEVATION_GAIN
    | ftms.MachineFeatures.EXPENDED_ENERGY
    | ftms.MachineFeatures.HEART_RATE_MEASUREMENT
    | ftms.MachineFeatures.METABOLIC_EQUIVALENT
    | ftms.MachineFeatures.ELAPSED_TIME
    | ftms.MachineFeatures.FORCE_ON_BELT_AND_POWER_OUTPUT,
    ftms.TargetSettingFeatures.SPEED_TARGET | ftms.TargetSettingFeatures.INCLINATION_TARGET,
)


@dataclass(frozen=True)
class Notification:
    """One value to send: a notification, or an indication when `indication` is set."""

    uuid: str
    data: bytes
    indication: bool = False


def speed_out(speed_kmh: float, quirks: Quirks) -> float:
    """A speed as the machine reports it (km/h, or mph under `reported_speed_mph`, Q4)."""
    return speed_kmh / KMH_PER_MPH if quirks.reported_speed_mph else speed_kmh


def incline_out(incline_pct: float, quirks: Quirks) -> float:
    """A real incline as the wire's 0.1 % units carry it under the device's scale (Q3)."""
    return incline_pct * quirks.incline_scale / 10


def incline_in(wire_pct: float, quirks: Quirks) -> float:
    """The real incline a Set Target Inclination value means under the device's scale (Q3)."""
    return wire_pct * 10 / quirks.incline_scale


def treadmill_record(belt: Belt, quirks: Quirks, *, zero_speed: bool = False) -> ftms.TreadmillData:
    """The current Treadmill Data record (30 octets: the Matrix field set, ref Q2)."""
    stuck = quirks.counters_stuck_zero
    elapsed = 0 if stuck else int(belt.elapsed_s)
    if quirks.elapsed_wrap_s:
        elapsed %= quirks.elapsed_wrap_s
    energy = 0 if stuck else round(belt.energy_kcal)
    return ftms.TreadmillData(
        speed_kmh=0.0 if zero_speed else round(speed_out(belt.speed_kmh, quirks), 2),
        average_speed_kmh=round(speed_out(belt.average_speed_kmh, quirks), 2),
        total_distance_m=0 if stuck else int(belt.distance_m),
        inclination_pct=round(incline_out(belt.incline_pct, quirks), 1),
        positive_elevation_gain_m=round(belt.positive_elevation_m, 1),
        negative_elevation_gain_m=round(belt.negative_elevation_m, 1),
        total_energy_kcal=min(energy, 0xFFFE),
        energy_per_hour_kcal=min(round(belt.kcal_per_minute * 60), 0xFFFE),
        energy_per_minute_kcal=min(round(belt.kcal_per_minute), 0xFE),
        heart_rate_bpm=0,  # no contact
        metabolic_equivalent=min(round(belt.metabolic_equivalent, 1), 25.5),
        elapsed_time_s=min(elapsed, 0xFFFF),
        step_count=min(belt.steps, 0xFF_FFFF) if quirks.step_count_ext else None,
        unavailable=frozenset({"ramp_angle_deg", "force_on_belt_n", "power_output_w"}),
    )


def treadmill_frames(record: ftms.TreadmillData, quirks: Quirks, mtu: int) -> list[bytes]:
    """The notifications that carry `record` on a link with ATT MTU `mtu`.

    Spec: split with More Data when the record does not fit (FTMS §4.19). Q2 (`truncate_to_20`):
    one frame with the full flags, cut to 20 octets. `more_data_split`: split at that size.
    """
    ext = quirks.step_count_ext
    if quirks.truncate_to_20:
        return [ftms.encode_treadmill_data(record, step_count_ext=ext)[:20]]
    max_payload = quirks.more_data_split or (mtu - 3)
    return ftms.split_treadmill_data(record, max_payload, step_count_ext=ext)


def machine_status(
    op_code: ftms.MachineStatusOpCode, quirks: Quirks, value: object = None
) -> Notification:
    """A Fitness Machine Status notification (zero-padded to `status_pad_to` octets, Q6)."""
    data = ftms.encode_machine_status(ftms.MachineStatus.build(op_code, value))
    return Notification(ftms.MACHINE_STATUS_UUID, data.ljust(quirks.status_pad_to, b"\x00"))


def training_status(code: ftms.TrainingStatusCode, quirks: Quirks) -> Notification:
    """A Training Status value (Q7: empty string with the flag set, or stuck at Other)."""
    return Notification(ftms.TRAINING_STATUS_UUID, training_status_bytes(code, quirks))


def training_status_bytes(code: ftms.TrainingStatusCode, quirks: Quirks) -> bytes:
    """The Training Status octets for `code` under the quirks."""
    if quirks.training_status_stuck_other:
        code = ftms.TrainingStatusCode.OTHER
    string = "" if quirks.training_status_empty_string else None
    return ftms.encode_training_status(ftms.TrainingStatus(code, string))


def response(op_code: int, result: int, quirks: Quirks) -> Notification:
    """The 0x80 response: an indication, or a notification on a notify-only CP (Q18)."""
    data = ftms.encode_control_point_response(
        ftms.ControlPointResponse(ftms.OpCode(op_code), ftms.ResultCode(result))
    )
    indicate = quirks.control_point != "write_nr_notify"
    return Notification(ftms.CONTROL_POINT_UUID, data, indication=indicate)


def feature_bytes(quirks: Quirks) -> bytes:
    """Fitness Machine Feature (0x2ACC), or the Q8 override."""
    if quirks.feature_override is not None:
        machine, target = quirks.feature_override
        return machine.to_bytes(4, "little") + target.to_bytes(4, "little")
    return ftms.encode_fitness_machine_feature(FEATURES)


def speed_range_bytes(config: TreadmillConfig, quirks: Quirks) -> bytes:
    """Supported Speed Range (0x2AD4), in mph numbers under `reported_speed_mph` (Q4)."""
    return ftms.encode_speed_range(
        ftms.SpeedRange(
            round(speed_out(config.speed_min_kmh, quirks), 2),
            round(speed_out(config.speed_max_kmh, quirks), 2),
            round(speed_out(config.speed_increment_kmh, quirks), 2),
        )
    )


def inclination_range_bytes(config: TreadmillConfig, quirks: Quirks) -> bytes:
    """Supported Inclination Range (0x2AD5) on the device's incline scale (Q3)."""
    return ftms.encode_inclination_range(
        ftms.InclinationRange(
            round(incline_out(config.incline_min_pct, quirks), 1),
            round(incline_out(config.incline_max_pct, quirks), 1),
            round(incline_out(config.incline_increment_pct, quirks), 1),
        )
    )


def device_information(config: TreadmillConfig) -> dict[str, bytes]:
    """Device Information strings by characteristic UUID."""
    return {
        ftms.MANUFACTURER_NAME_UUID: config.manufacturer.encode(),
        ftms.MODEL_NUMBER_UUID: config.model_number.encode(),
        ftms.SERIAL_NUMBER_UUID: config.serial_number.encode(),
        ftms.HARDWARE_REVISION_UUID: config.hardware_revision.encode(),
        ftms.FIRMWARE_REVISION_UUID: config.firmware_revision.encode(),
        ftms.SOFTWARE_REVISION_UUID: config.software_revision.encode(),
    }


def service_data(available: bool) -> bytes:
    """The FTMS service data: flags (bit 0 Available) and machine type Treadmill."""
    return ftms.encode_service_data(
        ftms.ServiceData(available=available, machine_type=ftms.FitnessMachineType.TREADMILL)
    )
