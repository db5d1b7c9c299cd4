"""The issue's "done when", as a test: with a real broker (mosquitto), a subscriber on
`treadctl/#` and `homeassistant/#` sees discovery, availability, state, telemetry and events of
a bundled workout running on the virtual treadmill (to its end, the session summary included),
and every payload key a discovered Home Assistant entity reads is one the daemon really
publishes (the seam between `treadctl.mqtt`'s discovery and `treadctl.daemon`'s payloads)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from testsupport.brokers import MosquittoBroker, require_mosquitto
from testsupport.mqtt_recorder import MqttRecorder, Received

from treadctl.daemon.app import Daemon
from treadctl.daemon.demo import demo_config
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import shared_link
from treadctl.sim.settings import TreadmillConfig
from treadctl.workout.clock import ScaledClock

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(60)]

SPEEDUP = 200.0  # the first-timer's 10.5 minutes pass in about 3 s (as in `treadctl demo`)
ROOT = "treadctl/demo"
DISCOVERY = "homeassistant/device/treadctl_demo/config"
FIELD = re.compile(r"value_json\.([a-z_]+)")


async def test_a_workout_on_the_virtual_treadmill_shows_every_topic(tmp_path: Path) -> None:
    """Discovery (with command entities), `online`, the retained state of the running workout,
    telemetry of the moving belt and the workout's events (step started, rise announced, turn
    around, finished) all reach a plain subscriber, the session's summary last; each sensor's
    `value_json.<key>` is a key of the payloads on its state topic."""
    require_mosquitto()
    async with (
        MosquittoBroker(tmp_path) as broker,
        VirtualTreadmill(
            TreadmillConfig(name="treadctl-demo"), link=shared_link(), speedup=SPEEDUP
        ) as treadmill,
        MqttRecorder(broker.host, broker.port, ("treadctl/#", "homeassistant/#")) as sub,
    ):
        daemon = Daemon(
            demo_config(broker.host, broker.port, tmp_path / "state"),
            clock=ScaledClock(SPEEDUP),
            handle_signals=False,
        )
        task = asyncio.create_task(daemon.run())
        try:
            await sub.wait_for(_on("state", lambda s: s.get("link_connected") is True))
            await sub.publish(f"{ROOT}/cmd/start", json.dumps({"workout": "first-timer"}))
            answer = await sub.wait_topic(f"{ROOT}/cmd/result")
            assert answer.json()["ok"] is True, answer.json()
            await sub.wait_for(_on("telemetry", lambda t: (t.get("speed_kmh") or 0) > 0))
            await sub.wait_for(_on("event", lambda e: e.get("event") == "turn_around"))
            await sub.wait_for(_on("telemetry", lambda t: t.get("direction") == "backward"))
            await sub.wait_for(_on("event", lambda e: e.get("event") == "session_summary"))
        finally:
            daemon.stop.set()
            await task
        assert treadmill.model.writes, "the daemon never drove the treadmill"
    messages = list(sub.messages)

    [config] = [m.json() for m in messages if m.topic == DISCOVERY][:1]
    components = config["components"]
    assert {"device", "origin", "components"} <= config.keys()
    assert config["availability"][0]["topic"] == f"{ROOT}/availability"
    assert components["treadctl_demo_estop"]["command_topic"] == f"{ROOT}/cmd/estop"
    assert "first-timer" in components["treadctl_demo_workout_select"]["options"]

    assert any(m.payload == b"online" for m in _topic(messages, "availability"))
    states = [m.json() for m in _topic(messages, "state")]
    assert any(s.get("status") == "running" and s.get("workout") for s in states), states[-3:]
    assert all(m.retain is False for m in _topic(messages, "event"))
    kinds = [m.json()["event"] for m in _topic(messages, "event")]
    for kind in ("step_started", "speed_rise_announced", "turn_around", "workout_finished"):
        assert kind in kinds, kinds
    assert kinds[-1] == "session_summary"
    summary = _topic(messages, "event")[-1].json()
    assert (summary["state"], summary["completed"]) == ("finished", True)
    assert 290 <= summary["backward_s"] <= 320
    [record] = (tmp_path / "state" / "sessions").glob("*.jsonl")
    assert summary["session_id"] == record.stem
    telemetry = [m.json() for m in _topic(messages, "telemetry")]
    moving = [t for t in telemetry if (t.get("speed_kmh") or 0) > 0]
    assert moving
    assert max(t["speed_kmh"] for t in moving if t.get("direction") == "backward") <= 2.0

    published: dict[str, set[str]] = {}
    for m in messages:
        if m.topic.startswith(f"{ROOT}/") and m.topic.rsplit("/", 1)[-1] in ("state", "telemetry"):
            published.setdefault(m.topic, set()).update(m.json())
    for component_id, component in components.items():
        template = component.get("value_template")
        if template is None:
            continue
        for key in FIELD.findall(template):
            keys = published.get(component["state_topic"], set())
            assert key in keys, f"{component_id} reads {key!r}; published: {sorted(keys)}"


def _on(suffix: str, predicate: Any) -> Any:
    """A message predicate: on `ROOT/<suffix>`, whose JSON payload satisfies `predicate`."""
    return lambda m: m.topic == f"{ROOT}/{suffix}" and predicate(m.json())


def _topic(messages: list[Received], suffix: str) -> list[Received]:
    return [m for m in messages if m.topic == f"{ROOT}/{suffix}"]
