"""Helpers of the runner tests: workouts written from a few steps, and waits on fake time.

Owns: `workout(*steps)` (a workout file from (direction, duration, speed, incline) steps), the
`TURNING`, `LEVEL` and `BACKWARD` workouts, `until(rig, predicate)` (advance fake time in small
steps until it holds), `holding(rig)` and `confirm_turn(rig)`. The `rig` fixture is in
`conftest.py`.
"""

from __future__ import annotations

from testsupport.model_sink import ModelRig

from treadctl.safety import TurnStage


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


# One 2-minute backward step at 3.0 km/h, nothing else (no incline): the cap scenarios.
BACKWARD = """name = "Backward"
[[steps]]
name = "Backward"
direction = "backward"
duration = "120s"
speed_kmh = 3.0
"""


LEVEL = workout(
    ("backward", "60s", 2.0, 0), ("backward", "60s", 3.0, 2), ("backward", "60s", 2.5, 0)
)


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
