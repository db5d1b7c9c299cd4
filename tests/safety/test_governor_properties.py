"""Property tests of the governor (DESIGN §2 rules 1–5) over generated device ranges, caps,
request sequences, reported speeds and fault timings.

Each example drives one Governor through random requests and observations, asks for commands at
every wake time, and checks every command it returns against an independent account of what
the belt is doing: caps, ramp rates, command spacing, announced rises, no implicit start, no
motion while stopped or latched, direction changes only with the belt paused or slow. Refusals
come as requests (`command_failed` with every result code) and from a treadmill that refuses
every incline or every speed command from some time on; while a pause, finish or turn ramps
the belt down, a refused incline never delays the speed fall beyond the spacing, a refused
speed is followed by the Pause (Stop) as soon as the spacing allows, and every ramp-down ends
with the belt paused (stopped, or down to the turn speed). A cap lowered under the commanded
speed is met by the next command the spacing allows (rule 1 before the ramps of rule 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from treadctl.errors import SafetyError
from treadctl.safety import (
    Announcement,
    BeltCommand,
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
CODES = st.sampled_from([None, 0x02, 0x03, 0x04, 0x05])  # None: no answer at all
# A treadmill that answers every incline (or speed) command with a result code from a time on.
REFUSES = st.none() | st.tuples(st.sampled_from(["incline", "speed"]), CODES, st.floats(0, 60))
MIN_RETRY_S = 2.0  # the soonest a refused setpoint is sent again (treadctl.safety.refusals)
# Requests after which a refused setpoint may go again at once (the goal changed).
KEEPS_REFUSALS = {"observe", "face", "control_lost", "link_lost", "command_failed"}
# Requests that leave a ramp-down (pause, finish, turn) as it was; any other may change it.
KEEPS_SLOWING = {"set_speed", "set_incline", "command_failed", "face"}
# Requests after which a speed above a lowered cap must still go to the cap with the next
# command; the others stop the belt, take the link or control away, or reset it (reconnect).
KEEPS_CAP_DUE = KEEPS_SLOWING | {"observe", "pause", "finish", "turn", "start", "auto_resume"}
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
    refuses: tuple[str, int | None, float] | None = None  # (quantity, result code, from when)
    slowing: bool = False  # a pause, finish, turn or reconnect is ramping the belt down
    sends: int = 0  # commands sent so far
    slowing_from: int = 0  # `sends` when the ramp-down began
    incline_refused_s: float | None = None  # an incline refused while slowing: when
    pause_due_s: float | None = None  # a speed refused while slowing: the Pause is due then
    cap_due: tuple[float, float] | None = None  # above a lowered cap: (due by, the cap) …
    cap_met_s: float | None = None  # … and when the command that met it was sent
    found_speed: tuple[float, float] | None = None  # the belt's speed found at a reconnect
    stop_s: float | None = None  # when the last Stop or Pause was sent
    refused_slowing: set[str] = field(default_factory=set)  # kinds refused in any ramp-down
    met: set[str] = field(default_factory=set)  # the due-by rules a run exercised (coverage)

    def collect(self) -> None:
        self.announcements.extend(self.governor.take_announcements())

    def check(self, command: BeltCommand, now_s: float) -> None:
        g = self.governor
        dev, lim = g.device, g.limits
        if self.pause_due_s is not None:
            kind = type(command).__name__
            assert isinstance(command, StopCommand), f"{kind} after a refused speed, no Pause"
            assert now_s <= self.pause_due_s + EPS, f"Pause at {now_s}, due {self.pause_due_s}"
            self.met.add("paused after a refused speed")
        if self.cap_due is not None:
            due_s, cap = self.cap_due
            within = isinstance(command, StopCommand) or (
                isinstance(command, SpeedCommand) and command.speed_kmh <= cap + EPS
            )
            assert within, f"{command} first after the cap went down to {cap}"
            assert now_s <= due_s + EPS, f"the speed met the cap {cap} at {now_s}, due {due_s}"
            self.cap_due, self.cap_met_s = None, now_s
            self.met.add("down to a lowered cap")
        if isinstance(command, StopCommand):
            self.running = False
            self.last_speed = None
            self.stop_s = now_s
            self.end_slowing()
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
            again = self.slowing and self.incline_refused_s is not None
            assert not again, f"{command} during a ramp-down, after an incline was refused"
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
        self.sends += 1
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

    def begin_slowing(self, slowing: bool) -> None:
        """A request that ramps the belt down (when `slowing`: the belt is running)."""
        self.end_slowing()
        self.slowing, self.slowing_from = slowing, self.sends

    def end_slowing(self) -> None:
        self.slowing, self.incline_refused_s, self.pause_due_s = False, None, None

    def top_kmh(self) -> float:
        """The speed cap walking the governor's direction now (cap and device maximum)."""
        g = self.governor
        return min(g.limits.cap_kmh(g.direction), g.device.max_speed_kmh)

    def owe_cap(self, now_s: float) -> None:
        """After the caps went down: a commanded speed above the cap must go to it with the
        next command, at the first moment the spacing allows."""
        g, last = self.governor, self.last_speed
        self.cap_due = None
        if last is None or last == self.found_speed:
            return  # no speed sent since the Start or the reconnect: none to take back
        if self.running and g.has_control and last[0] > self.top_kmh() + EPS:
            due_s = max(now_s, self.last_any_s + g.device.min_command_interval_s)
            self.cap_due, self.cap_met_s = (due_s, self.top_kmh()), None

    def answer(self, command: BeltCommand, now_s: float) -> None:
        """The treadmill's answer to `command`: a refusal when it refuses that kind now."""
        if self.refuses is None or now_s < self.refuses[2]:
            return
        kind = SpeedCommand if self.refuses[0] == "speed" else InclineCommand
        if isinstance(command, kind):
            self.refuse(command, self.refuses[1], now_s)

    def refuse(self, command: BeltCommand, code: int | None, now_s: float) -> None:
        """`command` refused with `code`: tell the governor; the belt keeps what it had."""
        self.last_command = None  # one answer per write
        g = self.governor
        refusal = g.command_failed(command, now_s, result_code=code)
        # None for a setpoint: a stop, start or reconnect came in since it was sent, and what
        # the belt does was set by that (this account follows it already).
        if refusal is not None:
            self.refused = (command, now_s)
            if isinstance(command, SpeedCommand):
                self.last_speed = self.prev_speed  # the belt keeps the speed before
            if self.slowing and isinstance(command, SpeedCommand):
                # the ramp-down is given up: the Pause (Stop) goes out as soon as the spacing
                # allows, after the last command sent
                spacing_s = g.device.min_command_interval_s
                self.pause_due_s = max(now_s, self.last_any_s + spacing_s)
                self.refused_slowing.add("speed")
            # The refused command is the last one sent (one answer per write); an incline
            # sent before the ramp-down began is not one of its moves.
            during = self.slowing and self.sends > self.slowing_from
            if during and isinstance(command, InclineCommand):
                self.incline_refused_s = now_s
                self.refused_slowing.add("incline")
        if isinstance(command, StartCommand) and g.belt is not BeltState.RUNNING:
            self.running, self.last_speed = False, None  # not after a stop or a reconnect
            self.end_slowing()  # a belt that never started needs no ramp-down

    def due_by_s(self) -> float | None:
        """The latest the next command may come: the cap's or the Pause's due time after a
        lowered cap or a speed refused in a ramp-down; in a ramp-down after an incline refusal,
        the fall of one speed increment at the deceleration limit, plus the spacing, after the
        last command (None: no such bound now)."""
        g = self.governor
        dues = [d for d in (self.pause_due_s, self.cap_due and self.cap_due[0]) if d is not None]
        if dues and g.has_control:
            return min(dues) + EPS
        if not (self.slowing and self.incline_refused_s is not None) or self.pause_due_s:
            return None
        top = self.top_kmh()
        speeds = [self.last_speed[0] if self.last_speed else 0.0, self.reported or 0.0]
        if not g.has_control or max(speeds) > top + EPS:
            return None  # nothing can be sent; above a lowered cap the fall is one jump
        dev = g.device
        slack_s = dev.min_command_interval_s + dev.speed_increment_kmh / g.limits.decel_kmh_per_s
        return max(self.incline_refused_s, self.last_any_s + slack_s) + EPS

    def ended_s(self) -> float | None:
        """When the last ramp-down ended: its Pause or Stop, or a moving turn's hold."""
        held_s = self.governor.hold_started_s
        return self.stop_s if held_s is None or self.stop_s is not None else held_s


