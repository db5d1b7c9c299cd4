"""The processes a benchmark run starts, and the MQTT probe that talks to them.

Owns: `Children` (every process the harness starts, by pid; all stopped on exit, Ctrl-C or
failure, the daemon before the simulator it talks to, and each child asked by the kernel to
die with the harness), `start_mosquitto` (a broker on a free port, ready when its log says so),
`start_sim` (`treadctl sim` in its own process, with the opt-in trace), `write_daemon_config` and
`start_daemon` (`python -m treadctl run`), and `Probe` (an MQTT client that stamps each message
with `time.monotonic_ns()` as it arrives and publishes commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import getpass
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import aiomqtt

REPO = Path(__file__).resolve().parent.parent
LOCALHOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1  # prctl(2): signal this process when its parent thread dies
try:
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: rely on the harness's own clean-up
    _PRCTL = None


class BenchError(Exception):
    """A benchmark could not run; the message says what to do."""


def _die_with_parent() -> None:
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Children:
    """Every process started through `spawn`; `__aexit__` stops them newest first, by pid.

    `env` is added to and `unset` removed from the harness's environment for every child.
    """

    def __init__(self, env: Mapping[str, str] | None = None, unset: Sequence[str] = ()) -> None:
        self._live: list[asyncio.subprocess.Process] = []
        base = {k: v for k, v in os.environ.items() if k not in unset}
        self._env = {**base, **(env or {})}
        # The daemon's interpreter and added environment (`runtime_env`; this one by default).
        self.daemon_python: str = sys.executable
        self.daemon_env: dict[str, str] = {}

    async def spawn(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, stdout: Any = None,
        stderr: Any = None,
    ) -> asyncio.subprocess.Process:  # fmt: skip
        """Start `argv` in its own session (a Ctrl-C reaches the harness only, which then stops
        it in order) that the kernel ends with SIGTERM should the harness itself die."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout if stdout is not None else asyncio.subprocess.DEVNULL,
            stderr=stderr if stderr is not None else asyncio.subprocess.STDOUT,
            cwd=REPO,
            env={**self._env, **(env or {})},
            start_new_session=True,
            preexec_fn=_die_with_parent,  # one C call after fork: no lock is taken
        )
        self._live.append(process)
        return process

    async def stop(self, process: asyncio.subprocess.Process, grace_s: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after `grace_s`; waits for the exit."""
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                async with asyncio.timeout(grace_s):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        with contextlib.suppress(ValueError):
            self._live.remove(process)

    def kill_all(self) -> None:
        """Last resort outside the event loop: SIGKILL whatever is still running, by pid."""
        for process in self._live:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        for process in reversed(list(self._live)):
            await asyncio.shield(self.stop(process, grace_s=15.0))


def mosquitto_binary(fallback: Path = Path("/usr/sbin/mosquitto")) -> str:
    """The mosquitto executable (on PATH, else `fallback`, where Debian installs it, outside a
    normal user's PATH); raises `BenchError` saying how to install it."""
    found = shutil.which("mosquitto") or (str(fallback) if fallback.exists() else None)
    if found is None:
        raise BenchError(
            "mosquitto (the MQTT broker) is not installed; the benchmarks measure through it. "
            "Install it with `sudo apt-get install mosquitto` and run `make bench` again."
        )
    return found


async def _drain(stream: asyncio.StreamReader, sink: list[str] | None = None) -> None:
    while line := await stream.readline():
        if sink is not None:
            sink.append(line.decode(errors="replace").rstrip("\n"))
            del sink[:-200]  # keep the tail for error messages


async def start_mosquitto(children: Children, work: Path) -> int:
    """Start mosquitto on a free localhost port; returns the port once it is running."""
    binary = mosquitto_binary()
    port = free_port()
    config = work / "mosquitto.conf"
    config.write_text(
        f"listener {port} {LOCALHOST}\npersistence false\nallow_anonymous true\n"
        f"user {getpass.getuser()}\nlog_dest stderr\nlog_type error\nlog_type warning\n"
        "log_type notice\nlog_type information\n",
        encoding="utf-8",
    )
    process = await children.spawn(
        [binary, "-c", str(config)], stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stream = process.stderr
    if stream is None:
        raise BenchError("mosquitto started without a log pipe")
    seen: list[str] = []
    async with asyncio.timeout(15):
        while " running" not in (seen[-1] if seen else ""):
            line = (await stream.readline()).decode(errors="replace")
            if not line:
                raise BenchError("mosquitto exited before it was ready:\n" + "".join(seen))
            seen.append(line)
    _keep(asyncio.get_running_loop().create_task(_drain(stream), name="mosquitto-log"))
    return port


_TASKS: set[asyncio.Task[None]] = set()


def _keep(task: asyncio.Task[None]) -> None:
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


@dataclass
class Sim:
    """A `treadctl sim` process: its radio spec, its treadmills' names and its trace file."""

    process: asyncio.subprocess.Process
    spec: str
    names: list[str]
    trace: Path
    output: list[str]


async def start_sim(
    children: Children, trace: Path, *, count: int, rate_hz: float, speedup: float = 1.0
) -> Sim:
    """`treadctl sim` with `count` treadmills named bench / bench-1…N, tracing to `trace`."""
    argv = [sys.executable, "-m", "treadctl", "sim", "--listen", f"{LOCALHOST}:0", "--no-console",
            "--name", "bench", "--count", str(count), "--rate-hz", f"{rate_hz:g}",
            "--speedup", f"{speedup:g}"]  # fmt: skip
    env = {"TREADCTL_SIM_TRACE": str(trace), "PYTHONUNBUFFERED": "1"}
    process = await children.spawn(argv, env=env, stdout=asyncio.subprocess.PIPE)
    stream = process.stdout
    if stream is None:
        raise BenchError("treadctl sim started without an output pipe")
    output: list[str] = []
    spec = None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            while spec is None:
                line = (await stream.readline()).decode(errors="replace")
                if not line:
                    break
                output.append(line.rstrip("\n"))
                if line.startswith("listening on "):
                    spec = line.split()[2]
    if spec is None:
        raise BenchError("treadctl sim did not start:\n" + "\n".join(output))
    _keep(asyncio.get_running_loop().create_task(_drain(stream, output), name="sim-output"))
    names = ["bench"] if count == 1 else [f"bench-{i + 1}" for i in range(count)]
    return Sim(process, spec, names, trace, output)


def treadmill_ids(sim: Sim) -> list[str]:
    """The daemon's id for each of the simulator's treadmills (the same names)."""
    return list(sim.names)


def write_daemon_config(
    path: Path, *, sim: Sim, mqtt_port: int, state_dir: Path, count: int | None = None,
    radio: str | None = None,
) -> list[str]:  # fmt: skip
    """A daemon configuration for the first `count` treadmills of `sim` (on `radio`, default
    the simulator's); returns their ids."""
    names = sim.names[: count or len(sim.names)]
    parts = [f'[[treadmill]]\nid = "{name}"\nname = "{name}"\n' for name in names]
    parts.append(
        f'[bluetooth]\nradio = "{radio or sim.spec}"\nscan_timeout_s = 5.0\n\n'
        f'[mqtt]\nhost = "{LOCALHOST}"\nport = {mqtt_port}\ntelemetry_hz = 10.0\n'
        f'commands_enabled = true\nclient_id = "treadctl-bench"\n\n'
        f'[logging]\nlevel = "info"\nformat = "json"\n\n'
        f'[paths]\nstate_dir = "{state_dir}"\nworkouts_dir = "{state_dir / "workouts"}"\n'
        f'profiles_dir = "{state_dir / "profiles"}"\n'
    )
    path.write_text("\n".join(parts), encoding="utf-8")
    return names


async def start_daemon(
    children: Children, config: Path, log: IO[bytes], env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`python -m treadctl run --config CONFIG` in `children.daemon_python`, its output appended
    to `log`."""
    argv = [children.daemon_python, "-m", "treadctl", "run", "--config", str(config)]
    return await children.spawn(
        argv, env={**children.daemon_env, **(env or {})}, stdout=log, stderr=log
    )


@dataclass(frozen=True)
class Message:
    """One message as the probe received it."""

    stamp_ns: int
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        """The payload as JSON (None when it is not JSON)."""
        try:
            return json.loads(self.payload)
        except ValueError:
            return None


class Probe:
    """An MQTT client (MQTT 3.1.1, QoS 0) that records what arrives on `filters`, stamped."""

    def __init__(self, port: int, filters: Sequence[str], name: str) -> None:
        self._client = aiomqtt.Client(LOCALHOST, port, identifier=name)
        self._filters = filters
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        for topic_filter in self._filters:
            await self._client.subscribe(topic_filter, qos=0)
        self._task = asyncio.get_running_loop().create_task(self._collect(), name="bench-probe")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)

    async def _collect(self) -> None:
        async for message in self._client.messages:
            stamp_ns = time.monotonic_ns()  # first thing: the arrival time
            payload = message.payload if isinstance(message.payload, bytes) else b""
            self.messages.append(Message(stamp_ns, message.topic.value, payload, message.retain))
            self._arrived.set()

    async def publish(self, topic: str, payload: bytes) -> int:
        """Publish (QoS 0); returns the `time.monotonic_ns()` taken just before handing it over."""
        stamp_ns = time.monotonic_ns()
        await self._client.publish(topic, payload, qos=0)
        return stamp_ns

    async def wait_for(
        self, predicate: Callable[[Message], bool], timeout_s: float, start: int = 0
    ) -> Message:
        """The first message from index `start` on that satisfies `predicate`."""
        index = start
        async with asyncio.timeout(timeout_s):
            while True:
                while index < len(self.messages):
                    if predicate(self.messages[index]):
                        return self.messages[index]
                    index += 1
                self._arrived.clear()
                await self._arrived.wait()
