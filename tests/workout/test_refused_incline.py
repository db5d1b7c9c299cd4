"""The runner on the pure treadmill model when the treadmill refuses every incline command: a
turn must still slow the belt and pause it on time (DESIGN §2 rule 5; someone may be walking
backward). No real sleeping: the model runs on a fake clock."""

from __future__ import annotations

import pytest
from testsupport.model_sink import ModelRig
from workout.support import holding, until

from treadctl.safety import Direction

UPHILL_THEN_TURN = """name = "Uphill, then a turn"
[[steps]]
name = "Forward uphill"
direction = "forward"
duration = "60s"
speed_kmh = 3.0
incline_pct = 2.0
[[steps]]
name = "Backward"
direction = "backward"
duration = "60s"
speed_kmh = 2.0
incline_pct = 0
"""


@pytest.mark.parametrize("code", [0x02, 0x03, 0x04, 0x05])
async def test_a_turn_pauses_on_time_when_every_incline_is_refused(code: int) -> None:
    """The deck at 2 %, then the treadmill refuses every Set Target Inclination with `code`:
    the turn tries the incline once, ramps the speed down from 3.0 km/h at once (0.5 km/h/s,
    every 0.6 s) and pauses 3.5 s after the refusal, before the plan's pause for a treadmill
    that levels its deck; the deck stays at 2 % and command_rejected says it was given up."""
    rig = await ModelRig.start(UPHILL_THEN_TURN)
    try:
        await rig.runner.start()
        await rig.advance(40)
        assert (rig.model.belt.speed_kmh, rig.model.belt.incline_pct) == (3.0, 2.0)
        rig.model.force_result(0x03, code)  # Set Target Inclination refused from now on
        writes, events = len(rig.model.writes), len(rig.events)
        await until(rig, lambda: holding(rig), limit_s=100.0 - rig.clock.now())
        await rig.advance(5)  # the belt's own deceleration after the Pause

        sent = rig.model.writes[writes:]
        assert [(w.data, w.result) for w in sent] == [
            (b"\x03\x0f\x00", code),  # incline 1.5 %: refused
            (b"\x02\x0e\x01", 0x01),  # 2.70 km/h
            (b"\x02\xf0\x00", 0x01),  # 2.40 km/h
            (b"\x02\xd2\x00", 0x01),  # 2.10 km/h
            (b"\x02\xb4\x00", 0x01),  # 1.80 km/h
            (b"\x02\x96\x00", 0x01),  # 1.50 km/h
            (b"\x08\x02", 0x01),  # Stop or Pause: pause
        ]
        first_s = sent[0].time_s
        assert [round(w.time_s - first_s, 3) for w in sent] == [0.0, 0.6, 1.2, 1.8, 2.4, 3.0, 3.5]

        turn = next(e for e in rig.events[events:] if e.kind == "turn_around")
        assert sent[0].time_s - turn.data["t_s"] == pytest.approx(1.0)  # the incline's ramp step
        plan = rig.runner.plan
        assert plan is not None
        planned = [p for p in plan.phases if p.kind == "turn"]
        planned_pause_s = next(p.start_s for p in planned if p.speed_kmh_end == 0.0)
        paused_after_s = sent[-1].time_s - turn.data["t_s"]
        assert paused_after_s < planned_pause_s - planned[0].start_s  # 4.5 s, planned 7.5 s

        assert rig.model.belt.speed_kmh == 0.0
        assert rig.model.belt.incline_pct == 2.0
        assert rig.runner.governor.direction is Direction.BACKWARD
        rejected = [e.data for e in rig.events[events:] if e.kind == "command_rejected"]
        assert [
            (e["command"], e["result_code"], e["attempt"], e.get("given_up")) for e in rejected
        ] == [("set_incline", code, 1, True)]
    finally:
        await rig.close()
