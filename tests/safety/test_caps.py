"""Caps are absolute (DESIGN §2 rule 1 before rule 2), scenario by scenario, with the exact
commands and times: a deck above a lowered incline cap goes to it at once, as the speed does;
a treadmill that refuses the drop to a cap gets its belt paused (`safety_stop` says why)."""

from __future__ import annotations

import pytest
from safety.support import PAD, refusing_every, run, walking

from treadctl.safety import (
    BeltState,
    DeviceCaps,
    Direction,
    Governor,
    InclineCommand,
    Limits,
    SpeedCommand,
    TurnSettings,
    TurnStage,
)

TRY_LATER = [None, 0x04, 0x05]  # no answer, Operation Failed, Control Not Permitted
NOT_THIS = [0x02, 0x03]  # Op Code Not Supported, Invalid Parameter


def uphill(incline_pct: float = 5.0, speed_kmh: float = 3.0) -> Governor:
    """Walking backward at `speed_kmh` with the deck raised to `incline_pct` (1 %/s, by 120 s)."""
    governor = walking(speed_kmh)
    governor.set_incline(incline_pct, 100.0)
    run(governor, 100.0, 120.0)
    assert governor.commanded_incline_pct == incline_pct
    return governor


# --- a deck above a lowered cap ----------------------------------------------------------


def test_a_lowered_incline_cap_brings_the_deck_down_at_once() -> None:
    """An incline cap lowered from 10 % to 2 % under a deck at 5 %: the very next command takes
    the deck to 2 % (not 6 s later, when the 0.5 %/s ramp would have got there); its Move is a
    jump. A lower goal afterwards ramps on from the cap at the usual pace."""
    governor = uphill(5.0)
    [clamp] = governor.lower_limits({"max_incline_pct": 2.0}, 120.0)
    assert (clamp.quantity, clamp.requested, clamp.allowed) == ("incline", 5.0, 2.0)
    assert run(governor, 120.0, 130.0) == [(120.0, "incline 2")]
    move = governor.last_move
    assert move is not None
    assert (move.start_s, move.at_s, move.from_value, move.to_value) == (120.0, 120.0, 5.0, 2.0)
    governor.set_incline(1.0, 130.0)
    assert run(governor, 130.0, 140.0) == [(131.0, "incline 1.5"), (132.0, "incline 1")]


def test_a_lowered_incline_cap_waits_only_for_the_command_interval() -> None:
    """An incline cap lowered to 1 % 0.1 s after a ramp step to 1.5 %: the deck goes to 1 % at
    the first moment the device's command interval (0.5 s) allows, and no higher after it."""
    governor = walking(3.0)
    governor.set_incline(5.0, 100.0)
    assert run(governor, 100.0, 103.0)[-1] == (103.0, "incline 1.5")
    governor.lower_limits({"max_incline_pct": 1.0}, 103.1)
    assert run(governor, 103.1, 200.0) == [(103.5, "incline 1")]


def test_the_speed_goes_to_its_cap_before_the_deck() -> None:
    """Both caps lowered at once under the belt: the speed first (4.0 → 2.5 km/h), the deck
    with the next command the interval allows (5 → 2 %), before any other move."""
    governor = uphill(5.0, speed_kmh=3.5)
    governor.lower_limits({"max_incline_pct": 2.0, "backward_max_kmh": 2.5}, 120.0)
    assert run(governor, 120.0, 140.0) == [(120.0, "speed 2.5"), (120.5, "incline 2")]


def test_a_turn_takes_a_deck_above_a_lowered_cap_to_the_cap_then_levels_it() -> None:
    """A turn levelling the deck (1 %/s from 5 %) when the incline cap goes down to 2 %: the
    deck jumps to 2 % with the next command, then the turn levels it and slows the belt at
    the usual pace."""
    governor = uphill(5.0)
    governor.begin_turn(Direction.FORWARD, 120.0, speed_kmh=2.0)
    assert run(governor, 120.0, 121.0) == [(121.0, "incline 4.5")]
    governor.lower_limits({"max_incline_pct": 2.0}, 121.1)
    assert run(governor, 121.1, 127.0) == [
        (121.5, "incline 2"),
        (122.5, "incline 1.5"),
        (123.5, "incline 1"),
        (124.5, "incline 0.5"),
        (125.5, "incline 0"),
        (126.1, "speed 2.7"),
        (126.7, "speed 2.4"),
    ]


