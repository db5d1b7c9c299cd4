"""The workout subcommands: `treadctl plan` and `treadctl sessions`.

Owns: their arguments and output. Standard library and `treadctl.safety` only at import time
(the command line is built on every `treadctl` call); pydantic loads when a command runs.
Drawing (`--plot`) and the configuration (`--config`) come in as functions from `cli`/`plot`,
the modules allowed to import matplotlib and the configuration.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from treadctl.errors import CommandError
from treadctl.safety import DeviceCaps, Limits, TurnSettings

if TYPE_CHECKING:
    from treadctl.workout.plan import Plan

Runner = Callable[[argparse.Namespace], int]
DrawPlan = Callable[["Plan", Path], None]
LoadConfig = Callable[[Path], Any]  # returns an object with `.limits` and `.turn` sections
_Settings = TypeVar("_Settings", Limits, TurnSettings)

DEFAULT_STATE_DIR = Path("/var/lib/treadctl")
# A typical FTMS treadmill for dry runs: 1.0-12.0 km/h in 0.1, incline 0-12 % in 0.5, and the
# 0.5 s command spacing KingSmith pads need (ref/ftms-quirks.md Q17).
_DEVICE_FLAGS = (
    ("--device-min-kmh", "min_speed_kmh", 1.0, "the treadmill's lowest speed"),
    ("--device-max-kmh", "max_speed_kmh", 12.0, "its highest speed"),
    ("--device-increment-kmh", "speed_increment_kmh", 0.1, "its speed step"),
    ("--device-max-incline-pct", "max_incline_pct", 12.0, "its highest incline (0: none)"),
    ("--device-incline-increment-pct", "incline_increment_pct", 0.5, "its incline step"),
    ("--command-interval-s", "min_command_interval_s", 0.5, "least time between commands"),
)
_LIMIT_FLAGS = tuple(f.name for f in fields(Limits))
_TURN_FLAGS = (
    ("--turn-speed-kmh", "speed_kmh"),
    ("--turn-hold-s", "hold_s"),
    ("--countdown-s", "countdown_s"),
)


def add_plan_command(
    parser: argparse.ArgumentParser,
    *,
    draw_plan: DrawPlan | None = None,
    load_config: LoadConfig | None = None,
) -> Runner:
    """Set up `treadctl plan FILE`; returns its runner. `draw_plan` serves `--plot`,
    `load_config` serves `--config` (each is refused with a clear message when missing)."""
    parser.add_argument("workout", metavar="FILE", help="workout file, or a bundled name")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the phases and totals as JSON")
    out.add_argument("--plot", type=Path, metavar="FILE.png|svg", help="draw the plan to a file")
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="take limits and turn settings from this file"
    )
    caps = parser.add_argument_group("limits (dry run; with --config they can only lower)")
    for name in _LIMIT_FLAGS:
        caps.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float, metavar="N")
    device = parser.add_argument_group("device ranges (dry run)")
    for flag, dest, default, text in _DEVICE_FLAGS:
        device.add_argument(
            flag,
            dest=f"device_{dest}",
            type=float,
            default=default,
            metavar="N",
            help=f"{text} (default {default:g})",
        )
    device.add_argument("--no-pause", action="store_true", help="the device has no Pause")
    turn = parser.add_argument_group("turns")
    for flag, dest in _TURN_FLAGS:
        turn.add_argument(flag, dest=f"turn_{dest}", type=float, metavar="N")
    turn.add_argument("--auto-resume", action="store_true", help="resume after the hold by itself")

    def run(args: argparse.Namespace) -> int:
        from treadctl.workout.bundled import resolve_workout
        from treadctl.workout.compiler import compile_plan
        from treadctl.workout.script import load_workout
        from treadctl.workout.tables import plan_table

        limits, turn = _settings(args, load_config)
        path = resolve_workout(args.workout)
        plan = compile_plan(load_workout(path, limits), limits, _device(args), turn)
        if args.json:
            print(json.dumps(plan.to_json(), indent=2))
        else:
            print("\n".join(plan_table(plan)))
        if args.plot is not None:
            if draw_plan is None:
                raise CommandError("--plot is not available in this build")
            draw_plan(plan, args.plot)
            print(f"plot written to {args.plot}")
        return 0

    return run


def _settings(
    args: argparse.Namespace, load_config: LoadConfig | None
) -> tuple[Limits, TurnSettings]:
    limits, turn = Limits(), TurnSettings()
    if args.config is not None:
        if load_config is None:
            raise CommandError("--config needs the configuration module, which is not available")
        config = load_config(args.config)
        limits = settings_from(Limits, config.limits)
        turn = settings_from(TurnSettings, config.turn)
    wanted = {name: getattr(args, name) for name in _LIMIT_FLAGS if getattr(args, name) is not None}
    if wanted:
        limits = limits.lowered_by(wanted) if args.config is not None else replace(limits, **wanted)
    turn_wanted = {
        dest: getattr(args, f"turn_{dest}")
        for _, dest in _TURN_FLAGS
        if getattr(args, f"turn_{dest}") is not None
    }
    if args.auto_resume:
        turn_wanted["auto_resume"] = True
    return limits, replace(turn, **turn_wanted)


def _device(args: argparse.Namespace) -> DeviceCaps:
    incline = args.device_max_incline_pct > 0
    return DeviceCaps(
        min_speed_kmh=args.device_min_speed_kmh,
        max_speed_kmh=args.device_max_speed_kmh,
        speed_increment_kmh=args.device_speed_increment_kmh,
        min_incline_pct=0.0 if incline else None,
        max_incline_pct=args.device_max_incline_pct if incline else None,
        incline_increment_pct=args.device_incline_increment_pct if incline else None,
        min_command_interval_s=args.device_min_command_interval_s,
        pause_supported=not args.no_pause,
    )


def settings_from(kind: type[_Settings], section: Any) -> _Settings:
    """`kind` (`Limits` or `TurnSettings`) from a configuration section with the same key names
    (`[limits]`, `[turn]`); keys the section lacks keep their defaults. Raises `SafetyError`
    for a value the governor refuses."""
    names = [f.name for f in fields(kind)]
    return kind(**{name: getattr(section, name) for name in names if hasattr(section, name)})


def add_sessions_command(parser: argparse.ArgumentParser) -> Runner:
    """Set up `treadctl sessions list` and `treadctl sessions export ID --csv`."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        metavar="DIR",
        help=f"where the daemon keeps its state (default {DEFAULT_STATE_DIR})",
    )
    sub = parser.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="list the recorded sessions, oldest first")
    export = sub.add_parser("export", help="write one session's records as CSV")
    export.add_argument("session_id", metavar="ID", help="a session id (or its unique start)")
    export.add_argument("--csv", action="store_true", required=True, help="CSV (the only format)")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="file (default: stdout)")

    def run(args: argparse.Namespace) -> int:
        import os
        import sys

        from treadctl.workout import sessions

        if args.sessions_command == "list":
            infos, problems = sessions.list_sessions(args.state_dir)
            print("\n".join(sessions.table(infos)))
            for problem in problems:
                print(f"skipped {problem}", file=sys.stderr)
            return 0
        log = sessions.read_session(sessions.find_session(args.state_dir, args.session_id))
        for note in log.notes:
            print(f"{log.path}: {note}", file=sys.stderr)
        if args.output is None:
            try:
                sessions.write_csv(log, sys.stdout)
                sys.stdout.flush()
            except BrokenPipeError:  # `… | head`: the reader has all it wants
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        try:
            with args.output.open("w", encoding="utf-8", newline="") as out:
                sessions.write_csv(log, out)
        except OSError as exc:
            raise CommandError(f"{args.output}: cannot write it: {exc}") from exc
        return 0

    return run
