"""The Bluetooth link to FTMS treadmills: the only module that uses bleak.

Owns: scanning (`scan`, `find_device`, `ScanResult`), the per-treadmill link
(`TreadmillLink`: connect through bleak-retry-connector, read features, ranges and Device
Information, subscribe, run control-point procedures, decode notifications into link events on a
queue, detect stale telemetry, reconnect with backoff) and the quirk profiles that adapt all of it
to real devices (`QuirkProfile`, `load_profiles`). The bleak backend is injectable
(`client_backend`, `scanner_backend`), so the unchanged code runs against the virtual treadmill.
"""

from __future__ import annotations

from treadctl.ble.backoff import Backoff
from treadctl.ble.caps import device_caps
from treadctl.ble.events import (
    DeviceInfo,
    LinkConnected,
    LinkEvent,
    LinkLost,
    LinkRestored,
    LinkSilent,
    MachineStatusReceived,
    TelemetryReceived,
    TelemetryStale,
    TrainingStatusReceived,
)
from treadctl.ble.link import TreadmillLink
from treadctl.ble.quirks import (
    ProfileSet,
    QuirkProfile,
    RequestControl,
    SpeedUnit,
    load_profile_file,
    load_profiles,
)
from treadctl.ble.scanning import ScanResult, classify, find_device, rank, scan

__all__ = [
    "Backoff",
    "DeviceInfo",
    "LinkConnected",
    "LinkEvent",
    "LinkLost",
    "LinkRestored",
    "LinkSilent",
    "MachineStatusReceived",
    "ProfileSet",
    "QuirkProfile",
    "RequestControl",
    "ScanResult",
    "SpeedUnit",
    "TelemetryReceived",
    "TelemetryStale",
    "TrainingStatusReceived",
    "TreadmillLink",
    "classify",
    "device_caps",
    "find_device",
    "load_profile_file",
    "load_profiles",
    "rank",
    "scan",
]