def test_a_pause_takes_a_deck_above_a_lowered_cap_to_the_cap() -> None:
    """A pause leaves the deck as it is, but not above a cap lowered under it meanwhile: the
    deck goes to 2 % with the next command, and the speed goes on down to the Pause."""
    governor = uphill(5.0)
    governor.pause(120.0)
    assert run(governor, 120.0, 120.6) == [(120.6, "speed 2.7")]
    governor.lower_limits({"max_incline_pct": 2.0}, 120.7)
    assert run(governor, 120.7, 200.0) == [
        (121.1, "incline 2"),
        (121.7, "speed 2.4"),
        (122.3, "speed 2.1"),
        (122.9, "speed 1.8"),
        (123.5, "speed 1.5"),
        (124.0, "pause"),
    ]


def test_a_latched_belt_leaves_the_deck_alone() -> None:
    """Latched (safety key) and found moving at a reconnect: the governor only slows the belt
    and pauses it; the deck is never moved while latched, even above a lowered cap."""
    governor = uphill(5.0)
    governor.safety_key_pulled(120.0)
    governor.link_restored(121.0, belt_moving=True, reported_speed_kmh=3.0)
    governor.lower_limits({"max_incline_pct": 2.0}, 121.0)
    assert run(governor, 121.0, 200.0) == [
        (121.6, "speed 2.7"),
        (122.2, "speed 2.4"),
        (122.8, "speed 2.1"),
        (123.4, "speed 1.8"),
        (124.0, "speed 1.5"),
        (124.5, "pause"),
    ]


# --- a refused drop to the speed cap -----------------------------------------------------


@pytest.mark.parametrize("code", TRY_LATER + NOT_THIS)
@pytest.mark.parametrize("pause_supported", [True, False])
def test_a_refused_drop_to_the_speed_cap_pauses_the_belt_at_once(
    code: int | None, pause_supported: bool
) -> None:
    """The cap lowered from 4.0 to 2.5 km/h under the belt, and the treadmill refuses the drop
    (any result code, or no answer): the belt would stay above the cap, so the drop is given
    up at once and the Pause (Stop without Pause support) follows after the command interval,
    from the speed the belt has; the refusal names the safety stop."""
    device = PAD if pause_supported else DeviceCaps(**{**PAD.__dict__, "pause_supported": False})
    governor = Governor(Limits(), device, TurnSettings(), direction=Direction.BACKWARD)
    governor.set_speed(4.0, 0.0)
    governor.start(0.0)
    run(governor, 0.0, 100.0)
    governor.lower_limits({"backward_max_kmh": 2.5}, 100.0)
    sent = refusing_every(SpeedCommand, code, governor, 100.0, 200.0)
    end = "pause" if pause_supported else "stop"
    assert [(t, what) for t, what, _ in sent] == [(100.0, "speed 2.5"), (100.5, end)]
    refusal = sent[0][2]
    assert refusal is not None
    assert refusal.describe(100.0) == {"attempt": 1, "given_up": True}
    assert refusal.safety_stop == "speed_above_cap"
    assert governor.belt is (BeltState.PAUSED if pause_supported else BeltState.STOPPED)
    assert governor.ending is None


def test_a_refused_drop_to_the_speed_cap_at_a_workout_end_stops() -> None:
    """A finish under way when the cap goes down under the belt, and the drop refused (0x04):
    the Stop (not a Pause: the workout is over) follows after the command interval."""
    governor = walking(4.0)
    governor.finish(100.0)
    governor.lower_limits({"backward_max_kmh": 2.5}, 100.2)
    sent = refusing_every(SpeedCommand, 0x04, governor, 100.2, 200.0)
    assert [(t, what) for t, what, _ in sent] == [(100.2, "speed 2.5"), (100.7, "stop")]
    refusal = sent[0][2]
    assert refusal is not None
    assert (refusal.given_up, refusal.safety_stop) == (True, "speed_above_cap")
    assert governor.belt is BeltState.STOPPED


def test_a_belt_found_above_the_cap_whose_drop_is_refused_is_paused() -> None:
    """The belt reported at 5.0 km/h for 3 s walking backward (cap 4.0): the drop to the cap is
    refused (0x03), so the belt is paused 0.5 s later instead of being tried again in 5 s."""
    governor = walking(3.0)
    for t_s in (100.0, 101.0, 102.0, 103.0):
        governor.observe_speed(5.0, t_s)
    sent = refusing_every(SpeedCommand, 0x03, governor, 103.0, 200.0)
    assert [(t, what) for t, what, _ in sent] == [(103.0, "speed 4"), (103.5, "pause")]
    refusal = sent[0][2]
    assert refusal is not None
    assert refusal.safety_stop == "speed_above_cap"
    assert governor.belt is BeltState.PAUSED


