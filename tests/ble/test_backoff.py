"""Reconnect backoff: exponential, capped, jittered, resettable."""

from __future__ import annotations

import random

import pytest

from treadctl.ble.backoff import Backoff


def test_without_jitter_delays_double_up_to_the_cap() -> None:
    """Delays go 1, 2, 4, 8, 16, 30, 30 s with factor 2 and a 30 s cap."""
    backoff = Backoff(initial_s=1.0, max_s=30.0, factor=2.0, jitter=0.0)
    assert [backoff.next_delay_s() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_jitter_stays_within_its_fraction_of_the_ceiling() -> None:
    """With jitter 0.5 every delay lies between half and all of its ceiling."""
    backoff = Backoff(initial_s=1.0, max_s=8.0, jitter=0.5, rng=random.Random(7))
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8]
    for ceiling in ceilings:
        assert ceiling / 2 <= backoff.next_delay_s() <= ceiling


def test_jitter_spreads_two_links_that_failed_together() -> None:
    """Two links with different random sources do not retry in lockstep."""
    one = Backoff(rng=random.Random(1))
    two = Backoff(rng=random.Random(2))
    assert [one.next_delay_s() for _ in range(4)] != [two.next_delay_s() for _ in range(4)]


def test_reset_starts_again_from_the_initial_delay() -> None:
    """After a successful connection the next failure waits the initial delay again."""
    backoff = Backoff(initial_s=0.5, max_s=10.0, jitter=0.0)
    for _ in range(5):
        backoff.next_delay_s()
    backoff.reset()
    assert backoff.next_delay_s() == 0.5


def test_huge_attempt_counts_do_not_overflow() -> None:
    """Thousands of failed attempts still give the capped delay."""
    backoff = Backoff(initial_s=1.0, max_s=60.0, jitter=0.0, attempts=10_000)
    assert backoff.next_delay_s() == 60.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": 0.0}, {"initial_s": 5.0, "max_s": 1.0}, {"factor": 0.5}, {"jitter": 1.5}],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    """Backoff settings that cannot work raise ValueError."""
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(**kwargs)  # type: ignore[arg-type]
