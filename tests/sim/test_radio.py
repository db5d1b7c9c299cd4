"""The bleak backend over the virtual radio, against a plain bumble GATT server.

These pin the radio itself (scan, connect, errors, MTU, notify/indicate, link loss) with a tiny
peripheral built here, so a radio bug is not mistaken for a treadmill bug.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak_retry_connector import establish_connection
from bumble import att, hci
from bumble.device import Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from treadctl.errors import BluetoothError, InputError
from treadctl.sim.link import HciTcpServer, SimLink, open_device
from treadctl.sim.radio import VirtualRadio

ADDRESS = "F0:00:00:00:00:01"
FTMS = "00001826-0000-1000-8000-00805f9b34fb"
NOTIFY_UUID = "00002acd-0000-1000-8000-00805f9b34fb"
INDICATE_UUID = "00002ad9-0000-1000-8000-00805f9b34fb"
READ_UUID = "00002acc-0000-1000-8000-00805f9b34fb"
# flags | 16-bit UUIDs 0x1826 | service data 0x1826: 01 0100 | name "Probe"
ADV = bytes.fromhex("02010603032618061626180101000609") + b"Probe"


@dataclass
class Probe:
    link: SimLink
    device: Device
    notify: Characteristic[bytes]
    indicate: Characteristic[bytes]
    writes: list[bytes] = field(default_factory=list)

    def connection(self):  # type: ignore[no-untyped-def]
        return next(iter(self.device.connections.values()))


@pytest.fixture
async def probe() -> AsyncIterator[Probe]:
    link = SimLink()
    device, _controller = open_device(link, "Probe", ADDRESS)
    writes: list[bytes] = []

    def on_write(_connection: object, value: bytes) -> None:
        if value == b"\xee":
            raise att.ATT_Error(0x80)
        writes.append(value)

    notify = Characteristic(NOTIFY_UUID, Characteristic.Properties.NOTIFY, 0, b"")
    indicate = Characteristic(
        INDICATE_UUID,
        Characteristic.Properties.WRITE | Characteristic.Properties.INDICATE,
        Characteristic.WRITEABLE,
        CharacteristicValue(write=on_write),
    )
    read = Characteristic(
        READ_UUID, Characteristic.Properties.READ, Characteristic.READABLE, b"\x01\x02"
    )
    device.add_service(Service(FTMS, [notify, indicate, read]))
    await device.power_on()
    link.set_rssi(hci.Address(ADDRESS), -42)
    await device.start_advertising(
        advertising_data=ADV,
        advertising_interval_min=20,
        advertising_interval_max=20,
        auto_restart=True,
    )
    yield Probe(link, device, notify, indicate, writes)
    await device.stop_advertising()


async def test_scan_reports_name_rssi_uuids_and_service_data(probe: Probe) -> None:
    """A scan returns the advertiser with its name, RSSI, service UUIDs and service data."""
    async with VirtualRadio(link=probe.link) as radio:
        found = await BleakScanner.discover(0.2, return_adv=True, backend=radio.scanner_backend)
    device, adv = found[ADDRESS]
    assert device.name == "Probe"
    assert adv.local_name == "Probe"
    assert adv.rssi == -42
    assert adv.service_uuids == [FTMS]
    assert adv.service_data == {FTMS: b"\x01\x01\x00"}


async def test_scan_filter_by_service_uuid(probe: Probe) -> None:
    """A scan filtered on another service UUID does not report the advertiser."""
    async with VirtualRadio(link=probe.link) as radio:
        found = await BleakScanner.discover(
            0.1,
            service_uuids=["0000180d-0000-1000-8000-00805f9b34fb"],
            backend=radio.scanner_backend,
        )
    assert found == []


async def test_connect_read_notify_indicate_and_write(probe: Probe) -> None:
    """Connect, read, receive a notification and an indication, write with response."""
    async with VirtualRadio(link=probe.link) as radio:
        device = await BleakScanner.find_device_by_address(
            ADDRESS, 1.0, backend=radio.scanner_backend
        )
        assert device is not None
        async with BleakClient(device, backend=radio.client_backend) as client:
            assert client.mtu_size == 247
            assert await client.read_gatt_char(READ_UUID) == b"\x01\x02"
            got: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
            await client.start_notify(NOTIFY_UUID, lambda c, d: got.put_nowait((c.uuid, bytes(d))))
            await client.start_notify(
                INDICATE_UUID, lambda c, d: got.put_nowait((c.uuid, bytes(d)))
            )
            connection = probe.connection()
            await probe.device.notify_subscriber(connection, probe.notify, bytes(range(30)))
            await probe.device.indicate_subscriber(connection, probe.indicate, b"\x80\x00\x01")
            assert await got.get() == (NOTIFY_UUID, bytes(range(30)))
            assert await got.get() == (INDICATE_UUID, b"\x80\x00\x01")
            await client.write_gatt_char(INDICATE_UUID, b"\x00", response=True)
            await client.write_gatt_char(INDICATE_UUID, b"\x07", response=False)
            with pytest.raises(BleakGATTProtocolError) as caught:
                await client.write_gatt_char(INDICATE_UUID, b"\xee", response=True)
            assert caught.value.code == 0x80
            await client.stop_notify(NOTIFY_UUID)
    assert probe.writes == [b"\x00", b"\x07"]


async def test_unknown_address_is_not_found(probe: Probe) -> None:
    """Connecting by an address that never advertised raises BleakDeviceNotFoundError."""
    async with VirtualRadio(link=probe.link) as radio:
        client = BleakClient("F0:00:00:00:00:09", timeout=0.2, backend=radio.client_backend)
        with pytest.raises(BleakDeviceNotFoundError):
            await client.connect()


async def test_absent_device_times_out_and_radio_stays_usable(probe: Probe) -> None:
    """A device that stopped advertising gives TimeoutError; the next connect still works."""
    absent = BLEDevice("F0:00:00:00:00:09", "Gone", {"source": "test", "address_type": 1})
    async with VirtualRadio(link=probe.link) as radio:
        with pytest.raises(TimeoutError):
            await BleakClient(absent, timeout=0.2, backend=radio.client_backend).connect()
        async with BleakClient(ADDRESS, timeout=2.0, backend=radio.client_backend) as client:
            assert client.is_connected


async def test_peripheral_drop_fires_disconnected_callback(probe: Probe) -> None:
    """When the peripheral drops the link, bleak's disconnected callback fires."""
    dropped = asyncio.Event()
    async with VirtualRadio(link=probe.link) as radio:
        client = BleakClient(ADDRESS, lambda _c: dropped.set(), backend=radio.client_backend)
        await client.connect()
        await probe.connection().disconnect(reason=0x08)
        await asyncio.wait_for(dropped.wait(), 2.0)
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.read_gatt_char(READ_UUID)


