"""Home Assistant MQTT discovery: one device-based config message per treadmill.

Owns: the payload published (retained) on `<prefix>/device/<base>_<id>/config`. Pure.
Rules it follows (HA ≥ 2024.11 device discovery; DESIGN §7 "Facts that bite"):
- the message carries `device`, `origin` and `components`; each component has `platform` and
  `unique_id`, and `default_entity_id` (never the deprecated `object_id`);
- units fit their device class: speed km/h `measurement`, distance m `total_increasing`,
  duration s, energy kcal `total_increasing`; heart rate, incline, progress, steps have no
  device class (HA has none for them);
- every entity's availability is the treadmill's `availability` topic, which carries the last
  will of that treadmill's own MQTT connection (see `channel.py`);
- command entities (buttons, the workout select) exist only when commands are enabled; when
  they are not, the same component ids are sent with only `platform`, which is how device
  discovery removes a component that an earlier configuration had announced.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from treadctl.mqtt.topics import Topics, TreadmillInfo

SUPPORT_URL = "https://github.com/treadctl/treadctl"


@dataclass(frozen=True)
class _Sensor:
    key: str  # component id suffix and entity id suffix
    name: str
    source: str  # "telemetry" or "state"
    field: str  # JSON key in that payload
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    icon: str | None = None
    options: tuple[str, ...] = ()


SENSORS: tuple[_Sensor, ...] = (
    _Sensor("speed", "Speed", "telemetry", "speed_kmh", "km/h", "speed", "measurement"),
    _Sensor(
        "target_speed",
        "Target speed",
        "telemetry",
        "target_speed_kmh",
        "km/h",
        "speed",
        "measurement",
    ),
    _Sensor(
        "incline",
        "Incline",
        "telemetry",
        "incline_pct",
        "%",
        None,
        "measurement",
        "mdi:slope-uphill",
    ),
    _Sensor("distance", "Distance", "telemetry", "distance_m", "m", "distance", "total_increasing"),
    _Sensor("elapsed", "Elapsed time", "telemetry", "elapsed_s", "s", "duration", "measurement"),
    _Sensor(
        "remaining", "Remaining time", "telemetry", "remaining_s", "s", "duration", "measurement"
    ),
    _Sensor("energy", "Energy", "telemetry", "energy_kcal", "kcal", "energy", "total_increasing"),
    _Sensor(
        "heart_rate",
        "Heart rate",
        "telemetry",
        "heart_rate_bpm",
        "bpm",
        None,
        "measurement",
        "mdi:heart-pulse",
    ),
    _Sensor(
        "steps", "Steps", "telemetry", "steps", "steps", None, "total_increasing", "mdi:shoe-print"
    ),
    _Sensor(
        "progress",
        "Progress",
        "telemetry",
        "progress_pct",
        "%",
        None,
        "measurement",
        "mdi:progress-clock",
    ),
    _Sensor(
        "direction",
        "Direction",
        "telemetry",
        "direction",
        None,
        "enum",
        None,
        "mdi:swap-vertical",
        ("forward", "backward"),
    ),
    _Sensor("status", "Status", "state", "status", icon="mdi:treadmill"),
    _Sensor("workout", "Workout", "state", "workout", icon="mdi:clipboard-list"),
    _Sensor("step", "Step", "state", "step", icon="mdi:format-list-numbered"),
)

# (component key, name, command, icon)
BUTTONS: tuple[tuple[str, str, str, str], ...] = (
    ("pause", "Pause", "pause", "mdi:pause"),
    ("resume", "Resume", "resume", "mdi:play"),
    ("stop", "Stop", "stop", "mdi:stop"),
    ("estop", "Emergency stop", "estop", "mdi:alert-octagon"),
)


def origin() -> dict[str, str]:
    """The `origin` block: what publishes this discovery."""
    try:
        version = metadata.version("treadctl")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"name": "treadctl", "sw_version": version, "support_url": SUPPORT_URL}


def device_block(info: TreadmillInfo, base_topic: str) -> dict[str, Any]:
    """The `device` block; fields not yet known are left out."""
    block: dict[str, Any] = {
        "identifiers": [f"{base_topic}_{info.id}"],
        "name": info.display_name,
    }
    for key, value in (
        ("manufacturer", info.manufacturer),
        ("model", info.model),
        ("sw_version", info.firmware),
        ("hw_version", info.hardware),
        ("serial_number", info.serial_number),
    ):
        if value:
            block[key] = value
    return block


def discovery_payload(
    info: TreadmillInfo, topics: Topics, *, commands_enabled: bool
) -> dict[str, Any]:
    """The whole device discovery config for one treadmill."""
    prefix = f"{topics.base_topic}_{info.id}"
    entity = f"{topics.base_topic}_{info.slug}".lower()
    components: dict[str, dict[str, Any]] = {}
    for sensor in SENSORS:
        components[f"{prefix}_{sensor.key}"] = _sensor(sensor, prefix, entity, topics)
    components[f"{prefix}_link"] = {
        "platform": "binary_sensor",
        "unique_id": f"{prefix}_link",
        "default_entity_id": f"binary_sensor.{entity}_link",
        "name": "Bluetooth link",
        "device_class": "connectivity",
        "state_topic": topics.state,
        "value_template": "{{ 'ON' if value_json.link_connected else 'OFF' }}",
    }
    for key, name, command, icon in BUTTONS:
        unique = f"{prefix}_{key}"
        if not commands_enabled:
            components[unique] = {"platform": "button"}
            continue
        components[unique] = {
            "platform": "button",
            "unique_id": unique,
            "default_entity_id": f"button.{entity}_{key}",
            "name": name,
            "icon": icon,
            "command_topic": topics.command(command),
            "payload_press": "{}",
        }
    components[f"{prefix}_workout_select"] = _select(info, prefix, entity, topics, commands_enabled)
    return {
        "device": device_block(info, topics.base_topic),
        "origin": origin(),
        "availability": [
            {
                "topic": topics.availability,
                "payload_available": "online",
                "payload_not_available": "offline",
            }
        ],
        "qos": 1,
        "components": components,
    }


def _sensor(sensor: _Sensor, prefix: str, entity: str, topics: Topics) -> dict[str, Any]:
    config: dict[str, Any] = {
        "platform": "sensor",
        "unique_id": f"{prefix}_{sensor.key}",
        "default_entity_id": f"sensor.{entity}_{sensor.key}",
        "name": sensor.name,
        "state_topic": topics.telemetry if sensor.source == "telemetry" else topics.state,
        # A missing key renders "None", which HA's MQTT sensor shows as unknown.
        "value_template": f"{{{{ value_json.{sensor.field} | default(None) }}}}",
    }
    for key, value in (
        ("unit_of_measurement", sensor.unit),
        ("device_class", sensor.device_class),
        ("state_class", sensor.state_class),
        ("icon", sensor.icon),
    ):
        if value is not None:
            config[key] = value
    if sensor.options:
        config["options"] = list(sensor.options)
    return config


def _select(
    info: TreadmillInfo, prefix: str, entity: str, topics: Topics, commands_enabled: bool
) -> dict[str, Any]:
    if not commands_enabled or not info.workouts:
        return {"platform": "select"}
    return {
        "platform": "select",
        "unique_id": f"{prefix}_workout_select",
        "default_entity_id": f"select.{entity}_workout",
        "name": "Start workout",
        "icon": "mdi:play-box-multiple",
        "options": list(info.workouts),
        "state_topic": topics.state,
        "value_template": "{{ value_json.workout | default(None) }}",
        "command_topic": topics.command("start"),
        "command_template": '{"workout": {{ value | tojson }}}',
    }
