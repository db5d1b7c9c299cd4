"""The runner against the pure treadmill model on a fake clock when something goes wrong: console
stop, safety key, lost control, link loss, drift, a belt that stops by itself, emergency stop and
refused commands (DESIGN §2 rules 4 and 7). No real sleeping anywhere."""

from __future__ import annotations

import pytest
from testsupport.model_sink import ModelRig
from workout.support import LEVEL, TURNING, until

from treadctl.errors import LatchedError
from treadctl.safety import SpeedCommand, StartCommand, StopCommand
from treadctl.sim.model import Quirks


async def test_console_stop_latches(rig: ModelRig) -> None:
    """A console stop halts the workout; nothing moves the belt until a person starts again."""
    await rig.runner.start()
    await rig.advance(20)
    rig.console("press_stop")
    await rig.advance(1)
    assert (rig.runner.state, rig.runner.progress()["reason"]) == ("halted", "console_stop")
    with pytest.raises(LatchedError):
        await rig.runner.set_speed(2.0)
    stopped_s = rig.clock.now()
    await rig.advance(60)
    assert rig.sent(stopped_s) == []
    await rig.runner.start()
    await rig.advance(2)
    assert isinstance(rig.sent(stopped_s)[0], StartCommand)
    assert rig.runner.state == "running"


async def test_safety_key_latches_until_a_person_starts(rig: ModelRig) -> None:
    """Pulling the safety key publishes safety_stop and latches; with the key back a person's
    start resumes the workout."""
    await rig.runner.start()
    await rig.advance(20)
    rig.console("pull_safety_key")
    await rig.advance(10)
    assert rig.kinds()[-1] == "safety_stop"
    assert rig.events[-1].data["reason"] == "safety_key"
    assert rig.model.belt.speed_kmh == 0.0
    assert rig.runner.progress()["latched"] is True
    rig.console("insert_safety_key")
    await rig.advance(30)
    assert rig.model.belt.speed_kmh == 0.0
    await rig.runner.start()
    await rig.advance(10)
    assert rig.model.belt.speed_kmh > 0


async def test_control_permission_lost_pauses_until_resumed(rig: ModelRig) -> None:
    """After 0xFF Control Permission Lost nothing is sent; a person's resume takes control
    again (the sink asks for it) and carries on."""
    await rig.runner.start()
    await rig.advance(20)
    rig.console("revoke_control")
    lost_s = rig.clock.now()
    await rig.advance(30)
    assert (rig.runner.state, rig.runner.progress()["reason"]) == (
        "paused",
        "control_permission_lost",
    )
    assert rig.sent(lost_s) == []
    await rig.runner.resume()
    await rig.advance(45)
    assert rig.runner.state == "turning"
    assert rig.sink.has_control
    assert rig.sent(lost_s)


async def test_link_loss_pauses_and_a_moving_belt_is_ramped_down(rig: ModelRig) -> None:
    """Rule 7: link loss pauses the workout; after reconnecting, the still-moving belt is
    ramped down and paused, and nothing resumes until a person asks."""
    await rig.runner.start()
    await rig.advance(30)
    rig.drop_link()
    await rig.advance(10)
    assert rig.kinds()[-1] == "link_lost"
    assert rig.model.belt.speed_kmh == pytest.approx(3.0, abs=0.05)
    rig.restore_link()
    back_s = rig.clock.now()
    await rig.advance(20)
    sent = rig.sent(back_s)
    assert sent
    assert all(isinstance(c, SpeedCommand) for c in sent[:-1])
    assert isinstance(sent[-1], StopCommand)
    assert sent[-1].pause
    assert rig.model.belt.speed_kmh == 0.0
    assert not any(isinstance(c, StartCommand) for c in sent)
    await rig.advance(60)
    assert rig.runner.state == "paused"
    await rig.runner.resume()
    await rig.advance(5)
    assert rig.model.belt.speed_kmh > 0


async def test_a_link_loss_noticed_twice_is_reported_once(rig: ModelRig) -> None:
    """The link's own event and a send that failed on the dropped link both tell the runner;
    listeners and the record get one `link_lost`."""
    await rig.runner.start()
    await rig.advance(30)
    rig.drop_link()
    await rig.advance(5)
    rig.runner.link_lost(rig.clock.now())
    await rig.advance(5)
    assert rig.kinds().count("link_lost") == 1


