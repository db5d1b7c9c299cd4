"""The governor's rules, scenario by scenario (DESIGN §2), with the exact commands and times."""

from __future__ import annotations

import pytest
from safety.support import (
    PAD,
    inclined,
    refusing,
    refusing_every,
    run,
    speeds_refused,
    walking,
)

from treadctl.errors import LatchedError, LimitExceededError, SafetyError
from treadctl.safety import (
    BeltState,
    DeviceCaps,
    Direction,
    Governor,
    InclineCommand,
    Limits,
    SpeedCommand,
    StartCommand,
    StopCommand,
    TurnSettings,
    TurnStage,
)


def test_start_then_an_announced_gentle_ramp() -> None:
    """Start, the start speed, 5 s of notice, then +0.2 km/h every 0.8 s (0.25 km/h/s)."""
    governor = Governor(Limits(), PAD, direction=Direction.BACKWARD)
    governor.set_speed(2.5, 0.0)
    assert governor.next_command(0.0) is None  # a goal alone never starts the belt
    governor.start(0.0)
    [announcement] = governor.take_announcements()
    assert (announcement.speed_kmh, announcement.from_kmh, announcement.rise_at_s) == (
        2.5,
        1.5,
        5.0,
    )
    assert run(governor, 0.0, 60.0) == [
        (0.0, "start"),
        (0.5, "speed 1.5"),
        (5.8, "speed 1.7"),
        (6.6, "speed 1.9"),
        (7.4, "speed 2.1"),
        (8.2, "speed 2.3"),
        (9.0, "speed 2.5"),
    ]


def test_cap_refusal_names_requested_and_allowed() -> None:
    """Above the backward cap is refused, not clamped: requested and allowed are carried."""
    governor = walking()
    with pytest.raises(LimitExceededError) as info:
        governor.set_speed(5.0, 100.0)
    assert str(info.value) == "out of cap: requested 5.0 km/h, backward cap 4.0 km/h"
    assert (info.value.requested, info.value.allowed, info.value.unit) == (5.0, 4.0, "km/h")
    assert info.value.reason == "backward_cap"
    assert governor.goal_speed_kmh == 3.0


@pytest.mark.parametrize(
    ("speed_kmh", "reason", "allowed"),
    [(0.5, "device_min", 1.0), (12.5, "forward_cap", 6.0)],
)
def test_device_range_is_refused(speed_kmh: float, reason: str, allowed: float) -> None:
    """Below the device minimum or above the forward cap is refused with the allowed value."""
    governor = Governor(Limits(), PAD)
    with pytest.raises(LimitExceededError) as info:
        governor.set_speed(speed_kmh, 0.0)
    assert (info.value.reason, info.value.allowed) == (reason, allowed)


def test_device_maximum_below_the_cap_is_refused() -> None:
    """A device whose maximum is under the cap refuses speeds above that maximum."""
    small = DeviceCaps(min_speed_kmh=1.0, max_speed_kmh=3.8)
    with pytest.raises(LimitExceededError, match=r"device maximum 3\.8 km/h") as info:
        Governor(Limits(), small, direction=Direction.BACKWARD).set_speed(4.0, 0.0)
    assert info.value.allowed == 3.8


@pytest.mark.parametrize(
    ("incline_pct", "reason"),
    [(-1.0, "decline"), (10.5, "incline_cap"), (float("inf"), "invalid_incline")],
)
def test_incline_refusals(incline_pct: float, reason: str) -> None:
    """Declines, inclines above the cap and non-numbers are refused."""
    with pytest.raises(SafetyError) as info:
        Governor(Limits(), PAD).set_incline(incline_pct, 0.0)
    assert info.value.reason == reason


def test_no_incline_on_a_flat_pad() -> None:
    """A device without incline refuses any incline but accepts 0 %."""
    flat = Governor(Limits(), DeviceCaps(min_speed_kmh=1.0, max_speed_kmh=6.0))
    assert flat.set_incline(0.0, 0.0).allowed == 0.0
    with pytest.raises(LimitExceededError, match="no incline"):
        flat.set_incline(2.0, 0.0)


def test_speed_is_quantised_to_the_device_increment() -> None:
    """3.27 km/h on a 0.1 grid becomes 3.3 km/h, reported as a clamp."""
    setpoint = Governor(Limits(), PAD).set_speed(3.27, 0.0)
    assert (setpoint.allowed, setpoint.clamped) == (3.3, True)


