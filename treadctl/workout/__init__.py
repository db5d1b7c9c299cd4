"""Workouts: scripts, the compiler to a `Plan`, the runner, session records (DESIGN §6).

Owns: workout TOML files (`load_workout`), plans (`compile_plan`), the pure `Conductor` that
plays a plan through the governor, the asyncio `Runner` with its clocks and command sink, and
`SessionRecorder`. Names are imported on first use, so the command-line wiring
(`treadctl.workout.commands`) loads without pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadctl.workout.clock import Clock, FakeClock, MonotonicClock, ScaledClock
    from treadctl.workout.compiler import compile_plan
    from treadctl.workout.conductor import Conductor, DriftSettings, RunState
    from treadctl.workout.plan import Phase, Plan, RunnerEvent
    from treadctl.workout.recorder import SessionRecorder
    from treadctl.workout.runner import CommandSink, Runner
    from treadctl.workout.script import Step, Workout, check_workout, load_workout, parse_workout

_LAZY = {
    "Clock": "clock",
    "FakeClock": "clock",
    "MonotonicClock": "clock",
    "ScaledClock": "clock",
    "SessionRecorder": "recorder",
    "CommandSink": "runner",
    "Runner": "runner",
    "compile_plan": "compiler",
    "Conductor": "conductor",
    "DriftSettings": "conductor",
    "RunState": "conductor",
    "Phase": "plan",
    "Plan": "plan",
    "RunnerEvent": "plan",
    "Step": "script",
    "Workout": "script",
    "check_workout": "script",
    "load_workout": "script",
    "parse_workout": "script",
}

__all__ = [
    "Clock",
    "CommandSink",
    "Conductor",
    "DriftSettings",
    "FakeClock",
    "MonotonicClock",
    "Phase",
    "Plan",
    "RunState",
    "Runner",
    "RunnerEvent",
    "ScaledClock",
    "SessionRecorder",
    "Step",
    "Workout",
    "check_workout",
    "compile_plan",
    "load_workout",
    "parse_workout",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'treadctl.workout' has no attribute {name!r}")
    return getattr(importlib.import_module(f"treadctl.workout.{module}"), name)
