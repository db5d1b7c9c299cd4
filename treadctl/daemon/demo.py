"""`treadctl demo`: the whole product on one machine, with nothing to set up.

Owns: the demo's embedded pieces — a virtual treadmill on the in-process Bluetooth link, an
embedded MQTT broker (or `--broker HOST:PORT`), the real daemon pointed at both with a scaled
clock — and the run itself: the demo plays the person who presses Start, shows the live view,
prints how to watch the MQTT stream, and ends with the session summary and the record's path.
Turns resume by themselves after the hold (the per-site `turn.auto_resume` opt-in), announced
with a countdown, since nobody stands on a virtual belt.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from treadctl.errors import ConfigError, TreadctlError

DEMO_ID = "demo"
DEMO_NAME = "treadctl-demo"
DEFAULT_SPEEDUP = 20.0
CONNECT_TIMEOUT_S = 30.0


def default_state_dir() -> Path:
    """Where demo sessions are recorded: `$XDG_STATE_HOME/treadctl` or `~/.local/state/treadctl`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "treadctl"


def add_demo_command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Set up `treadctl demo` on `parser`; returns its runner."""
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument(
        "--speedup",
        type=_positive,
        default=DEFAULT_SPEEDUP,
        metavar="X",
        help=f"run the workout X times faster than real time (default {DEFAULT_SPEEDUP:g})",
    )
    pace.add_argument("--realtime", action="store_true", help="run in real time (same as 1)")
    parser.add_argument(
        "--workout", default="first-timer", help="a bundled workout (default: first-timer)"
    )
    parser.add_argument(
        "--broker",
        metavar="HOST:PORT",
        type=_host_port,
        help="publish to this MQTT broker instead of the embedded one",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where the session record goes (default {default_state_dir()})",
    )

    def run(args: argparse.Namespace) -> int:
        from treadctl.logs import configure_logging

        configure_logging("warning", "console")
        speedup = 1.0 if args.realtime else args.speedup
        state_dir = args.state_dir or default_state_dir()
        return asyncio.run(run_demo(args.workout, speedup, args.broker, state_dir))

    return run


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number above 0 and at most 1000")
    return value


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: give HOST:PORT, e.g. localhost:1883")
    return host, int(port)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@contextlib.asynccontextmanager
async def embedded_broker(host: str = "127.0.0.1") -> AsyncIterator[tuple[str, int]]:
    """An amqtt broker in this process on 1883 when free, else on a free port."""
    try:
        from amqtt.broker import Broker
    except ImportError as exc:  # the demo extra is missing
        raise ConfigError(
            "the embedded broker needs the demo extra: pip install 'treadctl[demo]'",
            where="demo",
        ) from exc
    port = 1883 if _port_free(host, 1883) else 0
    if port == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {}},
        }
    )
    await broker.start()
    try:
        yield host, port
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broker.shutdown(), timeout=3.0)


async def run_demo(
    workout: str, speedup: float, broker: tuple[str, int] | None, state_dir: Path
) -> int:
    """Run `workout` on a virtual treadmill; returns the exit code."""
    from treadctl.daemon.view import LiveView

    view = LiveView()
    try:
        async with contextlib.AsyncExitStack() as stack:
            if broker is None:
                broker = await stack.enter_async_context(embedded_broker())
            return await _play(workout, speedup, broker, state_dir, view, stack)
    except TreadctlError as exc:
        view.close()
        print(f"treadctl demo: {exc}")
        return 2


async def _play(
    workout: str,
    speedup: float,
    broker: tuple[str, int],
    state_dir: Path,
    view: Any,
    stack: contextlib.AsyncExitStack,
) -> int:
    from treadctl.daemon.app import Daemon
    from treadctl.sim.gatt import VirtualTreadmill
    from treadctl.sim.link import shared_link
    from treadctl.sim.settings import TreadmillConfig as SimTreadmill
    from treadctl.workout.clock import ScaledClock

    host, port = broker
    config = demo_config(host, port, state_dir)
    await stack.enter_async_context(
        VirtualTreadmill(SimTreadmill(name=DEMO_NAME), link=shared_link(), speedup=speedup)
    )
    daemon = Daemon(config, clock=ScaledClock(speedup), observer=view)
    daemon.catalog.path(workout)  # an unknown workout fails here, before anything runs
    daemon_task = asyncio.create_task(daemon.run(), name="daemon")
    service = None
    try:
        await _until(lambda: (s := daemon.services.get(DEMO_ID)) is not None and s.connected)
        service = daemon.services[DEMO_ID]
        _intro(view, workout, speedup, host, port)
        await service.start(workout)
        session = service.session
        if session is not None and session.task is not None:
            await asyncio.wait({session.task, daemon_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        daemon.stop.set()
        await daemon_task
    view.close()
    last = service.last_session if service is not None else None
    if last is None:
        print("treadctl demo: the workout did not start")
        return 1
    _outro(last.recorder.path)
    return 0


async def _until(condition: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_TIMEOUT_S
    while not condition():
        if loop.time() > deadline:
            raise TreadctlError("the virtual treadmill did not connect within 30 s")
        await asyncio.sleep(0.05)


def demo_config(host: str, port: int, state_dir: Path) -> Any:
    """The demo's configuration: one virtual treadmill, auto-resuming turns, MQTT commands on."""
    from treadctl import config as cfg

    return cfg.Config(
        treadmill=[cfg.TreadmillConfig(id=DEMO_ID, name=DEMO_NAME)],
        bluetooth=cfg.BluetoothConfig(radio="sim:local", scan_timeout_s=5),
        turn=cfg.TurnConfig(auto_resume=True),
        mqtt=cfg.MqttConfig(host=host, port=port, commands_enabled=True, client_id="treadctl-demo"),
        paths=cfg.PathsConfig(
            state_dir=state_dir,
            workouts_dir=state_dir / "workouts",
            profiles_dir=state_dir / "profiles",
        ),
    )


def _intro(view: Any, workout: str, speedup: float, host: str, port: int) -> None:
    pace = "real time" if speedup == 1 else f"{speedup:g}× real time"
    view.say(f"treadctl demo: workout {workout!r} on a virtual treadmill, {pace}")
    view.say("  Watch the MQTT stream in another terminal:")
    view.say(f"    mosquitto_sub -h {host} -p {port} -v -t 'treadctl/#' -t 'homeassistant/#'")
    view.say(
        f"  Emergency stop: mosquitto_pub -h {host} -p {port} -t treadctl/demo/cmd/estop -m '{{}}'"
    )
    view.say("  Ctrl-C ramps the belt down, pauses it and ends the demo.")


def _outro(path: Path) -> None:
    from treadctl.workout import sessions

    log = sessions.read_session(path)
    info = sessions.summarise(log)
    turns = sum(1 for r in log.records if r.get("event") == "turn_around")
    print()
    print(f"Session {info.id}: {info.workout} — {info.status}")
    print(
        f"  time {_mmss(info.duration_s)}, backward {_mmss(info.backward_s)}, "
        f"distance {info.distance_m:.0f} m, turns {turns}"
    )
    print(f"  record: {path}")
    print(f"  export: treadctl sessions --state-dir {path.parent.parent} export {info.id} --csv")


def _mmss(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60:d}:{whole % 60:02d}"