def drain(belt: Belt, until_s: float, now_s: float) -> float:
    """Send every command due up to `until_s`, at the governor's own wake times."""
    g = belt.governor
    for _ in range(2000):
        wake, due_s = g.wake_at_s(), belt.due_by_s()
        if due_s is not None:
            late = wake is None or wake > due_s
            assert not late, f"the next command held back: wakes at {wake}, due by {due_s}"
        if wake is None or wake > until_s:
            break
        now_s = max(now_s, wake)
        send(belt, now_s)
    send(belt, until_s)
    return until_s


def send(belt: Belt, now_s: float) -> None:
    """Ask for the next command at `now_s`, check it, and let the treadmill answer it."""
    g = belt.governor
    before = g.direction
    command = g.next_command(now_s)
    belt.collect()
    if command is not None:
        belt.check(command, now_s)
        belt.answer(command, now_s)
    if g.direction is not before:
        belt.end_slowing()  # a turn's hold began
        limit = max(g.turn.speed_kmh, g.device.min_speed_kmh) + g.device.speed_increment_kmh
        last = belt.last_speed
        slow = g.turn.speed_kmh > 0 and last is not None and last[0] <= limit + EPS
        assert not belt.running or slow, "turned moving"


def apply(belt: Belt, op: str, arg: object, now_s: float) -> None:
    g = belt.governor
    if op not in KEEPS_REFUSALS:
        belt.refused = None
    if op not in KEEPS_SLOWING:
        belt.end_slowing()
    if op not in KEEPS_CAP_DUE:
        belt.cap_due = None
    try:
        if op == "set_speed":
            g.set_speed(float(arg), now_s)  # type: ignore[arg-type]
        elif op == "set_incline":
            g.set_incline(float(arg), now_s)  # type: ignore[arg-type]
        elif op == "turn":
            direction, speed, incline = cast(tuple[Direction, float, float], arg)
            g.begin_turn(direction, now_s, speed_kmh=speed, incline_pct=incline)
            belt.begin_slowing(belt.running)
        elif op in ("start", "auto_resume"):
            getattr(g, op)(now_s)
            belt.start_allowed = True
            if op == "start":
                belt.latched = False
        elif op in ("pause", "finish"):
            getattr(g, op)(now_s)
            belt.begin_slowing(belt.running)
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
            moving, reported = cast(tuple[bool, float | None], arg)
            g.link_restored(now_s, belt_moving=moving, reported_speed_kmh=reported)
            belt.running, belt.start_allowed, belt.reset_s = moving, False, now_s
            belt.reported = reported
            belt.begin_slowing(moving)  # a moving belt is ramped down and paused
            if not moving:
                belt.last_speed = None
            elif reported is not None:
                belt.last_speed = belt.found_speed = (reported, now_s)
            # moving without a report: the belt kept the last commanded speed
        elif op == "observe":
            g.observe_speed(arg, now_s)  # type: ignore[arg-type]
            belt.reported = arg  # type: ignore[assignment]
        elif op == "lower":
            name, value = cast(tuple[str, float], arg)
            g.lower_limits({name: value}, now_s)
            belt.owe_cap(now_s)
        elif op == "face":
            g.face(arg)  # type: ignore[arg-type]
            assert not belt.running
        elif op == "command_failed" and isinstance(
            belt.last_command, SpeedCommand | InclineCommand | StartCommand
        ):
            belt.refuse(belt.last_command, arg, now_s)  # type: ignore[arg-type]
            last = belt.last_speed
            if last is None or last[0] <= belt.top_kmh() + EPS:
                belt.cap_due = None  # the refused speed was the one above the cap
    except SafetyError:
        pass
    belt.collect()


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


