"""The governor's inputs: walking direction, the site's caps, turn settings and device ranges.

Owns: `Direction`, `Limits`, `TurnSettings`, `DeviceCaps` and their validation. Caps come from
the local config (DESIGN §2 rule 3); `Limits.lowered_by` is the only way a workout or command
changes them, and it can only lower. Defaults and their evidence: `ref/retro-walking.md` §6.
Everything is in real km/h and real % (the BLE layer converts mph and incline scales first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum

from treadctl.errors import LimitExceededError, SafetyError
from treadctl.safety.grid import fmt

BACKWARD_RUNNING_KMH = 6.0  # backward walk→run switch is 5.9 km/h [Hreljac05]: above is running
MAX_TURN_SPEED_KMH = 2.0  # a moving turn faster than this is not a turn
MIN_TURN_HOLD_S = 10.0  # ref/retro-walking.md §6: 10 s is the least a turn may last
MIN_ANNOUNCE_S = 5.0  # DESIGN §2 rule 5: any rise is announced at least 5 s ahead


class Direction(StrEnum):
    """Which way the person faces on the belt."""

    FORWARD = "forward"
    BACKWARD = "backward"


def _check_number(
    owner: str, name: str, value: float, *, low: float = -math.inf, positive: bool = False
) -> None:
    """Refuse anything but a finite number at least `low` (above 0 when `positive`): NaN
    passes every comparison, and an infinite cap or range is no cap at all."""
    bad = not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
    if bad:
        raise SafetyError(
            f"{owner}.{name} = {value!r}: must be a finite number", reason="invalid_setting"
        )
    if value < low or (positive and value <= 0):
        need = "above 0" if positive else f"at least {fmt(low)}"
        raise SafetyError(f"{owner}.{name} = {value!r}: must be {need}", reason="invalid_setting")


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The site's caps and ramps (DESIGN §2 rules 1–3). Lower only; never raise.

    `incline_rate_pct_per_s` is how fast incline targets move (the governor steps incline
    commands at this rate, and plans use it); `max_backward_session_s` bounds the backward
    time of one workout (≤ 30 min, ref §6). `backward_start_kmh` is the speed every Start or
    Resume begins at (with the device minimum as a floor), in either direction.
    """

    backward_max_kmh: float = 4.0
    forward_max_kmh: float = 6.0
    accel_kmh_per_s: float = 0.25
    decel_kmh_per_s: float = 0.5
    max_incline_pct: float = 10.0
    incline_rate_pct_per_s: float = 0.5
    backward_start_kmh: float = 1.5
    max_backward_session_s: float = 1800.0

    def __post_init__(self) -> None:
        for f in fields(self):
            positive = f.name != "max_incline_pct"
            _check_number("limits", f.name, getattr(self, f.name), low=0.0, positive=positive)
        if self.backward_max_kmh > BACKWARD_RUNNING_KMH:
            raise LimitExceededError(
                f"limits.backward_max_kmh {fmt(self.backward_max_kmh)} km/h is backward running; "
                f"treadctl allows at most {fmt(BACKWARD_RUNNING_KMH)} km/h",
                reason="backward_cap_is_running",
                requested=self.backward_max_kmh,
                allowed=BACKWARD_RUNNING_KMH,
                unit="km/h",
            )

    def cap_kmh(self, direction: Direction) -> float:
        """The speed cap for walking in `direction`, km/h."""
        if direction is Direction.BACKWARD:
            return self.backward_max_kmh
        return self.forward_max_kmh

    def lowered_by(self, other: Limits | Mapping[str, float]) -> Limits:
        """These limits with every field of `other` that is lower taken over (never raised).

        `other` is another `Limits` or a partial mapping of field names (a workout's
        `[limits]`). Raises `SafetyError` for an unknown name or an invalid value.
        """
        wanted = (
            {f.name: getattr(other, f.name) for f in fields(other)}
            if isinstance(other, Limits)
            else dict(other)
        )
        names = {f.name for f in fields(self)}
        unknown = sorted(set(wanted) - names)
        if unknown:
            raise SafetyError(
                f"unknown limit {unknown[0]!r}; known limits: {', '.join(sorted(names))}",
                reason="unknown_limit",
            )
        for name, value in wanted.items():
            _check_number("limits", name, value, low=0.0, positive=name != "max_incline_pct")
        lowered = {name: min(getattr(self, name), float(v)) for name, v in wanted.items()}
        return replace(self, **lowered)


