"""Plans: what a workout will do on one treadmill, phase by phase, with totals.

Owns: `Phase` (steady, ramp or turn, with exact start/end times and setpoints), `Plan` (the
device-fitted steps, the phases, notes about clamps, announcements, totals), their JSON form
(`Plan.to_json`, the `treadctl plan --json` output and the golden files) and `RunnerEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from treadctl.safety import DeviceCaps, Direction, Limits, TurnSettings
from treadctl.workout.script import Step


@dataclass(frozen=True)
class RunnerEvent:
    """Something that happened while playing a workout: `kind` and JSON-ready `data`."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """`{"event": kind, **data}`, ready for JSON."""
        return {"event": self.kind, **self.data}


@dataclass(frozen=True)
class Phase:
    """A stretch of the plan. `kind`: "steady", "ramp" (speed or incline moving) or "turn"
    (slowing, pausing and holding for a direction change). `step` is the step's index (from
    1) the phase belongs to; a turn belongs to the step it leads to."""

    start_s: float
    end_s: float
    kind: str
    direction: Direction
    speed_kmh_start: float
    speed_kmh_end: float
    incline_pct_start: float
    incline_pct_end: float
    step: int
    step_name: str

    @property
    def duration_s(self) -> float:
        """How long the phase lasts."""
        return self.end_s - self.start_s

    @property
    def distance_m(self) -> float:
        """Belt distance over the phase (speeds move linearly within a phase)."""
        return (self.speed_kmh_start + self.speed_kmh_end) / 2 / 3.6 * self.duration_s

    def to_json(self) -> dict[str, Any]:
        """The phase as `treadctl plan --json` prints it (times and values rounded)."""
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "kind": self.kind,
            "direction": str(self.direction),
            "speed_kmh_start": round(self.speed_kmh_start, 2),
            "speed_kmh_end": round(self.speed_kmh_end, 2),
            "incline_pct": round(self.incline_pct_end, 2),
            "incline_pct_start": round(self.incline_pct_start, 2),
            "step": self.step,
            "step_name": self.step_name,
        }


@dataclass(frozen=True)
class Plan:
    """A workout compiled for one set of limits, one device and one turn setting."""

    workout: str
    source: str
    limits: Limits
    device: DeviceCaps
    turn: TurnSettings
    steps: tuple[Step, ...]
    phases: tuple[Phase, ...]
    notes: tuple[str, ...] = ()
    announcements: tuple[dict[str, Any], ...] = ()

    @property
    def total_s(self) -> float:
        """From the Start to the belt's final stop, with turns at their shortest hold."""
        return self.phases[-1].end_s if self.phases else 0.0

    @property
    def backward_s(self) -> float:
        """Time walking backward on a moving belt."""
        return sum(p.duration_s for p in self._moving() if p.direction is Direction.BACKWARD)

    @property
    def forward_s(self) -> float:
        """Time walking forward on a moving belt."""
        return sum(p.duration_s for p in self._moving() if p.direction is Direction.FORWARD)

    @property
    def distance_m(self) -> float:
        """Estimated belt distance (commanded speeds; the real belt lags a little)."""
        return sum(p.distance_m for p in self.phases)

    @property
    def turns(self) -> int:
        """How many direction changes the plan has."""
        return sum(
            1
            for before, after in zip(self.phases, self.phases[1:], strict=False)
            if before.direction is not after.direction
        )

    def step_starts_s(self) -> dict[int, float]:
        """When each step begins in plan time (its first non-turn phase)."""
        starts: dict[int, float] = {}
        for phase in self.phases:
            if phase.kind != "turn":
                starts.setdefault(phase.step, phase.start_s)
        return starts

    def _moving(self) -> list[Phase]:
        return [p for p in self.phases if p.speed_kmh_start > 0 or p.speed_kmh_end > 0]

    def totals_json(self) -> dict[str, Any]:
        """The totals, JSON-ready."""
        return {
            "total_s": round(self.total_s, 3),
            "backward_s": round(self.backward_s, 3),
            "forward_s": round(self.forward_s, 3),
            "distance_m": round(self.distance_m, 1),
            "turns": self.turns,
        }

    def to_json(self) -> dict[str, Any]:
        """Everything `treadctl plan --json` prints."""
        return {
            "workout": self.workout,
            "phases": [phase.to_json() for phase in self.phases],
            "totals": self.totals_json(),
            "notes": list(self.notes),
            "announcements": list(self.announcements),
        }
