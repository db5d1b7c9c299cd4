"""TreadmillLink against the virtual treadmill, through the real bleak code path.

Every test runs bleak (and bleak-retry-connector) over the virtual radio: scan, connect, read,
subscribe, control point, link loss. The treadmill's write log pins what went over the air.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from testsupport.virtual import virtual_treadmills

from treadctl import ftms
from treadctl.ble import (
    LinkConnected,
    LinkLost,
    LinkRestored,
    LinkSilent,
    MachineStatusReceived,
    ProfileSet,
    TelemetryReceived,
    TelemetryStale,
    TreadmillLink,
    procedures,
)
from treadctl.ble.procedures import Preempted
from treadctl.ble.quirks import profile_from_mapping
from treadctl.errors import (
    ControlPointError,
    DeviceNotFoundError,
    LinkLostError,
    ProcedureTimeoutError,
    UnsupportedDeviceError,
)
from treadctl.safety import DeviceCaps
from treadctl.sim.settings import Quirks, TreadmillConfig

from .conftest import Commands, cp_writes, fast_backoff, next_event, open_link, until

CONFIG = TreadmillConfig(
    name="SIM-LINK",
    speed_min_kmh=0.5,
    speed_max_kmh=12.0,
    speed_increment_kmh=0.1,
    incline_min_pct=0.0,
    incline_max_pct=10.0,
    incline_increment_pct=0.5,
    accel_kmh_per_s=10.0,
    decel_kmh_per_s=10.0,
    rate_hz=10.0,
    manufacturer="Acme",
    model_number="Walker 3",
)


def with_profile(**values: object) -> ProfileSet:
    """A profile set whose default is the spec profile changed by `values`."""
    return ProfileSet({"default": profile_from_mapping("default", values)})


async def test_connect_reads_features_ranges_and_device_information() -> None:
    """The first event carries the ranges as DeviceCaps, the Feature and the DIS strings."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        connected = await next_event(link, LinkConnected)
    assert connected.name == "SIM-LINK"
    assert connected.profile == "default"
    assert connected.device_caps == DeviceCaps(
        min_speed_kmh=0.5,
        max_speed_kmh=12.0,
        speed_increment_kmh=0.1,
        min_incline_pct=0.0,
        max_incline_pct=10.0,
        incline_increment_pct=0.5,
    )
    assert connected.device_info.manufacturer == "Acme"
    assert connected.device_info.model == "Walker 3"
    assert ftms.TargetSettingFeatures.SPEED_TARGET in connected.features.target
    assert link.device_caps == connected.device_caps


async def test_telemetry_arrives_as_complete_records() -> None:
    """Treadmill Data notifications become TelemetryReceived events with decoded fields."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        event = await next_event(link, TelemetryReceived)
    assert event.record.speed_kmh == 0.0
    assert event.record.inclination_pct == 0.0
    assert event.record.more_data is False


async def test_more_data_fragments_are_merged_into_one_record() -> None:
    """A record split over several notifications (More Data) arrives as one event."""
    quirks = Quirks(more_data_split=12)
    async with virtual_treadmills(quirks, CONFIG) as bench, open_link(bench) as link:
        event = await next_event(link, TelemetryReceived)
    assert event.record.speed_kmh is not None
    assert event.record.elapsed_time_s is not None
    assert event.record.total_distance_m is not None


async def test_speed_and_incline_commands_reach_the_belt(cmd: Commands) -> None:
    """Start, 3.0 km/h and 2.0 % go over the air as spec octets and move the belt."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        await link.send(cmd.speed(3.0))
        await link.send(cmd.incline(2.0))
        await next_event(link, TelemetryReceived, lambda e: e.record.speed_kmh == 3.0)
        assert cp_writes(bench) == [b"\x00", b"\x07", b"\x02\x2c\x01", b"\x03\x14\x00"]
        assert bench.model.target_speed_kmh == 3.0
        assert bench.model.target_incline_pct == 2.0


