"""Topic names and what the bridge knows about each treadmill.

Owns: `TreadmillInfo` (id, name, device information, workout names) and `Topics`, the one place
where topic strings are built. Layout (DESIGN §7), under `<base>/<id>/`: `availability`, `state`,
`telemetry`, `event`, `cmd/<name>`, `cmd/result`; Home Assistant discovery goes to
`<prefix>/device/<base>_<id>/config` and HA's own birth topic is `<prefix>/status`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from treadctl.errors import ConfigError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")


@dataclass(frozen=True)
class TreadmillInfo:
    """One treadmill as MQTT and Home Assistant show it.

    `id` becomes a topic level and part of entity ids: 1-48 of A-Z a-z 0-9 _ - (starting with a
    letter or digit). Device fields are None until the BLE link has read Device Information;
    `update_treadmill()` re-announces discovery when they become known. `workouts` fills the
    Home Assistant workout select. Raises `ConfigError` for a bad id.
    """

    id: str
    name: str = ""
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    hardware: str | None = None
    serial_number: str | None = None
    workouts: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ConfigError(
                f"{self.id!r} is not a usable id (1-48 of A-Z a-z 0-9 _ -, "
                "starting with a letter or digit)",
                where="treadmill id",
            )
        object.__setattr__(self, "workouts", tuple(self.workouts))

    @property
    def display_name(self) -> str:
        """The device name Home Assistant shows."""
        return self.name or f"Treadmill {self.id}"

    @property
    def slug(self) -> str:
        """The id as Home Assistant entity ids want it: lowercase, underscores."""
        return self.id.lower().replace("-", "_")


@dataclass(frozen=True)
class Topics:
    """Every topic of one treadmill."""

    base_topic: str
    discovery_prefix: str
    treadmill_id: str

    @property
    def root(self) -> str:
        """`<base>/<id>`."""
        return f"{self.base_topic}/{self.treadmill_id}"

    @property
    def availability(self) -> str:
        """`online`/`offline`, retained; the last will."""
        return f"{self.root}/availability"

    @property
    def state(self) -> str:
        """The retained JSON state."""
        return f"{self.root}/state"

    @property
    def telemetry(self) -> str:
        """Telemetry samples (JSON)."""
        return f"{self.root}/telemetry"

    @property
    def event(self) -> str:
        """Events (JSON, not retained)."""
        return f"{self.root}/event"

    @property
    def command_filter(self) -> str:
        """The subscription for every command: `<base>/<id>/cmd/+`."""
        return f"{self.root}/cmd/+"

    @property
    def result(self) -> str:
        """Where every command is answered."""
        return f"{self.root}/cmd/result"

    def command(self, name: str) -> str:
        """The topic of command `name`: `<base>/<id>/cmd/<name>`."""
        return f"{self.root}/cmd/{name}"

    @property
    def ha_status(self) -> str:
        """Home Assistant's birth/last-will topic (`online` means: re-send discovery)."""
        return f"{self.discovery_prefix}/status"

    @property
    def discovery(self) -> str:
        """Device-based discovery config topic (HA ≥ 2024.11)."""
        return f"{self.discovery_prefix}/device/{self.base_topic}_{self.treadmill_id}/config"

    def command_name(self, topic: str) -> str | None:
        """The command name of a topic under `cmd/`, or None when the topic is not one."""
        prefix = f"{self.root}/cmd/"
        if not topic.startswith(prefix):
            return None
        name = topic[len(prefix) :]
        return name if name and "/" not in name else None
