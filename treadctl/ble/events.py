"""Link events: what a `TreadmillLink` reports on its `events` queue.

Owns: the event records and `DeviceInfo`. Times are the link clock's seconds at receipt
(`received_s`), never the treadmill's own counters (Q20). Speeds and inclines are real km/h and
real % (the profile's conversions are already applied).
"""

from __future__ import annotations

from dataclasses import dataclass

from treadctl import ftms
from treadctl.safety import DeviceCaps


@dataclass(frozen=True)
class DeviceInfo:
    """Device Information service strings (None where the device has no such characteristic)."""

    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    hardware_revision: str | None = None
    firmware_revision: str | None = None
    software_revision: str | None = None


@dataclass(frozen=True)
class LinkConnected:
    """The first connection is up: ranges read, notifications on, telemetry flowing."""

    address: str
    name: str
    profile: str
    device_caps: DeviceCaps
    device_info: DeviceInfo
    features: ftms.FitnessMachineFeature
    received_s: float


@dataclass(frozen=True)
class TelemetryReceived:
    """One complete Treadmill Data record (More Data fragments merged)."""

    record: ftms.TreadmillData
    received_s: float


@dataclass(frozen=True)
class MachineStatusReceived:
    """A Fitness Machine Status notification.

    `echo` is True when it follows our own control-point write (Q12: some devices tell the
    controlling client about its own changes) — not a person at the console.
    """

    status: ftms.MachineStatus
    echo: bool
    received_s: float


@dataclass(frozen=True)
class TrainingStatusReceived:
    """A Training Status notification (unreliable on many devices: Q7)."""

    status: ftms.TrainingStatus
    received_s: float


@dataclass(frozen=True)
class TelemetryStale:
    """No Treadmill Data for `silent_for_s` (longer than the profile's `stale_after_s`)."""

    last_record_s: float
    silent_for_s: float
    received_s: float


@dataclass(frozen=True)
class LinkLost:
    """The link dropped (or was dropped after a control-point timeout). It reconnects by itself;
    nothing is sent to the treadmill on the way back (DESIGN §2 rule 7)."""

    reason: str
    received_s: float


@dataclass(frozen=True)
class LinkRestored:
    """The link is back and telemetry flows again; `belt_moving` is what the belt is doing."""

    address: str
    belt_moving: bool
    device_caps: DeviceCaps
    received_s: float


@dataclass(frozen=True)
class LinkSilent:
    """A reconnect got a connection but no Treadmill Data (vendor unlock needed? Q15); the link
    disconnected and keeps trying."""

    address: str
    waited_s: float
    received_s: float


LinkEvent = (
    LinkConnected
    | TelemetryReceived
    | MachineStatusReceived
    | TrainingStatusReceived
    | TelemetryStale
    | LinkLost
    | LinkRestored
    | LinkSilent
)
