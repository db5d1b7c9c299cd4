"""The runner against the pure treadmill model on a fake clock: whole workouts, turns, pause and
resume, console stop, safety key, lost control, link loss, drift, skip, emergency stop, refused
commands, manual mode and session records. No real sleeping anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from testsupport.model_sink import ModelRig, ModelSink, device_caps

from treadctl.errors import (
    CommandError,
    LatchedError,
    LimitExceededError,
    ProcedureTimeoutError,
    SafetyError,
)
from treadctl.safety import (
    BeltCommand,
    Direction,
    Governor,
    InclineCommand,
    Limits,
    SpeedCommand,
    StartCommand,
    StopCommand,
    TurnSettings,
    TurnStage,
)
from treadctl.sim.model import Quirks, TreadmillConfig, TreadmillModel
from treadctl.workout.bundled import resolve_workout
from treadctl.workout.clock import FakeClock
from treadctl.workout.compiler import compile_plan
from treadctl.workout.plan import RunnerEvent
from treadctl.workout.recorder import SessionRecorder
from treadctl.workout.runner import Runner
from treadctl.workout.script import parse_workout
from treadctl.workout.sessions import list_sessions, read_session, session_files, write_csv

FIRST_TIMER = resolve_workout("first-timer").read_text(encoding="utf-8")


def workout(*steps: tuple[str, str, float, float]) -> str:
    """A workout file from (direction, duration, speed, incline) steps."""
    text = 'name = "Runner test"\n'
    for number, (direction, duration, speed, incline) in enumerate(steps, start=1):
        text += (
            f'[[steps]]\nname = "S{number}"\ndirection = "{direction}"\nduration = "{duration}"\n'
            f"speed_kmh = {speed}\nincline_pct = {incline}\n"
        )
    return text


TURNING = workout(
    ("forward", "60s", 3.0, 0), ("backward", "60s", 2.0, 0), ("forward", "30s", 3.0, 0)
)
LEVEL = workout(
    ("backward", "60s", 2.0, 0), ("backward", "60s", 3.0, 2), ("backward", "60s", 2.5, 0)
)


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[ModelRig]:
    """A rig running the workout given by the test's `workout` marker-free parameter."""
    text = getattr(request, "param", TURNING)
    made = await ModelRig.start(text)
    yield made
    await made.close()


async def until(
    rig: ModelRig, predicate: object, limit_s: float = 600.0, step_s: float = 0.5
) -> None:
    """Advance fake time in small steps until `predicate()` holds."""
    waited = 0.0
    while not predicate():  # type: ignore[operator]
        assert waited < limit_s, "condition never came true"
        await rig.advance(step_s)
        waited += step_s


def holding(rig: ModelRig) -> bool:
    """The turn's hold has begun."""
    return rig.runner.governor.turn_stage is TurnStage.HOLDING


async def confirm_turn(rig: ModelRig) -> None:
    """Wait for the hold to allow it, then resume as a person would."""
    await until(rig, lambda: holding(rig))
    held = rig.runner.governor.hold_started_s or 0.0
    await rig.advance(max(0.0, held + 10.0 - rig.clock.now()))
    await rig.runner.resume()


async def test_first_timer_runs_to_the_end(tmp_path: Path) -> None:
    """The bundled first-timer plays to its end: three steps, two turns confirmed by a person,
    backward never above 2.0 km/h, the belt stopped, the session recorded as finished."""
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


async def test_stop_ends_the_workout_gently(rig: ModelRig) -> None:
    """Stop ramps the belt down and stops it; the workout is over and the runner returns."""
    await rig.runner.start()
    await rig.advance(30)
    await rig.runner.stop()
    await rig.advance(20)
    assert rig.kinds()[-1] == "workout_finished"
    assert rig.events[-1].data["completed"] is False
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


async def test_session_record_survives_a_crash(tmp_path: Path) -> None:
    """A session cut off mid-line still lists and exports; the cut line is noted."""
    rig = await ModelRig.start(TURNING, state_dir=tmp_path, limits=Limits())
    await rig.runner.start()
    await rig.advance(30)
    [path] = session_files(tmp_path)
    with path.open("a", encoding="utf-8") as file:
        file.write('{"type":"telemetry","t_s":31.0,"speed_')  # the process died here
    log = read_session(path)
    assert log.summary is None
    assert log.notes == [
        f"line {len(path.read_text().splitlines())}: cut off (the session ended abruptly); skipped"
    ]
    [info], _ = list_sessions(tmp_path)
    assert info.status == "cut off"
    assert info.duration_s >= 29
    assert 0 < info.distance_m < 30
    out = io.StringIO()
    write_csv(log, out)
    rows = out.getvalue().splitlines()
    assert rows[0].startswith("t_s,type,step,direction,speed_kmh")
    assert any(",telemetry," in row for row in rows)
    assert json.loads(path.read_text().splitlines()[0])["type"] == "session"
    await rig.close()