@st.composite
def inclined_devices(draw: st.DrawFn) -> DeviceCaps:
    """Treadmills with an incline, whose speed range fits the caps of `walking_limits`."""
    return DeviceCaps(
        min_speed_kmh=draw(st.sampled_from([0.0, 0.5, 1.0, 1.6, 2.2])),
        max_speed_kmh=draw(st.sampled_from([6.0, 6.4, 12.0, 20.0])),
        speed_increment_kmh=draw(st.sampled_from([0.05, 0.1, 0.16, 0.2, 0.5])),
        min_incline_pct=0.0,
        max_incline_pct=draw(st.sampled_from([3.0, 10.0, 15.0])),
        incline_increment_pct=draw(st.sampled_from([0.1, 0.5, 1.0])),
        min_command_interval_s=draw(st.sampled_from([0.0, 0.1, 0.4, 0.5, 1.0])),
        pause_supported=draw(st.booleans()),
    )


def walking_limits() -> st.SearchStrategy[Limits]:
    """Caps under which any `inclined_devices` belt can run in both directions."""
    return st.builds(
        Limits,
        backward_max_kmh=st.floats(2.5, 6.0),
        forward_max_kmh=st.floats(2.5, 16.0),
        accel_kmh_per_s=st.floats(0.2, 1.0),
        decel_kmh_per_s=st.floats(0.2, 2.0),
        max_incline_pct=st.floats(1.0, 15.0),
        incline_rate_pct_per_s=st.floats(0.2, 2.0),
        backward_start_kmh=st.floats(0.5, 2.5),
    )