@dataclass(frozen=True, kw_only=True)
class TurnSettings:
    """How a direction change is played (DESIGN §2 rule 5).

    `speed_kmh` 0 pauses the belt (Stop where Pause is unsupported); above 0 the belt slows to
    it instead. `hold_s` is the least time a turn lasts. With `auto_resume` the belt resumes by
    itself `max(hold_s, countdown_s)` after the hold starts, the last `countdown_s` announced.
    `announce_s` is the notice given before any speed rise.
    """

    speed_kmh: float = 0.0
    hold_s: float = 10.0
    auto_resume: bool = False
    countdown_s: float = 5.0
    announce_s: float = 5.0

    def __post_init__(self) -> None:
        _check_number("turn", "speed_kmh", self.speed_kmh, low=0.0, positive=False)
        _check_number("turn", "hold_s", self.hold_s, low=MIN_TURN_HOLD_S, positive=True)
        _check_number("turn", "countdown_s", self.countdown_s, low=MIN_ANNOUNCE_S, positive=True)
        _check_number("turn", "announce_s", self.announce_s, low=MIN_ANNOUNCE_S, positive=True)
        if self.speed_kmh > MAX_TURN_SPEED_KMH:
            raise LimitExceededError(
                f"turn.speed_kmh {fmt(self.speed_kmh)} km/h is too fast to turn around; "
                f"at most {fmt(MAX_TURN_SPEED_KMH)} km/h (0 pauses the belt)",
                reason="turn_speed",
                requested=self.speed_kmh,
                allowed=MAX_TURN_SPEED_KMH,
                unit="km/h",
            )

    @property
    def auto_resume_after_s(self) -> float:
        """Seconds from the start of the hold to an automatic resume (when opted in)."""
        return max(self.hold_s, self.countdown_s)


@dataclass(frozen=True, kw_only=True)
class DeviceCaps:
    """What the treadmill supports, in real km/h and %, as read from 0x2AD4/0x2AD5 and the
    quirk profile. Incline fields are all None when the device has no incline."""

    min_speed_kmh: float
    max_speed_kmh: float
    speed_increment_kmh: float = 0.1
    min_incline_pct: float | None = None
    max_incline_pct: float | None = None
    incline_increment_pct: float | None = None
    min_command_interval_s: float = 0.0
    pause_supported: bool = True

    def __post_init__(self) -> None:
        _check_number("device", "min_speed_kmh", self.min_speed_kmh, low=0.0, positive=False)
        _check_number("device", "max_speed_kmh", self.max_speed_kmh, low=0.0, positive=True)
        inc = self.speed_increment_kmh
        _check_number("device", "speed_increment_kmh", inc, low=0.01, positive=True)
        _check_number(
            "device", "min_command_interval_s", self.min_command_interval_s, low=0.0, positive=False
        )
        if self.max_speed_kmh < self.min_speed_kmh + inc:
            raise SafetyError(
                f"device speed range {fmt(self.min_speed_kmh)}–{fmt(self.max_speed_kmh)} km/h "
                "is empty",
                reason="invalid_setting",
            )
        low, high, step = self.min_incline_pct, self.max_incline_pct, self.incline_increment_pct
        if low is not None and high is not None and step is not None:
            _check_number("device", "min_incline_pct", low)
            _check_number("device", "max_incline_pct", high)
            _check_number("device", "incline_increment_pct", step, low=0.01, positive=True)
            if high < low:
                raise SafetyError(
                    f"device incline range {fmt(low)}–{fmt(high)} % is empty",
                    reason="invalid_setting",
                )
        elif (low, high, step) != (None, None, None):
            raise SafetyError(
                "device incline range needs min, max and increment, or none of them",
                reason="invalid_setting",
            )

    @property
    def incline_supported(self) -> bool:
        """Whether the device can move its deck (it reported an Inclination Range)."""
        return self.incline_increment_pct is not None and (self.max_incline_pct or 0.0) > 0.0
