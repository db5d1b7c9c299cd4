"""The runner's session records, on the pure treadmill model and a fake clock: a crash leaves a
readable record, what happens before the loop runs is recorded, and every line is stamped when
it happened. No real sleeping anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
from pathlib import Path

import pytest
from testsupport.model_sink import ModelRig, ModelSink, device_caps
from workout.support import LEVEL, TURNING, workout

from treadctl.errors import ProcedureTimeoutError
from treadctl.safety import BeltCommand, Governor, Limits, SpeedCommand, TurnSettings
from treadctl.sim.model import TreadmillConfig, TreadmillModel
from treadctl.workout.clock import FakeClock
from treadctl.workout.compiler import compile_plan
from treadctl.workout.plan import RunnerEvent
from treadctl.workout.recorder import SessionRecorder
from treadctl.workout.runner import Runner
from treadctl.workout.script import parse_workout
from treadctl.workout.sessions import (
    list_sessions,
    read_session,
    session_files,
    summarise,
    write_csv,
)


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


async def test_the_summary_agrees_with_the_records_across_a_moving_turn(tmp_path: Path) -> None:
    """With a moving turn (the belt slows to 1.0 km/h instead of pausing) the direction changes
    between two telemetry records while the belt moves: the runner's summary counts each
    interval in the direction of the record that began it, as `sessions` does when it works
    the totals out from the records of a session cut off before its summary."""
    turn = TurnSettings(speed_kmh=1.0, auto_resume=True)
    one_turn = workout(("forward", "60s", 3.0, 0), ("backward", "60s", 2.0, 0))
    rig = await ModelRig.start(one_turn, state_dir=tmp_path, limits=Limits(), turn=turn)
    await rig.runner.start()
    for _ in range(400):
        if rig.runner.done:
            break
        await rig.advance(1)
    assert rig.runner.done
    [path] = session_files(tmp_path)
    log = read_session(path)
    assert log.summary is not None
    moving_turns = [
        r for r in log.records
        if r.get("type") == "event" and r.get("event") == "turn_around"
    ]  # fmt: skip
    assert len(moving_turns) == 1
    worked_out = summarise(dataclasses.replace(log, summary=None))
    assert worked_out.backward_s == pytest.approx(log.summary["backward_s"], abs=0.01)
    assert worked_out.distance_m == pytest.approx(log.summary["distance_m"], abs=0.1)
    assert 55 <= worked_out.backward_s <= 75
    await rig.close()
