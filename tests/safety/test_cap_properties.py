"""Property tests of "caps are absolute" (DESIGN §2 rule 1 before the ramps of rule 2) over
generated device ranges, caps, turn settings and timings.

A cap lowered under the commanded speed or deck is met by the next command the spacing allows
(the speed first, then the deck), and nothing later exceeds it. A treadmill that refuses the
drop to a cap leaves the belt above it, so the belt is paused: at once when the speed was
refused (any result code, or no answer), after the usual tries and a gentle ramp-down when the
deck was; the deck is not commanded again and the speed never rises while it is above its cap.
`belt_account.Belt` checks every command; these tests set the scene.
"""

from __future__ import annotations

import math

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from safety.belt_account import (
    CODES,
    ENDINGS,
    Belt,
    apply,
    directions,
    drain,
    end,
    inclined_devices,
    turns,
    walk,
    walking_limits,
)

from treadctl.safety import BeltState, DeviceCaps, Direction, Governor, Limits, TurnSettings

LOWERED = st.sampled_from(["speed", "incline", "both"])  # which caps go down


def walk_until(
    belt: Belt, speed: float, incline: float | None, ending: str | None, at_s: float,
    ending_before_s: float,
) -> float:  # fmt: skip
    """Walk (`belt_account.walk`) until `at_s`, with a pause, finish or turn begun
    `ending_before_s` earlier when `ending` is given; the time reached."""
    walk(belt, speed, incline)
    now_s = 0.0
    if ending is not None:
        now_s = drain(belt, max(0.0, at_s - ending_before_s), now_s)
        end(belt, ending, now_s)
    return drain(belt, at_s, now_s)


def lower(belt: Belt, lowered: str, cap: float, now_s: float) -> tuple[float, float]:
    """Lower the speed cap of the direction, the incline cap or both to `cap` (a fraction of
    the way down from the commanded value to 0.5); (the speed cap, the incline cap) asked for,
    inf where unchanged. Skips the example when nothing would go under the commanded value."""
    g = belt.governor
    speed_cap = incline_cap = math.inf
    if lowered in ("speed", "both"):
        assume(belt.last_speed is not None)
        commanded = belt.last_speed[0] if belt.last_speed else 0.0
        speed_cap = 0.5 + cap * (commanded - 0.5)
        assume(speed_cap < commanded - 0.01)
        apply(belt, "lower", (f"{g.direction}_max_kmh", speed_cap), now_s)
    if lowered in ("incline", "both"):
        assume(belt.last_incline is not None)
        deck = belt.last_incline[0] if belt.last_incline else 0.0
        incline_cap = 0.5 + cap * (deck - 0.5)
        assume(incline_cap < deck - 0.01)
        apply(belt, "lower", ("max_incline_pct", incline_cap), now_s)
    return speed_cap, incline_cap


@settings(max_examples=600)
@given(
    device=inclined_devices(),
    caps=walking_limits(),
    turn=turns(),
    facing=directions,
    speed=st.floats(0.0, 1.0),
    incline=st.none() | st.floats(0.05, 1.0),
    lower_at=st.floats(0.0, 40.0),
    ending=st.none() | ENDINGS,
    ending_before=st.floats(0.0, 5.0),
    cap=st.floats(0.0, 1.0),
    lowered=LOWERED,
)
def test_a_lowered_cap_is_met_by_the_next_command(
    device: DeviceCaps,
    caps: Limits,
    turn: TurnSettings,
    facing: Direction,
    speed: float,
    incline: float | None,
    lower_at: float,
    ending: str | None,
    ending_before: float,
    cap: float,
    lowered: str,
) -> None:
    """Walking, ramping up or ramping down (for a pause, finish or turn), the speed cap of the
    direction, the incline cap or both go down under the commanded values: the next command,
    at the first moment the spacing allows, takes the speed to within the new cap (or pauses
    the belt where no speed fits under it), the next one the deck (first when only the deck is
    over), before any other move, and no later command exceeds either cap (`Belt.check`)."""
    g = Governor(caps, device, turn, direction=facing)
    belt = Belt(g)
    now_s = walk_until(belt, speed, incline, ending, lower_at, ending_before)
    assume(belt.running)
    speed_cap, incline_cap = lower(belt, lowered, cap, now_s)
    if speed_cap < math.inf:
        assert belt.cap_due is not None
    if incline_cap < math.inf:
        assert belt.deck_due is not None
    drain(belt, now_s + 200.0, now_s)
    if speed_cap < math.inf:
        assert belt.cap_met_s is not None, "the speed never went down to the lowered cap"
    if incline_cap < math.inf:
        assert belt.deck_met_s is not None, "the deck never went down to the lowered cap"
    if lowered == "both" and belt.cap_met_s is not None and belt.deck_met_s is not None:
        assert belt.cap_met_s <= belt.deck_met_s, "the deck went to its cap before the speed"
    no_speed = speed_cap < device.min_speed_kmh
    event(f"{lowered}: " + ("no speed fits: paused" if no_speed else "down to the cap"))


@settings(max_examples=500)
@given(
    device=inclined_devices(),
    caps=walking_limits(),
    turn=turns(),
    facing=directions,
    speed=st.floats(0.0, 1.0),
    incline=st.floats(0.05, 1.0),
    lower_at=st.floats(0.0, 40.0),
    ending=st.none() | ENDINGS,
    ending_before=st.floats(0.0, 5.0),
    cap=st.floats(0.0, 1.0),
    quantity=st.sampled_from(["speed", "incline"]),
    code=CODES,
)
def test_a_refused_drop_to_a_cap_pauses_the_belt(
    device: DeviceCaps,
    caps: Limits,
    turn: TurnSettings,
    facing: Direction,
    speed: float,
    incline: float,
    lower_at: float,
    ending: str | None,
    ending_before: float,
    cap: float,
    quantity: str,
    code: int | None,
) -> None:
    """Walking, ramping or ramping down, the cap of the speed (or the deck) goes down under the
    commanded value, and from then on the treadmill refuses every speed (incline) command with
    `code`. A refused drop of the speed is given up at once and the Pause (Stop) follows within
    the spacing; a refused drop of the deck is tried as the back-off table says (4 tries for
    "try later", 2 for "not this", 1 in a ramp-down), then given up, and the belt is ramped
    down and paused; the deck is not commanded again and the speed never rises meanwhile
    (`Belt.check`). The refusal that gives the drop up names the reason for `safety_stop`."""
    g = Governor(caps, device, turn, direction=facing)
    belt = Belt(g)
    now_s = walk_until(belt, speed, incline, ending, lower_at, ending_before)
    assume(belt.running)
    belt.refuses = (quantity, code, now_s)
    slowing = g.ending is not None
    lower(belt, quantity, cap, now_s)
    drain(belt, now_s + 200.0, now_s)
    assert g.ending is None, f"the {g.ending} never ended"
    holding = g.turn_stage is not None and g.turn.speed_kmh > 0
    assert g.belt is not BeltState.RUNNING or holding, "the belt runs on above the cap"
    if not belt.refusals:  # no speed fits under the cap: paused without a drop
        assert quantity == "speed"
        assert g.belt is not BeltState.RUNNING
        event("no speed fits: paused")
        return
    tries = 1 if quantity == "speed" or slowing else 4 if code in (None, 0x04, 0x05) else 2
    assert [r.safety_stop for r in belt.refusals] == [None] * (tries - 1) + [
        f"{quantity}_above_cap"
    ]
    assert g.belt is not BeltState.RUNNING
    event(f"{quantity}, {ending or 'walking'}: {tries} tries, then paused")