def test_falls_use_the_deceleration_limit() -> None:
    """Falls go 0.3 km/h every 0.6 s (0.5 km/h/s) and need no announcement."""
    governor = walking(3.0)
    governor.set_speed(1.8, 100.0)
    assert governor.take_announcements() == []
    assert run(governor, 100.0, 200.0) == [
        (100.6, "speed 2.7"),
        (101.2, "speed 2.4"),
        (101.8, "speed 2.1"),
        (102.4, "speed 1.8"),
    ]


def test_a_rise_waits_for_its_announcement() -> None:
    """A rise asked for without notice begins 5 s after it is announced."""
    governor = walking(2.0)
    setpoint = governor.set_speed(2.4, 100.0)
    assert setpoint.rise_at_s == 105.0
    assert [a.speed_kmh for a in governor.take_announcements()] == [2.4]
    assert run(governor, 100.0, 200.0) == [(105.8, "speed 2.2"), (106.6, "speed 2.4")]


def test_pre_announced_rise_starts_at_once() -> None:
    """A rise announced 5 s ahead (by the workout) starts as soon as it is asked for."""
    governor = walking(2.0)
    governor.announce_rise(2.4, 95.0)
    governor.set_speed(2.4, 100.0)
    assert run(governor, 100.0, 200.0) == [(100.8, "speed 2.2"), (101.6, "speed 2.4")]


def test_speed_changes_never_start_a_paused_belt() -> None:
    """While paused, speed and incline goals are recorded but nothing is sent."""
    governor = walking(3.0)
    governor.pause(100.0)
    sent = run(governor, 100.0, 200.0)
    assert sent[-1] == (103.5, "pause")
    governor.set_speed(3.5, 200.0)
    governor.set_incline(2.0, 200.0)
    assert governor.wake_at_s() is None
    assert governor.next_command(300.0) is None
    assert governor.belt is BeltState.PAUSED


def test_a_belt_just_paused_is_not_started_again_for_2_s() -> None:
    """A resume right after a Pause or Stop waits until 2 s after it (the belt comes to rest;
    pause and resume toggled quickly never jerk it on and off); a pause meanwhile cancels the
    Start, and a resume later than that goes at once."""
    governor = walking(3.0)
    governor.pause(100.0)
    assert run(governor, 100.0, 200.0)[-1] == (103.5, "pause")
    governor.start(103.6)
    assert governor.wake_at_s() == pytest.approx(105.5)
    assert governor.next_command(105.4) is None
    governor.pause(105.0)  # changed one's mind: nothing is sent
    assert run(governor, 105.0, 200.0) == []
    governor.start(110.0)
    assert run(governor, 110.0, 111.0) == [(110.0, "start"), (110.5, "speed 1.5")]
    assert governor.emergency_stop(111.0).emergency
    governor.start(111.5)
    assert run(governor, 111.5, 115.0)[0] == (113.0, "start")


@pytest.mark.parametrize("how", ["console", "safety_key", "estop"])
def test_stops_latch_until_a_person_starts(how: str) -> None:
    """Console stop, safety key and emergency stop latch; only a person's start clears it."""
    governor = walking(3.0)
    if how == "console":
        governor.console_stopped(100.0, pause=False)
    elif how == "safety_key":
        governor.safety_key_pulled(100.0)
    else:
        assert governor.emergency_stop(100.0).emergency
    assert governor.latched
    with pytest.raises(LatchedError):
        governor.set_speed(2.0, 101.0)
    with pytest.raises(LatchedError):
        governor.auto_resume(101.0)
    assert run(governor, 101.0, 300.0) == []
    governor.start(300.0)
    assert not governor.latched
    assert run(governor, 300.0, 301.0)[0] == (300.0, "start")


def test_emergency_stop_jumps_the_queue() -> None:
    """An emergency stop drops a queued Start and anything else pending."""
    governor = Governor(Limits(), PAD)
    governor.start(0.0)
    command = governor.emergency_stop(0.0)
    assert isinstance(command, StopCommand)
    assert command.emergency
    assert run(governor, 0.0, 60.0) == []


