"""The compiler: workout + limits + device + turn settings → `Plan`. Pure.

Owns: fitting steps to the device (speed and incline ranges and increments, each change noted)
and predicting the timeline. The prediction is not a second model of the rules: it plays the
workout through the real `Conductor` and `Governor` against a belt that does exactly what it is
told, a person who confirms each turn as soon as the hold allows, and records every command and
ramp move. Phases are cut from that record, so a plan shows what the governor will really do.
"""

from __future__ import annotations

import math
from dataclasses import replace

from treadctl.errors import WorkoutError
from treadctl.safety import DeviceCaps, Direction, Governor, Limits, TurnSettings, TurnStage
from treadctl.safety.grid import centi, centi_ceil, centi_floor, fmt, real
from treadctl.safety.ranges import Ranges
from treadctl.workout.conductor import Conductor, RunState
from treadctl.workout.phases import Mark, Timeline, cut_phases
from treadctl.workout.plan import Plan
from treadctl.workout.script import Step, Workout, check_workout

MAX_TICKS = 200_000
BRISK_START_KMH = 2.0  # ref/retro-walking.md §6: warn when the device floor is above this


def compile_plan(
    workout: Workout, limits: Limits, device: DeviceCaps, turn: TurnSettings | None = None
) -> Plan:
    """The plan of `workout` under the site's `limits` on `device` with `turn` settings.

    Raises `WorkoutError` when a step breaks a cap or cannot be played on the device at all.
    """
    turn = turn if turn is not None else TurnSettings()
    effective = check_workout(workout, limits)
    steps, notes = fit_steps(workout, effective, device)
    timeline = Timeline()
    governor = Governor(effective, device, turn)
    conductor = Conductor(governor, steps, on_command=timeline.command)
    announcements: list[dict[str, object]] = []
    now_s = 0.0
    conductor.start(now_s)
    for _ in range(MAX_TICKS):
        conductor.tick(now_s)
        for event in conductor.take_events():
            if event.kind == "speed_rise_announced":
                announcements.append({"at_s": round(now_s, 3), **event.data})
        timeline.mark(Mark(now_s, conductor.index, str(conductor.state), governor.direction))
        if conductor.state is RunState.FINISHED:
            break
        now_s = _next_time(conductor, governor, now_s)
    else:  # pragma: no cover - a plan that never ends is a bug, not an input error
        raise WorkoutError("the plan did not finish", where=workout.source)
    phases = cut_phases(timeline, {s.index: s.name for s in steps})
    return Plan(
        workout=workout.name,
        source=workout.source,
        limits=effective,
        device=device,
        turn=turn,
        steps=steps,
        phases=tuple(phases),
        notes=tuple(notes),
        announcements=tuple(announcements),
    )


def _next_time(conductor: Conductor, governor: Governor, now_s: float) -> float:
    wake = conductor.wake_at()
    holding = conductor.state is RunState.TURNING and governor.turn_stage is TurnStage.HOLDING
    if holding and (wake is None or not math.isfinite(wake)):
        confirm_s = max(now_s, (governor.hold_started_s or now_s) + governor.turn.hold_s)
        conductor.start(confirm_s)  # the person confirms as soon as the hold allows
        return confirm_s
    if wake is None or (not math.isfinite(wake) and wake > 0):
        raise WorkoutError(f"the plan stalled at {now_s:.1f} s ({conductor.state})")
    return max(now_s, wake)


def fit_steps(
    workout: Workout, limits: Limits, device: DeviceCaps
) -> tuple[tuple[Step, ...], list[str]]:
    """Each step's speed and incline on the device's grid, with a note for every change.

    Raises `WorkoutError` when the device cannot walk a step's direction under the cap.
    """
    ranges = Ranges(limits, device)
    fitted: list[Step] = []
    notes: dict[str, str] = {}
    start_kmh = real(ranges.start_speed(Direction.BACKWARD))
    if start_kmh > BRISK_START_KMH:
        notes["start"] = (
            f"the treadmill's lowest speed {fmt(device.min_speed_kmh)} km/h is above "
            f"{fmt(BRISK_START_KMH)} km/h: backward walking will start briskly"
        )
    for step in workout.steps:
        if not ranges.can_run(step.direction):
            raise WorkoutError(
                f"{step.label}: the treadmill's lowest speed {fmt(device.min_speed_kmh)} km/h "
                f"is above the {step.direction} cap {fmt(limits.cap_kmh(step.direction))} km/h",
                where=workout.source,
            )
        speed, speed_note = _fit_speed(step, ranges, device)
        incline, incline_note = _fit_incline(step, ranges, device)
        for key, note in (
            (f"{step.position}.speed", speed_note),
            (f"{step.position}.incline", incline_note),
        ):
            if note:
                notes.setdefault(key, f"{step.label}: {note}")
        fitted.append(replace(step, speed_kmh=speed, incline_pct=incline))
    return tuple(fitted), list(notes.values())


def _fit_speed(step: Step, ranges: Ranges, device: DeviceCaps) -> tuple[float, str]:
    value = centi(step.speed_kmh)
    fitted = real(ranges.speed_grid(step.direction).nearest(value))
    asked = fmt(step.speed_kmh)
    if value > centi_floor(device.max_speed_kmh):
        return (
            fitted,
            f"speed {asked} km/h is above the device maximum; played at {fmt(fitted)} km/h",
        )
    if value < centi_ceil(device.min_speed_kmh):
        return (
            fitted,
            f"speed {asked} km/h is below the device minimum; played at {fmt(fitted)} km/h",
        )
    if centi(fitted) != value:
        return fitted, f"speed {asked} km/h played at {fmt(fitted)} km/h (the device's increment)"
    return fitted, ""


def _fit_incline(step: Step, ranges: Ranges, device: DeviceCaps) -> tuple[float, str]:
    value = centi(step.incline_pct)
    if not device.incline_supported:
        return 0.0, f"incline {fmt(step.incline_pct)} % played level (no incline)" if value else ""
    fitted = real(ranges.incline_grid().nearest(value))
    if value > centi_floor(device.max_incline_pct or 0.0):
        return (
            fitted,
            f"incline {fmt(step.incline_pct)} % is above the device maximum; "
            f"played at {fmt(fitted)} %",
        )
    if centi(fitted) != value:
        return (
            fitted,
            f"incline {fmt(step.incline_pct)} % played at {fmt(fitted)} % (the device's increment)",
        )
    return fitted, ""
