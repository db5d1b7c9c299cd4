"""Clocks the runner can be given: real, sped up (the demo), and fake (tests).

Owns: the `Clock` protocol (`now() -> float` seconds, `async sleep(seconds)`),
`MonotonicClock`, `ScaledClock` (time runs `speedup` times faster: the demo plays a workout 20×
faster, and every rule holds in workout time) and `FakeClock` (time moves only in `advance`;
sleepers whose deadline has come are woken in deadline order; nothing really sleeps).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    """Where the runner gets its time from."""

    def now(self) -> float:
        """Seconds on this clock (only differences matter)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after `seconds` of this clock's time."""
        ...


class MonotonicClock:
    """The real monotonic clock."""

    def now(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep(seconds)`."""
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """A clock running `speedup` times faster than real time, starting at 0. Raises
    `ValueError` for a speedup that is not above 0."""

    def __init__(self, speedup: float) -> None:
        if not speedup > 0:
            raise ValueError(f"speedup must be above 0, not {speedup!r}")
        self.speedup = speedup
        self._origin = time.monotonic()

    def now(self) -> float:
        """Scaled seconds since the clock was made."""
        return (time.monotonic() - self._origin) * self.speedup

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of scaled time (`seconds / speedup` of real time)."""
        await asyncio.sleep(max(0.0, seconds) / self.speedup)


class FakeClock:
    """Test time: it stands still until `advance` moves it, waking due sleepers in order."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = start_s
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The fake time."""
        return self._now

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def next_deadline(self) -> float | None:
        """The earliest deadline a sleeper waits for."""
        live = [deadline for deadline, _, future in self._sleepers if not future.done()]
        return min(live) if live else None

    async def sleep(self, seconds: float) -> None:
        """Wait until `advance` has moved the time `seconds` on (0 just yields)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, stopping at each sleeper's deadline to wake it and let
        the woken tasks run (they may sleep again, within the same advance)."""
        target = self._now + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self._now = max(self._now, deadline)
            future.set_result(None)
            await self.settle()
        self._now = max(self._now, target)
        await self.settle()

    @staticmethod
    async def settle(rounds: int = 50) -> None:
        """Let every ready task run until all of them wait again."""
        for _ in range(rounds):
            await asyncio.sleep(0)
