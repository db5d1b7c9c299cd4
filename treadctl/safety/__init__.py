"""The safety governor (DESIGN §2): the only code that builds commands for the belt.

Owns: the walking direction, the site's caps (`Limits`), turn settings, device ranges
(`DeviceCaps`), the belt commands and `Governor`. Pure: no clock, no I/O. Imports nothing but
the standard library and `treadctl.errors`.
"""

from __future__ import annotations

from treadctl.safety._state import TurnStage
from treadctl.safety.commands import (
    BeltCommand,
    InclineCommand,
    SpeedCommand,
    StartCommand,
    StopCommand,
    describe,
)
from treadctl.safety.governor import Governor
from treadctl.safety.limits import (
    BACKWARD_RUNNING_KMH,
    MAX_TURN_SPEED_KMH,
    MIN_ANNOUNCE_S,
    MIN_TURN_HOLD_S,
    DeviceCaps,
    Direction,
    Limits,
    TurnSettings,
)
from treadctl.safety.refusals import Refusal
from treadctl.safety.types import Announcement, BeltState, Move, Setpoint

describe_command = describe

__all__ = [
    "BACKWARD_RUNNING_KMH",
    "MAX_TURN_SPEED_KMH",
    "MIN_ANNOUNCE_S",
    "MIN_TURN_HOLD_S",
    "Announcement",
    "BeltCommand",
    "BeltState",
    "DeviceCaps",
    "Direction",
    "Governor",
    "InclineCommand",
    "Limits",
    "Move",
    "Refusal",
    "Setpoint",
    "SpeedCommand",
    "StartCommand",
    "StopCommand",
    "TurnSettings",
    "TurnStage",
    "describe_command",
]
