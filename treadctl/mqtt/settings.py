"""`MqttSettings`: everything the MQTT bridge needs to know, with the `[mqtt]` config key names.

Owns: the settings dataclass, its validation (errors name the key as `mqtt.<key>`), and the
defaults. The config layer (`treadctl.config`) builds it from the TOML file, the environment and
systemd credentials; the password is read from a secret there and is never shown here: it is
left out of `repr()` and out of every log event.
"""

from __future__ import annotations

import math
import re
import socket
from dataclasses import dataclass, field
from typing import Literal

from treadctl.errors import ConfigError

Protocol = Literal["3.1.1", "5"]

# Topic levels we build from config must not contain MQTT wildcards or separators of their own.
_TOPIC_LEVELS = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def default_client_id() -> str:
    """`treadctl-<hostname>`: one client id per daemon (each treadmill adds `-<id>` to it)."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname()) or "host"
    return f"treadctl-{host}"[:48]


@dataclass(frozen=True)
class MqttSettings:
    """Connection, topics and behaviour of the MQTT bridge (config section `[mqtt]`).

    Raises `ConfigError` (with `where="mqtt.<key>"`) for a value that cannot work.
    """

    host: str = "localhost"
    port: int = 1883
    protocol: Protocol = "3.1.1"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = field(default_factory=default_client_id)
    base_topic: str = "treadctl"
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    telemetry_hz: float = 1.0
    commands_enabled: bool = False
    keepalive_s: int = 30
    timeout_s: float = 10.0
    reconnect_min_backoff_s: float = 1.0
    reconnect_max_backoff_s: float = 60.0
    telemetry_queue_size: int = 600
    result_queue_size: int = 64
    command_queue_size: int = 8
    shutdown_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        _check(bool(self.host.strip()), "host", "must not be empty")
        _check(1 <= self.port <= 65535, "port", f"must be 1..65535, got {self.port}")
        _check(
            self.protocol in ("3.1.1", "5"),
            "protocol",
            f'must be "3.1.1" or "5", got {self.protocol!r}',
        )
        _check(
            self.password is None or self.username is not None,
            "password",
            "is set but username is not",
        )
        _check(
            bool(_CLIENT_ID.match(self.client_id)), "client_id", "must be 1-64 of A-Z a-z 0-9 _ . -"
        )
        for key in ("base_topic", "discovery_prefix"):
            value = getattr(self, key)
            _check(
                bool(_TOPIC_LEVELS.match(value)),
                key,
                f"{value!r} is not a plain topic (no +, #, //)",
            )
        _check(
            (self.cert_file is None) == (self.key_file is None),
            "cert_file" if self.key_file is not None else "key_file",
            "a client certificate needs both cert_file and key_file",
        )
        for key in ("ca_file", "cert_file", "key_file"):
            _check(getattr(self, key) is None or self.tls, key, "is set but tls is false")
        _check(
            math.isfinite(self.telemetry_hz) and 0 < self.telemetry_hz <= 20,
            "telemetry_hz",
            f"must be in (0, 20], got {self.telemetry_hz}",
        )
        _check(
            5 <= self.keepalive_s <= 3600, "keepalive_s", f"must be 5..3600, got {self.keepalive_s}"
        )
        for key in ("timeout_s", "reconnect_min_backoff_s", "shutdown_timeout_s"):
            value = getattr(self, key)
            _check(math.isfinite(value) and value > 0, key, f"must be > 0, got {value}")
        _check(
            self.reconnect_max_backoff_s >= self.reconnect_min_backoff_s,
            "reconnect_max_backoff_s",
            "must be >= reconnect_min_backoff_s",
        )
        for key in ("telemetry_queue_size", "result_queue_size", "command_queue_size"):
            value = getattr(self, key)
            _check(1 <= value <= 100_000, key, f"must be 1..100000, got {value}")

    def __repr__(self) -> str:
        shown = {
            name: getattr(self, name) for name in self.__dataclass_fields__ if name != "password"
        }
        inner = ", ".join(f"{name}={value!r}" for name, value in shown.items())
        masked = "None" if self.password is None else "'***'"
        return f"MqttSettings({inner}, password={masked})"

    def log_fields(self) -> dict[str, object]:
        """What may go into a log event: everything but the password."""
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "tls": self.tls,
            "username": self.username,
            "client_id": self.client_id,
        }


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(message, where=f"mqtt.{key}")
