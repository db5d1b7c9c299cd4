"""Each model quirk of the virtual treadmill, paired with the shipped profile that handles it.

The treadmill is named like the real model, so the profile is chosen the way it is in the field
(by advertised name, or by Device Information model number), and the real BLE code runs against
it over the virtual radio. Quirk numbers refer to ref/ftms-quirks.md.
"""

from __future__ import annotations

import dataclasses

import pytest
from testsupport.virtual import virtual_treadmills

from treadctl.ble import (
    LinkConnected,
    MachineStatusReceived,
    ProfileSet,
    TelemetryReceived,
    TrainingStatusReceived,
)
from treadctl.ble.quirks import profile_from_mapping
from treadctl.errors import ControlPointError
from treadctl.sim.settings import Quirks, TreadmillConfig

from .conftest import Commands, cp_writes, events_until, next_event, open_link

BASE = TreadmillConfig(
    speed_min_kmh=0.5,
    speed_max_kmh=10.0,
    accel_kmh_per_s=10.0,
    decel_kmh_per_s=10.0,
    rate_hz=10.0,
)


# Treadmill Data, Machine Status, Training Status, Control Point: every CCCD the link writes.
NOTIFIED = (
    "00002acd-0000-1000-8000-00805f9b34fb",
    "00002ada-0000-1000-8000-00805f9b34fb",
    "00002ad3-0000-1000-8000-00805f9b34fb",
    "00002ad9-0000-1000-8000-00805f9b34fb",
)


def machine(name: str, **changes: object) -> TreadmillConfig:
    return dataclasses.replace(BASE, name=name, **changes)  # type: ignore[arg-type]


async def test_kingsmith_without_indications_spaced_writes_and_steps(cmd: Commands) -> None:
    """KingSmith: no 0x80 ever (Q14), writes dropped under 400 ms apart (Q17), CCCD writes
    dropped under 200 ms apart (Q22), steps behind bit 13 (Q1), no 0x1826 advertised (Q23)."""
    quirks = Quirks(
        request_control="ignored",
        no_indications=True,
        min_command_interval_s=0.4,
        cccd_min_gap_s=0.2,
        step_count_ext=True,
        hide_ftms_uuid=True,
    )
    async with (
        virtual_treadmills(quirks, machine("KS-HD-Z1D")) as bench,
        open_link(bench) as link,
    ):
        connected = await next_event(link, LinkConnected)
        enabled = {uuid: bench.model.cccd(uuid) for uuid in NOTIFIED}
        await link.send(cmd.start())
        await link.send(cmd.speed(2.0))
        moving = await next_event(link, TelemetryReceived, lambda e: e.record.speed_kmh == 2.0)
        notes = [w.note for w in bench.model.writes]
    assert connected.profile == "kingsmith"
    assert all(enabled.values()), f"a CCCD write was dropped: {enabled}"
    assert connected.device_caps.min_command_interval_s == 0.4
    assert not any(note.startswith("dropped") for note in notes)
    assert bench.model.target_speed_kmh == 2.0
    assert moving.record.step_count is not None


async def test_kingsmith_speed_waits_for_a_moving_belt(cmd: Commands) -> None:
    """KingSmith: a speed too soon after Start drops the link (Q17); the profile waits until
    telemetry shows the belt moving, so the console's 1.5 s countdown does no harm."""
    quirks = Quirks(request_control="ignored", no_indications=True, crash_on_early_speed_s=1.4)
    config = machine("KS-MC21", start_delay_s=1.5)
    async with virtual_treadmills(quirks, config) as bench, open_link(bench) as link:
        await link.send(cmd.start())
        await link.send(cmd.speed(2.0))
        assert link.connected
        assert bench.model.target_speed_kmh == 2.0


async def test_kingsmith_refusing_control_is_bounded(cmd: Commands) -> None:
    """Request Control answered 0x04 forever (Q14): best effort, one retry after 0x05, then a
    clear ControlPointError instead of a loop."""
    quirks = Quirks(request_control="fails")
    async with virtual_treadmills(quirks, machine("KS-MC21")) as bench, open_link(bench) as link:
        with pytest.raises(ControlPointError) as info:
            await link.send(cmd.start())
        assert cp_writes(bench) == [b"\x00", b"\x07", b"\x00", b"\x07"]
    assert info.value.result_code == 0x05