def test_turn_levels_ramps_pauses_and_holds() -> None:
    """A turn: incline to 0, ramp down to the start speed, Pause, hold ≥ 10 s, resume on a
    person's start, then rise to the coming setpoint without further notice."""
    governor = walking(3.0)
    governor.set_incline(1.0, 100.0)
    run(governor, 100.0, 105.0)
    assert governor.commanded_incline_pct == 1.0
    setpoint = governor.begin_turn(Direction.FORWARD, 110.0, speed_kmh=2.0, incline_pct=1.0)
    assert setpoint.rise_at_s == 115.0
    sent = run(governor, 110.0, 200.0)
    assert sent == [
        (111.0, "incline 0.5"),
        (112.0, "incline 0"),
        (112.6, "speed 2.7"),
        (113.2, "speed 2.4"),
        (113.8, "speed 2.1"),
        (114.4, "speed 1.8"),
        (115.0, "speed 1.5"),
        (115.5, "pause"),
    ]
    assert (governor.turn_stage, governor.direction) == (TurnStage.HOLDING, Direction.FORWARD)
    with pytest.raises(SafetyError, match="turn hold") as info:
        governor.start(120.0)
    assert info.value.reason == "turn_hold"
    governor.start(125.5)
    assert run(governor, 125.5, 200.0) == [
        (125.5, "start"),
        (126.0, "speed 1.5"),
        (127.0, "incline 0.5"),
        (128.0, "incline 1"),
        (128.8, "speed 1.7"),
        (129.6, "speed 1.9"),
        (130.1, "speed 2"),
    ]


def test_turn_without_pause_support_stops() -> None:
    """Where the device has no Pause, a turn stops the belt instead."""
    device = DeviceCaps(min_speed_kmh=1.0, max_speed_kmh=6.0, pause_supported=False)
    governor = Governor(Limits(), device, direction=Direction.BACKWARD)
    governor.set_speed(1.5, 0.0)
    governor.start(0.0)
    run(governor, 0.0, 10.0)
    governor.begin_turn(Direction.FORWARD, 10.0, speed_kmh=3.0)
    assert run(governor, 10.0, 60.0) == [(10.0, "stop")]


def test_moving_turn_slows_without_pausing() -> None:
    """With turn.speed_kmh set, the belt slows to it and holds there; no Pause is sent."""
    turn = TurnSettings(speed_kmh=1.2)
    governor = Governor(Limits(), PAD, turn, direction=Direction.BACKWARD)
    governor.set_speed(2.1, 0.0)
    governor.start(0.0)
    run(governor, 0.0, 60.0)
    governor.begin_turn(Direction.FORWARD, 60.0, speed_kmh=3.0)
    sent = run(governor, 60.0, 120.0)
    assert [c for _, c in sent] == ["speed 1.8", "speed 1.5", "speed 1.2"]
    assert governor.turn_stage is TurnStage.HOLDING
    assert governor.hold_started_s == pytest.approx(61.8)
    governor.start(71.8)
    assert run(governor, 71.8, 73.0) == [(72.6, "speed 1.4")]


def test_auto_resume_is_an_opt_in_after_the_countdown() -> None:
    """Auto-resume is refused unless opted in, and before max(hold, countdown)."""
    plain = walking(2.0)
    plain.begin_turn(Direction.FORWARD, 100.0, speed_kmh=2.0)
    run(plain, 100.0, 200.0)
    with pytest.raises(SafetyError, match="nothing may resume"):
        plain.auto_resume(300.0)
    site = Governor(Limits(), PAD, TurnSettings(auto_resume=True, countdown_s=12.0))
    site.face(Direction.BACKWARD)
    site.set_speed(2.0, 0.0)
    site.start(0.0)
    run(site, 0.0, 60.0)
    site.begin_turn(Direction.FORWARD, 60.0, speed_kmh=2.0)
    run(site, 60.0, 100.0)
    due, held = site.auto_resume_at_s, site.hold_started_s
    assert due is not None
    assert held is not None
    assert due == pytest.approx(held + 12.0)
    with pytest.raises(SafetyError, match="not over"):
        site.auto_resume(due - 1.0)
    site.auto_resume(due)
    assert isinstance(site.next_command(due), StartCommand)


def test_direction_only_changes_with_the_belt_still() -> None:
    """`face` works on a still belt only; a moving belt needs a turn."""
    governor = walking(2.0)
    with pytest.raises(SafetyError) as info:
        governor.face(Direction.FORWARD)
    assert info.value.reason == "turn_required"
    with pytest.raises(SafetyError, match="already walking"):
        governor.begin_turn(Direction.BACKWARD, 100.0, speed_kmh=2.0)


def test_link_restored_with_a_moving_belt_ramps_down_and_pauses() -> None:
    """Rule 7: after a reconnect a moving belt is ramped down from its reported speed and
    paused; nothing starts again without a person."""
    governor = walking(3.0)
    governor.link_lost(100.0)
    assert run(governor, 100.0, 110.0) == []
    governor.link_restored(110.0, belt_moving=True, reported_speed_kmh=2.55)
    assert run(governor, 110.0, 200.0) == [
        (110.6, "speed 2.2"),
        (111.2, "speed 1.9"),
        (111.8, "speed 1.6"),
        (112.3, "speed 1.5"),
        (112.8, "pause"),
    ]
    assert governor.belt is BeltState.PAUSED


