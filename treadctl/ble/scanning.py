"""Finding treadmills: scan, classify, rank.

Owns: `ScanResult`, `classify` (is an advertisement an FTMS machine, by service UUID or by a
profile's name pattern for the many walking pads that leave 0x1826 out, Q23), `rank` (strongest
signal first), `scan` (a timed scan) and `find_device` (the first advertisement matching a
configured address and/or name glob). The bleak scanner backend is injectable.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

import structlog
from bleak import BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from treadctl import ftms
from treadctl.ble.quirks import ProfileSet
from treadctl.ble.translate import BLEAK_ERRORS, bluetooth_error
from treadctl.errors import DeviceNotFoundError

log = structlog.get_logger("treadctl.ble")


@dataclass(frozen=True)
class ScanResult:
    """One FTMS machine heard during a scan.

    `ftms_advertised`: the advertisement carries the FTMS service UUID (or its service data);
    `matched_by_name`: a quirk profile's name pattern matched instead. `machine_type` and
    `available` come from the FTMS service data (None when it was not advertised). `profile` is
    the quirk profile the name selects (`default` when none does).
    """

    name: str | None
    address: str
    rssi_dbm: int | None
    ftms_advertised: bool
    matched_by_name: bool
    machine_type: ftms.FitnessMachineType | None
    available: bool | None
    profile: str
    device: BLEDevice


def _service_data(adv: AdvertisementData) -> ftms.ServiceData | None:
    raw = adv.service_data.get(ftms.FTMS_SERVICE_UUID)
    if raw is None:
        return None
    try:
        return ftms.decode_service_data(bytes(raw))
    except ftms.FTMSDecodeError:
        log.info("scan_bad_service_data", data=bytes(raw).hex())
        return None


def classify(device: BLEDevice, adv: AdvertisementData, profiles: ProfileSet) -> ScanResult | None:
    """A `ScanResult` when the advertisement is an FTMS machine, by UUID or by name; else None."""
    name = adv.local_name or device.name
    service_data = _service_data(adv)
    uuids = {u.lower() for u in adv.service_uuids}
    advertised = ftms.FTMS_SERVICE_UUID in uuids or ftms.FTMS_SERVICE_UUID in adv.service_data
    by_name = profiles.match_name(name)
    if not advertised and by_name is None:
        return None
    return ScanResult(
        name=name,
        address=device.address,
        rssi_dbm=adv.rssi,
        ftms_advertised=advertised,
        matched_by_name=by_name is not None and not advertised,
        machine_type=service_data.machine_type if service_data else None,
        available=service_data.available if service_data else None,
        profile=(by_name or profiles.default).name,
        device=device,
    )


def rank(results: list[ScanResult]) -> list[ScanResult]:
    """Strongest signal first; unknown RSSI last; ties by name then address (stable output)."""
    return sorted(
        results,
        key=lambda r: (
            r.rssi_dbm is None,
            -(r.rssi_dbm if r.rssi_dbm is not None else 0),
            r.name or "",
            r.address,
        ),
    )


def backend_kwargs(
    backend: type[BaseBleakScanner] | type[BaseBleakClient] | None, adapter: str | None
) -> dict[str, Any]:
    """The keyword arguments that point a `BleakScanner` or `BleakClient` at `backend` (None:
    the platform's) and at the BlueZ `adapter` (None: the default one)."""
    kwargs: dict[str, Any] = {}
    if backend is not None:
        kwargs["backend"] = backend
    if adapter:
        kwargs["bluez"] = {"adapter": adapter}
    return kwargs


async def scan(
    timeout_s: float,
    profiles: ProfileSet,
    *,
    scanner_backend: type[BaseBleakScanner] | None = None,
    adapter: str | None = None,
) -> list[ScanResult]:
    """Listen for `timeout_s` seconds; every FTMS machine heard, strongest signal first.

    Raises `BluetoothError` (with a hint) when Bluetooth cannot be used.
    """
    try:
        # BleakScanner.discover raises BleakBluetoothNotAvailableError (no adapter, powered
        # off, denied), BleakDBusError / OSError / EOFError (no BlueZ or D-Bus).
        found = await BleakScanner.discover(
            timeout_s, return_adv=True, **backend_kwargs(scanner_backend, adapter)
        )
    except BLEAK_ERRORS as exc:
        raise bluetooth_error("scan", exc) from exc
    results = [classify(d, a, profiles) for d, a in found.values()]
    ranked = rank([r for r in results if r is not None])
    log.info("scan_finished", heard=len(found), ftms=len(ranked), timeout_s=timeout_s)
    return ranked


def target_matches(
    device: BLEDevice, adv: AdvertisementData, address: str | None, name: str | None
) -> bool:
    """True when a device matches a configured address and/or advertised-name glob."""
    if address and device.address.casefold() != address.casefold():
        return False
    if name:
        heard = adv.local_name or device.name or ""
        return fnmatch.fnmatchcase(heard.casefold(), name.casefold())
    return bool(address)


async def find_device(
    address: str | None,
    name: str | None,
    timeout_s: float,
    *,
    scanner_backend: type[BaseBleakScanner] | None = None,
    adapter: str | None = None,
) -> BLEDevice:
    """The first device heard that matches `address` and/or the `name` glob.

    Raises `DeviceNotFoundError` when none is heard within `timeout_s`, `BluetoothError` when
    Bluetooth cannot be used.
    """
    wanted = " ".join(p for p in (address, repr(name) if name else None) if p) or "?"
    try:
        # find_device_by_filter raises what BleakScanner.start raises (see `scan`).
        device = await BleakScanner.find_device_by_filter(
            lambda d, a: target_matches(d, a, address, name),
            timeout=timeout_s,
            **backend_kwargs(scanner_backend, adapter),
        )
    except BLEAK_ERRORS as exc:
        raise bluetooth_error(f"scan for treadmill {wanted}", exc, address=address or "") from exc
    if device is None:
        raise DeviceNotFoundError(
            f"treadmill {wanted} not found within {timeout_s:g} s: is it switched on, in range, "
            "and not connected to another app (phone, tablet)?",
            address=address or "",
        )
    return device
