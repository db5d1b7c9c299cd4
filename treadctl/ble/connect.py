"""Opening a connection to one treadmill and learning what it is.

Owns: `Target` (how to find and reach a treadmill) and `open_connection` — find it by address
and/or name glob, connect through `bleak_retry_connector.establish_connection()` with the
`BLEDevice` from that scan (DESIGN §8), confirm the FTMS service, read Device Information, pick
the quirk profile (fixed, else by name, else by model number), read Feature and the Supported
Speed / Inclination Ranges and turn them into `DeviceCaps`. Subscribing is the link's job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak_retry_connector import establish_connection

from treadctl import ftms
from treadctl.ble.caps import device_caps
from treadctl.ble.events import DeviceInfo
from treadctl.ble.gatt import FtmsGatt
from treadctl.ble.quirks import ProfileSet, QuirkProfile
from treadctl.ble.scanning import backend_kwargs, find_device
from treadctl.ble.translate import BLEAK_ERRORS, bluetooth_error
from treadctl.errors import SafetyError, UnsupportedDeviceError
from treadctl.safety import DeviceCaps

CONNECT_ATTEMPTS = 3  # bleak-retry-connector's own retries inside one connection attempt


@dataclass(frozen=True)
class Target:
    """Which treadmill, and through which radio."""

    address: str | None
    name: str | None
    client_backend: type[BaseBleakClient] | None = None
    scanner_backend: type[BaseBleakScanner] | None = None
    adapter: str | None = None
    scan_timeout_s: float = 10.0
    connect_timeout_s: float = 20.0


@dataclass(frozen=True)
class Connection:
    """A connected treadmill and what it said about itself."""

    device: BLEDevice
    gatt: FtmsGatt
    profile: QuirkProfile
    caps: DeviceCaps
    info: DeviceInfo
    features: ftms.FitnessMachineFeature


async def open_connection(
    target: Target,
    profiles: ProfileSet,
    fixed_profile: QuirkProfile | None,
    on_disconnected: Callable[[BleakClient], None],
) -> Connection:
    """Find, connect and read the treadmill; the client is disconnected again on failure.

    Raises `DeviceNotFoundError`, `UnsupportedDeviceError` or `BluetoothError`.
    """
    device = await find_device(
        target.address,
        target.name,
        target.scan_timeout_s,
        scanner_backend=target.scanner_backend,
        adapter=target.adapter,
    )
    gatt = FtmsGatt(await _establish(target, device, on_disconnected), device.address)
    try:
        return await _read(device, gatt, profiles, fixed_profile)
    except BaseException:
        await gatt.disconnect()
        raise


async def _establish(
    target: Target, device: BLEDevice, on_disconnected: Callable[[BleakClient], None]
) -> BleakClient:
    try:
        # establish_connection retries transient errors itself, then raises BleakNotFoundError,
        # BleakAbortedError, BleakConnectionError or BleakOutOfConnectionSlotsError (all
        # BleakError); asyncio.timeout raises TimeoutError.
        async with asyncio.timeout(target.connect_timeout_s):
            return await establish_connection(
                BleakClient,
                device,
                device.name or device.address,
                disconnected_callback=on_disconnected,
                max_attempts=CONNECT_ATTEMPTS,
                **backend_kwargs(target.client_backend, target.adapter),
            )
    except BLEAK_ERRORS as exc:
        raise bluetooth_error(f"connect to {device.address}", exc, address=device.address) from exc


async def _read(
    device: BLEDevice, gatt: FtmsGatt, profiles: ProfileSet, fixed_profile: QuirkProfile | None
) -> Connection:
    gatt.check_ftms()
    info = await gatt.read_device_info()
    profile = fixed_profile or profiles.select(device.name, info.model)
    feature_raw = await gatt.read(ftms.FEATURE_UUID)
    speed_raw = await gatt.read(ftms.SPEED_RANGE_UUID)
    incline_raw = await gatt.read(ftms.INCLINATION_RANGE_UUID)
    try:
        features = ftms.decode_fitness_machine_feature(feature_raw or bytes(8))
        speed = ftms.decode_speed_range(speed_raw) if speed_raw else None
        incline = ftms.decode_inclination_range(incline_raw) if incline_raw else None
        caps = device_caps(profile, speed, incline)
    except (ftms.FTMSDecodeError, SafetyError) as exc:
        raise UnsupportedDeviceError(
            f"unusable Feature or range values: {exc}", address=device.address
        ) from exc
    return Connection(device, gatt, profile, caps, info, features)
