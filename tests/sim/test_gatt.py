"""The virtual treadmill's GATT server through real bleak calls over the virtual radio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakGATTProtocolError
from bleak_retry_connector import establish_connection
from bumble import att
from testsupport.virtual import Bench, virtual_treadmills

from treadctl import ftms
from treadctl.errors import BluetoothError
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import HciTcpServer, SimLink
from treadctl.sim.radio import VirtualRadio
from treadctl.sim.settings import Quirks, TreadmillConfig

FTMS = "00001826-0000-1000-8000-00805f9b34fb"
FEATURE = "00002acc-0000-1000-8000-00805f9b34fb"
TD = "00002acd-0000-1000-8000-00805f9b34fb"
TS = "00002ad3-0000-1000-8000-00805f9b34fb"
SPEED_RANGE = "00002ad4-0000-1000-8000-00805f9b34fb"
INCLINE_RANGE = "00002ad5-0000-1000-8000-00805f9b34fb"
CP = "00002ad9-0000-1000-8000-00805f9b34fb"
MS = "00002ada-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER = "00002a24-0000-1000-8000-00805f9b34fb"


class Inbox:
    """What a bleak client received, per characteristic, awaitable one by one."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[bytes]] = {}

    def callback(self, uuid: str) -> Callable[[object, bytearray], None]:
        queue = self.queues.setdefault(uuid, asyncio.Queue())
        return lambda _char, data: queue.put_nowait(bytes(data))

    async def next(self, uuid: str, timeout_s: float = 5.0) -> bytes:
        return await asyncio.wait_for(self.queues[uuid].get(), timeout_s)


async def subscribe_all(client: BleakClient, inbox: Inbox) -> None:
    for uuid in (TD, TS, MS, CP):
        await client.start_notify(uuid, inbox.callback(uuid))


def att_trace(bench: Bench) -> list[str]:
    """Spy on the central's incoming ATT PDUs (names, in arrival order)."""
    connection = next(iter(bench.radio.device.connections.values()))
    client = connection.gatt_client
    seen: list[str] = []
    original = client.on_gatt_pdu

    def spy(pdu: att.ATT_PDU) -> None:
        seen.append(pdu.name)
        original(pdu)

    client.on_gatt_pdu = spy  # one attribute, narrowly: the order is what is under test
    return seen


async def test_scan_shows_name_rssi_uuid_and_service_data() -> None:
    """A scan finds the treadmill with its name, RSSI, FTMS UUID and service data 01 01 00."""
    async with virtual_treadmills(config=TreadmillConfig(name="Sim TM", rssi_dbm=-55)) as bench:
        found = await BleakScanner.discover(0.2, return_adv=True, backend=bench.scanner_backend)
    device, adv = found[bench.treadmill.address]
    assert (device.name, adv.local_name, adv.rssi) == ("Sim TM", "Sim TM", -55)
    assert adv.service_uuids == [FTMS]
    assert adv.service_data == {FTMS: b"\x01\x01\x00"}  # available, machine type treadmill


async def test_hidden_ftms_uuid() -> None:
    """Q23: with hide_ftms_uuid the advertisement carries the name only."""
    async with virtual_treadmills(Quirks(hide_ftms_uuid=True)) as bench:
        found = await BleakScanner.discover(0.2, return_adv=True, backend=bench.scanner_backend)
        filtered = await BleakScanner.discover(
            0.1, service_uuids=[FTMS], backend=bench.scanner_backend
        )
    _, adv = found[bench.treadmill.address]
    assert (adv.local_name, adv.service_uuids, adv.service_data) == ("treadctl-sim", [], {})
    assert filtered == []


async def test_eight_treadmills_ranked_by_rssi() -> None:
    """Eight treadmills advertise distinct names and addresses, at falling signal strength."""
    async with virtual_treadmills(count=8) as bench:
        found = await BleakScanner.discover(0.3, return_adv=True, backend=bench.scanner_backend)
    ranked = sorted(found.values(), key=lambda pair: -pair[1].rssi)
    assert [d.name for d, _ in ranked] == [f"treadctl-sim-{i}" for i in range(1, 9)]
    assert [a.rssi for _, a in ranked] == [-60, -66, -72, -78, -84, -90, -96, -102]


