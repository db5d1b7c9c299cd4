"""Snapshots of a workout for state and telemetry topics, and the session summary.

Owns: `progress_of` (workout, step, direction, targets, time left in the step and in total,
the next turn, progress 0–1, state) and `summary_of` (the session record's last line).
"""

from __future__ import annotations

from typing import Any

from treadctl.workout.conductor import Conductor, RunState
from treadctl.workout.plan import Plan


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def progress_of(conductor: Conductor, plan: Plan | None, now_s: float) -> dict[str, Any]:
    """A JSON-ready snapshot of `conductor` at `now_s` (plan times from `plan`)."""
    g, step = conductor.governor, conductor.step
    elapsed = conductor.step_elapsed_s(now_s) if step else 0.0
    step_left = max(0.0, step.duration_s - elapsed) if step else None
    plan_t, total = _plan_time(conductor, plan, elapsed)
    auto_at = g.auto_resume_at_s if conductor.state is RunState.TURNING else None
    fraction = min(1.0, plan_t / total) if total else None
    if conductor.state is RunState.FINISHED:
        fraction = 1.0
    return {
        "state": str(conductor.state),
        "reason": conductor.reason,
        "workout": plan.workout if plan else None,
        "step": step.name if step else None,
        "step_index": step.index if step else None,
        "step_count": len(conductor.steps) or None,
        "direction": str(g.direction),
        "target_speed_kmh": g.coming_speed_kmh,  # in a turn: the setpoint after it
        "target_incline_pct": g.coming_incline_pct,
        "commanded_speed_kmh": g.commanded_speed_kmh,
        "step_time_left_s": _round(step_left),
        "remaining_s": _round(max(0.0, total - plan_t)) if total else None,
        "next_turn_in_s": _round(_next_turn_in(conductor, step_left)),
        "auto_resume_in_s": _round(max(0.0, auto_at - now_s)) if auto_at is not None else None,
        "progress": round(fraction, 4) if fraction is not None else None,
        "progress_pct": round(100 * fraction, 1) if fraction is not None else None,
        "latched": g.latched,
    }


def _plan_time(conductor: Conductor, plan: Plan | None, elapsed: float) -> tuple[float, float]:
    if plan is None or not plan.phases or conductor.step is None:
        return 0.0, 0.0
    starts = plan.step_starts_s()
    start = starts.get(conductor.step.index, 0.0)
    if conductor.state in (RunState.FINISHING, RunState.FINISHED):
        return plan.total_s, plan.total_s
    if conductor.state is RunState.TURNING:
        return start, plan.total_s
    return start + elapsed, plan.total_s


def _next_turn_in(conductor: Conductor, step_left: float | None) -> float | None:
    step = conductor.step
    if step is None or step_left is None or conductor.state is RunState.TURNING:
        return None
    total = step_left
    for nxt in conductor.steps[step.index :]:
        if nxt.direction is not step.direction:
            return total
        total += nxt.duration_s
    return None


def summary_of(
    conductor: Conductor, duration_s: float, backward_s: float, distance_m: float
) -> dict[str, Any]:
    """The session's last record."""
    step = conductor.step
    return {
        "state": str(conductor.state),
        "completed": conductor.state is RunState.FINISHED,
        "duration_s": round(duration_s, 3),
        "backward_s": round(backward_s, 3),
        "distance_m": round(distance_m, 1),
        "last_step": step.index if step else None,
    }
