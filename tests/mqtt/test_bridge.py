"""The bridge against a real broker (amqtt, in-process): availability, payloads, discovery
re-announce, and every command's success and refusal paths."""

from __future__ import annotations

import json
import random

import pytest
from mqtt.support import WORKOUTS, Handler, SettingsFactory
from testsupport.brokers import AmqttBroker
from testsupport.mqtt_recorder import MqttRecorder, Received

from treadctl.mqtt import MqttBridge, SetSpeedCommand, StartCommand, TreadmillInfo

pytestmark = pytest.mark.timeout(30)

T1 = TreadmillInfo("t1", "Lane 1", workouts=WORKOUTS)
T2 = TreadmillInfo("t2", "Lane 2", workouts=WORKOUTS)


RESULTS = ("treadctl/t1/cmd/result", "treadctl/t1/availability")


async def ready(recorder: MqttRecorder) -> None:
    """Return once t1 is online: its command subscription is in place by then."""
    await recorder.wait_topic("treadctl/t1/availability", payload=b"online")


def result(message: Received) -> dict[str, object]:
    payload: dict[str, object] = message.json()
    return payload


async def command(
    recorder: MqttRecorder, name: str, payload: bytes | str, *, treadmill: str = "t1"
) -> dict[str, object]:
    """Publish one command and return its answer from `cmd/result`."""
    start = len(recorder.messages)
    await recorder.publish(f"treadctl/{treadmill}/cmd/{name}", payload)
    answer = await recorder.wait_topic(f"treadctl/{treadmill}/cmd/result", start=start)
    return result(answer)


async def test_availability_online_on_connect_and_offline_on_clean_exit(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """Each treadmill says `online` (retained) on connect and `offline` when the bridge stops."""
    async with MqttRecorder(amqtt_broker.host, amqtt_broker.port) as recorder:
        async with MqttBridge(settings_for(amqtt_broker), [T1, T2], handler):
            await recorder.wait_topic("treadctl/t1/availability", payload=b"online")
            await recorder.wait_topic("treadctl/t2/availability", payload=b"online")
        await recorder.wait_topic("treadctl/t1/availability", payload=b"offline")
        await recorder.wait_topic("treadctl/t2/availability", payload=b"offline")
    async with MqttRecorder(
        amqtt_broker.host, amqtt_broker.port, ("treadctl/+/availability",)
    ) as late:
        retained = await late.wait_count(
            lambda m: m.retain and m.topic.endswith("/availability"), 2
        )
    assert {(m.topic, m.payload) for m in retained} == {
        ("treadctl/t1/availability", b"offline"),
        ("treadctl/t2/availability", b"offline"),
    }


async def test_state_is_retained_with_link_and_events_are_not(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """State is retained and carries `link_connected`; telemetry and events are not retained."""
    async with MqttBridge(settings_for(amqtt_broker), [T1], handler) as bridge:
        bridge.publish_state(
            "t1", {"status": "running", "workout": "first-timer", "step": "warm-up"}
        )
        bridge.set_link("t1", True)
        bridge.publish_telemetry("t1", {"speed_kmh": 2.5, "direction": "backward", "steps": 12})
        bridge.publish_event("t1", {"event": "step_started", "step": "warm-up"})
        await bridge.flush()
        async with MqttRecorder(amqtt_broker.host, amqtt_broker.port, ("treadctl/t1/#",)) as late:
            bridge.publish_event("t1", {"event": "sentinel"})
            sentinel = await late.wait_topic("treadctl/t1/event")
            before = late.messages[: late.messages.index(sentinel)]
    assert sentinel.json() == {"event": "sentinel"}
    assert {m.topic for m in before} == {"treadctl/t1/availability", "treadctl/t1/state"}
    state = next(m for m in before if m.topic == "treadctl/t1/state")
    assert state.retain
    assert state.json() == {
        "status": "running",
        "workout": "first-timer",
        "step": "warm-up",
        "link_connected": True,
    }


async def test_telemetry_payload_goes_out_as_json(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """A telemetry sample reaches the broker as compact JSON, NaN turned into null."""
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, ("treadctl/t1/telemetry",)) as rec,
        MqttBridge(settings_for(amqtt_broker), [T1], handler) as bridge,
    ):
        bridge.publish_telemetry(
            "t1", {"speed_kmh": 3.2, "heart_rate_bpm": float("nan"), "direction": "backward"}
        )
        message = await rec.wait_topic("treadctl/t1/telemetry")
    assert message.payload == b'{"speed_kmh":3.2,"heart_rate_bpm":null,"direction":"backward"}'


async def test_home_assistant_online_resends_discovery_and_state(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """`online` on homeassistant/status re-sends discovery and state; other payloads do not."""
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port) as rec,
        MqttBridge(settings_for(amqtt_broker), [T1], handler) as bridge,
    ):
        bridge.publish_state("t1", {"status": "idle"})
        await rec.wait_topic("homeassistant/device/treadctl_t1/config")
        await bridge.flush()
        await rec.publish("homeassistant/status", b"offline")
        start = len(rec.messages)
        await rec.publish("homeassistant/status", b"online")
        config = await rec.wait_topic("homeassistant/device/treadctl_t1/config", start=start)
        state = await rec.wait_topic("treadctl/t1/state", start=start)
        # Only one re-announcement: the `offline` before it triggered nothing.
        later_configs = [
            m for m in rec.messages if m.topic == "homeassistant/device/treadctl_t1/config"
        ]
    assert len(later_configs) == 2
    assert config.json()["device"]["identifiers"] == ["treadctl_t1"]
    assert state.json() == {"status": "idle"}