async def test_reads_feature_ranges_and_device_information() -> None:
    """Feature, speed and inclination ranges and DIS strings read through bleak."""
    async with virtual_treadmills() as bench, bench.client() as client:
        assert client.mtu_size == 247
        assert await client.read_gatt_char(FEATURE) == bytes.fromhex("1d9e0000 03000000")
        assert await client.read_gatt_char(SPEED_RANGE) == bytes.fromhex("5000 4006 0a00")
        assert await client.read_gatt_char(INCLINE_RANGE) == bytes.fromhex("0000 9600 0500")
        assert await client.read_gatt_char(TS) == b"\x00\x01"
        assert await client.read_gatt_char(MODEL_NUMBER) == b"Virtual Treadmill"
        cp = client.services.get_characteristic(CP)
        assert cp is not None
        assert sorted(cp.properties) == ["indicate", "write"]


async def test_whole_30_octet_frames_at_mtu_247() -> None:
    """With MTU 247 every Treadmill Data notification is one whole 30-octet record."""
    config = TreadmillConfig(rate_hz=20.0)
    async with virtual_treadmills(config=config) as bench, bench.client() as client:
        inbox = Inbox()
        await client.start_notify(TD, inbox.callback(TD))
        frames = [await inbox.next(TD) for _ in range(3)]
    assert {len(f) for f in frames} == {30}
    assert {f[:2] for f in frames} == {b"\x9e\x17"}


async def test_control_point_indication_follows_the_write_response() -> None:
    """The 0x80 indication arrives after the ATT Write Response (FTMS §4.16.4)."""
    async with virtual_treadmills() as bench, bench.client() as client:
        inbox = Inbox()
        await subscribe_all(client, inbox)
        trace = att_trace(bench)
        await client.write_gatt_char(CP, b"\x00", response=True)
        assert await inbox.next(CP) == b"\x80\x00\x01"
    assert trace[:2] == ["ATT_WRITE_RESPONSE", "ATT_HANDLE_VALUE_INDICATION"]


async def test_early_indication_quirk_comes_before_the_write_response() -> None:
    """Q11 CITYSPORTS: status, then 0x80, then the Write Response."""
    quirks = Quirks(early_indication=True, status_echo=True)
    async with virtual_treadmills(quirks) as bench, bench.client() as client:
        inbox = Inbox()
        await subscribe_all(client, inbox)
        await client.write_gatt_char(CP, b"\x00", response=True)
        await inbox.next(CP)
        trace = att_trace(bench)
        await client.write_gatt_char(CP, b"\x07", response=True)
        assert await inbox.next(CP) == b"\x80\x07\x01"
    assert trace == [
        "ATT_HANDLE_VALUE_NOTIFICATION",  # training status 00 0D
        "ATT_HANDLE_VALUE_NOTIFICATION",  # machine status 04
        "ATT_HANDLE_VALUE_INDICATION",  # 80 07 01
        "ATT_WRITE_RESPONSE",
    ]


async def test_speed_command_moves_the_belt_and_data_follows() -> None:
    """Request Control, Start, Set Target Speed: the belt ramps and Treadmill Data shows it."""
    config = TreadmillConfig(rate_hz=4.0, accel_kmh_per_s=5.0)
    async with virtual_treadmills(config=config, speedup=10.0) as bench, bench.client() as client:
        inbox = Inbox()
        await subscribe_all(client, inbox)
        for request, response in (
            (b"\x00", b"\x80\x00\x01"),
            (b"\x07", b"\x80\x07\x01"),
            (b"\x02\x90\x01", b"\x80\x02\x01"),
        ):
            await client.write_gatt_char(CP, request, response=True)
            assert await inbox.next(CP) == response
        assert await inbox.next(TS) == b"\x00\x0d"
        speed = 0.0
        while speed < 4.0:
            speed = ftms.decode_treadmill_data(await inbox.next(TD)).speed_kmh or 0.0
        assert bench.model.writes[-1].data == b"\x02\x90\x01"


async def test_att_errors_reach_bleak() -> None:
    """A CP write before subscribing gets 0xFD; a write while one is stuck gets 0xFE."""
    async with virtual_treadmills() as bench, bench.client() as client:
        with pytest.raises(BleakGATTProtocolError) as refused:
            await client.write_gatt_char(CP, b"\x00", response=True)
        assert refused.value.code == 0xFD
        inbox = Inbox()
        await subscribe_all(client, inbox)
        bench.model.stop_indicating()
        await client.write_gatt_char(CP, b"\x00", response=True)
        with pytest.raises(BleakGATTProtocolError) as busy:
            await client.write_gatt_char(CP, b"\x07", response=True)
        assert busy.value.code == 0xFE


