"""Values the governor hands back: belt state, setpoints, announcements and ramp moves.

Owns: `BeltState`, `Setpoint` (a request after caps and quantisation: requested vs allowed),
`Announcement` (a coming speed rise, to publish), `Move` (one ramp step, for plans and records).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BeltState(StrEnum):
    """What the belt is doing as far as the governor knows."""

    STOPPED = "stopped"
    PAUSED = "paused"
    RUNNING = "running"


@dataclass(frozen=True)
class Setpoint:
    """A speed (km/h) or incline (%) request after caps and quantisation.

    `rise_at_s` is when a speed rise may begin (announcement rule), None when no rise.
    """

    quantity: str
    requested: float
    allowed: float
    unit: str
    rise_at_s: float | None

    @property
    def clamped(self) -> bool:
        """Whether the allowed value differs from the requested one."""
        return abs(self.requested - self.allowed) > 1e-9


@dataclass(frozen=True)
class Announcement:
    """A speed rise announced at `at_s`: from `from_kmh` to `speed_kmh`, not before
    `rise_at_s`. `reason` says what made it (step, turn, resume, set_speed…)."""

    speed_kmh: float
    from_kmh: float
    at_s: float
    rise_at_s: float
    reason: str


@dataclass(frozen=True)
class Move:
    """One ramp step: `quantity` ("speed" km/h or "incline" %) from `from_value` to
    `to_value`, sent at `at_s`; the ramp segment it completes began at `start_s`."""

    quantity: str
    start_s: float
    at_s: float
    from_value: float | None
    to_value: float