ENDINGS = st.sampled_from(["pause", "finish", "turn"])
WALK_S = 200.0  # long enough to reach any generated speed and incline; the ramp-down begins here


def walk_then_end(
    belt: Belt, ending: str, speed: float, incline: float | None, console_deck: float | None
) -> None:
    """Walk at `speed` (a fraction of the way from the start speed to the cap) with the deck
    at `incline` (a fraction of its cap), or raised by hand to `console_deck`; then a pause,
    finish or turn begins at WALK_S, and everything due in the next 200 s is sent."""
    g = belt.governor
    low, top = g.start_speed_kmh(g.direction), g.top_speed_kmh(g.direction)
    g.set_speed(low + speed * (top - low), 0.0)
    if incline is not None:
        top_pct = min(g.limits.max_incline_pct, g.device.max_incline_pct or 0.0)
        g.set_incline(math.floor(incline * top_pct * 100) / 100, 0.0)  # on the 0.01 % wire grid
    apply(belt, "start", None, 0.0)
    now_s = drain(belt, WALK_S, 0.0)
    if console_deck is not None:
        g.observe_incline(console_deck, now_s)
    after = Direction.FORWARD if g.direction is Direction.BACKWARD else Direction.BACKWARD
    arg = (after, g.start_speed_kmh(after), 0.0) if ending == "turn" else None
    apply(belt, ending, arg, now_s)
    assert belt.slowing
    drain(belt, now_s + 200.0, now_s)
    assert g.ending is None, f"the {ending} never ended"
    assert not belt.slowing, f"the {ending} did not end with the belt paused"


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


@settings(max_examples=500)
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
) -> None:
    """Walking, ramping up or ramping down (for a pause, finish or turn), the cap of the
    direction goes down under the commanded speed: the next command, at the first moment the
    spacing allows, takes the speed to within the new cap (or pauses the belt where no speed
    fits under it) before any incline step, and no later command exceeds it (`Belt.check`)."""
    g = Governor(caps, device, turn, direction=facing)
    belt = Belt(g)
    low, top = g.start_speed_kmh(g.direction), g.top_speed_kmh(g.direction)
    g.set_speed(low + speed * (top - low), 0.0)
    if incline is not None:
        top_pct = min(caps.max_incline_pct, device.max_incline_pct or 0.0)
        g.set_incline(math.floor(incline * top_pct * 100) / 100, 0.0)
    apply(belt, "start", None, 0.0)
    now_s = 0.0
    if ending is not None:
        now_s = drain(belt, max(0.0, lower_at - ending_before), now_s)
        after = Direction.FORWARD if g.direction is Direction.BACKWARD else Direction.BACKWARD
        arg = (after, g.start_speed_kmh(after), 0.0) if ending == "turn" else None
        apply(belt, ending, arg, now_s)
    now_s = drain(belt, lower_at, now_s)
    assume(belt.running and belt.last_speed is not None)
    commanded = belt.last_speed[0] if belt.last_speed else 0.0
    lowered = 0.5 + cap * (commanded - 0.5)
    assume(lowered < commanded - 0.01)
    apply(belt, "lower", (f"{g.direction}_max_kmh", lowered), now_s)
    assert belt.cap_due is not None
    drain(belt, now_s + 200.0, now_s)
    assert belt.cap_met_s is not None, "the speed never went down to the lowered cap"
    event("no speed fits: paused" if lowered < device.min_speed_kmh else "down to the cap")
