"""The runner against the pure treadmill model on a fake clock: whole workouts, turns, pause and
resume, rise announcements, skip, stop, manual mode and listeners. Faults are in
`test_runner_faults.py`, session records in `test_runner_records.py`. No real sleeping anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.model_sink import ModelRig
from workout.support import LEVEL, TURNING, confirm_turn, holding, until

from treadctl.errors import CommandError, LimitExceededError, SafetyError
from treadctl.safety import (
    Direction,
    InclineCommand,
    SpeedCommand,
    StartCommand,
    StopCommand,
    TurnSettings,
)
from treadctl.workout.bundled import resolve_workout
from treadctl.workout.sessions import list_sessions, read_session, session_files

FIRST_TIMER = resolve_workout("first-timer").read_text(encoding="utf-8")


async def test_first_timer_runs_to_the_end(tmp_path: Path) -> None:
    """The bundled first-timer plays to its end: three steps, two turns confirmed by a person,
    backward never above 2.0 km/h, the belt stopped, the session recorded as finished and its
    summary published to listeners as the last event."""
    rig = await ModelRig.start(FIRST_TIMER, state_dir=tmp_path)
    await rig.runner.start()
    await confirm_turn(rig)
    await rig.advance(30)
    await confirm_turn(rig)
    await until(rig, lambda: rig.runner.done)
    await rig.advance(5)
    assert rig.kinds() == [
        "step_started",
        "speed_rise_announced",
        "turn_around",
        "speed_rise_announced",
        "resumed",
        "step_started",
        "turn_around",
        "speed_rise_announced",
        "resumed",
        "step_started",
        "workout_finished",
        "session_summary",
    ]
    assert rig.model.belt.speed_kmh == 0.0
    assert rig.tasks[0].done()
    assert rig.runner.progress()["progress"] == 1.0
    [path] = session_files(tmp_path)
    log = read_session(path)
    setpoints = [r for r in log.records if r["type"] == "setpoint" and r["command"] == "set_speed"]
    assert max(r["speed_kmh"] for r in setpoints if r["direction"] == "backward") <= 2.0
    assert log.summary is not None
    assert log.summary["completed"] is True
    # Listeners (MQTT) get the record's summary as the last event, with the session's id.
    published = dict(rig.events[-1].data)
    assert published.pop("session_id") == path.stem
    assert {"type": "summary", **published} == log.summary
    [info], problems = list_sessions(tmp_path)
    assert (info.status, problems) == ("finished", [])
    assert 290 <= info.backward_s <= 320
    await rig.close()


async def test_a_turn_waits_for_a_person(rig: ModelRig) -> None:
    """At a direction change the belt pauses and stays paused: no Start until a person asks,
    and not before the 10 s hold; console Start confirms the turn."""
    await rig.runner.start()
    await until(rig, lambda: holding(rig))
    assert rig.kinds()[-2:] == ["turn_around", "speed_rise_announced"]
    turn = next(e for e in rig.events if e.kind == "turn_around")
    assert turn.data["to_direction"] == "backward"
    assert turn.data["speed_kmh"] == 2.0
    rise = rig.events[-1].data  # the rise comes once a person resumes: no time is promised
    assert (rise["reason"], rise["speed_kmh"], rise["in_s"]) == ("turn", 2.0, None)
    with pytest.raises(SafetyError, match="turn hold"):
        await rig.runner.resume()
    held_s = rig.clock.now()
    await rig.advance(120)
    assert not any(isinstance(c, StartCommand) for c in rig.sent(held_s))
    assert rig.model.belt.speed_kmh == 0.0
    rig.console("press_start")
    await rig.advance(20)
    assert rig.runner.state == "running"
    assert rig.runner.governor.direction is Direction.BACKWARD
    assert rig.kinds()[-2:] == ["resumed", "step_started"]
    assert rig.events[-2].data["by"] == "console"
    assert rig.model.belt.speed_kmh == pytest.approx(2.0, abs=0.05)


async def test_auto_resume_counts_down() -> None:
    """Where the site opted in, the belt resumes by itself after an announced countdown."""
    rig = await ModelRig.start(TURNING, turn=TurnSettings(auto_resume=True, countdown_s=8.0))
    await rig.runner.start()
    await until(rig, lambda: rig.runner.governor.direction is Direction.BACKWARD)
    await until(rig, lambda: rig.runner.state == "running")
    countdown = next(e for e in rig.events if e.data.get("reason") == "auto_resume")
    assert countdown.data["in_s"] == 8.0
    resumed = next(e for e in rig.events if e.kind == "resumed")
    assert resumed.data["by"] == "auto_resume"
    assert resumed.data["t_s"] - countdown.data["t_s"] == pytest.approx(8.0)
    await rig.close()


@pytest.mark.parametrize("rig", [LEVEL], indirect=True)
async def test_pause_and_resume_keep_the_step_clock(rig: ModelRig) -> None:
    """Pause ramps down and pauses; the step's time stands still; resume restarts gently."""
    await rig.runner.start()
    await rig.advance(30)
    await rig.runner.pause()
    left = rig.runner.progress()["step_time_left_s"]
    await rig.advance(60)
    assert rig.runner.progress()["step_time_left_s"] == left
    assert rig.model.belt.speed_kmh == 0.0
    assert isinstance(rig.sent()[-1], StopCommand)
    assert rig.sent()[-1].pause
    await rig.runner.resume()
    await rig.advance(10)
    assert rig.runner.state == "running"
    assert rig.runner.progress()["step_time_left_s"] == pytest.approx(left - 10, abs=0.01)
    assert rig.kinds()[-2:] == ["resumed", "speed_rise_announced"]


