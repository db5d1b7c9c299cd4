"""What `treadctl sim --local`'s central prints: FTMS values as one readable line each.

Owns: the text of the found / Feature / ranges / Treadmill Data / Machine Status / Training
Status lines, each built from the octets a central read or was notified with and decoded by
`treadctl.ftms` (an undecodable value becomes a line saying so, with its octets, never an
error), and `TelemetryThrottle`, which keeps telemetry readable: at most one line every
`every_s` seconds per treadmill, plus one whenever the belt starts or stops moving.

Rules: pure — no I/O, no clock (time comes in as `now_s`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

from treadctl import ftms

# A line is due a little before a whole interval has passed, so that 1 Hz notifications, which
# arrive about 1 s apart give or take the scheduler, are each printed at a 1 s interval.
TOLERANCE = 0.1  # of `every_s`


class TelemetryThrottle:
    """Decides which Treadmill Data records get a line (one treadmill's records, in order)."""

    def __init__(self, every_s: float = 1.0) -> None:
        if not every_s >= 0:
            raise ValueError(f"every_s must be >= 0, got {every_s}")
        self.every_s = every_s
        self._last_s: float | None = None
        self._moving: bool | None = None

    def due(self, speed_kmh: float | None, now_s: float) -> bool:
        """True when this record gets a line: the first one, once `every_s` (less 10 %) has
        passed since the last line, or when the belt started or stopped moving since then.

        `speed_kmh` None (a fragment or frame without speed) counts as not moving.
        """
        moving = bool(speed_kmh)
        last_s = self._last_s
        if (
            last_s is not None
            and moving == self._moving
            and now_s - last_s < self.every_s * (1 - TOLERANCE)
        ):
            return False
        self._last_s, self._moving = now_s, moving
        return True

    def reset(self) -> None:
        """Forget the last line (a new connection starts with a line)."""
        self._last_s = self._moving = None


def _names(flags: enum.IntFlag) -> str:
    return ", ".join((member.name or "").lower() for member in flags) or "none"


def _decoded(what: str, data: bytes | None, describe: Callable[[bytes], str]) -> str:
    """`describe(data)`, or a line saying why there is nothing to describe."""
    if data is None:
        return f"{what} not readable"
    try:
        return describe(data)
    except ftms.FTMSDecodeError as exc:
        return undecodable(what, data, exc)


def undecodable(what: str, data: bytes, exc: Exception) -> str:
    """The line for a value the codec refused: what it was, its octets and why."""
    return f"{what} undecodable ({data.hex(' ') or 'empty'}): {exc}"


def found_line(name: str | None, address: str, rssi_dbm: int, service_uuids: Iterable[str]) -> str:
    """Where the scan heard the treadmill, and whether it advertises the FTMS UUID (Q23)."""
    advertised = ftms.FTMS_SERVICE_UUID in {uuid.lower() for uuid in service_uuids}
    how = "FTMS advertised" if advertised else "FTMS not advertised (found by address)"
    return f"found {name or '(no name)'} at {address}, RSSI {rssi_dbm} dBm, {how}"


def _feature(data: bytes) -> str:
    feature = ftms.decode_fitness_machine_feature(data)
    return (
        f"FTMS Feature: machine 0x{int(feature.machine):08X} ({_names(feature.machine)}); "
        f"targets 0x{int(feature.target):08X} ({_names(feature.target)})"
    )


def feature_line(data: bytes | None) -> str:
    """Fitness Machine Feature (0x2ACC): both bit fields in hex, with the names of their bits."""
    return _decoded("FTMS Feature", data, _feature)


def _speed_range(data: bytes) -> str:
    s = ftms.decode_speed_range(data)
    return f"speed {s.min_kmh:.2f}–{s.max_kmh:.2f} km/h by {s.increment_kmh:.2f}"


def _incline_range(data: bytes) -> str:
    i = ftms.decode_inclination_range(data)
    return f"incline {i.min_pct:.1f}–{i.max_pct:.1f} % by {i.increment_pct:.1f}"


def ranges_line(speed: bytes | None, incline: bytes | None) -> str:
    """Supported Speed Range (0x2AD4) and Supported Inclination Range (0x2AD5), as decoded."""
    return (
        f"supported ranges: {_decoded('speed', speed, _speed_range)}, "
        f"{_decoded('incline', incline, _incline_range)}"
    )


def telemetry_line(record: ftms.TreadmillData) -> str:
    """One whole Treadmill Data record: the fields a treadmill shows, those it sent only."""
    r = record
    parts = [f"{r.speed_kmh:.2f} km/h" if r.speed_kmh is not None else "speed absent"]
    if r.inclination_pct is not None:
        parts.append(f"incline {r.inclination_pct:.1f} %")
    if r.total_distance_m is not None:
        parts.append(f"{r.total_distance_m} m")
    if r.elapsed_time_s is not None:
        minutes, seconds = divmod(r.elapsed_time_s, 60)
        parts.append(f"{minutes}:{seconds:02d} elapsed")
    if r.total_energy_kcal is not None:
        parts.append(f"{r.total_energy_kcal} kcal")
    if r.step_count is not None:
        parts.append(f"{r.step_count} steps")
    truncated = " (frame cut short)" if r.truncated else ""
    return "telemetry: " + ", ".join(parts) + truncated


_FORMATS = {
    ftms.MachineStatusOpCode.TARGET_SPEED_CHANGED: "{:.2f} km/h",
    ftms.MachineStatusOpCode.TARGET_INCLINE_CHANGED: "{:.1f} %",
}


def machine_status_line(data: bytes) -> str:
    """Fitness Machine Status (0x2ADA): the op code's name, and its parameter when it has one."""
    return _decoded("machine status", data, _machine_status)


def _machine_status(data: bytes) -> str:
    status = ftms.decode_machine_status(data)
    text = status.op_code.name.lower().replace("_", " ")
    value = status.value
    if isinstance(value, enum.Enum):
        text += f": {value.name.lower()}"
    elif isinstance(value, float):
        text += ": " + _FORMATS.get(status.op_code, "{:g}").format(value)
    elif value is not None:
        text += f": {value}"
    return f"machine status: {text}"


def training_status_line(data: bytes) -> str:
    """Training Status (0x2AD3): the status's name, and its string when one was sent."""
    return _decoded("training status", data, _training_status)


def _training_status(data: bytes) -> str:
    status = ftms.decode_training_status(data)
    text = status.status.name.lower().replace("_", " ")
    if status.string is not None:
        text += f" {status.string!r}"
    return f"training status: {text}"
