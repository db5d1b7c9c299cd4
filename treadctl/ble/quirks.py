"""Quirk profiles: what a treadmill model needs beyond the FTMS spec, as data.

Owns: the `QuirkProfile` record, loading and validating profile TOML files (shipped in
`treadctl/ble/profiles/`, overridden by name from a user directory), choosing a profile for a
device by BLE name or Device Information model number, and the unit conversions a profile implies
(mph, incline scales) between the wire and the real km/h and % the governor works in.
Pure: reads files only in `load_profiles`, no Bluetooth. Quirk numbers (Q1…Q23) refer to
`ref/ftms-quirks.md`.
"""

from __future__ import annotations

import enum
import fnmatch
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from treadctl.errors import ConfigError

KM_PER_MILE = 1.609344
DEFAULT_PROFILE = "default"
SPEC_INCLINE_SCALE = 10.0  # raw units per % in the spec (0.1 % resolution)


class RequestControl(enum.StrEnum):
    """When to send Request Control (0x00) before control-point procedures."""

    ONCE = "once"  # before the first procedure, again after permission is lost (spec)
    BEFORE_EACH = "before_each"  # before every command (Technogym MyRun, Q17)
    NEVER = "never"  # the device does not enforce control (Q13)


class SpeedUnit(enum.StrEnum):
    """The unit a device really uses in a field the spec defines in km/h (Q4)."""

    KMH = "kmh"
    MPH = "mph"


@dataclass(frozen=True, kw_only=True)
class QuirkProfile:
    """How to talk to one family of treadmills. Defaults are the spec-conformant behaviour."""

    name: str = DEFAULT_PROFILE
    description: str = ""
    source: str = ""  # the file the profile came from (for error messages)
    name_patterns: tuple[str, ...] = ()  # advertised names, glob, case-insensitive (Q23)
    exclude_patterns: tuple[str, ...] = ()  # names this profile must never match (Q23)
    model_patterns: tuple[str, ...] = ()  # Device Information model number, glob
    request_control: RequestControl = RequestControl.ONCE
    request_control_best_effort: bool = False  # 0x04/0x05 to Request Control: go on (Q14)
    start_before_speed: bool = False  # Start/Resume before each speed, only while running (Q17)
    wait_for_belt_moving: bool = False  # after Start, hold speed until the belt moves (Q17)
    belt_moving_timeout_s: float = 15.0
    target_speed_units: SpeedUnit = SpeedUnit.KMH
    reported_speed_units: SpeedUnit = SpeedUnit.KMH
    speed_range_units: SpeedUnit = SpeedUnit.KMH
    min_target_speed_kmh: float = 0.0  # never send a non-zero target below this (Q17)
    incline_scale: float = SPEC_INCLINE_SCALE  # reported raw units per real % (Q3)
    target_incline_scale: float = SPEC_INCLINE_SCALE  # raw units per % in Set Target Incl.
    min_command_interval_ms: int = 0  # space control-point writes (Q17)
    indication_timeout_s: float = 30.0  # FTMP §4.4.14.3
    treat_timeout_as_success: bool = False  # devices that never indicate (Q14, Q15)
    cccd_write_gap_ms: int = 0  # pause between CCCD writes (Q22)
    vendor_step_count: bool = False  # bit-13 step count extension (Q1)
    stale_after_s: float = 10.0  # no record for this long = stale (Q20: ~8 s gaps happen)
    silent_after_s: float = 15.0  # no record at all after subscribing = silent (Q15, Q23)
    zero_speed_debounce_s: float = 3.0  # a lone zero-speed frame is not a stop (Q21)
    elapsed_wrap_s: float = 0.0  # Elapsed Time wraps here (Q10: 6000); 0 = never
    echo_window_s: float = 1.0  # status after our own write counts as its echo (Q12)

    def matches_name(self, ble_name: str | None) -> bool:
        """True when the advertised name matches a name pattern and no exclusion."""
        if not ble_name or not self.name_patterns:
            return False
        return _any_glob(ble_name, self.name_patterns) and not _any_glob(
            ble_name, self.exclude_patterns
        )

    def matches_model(self, model: str | None) -> bool:
        """True when a Device Information model number matches a model pattern."""
        return bool(model) and _any_glob(model or "", self.model_patterns)

    # --- unit conversions (wire values are what the codec reads and writes) ---------------

    def target_speed_to_wire(self, speed_kmh: float) -> float:
        """The value to put in Set Target Speed for a real speed in km/h."""
        return speed_kmh / KM_PER_MILE if self.target_speed_units is SpeedUnit.MPH else speed_kmh

    def reported_speed_kmh(self, wire: float) -> float:
        """Real km/h for a speed the device reported (Treadmill Data, Machine Status 0x05)."""
        return wire * KM_PER_MILE if self.reported_speed_units is SpeedUnit.MPH else wire

    def range_speed_kmh(self, wire: float) -> float:
        """Real km/h for a value read from Supported Speed Range."""
        return wire * KM_PER_MILE if self.speed_range_units is SpeedUnit.MPH else wire

    def target_incline_to_wire(self, incline_pct: float) -> float:
        """The value (in the codec's %) to put in Set Target Inclination for a real %."""
        return incline_pct * self.target_incline_scale / SPEC_INCLINE_SCALE

    def range_incline_pct(self, wire: float) -> float:
        """Real % for a value read from Supported Inclination Range (the targets' scale)."""
        return wire * SPEC_INCLINE_SCALE / self.target_incline_scale

    def reported_incline_pct(self, wire: float) -> float:
        """Real % for an inclination the device reported (codec's % at the spec scale)."""
        return wire * SPEC_INCLINE_SCALE / self.incline_scale


