"""Echo classification (Q12), debounced belt motion (Q21) and elapsed-time unwrapping (Q10)."""

from __future__ import annotations

from treadctl.ble.tracking import BeltMotion, EchoFilter, ElapsedUnwrap


def test_status_during_and_just_after_our_write_is_an_echo() -> None:
    """Started (0x04) after our Start (0x07) is an echo while in flight and within the window."""
    echo = EchoFilter(window_s=1.0)
    echo.wrote(0x07)
    assert echo.is_echo(0x04, now_s=100.0)
    echo.finished(0x07, now_s=100.2)
    assert echo.is_echo(0x04, now_s=101.2)
    assert not echo.is_echo(0x04, now_s=101.3)


def test_each_write_only_excuses_its_own_statuses() -> None:
    """A console Stop (0x02) during our speed change (0x02 op) is not an echo."""
    echo = EchoFilter()
    echo.wrote(0x02)
    assert echo.is_echo(0x05, now_s=1.0)
    assert not echo.is_echo(0x02, now_s=1.0)
    echo.wrote(0x08)
    assert echo.is_echo(0x02, now_s=1.0)


def test_safety_key_and_permission_lost_are_never_echoes() -> None:
    """0x03 (safety key) and 0xFF (control permission lost) always come from elsewhere."""
    echo = EchoFilter()
    for op in (0x00, 0x01, 0x02, 0x03, 0x07, 0x08):
        echo.wrote(op)
    assert not echo.is_echo(0x03, now_s=0.0)
    assert not echo.is_echo(0xFF, now_s=0.0)


def test_reset_forgets_writes_in_flight() -> None:
    """After a link loss nothing counts as an echo any more."""
    echo = EchoFilter()
    echo.wrote(0x07)
    echo.reset()
    assert not echo.is_echo(0x04, now_s=0.0)


def test_belt_motion_ignores_a_single_zero_frame() -> None:
    """A lone 0 km/h frame while walking is not a stop until it lasts the debounce time."""
    belt = BeltMotion(zero_debounce_s=3.0)
    assert not belt.moving(0.0)
    assert not belt.known
    belt.feed(2.0, 0.0)
    belt.feed(0.0, 1.0)
    assert belt.moving(3.9)
    assert not belt.moving(4.0)
    belt.feed(2.0, 4.5)
    assert belt.moving(4.5)


def test_belt_motion_is_false_when_it_never_moved() -> None:
    """Zero speeds from the start mean a stopped belt at once, with no debounce."""
    belt = BeltMotion()
    belt.feed(0.0, 0.0)
    assert belt.known
    assert not belt.moving(0.1)
    belt.feed(None, 0.2)
    assert not belt.moving(0.2)


def test_belt_motion_reset_forgets_the_belt() -> None:
    """After reset the belt is unknown again."""
    belt = BeltMotion()
    belt.feed(3.0, 0.0)
    belt.reset()
    assert not belt.known
    assert not belt.moving(0.0)


def test_elapsed_time_keeps_counting_past_the_wrap() -> None:
    """5999 → 0 → 1 becomes 5999 → 6000 → 6001 with a 6000 s wrap (Q10)."""
    unwrap = ElapsedUnwrap(wrap_s=6000.0)
    assert [unwrap.unwrap(v) for v in (5998.0, 5999.0, 0.0, 1.0)] == [5998, 5999, 6000, 6001]
    assert unwrap.unwrap(None) is None


def test_elapsed_drop_away_from_the_wrap_is_a_reset() -> None:
    """A drop from 300 s to 0 s is a new session, not a wrap."""
    unwrap = ElapsedUnwrap(wrap_s=6000.0)
    assert [unwrap.unwrap(v) for v in (5999.0, 0.0, 300.0, 0.0)] == [5999, 6000, 6300, 0]


def test_elapsed_without_wrap_passes_through() -> None:
    """With no wrap configured elapsed values are returned unchanged."""
    unwrap = ElapsedUnwrap()
    assert [unwrap.unwrap(v) for v in (10.0, 0.0)] == [10.0, 0.0]