async def test_update_treadmill_reannounces_with_device_information(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """When device information becomes known, the discovery message is sent again with it."""
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, ("homeassistant/#",)) as rec,
        MqttBridge(settings_for(amqtt_broker), [T1], handler) as bridge,
    ):
        first = await rec.wait_topic("homeassistant/device/treadctl_t1/config")
        bridge.update_treadmill(
            TreadmillInfo("t1", "Lane 1", manufacturer="Acme", model="W1", firmware="1.2.3")
        )
        second = await rec.wait_topic("homeassistant/device/treadctl_t1/config", start=1)
    assert "manufacturer" not in first.json()["device"]
    assert second.json()["device"] == {
        "identifiers": ["treadctl_t1"],
        "name": "Lane 1",
        "manufacturer": "Acme",
        "model": "W1",
        "sw_version": "1.2.3",
    }
    assert second.retain is False  # a live subscriber sees retain=0 (MQTT 3.1.1 §3.3.1.3)


async def test_every_command_succeeds_through_the_handler(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """Every command with a valid payload reaches the handler parsed and is answered ok."""
    settings = settings_for(amqtt_broker, commands_enabled=True)
    cases = [
        ("start", '{"workout": "first-timer", "request_id": "r1"}'),
        ("pause", ""),
        ("resume", "{}"),
        ("skip", "{}"),
        ("set_speed", '{"speed_kmh": 3, "direction": "backward"}'),
        ("set_incline", '{"incline_pct": 2.5}'),
        ("stop", "{}"),
        ("estop", "{}"),
    ]
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, RESULTS) as rec,
        MqttBridge(settings, [T1], handler),
    ):
        await ready(rec)
        answers = [await command(rec, name, payload) for name, payload in cases]
    assert [(a["command"], a["ok"], a["reason"]) for a in answers] == [
        (name, True, None) for name, _ in cases
    ]
    assert answers[0]["request_id"] == "r1"
    assert answers[0]["detail"] == {"workout": "first-timer"}
    assert handler.names() == [name for name, _ in cases]
    assert handler.calls[0] == ("t1", StartCommand(workout="first-timer", request_id="r1"))
    assert handler.calls[4] == ("t1", SetSpeedCommand(speed_kmh=3.0, direction="backward"))


