"""Real MQTT brokers for tests, and a recording subscriber to assert on what reached them.

Owns: `AmqttBroker` (pure-Python broker started in-process on a free port; MQTT 3.1.1 only),
`MosquittoBroker` (a `mosquitto` subprocess on a free port, optionally with a password file and
TLS; MQTT 3.1.1 and 5), `make_tls_files()` (a throw-away CA, server and client certificate), and
`MqttRecorder` (an aiomqtt subscriber that keeps every message and lets a test await one).
Every broker can be stopped and started again on the same port mid-test (`restart()`), which is
how reconnect and "nothing lost" behaviour is tested. Nothing here sleeps to wait for something:
readiness is read from the broker's own log line, messages are awaited on a condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import getpass
import json
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiomqtt
import pytest

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


# --- amqtt -----------------------------------------------------------------------------------


class AmqttBroker:
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


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a throw-away PKI: one CA, a server certificate for 127.0.0.1, a client one."""

    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """Generate a CA, a server certificate (SAN 127.0.0.1, localhost) and a client certificate.

    Uses `cryptography` (a dev dependency; it already comes with bumble), so the tests need no
    `openssl` binary. EC P-256 keys keep it fast.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def write_cert(cert: x509.Certificate, path: Path) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("treadctl test CA"))
        .issuer_name(name("treadctl test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        common: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName]
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    import ipaddress

    server, server_key = leaf(
        "localhost",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOCALHOST))],
    )
    client, client_key = leaf("treadctl-test-client", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return TlsFiles(
        ca_file=write_cert(ca, directory / "ca.pem"),
        server_cert=write_cert(server, directory / "server.pem"),
        server_key=write_key(server_key, directory / "server.key"),
        client_cert=write_cert(client, directory / "client.pem"),
        client_key=write_key(client_key, directory / "client.key"),
    )


@dataclass
class MosquittoBroker:
    """A mosquitto subprocess listening on localhost.

    `users` (name -> password) turns anonymous access off and writes a password file with
    `mosquitto_passwd`; `tls` serves TLS only, and `require_certificate` makes the broker demand
    a client certificate signed by the same CA.
    """

    directory: Path
    users: dict[str, str] = field(default_factory=dict)
    tls: TlsFiles | None = None
    require_certificate: bool = False
    port: int = field(default_factory=free_port)
    host: str = LOCALHOST
    _process: asyncio.subprocess.Process | None = None
    _drain: asyncio.Task[None] | None = None

    def _write_config(self) -> Path:
        lines = [
            f"listener {self.port} {self.host}",
            "persistence false",
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


def _mosquitto_passwd() -> str:
    binary = mosquitto_binary()
    beside = Path(binary).parent.parent / "bin" / "mosquitto_passwd" if binary else None
    found = shutil.which("mosquitto_passwd") or (
        str(beside) if beside and beside.exists() else None
    )
    if found is None:
        pytest.skip("mosquitto_passwd is not installed")
    return found


# --- recording subscriber ----------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message as a subscriber saw it."""

    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class MqttRecorder:
    """A subscriber that records every message on its filters, in arrival order.

    `await recorder.wait_for(predicate)` returns the first recorded message (from `start`, an
    index into `messages`) that matches, waiting for new ones as they arrive; a test wraps it in
    its own timeout only through pytest-timeout, never a sleep. Also publishes, for commands.
    """

    def __init__(
        self,
        host: str,
        port: int,
        filters: tuple[str, ...] = ("#",),
        *,
        protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V311,
        **client_kwargs: Any,
    ) -> None:
        self._client = aiomqtt.Client(host, port, protocol=protocol, **client_kwargs)
        self._filters = filters
        self.messages: list[Received] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        for topic_filter in self._filters:
            await self._client.subscribe(topic_filter, qos=1)
        self._task = asyncio.create_task(self._collect(), name="mqtt-recorder")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)

    async def _collect(self) -> None:
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            received = Received(str(message.topic), payload, bool(message.retain))
            async with self._changed:
                self.messages.append(received)
                self._changed.notify_all()

    async def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Publish with QoS 1 (returns once the broker has it)."""
        await self._client.publish(topic, payload, qos=1, retain=retain)

    async def wait_for(self, predicate: Callable[[Received], bool], *, start: int = 0) -> Received:
        """The first message at index >= `start` that matches, waiting for it if needed."""
        async with self._changed:
            index = start
            while True:
                while index < len(self.messages):
                    if predicate(self.messages[index]):
                        return self.messages[index]
                    index += 1
                await self._changed.wait()

    async def wait_topic(
        self, topic: str, *, start: int = 0, payload: bytes | None = None
    ) -> Received:
        """The first message on `topic` (with `payload`, when given) at index >= `start`."""
        return await self.wait_for(
            lambda m: m.topic == topic and (payload is None or m.payload == payload), start=start
        )

    async def wait_count(self, predicate: Callable[[Received], bool], count: int) -> list[Received]:
        """Wait until `count` recorded messages match; return them."""
        async with self._changed:
            while True:
                found = [m for m in self.messages if predicate(m)]
                if len(found) >= count:
                    return found
                await self._changed.wait()

    def on(self, topic: str) -> list[Received]:
        """Every message recorded so far on `topic`."""
        return [m for m in self.messages if m.topic == topic]