async def test_citysports_early_indication_and_status_echo(cmd: Commands) -> None:
    """CITYSPORTS: indication before the write response (Q11), statuses echoing our own writes
    (Q12) marked as echoes, padded statuses (Q6), empty training-status strings (Q7)."""
    quirks = Quirks(
        early_indication=True,
        status_echo=True,
        status_pad_to=3,
        training_status_empty_string=True,
        request_control="ignored",
        step_count_ext=True,
        hide_ftms_uuid=True,
    )
    async with (
        virtual_treadmills(quirks, machine("CITYSPORTS-Linker")) as bench,
        open_link(bench) as link,
    ):
        connected = await next_event(link, LinkConnected)
        await link.send(cmd.start())
        await link.send(cmd.speed(1.5))
        bench.treadmill.press_stop()
        seen = await events_until(
            link, lambda e: isinstance(e, MachineStatusReceived) and e.status.op_code == 0x02
        )
    statuses = {e.status.op_code: e for e in seen if isinstance(e, MachineStatusReceived)}
    training = [e for e in seen if isinstance(e, TrainingStatusReceived)]
    started, target, console = statuses[0x04], statuses[0x05], statuses[0x02]
    assert connected.profile == "citysports"
    assert started.echo is True
    assert target.echo is True
    assert target.status.target_speed_kmh == 1.5
    assert console.echo is False
    assert training
    assert all(e.status.string in (None, "") for e in training)


async def test_fitshow_mph_speeds_are_converted_both_ways(cmd: Commands) -> None:
    """FITSHOW FS-BT-T4 (Q4): ranges, targets and telemetry in mph; the profile (matched by
    model number) gives the governor km/h and sends mph."""
    quirks = Quirks(target_speed_mph=True, reported_speed_mph=True)
    config = machine("FS-0A1B2C", model_number="FS-BT-T4", speed_max_kmh=6.1)
    async with virtual_treadmills(quirks, config) as bench, open_link(bench) as link:
        connected = await next_event(link, LinkConnected)
        await link.send(cmd.start())
        await link.send(cmd.speed(3.2))
        moving = await next_event(
            link, TelemetryReceived, lambda e: (e.record.speed_kmh or 0) > 3.1
        )
        written = cp_writes(bench)[-1]
    assert connected.profile == "fitshow-mph"
    assert connected.device_caps.max_speed_kmh == pytest.approx(6.1, abs=0.02)
    assert written == b"\x02\xc7\x00"  # 3.2 km/h = 1.99 mph
    assert bench.model.target_speed_kmh == pytest.approx(3.2, abs=0.02)
    assert moving.record.speed_kmh == pytest.approx(3.2, abs=0.02)


async def test_technogym_start_before_speed_only_while_running(cmd: Commands) -> None:
    """Technogym MyRun (Q17): 00 07 02 while a person's session runs; a speed while stopped
    never sends Start (DESIGN §2 rule 4) and the belt stays still."""
    quirks = Quirks(start_before_speed=True)
    async with virtual_treadmills(quirks, machine("MyRun 42")) as bench, open_link(bench) as link:
        connected = await next_event(link, LinkConnected)
        await link.send(cmd.start())
        await next_event(link, TelemetryReceived, lambda e: (e.record.speed_kmh or 0) > 0)
        await link.send(cmd.speed(2.0))
        assert cp_writes(bench)[-3:] == [b"\x00", b"\x07", b"\x02\xc8\x00"]
        await link.send(cmd.stop())
        await next_event(link, TelemetryReceived, lambda e: e.record.speed_kmh == 0)
        before = len(bench.model.writes)
        with pytest.raises(ControlPointError):
            await link.send(cmd.speed(2.0))
        after = cp_writes(bench)[before:]
    assert connected.profile == "technogym-myrun"
    assert b"\x07" not in after
    assert bench.model.belt_speed_kmh == 0.0


async def test_bh_fitness_incline_scale_and_notify_control_point(cmd: Commands) -> None:
    """BH Fitness: inclination reported at 62.5 raw per % (Q3), control point with Notify and
    Write Without Response (Q18), Start while running voids the next command (Q17: never sent)."""
    quirks = Quirks(
        incline_scale=62.5, control_point="write_nr_notify", start_while_running_spoils_next=True
    )
    async with (
        virtual_treadmills(quirks, machine("BH i.Concept")) as bench,
        open_link(bench) as link,
    ):
        connected = await next_event(link, LinkConnected)
        await link.send(cmd.start())
        await link.send(cmd.speed(2.0))
        await link.send(cmd.incline(5.0))
        assert cp_writes(bench)[-1] == b"\x03\x32\x00"  # positive targets at 0.1 % (duhow)
        reported = await next_event(
            link,
            TelemetryReceived,
            lambda e: (
                e.record.inclination_pct == pytest.approx(bench.model.incline_pct, abs=0.05)
                and bench.model.incline_pct == bench.model.target_incline_pct
            ),
        )
    assert connected.profile == "bh-fitness"
    assert cp_writes(bench).count(b"\x07") == 1
    assert bench.model.target_speed_kmh == 2.0
    assert reported.record.inclination_pct is not None


