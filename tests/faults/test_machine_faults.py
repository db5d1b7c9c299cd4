"""Faults on the treadmill's side, end to end: safety key, console stop, refused commands.

The real daemon drives a virtual treadmill through a real broker; each test asserts its safe
outcome from the machine's own write log and history, the MQTT messages and the session record
(DESIGN §2 rules 1 and 4): a safety-key or console stop latches the session until a person
starts again; a refused command is reported, never forced, and the belt is never sped up or
started without a command, nor above the cap.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.rig import fault_rig
from testsupport.safety_checks import (
    START_OR_RESUME,
    assert_nothing_sent,
    assert_nothing_started_or_sped_up,
    describe_writes,
    speed_of,
)

from treadctl.sim.model import BeltState

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

LIMITS = {"backward_max_kmh": 2.5}  # the workout lowers the site's 4.0 km/h backward cap
EASY_STEP = [{"name": "Easy", "direction": "backward", "duration": "60s", "speed_kmh": 1.5}]
TWO_STEPS = [
    {"name": "Backward easy", "direction": "backward", "duration": "3s", "speed_kmh": 1.5},
    {"name": "Backward push", "direction": "backward", "duration": "60s", "speed_kmh": 2.0},
]


async def test_safety_key_latches_until_the_key_is_back_and_a_person_resumes(
    tmp_path: Path,
) -> None:
    """Safety key pulled mid-step: the machine stops, the daemon publishes `safety_stop` and a
    latched `halted` state and sends nothing; a resume with the key still out is refused by the
    machine and the belt stays still; putting the key back starts nothing; only a resume with
    the key in starts the belt again; never above the cap."""
    async with fault_rig(tmp_path, workouts={"walk": EASY_STEP}, workout_limits=LIMITS) as rig:
        await rig.start("walk")
        await rig.wait_speed(1.5)
        before, mark = len(rig.model.writes), rig.mark()
        rig.sim.treadmill.pull_safety_key()
        stop = await rig.wait_event("safety_stop", start=mark)
        assert stop["reason"] == "safety_key"
        state = await rig.wait_state(lambda s: s.get("status") == "halted", start=mark)
        assert (state["latched"], state["reason"]) == (True, "safety_key")
        await rig.wait_machine(lambda m: m.belt_speed_kmh == 0.0)
        await rig.samples(6)
        assert_nothing_sent(rig.model, before)

        mark = rig.mark()
        answer = await rig.command("resume")  # a person asks, but the key is still out
        assert answer["ok"], answer
        refused = await rig.wait_event("command_rejected", start=mark, command="start")
        assert refused["result_code"] == 0x04
        await rig.samples(4)
        assert rig.model.state is BeltState.STOPPED
        assert rig.model.belt_speed_kmh == 0.0

        rig.sim.treadmill.insert_safety_key()
        waiting = len(rig.model.writes)
        await rig.samples(4)
        assert_nothing_started_or_sped_up(rig.model, waiting)
        assert rig.model.state is BeltState.STOPPED

        answer = await rig.command("resume")
        assert answer["ok"], answer
        await rig.wait_machine(lambda m: m.state is BeltState.RUNNING)
        starts = [w for w in rig.model.writes[before:] if w.data[:1] == bytes([START_OR_RESUME])]
        assert [w.result for w in starts] == [0x04, 0x01], describe_writes(rig.model.writes)
        await rig.finish()


async def test_console_stop_latches_until_a_person_resumes(tmp_path: Path) -> None:
    """Stop pressed on the console mid-step: the workout halts (event `paused`, reason
    `console_stop`, state latched), the daemon sends nothing while the belt stands, and only
    `cmd/resume` starts it again; never above the cap."""
    async with fault_rig(tmp_path, workouts={"walk": EASY_STEP}, workout_limits=LIMITS) as rig:
        await rig.start("walk")
        await rig.wait_speed(1.5)
        before, mark = len(rig.model.writes), rig.mark()
        rig.sim.treadmill.press_stop()
        paused = await rig.wait_event("paused", start=mark)
        assert paused["reason"] == "console_stop"
        state = await rig.wait_state(lambda s: s.get("status") == "halted", start=mark)
        assert (state["latched"], state["reason"]) == (True, "console_stop")
        await rig.wait_machine(lambda m: m.belt_speed_kmh == 0.0)
        await rig.samples(6)
        assert_nothing_sent(rig.model, before)
        assert rig.model.state is BeltState.STOPPED

        mark = rig.mark()
        answer = await rig.command("resume")
        assert answer["ok"], answer
        await rig.wait_event("resumed", start=mark, by="person")
        await rig.wait_machine(lambda m: m.state is BeltState.RUNNING)
        assert rig.model.writes[before].data[:1] == bytes([START_OR_RESUME])
        await rig.finish()


# The refusals a treadmill may answer with (FTMS v1.0 §4.16.2.22, ref/ftms-spec.md §7.2); a
# Collector shall tolerate each of them (FTMP §4.7).
REFUSALS = [
    pytest.param(0x02, id="0x02-op-code-not-supported"),
    pytest.param(0x03, id="0x03-invalid-parameter"),
    pytest.param(0x04, id="0x04-operation-failed"),
    pytest.param(0x05, id="0x05-control-not-permitted"),
]


@pytest.mark.parametrize("result_code", REFUSALS)
async def test_a_refused_speed_is_reported_and_never_forced(
    tmp_path: Path, result_code: int
) -> None:
    """The treadmill refuses the next step's speed with `result_code`: the refusal is published
    as `command_rejected` with its result code, and the belt keeps the speed it had: never
    faster, never started, never above the cap; the workout goes on once it is accepted."""
    async with fault_rig(tmp_path, workouts={"walk": TWO_STEPS}, workout_limits=LIMITS) as rig:
        await rig.start("walk")
        await rig.wait_speed(1.5)
        before, changes, mark = len(rig.model.writes), len(rig.model.history), rig.mark()
        rig.model.force_result(0x02, result_code)  # answer every Set Target Speed with it
        rejected = await rig.wait_event("command_rejected", start=mark, command="set_speed")
        assert rejected["result_code"] == result_code
        await rig.samples(8)
        # The workout asked for step 2's speed (a person started it): the machine refused it,
        # and nothing else moved the belt: no Start, no target change, no state change. (On
        # 0x05 the daemon asks for control again, 0x00, before trying once more.)
        assert rig.model.history[changes:] == []
        asked = {w.data[:1] for w in rig.model.writes[before:] if w.result is not None}
        assert asked <= {b"\x02", b"\x00"}, describe_writes(rig.model.writes[before:])
        assert rig.model.target_speed_kmh == 1.5
        assert rig.model.state is BeltState.RUNNING
        answered = [w for w in rig.model.writes[before:] if speed_of(w) and w.result is not None]
        assert {w.result for w in answered} == {result_code}, describe_writes(answered)
        rig.model.force_result(0x02, None)  # the treadmill takes speeds again
        await rig.wait_speed(2.0)
        await rig.finish()


async def test_a_refused_speed_is_not_hammered_at_the_treadmill(tmp_path: Path) -> None:
    """A speed the treadmill refused (0x04 Operation Failed) is not sent again and again: at
    most 3 refused writes and 3 `command_rejected` events while 12 telemetry samples pass."""
    async with fault_rig(tmp_path, workouts={"walk": TWO_STEPS}, workout_limits=LIMITS) as rig:
        await rig.start("walk")
        await rig.wait_speed(1.5)
        before, mark = len(rig.model.writes), rig.mark()
        rig.model.force_result(0x02, 0x04)
        await rig.wait_event("command_rejected", start=mark, command="set_speed")
        await rig.samples(12)
        refused = [w for w in rig.model.writes[before:] if w.result == 0x04]
        events = [e for e in rig.events()[mark:] if e.get("event") == "command_rejected"]
        assert len(refused) <= 3, describe_writes(refused)
        assert len(events) <= 3, events
        rig.model.force_result(0x02, None)
        await rig.finish()
