"""Belt and lift physics of the virtual treadmill: pure, time passed in as a step `dt_s`.

Owns: `Belt` — actual speed following the motor's target at the machine's own acceleration and
deceleration, incline following its target at the lift rate, and the session counters (distance,
elevation gain, energy, steps, elapsed time). Speed and distance are integrated exactly (speed is
piecewise linear in time), so they do not depend on how often `advance` is called.

Energy uses the ACSM walking equation (VO2 = 3.5 + 0.1·v + 1.8·v·grade, v in m/min; 5 kcal per
litre of O2), which is good enough for a simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadctl.sim.settings import TreadmillConfig


def _approach(value: float, target: float, rate: float, dt_s: float) -> tuple[float, float]:
    """Move `value` toward `target` at `rate`/s for `dt_s`: (new value, time spent moving)."""
    gap = target - value
    needed_s = abs(gap) / rate
    if needed_s <= dt_s:
        return target, needed_s
    return value + (rate * dt_s if gap > 0 else -rate * dt_s), dt_s


@dataclass
class Belt:
    """The moving parts and what they have done this session."""

    config: TreadmillConfig
    speed_kmh: float = 0.0  # actual belt speed
    motor_target_kmh: float = 0.0  # what the motor drives toward (0 when stopping or paused)
    incline_pct: float = 0.0
    incline_target_pct: float = 0.0
    emergency: bool = False  # safety key pulled: brake hard
    distance_m: float = 0.0
    positive_elevation_m: float = 0.0
    negative_elevation_m: float = 0.0
    energy_kcal: float = 0.0
    elapsed_s: float = 0.0
    on_belt: bool = True  # someone walking (distance needs load on some pads, Q9)

    def reset_session(self) -> None:
        """Zero the counters (a new training session)."""
        self.distance_m = 0.0
        self.positive_elevation_m = 0.0
        self.negative_elevation_m = 0.0
        self.energy_kcal = 0.0
        self.elapsed_s = 0.0

    def advance(self, dt_s: float, *, session_running: bool, distance_needs_load: bool) -> None:
        """Advance the physics by `dt_s` seconds."""
        if dt_s <= 0:
            return
        v0 = self.speed_kmh
        target = self.motor_target_kmh
        rate = (
            self.config.emergency_decel_kmh_per_s
            if self.emergency
            else self.config.accel_kmh_per_s
            if target > v0
            else self.config.decel_kmh_per_s
        )
        v1, ramp_s = _approach(v0, target, rate, dt_s)
        # exact distance: trapezoid over the ramp, then constant speed
        travelled_m = ((v0 + v1) / 2 * ramp_s + v1 * (dt_s - ramp_s)) / 3.6
        self.speed_kmh = v1
        if v1 == 0.0 and target == 0.0:
            self.emergency = False
        incline0 = self.incline_pct
        self.incline_pct, _ = _approach(
            incline0, self.incline_target_pct, self.config.incline_rate_pct_per_s, dt_s
        )
        grade = (incline0 + self.incline_pct) / 2 / 100
        if not distance_needs_load or self.on_belt:
            self.distance_m += travelled_m
        if grade >= 0:
            self.positive_elevation_m += travelled_m * grade
        else:
            self.negative_elevation_m += travelled_m * -grade
        if session_running:
            self.elapsed_s += dt_s
            self.energy_kcal += self.kcal_per_minute * dt_s / 60

    @property
    def metabolic_equivalent(self) -> float:
        """METs of walking at the current speed and grade (1.0 standing)."""
        v_m_per_min = self.speed_kmh * 1000 / 60
        grade = max(self.incline_pct, 0.0) / 100
        return (3.5 + 0.1 * v_m_per_min + 1.8 * v_m_per_min * grade) / 3.5

    @property
    def kcal_per_minute(self) -> float:
        """Energy rate for the configured user mass."""
        return self.metabolic_equivalent * 3.5 * self.config.user_mass_kg / 1000 * 5

    @property
    def steps(self) -> int:
        """Steps walked this session (distance over stride length)."""
        return round(self.distance_m / self.config.stride_m)

    @property
    def average_speed_kmh(self) -> float:
        """Session distance over session time."""
        return self.distance_m / self.elapsed_s * 3.6 if self.elapsed_s > 0 else 0.0
