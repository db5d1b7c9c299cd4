"""Property tests of the governor (DESIGN §2 rules 1–5) over generated device ranges, caps,
request sequences, reported speeds and fault timings.

Each example drives one Governor through random requests and observations, asks for commands at
every wake time, and checks every command it returns against an independent account of what
the belt is doing (`belt_account.Belt`): caps, ramp rates, command spacing, announced rises, no
implicit start, no motion while stopped or latched, direction changes only with the belt paused
or slow. Refusals come as requests (`command_failed` with every result code) and from a
treadmill that refuses every incline or every speed command from some time on; while a pause,
finish or turn ramps the belt down, a refused incline never delays the speed fall beyond the
spacing, a refused speed is followed by the Pause (Stop) as soon as the spacing allows, and
every ramp-down ends with the belt paused (stopped, or down to the turn speed). A cap lowered
under the commanded speed or deck is met by the next command the spacing allows (rule 1 before
the ramps of rule 2), and a refused drop to a cap pauses the belt; `test_cap_properties` has
the focused properties of both.
"""

from __future__ import annotations

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from safety.belt_account import (
    CODES,
    ENDINGS,
    EPS,
    REFUSES,
    WALK_S,
    Belt,
    apply,
    devices,
    directions,
    drain,
    inclined_devices,
    limits,
    steps,
    turns,
    walk_then_end,
    walking_limits,
)

from treadctl.safety import DeviceCaps, Direction, Governor, Limits, StopCommand, TurnSettings


@settings(max_examples=2000)
@given(
    device=devices(),
    caps=limits(),
    turn=turns(),
    plan=steps,
    facing=directions,
    refuses=REFUSES,
)
def test_governor_never_breaks_the_safety_rules(
    device: DeviceCaps,
    caps: Limits,
    turn: TurnSettings,
    plan: list[tuple[float, tuple[str, object]]],
    facing: Direction,
    refuses: tuple[str, int | None, float] | None,
) -> None:
    """Caps, ramp rates, spacing, announced rises, no implicit start and latching always hold;
    a refused incline never holds back a ramp-down, and every ramp-down ends."""
    governor = Governor(caps, device, turn, direction=facing)
    belt = Belt(governor, refuses=refuses)
    now_s = 0.0
    for dt, (op, arg) in plan:
        now_s = drain(belt, now_s + dt, now_s)
        apply(belt, op, arg, now_s)
    drain(belt, now_s + 120.0, now_s)
    if governor.has_control:
        assert governor.ending is None, f"the {governor.ending} never ended"
        assert not belt.slowing, "a ramp-down never ended with the belt paused"
    event("sent: " + ", ".join(sorted(belt.sent)))  # coverage of the generated runs
    for met in belt.met:
        event(met)


@settings(max_examples=300)
@given(device=devices(), caps=limits(), turn=turns(), plan=steps)
def test_emergency_stop_is_always_allowed(
    device: DeviceCaps,
    caps: Limits,
    turn: TurnSettings,
    plan: list[tuple[float, tuple[str, object]]],
) -> None:
    """Whatever happened before, emergency_stop returns an emergency Stop and latches."""
    governor = Governor(caps, device, turn)
    belt = Belt(governor)
    now_s = 0.0
    for dt, (op, arg) in plan:
        now_s = drain(belt, now_s + dt, now_s)
        apply(belt, op, arg, now_s)
    command = governor.emergency_stop(now_s)
    assert isinstance(command, StopCommand)
    assert command.emergency
    assert not command.pause
    assert governor.latched
    assert governor.wake_at_s() is None or governor.next_command(now_s + 60) is None


@settings(max_examples=500)
@given(
    device=inclined_devices(),
    caps=walking_limits(),
    turn=turns(),
    facing=directions,
    ending=ENDINGS,
    code=CODES,
    speed=st.floats(0.0, 1.0),
    incline=st.floats(0.05, 1.0),
    by_hand=st.booleans(),
)
def test_a_refused_incline_never_holds_back_a_pause_or_turn(
    device: DeviceCaps,
    caps: Limits,
    turn: TurnSettings,
    facing: Direction,
    ending: str,
    code: int | None,
    speed: float,
    incline: float,
    by_hand: bool,
) -> None:
    """A treadmill that refuses every incline command (from the ramp-down on, or always, with
    the deck raised by hand): a pause, finish or turn ramps the speed down at its usual pace
    (never later than the spacing allows after the refusal), sends no incline after it, and
    ends with the belt paused once the speed is down: never later than on a treadmill that
    takes every command."""
    deck = incline * min(caps.max_incline_pct, device.max_incline_pct or 0.0) if by_hand else None
    belts = []
    for refusing in (False, True):
        refuses = ("incline", code, 0.0 if by_hand else WALK_S) if refusing else None
        belt = Belt(Governor(caps, device, turn, direction=facing), refuses=refuses)
        walk_then_end(belt, ending, speed, None if by_hand else incline, deck)
        belts.append(belt)
    taking, refused = (belt.ended_s() for belt in belts)
    assert taking is not None
    assert refused is not None
    assert refused <= taking + EPS, f"ended at {refused}, {taking} when inclines are taken"
    hit = "incline refused in the ramp-down" if belts[1].refused_slowing else "no incline move"
    event(f"{ending}: {hit}")


@settings(max_examples=300)
@given(
    device=inclined_devices(),
    caps=walking_limits(),
    turn=turns(),
    facing=directions,
    ending=ENDINGS,
    code=CODES,
    speed=st.floats(0.2, 1.0),
)
def test_a_refused_speed_pauses_a_ramp_down_at_once(
    device: DeviceCaps,
    caps: Limits,
    turn: TurnSettings,
    facing: Direction,
    ending: str,
    code: int | None,
    speed: float,
) -> None:
    """A treadmill that refuses every speed command once a pause, finish or turn has begun:
    the first refused speed gives the ramp-down up, and the Pause (Stop) follows it within the
    command spacing (`Belt.check`), from the speed the belt has — not after 2 + 4 + 8 s of
    tries; the ramp-down ends no later than one ramp step and one spacing after it began."""
    governor = Governor(caps, device, turn, direction=facing)
    belt = Belt(governor, refuses=("speed", code, WALK_S))
    walk_then_end(belt, ending, speed, None, None)
    ended_s = belt.ended_s()
    assert ended_s is not None
    assume(belt.stop_s is not None)  # a moving turn already at its speed holds without a Pause
    spacing_s = device.min_command_interval_s
    step_s = spacing_s + device.speed_increment_kmh / caps.decel_kmh_per_s
    bound_s = WALK_S + step_s + spacing_s
    assert ended_s <= bound_s + EPS, f"paused at {ended_s}, after {bound_s}"
    event(f"{ending}: " + ("speed refused" if belt.refused_slowing else "no speed move"))
