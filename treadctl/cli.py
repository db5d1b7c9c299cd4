"""The `treadctl` command line: one entry point, one subcommand per job.

Owns: argument parsing and turning errors into one clear line and an exit code. Each subcommand's
work lives in the module that owns it; this file only wires them up (imports stay lazy so that
`treadctl --help` is fast on a Raspberry Pi and needs no optional extra).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from treadctl import __version__, config
from treadctl.config.args import add_check_config
from treadctl.daemon.demo import add_demo_command
from treadctl.daemon.run_cmd import add_run_command
from treadctl.daemon.scan import add_scan_command
from treadctl.errors import TreadctlError
from treadctl.plot import add_plan_command
from treadctl.sim.app import add_sim
from treadctl.workout.commands import add_sessions_command

# name -> (help line, function that adds the subcommand's arguments and returns its runner)
Runner = Callable[[argparse.Namespace], int]


def _version(args: argparse.Namespace) -> int:
    print(f"treadctl {__version__}")
    return 0


def _add_version(parser: argparse.ArgumentParser) -> Runner:
    return _version


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], Runner]]] = {
    "demo": (
        "run a backward-walking workout on a virtual treadmill, with MQTT and a live view",
        add_demo_command,
    ),
    "run": ("run the daemon: treadmills, workouts and MQTT (systemd service)", add_run_command),
    "version": ("print the version and exit", _add_version),
    "check-config": (
        "print the resolved configuration (secrets masked) or say what is wrong",
        add_check_config,
    ),
    "sim": ("run virtual FTMS treadmills (for tests, demos, or a spare USB dongle)", add_sim),
    "scan": ("list the FTMS treadmills in range, strongest signal first", add_scan_command),
    "plan": (
        "show a workout's plan: phases, turns and totals (--json, --plot FILE)",
        lambda parser: add_plan_command(parser, load_config=lambda path: config.load_config(path)),
    ),
    "sessions": ("list recorded sessions, or export one as CSV", add_sessions_command),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    """The argument parser with every subcommand, and each subcommand's runner."""
    parser = argparse.ArgumentParser(
        prog="treadctl",
        description="Backward-walking interval workouts on FTMS treadmills, "
        "with live telemetry over MQTT.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    runners: dict[str, Runner] = {}
    for name, (help_line, add) in SUBCOMMANDS.items():
        runners[name] = add(sub.add_parser(name, help=help_line, description=help_line))
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser, runners = build_parser()
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