async def test_matrix_truncated_frames_still_give_telemetry(cmd: Commands) -> None:
    """Matrix: 20-octet frames whose flags promise 30 (Q2) still give speed, distance and
    inclination, so speed and incline commands can be followed on them."""
    config = machine("Matrix T50", incline_rate_pct_per_s=10.0)
    async with (
        virtual_treadmills(Quirks(truncate_to_20=True), config) as bench,
        open_link(bench) as link,
    ):
        connected = await next_event(link, LinkConnected)
        event = await next_event(link, TelemetryReceived)
        await link.send(cmd.start())
        await link.send(cmd.speed(3.0))
        await link.send(cmd.incline(2.0))
        moved = await next_event(
            link,
            TelemetryReceived,
            lambda e: e.record.speed_kmh == 3.0 and e.record.inclination_pct == 2.0,
        )
    assert connected.profile == "matrix"
    assert event.record.truncated is True
    assert event.record.speed_kmh == 0.0
    assert event.record.total_distance_m is not None
    assert moved.record.truncated is True
    assert cp_writes(bench)[-2:] == [b"\x02\x2c\x01", b"\x03\x14\x00"]


async def test_mobvoi_minimum_target_speed_is_never_undercut(cmd: Commands) -> None:
    """Mobvoi TMP "can't go below 1" (Q17): caps start at 1.0 km/h and 0.8 is refused unsent."""
    async with virtual_treadmills(config=machine("MOBVOI TMP")) as bench, open_link(bench) as link:
        connected = await next_event(link, LinkConnected)
        await link.send(cmd.start())
        before = len(bench.model.writes)
        with pytest.raises(ControlPointError, match="below this treadmill's lowest target"):
            await link.send(cmd.speed(0.8))
        assert len(bench.model.writes) == before
    assert connected.profile == "mobvoi"
    assert connected.device_caps.min_speed_kmh == 1.0


async def test_elapsed_time_wrapping_at_the_console_limit_keeps_counting(cmd: Commands) -> None:
    """A console whose Elapsed Time wraps (Q10) gives ever-increasing elapsed seconds with a
    profile that knows the wrap (here 20 s, run 10× fast)."""
    profiles = ProfileSet({"default": profile_from_mapping("default", {"elapsed_wrap_s": 20.0})})
    quirks = Quirks(elapsed_wrap_s=20)
    config = machine("Wrapper", rate_hz=2.0)
    async with (
        virtual_treadmills(quirks, config, speedup=10.0) as bench,
        open_link(bench, profiles=profiles) as link,
    ):
        await link.send(cmd.start())
        seen = await events_until(
            link,
            lambda e: isinstance(e, TelemetryReceived) and (e.record.elapsed_time_s or 0) >= 25,
        )
    elapsed = [e.record.elapsed_time_s for e in seen if isinstance(e, TelemetryReceived)]
    assert elapsed == sorted(elapsed)


async def test_request_control_never_drives_a_machine_that_ignores_control(cmd: Commands) -> None:
    """A machine that allows everything without Request Control (Q13), under a profile with
    `request_control = "never"`: speed and incline go out with no 0x00 write at all."""
    never = profile_from_mapping(
        "never-ask", {"name_patterns": ["OPEN*"], "request_control": "never"}
    )
    profiles = ProfileSet({"default": profile_from_mapping("default", {}), "never-ask": never})
    quirks = Quirks(request_control="ignored")
    async with (
        virtual_treadmills(quirks, machine("OPEN-1")) as bench,
        open_link(bench, profiles=profiles) as link,
    ):
        connected = await next_event(link, LinkConnected)
        await link.send(cmd.start())
        await link.send(cmd.speed(2.0))
        await link.send(cmd.incline(2.0))
    assert connected.profile == "never-ask"
    assert cp_writes(bench) == [b"\x07", b"\x02\xc8\x00", b"\x03\x14\x00"]
    assert (bench.model.target_speed_kmh, bench.model.target_incline_pct) == (2.0, 2.0)


async def test_target_speed_read_as_mph_with_telemetry_in_kmh(cmd: Commands) -> None:
    """Horizon T202 (Q4): only the target speed is read as mph; a profile with
    `target_speed_units = "mph"` alone writes mph and keeps km/h telemetry as it is."""
    horizon = profile_from_mapping(
        "mph-targets", {"name_patterns": ["T202*"], "target_speed_units": "mph"}
    )
    profiles = ProfileSet({"default": profile_from_mapping("default", {}), "mph-targets": horizon})
    async with (
        virtual_treadmills(Quirks(target_speed_mph=True), machine("T202-HZ")) as bench,
        open_link(bench, profiles=profiles) as link,
    ):
        connected = await next_event(link, LinkConnected)
        await link.send(cmd.start())
        await link.send(cmd.speed(3.2))
        moving = await next_event(
            link, TelemetryReceived, lambda e: (e.record.speed_kmh or 0) > 3.1
        )
        written = cp_writes(bench)[-1]
    assert connected.profile == "mph-targets"
    assert connected.device_caps.max_speed_kmh == 10.0
    assert written == b"\x02\xc7\x00"  # 3.2 km/h = 1.99 mph
    assert bench.model.target_speed_kmh == pytest.approx(3.2, abs=0.02)
    assert moving.record.speed_kmh == pytest.approx(3.2, abs=0.02)
