"""`treadctl sim`: run virtual treadmills for other processes, in this one, or on a controller.

Owns: the subcommand's arguments (`add_sim`) and its runner: build each treadmill's settings
(defaults, then `--quirks FILE`, then flags), then one of three modes — serve the virtual radio
over HCI/TCP for other processes (`--listen`, the default), run the treadmills on the in-process
link with a central in this process that prints what it reads (`--local`, see `sim.local`), or
advertise on a real controller (`--transport usb:0`) — say what it is doing and how to point
`treadctl scan` or the daemon at it, and take console commands on stdin. Imports of bumble stay
inside the runner so `treadctl --help` needs no optional extra.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treadctl.errors import InputError
from treadctl.sim.settings import (
    Quirks,
    SimSettings,
    TreadmillConfig,
    load_settings_file,
    numbered,
    parse_assignments,
)

if TYPE_CHECKING:
    from treadctl.sim.gatt import VirtualTreadmill

DEFAULT_LISTEN = "127.0.0.1:7900"
_CONSOLE_TASKS: set[asyncio.Task[None]] = set()
HELP = (
    "console: start | pause | stop | speed KMH | key | drop | drop mid | revoke | status | quit  "
    "(append a number to pick a treadmill: `start 2`; `drop mid`: after the next More Data "
    "fragment)"
)


def add_sim(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Add `treadctl sim`'s arguments; returns its runner."""
    parser.epilog = (
        "Three ways to run: --listen (the default) serves the virtual link to other processes "
        "(treadctl scan, the daemon); --local needs no other process: a viewer in this one "
        "prints what a central reads; --transport turns a spare USB dongle into a test treadmill."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"serve the virtual radio over TCP for other processes (default {DEFAULT_LISTEN}; "
        "port 0 picks a free one)",
    )
    where.add_argument(
        "--local",
        action="store_true",
        help="no other process needed: a central in this process connects to each treadmill and "
        "prints its Feature, ranges, telemetry (once a second) and status; the console drives it",
    )
    where.add_argument(
        "--transport",
        metavar="SPEC",
        help="advertise on a real Bluetooth controller instead: usb:0, hci-socket:0, "
        "serial:/dev/ttyACM0 (bumble transport names)",
    )
    parser.add_argument("--count", type=int, default=1, help="number of treadmills (default 1)")
    parser.add_argument("--name", help="advertised name (default treadctl-sim; -N appended)")
    parser.add_argument(
        "--quirks", type=Path, metavar="FILE", help="TOML file with [treadmill] and [quirks] tables"
    )
    parser.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="KEY[=VALUE]",
        help="turn on a quirk (repeatable): --quirk truncate_to_20 --quirk incline_scale=62.5",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a treadmill setting (repeatable): --set speed_max_kmh=6 --set accel_kmh_per_s=0.5",
    )
    parser.add_argument("--rate-hz", type=float, help="Treadmill Data notifications per second")
    parser.add_argument(
        "--speedup", type=float, default=1.0, help="run the machine's clock this many times faster"
    )
    parser.add_argument("--no-console", action="store_true", help="ignore stdin")
    parser.add_argument(
        "--list-quirks", action="store_true", help="list every setting and quirk, then exit"
    )
    return run_sim


def build_treadmills(args: argparse.Namespace) -> list[tuple[TreadmillConfig, Quirks]]:
    """Each treadmill's validated (config, quirks) from defaults, the file, then the flags.

    Raises `InputError` naming the file or flag and the key.
    """
    if not 1 <= args.count <= 32:
        raise InputError(f"must be 1 to 32, got {args.count}", where="--count")
    if args.transport and args.count != 1:
        raise InputError("a real controller carries one treadmill", where="--count")
    if not 0 < args.speedup <= 1000:
        raise InputError(f"must be in (0, 1000], got {args.speedup}", where="--speedup")
    from_file = load_settings_file(args.quirks) if args.quirks else SimSettings()
    if args.quirks:
        from_file.build(str(args.quirks))  # names the file and key of a bad entry
    treadmill = parse_assignments(args.set, "--set")
    if args.rate_hz is not None:
        if not 0 < args.rate_hz <= 50:
            raise InputError(f"must be in (0, 50] Hz, got {args.rate_hz:g}", where="--rate-hz")
        treadmill["rate_hz"] = args.rate_hz
    if args.name:
        treadmill["name"] = args.name
    quirk_items = [item if "=" in item else f"{item}=true" for item in args.quirk]
    from_flags = SimSettings(treadmill, parse_assignments(quirk_items, "--quirk"))
    from_flags.build("flags", treadmill_where="--set", quirks_where="--quirk")
    source = f"{args.quirks} with the flags" if args.quirks else "flags"
    base, quirk_set = from_file.over(from_flags).build(source)
    return [(numbered(base, index, args.count), quirk_set) for index in range(args.count)]


def _listen_address(text: str | None) -> tuple[str, int]:
    host, sep, port = (text or DEFAULT_LISTEN).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(f"expected HOST:PORT, got {text!r}", where="--listen")
    return host.strip("[]"), int(port)


def run_sim(args: argparse.Namespace) -> int:
    """The `treadctl sim` runner: returns the exit code."""
    if args.list_quirks:
        _print_settings()
        return 0
    treadmills = build_treadmills(args)
    listen = None if args.transport or args.local else _listen_address(args.listen)
    try:
        import bumble  # noqa: F401  # the optional extra
    except ImportError:
        raise InputError(
            "needs bumble: pip install 'treadctl[demo]'", where="treadctl sim"
        ) from None
    logging.getLogger("bumble").setLevel(logging.ERROR)  # its warnings are not for end users
    asyncio.run(_serve(treadmills, listen, args))
    return 0


