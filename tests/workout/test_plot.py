"""`treadctl plan --plot`: what the drawing shows, read back from the figure matplotlib saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure
from testsupport.devices import DRY_RUN_DEVICE

from treadctl.plot import draw_plan
from treadctl.safety import Limits
from treadctl.workout.bundled import resolve_workout
from treadctl.workout.compiler import compile_plan
from treadctl.workout.script import load_workout


def test_plot_draws_speed_incline_and_direction_of_every_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drawing has one speed line and one incline line per phase, at the phase's minutes
    and setpoints, coloured by direction (forward blue, backward orange), and a shaded band
    for every turn, and the backward cap as a line."""
    drawn: list[Figure] = []
    real_savefig = Figure.savefig

    def savefig(figure: Figure, *args: object, **kwargs: object) -> None:
        drawn.append(figure)
        real_savefig(figure, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Figure, "savefig", savefig)
    plan = compile_plan(load_workout(resolve_workout("knee-friendly")), Limits(), DRY_RUN_DEVICE)
    draw_plan(plan, tmp_path / "plan.svg")
    [figure] = drawn
    speed_ax, incline_ax = figure.axes
    colour = {"forward": "tab:blue", "backward": "tab:orange"}
    speed_lines = speed_ax.lines[: len(plan.phases)]
    incline_lines = list(incline_ax.lines)
    assert len(incline_lines) == len(plan.phases)
    cap = plan.limits.backward_max_kmh
    assert [list(line.get_ydata()) for line in speed_ax.lines[-1:]] == [[cap, cap]]
    for phase, speed, incline in zip(plan.phases, speed_lines, incline_lines, strict=True):
        minutes = [phase.start_s / 60, phase.end_s / 60]
        assert list(speed.get_xdata()) == minutes
        assert list(speed.get_ydata()) == [phase.speed_kmh_start, phase.speed_kmh_end]
        assert list(incline.get_ydata()) == [phase.incline_pct_start, phase.incline_pct_end]
        assert speed.get_color() == incline.get_color() == colour[str(phase.direction)]
    turns = [p for p in plan.phases if p.kind == "turn"]
    assert turns
    assert len(speed_ax.patches) == len(turns)
    assert speed_ax.get_ylabel() == "speed (km/h)"
    assert incline_ax.get_ylabel() == "incline (%)"
    legend = [text.get_text() for text in speed_ax.get_legend().get_texts()]
    assert legend == ["forward", "backward", "turn"]