async def test_establish_connection_works(probe: Probe) -> None:
    """bleak-retry-connector's establish_connection connects through the virtual backend."""
    async with VirtualRadio(link=probe.link) as radio:
        device = await BleakScanner.find_device_by_address(
            ADDRESS, 1.0, backend=radio.scanner_backend
        )
        assert device is not None
        client = await establish_connection(
            BleakClient, device, "probe", backend=radio.client_backend
        )
        try:
            assert client.is_connected
        finally:
            await client.disconnect()


async def test_tcp_radio_reaches_a_link_served_over_tcp(probe: Probe) -> None:
    """A radio opened as sim:HOST:PORT scans and connects through an HCI/TCP server."""
    async with (
        HciTcpServer(probe.link, port=0) as server,
        VirtualRadio(f"sim:127.0.0.1:{server.port}") as radio,
    ):
        found = await BleakScanner.discover(0.2, backend=radio.scanner_backend)
        assert [d.address for d in found] == [ADDRESS]
        async with BleakClient(found[0], backend=radio.client_backend) as client:
            assert await client.read_gatt_char(READ_UUID) == b"\x01\x02"


async def test_bad_spec_and_unreachable_tcp_are_clear_errors() -> None:
    """A malformed spec is an InputError; a closed port is a BluetoothError naming it."""
    with pytest.raises(InputError, match="sim:HOST:PORT"):
        VirtualRadio("usb0")
    with pytest.raises(BluetoothError, match=r"127\.0\.0\.1:1"):
        async with VirtualRadio("sim:127.0.0.1:1"):
            pass


async def test_vanished_tcp_client_frees_the_peripheral(probe: Probe) -> None:
    """A TCP client that disappears mid-connection: the peripheral sees the link drop."""
    from bumble.transport import open_transport

    async with HciTcpServer(probe.link, port=0) as server:
        transport = await open_transport(f"tcp-client:127.0.0.1:{server.port}")
        central = Device.with_hci(
            "gone", hci.Address("C1:00:00:00:00:01"), transport.source, transport.sink
        )
        await central.power_on()
        await central.connect(hci.Address(ADDRESS), timeout=2.0)
        dropped = asyncio.Event()
        probe.connection().once("disconnection", lambda *_: dropped.set())
        await transport.close()
        await asyncio.wait_for(dropped.wait(), 2.0)
        assert probe.device.connections == {}


async def test_one_address_per_link(probe: Probe) -> None:
    """A second device with an address already on the link is refused, naming it."""
    with pytest.raises(ValueError, match="already on this link"):
        open_device(probe.link, "Twin", ADDRESS)
