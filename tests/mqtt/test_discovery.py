"""Home Assistant device discovery payloads, checked against HA's rules (DESIGN §7)."""

from __future__ import annotations

from typing import Any

import pytest

from treadctl.mqtt import Topics, TreadmillInfo, discovery_payload

INFO = TreadmillInfo(
    "lane-1",
    "Lane 1",
    manufacturer="Acme",
    model="W1",
    firmware="2.0",
    workouts=("first-timer", "retro-intervals"),
)
TOPICS = Topics("treadctl", "homeassistant", "lane-1")

# Units HA accepts per device class, and state classes it accepts (DESIGN §7; HA sensor docs).
UNITS = {
    "speed": {"km/h", "m/s", "mph"},
    "distance": {"m", "km"},
    "duration": {"s", "min", "h", "d"},
    "energy": {"kcal", "Wh", "kWh"},
}
STATE_CLASSES = {
    "speed": {"measurement"},
    "distance": {"total", "total_increasing", "measurement"},
    "duration": {"measurement", "total", "total_increasing"},
    "energy": {"total", "total_increasing"},
}

# component key: (platform, device_class, unit, state_class, state topic)
EXPECTED_SENSORS = {
    "speed": ("sensor", "speed", "km/h", "measurement", "treadctl/lane-1/telemetry"),
    "target_speed": ("sensor", "speed", "km/h", "measurement", "treadctl/lane-1/telemetry"),
    "incline": ("sensor", None, "%", "measurement", "treadctl/lane-1/telemetry"),
    "distance": ("sensor", "distance", "m", "total_increasing", "treadctl/lane-1/telemetry"),
    "elapsed": ("sensor", "duration", "s", "measurement", "treadctl/lane-1/telemetry"),
    "remaining": ("sensor", "duration", "s", "measurement", "treadctl/lane-1/telemetry"),
    "energy": ("sensor", "energy", "kcal", "total_increasing", "treadctl/lane-1/telemetry"),
    "heart_rate": ("sensor", None, "bpm", "measurement", "treadctl/lane-1/telemetry"),
    "steps": ("sensor", None, "steps", "total_increasing", "treadctl/lane-1/telemetry"),
    "progress": ("sensor", None, "%", "measurement", "treadctl/lane-1/telemetry"),
    "direction": ("sensor", "enum", None, None, "treadctl/lane-1/telemetry"),
    "workout": ("sensor", None, None, None, "treadctl/lane-1/state"),
    "step": ("sensor", None, None, None, "treadctl/lane-1/state"),
    "status": ("sensor", None, None, None, "treadctl/lane-1/state"),
    "link": ("binary_sensor", "connectivity", None, None, "treadctl/lane-1/state"),
}
COMMAND_COMPONENTS = {
    "pause": "treadctl/lane-1/cmd/pause",
    "resume": "treadctl/lane-1/cmd/resume",
    "stop": "treadctl/lane-1/cmd/stop",
    "estop": "treadctl/lane-1/cmd/estop",
    "workout_select": "treadctl/lane-1/cmd/start",
}


def check_ha_rules(config: dict[str, Any]) -> None:
    """The rules HA applies to a device discovery message that we rely on."""
    assert {"device", "origin", "components"} <= config.keys()
    assert config["origin"]["name"] == "treadctl"
    assert config["device"]["identifiers"]
    assert "object_id" not in repr(config)
    for component_id, component in config["components"].items():
        assert "platform" in component, component_id
        if len(component) == 1:
            continue  # a removal entry: only the platform
        assert component["unique_id"] == component_id
        platform = component["platform"]
        assert component["default_entity_id"].startswith(f"{platform}.treadctl_lane_1_")
        device_class = component.get("device_class")
        if platform == "sensor" and device_class in UNITS:
            assert component["unit_of_measurement"] in UNITS[device_class], component_id
            assert component["state_class"] in STATE_CLASSES[device_class], component_id
        if device_class == "enum":
            assert "unit_of_measurement" not in component
            assert "state_class" not in component
            assert component["options"]


def short(component_id: str) -> str:
    return component_id.removeprefix("treadctl_lane-1_")


def test_sensors_have_the_right_classes_units_and_topics() -> None:
    """Every sensor has HA's device class, unit and state class for its quantity."""
    config = discovery_payload(INFO, TOPICS, commands_enabled=False)
    check_ha_rules(config)
    found = {
        short(cid): (
            c["platform"],
            c.get("device_class"),
            c.get("unit_of_measurement"),
            c.get("state_class"),
            c["state_topic"],
        )
        for cid, c in config["components"].items()
        if c["platform"] in ("sensor", "binary_sensor")
    }
    assert found == EXPECTED_SENSORS


def test_device_origin_and_availability_blocks() -> None:
    """The device carries what is known of the treadmill; availability is its last-will topic."""
    config = discovery_payload(INFO, TOPICS, commands_enabled=False)
    assert config["device"] == {
        "identifiers": ["treadctl_lane-1"],
        "name": "Lane 1",
        "manufacturer": "Acme",
        "model": "W1",
        "sw_version": "2.0",
    }
    assert config["availability"] == [
        {
            "topic": "treadctl/lane-1/availability",
            "payload_available": "online",
            "payload_not_available": "offline",
        }
    ]
    assert set(config["origin"]) == {"name", "sw_version", "support_url"}


def test_command_entities_only_when_commands_are_enabled() -> None:
    """Buttons and the workout select exist only with commands enabled; otherwise the same
    component ids are sent with only `platform`, which removes them in HA."""
    disabled = discovery_payload(INFO, TOPICS, commands_enabled=False)["components"]
    enabled = discovery_payload(INFO, TOPICS, commands_enabled=True)["components"]
    check_ha_rules(
        {"device": {"identifiers": ["x"]}, "origin": {"name": "treadctl"}, "components": enabled}
    )
    for key, topic in COMMAND_COMPONENTS.items():
        cid = f"treadctl_lane-1_{key}"
        assert len(disabled[cid]) == 1
        assert enabled[cid]["command_topic"] == topic
    assert enabled["treadctl_lane-1_estop"]["payload_press"] == "{}"
    select = enabled["treadctl_lane-1_workout_select"]
    assert select["options"] == ["first-timer", "retro-intervals"]
    assert select["command_template"] == '{"workout": {{ value | tojson }}}'


@pytest.mark.parametrize("bad", ["", "a/b", "a+b", "é", "x" * 49, "-x"])
def test_treadmill_id_must_be_topic_safe(bad: str) -> None:
    """An id that cannot be one topic level is refused with a ConfigError naming it."""
    from treadctl.errors import ConfigError

    with pytest.raises(ConfigError, match="treadmill id"):
        TreadmillInfo(bad)


@pytest.mark.parametrize("example", ["examples/home-assistant/dashboard.yaml", "README.md"])
def test_dashboard_example_uses_only_discovered_entities(example: str) -> None:
    """The example dashboard and the README's minimal card name only entity ids the
    discovery creates."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / example).read_text(encoding="utf-8")
    used = set(re.findall(r"\b((?:sensor|binary_sensor|button|select)\.treadctl_[a-z0-9_]+)", text))
    config = discovery_payload(INFO, TOPICS, commands_enabled=True)
    known = {c["default_entity_id"] for c in config["components"].values() if len(c) > 1}
    assert used
    assert used <= known, used - known