@pytest.mark.parametrize("rig", [LEVEL], indirect=True)
async def test_a_rise_between_steps_is_announced_ahead(rig: ModelRig) -> None:
    """The rise from 2.0 to 3.0 km/h is announced 5 s before the step begins, the incline
    moves first and the speed then climbs at 0.25 km/h/s."""
    await rig.runner.start()
    await until(rig, lambda: rig.runner.progress()["step_index"] == 2)
    announced = [e for e in rig.events if e.kind == "speed_rise_announced"][-1]
    started = rig.events[-1]
    assert started.kind == "step_started"
    assert started.data["t_s"] - announced.data["t_s"] == pytest.approx(5.0)
    begin = rig.clock.now()
    await rig.advance(20)
    moves = rig.sent(begin)
    assert isinstance(moves[0], InclineCommand)
    speeds = [c.speed_kmh for c in moves if isinstance(c, SpeedCommand)]
    assert speeds == [2.2, 2.4, 2.6, 2.8, 3.0]


@pytest.mark.parametrize("rig", [LEVEL], indirect=True)
async def test_skip_goes_to_the_next_step(rig: ModelRig) -> None:
    """Skip ends the step at once; the next starts (its rise announced, still ramped)."""
    await rig.runner.start()
    await rig.advance(10)
    await rig.runner.skip()
    assert rig.runner.progress()["step_index"] == 2
    assert rig.kinds()[-2:] == ["step_started", "speed_rise_announced"]
    await rig.runner.pause()
    with pytest.raises(CommandError, match="nothing to skip"):
        await rig.runner.skip()


async def test_stop_ends_the_workout_gently(rig: ModelRig) -> None:
    """Stop ramps the belt down and stops it; the workout is over and the runner returns."""
    await rig.runner.start()
    await rig.advance(30)
    await rig.runner.stop()
    await rig.advance(20)
    assert rig.kinds()[-2:] == ["workout_finished", "session_summary"]
    assert rig.events[-2].data["completed"] is False
    assert (rig.events[-1].data["state"], rig.events[-1].data["completed"]) == ("stopped", False)
    last = rig.sent()[-1]
    assert isinstance(last, StopCommand)
    assert not last.pause
    assert rig.model.belt.speed_kmh == 0.0
    assert rig.tasks[0].done()
    with pytest.raises(CommandError, match="over"):
        await rig.runner.start()


async def test_manual_mode() -> None:
    """Without a plan: start, announced rises, caps refused, and a turn to walk backward."""
    rig = await ModelRig.start(None)
    await rig.runner.start()
    await rig.advance(2)
    setpoint = await rig.runner.set_speed(3.0)
    assert setpoint.rise_at_s == pytest.approx(rig.clock.now() + 5.0)
    await rig.advance(20)
    assert rig.model.belt.speed_kmh == pytest.approx(3.0, abs=0.05)
    with pytest.raises(LimitExceededError, match=r"forward cap 6\.0 km/h"):
        await rig.runner.set_speed(7.0)
    await rig.runner.set_speed(2.0, Direction.BACKWARD)
    assert rig.runner.state == "turning"
    await confirm_turn(rig)
    await rig.advance(20)
    assert rig.runner.governor.direction is Direction.BACKWARD
    assert rig.model.belt.speed_kmh == pytest.approx(2.0, abs=0.05)
    await rig.close()


async def test_listener_errors_never_stop_the_workout(rig: ModelRig) -> None:
    """A listener that raises is logged and the workout goes on."""

    def broken(event: object) -> None:
        raise RuntimeError("listener bug")

    rig.runner.add_listener(broken)
    await rig.runner.start()
    await rig.advance(10)
    assert rig.runner.state == "running"
