"""`treadctl run`: the daemon's command line.

Owns: the options of `run` and the order of start-up: configuration first (a bad file is one
clear error and exit code 2, before anything touches Bluetooth or MQTT), then logging, then the
daemon's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from treadctl.config.args import add_config_arguments
from treadctl.logs import LEVELS


def add_run_command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Set up `treadctl run` on `parser`; returns its runner."""
    add_config_arguments(parser)
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        type=str.lower,
        default=None,
        help="override [logging] level",
    )
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default=None,
        help="override [logging] format (auto: JSON under systemd, colours on a terminal)",
    )

    def run(args: argparse.Namespace) -> int:
        from treadctl.config.report import resolve_from_args
        from treadctl.daemon.app import Daemon
        from treadctl.logs import configure_logging

        config = resolve_from_args(args).config
        configure_logging(
            args.log_level or config.logging.level, args.log_format or config.logging.format
        )

        async def main() -> None:
            await Daemon(config).run()

        asyncio.run(main())
        return 0

    return run
