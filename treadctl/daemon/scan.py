"""`treadctl scan`: list the FTMS treadmills in range, strongest signal first.

Owns: the subcommand's arguments, the table it prints, and the friendly explanations when
Bluetooth is unusable or nothing answers. The work is `treadctl.ble.scan` on the radio chosen
with `--radio` (`treadctl.daemon.radio`). Heavy imports (bleak, bumble) wait until it runs, so
`treadctl --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from treadctl.errors import BluetoothError, ConfigError

if TYPE_CHECKING:
    from treadctl.ble import ScanResult

DEFAULT_PROFILES_DIR = Path("/etc/treadctl/profiles")
COLUMNS = ("NAME", "ADDRESS", "RSSI", "FTMS", "TYPE", "PROFILE")

BLUETOOTH_HINTS = (
    "Things to check:",
    "  - `bluetoothctl show` lists a controller with 'Powered: yes' (else: bluetoothctl power on)",
    "  - `rfkill list` shows Bluetooth not blocked (else: rfkill unblock bluetooth)",
    "  - the user is in the `bluetooth` group: sudo usermod -aG bluetooth $USER, log in again",
    "  - bluetoothd runs: systemctl status bluetooth",
    "  - no treadmill or adapter at hand? `treadctl sim` in another terminal, then "
    "`treadctl scan --radio sim:127.0.0.1:7900`",
)
SIM_HINTS = (
    "Things to check:",
    "  - `treadctl sim` runs and printed 'listening on sim:HOST:PORT': use exactly that radio",
    "  - host and port are reachable from here (firewall, another machine?)",
)
NOTHING_FOUND_HINTS = (
    "Things to check:",
    "  - the treadmill is switched on and awake (many go to sleep after a few idle minutes)",
    "  - no phone, tablet or app is connected to it (most accept only one connection)",
    "  - it is within a few metres; try a longer scan: --timeout 15",
)


def add_scan_command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Add `scan`'s arguments to `parser`; returns the function that runs it."""
    parser.add_argument(
        "--timeout", type=_seconds, default=5.0, metavar="SECONDS", help="how long to listen (5)"
    )
    parser.add_argument(
        "--radio",
        default="bluez",
        metavar="RADIO",
        help="'bluez' (this computer's Bluetooth, default) or 'sim:HOST:PORT' "
        "(a `treadctl sim` process)",
    )
    parser.add_argument("--adapter", default=None, metavar="HCI", help="Bluetooth adapter (hci0)")
    parser.add_argument(
        "--profiles-dir",
        type=Path,
        default=DEFAULT_PROFILES_DIR,
        metavar="DIR",
        help=f"extra or overriding quirk profiles ({DEFAULT_PROFILES_DIR})",
    )
    return run_scan_command


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.5 <= value <= 120:
        raise argparse.ArgumentTypeError(f"must be between 0.5 and 120 seconds, got {text}")
    return value


def run_scan_command(args: argparse.Namespace) -> int:
    """Scan and print the table; 0 when something was found, 1 when nothing, 2 on errors."""
    from treadctl.logs import configure_logging

    configure_logging("warning")  # the table goes to stdout; only problems are logged
    try:
        results = asyncio.run(_scan(args.radio, args.timeout, args.adapter, args.profiles_dir))
    except BluetoothError as exc:
        hints = SIM_HINTS if args.radio.startswith("sim:") else BLUETOOTH_HINTS
        _print_lines([f"treadctl scan: {exc}", *hints])
        return 2
    except ConfigError as exc:
        _print_lines([f"treadctl scan: {exc}"])
        return 2
    if not results:
        _print_lines(
            [f"treadctl scan: no FTMS treadmill heard in {args.timeout:g} s.", *NOTHING_FOUND_HINTS]
        )
        return 1
    print(format_table(results))
    return 0


async def _scan(
    radio_spec: str, timeout_s: float, adapter: str | None, profiles_dir: Path
) -> list[ScanResult]:
    from treadctl.ble import load_profiles, scan
    from treadctl.daemon.radio import open_radio

    profiles = load_profiles(profiles_dir)
    async with open_radio(radio_spec) as radio:
        return await scan(
            timeout_s, profiles, scanner_backend=radio.scanner_backend, adapter=adapter
        )


def format_table(results: Sequence[ScanResult]) -> str:
    """The scan results as an aligned text table, one treadmill per line."""
    rows = [COLUMNS, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _row(result: ScanResult) -> tuple[str, str, str, str, str, str]:
    rssi = "?" if result.rssi_dbm is None else f"{result.rssi_dbm} dBm"
    ftms = "advertised" if result.ftms_advertised else "by name"
    return (
        result.name or "(no name)",
        result.address,
        rssi,
        ftms,
        _machine_type(result),
        result.profile,
    )


def _machine_type(result: ScanResult) -> str:
    machine_type = result.machine_type
    if machine_type is None:
        return "?"
    names = [
        m.name.lower().replace("_", " ") for m in type(machine_type) if m in machine_type and m.name
    ]
    text = "+".join(names) or f"0x{int(machine_type):04X}"
    return text if result.available is not False else f"{text} (busy)"


def _print_lines(lines: Sequence[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)