async def test_link_restored_with_a_stopped_belt_leaves_it_alone(rig: ModelRig) -> None:
    """Rule 7: a belt that stopped while the link was down gets no command after reconnecting."""
    await rig.runner.start()
    await rig.advance(30)
    rig.drop_link()
    rig.console("press_stop")
    await rig.advance(10)
    rig.restore_link()
    back_s = rig.clock.now()
    await rig.advance(60)
    assert rig.sent(back_s) == []
    assert rig.kinds()[-1] == "link_restored"
    assert rig.events[-1].data["belt_moving"] is False


async def test_drift_is_reported() -> None:
    """A belt that ignores speed targets is reported as drifting (commanded vs reported)."""
    rig = await ModelRig.start(TURNING, quirks=Quirks(ignored_ops=frozenset({0x02})))
    await rig.runner.start()
    await rig.advance(40)
    drift = [e for e in rig.events if e.kind == "drift"]
    assert len(drift) == 1
    assert drift[0].data["commanded_kmh"] == 3.0
    assert drift[0].data["reported_kmh"] == pytest.approx(1.0, abs=0.05)
    await rig.close()


async def test_a_belt_that_stops_by_itself_latches(rig: ModelRig) -> None:
    """If the belt stands still for 3 s without any status notification, the workout halts."""
    await rig.runner.start()
    await rig.advance(30)
    rig.model.stop(rig.clock.now(), cause="console")  # no Machine Status sent
    await rig.advance(10)
    assert rig.kinds()[-1] == "safety_stop"
    assert rig.events[-1].data["reason"] == "belt_stopped"
    assert rig.runner.state == "halted"


async def test_emergency_stop_jumps_the_queue_and_latches(rig: ModelRig) -> None:
    """An emergency stop is sent at once, the belt stops, and nothing follows until a
    person's start."""
    await rig.runner.start()
    await rig.advance(7)
    before = len(rig.sink.sent)
    await rig.runner.emergency_stop()
    command = rig.sink.sent[before][1]
    assert isinstance(command, StopCommand)
    assert command.emergency
    await rig.advance(30)
    assert len(rig.sink.sent) == before + 1
    assert rig.model.belt.speed_kmh == 0.0
    assert rig.kinds()[-1] == "safety_stop"
    assert rig.runner.state == "halted"


async def test_a_refused_command_is_reported(rig: ModelRig) -> None:
    """A speed refused by the treadmill (0x04) publishes command_rejected with the result."""
    rig.model.force_result(0x02, 0x04)
    await rig.runner.start()
    await rig.advance(3)
    rejected = next(e for e in rig.events if e.kind == "command_rejected")
    assert rejected.data["command"] == "set_speed"
    assert rejected.data["result_code"] == 4


@pytest.mark.parametrize("rig", [LEVEL], indirect=True)
async def test_a_refused_speed_is_tried_later_not_hammered(rig: ModelRig) -> None:
    """Step 2's rise refused with 0x04 on every try: 4 writes in all (after 2, 4 and 8 s), not
    one per runner pass; each `command_rejected` says the attempt and when the next comes, the
    last that it gave up; the step goes on at the speed the belt kept, and the next step's
    speed (a new goal) is sent once the treadmill takes speeds again."""
    await rig.runner.start()
    await rig.advance(50)
    before, events = len(rig.model.writes), len(rig.events)
    rig.model.force_result(0x02, 0x04)
    await rig.advance(60)  # the whole of step 2 (3.0 km/h) at fake time
    refused = [w for w in rig.model.writes[before:] if w.result == 0x04]
    assert [w.data for w in refused] == [b"\x02\xdc\x00"] * 4  # 2.20 km/h
    assert [round(w.time_s - refused[0].time_s, 3) for w in refused] == [0.0, 2.0, 6.0, 14.0]
    rejected = [e.data for e in rig.events[events:] if e.kind == "command_rejected"]
    assert [(e["attempt"], e.get("retry_in_s"), e.get("given_up")) for e in rejected] == [
        (1, 2.0, None),
        (2, 4.0, None),
        (3, 8.0, None),
        (4, None, True),
    ]
    assert {e["result_code"] for e in rejected} == {4}
    assert rig.model.belt.speed_kmh == 2.0
    rig.model.force_result(0x02, None)
    await until(rig, lambda: rig.runner.progress()["step_index"] == 3)
    await rig.advance(20)
    assert rig.model.belt.speed_kmh == 2.5