def test_link_restored_with_a_stopped_belt_leaves_it_alone() -> None:
    """Rule 7: a stopped belt after a reconnect gets no command at all."""
    governor = walking(3.0)
    governor.link_lost(100.0)
    governor.link_restored(110.0, belt_moving=False)
    assert run(governor, 110.0, 300.0) == []
    assert governor.belt is BeltState.STOPPED


def test_ramps_start_from_the_reported_speed() -> None:
    """When the belt stays 3 s at another speed than commanded, the next ramp starts there."""
    governor = walking(3.0)
    governor.observe_speed(2.0, 97.0)
    governor.observe_speed(2.0, 100.0)
    governor.announce_rise(3.5, 95.0)
    governor.set_speed(3.5, 100.0)
    assert run(governor, 100.0, 100.9)[0] == (100.8, "speed 2.2")


def test_a_single_odd_report_does_not_move_the_base() -> None:
    """One zero frame (Q21) or a short lag does not count as the belt's real speed."""
    governor = walking(3.0)
    governor.observe_speed(0.0, 99.0)
    governor.observe_speed(3.0, 99.5)
    governor.observe_speed(0.0, 100.0)
    governor.announce_rise(3.5, 95.0)
    governor.set_speed(3.5, 100.0)
    assert run(governor, 100.0, 100.9)[0] == (100.8, "speed 3.2")


def test_lowering_limits_lowers_goals() -> None:
    """Lowering the cap under the goal lowers the goal (reported) and ramps down to it."""
    governor = walking(3.5)
    [clamp] = governor.lower_limits({"backward_max_kmh": 2.5}, 100.0)
    assert (clamp.requested, clamp.allowed) == (3.5, 2.5)
    assert run(governor, 100.0, 200.0)[-1][1] == "speed 2.5"
    governor.lower_limits({"backward_max_kmh": 3.0}, 200.0)
    assert governor.limits.backward_max_kmh == 2.5


def test_a_refused_start_is_not_retried() -> None:
    """If the treadmill refuses Start, the belt counts as paused and nothing is re-sent."""
    governor = Governor(Limits(), PAD)
    governor.start(0.0)
    start = governor.next_command(0.0)
    assert isinstance(start, StartCommand)
    governor.command_failed(start, 0.1)
    assert governor.belt is BeltState.STOPPED
    assert run(governor, 0.1, 60.0) == []


def test_a_rise_refused_with_0x04_is_tried_later_then_given_up() -> None:
    """0x04 Operation Failed: the same speed is tried again after 2, 4 and 8 s, not on every
    pass; after the 4th refusal the rise is given up (the belt keeps its lower speed) until
    the goal changes, and a person asking again tries it at once."""
    governor = walking(2.0)
    governor.set_speed(2.5, 100.0)  # announced: may rise from 105 s
    sent = refusing(governor, 100.0, 300.0, speeds_refused(0x04))
    assert [(t, what) for t, what, _ in sent] == [
        (105.8, "speed 2.2"),
        (107.8, "speed 2.2"),
        (111.8, "speed 2.2"),
        (119.8, "speed 2.2"),
    ]
    refusals = [r for _, _, r in sent]
    assert [(r.attempt, r.retry_at_s, r.given_up) for r in refusals if r] == [
        (1, 107.8, False),
        (2, 111.8, False),
        (3, 119.8, False),
        (4, None, True),
    ]
    assert refusals[0] is not None
    assert refusals[0].describe(105.8) == {"attempt": 1, "retry_in_s": 2.0}
    assert refusals[-1] is not None
    assert refusals[-1].describe(119.8) == {"attempt": 4, "given_up": True}
    assert governor.commanded_speed_kmh == 2.0
    assert governor.wake_at_s() is None
    governor.set_speed(2.5, 300.0)  # a person (or the next step) asks again
    assert run(governor, 300.0, 310.0)[:2] == [(300.0, "speed 2.2"), (300.8, "speed 2.4")]


@pytest.mark.parametrize("code", [0x02, 0x03])
def test_a_rise_the_treadmill_will_not_take_is_tried_once_more(code: int) -> None:
    """0x02 Op Code Not Supported, 0x03 Invalid Parameter: one more try after 5 s (devices
    misuse result codes), then the rise is given up; nothing else is sent."""
    governor = walking(2.0)
    governor.set_speed(2.5, 100.0)
    sent = refusing(governor, 100.0, 300.0, speeds_refused(code))
    assert [(t, what, r.given_up if r else None) for t, what, r in sent] == [
        (105.8, "speed 2.2", False),
        (110.8, "speed 2.2", True),
    ]
    assert governor.wake_at_s() is None


