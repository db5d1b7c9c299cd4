"""Real MQTT brokers for tests.

Owns: `AmqttBroker` (pure-Python broker started in-process on a free port; MQTT 3.1.1 only) and
`MosquittoBroker` (a `mosquitto` subprocess on a free port, optionally with a password file and
TLS from `testsupport.tls`; MQTT 3.1.1 and 5). Every broker is an async context manager and can
be stopped and started again on the same port mid-test (`restart()`), which is how reconnect
and "nothing lost" behaviour is tested. What reached a broker is read with
`testsupport.mqtt_recorder.MqttRecorder`. Nothing here sleeps to wait for something: readiness
is read from the broker's own log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import pytest

if TYPE_CHECKING:
    from testsupport.tls import TlsFiles

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


class _Broker:
    """What both brokers share: `start()`/`stop()` of their own, `restart()` on the same port,
    and use as an async context manager (started on entry, stopped on exit)."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def restart(self) -> None:
        """Stop, then start again on the same port."""
        await self.stop()
        await self.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


# --- amqtt -----------------------------------------------------------------------------------


class AmqttBroker(_Broker):
    """amqtt's broker inside the test's own event loop (anonymous access, MQTT 3.1.1)."""

    def __init__(self, port: int | None = None) -> None:
        self.host = LOCALHOST
        self.port = port or free_port()
        self._broker: Any = None

    async def start(self) -> None:
        """Start listening on `self.port` (the same port after a `stop()`)."""
        from amqtt.broker import Broker  # imported here: amqtt is slow to import

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # No $SYS publisher and no packet logger: quieter and nothing runs on a timer.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {}},
        }
        self._broker = Broker(config)
        await self._broker.start()

    async def stop(self) -> None:
        """Close every client connection and the listener; retained messages are forgotten."""
        if self._broker is not None:
            broker, self._broker = self._broker, None
            # Cut every client's connection first, as a crashing broker would: amqtt 0.12's
            # shutdown() can hang on a client whose reader is mid-packet. (Reaches into amqtt's
            # internals; the version is pinned below 0.13 in pyproject.toml.)
            for _session, handler in list(broker._sessions.values()):
                writer = getattr(getattr(handler, "writer", None), "_writer", None)
                if writer is not None:
                    writer.transport.abort()
            await broker.shutdown()


# --- mosquitto -------------------------------------------------------------------------------


def mosquitto_binary() -> str | None:
    """Path of the mosquitto broker, or None where it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def require_mosquitto() -> str:
    """The mosquitto binary, or skip the calling test where it is not installed."""
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("mosquitto is not installed")
    return binary


@dataclass
class MosquittoBroker(_Broker):
    """A mosquitto subprocess listening on localhost.

    `users` (name -> password) turns anonymous access off and writes a password file with
    `mosquitto_passwd`; `tls` serves TLS only, and `require_certificate` makes the broker demand
    a client certificate signed by the same CA. `persistent` keeps its sessions (subscriptions,
    queued QoS 1 messages) across a restart: saved to `directory` when it stops and read back
    when it starts.
    """

    directory: Path
    users: dict[str, str] = field(default_factory=dict)
    tls: TlsFiles | None = None
    require_certificate: bool = False
    persistent: bool = False
    port: int = field(default_factory=free_port)
    host: str = LOCALHOST
    _process: asyncio.subprocess.Process | None = None
    _drain: asyncio.Task[None] | None = None

    def _write_config(self) -> Path:
        lines = [
            f"listener {self.port} {self.host}",
            *(
                ["persistence true", f"persistence_location {self.directory}/"]
                if self.persistent
                else ["persistence false"]
            ),
            # mosquitto started as root drops to the `mosquitto` user, which cannot read the test's
            # files; naming the current user keeps it as is (no effect when not root).
            f"user {getpass.getuser()}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if self.users:
            password_file = self.directory / "passwords"
            password_file.write_text("", encoding="utf-8")
            for user, password in self.users.items():
                subprocess.run(
                    [_mosquitto_passwd(), "-b", str(password_file), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
            ]
            if self.require_certificate:
                lines.append("require_certificate true")
        config = self.directory / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return config

    async def start(self) -> None:
        """Start mosquitto and return once it says it is running (read from its log)."""
        config = self._write_config()
        self._process = await asyncio.create_subprocess_exec(
            require_mosquitto(),
            "-c",
            str(config),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stderr is not None
        seen: list[str] = []
        while True:
            line = (await self._process.stderr.readline()).decode(errors="replace")
            if not line:
                raise RuntimeError(f"mosquitto exited before it was ready: {''.join(seen)}")
            seen.append(line)
            if " running" in line:  # "mosquitto version 2.0.11 running"
                break
        # Keep draining its log so the pipe never fills up and blocks the broker.
        self._drain = asyncio.create_task(
            self._drain_log(self._process.stderr), name="mosquitto-log"
        )

    @staticmethod
    async def _drain_log(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def stop(self) -> None:
        """Terminate mosquitto and wait for it to exit (its clients see the connection drop)."""
        if self._process is None:
            return
        process, self._process = self._process, None
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await process.wait()
        if self._drain is not None:
            await self._drain


def _mosquitto_passwd() -> str:
    binary = mosquitto_binary()
    beside = Path(binary).parent.parent / "bin" / "mosquitto_passwd" if binary else None
    found = shutil.which("mosquitto_passwd") or (
        str(beside) if beside and beside.exists() else None
    )
    if found is None:
        pytest.skip("mosquitto_passwd is not installed")
    return found
