"""Drawing a plan: speed, incline and direction over time (`treadctl plan --plot`).

Owns: `draw_plan` (matplotlib, an optional extra: `pip install 'treadctl[plot]'`; imported only
when drawing, never on the Pi's daemon path) and the `plan` subcommand's setup with drawing
wired in (`add_plan_command`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treadctl.errors import CommandError
from treadctl.safety import Direction
from treadctl.workout import commands

if TYPE_CHECKING:
    from treadctl.workout.plan import Plan

FORMATS = (".png", ".svg")


def add_plan_command(
    parser: argparse.ArgumentParser, *, load_config: commands.LoadConfig | None = None
) -> commands.Runner:
    """`treadctl plan`, with `--plot` drawing through `draw_plan`."""
    return commands.add_plan_command(parser, draw_plan=draw_plan, load_config=load_config)


def draw_plan(plan: Plan, path: Path) -> None:
    """Draw `plan` to `path` (.png or .svg). Raises `CommandError` for another suffix or when
    matplotlib is not installed."""
    if path.suffix.lower() not in FORMATS:
        raise CommandError(f"{path}: the plot must be a .png or .svg file")
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        from matplotlib import pyplot
    except ImportError:
        raise CommandError(
            "drawing needs matplotlib, an optional extra: pip install 'treadctl[plot]'"
        ) from None
    figure, (speed_ax, incline_ax) = pyplot.subplots(
        2, 1, sharex=True, figsize=(10, 5), height_ratios=(3, 1)
    )
    try:
        _draw(plan, speed_ax, incline_ax)
        figure.tight_layout()
        figure.savefig(path)
    except OSError as exc:
        raise CommandError(f"{path}: cannot write the plot: {exc}") from exc
    finally:
        pyplot.close(figure)


def _draw(plan: Plan, speed_ax: Any, incline_ax: Any) -> None:
    colours = {Direction.FORWARD: "tab:blue", Direction.BACKWARD: "tab:orange"}
    for phase in plan.phases:
        minutes = (phase.start_s / 60, phase.end_s / 60)
        colour = colours[phase.direction]
        speed_ax.plot(minutes, (phase.speed_kmh_start, phase.speed_kmh_end), color=colour)
        incline_ax.plot(minutes, (phase.incline_pct_start, phase.incline_pct_end), color=colour)
        if phase.kind == "turn":
            speed_ax.axvspan(*minutes, color="0.9", linewidth=0)
    for direction, colour in colours.items():
        speed_ax.plot([], [], color=colour, label=str(direction))
    speed_ax.plot([], [], color="0.8", linewidth=6, label="turn")
    speed_ax.axhline(plan.limits.backward_max_kmh, color="tab:orange", linestyle=":", linewidth=1)
    speed_ax.set_ylabel("speed (km/h)")
    speed_ax.set_title(f"{plan.workout}: {plan.total_s / 60:.1f} min")
    speed_ax.legend(loc="upper right")
    incline_ax.set_ylabel("incline (%)")
    incline_ax.set_xlabel("time (min)")
