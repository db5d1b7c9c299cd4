"""The runner on the pure treadmill model when the belt runs above the cap: the speed goes to
the cap with the very next command, not after the time the deceleration ramp would take
(DESIGN §2 rule 1 before rule 2). No real sleeping: the model runs on a fake clock."""

from __future__ import annotations

from testsupport.model_sink import ModelRig
from workout.support import BACKWARD


async def test_a_belt_sped_up_on_the_console_is_brought_to_the_cap_at_once() -> None:
    """Walking backward at 3.0 km/h (cap 4.0), the console speeds the belt up to 5.5 km/h.
    Once the reports have shown it for 3 s (not a lag, not an odd frame), the first command is
    the cap, 4.00 km/h; from there the belt ramps down to the step's 3.0 km/h at 0.5 km/h/s.
    The ramp alone would have held it at 5.5 km/h for 3 s more before the cap."""
    rig = await ModelRig.start(BACKWARD)
    try:
        await rig.runner.start()
        await rig.advance(40)
        assert rig.model.belt.speed_kmh == 3.0
        writes, pressed_s = len(rig.model.writes), rig.clock.now()
        rig.console("console_set_speed", 5.5)
        await rig.advance(20)

        sent = rig.model.writes[writes:]
        assert [w.data for w in sent] == [
            b"\x02\x90\x01",  # 4.00 km/h: the cap, at once
            b"\x02\x72\x01",  # 3.70 km/h
            b"\x02\x54\x01",  # 3.40 km/h
            b"\x02\x36\x01",  # 3.10 km/h
            b"\x02\x2c\x01",  # 3.00 km/h
        ]
        assert all(w.result == 0x01 for w in sent)
        first_s = sent[0].time_s
        assert first_s - pressed_s <= 4.0  # 3 s of reports after the belt passed 3.5 km/h
        assert [round(w.time_s - first_s, 3) for w in sent] == [0.0, 0.6, 1.2, 1.8, 2.3]
        assert rig.model.belt.speed_kmh == 3.0
    finally:
        await rig.close()
