"""Property tests of the governor (DESIGN §2 rules 1–5) over generated device ranges, caps,
request sequences, reported speeds and fault timings.

Each example drives one Governor through random requests and observations, asks for commands at
every wake time, and checks every command it returns against an independent account of what
the belt is doing: caps, ramp rates, command spacing, announced rises, no implicit start, no
motion while stopped or latched, direction changes only with the belt paused or slow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hypothesis import event, given, settings
from hypothesis import strategies as st

from treadctl.errors import SafetyError
from treadctl.safety import (
    Announcement,
    BeltCommand,
    DeviceCaps,
    Direction,
    Governor,
    InclineCommand,
    Limits,
    SpeedCommand,
    StartCommand,
    StopCommand,
    TurnSettings,
)

EPS = 1e-6


@st.composite
def devices(draw: st.DrawFn) -> DeviceCaps:
    low = draw(st.sampled_from([0.0, 0.5, 0.8, 1.0, 1.6, 2.2]))
    increment = draw(st.sampled_from([0.05, 0.1, 0.16, 0.2, 0.5]))
    high = draw(st.sampled_from([3.8, 4.5, 6.0, 6.4, 12.0, 20.0]))
    incline = draw(st.booleans())
    return DeviceCaps(
        min_speed_kmh=low,
        max_speed_kmh=max(high, low + 2 * increment),
        speed_increment_kmh=increment,
        min_incline_pct=0.0 if incline else None,
        max_incline_pct=draw(st.sampled_from([3.0, 10.0, 15.0])) if incline else None,
        incline_increment_pct=draw(st.sampled_from([0.1, 0.5, 1.0])) if incline else None,
        min_command_interval_s=draw(st.sampled_from([0.0, 0.1, 0.4, 0.5, 1.0])),
        pause_supported=draw(st.booleans()),
    )


def limits() -> st.SearchStrategy[Limits]:
    return st.builds(
        Limits,
        backward_max_kmh=st.floats(0.5, 6.0) | st.floats(2.5, 6.0),
        forward_max_kmh=st.floats(0.5, 16.0),
        accel_kmh_per_s=st.floats(0.05, 1.0),
        decel_kmh_per_s=st.floats(0.2, 2.0),
        max_incline_pct=st.floats(0.0, 15.0),
        incline_rate_pct_per_s=st.floats(0.1, 2.0),
        backward_start_kmh=st.floats(0.5, 3.0),
    )


def turns() -> st.SearchStrategy[TurnSettings]:
    return st.builds(
        TurnSettings,
        speed_kmh=st.sampled_from([0.0, 0.0, 0.8, 1.5, 2.0]),
        hold_s=st.floats(10.0, 30.0),
        auto_resume=st.booleans(),
        countdown_s=st.floats(5.0, 20.0),
        announce_s=st.floats(5.0, 10.0),
    )


speeds = st.floats(0.0, 8.0)
directions = st.sampled_from(list(Direction))
_RARE = st.sampled_from(
    ["stop", "estop", "safety_key", "console_started", "control_lost", "link_lost"]
)
OPS = st.one_of(
    st.tuples(st.just("set_speed"), speeds),
    st.tuples(st.just("set_speed"), st.floats(1.0, 4.0)),
    st.tuples(st.just("set_incline"), st.floats(0.0, 8.0)),
    st.tuples(st.just("set_incline"), st.floats(-2.0, 16.0)),
    st.tuples(st.just("turn"), st.tuples(directions, st.floats(1.0, 4.0), st.floats(0.0, 6.0))),
    st.tuples(st.just("start"), st.none()),
    st.tuples(st.just("start"), st.none()),
    st.tuples(st.just("start"), st.none()),
    st.tuples(st.sampled_from(["auto_resume", "pause", "finish"]), st.none()),
    st.tuples(_RARE, st.none()),
    st.tuples(st.just("console_stopped"), st.booleans()),
    st.tuples(st.just("link_restored"), st.tuples(st.booleans(), st.none() | speeds)),
    st.tuples(st.just("observe"), st.none() | speeds),
    st.tuples(
        st.just("lower"),
        st.tuples(
            st.sampled_from(
                ["backward_max_kmh", "forward_max_kmh", "accel_kmh_per_s", "max_incline_pct"]
            ),
            st.floats(0.5, 8.0),
        ),
    ),
    st.tuples(st.just("face"), directions),
    st.tuples(st.just("command_failed"), st.sampled_from([None, 0x02, 0x03, 0x04, 0x05])),
)
MIN_RETRY_S = 2.0  # the soonest a refused setpoint is sent again (treadctl.safety.refusals)
# Requests after which a refused setpoint may go again at once (the goal changed).
KEEPS_REFUSALS = {"observe", "face", "control_lost", "link_lost", "command_failed"}
STEP = st.tuples(st.floats(0.0, 20.0) | st.floats(0.0, 1.0), OPS)
WARM_UP = st.lists(
    st.sampled_from(
        [(0.0, ("set_speed", 3.0)), (0.0, ("set_incline", 2.0)), (0.0, ("start", None))]
    ),
    max_size=3,
)
steps = st.builds(lambda head, tail: head + tail, WARM_UP, st.lists(STEP, min_size=1, max_size=40))


@dataclass
class Belt:
    """An independent account of the belt, kept from the commands and the facts fed in."""

    governor: Governor
    running: bool = False
    latched: bool = False
    start_allowed: bool = False
    last_any_s: float = -math.inf
    last_speed: tuple[float, float] | None = None  # (value, time) since the last Start
    prev_speed: tuple[float, float] | None = None
    reported: float | None = None
    reset_s: float = -math.inf
    announcements: list[Announcement] = field(default_factory=list)
    last_command: BeltCommand | None = None
    sent: set[str] = field(default_factory=set)
    refused: tuple[BeltCommand, float] | None = None  # a refused setpoint and when

    def collect(self) -> None:
        self.announcements.extend(self.governor.take_announcements())

    def check(self, command: BeltCommand, now_s: float) -> None:
        g = self.governor
        dev, lim = g.device, g.limits
        if isinstance(command, StopCommand):
            self.running = False
            self.last_speed = None
            if command.emergency:
                self.latched = True
        else:
            assert now_s - self.last_any_s >= dev.min_command_interval_s - EPS, "spacing"
        if isinstance(command, StartCommand):
            assert self.start_allowed, "Start without a person asking"
            assert not self.latched, "Start while latched"
            self.start_allowed = False
            self.running = True
            self.last_speed = None
        if isinstance(command, SpeedCommand | InclineCommand):
            assert self.running, f"{command} while the belt is not running"
            if self.refused is not None and self.refused[0] == command:
                too_soon = now_s < self.refused[1] + MIN_RETRY_S - EPS
                assert not too_soon, f"{command} refused at {self.refused[1]}, sent again"
        if isinstance(command, InclineCommand):
            assert not self.latched, f"{command} while latched"
        if isinstance(command, SpeedCommand) and self.latched:  # only ramping a moving belt down
            assert self.last_speed is not None, "speed set while latched"
            assert command.speed_kmh <= self.last_speed[0] + EPS, "speed rise while latched"
        if isinstance(command, SpeedCommand):
            self.check_speed(command.speed_kmh, now_s)
        if isinstance(command, InclineCommand):
            value = command.incline_pct
            assert dev.incline_supported
            assert -EPS <= value <= min(lim.max_incline_pct, dev.max_incline_pct or 0.0) + EPS
        self.last_any_s = now_s
        self.last_command = command
        self.sent.add(type(command).__name__)

    def check_speed(self, value: float, now_s: float) -> None:
        g = self.governor
        dev, lim = g.device, g.limits
        top = min(lim.cap_kmh(g.direction), dev.max_speed_kmh)
        assert value <= top + EPS, f"{value} above the cap {top} walking {g.direction}"
        assert value >= dev.min_speed_kmh - EPS, f"{value} below the device minimum"
        if self.last_speed is not None:
            previous, then_s = self.last_speed
            elapsed_s = now_s - then_s
            reported = previous if self.reported is None else self.reported
            if value > previous + EPS:
                rise = value - max(previous, reported)
                assert rise <= lim.accel_kmh_per_s * elapsed_s + EPS, "rise faster than accel"
                covered = rise <= EPS or [
                    a
                    for a in self.announcements
                    if a.speed_kmh >= value - EPS
                    and self.reset_s <= a.at_s <= now_s - g.turn.announce_s + EPS
                ]
                assert covered, f"rise to {value} not announced {g.turn.announce_s} s ahead"
            elif value < previous - EPS and max(previous, reported) <= top + EPS:
                fall = min(previous, reported) - value
                slack = dev.speed_increment_kmh
                assert fall <= lim.decel_kmh_per_s * elapsed_s + slack + EPS, "fall too fast"
        self.prev_speed, self.last_speed = self.last_speed, (value, now_s)


def drain(belt: Belt, until_s: float, now_s: float) -> float:
    """Send every command due up to `until_s`, at the governor's own wake times."""
    g = belt.governor
    for _ in range(2000):
        wake = g.wake_at_s()
        if wake is None or wake > until_s:
            break
        now_s = max(now_s, wake)
        before = g.direction
        command = g.next_command(now_s)
        belt.collect()
        if command is not None:
            belt.check(command, now_s)
        if g.direction is not before:
            slow = g.turn.speed_kmh > 0 and belt.last_speed is not None
            limit = max(g.turn.speed_kmh, g.device.min_speed_kmh) + g.device.speed_increment_kmh
            assert not belt.running or (slow and belt.last_speed[0] <= limit + EPS), "turned moving"
    command = g.next_command(until_s)
    belt.collect()
    if command is not None:
        belt.check(command, until_s)
    return until_s


