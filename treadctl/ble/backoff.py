"""Reconnect delays: capped exponential backoff with jitter.

Owns: the delay before each reconnect attempt. Pure: the random source is injected, nothing
sleeps here (the link does the waiting).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of `initial_s · factor^n`, capped at `max_s`, each cut by up to `jitter` (0–1).

    Jitter spreads the reconnects of several treadmills (and several Pis) that lost the radio at
    the same moment, so they do not retry in lockstep. Raises `ValueError` unless
    0 < initial_s <= max_s, factor >= 1 and 0 <= jitter <= 1.
    """

    initial_s: float = 1.0
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s:
            raise ValueError("backoff needs 0 < initial_s <= max_s")
        if self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs factor >= 1 and 0 <= jitter <= 1")

    def next_delay_s(self) -> float:
        """The delay before the next attempt, in seconds; each call counts one attempt."""
        ceiling_s = min(self.max_s, self.initial_s * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        return ceiling_s * (1.0 - self.jitter * self.rng.random())

    def reset(self) -> None:
        """Start again from `initial_s` (after a connection that worked)."""
        self.attempts = 0
