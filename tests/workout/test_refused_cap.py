"""The runner on the pure treadmill model when the treadmill refuses to bring the belt down to
its cap: the belt would stay above it, so it is paused at once, and the runner publishes
`safety_stop` (DESIGN §2 rule 1: caps are absolute). No real sleeping: the model runs on a fake
clock."""

from __future__ import annotations

import pytest
from testsupport.model_sink import ModelRig
from workout.support import BACKWARD

from treadctl.safety import BeltState
from treadctl.workout.conductor import RunState


@pytest.mark.parametrize("code", [0x02, 0x03, 0x04, 0x05])
async def test_a_refused_drop_to_the_cap_pauses_the_belt_and_is_published(code: int) -> None:
    """Walking backward at 3.0 km/h (cap 4.0), the console speeds the belt up to 5.5 km/h and
    the treadmill refuses every Set Target Speed with `code`. The drop to the cap (4.00 km/h)
    is refused, so the Pause follows 0.5 s later, not 2 + 4 + 8 s of tries at 5.5 km/h;
    command_rejected says the drop was given up, safety_stop says why, and the workout waits
    paused for a person, whose resume starts the belt again at its start speed."""
    rig = await ModelRig.start(BACKWARD)
    try:
        await rig.runner.start()
        await rig.advance(40)
        assert rig.model.belt.speed_kmh == 3.0
        writes, events = len(rig.model.writes), len(rig.events)
        rig.model.force_result(0x02, code)  # Set Target Speed refused from now on
        rig.console("console_set_speed", 5.5)
        await rig.advance(20)

        sent = rig.model.writes[writes:]
        assert [(w.data, w.result) for w in sent] == [
            (b"\x02\x90\x01", code),  # 4.00 km/h: the cap, refused
            (b"\x08\x02", 0x01),  # Stop or Pause: pause
        ]
        assert round(sent[1].time_s - sent[0].time_s, 3) == 0.5
        assert rig.model.belt.speed_kmh == 0.0
        published = [(e.kind, e.data) for e in rig.events[events:]]
        assert [kind for kind, _ in published] == ["command_rejected", "safety_stop"]
        rejected, stop = published[0][1], published[1][1]
        assert (rejected["command"], rejected["speed_kmh"], rejected["result_code"]) == (
            "set_speed",
            4.0,
            code,
        )
        assert (rejected["attempt"], rejected["given_up"]) == (1, True)
        assert stop["reason"] == "speed_above_cap"
        assert (rig.runner.state, rig.runner.conductor.reason) == (
            RunState.PAUSED,
            "speed_above_cap",
        )

        rig.model.force_result(0x02, None)
        writes = len(rig.model.writes)
        await rig.runner.resume()
        await rig.advance(2)
        assert [w.data for w in rig.model.writes[writes:]][:2] == [
            b"\x07",  # Start or Resume
            b"\x02\x96\x00",  # 1.50 km/h: the start speed
        ]
        assert rig.runner.state is RunState.RUNNING
        assert rig.runner.governor.belt is BeltState.RUNNING
    finally:
        await rig.close()
