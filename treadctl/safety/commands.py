"""The commands that move the belt, and the guard that only the governor may make them.

Owns: `SpeedCommand`, `InclineCommand`, `StartCommand`, `StopCommand` and their union
`BeltCommand`. Each checks a package-private token in `__post_init__`: constructing one
anywhere but in `treadctl.safety` raises `SafetyError` (STYLE habit 7: the governor is the only
door to the belt). The BLE layer encodes them; nothing else builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from treadctl.errors import SafetyError

_GOVERNOR_TOKEN = object()  # handed out only through the _issue_* functions below


def _check(token: object, kind: str) -> None:
    if token is not _GOVERNOR_TOKEN:
        raise SafetyError(
            f"{kind} can only be made by the governor (treadctl.safety.Governor)",
            reason="not_from_governor",
        )


@dataclass(frozen=True)
class SpeedCommand:
    """Set Target Speed, km/h (already capped, ramped and on the device's increment)."""

    speed_kmh: float
    _token: object = field(default=None, repr=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        _check(self._token, "SpeedCommand")


@dataclass(frozen=True)
class InclineCommand:
    """Set Target Inclination, % (already capped, ramped and on the device's increment)."""

    incline_pct: float
    _token: object = field(default=None, repr=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        _check(self._token, "InclineCommand")


@dataclass(frozen=True)
class StartCommand:
    """Start or Resume (FTMS 0x07). Only ever issued after a person asked for it."""

    _token: object = field(default=None, repr=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        _check(self._token, "StartCommand")


@dataclass(frozen=True)
class StopCommand:
    """Stop or Pause (FTMS 0x08 with 0x01 Stop / 0x02 Pause).

    `emergency` marks an emergency stop: the BLE layer sends it ahead of anything queued.
    """

    pause: bool = False
    emergency: bool = False
    _token: object = field(default=None, repr=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        _check(self._token, "StopCommand")


BeltCommand = SpeedCommand | InclineCommand | StartCommand | StopCommand


def describe(command: BeltCommand) -> dict[str, object]:
    """A JSON-ready description of a command (for events, logs and session records)."""
    if isinstance(command, SpeedCommand):
        return {"command": "set_speed", "speed_kmh": command.speed_kmh}
    if isinstance(command, InclineCommand):
        return {"command": "set_incline", "incline_pct": command.incline_pct}
    if isinstance(command, StartCommand):
        return {"command": "start"}
    name = "emergency_stop" if command.emergency else "pause" if command.pause else "stop"
    return {"command": name}


def _issue_speed(speed_kmh: float) -> SpeedCommand:
    return SpeedCommand(speed_kmh, _token=_GOVERNOR_TOKEN)


def _issue_incline(incline_pct: float) -> InclineCommand:
    return InclineCommand(incline_pct, _token=_GOVERNOR_TOKEN)


def _issue_start() -> StartCommand:
    return StartCommand(_token=_GOVERNOR_TOKEN)


def _issue_stop(*, pause: bool, emergency: bool = False) -> StopCommand:
    return StopCommand(pause=pause, emergency=emergency, _token=_GOVERNOR_TOKEN)
