"""The sans-I/O parts: command parsing (fuzzed), the outbox, the telemetry throttle, the
reconnect backoff and the settings."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadctl.errors import CommandError, ConfigError
from treadctl.mqtt import COMMANDS, MqttSettings, SetSpeedCommand, parse_command
from treadctl.mqtt.connection import backoff_s
from treadctl.mqtt.outbox import Outbox, Publication, TelemetryThrottle

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(name=st.sampled_from([*COMMANDS, "nope"]), payload=st.binary(max_size=64))
def test_raw_bytes_raise_only_command_error(name: str, payload: bytes) -> None:
    """Any bytes on any command topic parse or raise CommandError naming the topic."""
    topic = f"treadctl/t1/cmd/{name}"
    where = ""
    try:
        parse_command(name, payload, topic=topic)
    except CommandError as exc:
        where = exc.where
    assert not where or where.startswith(topic)


@given(
    name=st.sampled_from(list(COMMANDS)),
    document=st.dictionaries(
        st.sampled_from(["workout", "speed_kmh", "incline_pct", "direction", "request_id", "x"]),
        json_values,
        max_size=3,
    ),
)
def test_json_shapes_raise_only_command_error(name: str, document: dict[str, object]) -> None:
    """Any JSON object parses into a valid command or raises CommandError naming a field."""
    import json

    topic = f"treadctl/t1/cmd/{name}"
    try:
        parsed = parse_command(name, json.dumps(document).encode(), topic=topic).name
    except CommandError as exc:
        parsed = exc.where
    assert parsed == name or parsed.startswith(f"{topic} field ")


def test_set_speed_parses_numbers_only() -> None:
    """set_speed takes an int or float speed and an optional direction."""
    command = parse_command("set_speed", b'{"speed_kmh": 2}', topic="t")
    assert command == SetSpeedCommand(speed_kmh=2.0)


def pub(kind: str, n: int) -> Publication:
    return Publication(kind, f"topic/{kind}", str(n).encode(), 1, False)  # type: ignore[arg-type]


def test_outbox_order_and_limits() -> None:
    """Urgent, announce, events, state, results, telemetry; newest telemetry and state kept."""
    box = Outbox(telemetry_size=2, result_size=1)
    for n in range(3):
        box.put(pub("telemetry", n))
    box.put(pub("result", 0))
    box.put(pub("result", 1))
    box.put(pub("state", 0))
    box.put(pub("state", 1))
    box.put(pub("event", 0))
    box.put(pub("event", 1))
    box.put(pub("urgent", 0))
    order = []
    while (item := box.peek()) is not None:
        order.append((item.kind, item.payload))
        box.done(item)
    assert order == [
        ("urgent", b"0"),
        ("event", b"0"),
        ("event", b"1"),
        ("state", b"1"),
        ("result", b"1"),
        ("telemetry", b"1"),
        ("telemetry", b"2"),
    ]
    assert (box.dropped_telemetry, box.dropped_results) == (1, 1)


def test_outbox_keeps_a_state_that_replaced_the_one_in_flight() -> None:
    """A state published while the previous one is in flight is not lost by done()."""
    box = Outbox(telemetry_size=2, result_size=2)
    first, second = pub("state", 0), pub("state", 1)
    box.put(first)
    assert box.peek() is first
    box.put(second)
    box.done(first)
    assert box.peek() is second


def test_throttle_rate_and_significant_changes() -> None:
    """At 1 Hz a sample is held back unless something significant changed."""
    throttle = TelemetryThrottle(1.0)
    assert throttle.offer({"speed_kmh": 2.0, "direction": "backward"}, 0.0)
    assert not throttle.offer({"speed_kmh": 2.2, "direction": "backward"}, 0.3)
    assert throttle.due(0.5) is None
    assert throttle.due(1.0) == {"speed_kmh": 2.2, "direction": "backward"}
    assert throttle.offer({"speed_kmh": 2.2, "direction": "forward"}, 1.1)  # direction
    assert throttle.offer({"speed_kmh": 2.7, "direction": "forward"}, 1.2)  # +0.5 km/h
    assert not throttle.offer({"speed_kmh": 2.8, "direction": "forward"}, 1.3)
    assert throttle.take_pending() == {"speed_kmh": 2.8, "direction": "forward"}


def test_backoff_is_capped_and_jittered() -> None:
    """Delays double from the minimum up to the cap, each a random point in the upper half."""
    rng = random.Random(7)
    delays = [backoff_s(attempt, 1.0, 30.0, rng) for attempt in range(10)]
    caps = [min(30.0, 2.0**a) for a in range(10)]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps, strict=True))
    assert backoff_s(10_000, 1.0, 30.0, rng) <= 30.0


def test_settings_mask_the_password() -> None:
    """The password never shows in repr or in the fields logged."""
    settings = MqttSettings(username="u", password="hunter2")
    assert "hunter2" not in repr(settings)
    assert "password='***'" in repr(settings)
    assert "hunter2" not in repr(settings.log_fields())


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"port": 0}, "mqtt.port"),
        ({"protocol": "4"}, "mqtt.protocol"),
        ({"password": "x"}, "mqtt.password"),
        ({"base_topic": "a/#"}, "mqtt.base_topic"),
        ({"cert_file": "c.pem", "tls": True}, "mqtt.key_file"),
        ({"ca_file": "ca.pem"}, "mqtt.ca_file"),
        ({"telemetry_hz": 0.0}, "mqtt.telemetry_hz"),
        ({"reconnect_max_backoff_s": 0.5}, "mqtt.reconnect_max_backoff_s"),
        ({"command_queue_size": 0}, "mqtt.command_queue_size"),
        ({"client_id": "has space"}, "mqtt.client_id"),
    ],
)
def test_settings_errors_name_the_key(overrides: dict[str, object], where: str) -> None:
    """Each unusable value is a ConfigError naming its `mqtt.<key>`."""
    with pytest.raises(ConfigError) as error:
        MqttSettings(**overrides)  # type: ignore[arg-type]
    assert error.value.where == where