async def test_handler_refusals_are_answered_with_their_reason_and_values(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """Refusals from the daemon (cap, unknown workout, latched, no workout, a crash) are answered
    with a reason and the requested and allowed values."""
    settings = settings_for(amqtt_broker, commands_enabled=True)
    handler.latched = True
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, RESULTS) as rec,
        MqttBridge(settings, [T1], handler),
    ):
        await ready(rec)
        over_cap = await command(rec, "set_speed", '{"speed_kmh": 5.5}')
        steep = await command(rec, "set_incline", '{"incline_pct": 12}')
        unknown = await command(rec, "start", '{"workout": "marathon"}')
        latched = await command(rec, "resume", "{}")
        no_workout = await command(rec, "skip", "{}")
        handler.fail_with = RuntimeError("boom")
        crashed = await command(rec, "pause", "{}")
    assert over_cap["ok"] is False
    assert over_cap["reason"] == "speed above the backward cap"
    assert over_cap["detail"] == {
        "error": "LimitExceededError",
        "code": "over_cap",
        "requested": 5.5,
        "allowed": 4.0,
        "unit": "km/h",
    }
    assert steep["detail"]["requested"] == 12.0  # type: ignore[index]
    assert unknown["reason"] == "unknown workout 'marathon'"
    assert unknown["detail"] == {"known": ["first-timer", "retro-intervals"]}
    assert latched["reason"] == "latched after a safety stop: press Start on the console"
    assert latched["detail"] == {"error": "LatchedError", "code": "latched"}
    assert no_workout["reason"] == "no workout is running"
    assert crashed["reason"] == "internal error while carrying out the command"


async def test_bridge_refusals_name_the_topic_and_field(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """Malformed JSON, raw bytes, wrong shapes, unknown commands and fields are refused with a
    reason naming the topic (and the field); none reaches the handler."""
    settings = settings_for(amqtt_broker, commands_enabled=True)
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, RESULTS) as rec,
        MqttBridge(settings, [T1], handler),
    ):
        await ready(rec)
        first = await command(rec, "nothing-yet", b"")
        answers = {
            "bad_json": await command(rec, "pause", b"{not json"),
            "raw_bytes": await command(rec, "stop", b"\xff\xfe\x00\x81"),
            "array": await command(rec, "start", b'["first-timer"]'),
            "missing": await command(rec, "start", b"{}"),
            "string_number": await command(rec, "set_speed", b'{"speed_kmh": "3"}'),
            "bool_number": await command(rec, "set_speed", b'{"speed_kmh": true}'),
            "nan": await command(rec, "set_speed", b'{"speed_kmh": NaN}'),
            "negative": await command(rec, "set_speed", b'{"speed_kmh": -1}'),
            "direction": await command(rec, "set_speed", b'{"speed_kmh": 2, "direction": "up"}'),
            "extra": await command(rec, "pause", b'{"speed_kmh": 9}'),
            "cap_field": await command(rec, "set_speed", b'{"speed_kmh": 2, "max_kmh": 9}'),
        }
    assert first["reason"] == (
        "treadctl/t1/cmd/nothing-yet: unknown command 'nothing-yet' (known: estop, pause, "
        "resume, set_incline, set_speed, skip, start, stop)"
    )
    reasons = {key: answer["reason"] for key, answer in answers.items()}
    assert all(answer["ok"] is False for answer in answers.values())
    assert str(reasons["bad_json"]).startswith("treadctl/t1/cmd/pause: payload is not valid JSON")
    assert reasons["raw_bytes"] == "treadctl/t1/cmd/stop: payload is not UTF-8 text"
    assert reasons["array"] == "treadctl/t1/cmd/start: payload must be a JSON object, got list"
    assert reasons["missing"] == "treadctl/t1/cmd/start field 'workout': Field required"
    assert reasons["string_number"] == (
        "treadctl/t1/cmd/set_speed field 'speed_kmh': Input should be a valid number"
    )
    assert reasons["bool_number"] == reasons["string_number"]
    assert reasons["nan"] == (
        "treadctl/t1/cmd/set_speed field 'speed_kmh': Input should be a finite number"
    )
    assert reasons["negative"] == (
        "treadctl/t1/cmd/set_speed field 'speed_kmh': Input should be greater than or equal to 0"
    )
    assert reasons["direction"] == (
        "treadctl/t1/cmd/set_speed field 'direction': Input should be 'forward' or 'backward'"
    )
    assert reasons["extra"] == (
        "treadctl/t1/cmd/pause field 'speed_kmh': Extra inputs are not permitted"
    )
    # There is no way to send a cap: an unknown field is refused, never applied.
    assert reasons["cap_field"] == (
        "treadctl/t1/cmd/set_speed field 'max_kmh': Extra inputs are not permitted"
    )
    assert answers["missing"]["detail"] == {
        "topic": "treadctl/t1/cmd/start",
        "where": "treadctl/t1/cmd/start field 'workout'",
    }
    assert handler.calls == []