def test_a_retried_speed_that_is_taken_continues_the_ramp() -> None:
    """A speed refused once (0x04) and taken on the retry 2 s later: the ramp goes on from
    there at its usual pace, each step its own setpoint."""
    governor = walking(2.0)
    governor.set_speed(2.5, 100.0)
    answers = iter([0x04])
    sent = refusing(governor, 100.0, 200.0, lambda command: next(answers, None))
    assert [(t, what) for t, what, _ in sent] == [
        (105.8, "speed 2.2"),
        (107.8, "speed 2.2"),
        (108.6, "speed 2.4"),
        (109.1, "speed 2.5"),
    ]
    assert governor.commanded_speed_kmh == 2.5


def test_a_refused_fall_is_never_given_up() -> None:
    """A lower speed refused again and again is tried after 2, 4, 8 s and then every 8 s:
    a belt faster than its goal is never left alone, but never hammered either."""
    governor = walking(3.0)
    governor.set_speed(2.0, 100.0)
    sent = refusing(governor, 100.0, 150.0, speeds_refused(0x04))
    assert [t for t, _, _ in sent] == [100.6, 102.6, 106.6, 114.6, 122.6, 130.6, 138.6, 146.6]
    assert {what for _, what, _ in sent} == {"speed 2.7"}
    assert not any(r.given_up for _, _, r in sent if r)


def test_an_incline_given_up_lets_the_speed_rise_go() -> None:
    """A refused incline rise does not hold the speed back once given up: the moves after it
    in the fixed order go on; the deck stays level."""
    governor = walking(2.0)
    governor.set_incline(1.0, 100.0)
    governor.set_speed(2.4, 100.0)
    sent = refusing(
        governor, 100.0, 200.0, lambda c: 0x03 if isinstance(c, InclineCommand) else None
    )
    assert [(t, what) for t, what, _ in sent] == [
        (101.0, "incline 0.5"),
        (106.0, "incline 0.5"),
        (106.8, "speed 2.2"),
        (107.6, "speed 2.4"),
    ]
    assert governor.commanded_incline_pct is None
    assert governor.commanded_speed_kmh == 2.4


def test_a_pause_after_a_given_up_rise_still_pauses() -> None:
    """A rise given up, then a pause: the belt is paused from the speed it kept, and the
    refusal is forgotten (a new goal)."""
    governor = walking(2.0)
    governor.set_speed(2.5, 100.0)
    refusing(governor, 100.0, 200.0, speeds_refused(0x03))
    governor.pause(200.0)
    assert run(governor, 200.0, 260.0) == [
        (200.6, "speed 1.7"),
        (201.1, "speed 1.5"),
        (201.6, "pause"),
    ]


@pytest.mark.parametrize("code", [None, 0x02, 0x03, 0x04, 0x05])
def test_a_refused_incline_does_not_hold_back_a_turn(code: int | None) -> None:
    """A turn whose incline-down is refused (any result code, or no answer): the deck is left
    as it is for this turn, the speed ramps down at once at its usual pace, and the Pause goes
    out as soon as the speed is down — 3.5 s after the turn began, not 8 s or never."""
    governor = inclined()
    governor.begin_turn(Direction.FORWARD, 110.0, speed_kmh=2.0, incline_pct=1.0)
    sent = refusing_every(InclineCommand, code, governor, 110.0, 200.0)
    assert [(t, what) for t, what, _ in sent] == [
        (111.0, "incline 0.5"),
        (111.6, "speed 2.7"),
        (112.2, "speed 2.4"),
        (112.8, "speed 2.1"),
        (113.4, "speed 1.8"),
        (114.0, "speed 1.5"),
        (114.5, "pause"),
    ]
    refusal = sent[0][2]
    assert refusal is not None
    assert refusal.describe(111.0) == {"attempt": 1, "given_up": True}
    assert (governor.turn_stage, governor.direction) == (TurnStage.HOLDING, Direction.FORWARD)
    assert governor.belt is BeltState.PAUSED
    assert governor.hold_started_s == pytest.approx(114.5)
    assert governor.commanded_incline_pct == 1.0


