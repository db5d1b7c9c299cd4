"""Whole-number arithmetic for speeds and inclines on the device's increment grid.

Owns: conversion to hundredths (`centi`, `real`: km/h and % both in 0.01 units, the FTMS wire
resolution for speed), the speed grid (anchored at the device minimum) and the incline grid
(anchored at 0 %, so a level deck is always reachable), and the size of one ramp step. Working
in integers keeps caps and rate checks exact: no 3.9999 km/h from float sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def centi(value: float) -> int:
    """`value` in hundredths, rounded (never truncated: 8.2 is 820, not 819)."""
    return round(value * 100)


def centi_floor(value: float) -> int:
    """`value` in hundredths, rounded down (for caps: never a hundredth above them)."""
    return math.floor(round(value * 100, 6))


def centi_ceil(value: float) -> int:
    """`value` in hundredths, rounded up (for minimums)."""
    return math.ceil(round(value * 100, 6))


def real(value_c: int) -> float:
    """Hundredths back to km/h or %."""
    return value_c / 100


@dataclass(frozen=True)
class Grid:
    """Values `origin + k·step` (hundredths), limited to [`low`, `high`]."""

    origin: int
    step: int
    low: int
    high: int

    def floor(self, value: int) -> int:
        """The largest grid value ≤ `value` (clipped to the range)."""
        on = self.origin + ((value - self.origin) // self.step) * self.step
        return max(self.low_on(), min(on, self.high_on()))

    def ceil(self, value: int) -> int:
        """The smallest grid value ≥ `value` (clipped to the range)."""
        on = self.origin - ((self.origin - value) // self.step) * self.step
        return max(self.low_on(), min(on, self.high_on()))

    def nearest(self, value: int) -> int:
        """The grid value nearest to `value` (ties go down: never a rounding rise)."""
        down, up = self.floor(value), self.ceil(value)
        return up if up - value < value - down else down

    def low_on(self) -> int:
        """The lowest grid value inside the range."""
        return self.origin - ((self.origin - self.low) // self.step) * self.step

    def high_on(self) -> int:
        """The highest grid value inside the range."""
        return self.origin + ((self.high - self.origin) // self.step) * self.step


def ramp_step(rate_per_s: float, increment_c: int, interval_s: float) -> int:
    """Hundredths moved per ramp step: the fewest whole increments whose time at `rate_per_s`
    is no shorter than the device's command interval (so the ramp keeps its average rate)."""
    per_interval_c = interval_s * rate_per_s * 100
    return max(1, math.ceil(per_interval_c / increment_c - 1e-9)) * increment_c


def fmt(value: float) -> str:
    """A value for messages: at least one decimal, at most two (4.0, 3.25, 12.5)."""
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
