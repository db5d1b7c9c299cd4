"""The `treadctl` command line: one entry point, one subcommand per job.

Owns: argument parsing and turning errors into one clear line and an exit code. Each subcommand's
work lives in the module that owns it; this file only wires them up (imports stay lazy so that
`treadctl --help` is fast on a Raspberry Pi and needs no optional extra).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from treadctl import __version__
from treadctl.errors import TreadctlError

Runner = Callable[[argparse.Namespace], int]
Adder = Callable[[argparse.ArgumentParser], Runner]


def _version(args: argparse.Namespace) -> int:
    print(f"treadctl {__version__}")
    return 0


def _add_version(parser: argparse.ArgumentParser) -> Runner:
    return _version


def _add_plan(parser: argparse.ArgumentParser) -> Runner:
    from treadctl import config
    from treadctl.plot import add_plan_command

    return add_plan_command(parser, load_config=lambda path: config.load_config(path))


# name -> (help line, "module:function" that adds the subcommand's arguments and returns its
# runner). Only the chosen subcommand's module is imported: the daemon's process does not load
# the demo, the simulator or matplotlib's wiring, and `treadctl --help` stays quick on a Pi.
SUBCOMMANDS: dict[str, tuple[str, str | Adder]] = {
    "demo": (
        "run a backward-walking workout on a virtual treadmill, with MQTT and a live view",
        "treadctl.daemon.demo:add_demo_command",
    ),
    "run": (
        "run the daemon: treadmills, workouts and MQTT (systemd service)",
        "treadctl.daemon.run_cmd:add_run_command",
    ),
    "version": ("print the version and exit", _add_version),
    "check-config": (
        "print the resolved configuration (secrets masked) or say what is wrong",
        "treadctl.config.args:add_check_config",
    ),
    "sim": (
        "run virtual FTMS treadmills (in-process with a viewer, for other processes, on a dongle)",
        "treadctl.sim.app:add_sim",
    ),
    "scan": (
        "list the FTMS treadmills in range, strongest signal first",
        "treadctl.daemon.scan:add_scan_command",
    ),
    "plan": ("show a workout's plan: phases, turns and totals (--json, --plot FILE)", _add_plan),
    "sessions": (
        "list recorded sessions, or export one as CSV",
        "treadctl.workout.commands:add_sessions_command",
    ),
}


def _adder(target: str | Adder) -> Adder:
    if not isinstance(target, str):
        return target
    module, _, name = target.partition(":")
    adder: Adder = getattr(importlib.import_module(module), name)
    return adder


def build_parser(
    argv: Sequence[str] | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    """The argument parser and the runner of the subcommand `argv` names (every subcommand's
    when `argv` is None). The other subcommands are listed with their help line only."""
    parser = argparse.ArgumentParser(
        prog="treadctl",
        description="Backward-walking interval workouts on FTMS treadmills, "
        "with live telemetry over MQTT.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = set(SUBCOMMANDS) if argv is None else {a for a in argv if a in SUBCOMMANDS}
    runners: dict[str, Runner] = {}
    for name, (help_line, target) in SUBCOMMANDS.items():
        subparser = sub.add_parser(name, help=help_line, description=help_line)
        if name in chosen:
            runners[name] = _adder(target)(subparser)
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, runners = build_parser(argv[:1] if argv and argv[0] in SUBCOMMANDS else [])
    args = parser.parse_args(argv)
    try:
        return runners[args.command](args)
    except TreadctlError as exc:
        print(f"treadctl {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
