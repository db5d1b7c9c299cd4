"""An independent account of the belt, for the governor's property tests (DESIGN §2 rules 1–5).

Owns: the generated device ranges, caps, turn settings and request sequences; `Belt`, which
keeps its own account of what the belt does from the commands a Governor returns and the facts
fed in, and checks every command against it (caps, ramp rates, command spacing, announced
rises, no implicit start, no motion while stopped or latched, the deadlines of the rules that
say "at once": a drop to a lowered cap, a Pause after a refused speed in a ramp-down or a
refused drop to a cap); `drain`, `send` and `apply`, which drive a Governor through requests at
its own wake times; and `walk_then_end`. The tests are in `test_governor_properties` and
`test_cap_properties`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

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
    Refusal,
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
    st.tuples(st.just("lower"), st.tuples(st.just("max_incline_pct"), st.floats(0.0, 4.0))),
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
    last_incline: tuple[float, float] | None = None  # the deck: (value, time) last taken
    prev_incline: tuple[float, float] | None = None
    deck_due: tuple[float, float] | None = None  # a deck above a lowered cap: (due by, cap) …
    deck_met_s: float | None = None  # … and when the command that met it was sent
    deck_given_up: bool = False  # a refused drop of the deck to its cap was given up
    refusals: list[Refusal] = field(default_factory=list)  # every refusal, in order
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
        if self.deck_due is not None and isinstance(command, InclineCommand | StopCommand):
            due_s, cap = self.deck_due
            within = isinstance(command, StopCommand) or command.incline_pct <= cap + EPS
            assert within, f"{command} first after the incline cap went down to {cap}"
            assert now_s <= due_s + EPS, f"the deck met the cap {cap} at {now_s}, due {due_s}"
            self.deck_due, self.deck_met_s = None, now_s
            self.met.add("deck down to a lowered cap")
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
            rested = self.stop_s is None or now_s >= self.stop_s + 2.0 - EPS
            assert rested, f"Start at {now_s}, 2 s after the Stop or Pause at {self.stop_s}"
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
            assert not self.deck_given_up, f"{command} after the drop to the cap was given up"
            self.prev_incline, self.last_incline = self.last_incline, (command.incline_pct, now_s)
        if isinstance(command, SpeedCommand) and self.latched:  # only ramping a moving belt down
            assert self.last_speed is not None, "speed set while latched"
            assert command.speed_kmh <= self.last_speed[0] + EPS, "speed rise while latched"
        if isinstance(command, SpeedCommand):
            self.check_speed(command.speed_kmh, now_s)
        if isinstance(command, InclineCommand):
            value = command.incline_pct
            assert dev.incline_supported
            assert -EPS <= value <= min(lim.max_incline_pct, dev.max_incline_pct or 0.0) + EPS
            step_pct = dev.incline_increment_pct or 0.0
            assert on_grid(value, 0.0, step_pct), f"{value} % is not on the {step_pct} % grid"
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
        assert on_grid(value, dev.min_speed_kmh, dev.speed_increment_kmh), (
            f"{value} km/h is not a whole number of {dev.speed_increment_kmh} km/h increments "
            f"above the device minimum {dev.min_speed_kmh}"
        )
        if self.last_speed is not None:
            previous, then_s = self.last_speed
            elapsed_s = now_s - then_s
            reported = previous if self.reported is None else self.reported
            if value > previous + EPS:
                assert not self.deck_over_cap(), f"rise to {value} with the deck above its cap"
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

    def top_pct(self) -> float:
        """The incline cap now (cap and device maximum)."""
        g = self.governor
        return min(g.limits.max_incline_pct, g.device.max_incline_pct or 0.0)

    def deck_over_cap(self) -> bool:
        """The deck, as last commanded, is above the incline cap (and may be moved)."""
        deck = self.last_incline
        return deck is not None and not self.latched and deck[0] > self.top_pct() + EPS

    def owe_cap(self, now_s: float) -> None:
        """After the caps went down: a commanded speed above the cap must go to it with the
        next command, at the first moment the spacing allows; a deck above the incline cap
        with the next one (the one after, when the speed goes first)."""
        g, last = self.governor, self.last_speed
        self.cap_due = self.deck_due = None
        if last is None or last == self.found_speed:
            return  # no speed sent since the Start or the reconnect: none to take back
        if not (self.running and g.has_control):
            return
        spacing_s = g.device.min_command_interval_s
        due_s = max(now_s, self.last_any_s + spacing_s)
        if last[0] > self.top_kmh() + EPS:
            self.cap_due, self.cap_met_s = (due_s, self.top_kmh()), None
        if (self.reported or 0.0) > self.top_kmh() + EPS or self.cap_due is not None:
            due_s += spacing_s  # the speed goes first (a belt found faster, too)
        refused_here = self.slowing and (self.incline_refused_s is not None or self.deck_given_up)
        if self.deck_over_cap() and not refused_here:  # a refusal there is kept: no timing
            self.deck_due, self.deck_met_s = (due_s, self.top_pct()), None

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
            self.refusals.append(refusal)
            self.refused = (command, now_s)
            if isinstance(command, SpeedCommand):
                self.last_speed = self.prev_speed  # the belt keeps the speed before
            else:
                self.last_incline = self.prev_incline  # and the deck it had
                self.deck_due = None  # a refused setpoint is held back: no timing
            self.cap_stop(refusal, now_s)
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

    def cap_stop(self, refusal: Refusal, now_s: float) -> None:
        """A refused drop to a cap, given up, pauses the belt: at once for a speed (the Pause
        within the spacing), the gentle way (a ramp-down) for a deck, which is not commanded
        again until a goal changes."""
        g = self.governor
        if refusal.safety_stop is None:
            return
        assert refusal.given_up, f"{refusal} pauses the belt but is tried again"
        assert g.belt is BeltState.RUNNING, f"{refusal} with the belt {g.belt}"
        if refusal.safety_stop == "speed_above_cap":
            assert refusal.quantity == "speed"
            speeds = [self.last_speed[0] if self.last_speed else 0.0, self.reported or 0.0]
            assert max(speeds) > self.top_kmh() + EPS, f"{refusal}: the belt is within its cap"
            if not self.slowing:
                self.begin_slowing(True)
            spacing_s = g.device.min_command_interval_s
            self.pause_due_s = max(now_s, self.last_any_s + spacing_s)
            self.met.add("paused after a refused drop to the speed cap")
            return
        assert refusal.safety_stop == "incline_above_cap", refusal.safety_stop
        assert refusal.quantity == "incline"
        assert self.deck_over_cap(), f"{refusal}: the deck is within its cap"
        assert g.ending is not None, f"{refusal}: the belt is not ramped down"
        if not self.slowing:
            self.begin_slowing(True)
        self.deck_given_up = True
        self.met.add("paused after a refused drop to the incline cap")

    def due_by_s(self) -> float | None:
        """The latest the next command may come: the cap's or the Pause's due time after a
        lowered cap or a speed refused in a ramp-down; in a ramp-down after an incline refusal,
        the fall of one speed increment at the deceleration limit, plus the spacing, after the
        last command (None: no such bound now)."""
        g = self.governor
        due_times = (
            self.pause_due_s,
            self.cap_due and self.cap_due[0],
            self.deck_due and self.deck_due[0],
        )
        dues = [d for d in due_times if d is not None]
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


def on_grid(value: float, origin: float, step: float) -> bool:
    """`value` is `origin` plus a whole number of `step`s (the device's increment), to the
    hundredth (the wire's resolution)."""
    offset_c, step_c = round((value - origin) * 100), round(step * 100)
    return offset_c % step_c == 0


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
        belt.deck_given_up = False  # the goal changed: the drop may be tried again
    if op not in KEEPS_SLOWING:
        belt.end_slowing()
    if op not in KEEPS_CAP_DUE:
        belt.cap_due = belt.deck_due = None
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


def walk(belt: Belt, speed: float, incline: float | None) -> None:
    """Goals: `speed` a fraction of the way from the start speed to the cap, the deck at
    `incline` (a fraction of its cap, on the 0.01 % wire grid); then a person's start at 0 s."""
    g = belt.governor
    low, top = g.start_speed_kmh(g.direction), g.top_speed_kmh(g.direction)
    g.set_speed(low + speed * (top - low), 0.0)
    if incline is not None:
        top_pct = min(g.limits.max_incline_pct, g.device.max_incline_pct or 0.0)
        g.set_incline(math.floor(incline * top_pct * 100) / 100, 0.0)
    apply(belt, "start", None, 0.0)


def end(belt: Belt, ending: str, now_s: float) -> None:
    """Begin a pause, finish or turn (to the other direction, at its start speed) at `now_s`."""
    g = belt.governor
    after = Direction.FORWARD if g.direction is Direction.BACKWARD else Direction.BACKWARD
    arg = (after, g.start_speed_kmh(after), 0.0) if ending == "turn" else None
    apply(belt, ending, arg, now_s)


def walk_then_end(
    belt: Belt, ending: str, speed: float, incline: float | None, console_deck: float | None
) -> None:
    """Walk at `speed` (a fraction of the way from the start speed to the cap) with the deck
    at `incline` (a fraction of its cap), or raised by hand to `console_deck`; then a pause,
    finish or turn begins at WALK_S, and everything due in the next 200 s is sent."""
    g = belt.governor
    walk(belt, speed, incline)
    now_s = drain(belt, WALK_S, 0.0)
    if console_deck is not None:
        g.observe_incline(console_deck, now_s)
    end(belt, ending, now_s)
    assert belt.slowing
    drain(belt, now_s + 200.0, now_s)
    assert g.ending is None, f"the {ending} never ended"
    assert not belt.slowing, f"the {ending} did not end with the belt paused"