async def test_console_and_faults_reach_the_client() -> None:
    """Console Start and Control Permission Lost arrive as Machine Status 04 and FF."""
    async with virtual_treadmills() as bench, bench.client() as client:
        inbox = Inbox()
        await subscribe_all(client, inbox)
        bench.treadmill.press_start()
        assert await inbox.next(MS) == b"\x04"
        bench.treadmill.revoke_control()
        assert await inbox.next(MS) == b"\xff"
        bench.treadmill.pull_safety_key()
        assert await inbox.next(MS) == b"\x03"


async def test_cccd_writes_too_close_are_dropped() -> None:
    """Q22: two subscriptions back to back; the second CCCD write is silently ignored."""
    async with virtual_treadmills(Quirks(cccd_min_gap_s=1.0)) as bench, bench.client() as client:
        await client.start_notify(TD, lambda _c, _d: None)
        await client.start_notify(MS, lambda _c, _d: None)
        assert (bench.model.cccd(TD), bench.model.cccd(MS)) == (1, 0)


async def test_peripheral_drop_fires_disconnected_callback_and_readvertises() -> None:
    """drop_link() → bleak's disconnected callback; the treadmill advertises again."""
    dropped = asyncio.Event()
    async with virtual_treadmills() as bench:
        device = await bench.find()
        client = BleakClient(device, lambda _c: dropped.set(), backend=bench.client_backend)
        await client.connect()
        await bench.treadmill.drop_link()
        await asyncio.wait_for(dropped.wait(), 5.0)
        assert not client.is_connected
        assert bench.model.connected is False
        await client.connect()
        assert client.is_connected
        await client.disconnect()


async def test_speed_too_soon_after_start_drops_the_link() -> None:
    """Q17 KingSmith: Start then a speed at once: the treadmill drops the link."""
    dropped = asyncio.Event()
    async with virtual_treadmills(Quirks(crash_on_early_speed_s=5.0)) as bench:
        device = await bench.find()
        client = BleakClient(device, lambda _c: dropped.set(), backend=bench.client_backend)
        await client.connect()
        inbox = Inbox()
        await subscribe_all(client, inbox)
        await client.write_gatt_char(CP, b"\x00", response=True)
        await client.write_gatt_char(CP, b"\x07", response=True)
        await client.write_gatt_char(CP, b"\x02\x90\x01", response=True)
        await asyncio.wait_for(dropped.wait(), 5.0)


async def test_establish_connection_on_every_treadmill() -> None:
    """bleak-retry-connector connects to eight treadmills at once; each notifies data."""
    config = TreadmillConfig(rate_hz=4.0)
    async with virtual_treadmills(config=config, count=8, speedup=5.0) as bench:
        devices = [await bench.find(i) for i in range(8)]
        clients = await asyncio.gather(
            *(
                establish_connection(BleakClient, d, d.name or "", backend=bench.client_backend)
                for d in devices
            )
        )
        try:
            inboxes = [Inbox() for _ in clients]
            for client, inbox in zip(clients, inboxes, strict=True):
                await client.start_notify(TD, inbox.callback(TD))
            frames = await asyncio.gather(*(inbox.next(TD) for inbox in inboxes))
            assert {len(f) for f in frames} == {30}
        finally:
            await asyncio.gather(*(c.disconnect() for c in clients))


async def test_treadmill_on_a_controller_reached_through_a_bumble_transport() -> None:
    """The `--transport` path: the treadmill's host drives a controller over HCI (here TCP)."""
    link = SimLink()
    async with (
        HciTcpServer(link, port=0) as server,
        VirtualTreadmill(
            TreadmillConfig(name="Dongle TM"), transport=f"tcp-client:127.0.0.1:{server.port}"
        ) as treadmill,
        VirtualRadio("sim:local", link=link) as radio,
    ):
        device = await BleakScanner.find_device_by_address(
            treadmill.address, 5.0, backend=radio.scanner_backend
        )
        assert device is not None
        assert device.name == "Dongle TM"
        async with BleakClient(device, backend=radio.client_backend) as client:
            assert await client.read_gatt_char(SPEED_RANGE) == bytes.fromhex("5000 4006 0a00")


async def test_unreachable_controller_is_a_clear_error() -> None:
    """A transport that cannot be opened is a BluetoothError naming it."""
    with pytest.raises(BluetoothError, match=r"tcp-client:127\.0\.0\.1:1"):
        async with VirtualTreadmill(transport="tcp-client:127.0.0.1:1"):
            pass