def _any_glob(text: str, patterns: Iterable[str]) -> bool:
    folded = text.casefold()
    return any(fnmatch.fnmatchcase(folded, p.casefold()) for p in patterns)


def _specificity(text: str, patterns: tuple[str, ...]) -> int:
    """Literal characters of the longest pattern that matches: the most specific wins."""
    folded = text.casefold()
    hits = [p for p in patterns if fnmatch.fnmatchcase(folded, p.casefold())]
    return max((len(p.replace("*", "").replace("?", "")) for p in hits), default=-1)


@dataclass(frozen=True)
class ProfileSet:
    """Every known profile by name, with the spec-conformant `default` always present."""

    profiles: Mapping[str, QuirkProfile] = field(default_factory=dict)

    @property
    def default(self) -> QuirkProfile:
        """The spec-conformant profile used when nothing else matches."""
        return self.profiles.get(DEFAULT_PROFILE, QuirkProfile())

    def names(self) -> list[str]:
        """Profile names, sorted."""
        return sorted(self.profiles)

    def get(self, name: str) -> QuirkProfile:
        """The profile called `name`; raises `ConfigError` naming the known ones."""
        if name == DEFAULT_PROFILE:
            return self.default
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(self.names())
            message = f"no quirk profile {name!r} (known: {known})"
            raise ConfigError(message, where="profile") from None

    def match_name(self, ble_name: str | None) -> QuirkProfile | None:
        """The most specific profile whose name patterns match, or None."""
        found = [p for p in self.profiles.values() if p.matches_name(ble_name)]
        if not found or not ble_name:
            return None
        return max(found, key=lambda p: (_specificity(ble_name, p.name_patterns), p.name))

    def match_model(self, model: str | None) -> QuirkProfile | None:
        """The most specific profile whose model patterns match a DIS model number, or None."""
        found = [p for p in self.profiles.values() if p.matches_model(model)]
        if not found or not model:
            return None
        return max(found, key=lambda p: (_specificity(model, p.model_patterns), p.name))

    def select(self, ble_name: str | None, model: str | None = None) -> QuirkProfile:
        """Profile for a device: by advertised name, else by model number, else the default."""
        return self.match_name(ble_name) or self.match_model(model) or self.default


