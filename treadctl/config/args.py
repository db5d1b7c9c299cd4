"""The command-line options for the configuration, without importing pydantic.

Owns: `--config FILE` and `--secrets-dir DIR` (shared by `treadctl run` and `check-config`) and
the `check-config` subcommand's setup. Standard library only, so that building the command
line stays fast on a Raspberry Pi; the runner imports the loader when it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

DEFAULT_CONFIG_PATH = Path("/etc/treadctl/treadctl.toml")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--config FILE` and `--secrets-dir DIR` (as `args.config`, `args.secrets_dir`)."""
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        metavar="FILE",
        help=f"configuration file (default: {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument(
        "--secrets-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory of secret files such as mqtt__password "
        "(systemd's $CREDENTIALS_DIRECTORY is read as well)",
    )


def add_check_config(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Set up `treadctl check-config` on `parser`; returns its runner."""
    add_config_arguments(parser)
    parser.add_argument(
        "--format",
        choices=("toml", "json"),
        default="toml",
        help="output format (default: toml, each value followed by its origin as a comment)",
    )

    def run(args: argparse.Namespace) -> int:
        from treadctl.config.report import render_json, render_toml, resolve_from_args

        resolved = resolve_from_args(args)
        print(render_json(resolved) if args.format == "json" else render_toml(resolved), end="")
        return 0

    return run
