"""What the governor may ask of a treadmill, from what the treadmill says about itself.

Owns: `device_caps` — `safety.DeviceCaps` in real km/h and real % from the Supported Speed and
Inclination Ranges after the profile's conversions (mph, incline scale; Q3, Q4), the profile's
minimum target speed (Q17) and command spacing. Rounded inwards to hundredths, so a converted
range never promises more than the device allows. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import structlog

from treadctl import ftms
from treadctl.ble.quirks import QuirkProfile
from treadctl.safety import DeviceCaps

log = structlog.get_logger("treadctl.ble")

# Without a Supported Speed Range (optional when speed targets are unsupported) the governor
# still needs a range; the site's own caps (≤ 6 km/h) stay the binding limit.
FALLBACK_MIN_SPEED_KMH = 0.5
FALLBACK_MAX_SPEED_KMH = 6.0
FALLBACK_INCREMENT_KMH = 0.1


def _floor2(value: float) -> float:
    return math.floor(round(value * 100, 6)) / 100


def _ceil2(value: float) -> float:
    return math.ceil(round(value * 100, 6)) / 100


def _inward(
    to_real: Callable[[float], float], low: float, high: float, increment: float
) -> tuple[float, float, float]:
    """A range read from the device, in real units, rounded inwards to hundredths."""
    return _ceil2(to_real(low)), _floor2(to_real(high)), max(0.01, round(to_real(increment), 2))


def device_caps(
    profile: QuirkProfile,
    speed_range: ftms.SpeedRange | None,
    inclination_range: ftms.InclinationRange | None,
) -> DeviceCaps:
    """The governor's view of the device. Raises `SafetyError` for a range that is empty."""
    if speed_range is None:
        log.warning("speed_range_missing", profile=profile.name)
        low = FALLBACK_MIN_SPEED_KMH
        high = FALLBACK_MAX_SPEED_KMH
        step = FALLBACK_INCREMENT_KMH
    else:
        low, high, step = _inward(
            profile.range_speed_kmh,
            speed_range.min_kmh,
            speed_range.max_kmh,
            speed_range.increment_kmh,
        )
    low = max(low, profile.min_target_speed_kmh)
    incline_low = incline_high = incline_step = None
    if inclination_range is not None:
        incline_low, incline_high, incline_step = _inward(
            profile.range_incline_pct,
            inclination_range.min_pct,
            inclination_range.max_pct,
            inclination_range.increment_pct,
        )
    return DeviceCaps(
        min_speed_kmh=low,
        max_speed_kmh=high,
        speed_increment_kmh=step,
        min_incline_pct=incline_low,
        max_incline_pct=incline_high,
        incline_increment_pct=incline_step,
        min_command_interval_s=profile.min_command_interval_ms / 1000,
    )