def _print_settings() -> None:
    for title, cls in (("[treadmill]", TreadmillConfig), ("[quirks]", Quirks)):
        print(title)
        for f in dataclasses.fields(cls):
            print(f"  {f.name} = {f.default!r}")


def _describe(treadmill: VirtualTreadmill) -> str:
    c, q = treadmill.model.config, treadmill.model.quirks
    on = [f.name for f in _changed(q)]
    ftms_adv = "hidden" if q.hide_ftms_uuid else "advertised"
    return (
        f"  {c.name:<20} {treadmill.address}  RSSI {c.rssi_dbm} dBm, FTMS {ftms_adv}, "
        f"speed {c.speed_min_kmh:g}–{c.speed_max_kmh:g} km/h, incline {c.incline_min_pct:g}–"
        f"{c.incline_max_pct:g} %, {c.rate_hz:g} Hz, quirks: {', '.join(on) or 'none'}"
    )


def _changed(quirks: Quirks) -> list[Any]:
    default = Quirks()
    return [
        f for f in dataclasses.fields(quirks) if getattr(quirks, f.name) != getattr(default, f.name)
    ]


async def _serve(
    treadmills: list[tuple[TreadmillConfig, Quirks]],
    listen: tuple[str, int] | None,
    args: argparse.Namespace,
) -> None:
    from treadctl.sim.gatt import VirtualTreadmill
    from treadctl.sim.link import HciTcpServer, SimLink

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    link = SimLink()
    async with contextlib.AsyncExitStack() as stack:
        running = []
        for config, quirks in treadmills:
            treadmill = VirtualTreadmill(
                config, quirks, link=link, transport=args.transport, speedup=args.speedup
            )
            treadmill.on_event = _printer(config.name)
            running.append(await stack.enter_async_context(treadmill))
        where = f"on {args.transport}" if args.transport else "on the virtual link"
        where += " with a central watching (--local)" if args.local else ""
        count = f"{len(running)} virtual treadmill{'s' if len(running) > 1 else ''}"
        _say(f"treadctl sim: {count} {where}, clock ×{args.speedup:g}")
        for treadmill in running:
            _say(_describe(treadmill))
        if listen is not None:
            server = await stack.enter_async_context(HciTcpServer(link, *listen))
            spec = f"sim:{server.host}:{server.port}"
            _say(f"listening on {spec}")
            _say(f"  scan:   treadctl scan --radio {spec}")
            _say(f'  daemon: [bluetooth] radio = "{spec}"  (or TREADCTL_BLUETOOTH__RADIO={spec})')
        elif args.local:
            from treadctl.sim.local import watching

            await stack.enter_async_context(watching(link, running, _printer))
        else:
            _say("  phones, apps and Pis nearby can now find it like a real treadmill")
        if not args.no_console and await _start_console(running, stop):
            _say(HELP)
        _say("Ctrl-C to stop")
        await stop.wait()
    _say("treadctl sim: stopped")


def _say(line: str) -> None:
    print(line, flush=True)


def _printer(name: str) -> Callable[[str], None]:
    return lambda text: _say(f"[{name}] {text}")


async def _start_console(treadmills: list[VirtualTreadmill], stop: asyncio.Event) -> bool:
    """Read commands from stdin when it is a pipe or a terminal; False when there is none."""
    loop = asyncio.get_running_loop()
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    if not (sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return False  # /dev/null or a file: nothing to read commands from
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (ValueError, OSError):
        return False

    async def read() -> None:
        while line := await reader.readline():
            with contextlib.suppress(InputError):
                _command(line.decode(errors="replace").split(), treadmills, stop)

    _CONSOLE_TASKS.add(loop.create_task(read(), name="sim-console"))
    return True


def _command(words: list[str], treadmills: list[VirtualTreadmill], stop: asyncio.Event) -> None:
    from treadctl.sim.link import spawn

    if not words:
        return
    verb, rest = words[0].lower(), words[1:]
    index = int(rest.pop()) - 1 if rest and rest[-1].isdigit() and verb != "speed" else 0
    if verb == "speed" and len(rest) == 2:
        index = int(rest.pop()) - 1
    if not 0 <= index < len(treadmills):
        _say(f"no treadmill {index + 1}; there are {len(treadmills)}")
        return
    t = treadmills[index]
    actions: dict[str, Callable[[], None]] = {
        "start": t.press_start,
        "pause": t.press_pause,
        "stop": t.press_stop,
        "revoke": t.revoke_control,
        "key": t.insert_safety_key if not t.model.safety_key_in else t.pull_safety_key,
        "drop": lambda: spawn(t.drop_link(), "sim-console-drop"),
        "drop mid": t.drop_link_mid_record,
        "status": lambda: _say(t.status_line()),
        "quit": stop.set,
        "help": lambda: _say(HELP),
    }
    if verb == "speed":
        try:
            t.console_set_speed(float(rest[0]))
        except (IndexError, ValueError):
            _say("usage: speed KMH [N]")
        return
    command = " ".join([verb, *rest]).lower()
    action = actions.get(command)
    if action is None:
        _say(f"unknown command {command!r}; {HELP}")
        return
    action()
