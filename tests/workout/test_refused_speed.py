"""The runner on the pure treadmill model when the treadmill refuses every speed command: a
pause, a turn or the end of the workout gives its ramp-down up at the first refused speed and
pauses (stops) the belt half a second later (DESIGN §2 rules 2 and 5: pausing is always the safe
direction; someone may be walking backward). No real sleeping: the model runs on a fake clock."""

from __future__ import annotations

import pytest
from testsupport.model_sink import ModelRig
from workout.support import holding, until

from treadctl.safety import Direction

FORWARD_THEN_BACKWARD = """name = "Forward, then backward"
[[steps]]
name = "Forward"
direction = "forward"
duration = "60s"
speed_kmh = 3.0
[[steps]]
name = "Backward"
direction = "backward"
duration = "60s"
speed_kmh = 2.0
"""

ONE_STEP = """name = "One step"
[[steps]]
name = "Forward"
direction = "forward"
duration = "60s"
speed_kmh = 3.0
"""


async def walk_then_refuse_speeds(workout: str, code: int) -> tuple[ModelRig, int, int]:
    """Walk 40 s at 3.0 km/h, then the treadmill refuses every Set Target Speed with `code`;
    (the rig, the writes so far, the events so far)."""
    rig = await ModelRig.start(workout)
    await rig.runner.start()
    await rig.advance(40)
    assert rig.model.belt.speed_kmh == 3.0
    rig.model.force_result(0x02, code)  # Set Target Speed refused from now on
    return rig, len(rig.model.writes), len(rig.events)


def rejected(rig: ModelRig, since: int) -> list[tuple[object, ...]]:
    """(command, result code, attempt, given_up) of each command_rejected since `since`."""
    return [
        (e.data["command"], e.data["result_code"], e.data["attempt"], e.data.get("given_up"))
        for e in rig.events[since:]
        if e.kind == "command_rejected"
    ]


@pytest.mark.parametrize("code", [0x02, 0x03, 0x04, 0x05])
async def test_a_turn_pauses_at_once_when_its_speed_is_refused(code: int) -> None:
    """The turn's first step down (2.70 km/h) is refused with `code`: the Pause follows it
    after the 0.5 s command interval, instead of 2 + 4 + 8 s of retries at 3.0 km/h; the turn
    holds with the belt paused, and command_rejected says the speed was given up."""
    rig, writes, events = await walk_then_refuse_speeds(FORWARD_THEN_BACKWARD, code)
    try:
        await until(rig, lambda: holding(rig), limit_s=100.0 - rig.clock.now())
        await rig.advance(5)  # the belt's own deceleration after the Pause

        sent = rig.model.writes[writes:]
        assert [(w.data, w.result) for w in sent] == [
            (b"\x02\x0e\x01", code),  # 2.70 km/h: refused
            (b"\x08\x02", 0x01),  # Stop or Pause: pause
        ]
        assert round(sent[1].time_s - sent[0].time_s, 3) == 0.5
        turn = next(e for e in rig.events[events:] if e.kind == "turn_around")
        assert sent[1].time_s - turn.data["t_s"] == pytest.approx(1.1)  # one ramp step, 0.5 s
        assert rig.model.belt.speed_kmh == 0.0
        assert rig.runner.governor.direction is Direction.BACKWARD
        assert rejected(rig, events) == [("set_speed", code, 1, True)]
    finally:
        await rig.close()


@pytest.mark.parametrize("code", [0x02, 0x04])
async def test_the_end_of_a_workout_stops_at_once_when_its_speed_is_refused(code: int) -> None:
    """At the end of the workout the first step down is refused: Stop follows after the
    command interval, from the speed the belt has."""
    rig, writes, events = await walk_then_refuse_speeds(ONE_STEP, code)
    try:
        await rig.advance(30)
        sent = rig.model.writes[writes:]
        assert [(w.data, w.result) for w in sent] == [
            (b"\x02\x0e\x01", code),  # 2.70 km/h: refused
            (b"\x08\x01", 0x01),  # Stop or Pause: stop
        ]
        assert round(sent[1].time_s - sent[0].time_s, 3) == 0.5
        assert rig.model.belt.speed_kmh == 0.0
        assert rig.runner.done
        assert rejected(rig, events) == [("set_speed", code, 1, True)]
    finally:
        await rig.close()


async def test_a_pause_asked_for_pauses_at_once_when_its_speed_is_refused() -> None:
    """A person pauses mid-workout and the first step down is refused (0x04): the Pause follows
    after the command interval; nothing is tried again at 2, 4 or 8 s."""
    rig, writes, events = await walk_then_refuse_speeds(ONE_STEP, 0x04)
    try:
        await rig.runner.pause()
        await rig.advance(20)
        sent = rig.model.writes[writes:]
        assert [(w.data, w.result) for w in sent] == [
            (b"\x02\x0e\x01", 0x04),  # 2.70 km/h: refused
            (b"\x08\x02", 0x01),  # Stop or Pause: pause
        ]
        assert round(sent[1].time_s - sent[0].time_s, 3) == 0.5
        assert rig.model.belt.speed_kmh == 0.0
        assert rejected(rig, events) == [("set_speed", 0x04, 1, True)]
    finally:
        await rig.close()