async def test_8_2_kmh_goes_out_as_820(cmd: Commands) -> None:
    """Speeds are scaled with round(): 8.2 km/h is 0x0334, not 819."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        await link.send(cmd.speed(8.2))
        assert cp_writes(bench)[-1] == b"\x02\x34\x03"


async def test_refused_command_raises_with_the_result_code(cmd: Commands) -> None:
    """A 0x03 Invalid Parameter answer becomes ControlPointError(result_code=3)."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        bench.model.force_result(0x02, 0x03)
        with pytest.raises(ControlPointError) as info:
            await link.send(cmd.speed(3.0))
    assert info.value.result_code == 0x03
    assert info.value.op_code == 0x02


async def test_pause_and_stop_use_their_control_octet(cmd: Commands) -> None:
    """Pause writes 08 02, Stop writes 08 01."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        await link.send(cmd.stop(pause=True))
        await link.send(cmd.start())
        await link.send(cmd.stop())
        assert cp_writes(bench)[-4:] == [b"\x07", b"\x08\x02", b"\x07", b"\x08\x01"]


async def test_peripheral_dropping_the_link_reconnects_and_sends_nothing(cmd: Commands) -> None:
    """After a drop the link comes back by itself; no Start or speed is sent on the way."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        await link.send(cmd.speed(2.0))
        await next_event(link, TelemetryReceived, lambda e: e.record.speed_kmh == 2.0)
        written = cp_writes(bench)
        await bench.treadmill.drop_link()
        lost = await next_event(link, LinkLost)
        with pytest.raises(LinkLostError):
            await link.send(cmd.speed(2.5))
        restored = await next_event(link, LinkRestored)
        await next_event(link, TelemetryReceived)
        assert cp_writes(bench) == written
    assert "dropped" in lost.reason
    assert restored.belt_moving is True
    assert restored.device_caps.max_speed_kmh == 12.0


async def test_reconnect_reports_a_stopped_belt_as_not_moving() -> None:
    """A belt standing still when the link returns is reported as not moving."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await next_event(link, TelemetryReceived)
        await bench.treadmill.drop_link()
        restored = await next_event(link, LinkRestored)
    assert restored.belt_moving is False


async def test_control_permission_lost_is_reported_and_control_requested_again(
    cmd: Commands,
) -> None:
    """0xFF arrives as a console (non-echo) status; the next command asks for control first."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        bench.treadmill.revoke_control()
        lost = await next_event(link, MachineStatusReceived, lambda e: e.status.op_code == 0xFF)
        await link.send(cmd.speed(2.0))
        assert cp_writes(bench)[-2:] == [b"\x00", b"\x02\xc8\x00"]
    assert lost.echo is False