def apply(belt: Belt, op: str, arg: object, now_s: float) -> None:
    g = belt.governor
    if op not in KEEPS_REFUSALS:
        belt.refused = None
    try:
        if op == "set_speed":
            g.set_speed(float(arg), now_s)  # type: ignore[arg-type]
        elif op == "set_incline":
            g.set_incline(float(arg), now_s)  # type: ignore[arg-type]
        elif op == "turn":
            direction, speed, incline = arg  # type: ignore[misc]
            g.begin_turn(direction, now_s, speed_kmh=speed, incline_pct=incline)
        elif op in ("start", "auto_resume"):
            getattr(g, op)(now_s)
            belt.start_allowed = True
            if op == "start":
                belt.latched = False
        elif op in ("pause", "finish"):
            getattr(g, op)(now_s)
        elif op == "stop":
            g.stop(now_s)
            belt.start_allowed, belt.reset_s = False, now_s
        elif op == "estop":
            command = g.emergency_stop(now_s)
            assert isinstance(command, StopCommand)
            assert command.emergency
            belt.check(command, now_s)
            belt.start_allowed, belt.reset_s = False, now_s
        elif op in ("console_stopped", "safety_key"):
            if op == "safety_key":
                g.safety_key_pulled(now_s)
            else:
                g.console_stopped(now_s, pause=bool(arg))
            belt.running, belt.latched, belt.start_allowed = False, True, False
            belt.last_speed, belt.reset_s = None, now_s
        elif op == "console_started":
            g.console_started(now_s)
            if not belt.running:  # a start on a moving belt is a late notification: no change
                belt.running, belt.last_speed = True, None
            belt.latched = False
        elif op in ("control_lost", "link_lost"):
            getattr(g, op)(now_s)
            belt.start_allowed = False
        elif op == "link_restored":
            moving, reported = arg  # type: ignore[misc]
            g.link_restored(now_s, belt_moving=moving, reported_speed_kmh=reported)
            belt.running, belt.start_allowed, belt.reset_s = moving, False, now_s
            belt.reported = reported
            if not moving:
                belt.last_speed = None
            elif reported is not None:
                belt.last_speed = (reported, now_s)
            # moving without a report: the belt kept the last commanded speed
        elif op == "observe":
            g.observe_speed(arg, now_s)  # type: ignore[arg-type]
            belt.reported = arg  # type: ignore[assignment]
        elif op == "lower":
            name, value = arg  # type: ignore[misc]
            g.lower_limits({name: value}, now_s)
        elif op == "face":
            g.face(arg)  # type: ignore[arg-type]
            assert not belt.running
        elif op == "command_failed" and isinstance(
            belt.last_command, SpeedCommand | InclineCommand | StartCommand
        ):
            refused, belt.last_command = belt.last_command, None  # one answer per write
            refusal = g.command_failed(refused, now_s, result_code=arg)  # type: ignore[arg-type]
            if refusal is not None:  # None: a stop, start or reconnect came in since it was sent
                belt.refused = (refused, now_s)
            if isinstance(refused, StartCommand):
                belt.running, belt.last_speed = False, None
            elif isinstance(refused, SpeedCommand):
                belt.last_speed = belt.prev_speed  # the belt keeps the speed before
    except SafetyError:
        pass
    belt.collect()


@settings(max_examples=2000)
@given(device=devices(), caps=limits(), turn=turns(), plan=steps, facing=directions)
def test_governor_never_breaks_the_safety_rules(
    device: DeviceCaps,
    caps: Limits,
    turn: TurnSettings,
    plan: list[tuple[float, tuple[str, object]]],
    facing: Direction,
) -> None:
    """Caps, ramp rates, spacing, announced rises, no implicit start and latching always hold."""
    governor = Governor(caps, device, turn, direction=facing)
    belt = Belt(governor)
    now_s = 0.0
    for dt, (op, arg) in plan:
        now_s = drain(belt, now_s + dt, now_s)
        apply(belt, op, arg, now_s)
    drain(belt, now_s + 120.0, now_s)
    event("sent: " + ", ".join(sorted(belt.sent)))  # coverage of the generated runs


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