def test_a_refused_incline_does_not_hold_back_the_end_of_a_workout() -> None:
    """finish() with the incline-down refused (0x02): the speed ramps down and Stop goes out
    once it is down; the deck keeps its incline."""
    governor = inclined()
    governor.finish(110.0)
    sent = refusing_every(InclineCommand, 0x02, governor, 110.0, 200.0)
    assert [(t, what) for t, what, _ in sent] == [
        (111.0, "incline 0.5"),
        (111.6, "speed 2.7"),
        (112.2, "speed 2.4"),
        (112.8, "speed 2.1"),
        (113.4, "speed 1.8"),
        (114.0, "speed 1.5"),
        (114.5, "stop"),
    ]
    assert governor.belt is BeltState.STOPPED


def test_a_refused_incline_fall_lets_the_speed_fall_go_first() -> None:
    """A step lowering both: the incline-down refused with 0x04 waits, the speed-down does not
    wait for it; the incline is tried again once the speed is down (after its 2 s), then after
    4 s and every 8 s, since a fall is never given up outside a pause, stop or turn."""
    governor = inclined()
    governor.set_incline(0.0, 110.0)
    governor.set_speed(2.0, 110.0)
    sent = refusing_every(InclineCommand, 0x04, governor, 110.0, 140.0)
    assert [(t, what) for t, what, _ in sent] == [
        (111.0, "incline 0.5"),
        (111.6, "speed 2.7"),
        (112.2, "speed 2.4"),
        (112.8, "speed 2.1"),
        (113.3, "speed 2"),
        (114.3, "incline 0.5"),
        (118.3, "incline 0.5"),
        (126.3, "incline 0.5"),
        (134.3, "incline 0.5"),
    ]
    assert [r.attempt for _, _, r in sent if r] == [1, 2, 3, 4, 5]
    assert not any(r.given_up for _, _, r in sent if r)
    assert governor.commanded_speed_kmh == 2.0


@pytest.mark.parametrize("code", [None, 0x02, 0x03, 0x04, 0x05])
@pytest.mark.parametrize(
    ("ending", "end"), [("pause", "pause"), ("turn", "pause"), ("finish", "stop")]
)
def test_a_ramp_down_whose_speed_is_refused_pauses_at_once(
    ending: str, end: str, code: int | None
) -> None:
    """A pause, turn or finish whose first speed-down is refused (any result code, or no
    answer): the ramp-down is given up at once and the Pause (Stop at a workout's end) follows
    the refused speed after the command interval (0.5 s), from the speed the belt has — not
    after 2 + 4 + 8 s of tries. Pausing is always the safe direction."""
    governor = walking(3.0)
    if ending == "turn":
        governor.begin_turn(Direction.FORWARD, 110.0, speed_kmh=2.0)
    else:
        getattr(governor, ending)(110.0)
    sent = refusing_every(SpeedCommand, code, governor, 110.0, 200.0)
    assert [(t, what) for t, what, _ in sent] == [(110.6, "speed 2.7"), (111.1, end)]
    refusal = sent[0][2]
    assert refusal is not None
    assert refusal.describe(110.6) == {"attempt": 1, "given_up": True}
    assert governor.belt is (BeltState.STOPPED if end == "stop" else BeltState.PAUSED)
    assert governor.ending is None
    if ending == "turn":
        assert (governor.turn_stage, governor.hold_started_s) == (TurnStage.HOLDING, 111.1)


def test_a_moving_turn_whose_speed_is_refused_pauses_instead() -> None:
    """A moving turn (turn.speed_kmh 1.2) whose first speed-down is refused (0x02): the belt is
    paused at once, never held at walking speed for the turn."""
    turn = TurnSettings(speed_kmh=1.2)
    governor = Governor(Limits(), PAD, turn, direction=Direction.BACKWARD)
    governor.set_speed(2.1, 0.0)
    governor.start(0.0)
    run(governor, 0.0, 60.0)
    governor.begin_turn(Direction.FORWARD, 60.0, speed_kmh=3.0)
    sent = refusing(governor, 60.0, 200.0, speeds_refused(0x02))
    assert [(t, what) for t, what, _ in sent] == [(60.6, "speed 1.8"), (61.1, "pause")]
    assert governor.turn_stage is TurnStage.HOLDING
    assert governor.hold_started_s == pytest.approx(61.1)
    assert governor.belt is BeltState.PAUSED


def test_a_speed_refused_just_before_a_moving_turn_slowed_still_pauses() -> None:
    """A moving turn whose last step down to the turn speed (1.2 km/h) is refused: the belt
    is still at 1.5 km/h, so the turn pauses it (0.5 s later) rather than hold there."""
    turn = TurnSettings(speed_kmh=1.2)
    governor = Governor(Limits(), PAD, turn, direction=Direction.BACKWARD)
    governor.set_speed(1.5, 0.0)
    governor.start(0.0)
    run(governor, 0.0, 60.0)
    governor.begin_turn(Direction.FORWARD, 60.0, speed_kmh=2.0)
    sent = refusing(governor, 60.0, 200.0, speeds_refused(0x04))
    assert [(t, what) for t, what, _ in sent] == [(60.6, "speed 1.2"), (61.1, "pause")]
    assert governor.belt is BeltState.PAUSED


