"""What a virtual treadmill is: ranges and physics (`TreadmillConfig`) and quirks (`Quirks`).

Owns: both frozen dataclasses, their validation, and reading them from a TOML file or a flat
`key=value` mapping (the `treadctl sim` flags), with errors that name the file and the key.
Every quirk is off by default; each cites the entry of `ref/ftms-quirks.md` it reproduces.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from treadctl.errors import InputError

RequestControl = Literal["spec", "ignored", "fails"]
ControlPointMode = Literal["write_indicate", "write_nr_notify", "write_nr_indicate"]


@dataclass(frozen=True)
class TreadmillConfig:
    """The machine: name, supported ranges (real km/h and %), physics, notification rate."""

    name: str = "treadctl-sim"
    speed_min_kmh: float = 0.8
    speed_max_kmh: float = 16.0
    speed_increment_kmh: float = 0.1
    incline_min_pct: float = 0.0
    incline_max_pct: float = 15.0
    incline_increment_pct: float = 0.5
    accel_kmh_per_s: float = 1.0  # the belt's own acceleration
    decel_kmh_per_s: float = 1.5
    emergency_decel_kmh_per_s: float = 5.0  # safety key pulled
    incline_rate_pct_per_s: float = 0.5  # the lift motor
    start_speed_kmh: float = 1.0  # where Start takes the belt when no target is set
    start_delay_s: float = 0.0  # console countdown before the belt moves (Pre-Workout)
    rate_hz: float = 1.0  # Treadmill Data notifications while connected (FTMS: typically 1 Hz)
    idle_rate_hz: float | None = None  # rate while the belt stands (KS-MC21: 10 Hz / 1 Hz, Q20)
    user_mass_kg: float = 70.0  # for the energy estimate
    stride_m: float = 0.7  # for the step count
    rssi_dbm: int = -60
    manufacturer: str = "treadctl"
    model_number: str = "Virtual Treadmill"
    serial_number: str = "SIM-0001"
    hardware_revision: str = "1"
    firmware_revision: str = "1.0"
    software_revision: str = "1.0"
    seed: int = 0  # the random quirks (Q16) draw from random.Random(seed)

    def __post_init__(self) -> None:
        _check_config(self)


@dataclass(frozen=True)
class Quirks:
    """Deviations from FTMS seen on real machines; every one is off by default."""

    # control point
    start_before_speed: bool = False  # Q17 Technogym: a speed needs a Start right before it
    target_speed_mph: bool = False  # Q4 Horizon T202: target speed read as mph
    reported_speed_mph: bool = False  # Q4 FITSHOW: Treadmill Data speed and speed range in mph
    incline_scale: float = 10.0  # Q3: raw incline units per % (spec 10, BH Fitness 62.5)
    request_control: RequestControl = "spec"  # Q13 "ignored" (never enforced), Q14 "fails" (0x04)
    no_indications: bool = False  # Q14: writes acknowledged, no 0x80 ever sent
    early_indication: bool = False  # Q11: status and 0x80 before the ATT Write Response
    status_echo: bool = False  # Q12: the controller is told of its own changes, before its 0x80
    min_command_interval_s: float = 0.0  # Q17 Z1: writes closer than this are dropped silently
    crash_on_early_speed_s: float = (
        0.0  # Q17 KingSmith: a speed this soon after Start drops the link
    )
    ignored_ops: frozenset[int] = frozenset()  # Q16 FR30z: answered Success, no effect
    stop_fail_probability: float = 0.0  # Q16 FR30z: Stop answered 0x04 (the belt still stops)
    start_while_running_spoils_next: bool = (
        False  # Q17 BH: a Start while running voids the next command
    )
    control_point: ControlPointMode = "write_indicate"  # Q18: CP properties (BH: write-nr + notify)
    # data
    truncate_to_20: bool = False  # Q2 Matrix: full flags, frames cut to 20 octets
    more_data_split: int = 0  # split records into frames of at most this many octets (0: never)
    step_count_ext: bool = False  # Q1: vendor step count behind flag bit 13 (u24)
    counters_stuck_zero: bool = False  # Q5 BH: distance, energy and elapsed stay 0
    distance_needs_load: bool = False  # Q9: distance and steps count only with someone on the belt
    elapsed_wrap_s: int = 0  # Q10: elapsed time wraps (6000 on the hassio-ftms #15 device)
    zero_speed_glitch_every_s: float = 0.0  # Q21 Merach: one speed-0 frame this often while moving
    target_lag_s: float = 0.0  # Q21 FR30z: the belt starts following a new target after this
    status_pad_to: int = 0  # Q6 CS-WP8: machine statuses padded with zeros to this length (3)
    training_status_empty_string: bool = False  # Q7: "string present" flag with an empty string
    training_status_stuck_other: bool = False  # Q7 FR30z: training status always 0x00 Other
    feature_override: tuple[int, int] | None = None  # Q8: (machine, target) feature bits sent
    # timing and link
    silent_when_stopped: bool = False  # no Treadmill Data while the belt stands
    silent: bool = False  # Q15/Q23: connects, but never notifies anything
    cccd_min_gap_s: float = 0.0  # Q22 KingSmith: CCCD writes closer than this are dropped
    hide_ftms_uuid: bool = False  # Q23: no 0x1826 UUID or service data in the advertisement

    def __post_init__(self) -> None:
        _check_quirks(self)


RSSI_STEP_DBM = 6  # several treadmills are heard at different strengths, the first the loudest


def numbered(base: TreadmillConfig, index: int, count: int) -> TreadmillConfig:
    """Treadmill `index` (from 0) of `count` built from `base`; `base` itself when alone.

    Several are named `NAME-1` … `NAME-N`, each heard `RSSI_STEP_DBM` dB weaker than the one
    before (never below -127 dBm), each with its own random seed. Raises `InputError` when a
    numbered name no longer fits the advertisement.
    """
    if count == 1:
        return base
    return dataclasses.replace(
        base,
        name=f"{base.name}-{index + 1}",
        rssi_dbm=max(base.rssi_dbm - RSSI_STEP_DBM * index, -127),
        seed=base.seed + index,
    )


def _fail(message: str, where: str) -> InputError:
    return InputError(message, where=where)


def _check_config(c: TreadmillConfig) -> None:
    where = "treadmill"
    for f in dataclasses.fields(c):
        value = getattr(c, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(f"{f.name} must be a finite number, got {value!r}", where)
    if not 0 < c.speed_min_kmh < c.speed_max_kmh <= 40:
        raise _fail("speeds must satisfy 0 < speed_min_kmh < speed_max_kmh <= 40", where)
    if not -20 <= c.incline_min_pct <= c.incline_max_pct <= 40:
        raise _fail("inclines must satisfy -20 <= incline_min_pct <= incline_max_pct <= 40", where)
    positive = ("speed_increment_kmh", "incline_increment_pct", "accel_kmh_per_s",
                "decel_kmh_per_s", "emergency_decel_kmh_per_s", "incline_rate_pct_per_s",
                "rate_hz", "user_mass_kg", "stride_m")  # fmt: skip
    for name in positive:
        if getattr(c, name) <= 0:
            raise _fail(f"{name} must be > 0, got {getattr(c, name)!r}", where)
    if c.rate_hz > 50 or (c.idle_rate_hz is not None and not 0 < c.idle_rate_hz <= 50):
        raise _fail("rate_hz and idle_rate_hz must be in (0, 50]", where)
    if not c.speed_min_kmh <= c.start_speed_kmh <= c.speed_max_kmh:
        raise _fail("start_speed_kmh must lie within the speed range", where)
    if c.start_delay_s < 0:
        raise _fail("start_delay_s must be >= 0", where)
    if not -127 <= c.rssi_dbm <= 20:
        raise _fail("rssi_dbm must be in -127..20", where)
    if not c.name or len(c.name.encode()) > 29:
        raise _fail("name must be 1 to 29 octets of UTF-8", where)


def _check_quirks(q: Quirks) -> None:
    where = "quirks"
    if q.request_control not in ("spec", "ignored", "fails"):
        raise _fail("request_control must be 'spec', 'ignored' or 'fails'", where)
    if q.control_point not in ("write_indicate", "write_nr_notify", "write_nr_indicate"):
        raise _fail(
            "control_point must be 'write_indicate', 'write_nr_notify' or 'write_nr_indicate'",
            where,
        )
    if not 0 <= q.stop_fail_probability <= 1:
        raise _fail("stop_fail_probability must be in 0..1", where)
    if q.incline_scale <= 0:
        raise _fail("incline_scale must be > 0", where)
    if q.more_data_split and not 8 <= q.more_data_split <= 244:
        raise _fail("more_data_split must be 0 (off) or 8..244 octets", where)
    if not 0 <= q.status_pad_to <= 20 or q.elapsed_wrap_s < 0:
        raise _fail("status_pad_to must be 0..20 and elapsed_wrap_s >= 0", where)
    for name in ("min_command_interval_s", "crash_on_early_speed_s", "zero_speed_glitch_every_s",
                 "target_lag_s", "cccd_min_gap_s"):  # fmt: skip
        if getattr(q, name) < 0:
            raise _fail(f"{name} must be >= 0", where)
    if any(not 0 <= op <= 0xFF for op in q.ignored_ops):
        raise _fail("ignored_ops must be op codes 0..255", where)


# --- reading settings from TOML or flags ---------------------------------------------------------


def _coerce(cls: type[Any], key: str, value: Any, where: str) -> Any:
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    kind = str(types[key])
    default = next(f.default for f in dataclasses.fields(cls) if f.name == key)
    if key == "ignored_ops":
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise _fail("must be a list of op codes (integers)", where)
        return frozenset(value)
    if key == "feature_override":
        if not (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
        ):
            raise _fail("must be [machine_bits, target_bits]", where)
        return (value[0], value[1])
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _fail(f"must be true or false, got {value!r}", where)
        return value
    if "float" in kind:
        if value is None and "None" in kind:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(f"must be a number, got {value!r}", where)
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"must be an integer, got {value!r}", where)
        return value
    if not isinstance(value, str):
        raise _fail(f"must be a string, got {value!r}", where)
    return value


def _build(cls: type[Any], table: dict[str, Any], where: str) -> Any:
    """`cls(**table)`, each value checked; errors read `FILE [table].key: …` or `--flag key: …`."""
    sep = " " if where.startswith("--") else "."
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise _fail(f"unknown key {key!r}{hint}", f"{where}{sep}{key}")
        values[key] = _coerce(cls, key, value, f"{where}{sep}{key}")
    try:
        return cls(**values)
    except InputError as exc:
        raise _fail(exc.detail, where) from None


@dataclass(frozen=True)
class SimSettings:
    """A `[treadmill]` and a `[quirks]` table, as read from a file (both optional)."""

    treadmill: dict[str, Any] = field(default_factory=dict)
    quirks: dict[str, Any] = field(default_factory=dict)

    def build(
        self, where: str, *, treadmill_where: str = "", quirks_where: str = ""
    ) -> tuple[TreadmillConfig, Quirks]:
        """Validated config and quirks; errors name `where` and the table (or the given names)."""
        return (
            _build(TreadmillConfig, self.treadmill, treadmill_where or f"{where} [treadmill]"),
            _build(Quirks, self.quirks, quirks_where or f"{where} [quirks]"),
        )

    def over(self, other: SimSettings) -> SimSettings:
        """These settings with `other`'s entries on top."""
        return SimSettings({**self.treadmill, **other.treadmill}, {**self.quirks, **other.quirks})


def load_settings_file(path: Path) -> SimSettings:
    """Read a TOML file with optional `[treadmill]` and `[quirks]` tables.

    Raises `InputError` naming the file (and the key) for unreadable TOML or unknown tables.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"cannot read: {exc.strerror or exc}", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"not valid TOML: {exc}", str(path)) from None
    extra = sorted(set(data) - {"treadmill", "quirks"})
    if extra:
        raise _fail(f"unknown table(s) {extra}; use [treadmill] and [quirks]", str(path))
    for table in ("treadmill", "quirks"):
        if not isinstance(data.get(table, {}), dict):
            raise _fail(f"{table} must be a table", str(path))
    return SimSettings(treadmill=data.get("treadmill", {}), quirks=data.get("quirks", {}))


def parse_assignments(items: list[str], where: str) -> dict[str, Any]:
    """`["rate_hz=4", "truncate_to_20=true"]` → values parsed as TOML scalars (a bare word is a
    string). Raises `InputError` naming `where` for an item that is not KEY=VALUE."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise _fail(f"expected KEY=VALUE, got {item!r}", where)
        try:
            out[key.strip()] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = text.strip()  # a bare word: a string
    return out
