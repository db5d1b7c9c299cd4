"""Plain-text tables for the command line: a plan's phases and totals, the session list.

Owns: `plan_table` and `settings_lines` (lists of lines; the caller prints them).
"""

from __future__ import annotations

from treadctl.safety import DeviceCaps, Limits, TurnSettings
from treadctl.safety.grid import fmt
from treadctl.workout.durations import format_duration
from treadctl.workout.plan import Phase, Plan


def clock(seconds: float) -> str:
    """`seconds` as m:ss.s (tenths matter in ramps)."""
    minutes, rest = divmod(round(seconds, 1), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def settings_lines(limits: Limits, device: DeviceCaps, turn: TurnSettings) -> list[str]:
    """The caps, device ranges and turn settings a plan was made for."""
    incline = (
        f"incline {fmt(device.min_incline_pct or 0)}–{fmt(device.max_incline_pct or 0)} % "
        f"in {fmt(device.incline_increment_pct or 0)}"
        if device.incline_supported
        else "no incline"
    )
    pause = "" if device.pause_supported else ", no Pause (Stop instead)"
    turn_text = (
        (f"slow to {fmt(turn.speed_kmh)} km/h" if turn.speed_kmh > 0 else "pause the belt")
        + f", hold ≥ {turn.hold_s:g} s, "
        + (
            f"resume by itself after {turn.auto_resume_after_s:g} s"
            if turn.auto_resume
            else "resume when a person confirms"
        )
    )
    return [
        f"limits: backward ≤ {fmt(limits.backward_max_kmh)} km/h, forward ≤ "
        f"{fmt(limits.forward_max_kmh)} km/h, +{fmt(limits.accel_kmh_per_s)}/-"
        f"{fmt(limits.decel_kmh_per_s)} km/h per s, incline ≤ {fmt(limits.max_incline_pct)} %",
        f"device: {fmt(device.min_speed_kmh)}–{fmt(device.max_speed_kmh)} km/h in "
        f"{fmt(device.speed_increment_kmh)}, {incline}, ≥ {device.min_command_interval_s:g} s "
        f"between commands{pause}",
        f"turns: {turn_text}",
    ]


def _values(start: float, end: float) -> str:
    return fmt(start) if abs(end - start) < 1e-9 else f"{fmt(start)} → {fmt(end)}"


def _row(phase: Phase) -> str:
    return (
        f"{clock(phase.start_s):>8} {clock(phase.end_s):>8}  {phase.kind:<6} "
        f"{phase.direction!s:<9} {_values(phase.speed_kmh_start, phase.speed_kmh_end):>12} "
        f"{_values(phase.incline_pct_start, phase.incline_pct_end):>11}  "
        f"{phase.step:>2} {phase.step_name}"
    )


def plan_table(plan: Plan) -> list[str]:
    """The plan as printed by `treadctl plan`."""
    lines = [
        f"{plan.workout} ({plan.source})",
        *settings_lines(plan.limits, plan.device, plan.turn),
    ]
    lines += [
        "",
        f"{'start':>8} {'end':>8}  {'kind':<6} {'direction':<9} {'km/h':>12} "
        f"{'incline %':>11}  step",
    ]
    lines += [_row(phase) for phase in plan.phases]
    lines += [
        "",
        f"total {format_duration(plan.total_s)} · backward {format_duration(plan.backward_s)} · "
        f"forward {format_duration(plan.forward_s)} · distance ≈ {plan.distance_m:.0f} m · "
        f"{plan.turns} turn{'s' if plan.turns != 1 else ''}",
    ]
    if plan.notes:
        lines += ["", "notes:", *(f"  - {note}" for note in plan.notes)]
    return lines
