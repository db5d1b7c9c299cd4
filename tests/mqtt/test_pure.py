"""The sans-I/O parts: command parsing (fuzzed), the outbox, the telemetry throttle, the
connection options, the reconnect backoff and the settings."""

from __future__ import annotations

import random

import aiomqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.subscribeoptions import SubscribeOptions

from treadctl.errors import CommandError, ConfigError
from treadctl.mqtt import COMMANDS, MqttSettings, SetSpeedCommand, Topics, parse_command
from treadctl.mqtt.connection import backoff_s, client_options, subscriptions
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
    while (item := box.take()) is not None:
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
    assert box.take() is first
    box.put(second)
    box.done(first)
    assert box.take() is second


def drain(box: Outbox) -> list[str]:
    """Publish everything one at a time (take, then done); returns `kind:payload` in order."""
    order = []
    while (item := box.take()) is not None:
        order.append(f"{item.kind}:{item.payload.decode()}")
        box.done(item)
    return order


def test_outbox_no_kind_waits_behind_more_than_four_others() -> None:
    """Under a backlog of events and answers, after four events in a row the answers and the
    telemetry sample passed over four times go next (the answer first: priority breaks the tie),
    then events again; estop answers go first and are not counted; each kind keeps its order."""
    box = Outbox(telemetry_size=10, result_size=10)
    for n in range(8):
        box.put(pub("event", n))
        box.put(pub("result", n))
    box.put(pub("telemetry", 0))
    box.put(pub("urgent", 0))
    order = drain(box)
    assert order[:8] == [
        "urgent:0",
        "event:0",
        "event:1",
        "event:2",
        "event:3",
        "result:0",
        "telemetry:0",
        "event:4",
    ]
    assert [o for o in order if o.startswith("event")] == [f"event:{n}" for n in range(8)]
    assert [o for o in order if o.startswith("result")] == [f"result:{n}" for n in range(8)]


def test_outbox_full_answer_queue_drops_refusals_first() -> None:
    """When answers overflow, the oldest refusal is dropped; answers of commands carried out
    are dropped only when no refusal is left to drop."""
    box = Outbox(telemetry_size=1, result_size=3)

    def answer(name: str, refusal: bool) -> Publication:
        return Publication("result", "t/cmd/result", name.encode(), 1, False, sheddable=refusal)

    for name, refusal in [
        ("a1", False),
        ("r1", True),
        ("r2", True),
        ("a2", False),  # drops r1
        ("r3", True),  # drops r2
        ("a3", False),  # drops r3
        ("a4", False),  # no refusal left: drops a1
    ]:
        box.put(answer(name, refusal))
    assert drain(box) == ["result:a2", "result:a3", "result:a4"]
    assert box.dropped_results == 4


def test_outbox_in_flight_items_wait_again_in_order_after_a_loss() -> None:
    """Items taken are not handed out twice; after a connection loss they are handed out again
    in their order; items in flight do not count against a bound."""
    box = Outbox(telemetry_size=1, result_size=1)
    events = [pub("event", n) for n in range(3)]
    for event in events:
        box.put(event)
    assert [box.take(), box.take()] == events[:2]
    box.done(events[1])  # acknowledged out of turn: the others stay queued
    box.retry_all()
    assert box.take() is events[0]
    assert box.take() is events[2]
    assert box.take() is None
    assert len(box) == 2
    first = pub("telemetry", 0)
    box.put(first)
    box.done(events[0])
    box.done(events[2])
    assert box.take() is first  # in flight from here on
    box.put(pub("telemetry", 1))
    box.put(pub("telemetry", 2))  # only the waiting sample 1 is dropped, not the one in flight
    assert box.dropped_telemetry == 1
    box.retry(first)
    assert drain(box) == ["telemetry:0", "telemetry:2"]


def test_outbox_urgent_only_hands_out_estop_answers_alone() -> None:
    """With the publishing window full (`urgent_only`), only an estop answer is handed out."""
    box = Outbox(telemetry_size=2, result_size=2)
    box.put(pub("event", 0))
    assert box.take(urgent_only=True) is None
    estop = pub("urgent", 0)
    box.put(estop)
    assert box.take(urgent_only=True) is estop
    assert box.take(urgent_only=True) is None


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


def test_throttle_follows_the_configured_rate() -> None:
    """At `telemetry_hz` 4 a held-back sample goes out a quarter of a second after the last."""
    throttle = TelemetryThrottle(4.0)
    assert throttle.offer({"speed_kmh": 2.0}, 0.0)
    assert not throttle.offer({"speed_kmh": 2.1}, 0.1)
    assert throttle.due(0.2) is None
    assert throttle.due(0.25) == {"speed_kmh": 2.1}


def test_connection_options_client_id_will_and_clean_sessions() -> None:
    """Each treadmill connects as `<client_id>-<id>` (the daemon's id, default
    `treadctl-<hostname>`), with the retained QoS 1 `offline` will on its availability topic and
    a clean session; on MQTT 5 commands are subscribed with retain handling 2 and no-local."""
    topics = Topics("treadctl", "homeassistant", "lane-1")
    v3 = client_options(MqttSettings(client_id="gym-pi-2"), topics, None)
    assert v3["identifier"] == "gym-pi-2-lane-1"
    assert v3["protocol"] == aiomqtt.ProtocolVersion.V311
    assert v3["clean_session"] is True
    will = v3["will"]
    assert (will.topic, will.payload, will.qos, will.retain) == (
        "treadctl/lane-1/availability",
        b"offline",
        1,
        True,
    )
    assert MqttSettings().client_id.startswith("treadctl-")
    v5_settings = MqttSettings(client_id="gym-pi-2", protocol="5")
    v5 = client_options(v5_settings, topics, None)
    assert v5["protocol"] == aiomqtt.ProtocolVersion.V5
    assert v5["clean_start"] is True
    assert "clean_session" not in v5
    [(command_filter, _, options), (status, _, _)] = subscriptions(v5_settings, topics)
    assert (command_filter, status) == ("treadctl/lane-1/cmd/+", "homeassistant/status")
    assert options is not None
    assert (options.QoS, options.noLocal, options.retainHandling) == (
        1,
        True,
        SubscribeOptions.RETAIN_DO_NOT_SEND,
    )


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
