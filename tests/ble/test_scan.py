"""Scanning: FTMS by service UUID or by profile name pattern, exclusions, ranking by RSSI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from treadctl import ftms
from treadctl.ble import ProfileSet, classify, find_device, rank, scan
from treadctl.errors import DeviceNotFoundError
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import shared_link
from treadctl.sim.radio import VirtualRadio
from treadctl.sim.settings import Quirks, TreadmillConfig

FTMS_UUID = "00001826-0000-1000-8000-00805f9b34fb"


def adv(
    name: str | None,
    *,
    rssi: int = -60,
    uuids: tuple[str, ...] = (),
    service_data: dict[str, bytes] | None = None,
) -> AdvertisementData:
    return AdvertisementData(
        local_name=name,
        manufacturer_data={},
        service_data=service_data or {},
        service_uuids=list(uuids),
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )


def device(address: str, name: str | None = None) -> BLEDevice:
    return BLEDevice(address, name, None)


def test_ftms_uuid_and_service_data_classify_as_advertised(profiles: ProfileSet) -> None:
    """0x1826 in the UUIDs or its service data (01 0100: available treadmill) is FTMS."""
    found = classify(
        device("AA:00:00:00:00:01"),
        adv("Gym 1", uuids=(FTMS_UUID,), service_data={FTMS_UUID: b"\x01\x01\x00"}),
        profiles,
    )
    assert found is not None
    assert (found.ftms_advertised, found.matched_by_name) == (True, False)
    assert found.machine_type == ftms.FitnessMachineType.TREADMILL
    assert found.available is True
    assert found.profile == "default"


def test_walking_pad_without_uuid_matches_by_name(profiles: ProfileSet) -> None:
    """A KingSmith pad without 0x1826 in its advertisement is found by its name (Q23)."""
    found = classify(device("AA:00:00:00:00:02"), adv("KS-HD-Z1D"), profiles)
    assert found is not None
    assert (found.ftms_advertised, found.matched_by_name) == (False, True)
    assert found.machine_type is None
    assert found.profile == "kingsmith"


@pytest.mark.parametrize("name", ["SPERAX_RM01", "SPERAX_RM-02", "Phone", None])
def test_excluded_and_unknown_names_are_not_treadmills(
    profiles: ProfileSet, name: str | None
) -> None:
    """Proprietary Sperax models (Q23) and unknown devices without 0x1826 are left out."""
    assert classify(device("AA:00:00:00:00:03"), adv(name), profiles) is None


def test_bad_service_data_is_ignored_not_raised(profiles: ProfileSet) -> None:
    """A one-octet FTMS service data is still FTMS advertised, with no machine type."""
    found = classify(
        device("AA:00:00:00:00:04"), adv("X", service_data={FTMS_UUID: b"\x01"}), profiles
    )
    assert found is not None
    assert found.ftms_advertised
    assert found.machine_type is None


def test_rank_puts_the_strongest_signal_first(profiles: ProfileSet) -> None:
    """Results sort by RSSI, strongest first; unknown RSSI goes last."""
    results = [
        classify(device(f"AA:00:00:00:00:0{i}"), adv(f"KS-{i}", rssi=rssi), profiles)
        for i, rssi in enumerate((-80, -40, -60))
    ]
    ranked = rank([r for r in results if r is not None])
    assert [r.rssi_dbm for r in ranked] == [-40, -60, -80]


@contextlib.asynccontextmanager
async def room(*machines: tuple[TreadmillConfig, Quirks]) -> AsyncIterator[VirtualRadio]:
    """Several virtual machines on one in-process link, and a radio to hear them."""
    link = shared_link()
    async with contextlib.AsyncExitStack() as stack:
        for config, quirks in machines:
            await stack.enter_async_context(
                VirtualTreadmill(config, quirks, link=link, advertising_interval_ms=20.0)
            )
        yield await stack.enter_async_context(VirtualRadio("sim:local", link=link))


async def test_scan_over_the_virtual_radio_ranks_and_matches(profiles: ProfileSet) -> None:
    """A real scan finds FTMS treadmills by UUID and by name, strongest first, skips others."""
    machines = (
        (TreadmillConfig(name="Far Gym", rssi_dbm=-80), Quirks()),
        (TreadmillConfig(name="Near Gym", rssi_dbm=-40), Quirks()),
        (TreadmillConfig(name="KS-HD-Z1D", rssi_dbm=-55), Quirks(hide_ftms_uuid=True)),
        (TreadmillConfig(name="SPERAX_RM01", rssi_dbm=-30), Quirks(hide_ftms_uuid=True)),
    )
    async with room(*machines) as radio:
        results = await scan(1.0, profiles, scanner_backend=radio.scanner_backend)
    assert [(r.name, r.rssi_dbm, r.ftms_advertised, r.profile) for r in results] == [
        ("Near Gym", -40, True, "default"),
        ("KS-HD-Z1D", -55, False, "kingsmith"),
        ("Far Gym", -80, True, "default"),
    ]
    assert results[0].machine_type == ftms.FitnessMachineType.TREADMILL


async def test_find_device_by_name_glob_and_by_address(profiles: ProfileSet) -> None:
    """find_device matches a name glob case-insensitively, or an exact address."""
    machines = ((TreadmillConfig(name="Gym-7"), Quirks()),)
    async with room(*machines) as radio:
        by_name = await find_device(None, "gym-*", 5.0, scanner_backend=radio.scanner_backend)
        by_address = await find_device(
            by_name.address.lower(), None, 5.0, scanner_backend=radio.scanner_backend
        )
        with pytest.raises(DeviceNotFoundError, match=r"not found within 0\.3 s"):
            await find_device("00:11:22:33:44:55", None, 0.3, scanner_backend=radio.scanner_backend)
    assert by_address.address == by_name.address