def test_a_ramp_down_given_up_stays_given_up() -> None:
    """A pause whose speed-down was refused: a new goal, a lowered cap or a finish asked in the
    0.5 s before the Pause tries nothing again — the belt is stopped at once (the finish asked
    for a Stop), from the speed it has."""
    governor = inclined(1.0)
    governor.pause(110.0)
    command = governor.next_command(110.6)
    assert isinstance(command, SpeedCommand)
    refusal = governor.command_failed(command, 110.6, result_code=0x04)
    assert refusal is not None
    assert refusal.given_up
    governor.set_speed(2.0, 110.7)
    governor.set_incline(0.0, 110.7)
    governor.lower_limits({"backward_max_kmh": 3.5}, 110.8)
    governor.finish(110.9)
    assert run(governor, 110.9, 200.0) == [(111.1, "stop")]


def test_a_lowered_cap_brings_the_speed_down_at_once() -> None:
    """Rule 1 before rule 2: a cap lowered 1.5 km/h under the commanded speed brings it to the
    cap with the very next command (not 3 s later, when the 0.5 km/h/s ramp would have got
    there); from there the belt ramps down to nothing lower, at the usual pace."""
    governor = walking(4.0)
    [clamp] = governor.lower_limits({"backward_max_kmh": 2.5}, 100.0)
    assert (clamp.requested, clamp.allowed) == (4.0, 2.5)
    assert run(governor, 100.0, 200.0) == [(100.0, "speed 2.5")]
    move = governor.last_move
    assert move is not None
    assert (move.start_s, move.at_s, move.from_value, move.to_value) == (100.0, 100.0, 4.0, 2.5)


def test_a_lowered_cap_waits_only_for_the_command_interval() -> None:
    """A cap lowered 0.1 s after a ramp step: the speed goes to the cap at the first moment
    the device's command interval (0.5 s) allows, then on to its goal at the usual pace."""
    governor = walking(2.0)
    governor.set_speed(1.0, 100.0)
    assert run(governor, 100.0, 100.6) == [(100.6, "speed 1.7")]
    governor.lower_limits({"backward_max_kmh": 1.2}, 100.7)
    assert run(governor, 100.7, 200.0) == [(101.1, "speed 1.2"), (101.6, "speed 1")]


def test_a_lowered_cap_goes_before_the_incline() -> None:
    """A turn under way levels the deck first, but a cap lowered meanwhile takes the speed to
    the cap before any more incline steps; then the turn goes on as before."""
    governor = inclined(2.0)
    governor.begin_turn(Direction.FORWARD, 110.0, speed_kmh=2.0)
    assert run(governor, 110.0, 111.0) == [(111.0, "incline 1.5")]
    governor.lower_limits({"backward_max_kmh": 2.0}, 111.1)
    assert run(governor, 111.1, 113.0) == [
        (111.5, "speed 2"),
        (112.5, "incline 1"),
    ]


def test_a_lowered_cap_lowers_a_belt_with_no_goal() -> None:
    """A belt started on the console runs at its start speed with no goal: a cap lowered under
    it still brings it down to the cap at once."""
    governor = Governor(Limits(), PAD, TurnSettings(), direction=Direction.BACKWARD)
    governor.console_started(0.0)
    assert run(governor, 0.0, 10.0) == [(0.0, "speed 1.5")]
    governor.lower_limits({"backward_max_kmh": 1.2}, 10.0)
    assert run(governor, 10.0, 60.0) == [(10.0, "speed 1.2")]


def test_a_belt_found_above_the_cap_is_brought_to_it_at_once() -> None:
    """The belt reported at 5.0 km/h for 3 s (speed raised on the console) walking backward
    (cap 4.0): the next command takes it to the cap at once, then it ramps down to its goal."""
    governor = walking(3.0)
    for t_s in (100.0, 101.0, 102.0):
        governor.observe_speed(5.0, t_s)
    assert governor.next_command(102.5) is None  # not 3 s yet: maybe a lag or an odd frame
    governor.observe_speed(5.0, 103.0)
    command = governor.next_command(103.0)
    assert isinstance(command, SpeedCommand)
    assert command.speed_kmh == 4.0
    assert run(governor, 103.0, 104.0) == [(103.6, "speed 3.7")]


