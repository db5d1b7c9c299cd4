"""Plans: golden plans of the bundled workouts, the issue's "done when" checks, fitting steps to
a device, and property tests of compiled plans over generated workouts and devices."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from testsupport.devices import DRY_RUN_DEVICE

from treadctl.errors import WorkoutError
from treadctl.safety import DeviceCaps, Direction, Limits, TurnSettings
from treadctl.safety.grid import centi
from treadctl.workout.bundled import bundled_workouts, resolve_workout
from treadctl.workout.compiler import compile_plan
from treadctl.workout.plan import Phase, Plan
from treadctl.workout.script import Step, Workout, load_workout, parse_workout

GOLDEN = Path(__file__).parent / "golden"
EPS = 1e-6


def test_the_four_programs_are_bundled() -> None:
    """first-timer, balance-and-posture, knee-friendly and intermediate-intervals ship."""
    assert set(bundled_workouts()) >= {
        "first-timer",
        "balance-and-posture",
        "knee-friendly",
        "intermediate-intervals",
    }
    assert resolve_workout("first-timer").name == "first-timer.toml"


@pytest.mark.parametrize("name", sorted(bundled_workouts()))
def test_bundled_files_explain_themselves(name: str) -> None:
    """Each bundled file says in comments who it is for, its safety notes and how to progress."""
    text = bundled_workouts()[name].read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#")).lower()
    assert "who it is for" in comments
    assert "safety notes" in comments
    assert "progress" in comments
    assert "week" in comments


@pytest.mark.parametrize("name", sorted(bundled_workouts()))
def test_bundled_plans_match_golden(name: str) -> None:
    """The plan of each bundled workout on the dry-run device equals its golden file
    (TREADCTL_UPDATE_GOLDEN=1 rewrites them after an intended change)."""
    plan = compile_plan(
        load_workout(bundled_workouts()[name]), Limits(), DRY_RUN_DEVICE, TurnSettings()
    )
    produced = plan.to_json()
    path = GOLDEN / f"{name}.json"
    if os.environ.get("TREADCTL_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(produced, indent=1) + "\n", encoding="utf-8")
    assert produced == json.loads(path.read_text(encoding="utf-8"))


def test_first_timer_plan_keeps_the_caps_and_ramps() -> None:
    """Done when: the first-timer plan never exceeds the backward cap (its own 2.0 km/h) and
    its ramps never exceed the configured acceleration; its backward block is about 5 min."""
    plan = compile_plan(load_workout(resolve_workout("first-timer")), Limits(), DRY_RUN_DEVICE)
    check_plan(plan)
    backward = [p for p in plan.phases if p.direction is Direction.BACKWARD]
    assert max(max(p.speed_kmh_start, p.speed_kmh_end) for p in backward) <= 2.0
    assert 290 <= plan.backward_s <= 310
    kinds = [p.kind for p in plan.phases]
    assert kinds.count("turn") >= 2
    assert plan.turns == 2


def test_the_programs_follow_their_outlines() -> None:
    """What the issue asks of each bundled program (ref/retro-walking.md §6), on the site's
    default limits: the first-timer is one backward block between a forward warm-up and
    cool-down; balance-and-posture is level and capped at 2.5 km/h both ways; knee-friendly
    walks backward on a gentle incline; intermediate-intervals gets its intensity from
    incline, within the default 4.0 km/h backward cap."""
    plans = {
        name: compile_plan(load_workout(resolve_workout(name)), Limits(), DRY_RUN_DEVICE)
        for name in (
            "first-timer",
            "balance-and-posture",
            "knee-friendly",
            "intermediate-intervals",
        )
    }

    def backward(name: str) -> list[Phase]:
        return [p for p in plans[name].phases if p.direction is Direction.BACKWARD]

    def top_kmh(phases: list[Phase]) -> float:
        return max(max(p.speed_kmh_start, p.speed_kmh_end) for p in phases)

    def top_pct(phases: list[Phase]) -> float:
        return max(max(p.incline_pct_start, p.incline_pct_end) for p in phases)

    directions = [s.direction for s in plans["first-timer"].steps]
    assert directions == [Direction.FORWARD, Direction.BACKWARD, Direction.FORWARD]
    balance = plans["balance-and-posture"]
    assert (balance.limits.backward_max_kmh, balance.limits.forward_max_kmh) == (2.5, 2.5)
    assert top_kmh(list(balance.phases)) <= 2.5
    assert top_pct(list(balance.phases)) == 0.0
    assert 0.0 < top_pct(backward("knee-friendly")) <= 5.0
    intervals = plans["intermediate-intervals"]
    assert intervals.limits.backward_max_kmh == Limits().backward_max_kmh == 4.0
    assert top_kmh(backward("intermediate-intervals")) <= 4.0
    pushes = [s for s in intervals.steps if s.direction is Direction.BACKWARD and s.incline_pct]
    assert len(pushes) >= 4
    for name, plan in plans.items():
        assert plan.turns <= 2, name  # few turns: intensity changes stay within one direction


def test_a_backward_step_over_the_cap_fails_naming_the_step(tmp_path: Path) -> None:
    """Done when: a workout asking for a backward speed above the cap names the step."""
    path = tmp_path / "fast.toml"
    path.write_text(
        'name = "Fast"\n[[steps]]\nname = "Too fast"\ndirection = "backward"\n'
        'duration = "1m"\nspeed_kmh = 4.5\n',
        encoding="utf-8",
    )
    with pytest.raises(WorkoutError, match=r'step 1 "Too fast", speed_kmh: requested 4\.5 km/h'):
        compile_plan(load_workout(path), Limits(), DRY_RUN_DEVICE)


def test_steps_are_fitted_to_the_device_with_notes() -> None:
    """Speeds and inclines the device cannot play are fitted and each change is noted."""
    flat = DeviceCaps(min_speed_kmh=1.6, max_speed_kmh=3.8, speed_increment_kmh=0.2)
    workout = parse_workout(
        'name = "Fit"\n'
        '[[steps]]\nname = "Fast"\ndirection = "forward"\nduration = "1m"\nspeed_kmh = 4.5\n'
        '[[steps]]\nname = "Hill"\ndirection = "forward"\nduration = "1m"\nspeed_kmh = 2.5\n'
        "incline_pct = 3\n"
        '[[steps]]\nname = "Slow"\ndirection = "forward"\nduration = "1m"\nspeed_kmh = 1.2\n',
        source="fit.toml",
    )
    plan = compile_plan(workout, Limits(), flat)
    assert [s.speed_kmh for s in plan.steps] == [3.8, 2.4, 1.6]
    assert [s.incline_pct for s in plan.steps] == [0.0, 0.0, 0.0]
    assert plan.notes == (
        'step 1 "Fast": speed 4.5 km/h is above the device maximum; played at 3.8 km/h',
        'step 2 "Hill": speed 2.5 km/h played at 2.4 km/h (the device\'s increment)',
        'step 2 "Hill": incline 3.0 % played level (no incline)',
        'step 3 "Slow": speed 1.2 km/h is below the device minimum; played at 1.6 km/h',
    )
    check_plan(plan)


def test_a_device_that_cannot_walk_under_the_cap_is_refused() -> None:
    """A device whose lowest speed is above the backward cap cannot play backward steps."""
    fast = DeviceCaps(min_speed_kmh=3.0, max_speed_kmh=12.0)
    workout = parse_workout(
        'name = "B"\n[[steps]]\nname = "Back"\ndirection = "backward"\nduration = "1m"\n'
        "speed_kmh = 2.0\n",
        source="b.toml",
        limits=Limits(backward_max_kmh=2.5),
    )
    with pytest.raises(WorkoutError, match=r"lowest speed 3\.0 km/h is above the backward cap"):
        compile_plan(workout, Limits(backward_max_kmh=2.5), fast)


def test_auto_resume_plan_counts_the_countdown() -> None:
    """With auto-resume the turn holds for max(hold, countdown) before the next step."""
    turn = TurnSettings(auto_resume=True, countdown_s=15.0)
    plan = compile_plan(
        load_workout(resolve_workout("first-timer")), Limits(), DRY_RUN_DEVICE, turn
    )
    holds = [p for p in plan.phases if p.kind == "turn" and p.speed_kmh_start == 0]
    assert [round(p.duration_s, 3) for p in holds] == [15.0, 15.0]
    assert any(a["reason"] == "auto_resume" for a in plan.announcements)


def check_plan(plan: Plan) -> None:
    """Every phase keeps the caps, ramp rates, level turns and announced rises, and every
    steady setpoint is on the device's increment."""
    lim, dev, turn = plan.limits, plan.device, plan.turn
    start_kmh = (
        max(lim.backward_start_kmh, dev.min_speed_kmh, turn.speed_kmh) + 2 * dev.speed_increment_kmh
    )
    for before, phase in zip((None, *plan.phases), plan.phases, strict=False):
        top = min(lim.cap_kmh(phase.direction), dev.max_speed_kmh)
        if phase.kind == "steady":  # a held setpoint (a ramp's ends may be cut mid-line)
            offset_c = round((phase.speed_kmh_end - dev.min_speed_kmh) * 100)
            on_grid = phase.speed_kmh_end == 0 or offset_c % centi(dev.speed_increment_kmh) == 0
            assert on_grid, f"speed off the device's increment: {phase}"
            step_c = centi(dev.incline_increment_pct or 0.1)
            assert centi(phase.incline_pct_end) % step_c == 0, f"incline off the grid: {phase}"
        assert max(phase.speed_kmh_start, phase.speed_kmh_end) <= top + EPS, phase
        assert min(phase.incline_pct_start, phase.incline_pct_end) >= 0
        assert max(phase.incline_pct_start, phase.incline_pct_end) <= lim.max_incline_pct + EPS
        rise = phase.speed_kmh_end - phase.speed_kmh_start
        if phase.duration_s > 0 and rise > EPS and phase.speed_kmh_start > 0:
            assert rise / phase.duration_s <= lim.accel_kmh_per_s + EPS, phase
            announced = [  # announcement times are rounded to the millisecond
                a
                for a in plan.announcements
                if float(a["speed_kmh"] or 0) >= phase.speed_kmh_end - EPS  # type: ignore[arg-type]
                and float(a["at_s"]) <= phase.start_s - turn.announce_s + 1e-3  # type: ignore[arg-type]
            ]
            assert announced, f"rise not announced {turn.announce_s} s ahead: {phase}"
        if rise > EPS and phase.speed_kmh_start == 0:
            assert phase.speed_kmh_end <= start_kmh + EPS, phase
        if rise < -EPS:
            assert -rise / phase.duration_s <= lim.decel_kmh_per_s + EPS, phase
        if before is not None and before.direction is not phase.direction:
            assert phase.kind == "turn"
            assert before.incline_pct_end == 0.0
            slow = max(turn.speed_kmh, dev.min_speed_kmh) + dev.speed_increment_kmh
            assert phase.speed_kmh_start == 0.0 or phase.speed_kmh_start <= slow + EPS