async def test_control_not_permitted_answer_requests_control_and_retries(cmd: Commands) -> None:
    """A 0x05 answer makes the link ask for control again and retry the command once."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        bench.model._link.has_control = False  # the machine forgot, without telling
        await link.send(cmd.speed(2.0))
        assert cp_writes(bench)[-3:] == [b"\x02\xc8\x00", b"\x00", b"\x02\xc8\x00"]
        assert bench.model.target_speed_kmh == 2.0


async def test_treadmill_that_never_indicates_does_not_stall(cmd: Commands) -> None:
    """With a short timeout taken as success, commands to a silent control point complete."""
    profiles = with_profile(indication_timeout_s=0.2, treat_timeout_as_success=True)
    quirks = Quirks(no_indications=True)
    async with (
        virtual_treadmills(quirks, CONFIG) as bench,
        open_link(bench, profiles=profiles) as link,
    ):
        await link.send(cmd.start())
        await link.send(cmd.speed(2.5))
        assert bench.model.target_speed_kmh == 2.5
        assert link.connected


async def test_genuine_timeout_reconnects_before_the_next_write(cmd: Commands) -> None:
    """No answer on a spec profile: ProcedureTimeoutError, then a new link (FTMP 4.4.14.3)."""
    profiles = with_profile(indication_timeout_s=0.2)
    async with (
        virtual_treadmills(config=CONFIG) as bench,
        open_link(bench, profiles=profiles) as link,
    ):
        await link.send(cmd.start())
        bench.model.stop_indicating()
        with pytest.raises(ProcedureTimeoutError):
            await link.send(cmd.speed(2.0))
        with pytest.raises(LinkLostError):
            await link.send(cmd.speed(2.0))
        lost = await next_event(link, LinkLost)
        await next_event(link, LinkRestored)
        bench.model.stop_indicating(False)
        written = len(bench.model.writes)
        await link.send(cmd.speed(2.0))
        assert cp_writes(bench)[written:] == [b"\x00", b"\x02\xc8\x00"]
    assert "timed out" in lost.reason


async def test_emergency_stop_overtakes_queued_commands(cmd: Commands) -> None:
    """An emergency stop goes next; commands queued before it are dropped, never sent after."""
    profiles = with_profile(min_command_interval_ms=150)
    async with (
        virtual_treadmills(config=CONFIG) as bench,
        open_link(bench, profiles=profiles) as link,
    ):
        await link.send(cmd.start())
        queued = [asyncio.create_task(link.send(cmd.speed(s))) for s in (2.0, 2.5, 3.0)]
        await asyncio.sleep(0)
        await link.send(cmd.emergency_stop())
        results = await asyncio.gather(*queued, return_exceptions=True)
        writes = cp_writes(bench)
    assert writes == [b"\x00", b"\x07", b"\x08\x01"]
    assert all(isinstance(r, ControlPointError) for r in results)


async def test_emergency_stop_cuts_short_a_write_waiting_to_retry(
    cmd: Commands, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command refused with ATT 0xFE (the machine still holds an unanswered procedure) waits
    to be written again; an emergency stop meanwhile goes at once: the next write is the Stop,
    not the retry, and the waiting command fails as preempted. The Stop, refused with 0xFE in
    turn, is retried within milliseconds, not at the others' pace."""
    monkeypatch.setattr(procedures, "BUSY_RETRY_DELAYS_S", (30.0,))  # a retry the test can see
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        bench.model.stop_indicating()
        stuck = asyncio.create_task(link.send(cmd.speed(2.0)))
        await until(lambda: cp_writes(bench)[-1] == b"\x02\xc8\x00", "the speed write went out")
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        waiting = asyncio.create_task(link.send(cmd.speed(2.5)))
        await until(lambda: cp_writes(bench)[-1] == b"\x02\xfa\x00", "refused with 0xFE")
        with pytest.raises(ControlPointError, match="ATT error 0xFE"):
            await link.send(cmd.emergency_stop())  # the machine never lets go of its procedure
        with pytest.raises(Preempted):
            await waiting
        writes = cp_writes(bench)
    tail = writes[writes.index(b"\x02\xfa\x00") :]
    assert tail == [b"\x02\xfa\x00"] + [b"\x08\x01"] * 8  # the first try and 7 quick retries


async def test_stale_telemetry_is_reported() -> None:
    """When Treadmill Data stops for longer than stale_after_s, a TelemetryStale event comes."""
    profiles = with_profile(stale_after_s=0.3)
    quirks = Quirks(silent_when_stopped=True)
    async with virtual_treadmills(quirks, CONFIG) as bench:
        bench.treadmill.press_start()
        async with open_link(bench, profiles=profiles) as link:
            await next_event(link, TelemetryReceived)
            bench.treadmill.press_stop()
            stale = await next_event(link, TelemetryStale)
    assert stale.silent_for_s == stale.received_s - stale.last_record_s


async def test_telemetry_that_resumes_rearms_the_stale_report() -> None:
    """A silence after telemetry came back is reported again, as its own TelemetryStale."""
    profiles = with_profile(stale_after_s=0.3)
    quirks = Quirks(silent_when_stopped=True)
    async with virtual_treadmills(quirks, CONFIG) as bench:
        bench.treadmill.press_start()
        async with open_link(bench, profiles=profiles) as link:
            await next_event(link, TelemetryReceived)
            bench.treadmill.press_stop()
            first = await next_event(link, TelemetryStale)
            bench.treadmill.press_start()
            await next_event(link, TelemetryReceived)
            bench.treadmill.press_stop()
            second = await next_event(link, TelemetryStale)
    assert second.last_record_s > first.last_record_s