def test_a_start_refused_after_a_reconnect_does_not_undo_it() -> None:
    """A Start whose refusal arrives after a reconnect that found the belt moving: the
    refusal is stale — the belt is still ramped down from its reported speed and paused."""
    governor = Governor(Limits(), PAD, TurnSettings(), direction=Direction.BACKWARD)
    governor.set_speed(2.0, 0.0)
    governor.start(0.0)
    start = governor.next_command(0.0)
    assert isinstance(start, StartCommand)
    governor.link_restored(1.0, belt_moving=True, reported_speed_kmh=2.0)
    assert governor.command_failed(start, 1.2, result_code=0x04) is None
    assert governor.belt is BeltState.RUNNING
    assert run(governor, 1.2, 60.0) == [(1.6, "speed 1.7"), (2.1, "speed 1.5"), (2.6, "pause")]


def test_a_refused_start_leaves_no_ramp_down_behind() -> None:
    """A pause asked for while the Start was on its way, then the Start refused: the belt never
    moved, nothing is sent, and the next start is not paused at once by the old request."""
    governor = Governor(Limits(), PAD, TurnSettings(), direction=Direction.BACKWARD)
    governor.set_speed(2.0, 0.0)
    governor.start(0.0)
    start = governor.next_command(0.0)
    assert isinstance(start, StartCommand)
    governor.pause(0.1)
    assert governor.command_failed(start, 0.2, result_code=0x04) is None
    assert (governor.belt, governor.ending) == (BeltState.STOPPED, None)
    assert run(governor, 0.2, 60.0) == []
    governor.start(10.0)
    assert run(governor, 10.0, 11.0) == [(10.0, "start"), (10.5, "speed 1.5")]


def test_a_moving_turn_hold_keeps_the_turn_speed_after_a_refusal() -> None:
    """A moving turn begun right after Start: its first speed (the turn speed, 1.2 km/h) is
    refused once the hold has begun; the same speed is tried again after 2 s — never the
    start speed, which is above the turn speed."""
    turn = TurnSettings(speed_kmh=1.2)
    governor = Governor(Limits(), PAD, turn, direction=Direction.BACKWARD)
    governor.start(0.0)
    assert run(governor, 0.0, 0.0) == [(0.0, "start")]
    governor.begin_turn(Direction.FORWARD, 0.0, speed_kmh=1.5)
    first = governor.next_command(0.5)
    assert isinstance(first, SpeedCommand)
    assert first.speed_kmh == 1.2
    assert governor.next_command(0.5) is None  # down to the turn speed: the hold begins
    assert governor.turn_stage is TurnStage.HOLDING
    refusal = governor.command_failed(first, 1.0, result_code=0x04)
    assert refusal is not None
    assert refusal.retry_at_s == 3.0
    assert run(governor, 1.0, 10.0) == [(3.0, "speed 1.2")]


def test_a_belt_found_moving_in_a_moving_turn_hold_is_paused_at_once() -> None:
    """A moving turn's hold, a safety-key stop, then a reconnect finds the belt moving at an
    unknown speed: it is paused at once, not set to the turn speed."""
    turn = TurnSettings(speed_kmh=1.2)
    governor = Governor(Limits(), PAD, turn, direction=Direction.BACKWARD)
    governor.begin_turn(Direction.FORWARD, 0.0, speed_kmh=1.5)
    assert governor.turn_stage is TurnStage.HOLDING
    governor.safety_key_pulled(1.0)
    governor.link_restored(2.0, belt_moving=True)
    assert run(governor, 2.0, 10.0) == [(2.0, "pause")]


def test_control_lost_sends_nothing_until_a_person_starts() -> None:
    """After Control Permission Lost nothing is sent; a person's start takes control again."""
    governor = walking(2.0)
    governor.set_speed(1.5, 100.0)
    governor.control_lost(100.0)
    assert run(governor, 100.0, 200.0) == []
    governor.start(200.0)
    assert run(governor, 200.0, 300.0) == [(200.0, "speed 1.7"), (200.5, "speed 1.5")]


def test_console_start_ends_a_turn_hold() -> None:
    """Start pressed on the console confirms the turn: the new direction and setpoint apply."""
    governor = walking(2.0)
    governor.begin_turn(Direction.FORWARD, 100.0, speed_kmh=2.5)
    run(governor, 100.0, 200.0)
    governor.console_started(200.0)
    assert governor.turn_stage is None
    assert governor.goal_speed_kmh == 2.5
    assert next(c for _, c in run(governor, 200.0, 300.0)) == "speed 1.5"