async def test_random_payloads_are_all_answered_and_the_bridge_lives_on(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """Seeded random bytes and JSON shapes on every command topic: each gets exactly one answer,
    nothing crashes, and a valid command afterwards still works."""
    seed = 20240611
    rng = random.Random(seed)
    names = ["start", "pause", "resume", "stop", "skip", "set_speed", "set_incline", "bogus"]
    shapes = [
        lambda: rng.randbytes(rng.randint(0, 40)),
        lambda: json.dumps(rng.choice([None, 1, -2.5, "x", [], [1, 2], True])).encode(),
        lambda: json.dumps(
            {
                rng.choice(["workout", "speed_kmh", "incline_pct", "z"]): rng.choice(
                    [None, 1e308, -1, "first-timer", [], {}, False]
                )
            }
        ).encode(),
        lambda: b"[" * rng.randint(1, 5000),
    ]
    sent = [(rng.choice(names), rng.choice(shapes)()) for _ in range(60)]
    settings = settings_for(amqtt_broker, commands_enabled=True)
    handler.release.set()
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, RESULTS) as rec,
        MqttBridge(settings, [T1], handler),
    ):
        await ready(rec)
        for name, payload in sent:
            await rec.publish(f"treadctl/t1/cmd/{name}", payload)
        answers = await rec.wait_count(lambda m: m.topic.endswith("/result"), len(sent))
        alive = await command(rec, "pause", "{}")
    assert len(answers) == len(sent), f"seed {seed}"
    for answer in answers:
        body = answer.json()
        assert body["ok"] is True or "treadctl/t1/cmd/" in str(body["reason"]) or body["detail"], (
            f"seed {seed}: {body}"
        )
    assert alive["ok"] is True


async def test_commands_disabled_refuses_every_command(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """With `commands_enabled = false` every command, estop included, is refused and none
    reaches the handler."""
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, RESULTS) as rec,
        MqttBridge(settings_for(amqtt_broker), [T1], handler),
    ):
        await ready(rec)
        start = await command(rec, "start", '{"workout": "first-timer"}')
        estop = await command(rec, "estop", "{}")
    for answer in (start, estop):
        assert answer["ok"] is False
        assert answer["reason"] == "commands are disabled (mqtt.commands_enabled = false)"
    assert handler.calls == []


async def test_retained_commands_are_never_acted_on(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """A retained `start` left on the broker is answered "ignored" and never reaches the
    handler when the daemon (re)starts; a live command afterwards does."""
    settings = settings_for(amqtt_broker, commands_enabled=True)
    async with MqttRecorder(amqtt_broker.host, amqtt_broker.port, RESULTS) as rec:
        await rec.publish("treadctl/t1/cmd/start", '{"workout": "first-timer"}', retain=True)
        async with MqttBridge(settings, [T1], handler):
            stale = result(await rec.wait_topic("treadctl/t1/cmd/result"))
            live = await command(rec, "pause", "{}")
    assert stale["command"] == "start"
    assert stale["ok"] is False
    assert stale["reason"] == "retained message ignored: commands must not be retained"
    assert live["ok"] is True
    assert handler.names() == ["pause"]
