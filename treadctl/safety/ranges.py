"""Caps and device ranges as whole-number grids, and the checks of every request against them.

Owns: `Ranges` — for one `Limits` and `DeviceCaps`: the speed grid per direction, the incline
grid, top and start speeds, the speed a turn slows to, and the refusals (`LimitExceededError`
with the requested and the allowed value). Values are hundredths (see `grid`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from treadctl.errors import LimitExceededError, SafetyError
from treadctl.safety.grid import Grid, centi, centi_ceil, centi_floor, fmt, real
from treadctl.safety.limits import DeviceCaps, Direction, Limits, TurnSettings


@dataclass(frozen=True)
class Ranges:
    """What one set of caps and one device allow."""

    limits: Limits
    device: DeviceCaps

    def speed_grid(self, direction: Direction) -> Grid:
        """Speeds the belt may take walking `direction` (hundredths of km/h)."""
        dev = self.device
        high = min(centi_floor(self.limits.cap_kmh(direction)), centi_floor(dev.max_speed_kmh))
        low = centi_ceil(dev.min_speed_kmh)
        return Grid(low, centi(dev.speed_increment_kmh), low, max(high, low))

    def can_run(self, direction: Direction) -> bool:
        """Whether the belt can move at all walking `direction` (device minimum ≤ cap)."""
        cap = min(self.limits.cap_kmh(direction), self.device.max_speed_kmh)
        return centi_ceil(self.device.min_speed_kmh) <= centi_floor(cap)

    def device_speed_grid(self) -> Grid:
        """Every speed the device can take, caps aside (for placing a reported speed)."""
        low = centi_ceil(self.device.min_speed_kmh)
        step = centi(self.device.speed_increment_kmh)
        return Grid(low, step, low, max(centi_floor(self.device.max_speed_kmh), low))

    def incline_grid(self) -> Grid:
        """Inclines the deck may take (hundredths of %; never a decline)."""
        dev = self.device
        low = max(0, centi_ceil(dev.min_incline_pct or 0.0))
        high = min(
            centi_floor(self.limits.max_incline_pct), centi_floor(dev.max_incline_pct or 0.0)
        )
        return Grid(0, centi(dev.incline_increment_pct or 0.1), low, max(high, low))

    def top_speed(self, direction: Direction) -> int:
        """The highest allowed speed walking `direction` (cap and device maximum)."""
        return self.speed_grid(direction).high_on()

    def start_speed(self, direction: Direction) -> int:
        """Where every Start or Resume begins: max(backward_start_kmh, device minimum)."""
        grid = self.speed_grid(direction)
        return grid.ceil(max(grid.low, centi(self.limits.backward_start_kmh)))

    def turn_floor(self, turn: TurnSettings, before: Direction, after: Direction) -> int:
        """The speed a turn slows to: `turn.speed_kmh` (moving turn) or the start speed of the
        coming direction (the belt pauses there, so it resumes gently); never above a cap."""
        high = min(self.top_speed(before), self.top_speed(after))
        if turn.speed_kmh > 0:
            grid = self.speed_grid(after)
            value = grid.nearest(max(centi(turn.speed_kmh), grid.low))
        else:
            value = self.start_speed(after)
        return min(value, high)

    def check_speed(self, speed_kmh: float, direction: Direction) -> int:
        """`speed_kmh` on the grid; raises `LimitExceededError` beyond a cap or the device
        range (with the requested and allowed values), `SafetyError` for a non-number."""
        if not isinstance(speed_kmh, int | float) or not math.isfinite(speed_kmh):
            raise SafetyError(f"speed {speed_kmh!r} is not a number", reason="invalid_speed")
        cap, dev = self.limits.cap_kmh(direction), self.device
        value = centi(speed_kmh)
        if value <= 0:
            raise SafetyError(
                f"speed {fmt(speed_kmh)} km/h: a walking speed is above 0 (pause or stop instead)",
                reason="invalid_speed",
            )
        if value > centi_floor(cap):
            raise LimitExceededError(
                f"out of cap: requested {fmt(speed_kmh)} km/h, {direction} cap {fmt(cap)} km/h",
                reason=f"{direction}_cap",
                requested=speed_kmh,
                allowed=cap,
                unit="km/h",
            )
        for over, allowed, what in (
            (value > centi_floor(dev.max_speed_kmh), dev.max_speed_kmh, "maximum"),
            (value < centi_ceil(dev.min_speed_kmh), dev.min_speed_kmh, "minimum"),
        ):
            if over:
                raise LimitExceededError(
                    f"out of range: requested {fmt(speed_kmh)} km/h, "
                    f"device {what} {fmt(allowed)} km/h",
                    reason=f"device_{what[:3]}",
                    requested=speed_kmh,
                    allowed=allowed,
                    unit="km/h",
                )
        return self.speed_grid(direction).nearest(value)

    def check_incline(self, incline_pct: float) -> int | None:
        """`incline_pct` on the grid (None on a device without incline, for 0 %); raises
        `LimitExceededError` beyond the cap or device range, and for any decline."""
        if not isinstance(incline_pct, int | float) or not math.isfinite(incline_pct):
            raise SafetyError(f"incline {incline_pct!r} is not a number", reason="invalid_incline")
        value, dev, cap = centi(incline_pct), self.device, self.limits.max_incline_pct
        problems = (
            (
                not dev.incline_supported and value != 0,
                0.0,
                "no_incline",
                "this treadmill has no incline",
            ),
            (value < 0, 0.0, "decline", "declines are refused (at least 0 %)"),
            (value > centi_floor(cap), cap, "incline_cap", f"incline cap {fmt(cap)} %"),
            (
                value > centi_floor(dev.max_incline_pct or 0.0),
                dev.max_incline_pct or 0.0,
                "device_max_incline",
                f"device maximum {dev.max_incline_pct or 0.0:g} %",
            ),
        )
        for bad, allowed, reason, text in problems:
            if bad:
                raise LimitExceededError(
                    f"out of range: requested {fmt(incline_pct)} %, {text}",
                    reason=reason,
                    requested=incline_pct,
                    allowed=allowed,
                    unit="%",
                )
        if not dev.incline_supported:
            return None
        return self.incline_grid().nearest(value)

    def check_can_start(self, direction: Direction) -> None:
        """Raise `LimitExceededError` when the device minimum is above the cap of `direction`
        (the belt could not start without breaking it)."""
        grid = self.speed_grid(direction)
        cap = min(self.limits.cap_kmh(direction), self.device.max_speed_kmh)
        if grid.low > centi_floor(cap):
            raise LimitExceededError(
                f"out of cap: the device minimum {fmt(real(grid.low))} km/h is above the "
                f"{direction} cap {fmt(cap)} km/h",
                reason="device_min_above_cap",
                requested=real(grid.low),
                allowed=cap,
                unit="km/h",
            )
