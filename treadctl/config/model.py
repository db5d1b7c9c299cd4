"""The configuration's shape: every section, key, default, unit and allowed range.

Owns: the pydantic models behind `treadctl.toml` (`Config` and one model per section; the
`[mqtt]` section's, `MqttConfig`, is in `broker` and importable from here too). Every model is
frozen and refuses unknown keys (a typo must never fall back to a default in a safety product).
Each field's `description` states its unit and what is allowed; error messages quote it.
Defaults come from `ref/retro-walking.md` §6 (DESIGN §2); bounds keep each value sane.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from treadctl.config.broker import MqttConfig as MqttConfig  # re-exported: `[mqtt]` moved
from treadctl.config.fields import Float, Section, bounded, cross_error

SECRET_KEYS = frozenset({"mqtt.password"})
# How a secret that is set is shown in messages and in `check-config` output.
MASKED_VALUE = "********"
# Environment variables `TREADCTL_SECTION__KEY` override the file.
ENV_PREFIX = "TREADCTL_"


# --- [[treadmill]] -------------------------------------------------------------------------

_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


def _mac(value: object) -> object:
    if isinstance(value, str):
        if not _MAC.match(value):
            raise ValueError("not a Bluetooth address AA:BB:CC:DD:EE:FF")
        return value.upper()
    return value


class TreadmillConfig(Section):
    """One treadmill this daemon drives."""

    id: str = Field(
        pattern=r"^[a-z0-9_-]{1,32}$",
        description="1–32 of a-z 0-9 _ - (used in MQTT topics); unique among treadmills",
    )
    address: Annotated[str | None, BeforeValidator(_mac)] = Field(
        default=None, description="Bluetooth address AA:BB:CC:DD:EE:FF (address or name is needed)"
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        description="advertised name or a glob such as 'KS-*' (address or name is needed)",
    )
    adapter: str | None = Field(
        default=None,
        pattern=r"^hci[0-9]{1,2}$",
        description="Bluetooth adapter such as hci0; unset: default",
    )
    profile: str = Field(
        default="auto",
        pattern=r"^[a-z0-9_-]{1,64}$",
        description="'auto' or a quirk-profile name (a-z 0-9 _ -)",
    )
    workout: str | None = Field(
        default=None, min_length=1, description="default workout: a bundled name or a file path"
    )

    @model_validator(mode="after")
    def _address_or_name(self) -> TreadmillConfig:
        if self.address is None and self.name is None:
            raise ValueError("set address or name (or both)")
        return self


# --- [bluetooth] ---------------------------------------------------------------------------


class BluetoothConfig(Section):
    """How treadmills are reached."""

    radio: str = Field(
        default="bluez",
        pattern=r"^(bluez|sim:local|sim:[A-Za-z0-9_.:\[\]-]+:[0-9]{1,5})$",
        description="'bluez' (the system's Bluetooth), 'sim:HOST:PORT' (a virtual treadmill in "
        "another process) or 'sim:local' (one in this process: tests and the demo)",
    )
    scan_timeout_s: Float = bounded(10.0, "seconds", ge=1, le=120)
    connect_timeout_s: Float = bounded(20.0, "seconds", ge=1, le=120)
    reconnect_max_backoff_s: Float = bounded(60.0, "seconds", ge=1, le=3600)

    @model_validator(mode="after")
    def _sim_port(self) -> BluetoothConfig:
        endpoint = self.sim_endpoint
        if endpoint is not None and not 1 <= endpoint[1] <= 65535:
            raise cross_error("bluetooth.radio", f"port {endpoint[1]} is not within 1 to 65535")
        return self

    @property
    def sim_endpoint(self) -> tuple[str, int] | None:
        """(host, port) of the virtual treadmill when `radio` is `sim:HOST:PORT`, else None."""
        if not self.radio.startswith("sim:") or self.radio == "sim:local":
            return None
        host, _, port = self.radio.removeprefix("sim:").rpartition(":")
        return host.strip("[]"), int(port)


# --- [limits], [turn] ----------------------------------------------------------------------


class LimitsConfig(Section):
    """The belt's caps and ramps (DESIGN §2); workouts and commands may only lower them."""

    backward_max_kmh: Float = bounded(
        4.0, "km/h", gt=0, le=6.0, note="above 6.0 is backward running, which treadctl refuses"
    )
    forward_max_kmh: Float = bounded(6.0, "km/h", gt=0, le=16.0)
    accel_kmh_per_s: Float = bounded(0.25, "km/h per second", ge=0.05, le=1.0)
    decel_kmh_per_s: Float = bounded(0.5, "km/h per second", ge=0.2, le=2.0)
    max_incline_pct: Float = bounded(10.0, "%", ge=0, le=15.0)
    # EN 957-6 makers keep elevation below 1°/s, ≈ 1.75 %/s (ref/retro-walking.md §5 [Sunrise]).
    incline_rate_pct_per_s: Float = bounded(0.5, "% per second", gt=0, le=1.75)
    backward_start_kmh: Float = bounded(1.5, "km/h", gt=0, le=3.0, note="at most backward_max_kmh")
    max_backward_session_s: Float = bounded(1800.0, "seconds", ge=60, le=3600)

    @model_validator(mode="after")
    def _start_below_cap(self) -> LimitsConfig:
        if self.backward_start_kmh > self.backward_max_kmh:
            raise cross_error(
                "limits.backward_start_kmh",
                f"backward_start_kmh {self.backward_start_kmh:g} km/h is above "
                f"backward_max_kmh {self.backward_max_kmh:g} km/h",
            )
        return self


