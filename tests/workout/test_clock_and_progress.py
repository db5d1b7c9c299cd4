"""Clocks (fake and scaled) and the conductor's progress snapshot and session summary."""

from __future__ import annotations

import asyncio

import pytest

from treadctl.safety import DeviceCaps, Governor, Limits, TurnSettings
from treadctl.workout import clock as clock_module
from treadctl.workout.bundled import resolve_workout
from treadctl.workout.clock import FakeClock, ScaledClock
from treadctl.workout.compiler import compile_plan
from treadctl.workout.conductor import Conductor
from treadctl.workout.progress import progress_of
from treadctl.workout.script import load_workout

DEVICE = DeviceCaps(min_speed_kmh=1.0, max_speed_kmh=12.0, min_command_interval_s=0.5)


async def test_fake_clock_wakes_sleepers_in_deadline_order() -> None:
    """`advance` wakes each sleeper at its own deadline, in order, and sleepers that sleep
    again within the advance are woken too."""
    clock = FakeClock(start_s=100.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float, again: float | None = None) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))
        if again is not None:
            await clock.sleep(again)
            woke.append((name + " again", clock.now()))

    tasks = [
        asyncio.create_task(sleeper("b", 5.0)),
        asyncio.create_task(sleeper("a", 2.0, again=1.0)),
        asyncio.create_task(sleeper("c", 30.0)),
    ]
    await clock.settle()
    assert clock.sleepers == 3
    assert clock.next_deadline() == 102.0
    await clock.advance(10.0)
    assert woke == [("a", 102.0), ("a again", 103.0), ("b", 105.0)]
    assert clock.now() == 110.0
    assert clock.sleepers == 1
    tasks[2].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await clock.advance(30.0)
    assert len(woke) == 3


async def test_fake_clock_zero_sleep_only_yields() -> None:
    """A zero or negative sleep returns without waiting for `advance`."""
    clock = FakeClock()
    await clock.sleep(0)
    await clock.sleep(-1)
    assert clock.now() == 0.0


async def test_scaled_clock_runs_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 20× clock reads 20 s per real second and sleeps a twentieth of the time."""
    real = [1000.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: real[0])
    scaled = ScaledClock(20.0)
    real[0] += 1.5
    assert scaled.now() == pytest.approx(30.0)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(clock_module.asyncio, "sleep", fake_sleep)
    await scaled.sleep(10.0)
    assert slept == [0.5]
    with pytest.raises(ValueError, match="speedup"):
        ScaledClock(0)


def test_progress_snapshot_through_a_workout() -> None:
    """Progress reports the step, targets, time left, the next turn and the fraction done."""
    workout = load_workout(resolve_workout("first-timer"))
    plan = compile_plan(workout, Limits(), DEVICE, TurnSettings())
    governor = Governor(plan.limits, DEVICE)
    conductor = Conductor(governor, plan.steps)
    ready = progress_of(conductor, plan, 0.0)
    assert (ready["state"], ready["step_index"], ready["progress"]) == ("ready", 1, 0.0)
    conductor.start(0.0)
    for t in range(61):
        conductor.tick(float(t))
    snapshot = progress_of(conductor, plan, 60.0)
    assert snapshot["state"] == "running"
    assert snapshot["workout"] == "First-timer, week 1"
    assert (snapshot["step"], snapshot["step_index"], snapshot["step_count"]) == (
        "Forward warm-up",
        1,
        3,
    )
    assert snapshot["direction"] == "forward"
    assert snapshot["target_speed_kmh"] == 3.0
    assert snapshot["step_time_left_s"] == 120.0
    assert snapshot["next_turn_in_s"] == 120.0
    assert snapshot["remaining_s"] == pytest.approx(plan.total_s - 60.0, abs=0.1)
    assert snapshot["progress"] == pytest.approx(60.0 / plan.total_s, abs=1e-3)
    assert snapshot["latched"] is False
    assert set(snapshot) >= {"progress_pct", "auto_resume_in_s", "commanded_speed_kmh", "reason"}
    t = 60.0
    while conductor.state != "turning":
        t += 1.0
        conductor.tick(t)
    turning = progress_of(conductor, plan, t)  # the belt slows down to pause for the turn
    assert (turning["direction"], turning["step_index"]) == ("forward", 2)
    assert turning["target_speed_kmh"] == 1.8  # the step after the turn, not the one before


def test_manual_progress_has_no_workout() -> None:
    """In manual mode the snapshot has the direction and targets but no step or progress."""
    conductor = Conductor(Governor(Limits(), DEVICE))
    snapshot = progress_of(conductor, None, 0.0)
    assert (snapshot["workout"], snapshot["step"], snapshot["progress"]) == (None, None, None)
    assert snapshot["direction"] == "forward"
