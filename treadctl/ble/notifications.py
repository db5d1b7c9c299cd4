"""Turning notifications into link events.

Owns: `NotificationDecoder` — Treadmill Data through the `TreadmillDataAssembler` (More Data
merged, reset on disconnect), the profile's conversions to real km/h and % (Q3, Q4) and Elapsed
Time unwrapping (Q10); Fitness Machine Status with its echo flag (Q12); Training Status. A bad
frame is logged and dropped, never raised (it arrives from the peer). Pure apart from logging.
"""

from __future__ import annotations

import dataclasses

import structlog

from treadctl import ftms
from treadctl.ble.events import MachineStatusReceived, TelemetryReceived, TrainingStatusReceived
from treadctl.ble.quirks import SPEC_INCLINE_SCALE, QuirkProfile, SpeedUnit
from treadctl.ble.tracking import EchoFilter, ElapsedUnwrap

log = structlog.get_logger("treadctl.ble")
_S = ftms.MachineStatusOpCode


class NotificationDecoder:
    """Decodes one link's notifications with one profile's conversions."""

    def __init__(self, profile: QuirkProfile) -> None:
        self.profile = profile
        self._assembler = ftms.TreadmillDataAssembler(step_count_ext=profile.vendor_step_count)
        self._elapsed = ElapsedUnwrap(profile.elapsed_wrap_s)

    def reset(self) -> None:
        """Drop a half-assembled record (the link dropped)."""
        self._assembler.reset()

    def treadmill_data(self, data: bytes, received_s: float) -> TelemetryReceived | None:
        """A complete record in real units, or None (fragment held, or undecodable)."""
        try:
            record = self._assembler.feed(data)
        except ftms.FTMSDecodeError as exc:
            log.warning("treadmill_data_undecodable", data=data.hex(), error=str(exc))
            return None
        if record is None:
            return None
        return TelemetryReceived(self._real_units(record), received_s)

    def _real_units(self, record: ftms.TreadmillData) -> ftms.TreadmillData:
        p = self.profile
        changes: dict[str, float | None] = {}
        if p.reported_speed_units is not SpeedUnit.KMH:
            for key in ("speed_kmh", "average_speed_kmh"):
                value = getattr(record, key)
                changes[key] = None if value is None else p.reported_speed_kmh(value)
        if p.incline_scale != SPEC_INCLINE_SCALE and record.inclination_pct is not None:
            changes["inclination_pct"] = p.reported_incline_pct(record.inclination_pct)
        if p.elapsed_wrap_s > 0:
            changes["elapsed_time_s"] = self._elapsed.unwrap(record.elapsed_time_s)
        return dataclasses.replace(record, **changes) if changes else record  # type: ignore[arg-type]

    def machine_status(
        self, data: bytes, received_s: float, echo: EchoFilter
    ) -> MachineStatusReceived | None:
        """A status in real units with its echo flag, or None when undecodable."""
        try:
            status = ftms.decode_machine_status(data)
        except ftms.FTMSDecodeError as exc:
            log.warning("machine_status_undecodable", data=data.hex(), error=str(exc))
            return None
        status = self._status_real_units(status)
        is_echo = echo.is_echo(int(status.op_code), received_s)
        return MachineStatusReceived(status, is_echo, received_s)

    def _status_real_units(self, status: ftms.MachineStatus) -> ftms.MachineStatus:
        p = self.profile
        speed, incline = status.target_speed_kmh, status.target_incline_pct
        try:
            if speed is not None and p.reported_speed_units is not SpeedUnit.KMH:
                return ftms.MachineStatus.build(status.op_code, p.reported_speed_kmh(speed))
            if incline is not None and p.incline_scale != SPEC_INCLINE_SCALE:
                return ftms.MachineStatus.build(status.op_code, p.reported_incline_pct(incline))
        except ftms.FTMSEncodeError:
            log.info("machine_status_not_converted", op_code=int(status.op_code))
        return status

    def training_status(self, data: bytes, received_s: float) -> TrainingStatusReceived | None:
        """A Training Status, or None when undecodable."""
        try:
            return TrainingStatusReceived(ftms.decode_training_status(data), received_s)
        except ftms.FTMSDecodeError as exc:
            log.warning("training_status_undecodable", data=data.hex(), error=str(exc))
            return None
