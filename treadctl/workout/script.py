"""Workout scripts: load a TOML file, check it against the caps, flatten repeat blocks.

Owns: `Step`, `Workout`, `load_workout(path, limits)`, `parse_workout(text, source, limits)`
and `check_workout(workout, limits)`. A step beyond a cap, or with a NaN or infinite number,
is refused, never clamped: every error names the file, the step (position and name), the
field, what was wrong and what is allowed (`WorkoutError`). Device ranges are not checked
here; the compiler fits steps to them.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from treadctl.errors import SafetyError, WorkoutError
from treadctl.safety import Direction, Limits
from treadctl.safety.grid import fmt
from treadctl.workout.schema import BlockModel, StepModel, WorkoutFile, describe_errors, step_label


@dataclass(frozen=True)
class Step:
    """One step as played (repeat blocks unrolled). `index` counts from 1 in playing order;
    `position` is where it is written ("3" or "3.2" for the second step of block 3)."""

    index: int
    position: str
    name: str
    direction: Direction
    duration_s: float
    speed_kmh: float
    incline_pct: float = 0.0
    written_name: str = ""

    @property
    def label(self) -> str:
        """`step 3.2 "Push"`: where the step is written, as errors name it."""
        return step_label(self.position, self.written_name or self.name)


@dataclass(frozen=True)
class Workout:
    """A validated workout. `overrides` are its own `[limits]` (they can only lower caps)."""

    name: str
    description: str
    source: str
    steps: tuple[Step, ...]
    overrides: Mapping[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """The steps' total time (turns and ramps not counted)."""
        return sum(step.duration_s for step in self.steps)

    @property
    def backward_s(self) -> float:
        """The backward steps' total time."""
        return sum(s.duration_s for s in self.steps if s.direction is Direction.BACKWARD)

    def limits_for(self, site: Limits) -> Limits:
        """The site's limits lowered by this workout's `[limits]`."""
        return site.lowered_by(self.overrides)


def load_workout(path: str | Path, limits: Limits | None = None) -> Workout:
    """Read and check the workout at `path` against `limits` (default: the defaults).

    Raises `WorkoutError` naming the file, step and field for every problem found.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkoutError("no such file", where=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkoutError(f"cannot read it: {exc}", where=source) from exc
    return parse_workout(text, source=source, limits=limits)


def parse_workout(text: str, *, source: str = "<workout>", limits: Limits | None = None) -> Workout:
    """Check the workout TOML in `text` (named `source` in errors) against `limits`.

    Raises `WorkoutError` naming the file, step and field for every problem found.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkoutError(f"not valid TOML: {exc}", where=source) from None
    try:
        model = WorkoutFile.model_validate(raw)
    except ValidationError as exc:
        raise _error(source, describe_errors(exc, raw)) from None
    overrides = {k: v for k, v in model.limits.model_dump().items() if v is not None}
    workout = Workout(
        name=model.name,
        description=model.description.strip(),
        source=source,
        steps=tuple(_flatten(model.steps)),
        overrides=overrides,
    )
    check_workout(workout, limits if limits is not None else Limits())
    return workout


def check_workout(workout: Workout, limits: Limits) -> Limits:
    """Check every step against `limits` lowered by the workout's own; return those limits.

    Raises `WorkoutError` listing every problem (refused, never clamped).
    """
    try:
        effective = workout.limits_for(limits)
    except SafetyError as exc:
        raise _error(workout.source, [f"[limits]: {exc}"]) from None
    problems: list[str] = []
    seen: set[str] = set()
    for step in workout.steps:
        if step.position in seen:
            continue  # a repeated step is reported once, where it is written
        seen.add(step.position)
        problems += [f"{step.label}, {p}" for p in _step_problems(step, effective, workout)]
    backward_s = workout.backward_s  # not finite: a step's duration is reported above
    if math.isfinite(backward_s) and backward_s > effective.max_backward_session_s + 1e-9:
        problems.append(
            f"total backward time {backward_s / 60:g} min is above the "
            f"{effective.max_backward_session_s / 60:g} min a session allows "
            "(limits.max_backward_session_s)"
        )
    if problems:
        raise _error(workout.source, problems)
    return effective


def _step_problems(step: Step, limits: Limits, workout: Workout) -> list[str]:
    values = (
        ("duration", step.duration_s, "s"),
        ("speed_kmh", step.speed_kmh, "km/h"),
        ("incline_pct", step.incline_pct, "%"),
    )
    not_finite = [
        f"{name}: {value!r} is not allowed; expected a finite number ({unit})"
        for name, value, unit in values
        if not math.isfinite(value)  # NaN passes every comparison below unnoticed
    ]
    if not_finite:
        return not_finite
    cap = limits.cap_kmh(step.direction)
    key = f"{step.direction}_max_kmh"
    origin = "this workout's [limits]" if key in workout.overrides else "the site's limits"
    problems = []
    if step.speed_kmh > cap + 1e-9:
        problems.append(
            f"speed_kmh: requested {fmt(step.speed_kmh)} km/h is above the {step.direction} "
            f"cap {fmt(cap)} km/h (from {origin}, limits.{key}); allowed: at most {fmt(cap)} km/h"
        )
    if step.incline_pct < 0:
        problems.append(
            f"incline_pct: {fmt(step.incline_pct)} % is a decline; allowed: 0 to "
            f"{fmt(limits.max_incline_pct)} %"
        )
    elif step.incline_pct > limits.max_incline_pct + 1e-9:
        problems.append(
            f"incline_pct: requested {fmt(step.incline_pct)} % is above the incline cap "
            f"{fmt(limits.max_incline_pct)} % (limits.max_incline_pct); allowed: 0 to "
            f"{fmt(limits.max_incline_pct)} %"
        )
    return problems


def _flatten(items: list[StepModel | BlockModel]) -> list[Step]:
    steps: list[Step] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, StepModel):
            steps.append(_step(len(steps) + 1, str(number), item.name, item))
            continue
        for round_ in range(1, item.repeat + 1):
            for inner_number, inner in enumerate(item.steps, start=1):
                name = f"{item.name} {round_}/{item.repeat}: {inner.name}"
                position = f"{number}.{inner_number}"
                steps.append(_step(len(steps) + 1, position, name, inner))
    return steps


def _step(index: int, position: str, name: str, model: StepModel) -> Step:
    return Step(
        index=index,
        position=position,
        name=name,
        direction=Direction(model.direction),
        duration_s=model.duration,
        speed_kmh=model.speed_kmh,
        incline_pct=model.incline_pct,
        written_name=model.name,
    )


def _error(source: str, problems: list[str]) -> WorkoutError:
    text = problems[0] + "".join(f"\n{source}: {problem}" for problem in problems[1:])
    return WorkoutError(text, where=source)