async def test_a_start_before_the_loop_is_recorded(tmp_path: Path) -> None:
    """A start made before `run()` (as the daemon does) is recorded after the header; a start
    that is refused before `run()` leaves no file."""
    clock = FakeClock()
    model = TreadmillModel(TreadmillConfig(rate_hz=2.0, speed_min_kmh=1.0))
    sink = ModelSink(model, clock)
    device = device_caps(model)
    plan = compile_plan(parse_workout(TURNING, source="t.toml"), Limits(), device)
    recorder = SessionRecorder(tmp_path, workout=plan.workout, treadmill_id="sim-1")
    runner = Runner(Governor(Limits(), device), sink, clock, plan=plan, recorder=recorder)
    sink.runner = runner
    await runner.start()
    assert session_files(tmp_path) == []
    task = asyncio.create_task(runner.run())
    await clock.advance(1.0)
    kinds = [json.loads(line).get("event") or json.loads(line)["type"]
             for line in recorder.path.read_text(encoding="utf-8").splitlines()]  # fmt: skip
    assert kinds[:3] == ["session", "step_started", "speed_rise_announced"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class UnansweredSpeed:
    """A `CommandSink` whose speed write, once `armed`, gets no answer: after `timeout_s` of
    fake time it fails with `ProcedureTimeoutError`, as the BLE layer reports it. Everything
    else goes to the model, whose telemetry keeps coming meanwhile."""

    def __init__(self, inner: ModelSink, timeout_s: float = 2.0) -> None:
        self.inner, self.timeout_s, self.armed = inner, timeout_s, False
        self.written_s: float | None = None  # when the unanswered write went out

    async def send(self, command: BeltCommand) -> None:
        """Fail the armed speed write after the timeout; pass anything else on."""
        if self.armed and isinstance(command, SpeedCommand):
            self.armed, self.written_s = False, self.inner.clock.now()
            await self.inner.clock.sleep(self.timeout_s)
            raise ProcedureTimeoutError("no 0x80 response within 2.0 s", op_code=0x02)
        await self.inner.send(command)


async def test_a_timed_out_write_is_recorded_when_it_failed(tmp_path: Path) -> None:
    """A speed write that gets no answer for 2 s: telemetry received meanwhile is recorded
    as it comes, and the refusal when the write failed, not when the loop pass began; the
    record's times never go back, and the published event carries the same time."""
    clock = FakeClock()
    model = TreadmillModel(TreadmillConfig(rate_hz=2.0, speed_min_kmh=1.0))
    inner = ModelSink(model, clock)
    sink = UnansweredSpeed(inner)
    device = device_caps(model)
    plan = compile_plan(parse_workout(LEVEL, source="l.toml"), Limits(), device)
    recorder = SessionRecorder(tmp_path, workout=plan.workout, treadmill_id="sim-1")
    runner = Runner(Governor(Limits(), device), sink, clock, plan=plan, recorder=recorder)
    inner.runner = runner
    events: list[RunnerEvent] = []
    runner.add_listener(events.append)
    tasks = [asyncio.create_task(runner.run()), asyncio.create_task(inner.ticker())]
    await runner.start()
    await clock.advance(30.0)
    sink.armed = True
    await runner.set_speed(1.8)  # a person's slower speed: the write that gets no answer
    await clock.advance(10.0)
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    lines = [json.loads(line) for line in recorder.path.read_text(encoding="utf-8").splitlines()]
    assert sink.written_s is not None
    sent_s = sink.written_s  # session time: the fake clock began at 0 with the runner
    times = [line["t_s"] for line in lines[1:]]
    assert times == sorted(times), "the record's times go back"
    [rejected] = [line for line in lines if line.get("event") == "command_rejected"]
    assert rejected["t_s"] == pytest.approx(sent_s + 2.0)
    assert rejected["result_code"] is None
    assert rejected["retry_in_s"] == 2.0
    waiting = [line["t_s"] for line in lines if line["type"] == "telemetry"]
    assert [t for t in waiting if sent_s < t < sent_s + 2.0], "no telemetry while waiting"
    [published] = [e for e in events if e.kind == "command_rejected"]
    assert published.data["t_s"] == rejected["t_s"]
