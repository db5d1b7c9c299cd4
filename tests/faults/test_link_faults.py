"""Faults of the Bluetooth link, end to end: the real daemon, a virtual treadmill, a real broker.

Each test breaks the link in the middle of a backward step and asserts the safe outcome from the
machine's own write log and history, the MQTT messages and the session record (DESIGN §2 rules
1, 4 and 7): the workout pauses; after the reconnect a moving belt is ramped down and paused, a
stopped one is left alone; nothing resumes until `cmd/resume`; the belt is never above the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testsupport.rig import START_AT_2, fault_rig
from testsupport.safety_checks import (
    PAUSE,
    START_OR_RESUME,
    assert_nothing_sent,
    assert_nothing_started_or_sped_up,
    assert_record_in_order,
    describe_writes,
    speed_writes,
)

from treadctl.sim.model import BeltState
from treadctl.sim.settings import TreadmillConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

LIMITS = {"backward_max_kmh": 2.5}  # the workout lowers the site's 4.0 km/h backward cap
ONE_STEP = [{"name": "Walk", "direction": "backward", "duration": "60s", "speed_kmh": 2.0}]
EASY_STEP = [{"name": "Easy", "direction": "backward", "duration": "60s", "speed_kmh": 1.5}]
TWO_STEPS = [
    {"name": "Backward easy", "direction": "backward", "duration": "4s", "speed_kmh": 1.5},
    {"name": "Backward push", "direction": "backward", "duration": "60s", "speed_kmh": 2.0},
]


def _paused_by(reason: str) -> Callable[[dict[str, Any]], bool]:
    """A retained state saying the workout is paused for `reason`."""
    return lambda state: state.get("status") == "paused" and state.get("reason") == reason


async def test_link_dropped_mid_step_ramps_a_moving_belt_down_and_waits_for_resume(
    tmp_path: Path,
) -> None:
    """Link dropped while the belt runs a backward step: the workout pauses; after the reconnect
    the still-moving belt is ramped down 0.1 km/h at a time and paused, nothing is started or
    sped up until `cmd/resume`, which alone starts it again; never above the cap."""
    # The default start (1.5 km/h): a ramp down goes to the start speed, then pauses.
    async with fault_rig(tmp_path, workouts={"walk": ONE_STEP}, workout_limits=LIMITS) as rig:
        await rig.start("walk")
        await rig.wait_speed(2.0)
        before, mark = len(rig.model.writes), rig.mark()
        await rig.sim.treadmill.drop_link()
        await rig.wait_event("link_lost", start=mark)
        restored = await rig.wait_event("link_restored", start=mark)
        assert restored["belt_moving"] is True
        await rig.wait_state(_paused_by("link_lost"), start=mark)
        await rig.wait_machine(lambda m: m.state is BeltState.PAUSED)
        await rig.samples(6)  # a while with nothing asked of the daemon
        after_drop = rig.model.writes[before:]
        log = describe_writes(rig.model.writes)
        assert after_drop[-1].data == PAUSE, log
        # The treadmill's accepted speeds (a write it refused, e.g. ATT 0xFE while busy, is
        # sent again and does not move the belt).
        speeds = speed_writes(w for w in after_drop if w.result == 0x01)
        assert speeds, f"the moving belt was not ramped down:\n{log}"
        steps_down = [round(a - b, 2) for a, b in zip([2.0, *speeds], speeds, strict=False)]
        assert all(0 < step <= 0.1 for step in steps_down), (steps_down, log)
        assert_nothing_started_or_sped_up(rig.model, before)
        assert rig.model.state is BeltState.PAUSED
        assert not [e for e in rig.events()[mark:] if e["event"] == "resumed"]

        waiting, mark = len(rig.model.writes), rig.mark()
        answer = await rig.command("resume")
        assert answer["ok"], answer
        await rig.wait_event("resumed", start=mark, by="person")
        await rig.wait_machine(lambda m: m.state is BeltState.RUNNING)
        assert rig.model.writes[waiting].data[:1] == bytes([START_OR_RESUME])
        await rig.finish()


async def test_link_dropped_while_the_belt_stops_leaves_the_stopped_belt_alone(
    tmp_path: Path,
) -> None:
    """Link dropped mid-step and the person pauses on the console before it comes back: after
    the reconnect the daemon sends nothing at all to the stopped belt, the workout stays paused,
    and only `cmd/resume` starts the belt again; never above the cap."""
    # A machine that stops within milliseconds, so the belt is still long before the reconnect.
    quick_stop = TreadmillConfig(decel_kmh_per_s=50.0)
    async with fault_rig(
        tmp_path, workouts={"walk": EASY_STEP}, workout_limits=LIMITS, treadmill=quick_stop
    ) as rig:
        await rig.start("walk")
        await rig.wait_speed(1.5)
        before, mark = len(rig.model.writes), rig.mark()
        await rig.sim.treadmill.drop_link()
        assert rig.model.connected is False  # the console is pressed while the link is down
        rig.sim.treadmill.press_pause()
        restored = await rig.wait_event("link_restored", start=mark)
        assert restored["belt_moving"] is False
        await rig.wait_state(_paused_by("link_lost"), start=mark)
        await rig.samples(6)
        assert_nothing_sent(rig.model, before)
        assert rig.model.state is BeltState.PAUSED
        assert rig.model.belt_speed_kmh == 0.0

        answer = await rig.command("resume")
        assert answer["ok"], answer
        await rig.wait_machine(lambda m: m.state is BeltState.RUNNING)
        assert rig.model.writes[before].data[:1] in (b"\x00", bytes([START_OR_RESUME]))
        await rig.finish()


async def test_indications_that_never_come_time_out_reconnect_and_ramp_down(
    tmp_path: Path,
) -> None:
    """The treadmill stops indicating mid-step: the unanswered speed write (a person slowing
    down) times out (the profile's 2 s instead of FTMP's 30 s), nothing else is sent on that
    link, the daemon drops and reconnects it, the workout pauses, the moving belt is ramped
    down and paused, and nothing resumes until `cmd/resume`; never above the cap."""
    async with fault_rig(
        tmp_path,
        workouts={"walk": ONE_STEP},
        workout_limits=LIMITS,
        profile={"indication_timeout_s": 2.0},
        extra=START_AT_2,
    ) as rig:
        await rig.start("walk")
        await rig.wait_speed(2.0)
        before, mark = len(rig.model.writes), rig.mark()
        rig.model.stop_indicating()  # the next write is never answered
        answer = await rig.command("set_speed", {"speed_kmh": 1.8})
        assert answer["ok"], answer
        await rig.sim.treadmill.disconnected.wait()  # the daemon gave up on the link
        rig.model.stop_indicating(False)  # after a reconnect the treadmill answers again
        unanswered = rig.model.writes[before]  # the first step down, 1.9 km/h
        assert (unanswered.data, unanswered.result) == (b"\x02\xbe\x00", None)
        log = describe_writes(rig.model.writes)
        assert all(w.result is None for w in rig.model.writes[before:]), log
        lost = await rig.daemon.wait_for_log("link_lost")
        assert "timed out" in lost["reason"], lost
        restored = await rig.wait_event("link_restored", start=mark)
        assert restored["belt_moving"] is True
        await rig.wait_state(_paused_by("link_lost"), start=mark)
        await rig.wait_machine(lambda m: m.state is BeltState.PAUSED)
        await rig.samples(6)
        assert rig.model.writes[-1].data == PAUSE, describe_writes(rig.model.writes)
        assert_nothing_started_or_sped_up(rig.model, before)

        answer = await rig.command("resume")
        assert answer["ok"], answer
        await rig.wait_machine(lambda m: m.state is BeltState.RUNNING)
        await rig.finish()


async def test_control_permission_lost_pauses_the_workout_until_resume(tmp_path: Path) -> None:
    """The treadmill takes control back (Machine Status 0xFF): the workout pauses and the daemon
    sends nothing at all (the machine runs its own belt); after `cmd/resume` it asks for
    control (0x00) before its next command and the workout goes on; never above the cap."""
    async with fault_rig(tmp_path, workouts={"walk": TWO_STEPS}, workout_limits=LIMITS) as rig:
        await rig.start("walk")
        await rig.wait_speed(1.5)
        before, mark = len(rig.model.writes), rig.mark()
        rig.sim.treadmill.revoke_control()
        paused = await rig.wait_event("paused", start=mark)
        assert paused["reason"] == "control_permission_lost"
        await rig.wait_state(_paused_by("control_permission_lost"), start=mark)
        await rig.samples(8)  # past the end of step 1 had the workout not paused
        assert_nothing_sent(rig.model, before)

        answer = await rig.command("resume")
        assert answer["ok"], answer
        await rig.wait_event("step_started", step=2)
        await rig.wait_speed(2.0)
        after = rig.model.writes[before:]
        assert after[0].data == b"\x00", describe_writes(after)  # Request Control first
        assert rig.model.has_control
        await rig.finish()


async def test_a_timed_out_command_is_recorded_when_it_failed(tmp_path: Path) -> None:
    """The session record is written as things happen: the refusal of a speed write that got no
    answer is stamped when it timed out, so the record's times never go back."""
    async with fault_rig(
        tmp_path,
        workouts={"walk": ONE_STEP},
        workout_limits=LIMITS,
        profile={"indication_timeout_s": 2.0},
        extra=START_AT_2,
    ) as rig:
        await rig.start("walk")
        await rig.wait_speed(2.0)
        mark = rig.mark()
        rig.model.stop_indicating()
        await rig.command("set_speed", {"speed_kmh": 1.8})
        await rig.sim.treadmill.disconnected.wait()
        rig.model.stop_indicating(False)
        await rig.wait_event("link_restored", start=mark)
        await rig.finish()
    assert_record_in_order(rig.record())