@st.composite
def setups(draw: st.DrawFn) -> tuple[Workout, Limits, DeviceCaps, TurnSettings]:
    incline = draw(st.booleans())
    device = DeviceCaps(
        min_speed_kmh=draw(st.sampled_from([0.5, 1.0, 1.6])),
        max_speed_kmh=draw(st.sampled_from([4.0, 6.4, 12.0])),
        speed_increment_kmh=draw(st.sampled_from([0.1, 0.2])),
        min_incline_pct=0.0 if incline else None,
        max_incline_pct=draw(st.sampled_from([5.0, 12.0])) if incline else None,
        incline_increment_pct=draw(st.sampled_from([0.5, 1.0])) if incline else None,
        min_command_interval_s=draw(st.sampled_from([0.0, 0.4, 0.5, 1.0])),
        pause_supported=draw(st.booleans()),
    )
    limits = Limits(
        backward_max_kmh=draw(st.sampled_from([2.0, 2.5, 4.0, 5.0])),
        accel_kmh_per_s=draw(st.sampled_from([0.1, 0.25, 0.5])),
        decel_kmh_per_s=draw(st.sampled_from([0.3, 0.5, 1.0])),
        max_incline_pct=draw(st.sampled_from([0.0, 5.0, 10.0])),
        incline_rate_pct_per_s=draw(st.sampled_from([0.25, 0.5, 1.0])),
    )
    turn = TurnSettings(
        speed_kmh=draw(st.sampled_from([0.0, 0.0, 1.0])),
        hold_s=draw(st.sampled_from([10.0, 15.0])),
        auto_resume=draw(st.booleans()),
    )
    steps = []
    for index in range(1, draw(st.integers(1, 6)) + 1):
        direction = draw(st.sampled_from(list(Direction)))
        cap = limits.cap_kmh(direction)
        steps.append(
            Step(
                index=index,
                position=str(index),
                name=f"s{index}",
                direction=direction,
                duration_s=draw(st.sampled_from([5.0, 20.0, 60.0, 90.0])),
                speed_kmh=round(draw(st.floats(0.3, 1.0)) * cap, 2),
                incline_pct=round(draw(st.floats(0.0, 1.0)) * limits.max_incline_pct, 1),
            )
        )
    return Workout("generated", "", "generated.toml", tuple(steps)), limits, device, turn


@settings(max_examples=500)
@given(setup=setups())
def test_compiled_plans_keep_every_rule(
    setup: tuple[Workout, Limits, DeviceCaps, TurnSettings],
) -> None:
    """Over generated workouts, caps and devices: caps, ramp rates, level paused turns and
    announced rises hold in every phase, and every step is played in full."""
    workout, limits, device, turn = setup
    try:
        plan = compile_plan(workout, limits, device, turn)
    except WorkoutError as exc:
        if "lowest speed" not in str(exc):
            raise
        reject()
    check_plan(plan)
    assert plan.total_s >= workout.duration_s - EPS
    played = {p.step for p in plan.phases}
    assert played == {s.index for s in workout.steps}