# --- a refused drop of the deck ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "tries_s"),
    [(c, [120.0, 122.0, 126.0, 134.0]) for c in TRY_LATER]
    + [(c, [120.0, 125.0]) for c in NOT_THIS],
)
def test_a_refused_drop_of_the_deck_is_tried_then_the_belt_is_paused(
    code: int | None, tries_s: list[float]
) -> None:
    """The incline cap lowered to 2 % under a deck at 5 %, and the treadmill refuses the drop:
    it is tried as the back-off table says (2, 4, 8 s; or once more after 5 s) while the speed
    waits (the announced rise to 3.5 km/h does not go); then it is given up and the belt is
    ramped down at the usual pace and paused — the speed is not at stake, the deck is."""
    governor = uphill(5.0)
    governor.set_speed(3.5, 115.0)  # announced: may rise from 120 s
    governor.lower_limits({"max_incline_pct": 2.0}, 120.0)
    sent = refusing_every(InclineCommand, code, governor, 120.0, 200.0)
    given_up_s = tries_s[-1]
    assert [(t, what) for t, what, _ in sent] == [(t, "incline 2") for t in tries_s] + [
        (round(given_up_s + 0.6, 3), "speed 2.7"),
        (round(given_up_s + 1.2, 3), "speed 2.4"),
        (round(given_up_s + 1.8, 3), "speed 2.1"),
        (round(given_up_s + 2.4, 3), "speed 1.8"),
        (round(given_up_s + 3.0, 3), "speed 1.5"),
        (round(given_up_s + 3.5, 3), "pause"),
    ]
    refusals = [r for _, _, r in sent if r is not None]
    assert [r.safety_stop for r in refusals] == [None] * (len(tries_s) - 1) + ["incline_above_cap"]
    assert refusals[-1].describe(given_up_s) == {"attempt": len(tries_s), "given_up": True}
    assert (governor.belt, governor.ending) == (BeltState.PAUSED, None)
    assert governor.commanded_incline_pct == 5.0


def test_a_persons_resume_tries_the_drop_of_the_deck_again() -> None:
    """After the belt was paused because the deck would not come down to its cap, a person's
    resume starts the belt at its start speed and tries the drop again at once."""
    governor = uphill(5.0)
    governor.lower_limits({"max_incline_pct": 2.0}, 120.0)
    refusing_every(InclineCommand, 0x03, governor, 120.0, 200.0)
    assert governor.belt is BeltState.PAUSED
    governor.start(200.0)
    assert run(governor, 200.0, 201.0) == [
        (200.0, "start"),
        (200.5, "speed 1.5"),
        (201.0, "incline 2"),
    ]


def test_a_refused_drop_of_the_deck_in_a_ramp_down_is_given_up_at_once() -> None:
    """A workout's end under way when the incline cap goes down to 2 % under the deck, and the
    drop refused (0x04): given up at once, as anything refused in a ramp-down, with the safety
    stop named; the speed goes on down and the belt stops with the deck it has."""
    governor = uphill(5.0)
    governor.finish(120.0)
    governor.lower_limits({"max_incline_pct": 2.0}, 120.0)
    sent = refusing_every(InclineCommand, 0x04, governor, 120.0, 200.0)
    assert [(t, what) for t, what, _ in sent] == [
        (120.0, "incline 2"),
        (120.6, "speed 2.7"),
        (121.2, "speed 2.4"),
        (121.8, "speed 2.1"),
        (122.4, "speed 1.8"),
        (123.0, "speed 1.5"),
        (123.5, "stop"),
    ]
    refusal = sent[0][2]
    assert refusal is not None
    assert (refusal.given_up, refusal.safety_stop) == (True, "incline_above_cap")
    assert governor.belt is BeltState.STOPPED


def test_a_moving_turn_whose_deck_stays_above_the_cap_pauses_instead_of_holding() -> None:
    """A moving turn (turn.speed_kmh 1.2) from a deck at 3 % when the incline cap goes down to
    1 % and the drop is refused (0x02): the belt slows to the turn speed as usual, but is
    paused rather than held moving there — walking on a deck above the cap is what it forbids."""
    governor = Governor(Limits(), PAD, TurnSettings(speed_kmh=1.2), direction=Direction.BACKWARD)
    governor.set_speed(2.1, 0.0)
    governor.set_incline(3.0, 0.0)
    governor.start(0.0)
    run(governor, 0.0, 60.0)
    governor.begin_turn(Direction.FORWARD, 60.0, speed_kmh=2.0)
    governor.lower_limits({"max_incline_pct": 1.0}, 60.0)
    sent = refusing_every(InclineCommand, 0x02, governor, 60.0, 80.0)
    assert [(t, what) for t, what, _ in sent] == [
        (60.0, "incline 1"),
        (60.6, "speed 1.8"),
        (61.2, "speed 1.5"),
        (61.8, "speed 1.2"),
        (62.3, "pause"),
    ]
    assert (governor.turn_stage, governor.belt) == (TurnStage.HOLDING, BeltState.PAUSED)
    assert governor.hold_started_s == pytest.approx(62.3)
