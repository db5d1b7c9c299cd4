"""The mid-record drop fault: the first More Data fragment(s) of a record, then the link drops.

The frames are FTMS v1.0 Treadmill Data (§4.9.1; ref/ftms-spec.md §3) as the virtual treadmill
builds an idle record, split with More Data (§4.19, ref §3.2) at 24 octets. Pure model tests pass
the time in; the GATT test runs bleak over the virtual radio and waits only with bounds.
"""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient
from testsupport.virtual import virtual_treadmills

from treadctl import ftms
from treadctl.sim.model import TreadmillModel
from treadctl.sim.services import describe_status
from treadctl.sim.settings import Quirks, TreadmillConfig

from .conftest import TD, wire

# An idle record at more_data_split=24: flags 0x079F (More Data, average speed, distance,
# inclination + ramp, elevation gain, energy, heart rate, MET, elapsed time), then 0.00 km/h,
# 0 m, 0.0 % with ramp angle n/a (0x7FFF), 0.0 m up and down, 0 kcal, 74 kcal/h, 1 kcal/min,
# heart rate 0, MET 1.0, 0 s.
FRAGMENT = bytes.fromhex("9f07 0000 000000 0000 ff7f 0000 0000 0000 4a00 01 00 0a 0000")
# The record's last frame: flags 0x1000 (force and power), 0.00 km/h, both n/a.
LAST = bytes.fromhex("0010 0000 ff7f ff7f")
SPLIT = Quirks(more_data_split=24)
WAIT_S = 10.0  # a bound so a broken test fails instead of hanging; never asserted on


def subscribed(model: TreadmillModel, now_s: float, mtu: int = 247) -> TreadmillModel:
    """`model` with a fresh connection at `mtu` that subscribed to Treadmill Data."""
    model.on_connect(now_s, mtu=mtu)
    assert model.write_cccd(TD, 0x0001, now_s)
    return model


def test_only_the_first_fragment_goes_then_the_link_is_to_drop() -> None:
    """Armed, the next record stops after its first fragment and the model asks for the drop;
    nothing more is sent until the link is gone, and the fault fires once."""
    model = subscribed(TreadmillModel(quirks=SPLIT), 0.0)
    assert wire(model.tick(0.0)) == [("td", FRAGMENT), ("td", LAST)]
    assert model.drop_link_mid_record() is True
    assert not model.link_drop_requested
    assert describe_status(model, connected=True).endswith(", drop mid-record armed")
    assert wire(model.tick(1.0)) == [("td", FRAGMENT)]
    assert model.link_drop_requested
    assert model.drop_after_fragments is None
    assert not describe_status(model, connected=True).endswith("armed")
    assert model.tick(2.0) == []  # the drop is pending: the record is never finished
    model.on_disconnect(2.5)
    assert not model.link_drop_requested
    subscribed(model, 3.0)
    assert wire(model.tick(3.0)) == [("td", FRAGMENT), ("td", LAST)]


def test_waits_for_a_record_that_is_split() -> None:
    """At MTU 247 without the split quirk records go whole and the fault stays armed; at MTU 23
    the next record is split (20 octets) and only its first fragment goes."""
    model = subscribed(TreadmillModel(), 0.0, mtu=247)
    assert model.drop_link_mid_record() is False
    frames = model.tick(0.0)
    assert [len(n.data) for n in frames] == [30]
    assert (model.drop_after_fragments, model.link_drop_requested) == (1, False)
    model.on_disconnect(0.5)
    subscribed(model, 1.0, mtu=23)
    (fragment,) = [n.data for n in model.tick(1.0)]
    assert (len(fragment), fragment[:2]) == (20, b"\x9f\x00")  # More Data set, no speed
    assert model.link_drop_requested


def test_several_fragments_before_the_drop() -> None:
    """`fragments=2` on a record split in three (12 octets) sends two More Data frames."""
    model = subscribed(TreadmillModel(quirks=Quirks(more_data_split=12)), 0.0)
    assert len(model.tick(0.0)) == 3
    assert model.drop_link_mid_record(fragments=2) is True
    sent = [n.data for n in model.tick(1.0)]
    assert [f[0] & 0x01 for f in sent] == [1, 1]
    assert model.link_drop_requested


@pytest.mark.parametrize("fragments", [0, -1, True])
def test_fragments_must_be_a_positive_integer(fragments: int) -> None:
    """Zero, negative or boolean counts are refused with a message naming the argument."""
    with pytest.raises(ValueError, match="fragments must be an integer >= 1"):
        TreadmillModel().drop_link_mid_record(fragments)


async def test_console_line_says_when_records_go_whole() -> None:
    """Armed on a treadmill that sends whole records, the fault's line says it will wait."""
    said: list[str] = []
    async with virtual_treadmills() as bench:
        bench.treadmill.on_event = said.append
        bench.treadmill.drop_link_mid_record()
    assert said == [
        "fault: the link drops after 1 More Data fragment(s) "
        "(records go whole here: it waits for one split with More Data)"
    ]


async def test_central_hears_the_fragment_then_the_disconnection() -> None:
    """Over bleak: the last thing the central hears before the disconnection is the record's
    first fragment; the treadmill advertises again and the next link gets whole records."""
    heard: list[bytes | str] = []
    dropped = asyncio.Event()
    frames: asyncio.Queue[bytes] = asyncio.Queue()

    def on_frame(_char: object, data: bytearray) -> None:
        heard.append(bytes(data))
        frames.put_nowait(bytes(data))

    def on_drop(_client: BleakClient) -> None:
        heard.append("disconnected")
        dropped.set()

    async with virtual_treadmills(SPLIT, TreadmillConfig(rate_hz=20.0)) as bench:
        said: list[str] = []
        bench.treadmill.on_event = said.append
        client = BleakClient(await bench.find(), on_drop, backend=bench.client_backend)
        await client.connect()
        await client.start_notify(TD, on_frame)
        async with asyncio.timeout(WAIT_S):
            while await frames.get() != LAST:  # one whole record first
                pass
            bench.treadmill.drop_link_mid_record()
            await dropped.wait()
        assert heard[-2:] == [FRAGMENT, "disconnected"]
        assert "fault: the link drops after 1 More Data fragment(s)" in said
        assembler = ftms.TreadmillDataAssembler()
        for frame in heard[:-1]:
            assert isinstance(frame, bytes)
            assembler.feed(frame)
        assert assembler.pending, "every record before the cut one was whole"
        assert (bench.model.connected, bench.model.link_drop_requested) == (False, False)
        frames = asyncio.Queue()
        await client.connect()
        await client.start_notify(TD, on_frame)
        async with asyncio.timeout(WAIT_S):
            assert [await frames.get(), await frames.get()] == [FRAGMENT, LAST]
        await client.disconnect()
