"""The `[mqtt]` section of the configuration: the broker link.

Owns: `MqttConfig` — broker address and protocol, credentials, TLS files, topics, Home Assistant
discovery, whether commands are accepted, and the rates, queues, timeouts and backoff of the
connection. Its topic and client-id rules are those of `treadctl.mqtt.settings`. Part of the
configuration's shape (`model`), which keeps the other sections and `Config` itself.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from treadctl.config.fields import Float, Int, Section, bounded, cross_error

# The same rules as `treadctl.mqtt.settings`, so a configuration that loads also connects.
_TOPIC = r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$"


def _default_client_id() -> str:
    """`treadctl-<hostname>` (each treadmill's connection adds `-<id>` to it)."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname()) or "host"
    return f"treadctl-{host}"[:48]


def _protocol(value: object) -> object:
    """`protocol = 5` (a TOML number) means "5"."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 5:
        return "5"
    return value


class MqttConfig(Section):
    """The broker link."""

    enabled: bool = Field(default=True, description="true or false")
    host: str = Field(default="localhost", min_length=1, description="broker host name or address")
    port: Int = bounded(1883, "TCP port", ge=1, le=65535, note="default 8883 when tls = true")
    protocol: Annotated[Literal["3.1.1", "5"], BeforeValidator(_protocol)] = Field(
        default="3.1.1", description="MQTT version: '3.1.1' or '5'"
    )
    username: str | None = Field(
        default=None, min_length=1, description="broker user; unset: anonymous"
    )
    password: SecretStr | None = Field(
        default=None, description="secret: from a credential or secrets file mqtt__password, or env"
    )
    client_id: str = Field(
        default_factory=_default_client_id,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="1–64 of A-Z a-z 0-9 _ . - ; default treadctl-<hostname>",
    )
    base_topic: str = Field(
        default="treadctl",
        pattern=_TOPIC,
        description="topic levels of A-Z a-z 0-9 _ - separated by /",
    )
    discovery: bool = Field(default=True, description="true or false: Home Assistant discovery")
    discovery_prefix: str = Field(
        default="homeassistant",
        pattern=_TOPIC,
        description="topic levels of A-Z a-z 0-9 _ - separated by /",
    )
    tls: bool = Field(default=False, description="true or false")
    ca_file: Path | None = Field(default=None, description="an existing PEM file; needs tls = true")
    cert_file: Path | None = Field(
        default=None, description="an existing PEM file; needs tls = true"
    )
    key_file: Path | None = Field(default=None, description="an existing PEM file; needs cert_file")
    telemetry_hz: Float = bounded(1.0, "messages per second", gt=0, le=10)
    commands_enabled: bool = Field(
        default=False, description="true or false: accept cmd/<name> topics"
    )
    keepalive_s: Int = bounded(30, "seconds", ge=5, le=3600)
    timeout_s: Float = bounded(10.0, "seconds", gt=0, le=300, note="connect and publish timeout")
    reconnect_min_backoff_s: Float = bounded(1.0, "seconds", gt=0, le=3600)
    reconnect_max_backoff_s: Float = bounded(
        60.0, "seconds", ge=1, le=3600, note="at least reconnect_min_backoff_s"
    )
    telemetry_queue_size: Int = bounded(
        600, "messages", ge=1, le=100_000, note="newest kept while the broker is away"
    )
    result_queue_size: Int = bounded(64, "messages", ge=1, le=10_000)
    command_queue_size: Int = bounded(8, "commands per treadmill", ge=1, le=1000)
    shutdown_timeout_s: Float = bounded(3.0, "seconds", gt=0, le=10, note="final flush at exit")

    @model_validator(mode="after")
    def _tls_files(self) -> MqttConfig:
        for key in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, key)
            if path is None:
                continue
            if not self.tls:
                raise cross_error(f"mqtt.{key}", f"{key} is set but tls = false")
            if not path.is_file():
                raise cross_error(f"mqtt.{key}", f"no such file: {path}")
        if (self.cert_file is None) != (self.key_file is None):
            raise cross_error("mqtt.key_file", "cert_file and key_file go together")
        if self.reconnect_max_backoff_s < self.reconnect_min_backoff_s:
            raise cross_error(
                "mqtt.reconnect_max_backoff_s", "must be at least reconnect_min_backoff_s"
            )
        if self.password is not None and self.username is None:
            raise cross_error("mqtt.username", "a password is set but username is not")
        if self.tls and "port" not in self.model_fields_set:
            return self.model_copy(update={"port": 8883})
        return self
