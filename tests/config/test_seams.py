"""The [limits] and [turn] sections build the governor's Limits and TurnSettings as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from treadctl.config import LimitsConfig, TurnConfig, load_config

safety = pytest.importorskip("treadctl.safety")

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "treadctl.example.toml"


def _extremes(model: type[LimitsConfig] | type[TurnConfig], pick: str) -> dict[str, object]:
    """Each numeric key at the lowest or highest value the config accepts."""
    values: dict[str, object] = {}
    for name, info in model.model_fields.items():
        bounds = {type(m).__name__: m for m in info.metadata}
        if pick == "low":
            if "Ge" in bounds:
                values[name] = float(bounds["Ge"].ge)
            elif "Gt" in bounds:
                values[name] = float(bounds["Gt"].gt) + 0.01
        elif "Le" in bounds:
            values[name] = float(bounds["Le"].le)
    return values


def test_example_sections_build_the_governor_inputs() -> None:
    """safety.Limits(**limits) and safety.TurnSettings(**turn) accept the loaded sections."""
    config = load_config(EXAMPLE, env={})
    limits = safety.Limits(**config.limits.model_dump())
    turn = safety.TurnSettings(**config.turn.model_dump())
    assert limits.backward_max_kmh == config.limits.backward_max_kmh
    assert turn.hold_s == config.turn.hold_s


@pytest.mark.parametrize("pick", ["low", "high"])
def test_every_value_the_config_accepts_the_governor_accepts(pick: str) -> None:
    """At the edges of each allowed range the governor's own checks agree with the config's."""
    raw = _extremes(LimitsConfig, pick)
    if pick == "high":
        raw["backward_start_kmh"] = 3.0  # also capped by backward_max_kmh (6.0 here)
    limits = LimitsConfig.model_validate(raw)
    turn = TurnConfig.model_validate(_extremes(TurnConfig, pick))
    safety.Limits(**limits.model_dump())
    safety.TurnSettings(**turn.model_dump())


def test_mqtt_section_builds_the_bridge_settings() -> None:
    """Every [mqtt] key but `enabled` is a MqttSettings field, and the example's values fit it."""
    settings_module = pytest.importorskip("treadctl.mqtt.settings")
    fields = set(settings_module.MqttSettings.__dataclass_fields__)
    config = load_config(EXAMPLE, env={"TREADCTL_MQTT__USERNAME": "gym"})
    assert set(config.mqtt.model_dump()) - {"enabled"} <= fields
    values = config.mqtt.model_dump(mode="json", exclude={"enabled", "password"})
    settings = settings_module.MqttSettings(**values, password="secret")
    assert settings.base_topic == config.mqtt.base_topic
    assert settings.client_id == config.mqtt.client_id
