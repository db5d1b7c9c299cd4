"""How one MQTT connection is made: client options, last will, TLS, subscriptions, backoff.

Owns: translating `MqttSettings` into aiomqtt/paho arguments, and the reconnect delay. Pure
except for reading the TLS files (`tls_context()`, at start-up, so a wrong path is a
`ConfigError` naming the key instead of a reconnect loop).

Facts that shape it (DESIGN §7):
- Every session starts clean (MQTT 3.1.1 clean session, MQTT 5 clean start with no session
  expiry): a persistent session would make the broker queue commands while the daemon is away
  and deliver them, stale, on reconnect.
- Commands are subscribed with QoS 1; on MQTT 5 with retain handling 2 (the broker never sends
  a retained command) and no-local (our own `cmd/result` answers are not echoed back to us).
  On 3.1.1 the dispatcher ignores the retain flag instead (see `dispatch.py`).
- The last will is `offline`, retained, QoS 1 on the treadmill's `availability` topic.
"""

from __future__ import annotations

import random
import ssl
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from treadctl.errors import ConfigError
from treadctl.mqtt.settings import MqttSettings
from treadctl.mqtt.topics import Topics

OFFLINE = b"offline"
ONLINE = b"online"
# QoS 1 publications on the wire at once, awaiting their PUBACK. 20 is both paho's default
# (`max_inflight_messages`) and mosquitto's default `max_inflight_messages` (the Receive Maximum
# it gives MQTT 5 clients); set explicitly so paho and the publisher in `link.py` agree.
MAX_INFLIGHT = 20
# The publisher keeps at most this many ordinary publications in flight, leaving the rest of
# MAX_INFLIGHT to estop answers, which never wait for a free place.
PUBLISH_WINDOW = 16


def backoff_s(attempt: int, min_s: float, max_s: float, rng: random.Random) -> float:
    """Delay before reconnect attempt `attempt` (0 = first retry): capped exponential backoff
    with "equal jitter" (a random point in the upper half), so a fleet of daemons that lost the
    same broker does not come back in lockstep."""
    cap = min(max_s, min_s * 2.0 ** min(attempt, 32))
    return rng.uniform(cap / 2.0, cap)


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context for `settings` (None without TLS): verifies the broker against `ca_file`
    (or the system's CAs) and presents `cert_file`/`key_file` when set.

    Raises `ConfigError` naming the key whose file is missing or unusable.
    """
    if not settings.tls:
        return None
    for key in ("ca_file", "cert_file", "key_file"):
        path = getattr(settings, key)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"file {path!r} does not exist", where=f"mqtt.{key}")
    try:
        context = ssl.create_default_context(cafile=settings.ca_file)
    except ssl.SSLError as exc:
        raise ConfigError(f"cannot load CA file: {exc}", where="mqtt.ca_file") from exc
    if settings.cert_file is not None and settings.key_file is not None:
        try:
            context.load_cert_chain(settings.cert_file, settings.key_file)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"cannot load client certificate/key: {exc}", where="mqtt.cert_file"
            ) from exc
    return context


def client_options(
    settings: MqttSettings, topics: Topics, tls: ssl.SSLContext | None
) -> dict[str, Any]:
    """Keyword arguments of `aiomqtt.Client` for the connection of one treadmill."""
    v5 = settings.protocol == "5"
    options: dict[str, Any] = {
        "hostname": settings.host,
        "port": settings.port,
        "username": settings.username,
        "password": settings.password,
        # One connection per treadmill, so one client id per treadmill (brokers drop a client
        # whose id another connection takes over).
        "identifier": f"{settings.client_id}-{topics.treadmill_id}",
        "protocol": aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        "will": aiomqtt.Will(topics.availability, OFFLINE, qos=1, retain=True),
        "keepalive": settings.keepalive_s,
        "timeout": settings.timeout_s,
        "tls_context": tls,
        # Our own queues decide what waits while the broker is away, not paho's.
        "max_queued_outgoing_messages": 1000,
        "max_inflight_messages": MAX_INFLIGHT,
    }
    if v5:
        options["clean_start"] = True  # and no Session Expiry Interval: the session ends with us
    else:
        options["clean_session"] = True
    return options


def subscriptions(
    settings: MqttSettings, topics: Topics
) -> list[tuple[str, int, SubscribeOptions | None]]:
    """(topic filter, QoS, MQTT 5 options) for every subscription of one treadmill."""
    v5 = settings.protocol == "5"
    command_options = (
        SubscribeOptions(qos=1, noLocal=True, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
        if v5
        else None
    )
    # paho refuses a QoS argument next to options: with options the QoS travels inside them.
    qos = 0 if v5 else 1
    found: list[tuple[str, int, SubscribeOptions | None]] = [
        (topics.command_filter, qos, command_options)
    ]
    if settings.discovery:
        found.append((topics.ha_status, qos, SubscribeOptions(qos=1) if v5 else None))
    return found