class TurnConfig(Section):
    """Direction changes (DESIGN §2 rule 5)."""

    speed_kmh: Float = bounded(
        0.0, "km/h", ge=0, le=2.0, note="0 pauses the belt for the turn; at most both caps"
    )
    hold_s: Float = bounded(10.0, "seconds", ge=10, le=600, note="the least time a turn lasts")
    auto_resume: bool = Field(
        default=False, description="true or false: resume by itself after the hold"
    )
    countdown_s: Float = bounded(5.0, "seconds", ge=5, le=60, note="auto-resume countdown")
    announce_s: Float = bounded(5.0, "seconds", ge=5, le=60, note="notice before any speed rise")


# --- [logging], [paths] --------------------------------------------------------------------


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class LoggingConfig(Section):
    """Log level and format (see `treadctl.logs`)."""

    level: Annotated[
        Literal["debug", "info", "warning", "error", "critical"], BeforeValidator(_lower)
    ] = Field(default="info", description="debug, info, warning, error or critical")
    format: Annotated[Literal["auto", "json", "console"], BeforeValidator(_lower)] = Field(
        default="auto",
        description="auto (JSON under systemd, colours on a terminal), json or console",
    )


class PathsConfig(Section):
    """Where the daemon keeps and finds files."""

    state_dir: Path = Field(
        default=Path("/var/lib/treadctl"), description="directory for session records"
    )
    workouts_dir: Path = Field(
        default=Path("/etc/treadctl/workouts"),
        description="extra workouts (besides the bundled ones)",
    )
    profiles_dir: Path = Field(
        default=Path("/etc/treadctl/profiles"), description="extra or overriding quirk profiles"
    )


# --- the whole file ------------------------------------------------------------------------


class Config(BaseSettings):
    """The resolved configuration. Build it with `load_config()`; constructing it directly
    uses only the keyword arguments given (no file, environment or secrets are read)."""

    model_config = SettingsConfigDict(
        extra="forbid", frozen=True, env_prefix=ENV_PREFIX, env_nested_delimiter="__"
    )

    treadmill: list[TreadmillConfig] = Field(
        min_length=1, description="one or more [[treadmill]] tables"
    )
    bluetooth: BluetoothConfig = Field(default_factory=BluetoothConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    turn: TurnConfig = Field(default_factory=TurnConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Direct construction reads nothing implicitly; `load_config` passes its own sources."""
        return (init_settings,)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        seen: dict[str, int] = {}
        for index, treadmill in enumerate(self.treadmill):
            if treadmill.id in seen:
                raise cross_error(
                    f"treadmill[{index}].id",
                    f"id {treadmill.id!r} is already used by treadmill[{seen[treadmill.id]}]",
                )
            seen[treadmill.id] = index
        cap_kmh = min(self.limits.backward_max_kmh, self.limits.forward_max_kmh)
        if self.turn.speed_kmh > cap_kmh:
            raise cross_error(
                "turn.speed_kmh",
                f"speed_kmh {self.turn.speed_kmh:g} km/h is above the lower cap {cap_kmh:g} km/h",
            )
        return self