# --- loading -------------------------------------------------------------------------------

_ENUMS: dict[str, type[enum.StrEnum]] = {
    "request_control": RequestControl,
    "target_speed_units": SpeedUnit,
    "reported_speed_units": SpeedUnit,
    "speed_range_units": SpeedUnit,
}
_PATTERNS = {"name_patterns", "exclude_patterns", "model_patterns"}
_POSITIVE = {
    "incline_scale",
    "target_incline_scale",
    "indication_timeout_s",
    "belt_moving_timeout_s",
}
_KEYS = {f.name for f in fields(QuirkProfile)} - {"name", "source"}


class _Invalid(Exception):
    """A profile value is wrong; the message says what is allowed."""


def _check_value(key: str, value: Any, default: Any) -> Any:
    """The validated value for `key`, or raise `_Invalid` saying what is allowed."""
    if key in _PATTERNS:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise _Invalid("must be a list of non-empty strings (glob patterns)")
        return tuple(value)
    if key in _ENUMS:
        allowed = [m.value for m in _ENUMS[key]]
        if value not in allowed:
            raise _Invalid(f"must be one of {', '.join(allowed)} (got {value!r})")
        return _ENUMS[key](value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _Invalid(f"must be true or false (got {value!r})")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise _Invalid(f"must be a string (got {value!r})")
        return value
    if isinstance(default, int | float):
        return _check_number(key, value, want_int=isinstance(default, int))
    raise _Invalid("unsupported key")  # unreachable while the table covers every field


def _check_number(key: str, value: Any, *, want_int: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"must be a number (got {value!r})")
    if want_int and not isinstance(value, int):
        raise _Invalid(f"must be a whole number of milliseconds (got {value!r})")
    if value < 0 or (key in _POSITIVE and value == 0):
        raise _Invalid(f"must be {'> 0' if key in _POSITIVE else '>= 0'} (got {value!r})")
    return value


def profile_from_mapping(name: str, data: Mapping[str, Any], *, source: str = "") -> QuirkProfile:
    """Build a profile from parsed TOML; raises `ConfigError` naming the file and the key."""
    where = source or name
    defaults = QuirkProfile()
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"unknown key (known keys: {known})", where=f"{where}: {key}")
        try:
            values[key] = _check_value(key, value, getattr(defaults, key))
        except _Invalid as exc:
            raise ConfigError(str(exc), where=f"{where}: {key}") from None
    values.setdefault("target_incline_scale", values.get("incline_scale", SPEC_INCLINE_SCALE))
    return QuirkProfile(name=name, source=source, **values)


def load_profile_file(path: Path) -> QuirkProfile:
    """One profile from a TOML file; its name is the file's stem.

    Raises `ConfigError` naming the file (and the key) when it is unreadable or invalid.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read quirk profile: {exc.strerror}", where=str(path)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(path)) from exc
    return profile_from_mapping(path.stem, data, source=str(path))


def _profile_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.toml") if p.is_file())


def load_profiles(user_dir: Path | None = None) -> ProfileSet:
    """The shipped profiles, overridden by name by `user_dir`'s `*.toml` when it exists.

    Raises `ConfigError` (file and key) for an invalid profile, shipped or user's.
    """
    shipped = resources.files("treadctl.ble").joinpath("profiles")
    profiles: dict[str, QuirkProfile] = {}
    with resources.as_file(shipped) as shipped_dir:
        for path in _profile_files(Path(shipped_dir)):
            profiles[path.stem] = load_profile_file(path)
    if user_dir is not None and user_dir.is_dir():
        for path in _profile_files(user_dir):
            profiles[path.stem] = load_profile_file(path)
    return ProfileSet(profiles)
