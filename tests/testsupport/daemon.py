"""The real daemon as a process, against a virtual treadmill in the test's process.

    from testsupport.daemon import daemon_process, served_treadmill

    async with served_treadmill(Quirks()) as sim, AmqttBroker() as broker:
        config = daemon_config(tmp_path, sim.spec, broker.port, commands=True)
        async with daemon_process(config) as daemon:    # READY already received
            await daemon.wait_for_log("treadmill_connected")
            ...                                          # sim.model.writes / .history
            await daemon.terminate()                     # SIGTERM, waits for exit

`run_treadctl(*args)` runs any other `python -m treadctl` command to its end.

The treadmill runs here, on its own link served over HCI/TCP, so the daemon (another process)
reaches it the way it reaches a `treadctl sim` process, while the test can inspect the machine's
whole history and break it (console, safety key, dropped link, forced result codes). The daemon's
systemd notifications arrive on a real datagram socket (`daemon.notifications`), its JSON logs on
`daemon.logs`. Nothing sleeps to wait: readiness is READY=1, and waits are on log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import HciTcpServer, SimLink
from treadctl.sim.model import TreadmillModel
from treadctl.sim.settings import Quirks, TreadmillConfig

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0


@dataclass
class ServedTreadmill:
    """A virtual treadmill in this process, reachable by a daemon at `spec`."""

    treadmill: VirtualTreadmill
    spec: str

    @property
    def model(self) -> TreadmillModel:
        """The machine: state, write log, history, fault hooks."""
        return self.treadmill.model


@contextlib.asynccontextmanager
async def served_treadmill(
    quirks: Quirks | None = None, config: TreadmillConfig | None = None, *, speedup: float = 1.0
) -> AsyncIterator[ServedTreadmill]:
    """One virtual treadmill on a private link, served over HCI/TCP on a free port."""
    link = SimLink()
    treadmill = VirtualTreadmill(
        config or TreadmillConfig(),
        quirks,
        link=link,
        speedup=speedup,
        advertising_interval_ms=20.0,
    )
    async with treadmill, HciTcpServer(link, "127.0.0.1", 0) as server:
        yield ServedTreadmill(treadmill, f"sim:{server.host}:{server.port}")


def daemon_config(
    folder: Path,
    radio: str,
    mqtt_port: int,
    *,
    commands: bool = True,
    name: str = "treadctl-sim",
    extra: str = "",
    profile: str | None = None,
) -> Path:
    """Write a daemon configuration for one treadmill `tm1` into `folder`; returns its path.

    `profile` pins the treadmill to a quirk profile (default: chosen by its name); `extra` is
    appended as is (more sections).
    """
    path = folder / "treadctl.toml"
    pinned = f'profile = "{profile}"' if profile else ""
    path.write_text(
        f"""
[[treadmill]]
id = "tm1"
name = "{name}"
{pinned}

[bluetooth]
radio = "{radio}"
scan_timeout_s = 5
connect_timeout_s = 5
reconnect_max_backoff_s = 2

[mqtt]
host = "127.0.0.1"
port = {mqtt_port}
commands_enabled = {"true" if commands else "false"}
client_id = "treadctl-test"
telemetry_hz = 10

[turn]
auto_resume = true

[paths]
state_dir = "{folder / "state"}"
workouts_dir = "{folder / "workouts"}"
profiles_dir = "{folder / "profiles"}"
{extra}
""",
        encoding="utf-8",
    )
    return path


async def run_treadctl(*args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """Run `python -m treadctl ARGS` from the repository to its end (environment `env`, default
    this one's): its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "treadctl",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
        env=env,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[str]) -> None:
        self._queue = queue

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._queue.put_nowait(data.decode(errors="replace"))


@dataclass
class DaemonProcess:
    """A running `python -m treadctl run` and what it said."""

    process: asyncio.subprocess.Process
    notifications: list[str] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self) -> None:
        self._changed.set()

    async def wait_for(self, found: Callable[[], bool], timeout_s: float = 20.0) -> None:
        """Wait until `found()` holds (re-checked on every log line or notification)."""
        async with asyncio.timeout(timeout_s):
            while not found():
                self._changed.clear()
                if self.process.returncode is not None:
                    raise AssertionError(
                        f"the daemon exited ({self.process.returncode}):\n{self.tail()}"
                    )
                await self._changed.wait()

    async def wait_for_log(
        self, event: str, timeout_s: float = 20.0, **fields: Any
    ) -> dict[str, Any]:
        """Wait for a log record with `event` (and `fields`); returns it."""

        def match() -> dict[str, Any] | None:
            for record in self.logs:
                if record.get("event") == event and all(
                    record.get(k) == v for k, v in fields.items()
                ):
                    return record
            return None

        await self.wait_for(lambda: match() is not None, timeout_s)
        found = match()
        assert found is not None
        return found

    def events(self, event: str) -> list[dict[str, Any]]:
        """Every log record with `event`."""
        return [r for r in self.logs if r.get("event") == event]

    def tail(self, lines: int = 40) -> str:
        """The last lines the daemon wrote (for failure messages)."""
        return "\n".join(self.raw[-lines:])

    async def terminate(self, timeout_s: float = 60.0) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout_s):
            return await self.process.wait()

    async def kill(self) -> int:
        """SIGKILL (nothing runs on the way out), then wait."""
        if self.process.returncode is None:
            self.process.kill()
        return await self.process.wait()


@contextlib.asynccontextmanager
async def daemon_process(
    config: Path,
    *,
    watchdog_usec: int | None = 2_000_000,
    wait_ready: bool = True,
    log_level: str = "info",
) -> AsyncIterator[DaemonProcess]:
    """Start the daemon with `config` and a notify socket (JSON logs at `--log-level
    log_level`); yields once READY=1 arrived."""
    loop = asyncio.get_running_loop()
    sock_path = config.parent / "notify.sock"
    with contextlib.suppress(FileNotFoundError):
        sock_path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    queue: asyncio.Queue[str] = asyncio.Queue()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(queue), sock=sock)
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(sock_path),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("JOURNAL_STREAM", None)
    if watchdog_usec is not None:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "treadctl",
        "run",
        "--config",
        str(config),
        "--log-format",
        "json",
        "--log-level",
        log_level,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
        env=env,
    )
    daemon = DaemonProcess(process)

    async def read_logs() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            text = line.decode(errors="replace").rstrip()
            daemon.raw.append(text)
            with contextlib.suppress(json.JSONDecodeError):
                record = json.loads(text)
                if isinstance(record, dict):
                    daemon.logs.append(record)
            daemon.note()
        daemon.note()

    async def read_notifications() -> None:
        while True:
            daemon.notifications.append(await queue.get())
            daemon.note()

    readers = [
        asyncio.create_task(read_logs(), name="daemon-logs"),
        asyncio.create_task(read_notifications(), name="daemon-notify"),
    ]
    try:
        if wait_ready:
            await daemon.wait_for(
                lambda: any("READY=1" in n for n in daemon.notifications), READY_TIMEOUT_S
            )
        yield daemon
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        transport.close()
