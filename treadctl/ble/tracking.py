"""Small state machines the link keeps about a treadmill between notifications.

Owns: telling our own status echoes from console events (Q12), whether the belt is moving from
debounced telemetry (Q21), and unwrapping a console's Elapsed Time (Q10). Pure: every method that
needs time takes `now_s`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Request op code -> the Fitness Machine Status op codes a device may send back for it (Q12;
# CITYSPORTS sends 04 after 07, 05 after 02, 02 after 08 — hughesjs captures).
_ECHOES: dict[int, frozenset[int]] = {
    0x01: frozenset({0x01}),  # Reset -> Reset
    0x02: frozenset({0x05}),  # Set Target Speed -> Target Speed Changed
    0x03: frozenset({0x06}),  # Set Target Inclination -> Target Incline Changed
    0x07: frozenset({0x04}),  # Start or Resume -> Started or Resumed
    0x08: frozenset({0x02}),  # Stop or Pause -> Stopped or Paused
}


@dataclass
class EchoFilter:
    """Marks a status notification as the echo of our own control-point write.

    A status counts as an echo while the write that causes it is in flight and for `window_s`
    after its response (or timeout). Safety key (0x03) and Control Permission Lost (0xFF) are
    never echoes: nothing we write causes them.
    """

    window_s: float = 1.0
    _deadlines: dict[int, float] = field(default_factory=dict)

    def wrote(self, op_code: int) -> None:
        """A write with `op_code` is about to go out."""
        for status in _ECHOES.get(op_code, ()):
            self._deadlines[status] = math.inf

    def finished(self, op_code: int, now_s: float) -> None:
        """The procedure for `op_code` ended (response, timeout or failure) at `now_s`."""
        for status in _ECHOES.get(op_code, ()):
            self._deadlines[status] = now_s + self.window_s

    def is_echo(self, status_op_code: int, now_s: float) -> bool:
        """True when a status with this op code, received at `now_s`, echoes our write."""
        return now_s <= self._deadlines.get(status_op_code, -math.inf)

    def reset(self) -> None:
        """Forget every pending write (the link dropped)."""
        self._deadlines.clear()


@dataclass
class BeltMotion:
    """Whether the belt moves, from reported speeds; a short run of zeros is ignored (Q21)."""

    zero_debounce_s: float = 3.0
    _last_speed_kmh: float | None = None
    _zero_since_s: float | None = None
    _was_moving: bool = False

    def feed(self, speed_kmh: float | None, now_s: float) -> None:
        """A reported speed (None: not in this record) received at `now_s`."""
        if speed_kmh is None:
            return
        if speed_kmh > 0:
            self._was_moving = True
            self._zero_since_s = None
        elif self._zero_since_s is None:
            self._zero_since_s = now_s
        self._last_speed_kmh = speed_kmh

    def moving(self, now_s: float) -> bool:
        """True while the belt moves, or stopped for less than the debounce time."""
        if self._last_speed_kmh is None:
            return False
        if self._last_speed_kmh > 0:
            return True
        since = self._zero_since_s if self._zero_since_s is not None else now_s
        return self._was_moving and now_s - since < self.zero_debounce_s

    @property
    def known(self) -> bool:
        """True once any speed has been reported."""
        return self._last_speed_kmh is not None

    def reset(self) -> None:
        """Forget everything (new link)."""
        self._last_speed_kmh = None
        self._zero_since_s = None
        self._was_moving = False


@dataclass
class ElapsedUnwrap:
    """Makes a console's Elapsed Time keep counting past its wrap value (Q10: 99:59 -> 00:00).

    A drop from the top tenth of the range to the bottom tenth is a wrap; any other drop is a
    reset of the session (Reset procedure, new workout) and starts again from zero.
    """

    wrap_s: float = 0.0
    _offset_s: float = 0.0
    _last_s: float | None = None

    def unwrap(self, elapsed_s: float | None) -> float | None:
        """The elapsed time in seconds since the session started, past any wrap."""
        if elapsed_s is None or self.wrap_s <= 0:
            return elapsed_s
        last = self._last_s
        if last is not None and elapsed_s < last:
            wrapped = last >= 0.9 * self.wrap_s and elapsed_s <= 0.1 * self.wrap_s
            self._offset_s = self._offset_s + self.wrap_s if wrapped else 0.0
        self._last_s = elapsed_s
        return elapsed_s + self._offset_s

    def reset(self) -> None:
        """Forget the last value (new link: the console may have been reset meanwhile)."""
        self._offset_s = 0.0
        self._last_s = None
