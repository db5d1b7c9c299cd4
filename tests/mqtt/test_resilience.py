"""The bridge when things go wrong: a command flood with an emergency stop in it, the broker
restarting mid-stream, the broker absent at start-up (amqtt, in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mqtt.support import Handler, ReconnectGate, SettingsFactory
from testsupport.brokers import AmqttBroker, MosquittoBroker, require_mosquitto
from testsupport.mqtt_recorder import MqttRecorder, Received

from treadctl.mqtt import MqttBridge, TreadmillInfo

pytestmark = pytest.mark.timeout(30)

T1 = TreadmillInfo("t1", "Lane 1")


async def test_estop_overtakes_a_flood_and_telemetry_still_flows(
    amqtt_broker: AmqttBroker, settings_for: SettingsFactory, handler: Handler
) -> None:
    """With the handler stuck on a command and 40 more queued or refused behind it, an estop is
    carried out at once and answered before them, and telemetry keeps flowing meanwhile."""
    settings = settings_for(amqtt_broker, commands_enabled=True, command_queue_size=8)
    handler.release.clear()  # set_speed calls hang until released
    async with (
        MqttRecorder(amqtt_broker.host, amqtt_broker.port, ("treadctl/t1/#",)) as rec,
        MqttBridge(settings, [T1], handler) as bridge,
    ):
        await rec.wait_topic("treadctl/t1/availability", payload=b"online")
        for index in range(40):
            await rec.publish(
                "treadctl/t1/cmd/set_speed", f'{{"speed_kmh": 2.0, "request_id": "s{index}"}}'
            )
        await rec.publish("treadctl/t1/cmd/estop", '{"request_id": "stop-now"}')
        estop = await rec.wait_for(
            lambda m: m.topic == "treadctl/t1/cmd/result" and m.json()["command"] == "estop"
        )
        calls_when_estopped = handler.names()
        bridge.publish_telemetry("t1", {"speed_kmh": 0.0, "direction": "backward"})
        telemetry = await rec.wait_topic("treadctl/t1/telemetry")
        handler.release.set()
        results = await rec.wait_count(lambda m: m.topic == "treadctl/t1/cmd/result", 41)
    # The one set_speed already in the handler, then the estop: nothing else ran before it.
    assert calls_when_estopped == ["set_speed", "estop"]
    assert estop.json()["ok"] is True
    assert estop.json()["request_id"] == "stop-now"
    assert telemetry.json() == {"speed_kmh": 0.0, "direction": "backward"}
    bodies = [m.json() for m in results]
    busy = [b for b in bodies if b["command"] == "set_speed" and not b["ok"]]
    done = [b for b in bodies if b["command"] == "set_speed" and b["ok"]]
    assert len(busy) + len(done) == 40
    assert 1 <= len(done) <= 1 + 8  # the one in the handler and at most a full queue
    assert all(b["reason"] == "busy: 8 commands are already waiting" for b in busy)
    # Every accepted set_speed was answered after the estop.
    assert results.index(estop) < min(
        i for i, b in enumerate(bodies) if b["command"] == "set_speed" and b["ok"]
    )
    assert handler.names().count("set_speed") == len(done)


@pytest.fixture(params=["amqtt", pytest.param("mosquitto", marks=pytest.mark.mosquitto)])
async def any_broker(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AmqttBroker | MosquittoBroker]:
    """Each test using it runs on amqtt and on mosquitto (skipped where it is not installed)."""
    if request.param == "amqtt":
        async with AmqttBroker() as broker:
            yield broker
    else:
        require_mosquitto()
        async with MosquittoBroker(tmp_path) as mosquitto:
            yield mosquitto


async def test_broker_restart_loses_no_event_and_keeps_newest_telemetry(
    any_broker: AmqttBroker | MosquittoBroker,
    settings_for: SettingsFactory,
    handler: Handler,
    gate: ReconnectGate,
) -> None:
    """Events published before, during and after a broker restart all arrive, in order; of the
    telemetry published while it was away only the newest `telemetry_queue_size` samples do."""
    amqtt_broker = any_broker
    settings = settings_for(amqtt_broker, telemetry_queue_size=5)
    async with MqttBridge(settings, [T1], handler, reconnect_sleep=gate.sleep) as bridge:
        async with MqttRecorder(amqtt_broker.host, amqtt_broker.port, ("treadctl/t1/#",)) as rec:
            await rec.wait_topic("treadctl/t1/availability", payload=b"online")
            for index in range(5):
                bridge.publish_event("t1", {"event": "tick", "n": index})
            await bridge.flush()
            await rec.wait_count(lambda m: m.topic == "treadctl/t1/event", 5)
            gate.open.clear()
            await amqtt_broker.stop()
            # Published while the bridge may still believe it is connected...
            for index in range(5, 10):
                bridge.publish_event("t1", {"event": "tick", "n": index})
        await gate.waiting.wait()
        assert not bridge.is_connected("t1")
        # ...and while it knows the broker is away.
        for index in range(10, 15):
            bridge.publish_event("t1", {"event": "tick", "n": index})
        for index in range(20):
            bridge.publish_telemetry("t1", {"speed_kmh": index * 1.0, "direction": "backward"})
        await amqtt_broker.start()
        async with MqttRecorder(amqtt_broker.host, amqtt_broker.port, ("treadctl/t1/#",)) as rec2:
            gate.open.set()
            await rec2.wait_topic("treadctl/t1/availability", payload=b"online")
            await bridge.flush()
            events = await rec2.wait_count(
                lambda m: m.topic == "treadctl/t1/event" and m.json()["n"] == 14, 1
            )
            del events
            telemetry = await rec2.wait_count(lambda m: m.topic == "treadctl/t1/telemetry", 5)
    seen = [m.json()["n"] for m in rec.on("treadctl/t1/event")] + [
        m.json()["n"] for m in rec2.on("treadctl/t1/event")
    ]
    # At least once, in order: a duplicate is allowed only where the broker went down.
    assert sorted(set(seen)) == list(range(15))
    first_seen = list(dict.fromkeys(seen))
    assert first_seen == list(range(15))
    assert [m.json()["speed_kmh"] for m in telemetry] == [15.0, 16.0, 17.0, 18.0, 19.0]


async def test_broker_absent_at_start_then_everything_queued_goes_out(
    settings_for: SettingsFactory, handler: Handler, gate: ReconnectGate
) -> None:
    """Started with no broker, the bridge neither raises nor blocks the daemon's calls; when a
    broker appears, discovery, state and the queued events go out."""
    broker = AmqttBroker()
    gate.open.clear()
    try:
        async with MqttBridge(
            settings_for(broker), [T1], handler, reconnect_sleep=gate.sleep
        ) as bridge:
            await gate.waiting.wait()
            bridge.set_link("t1", False)
            bridge.publish_event("t1", {"event": "link_lost"})
            bridge.publish_event(
                "t1", {"event": "workout_finished", "summary": {"distance_m": 812}}
            )
            await broker.start()
            async with MqttRecorder(broker.host, broker.port) as rec:
                gate.open.set()
                await rec.wait_topic("treadctl/t1/availability", payload=b"online")
                await bridge.flush()
                await rec.wait_count(lambda m: m.topic == "treadctl/t1/event", 2)
        async with MqttRecorder(broker.host, broker.port, ("treadctl/t1/availability",)) as late:
            offline = await late.wait_topic("treadctl/t1/availability")
    finally:
        await broker.stop()
    assert (offline.payload, offline.retain) == (b"offline", True)
    topics = [m.topic for m in rec.messages]
    assert topics.index("homeassistant/device/treadctl_t1/config") < topics.index(
        "treadctl/t1/event"
    )
    assert [m.json() for m in rec.on("treadctl/t1/event")] == [
        {"event": "link_lost"},
        {"event": "workout_finished", "summary": {"distance_m": 812}},
    ]
    assert rec.on("treadctl/t1/state")[-1].json() == {"link_connected": False}
    assert gate.delays, "the bridge waited before retrying"


async def answer_while_away(
    bridge: MqttBridge,
    broker: AmqttBroker,
    handler: Handler,
    gate: ReconnectGate,
    commands: list[tuple[str, str]],
) -> None:
    """Deliver `commands` to the bridge with the handler held, stop the broker, then let the
    handler carry them all out: their answers wait in the outbox until the broker is back."""
    handler.release.clear()  # the first set_speed holds the handler; the rest queue behind it
    async with MqttRecorder(broker.host, broker.port, ("treadctl/t1/#",)) as rec:
        await rec.wait_topic("treadctl/t1/availability", payload=b"online")
        for name, payload in commands:
            await rec.publish(f"treadctl/t1/cmd/{name}", payload)
        # Refused at once, so answered at once: by then the bridge has all the commands above.
        await rec.publish("treadctl/t1/cmd/bogus", b"{}")
        await rec.wait_topic("treadctl/t1/cmd/result")
        gate.open.clear()
        await broker.stop()
    await gate.waiting.wait()
    handler.release.set()
    await handler.wait_answered(len(commands))


async def reconnect_and_collect(
    bridge: MqttBridge, broker: AmqttBroker, gate: ReconnectGate, answers: int
) -> list[Received]:
    """Bring the broker back, let the bridge reconnect, and return what it published."""
    await broker.start()
    async with MqttRecorder(broker.host, broker.port, ("treadctl/t1/#",)) as rec:
        gate.open.set()
        await rec.wait_topic("treadctl/t1/availability", payload=b"online")
        await bridge.flush()
        await rec.wait_count(lambda m: m.topic == "treadctl/t1/cmd/result", answers)
    return rec.messages


def set_speed(index: int, speed_kmh: float) -> tuple[str, str]:
    return ("set_speed", f'{{"speed_kmh": {speed_kmh}, "request_id": "{index}"}}')


async def test_telemetry_goes_out_while_the_answer_queue_is_full(
    settings_for: SettingsFactory, handler: Handler, gate: ReconnectGate
) -> None:
    """With 100 command answers waiting when the broker comes back, a telemetry sample queued
    after them is passed over by at most four publications (discovery and three answers), not
    sent after all 100; every answer still arrives, in order."""
    broker = AmqttBroker()
    await broker.start()
    settings = settings_for(
        broker, commands_enabled=True, command_queue_size=100, result_queue_size=100
    )
    try:
        async with MqttBridge(settings, [T1], handler, reconnect_sleep=gate.sleep) as bridge:
            await answer_while_away(
                bridge, broker, handler, gate, [set_speed(i, 2.0) for i in range(100)]
            )
            bridge.publish_telemetry("t1", {"speed_kmh": 2.0, "direction": "backward"})
            messages = await reconnect_and_collect(bridge, broker, gate, 100)
    finally:
        await broker.stop()
    outcome = [
        m.json()["request_id"] if m.topic.endswith("/cmd/result") else "telemetry"
        for m in messages
        if m.topic in ("treadctl/t1/cmd/result", "treadctl/t1/telemetry")
    ]
    # Discovery and three answers went ahead of it: at most four publications pass it over.
    assert outcome.index("telemetry") <= 3, outcome[:10]
    assert [r for r in outcome if r != "telemetry"] == [str(index) for index in range(100)]


async def test_a_full_answer_queue_drops_refusals_before_answers_of_commands_carried_out(
    settings_for: SettingsFactory, handler: Handler, gate: ReconnectGate
) -> None:
    """Six answers for a queue of three: the three refusals (speeds over the cap) are dropped,
    the three accepted commands are answered, in order."""
    broker = AmqttBroker()
    await broker.start()
    settings = settings_for(broker, commands_enabled=True, result_queue_size=3)
    commands = [set_speed(i, 2.0 if i % 2 == 0 else 5.0) for i in range(6)]
    try:
        async with MqttBridge(settings, [T1], handler, reconnect_sleep=gate.sleep) as bridge:
            await answer_while_away(bridge, broker, handler, gate, commands)
            messages = await reconnect_and_collect(bridge, broker, gate, 3)
    finally:
        await broker.stop()
    answers = [m.json() for m in messages if m.topic == "treadctl/t1/cmd/result"]
    assert [(a["request_id"], a["ok"]) for a in answers] == [("0", True), ("2", True), ("4", True)]