async def test_absent_treadmill_gives_a_clear_error_within_the_scan_timeout() -> None:
    """A name nobody advertises fails with DeviceNotFoundError naming it and the timeout."""
    async with virtual_treadmills(config=CONFIG) as bench:
        link = TreadmillLink(
            name="NOBODY-*",
            client_backend=bench.client_backend,
            scanner_backend=bench.scanner_backend,
            scan_timeout_s=0.5,
        )
        with pytest.raises(
            DeviceNotFoundError, match=r"treadmill 'NOBODY-\*' not found within 0.5 s"
        ):
            await link.__aenter__()


async def test_connected_but_silent_treadmill_is_refused_and_released() -> None:
    """No Treadmill Data after subscribing: UnsupportedDeviceError, and the link is dropped."""
    profiles = with_profile(silent_after_s=0.3)
    async with virtual_treadmills(Quirks(silent=True), CONFIG) as bench:
        with pytest.raises(UnsupportedDeviceError, match="connected but silent"):
            async with open_link(bench, profiles=profiles):
                pass
        await until(lambda: bench.treadmill.connection is None, "the sim sees the disconnect")


async def test_send_after_close_raises_link_lost(cmd: Commands) -> None:
    """A closed link refuses commands with LinkLostError and has released the treadmill."""
    async with virtual_treadmills(config=CONFIG) as bench:
        async with open_link(bench) as link:
            await next_event(link, LinkConnected)
        with pytest.raises(LinkLostError):
            await link.send(cmd.start())
        await until(lambda: bench.treadmill.connection is None, "the sim sees the disconnect")


async def test_link_by_address_and_background_first_connection() -> None:
    """With retry_initial the link connects in the background and reports LinkConnected."""
    async with virtual_treadmills(config=CONFIG) as bench:
        address = bench.treadmill.address
        async with open_link(bench, name=None, address=address, retry_initial=True) as link:
            connected = await next_event(link, LinkConnected)
    assert connected.address == address


async def test_unread_telemetry_is_capped_but_link_events_are_kept() -> None:
    """With nobody reading, telemetry stops queueing at the backlog; LinkLost still arrives."""
    async with (
        virtual_treadmills(config=CONFIG) as bench,
        open_link(bench, telemetry_backlog=3) as link,
    ):
        await until(lambda: link.events.qsize() >= 3, "connected plus two records")
        await bench.treadmill.drop_link()
        await until(lambda: link.events.qsize() >= 4, "LinkLost queued after capped telemetry")
        queued = [link.events.get_nowait() for _ in range(link.events.qsize())]
    assert sum(isinstance(e, TelemetryReceived) for e in queued) == 2
    assert isinstance(queued[0], LinkConnected)
    assert isinstance(queued[3], LinkLost)


async def test_silent_reconnect_is_reported_and_retried() -> None:
    """A treadmill that comes back mute gives LinkSilent, then LinkRestored once it talks;
    every reconnect attempt waits a delay drawn from the link's backoff."""
    profiles = with_profile(silent_after_s=0.3)
    backoff = fast_backoff()
    async with (
        virtual_treadmills(config=CONFIG) as bench,
        open_link(bench, profiles=profiles, backoff=backoff) as link,
    ):
        await next_event(link, TelemetryReceived)
        talking = bench.model.quirks
        bench.model.quirks = dataclasses.replace(talking, silent=True)  # the fault: goes mute
        await bench.treadmill.drop_link()
        await next_event(link, LinkLost)
        silent = await next_event(link, LinkSilent)
        bench.model.quirks = talking
        await next_event(link, LinkRestored)
    assert silent.waited_s == 0.3
    assert backoff.attempts >= 2, "the mute attempt and the one that worked each waited"


async def test_a_cancelled_send_does_not_block_the_next_command(cmd: Commands) -> None:
    """Cancelling a send that waits for its answer frees our side: the next command is written
    (here the machine still holds the unanswered procedure and refuses it with ATT 0xFE)."""
    async with virtual_treadmills(config=CONFIG) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        bench.model.stop_indicating()
        waiting = asyncio.create_task(link.send(cmd.speed(2.0)))
        await until(lambda: cp_writes(bench)[-1] == b"\x02\xc8\x00", "the speed write went out")
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        with pytest.raises(ControlPointError, match="ATT error 0xFE"):
            await link.send(cmd.speed(2.5))
        assert cp_writes(bench)[-1] == b"\x02\xfa\x00"
