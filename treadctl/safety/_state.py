"""The governor's state: what it knows about the belt, the goals, the turn and the latch.

Owns: `GovernorState` (the fields and their read-only views, the speed and incline bases a
ramp starts from, the memory of refused setpoints — `refusals` — and the start of a ramp-down,
which a refused speed gives up, and which a refused drop to a cap begins), `TurnStage` and
`Ending`. The moves are listed in `_moves`, sent in `_core`; the requests are in `governor`.
"""

from __future__ import annotations

import math
from enum import StrEnum

from treadctl.safety.commands import InclineCommand, SpeedCommand, StopCommand
from treadctl.safety.grid import centi, real
from treadctl.safety.limits import DeviceCaps, Direction, Limits, TurnSettings
from treadctl.safety.ranges import Ranges
from treadctl.safety.refusals import Refusal, retry_delay_s
from treadctl.safety.types import Announcement, BeltState, Move

REANCHOR_C = 50  # ramp from the reported speed when it differs from ours by > 0.5 km/h …
REANCHOR_AFTER_S = 3.0  # … for this long without a break (Q21: lag, single zero frames)


class TurnStage(StrEnum):
    """Where a turn is: slowing down (incline to 0, ramp down, pause) or holding."""

    RAMPING = "ramping"
    HOLDING = "holding"


class Ending(StrEnum):
    """Why the belt is being ramped down: to pause, to stop (workout end) or to turn."""

    PAUSE = "pause"
    STOP = "stop"
    TURN = "turn"


class GovernorState:
    """Everything the governor knows, read-only from outside."""

    def __init__(
        self,
        limits: Limits,
        device: DeviceCaps,
        turn: TurnSettings | None = None,
        *,
        direction: Direction = Direction.FORWARD,
    ) -> None:
        self._limits, self._device = limits, device
        self._ranges = Ranges(limits, device)
        self._turn = turn if turn is not None else TurnSettings()
        self._direction = direction
        self._belt = BeltState.STOPPED
        self._latched = False
        self._link = self._control = True
        self._goal_speed: int | None = None
        self._goal_incline: int | None = None
        self._speed_goal_s = self._incline_goal_s = -math.inf
        self._cmd_speed: int | None = None
        self._cmd_incline: int | None = None
        self._prev_speed: int | None = None
        self._prev_incline: int | None = None
        self._belt_before_start = BeltState.STOPPED
        self._rep_speed: int | None = None
        self._rep_speed_s = -math.inf
        self._rep_off_since_s: float | None = None  # reported off from commanded since
        self._rep_incline: int | None = None
        self._last_cmd_s = self._last_speed_s = -math.inf
        self._stopped_s = -math.inf  # when a Pause or Stop was last sent (`RESTART_AFTER_S`)
        self._base_s = -math.inf  # when the commanded speed was last taken from the belt
        self._pending_start = False
        self._start_unanswered = False  # a Start sent, and nothing since that overrides it
        self._pending_stop: StopCommand | None = None
        self._ending: Ending | None = None
        self._ending_s = -math.inf
        self._gave_up = False  # the ramp-down under way was given up: Pause (Stop) next
        self._turn_stage: TurnStage | None = None
        self._turn_to: Direction | None = None
        self._turn_goal_speed: int | None = None
        self._turn_goal_incline: int | None = None
        self._turn_begun_s = -math.inf
        self._hold_started_s: float | None = None
        self._announced: tuple[int, float] | None = None
        self._refused: dict[str, Refusal] = {}  # the last refusal per quantity (`refusals`)
        self._to_cap: dict[str, int | None] = {}  # the last value sent, if a drop to a cap
        self._outbox: list[Announcement] = []
        self.last_move: Move | None = None

    # --- what the governor knows ---------------------------------------------------------

    @property
    def limits(self) -> Limits:
        """The caps in force (the site's, possibly lowered)."""
        return self._limits

    @property
    def device(self) -> DeviceCaps:
        """The device ranges in force."""
        return self._device

    @property
    def turn(self) -> TurnSettings:
        """The turn settings in force."""
        return self._turn

    @property
    def direction(self) -> Direction:
        """The direction the person walks now (it changes at the start of a turn's hold)."""
        return self._direction

    @property
    def belt(self) -> BeltState:
        """What the belt does, as far as the governor knows."""
        return self._belt

    @property
    def latched(self) -> bool:
        """Stopped on the console, by the safety key or an emergency stop, not yet restarted."""
        return self._latched

    @property
    def has_control(self) -> bool:
        """Linked and in control: commands can be sent."""
        return self._link and self._control

    @property
    def linked(self) -> bool:
        """Whether the link is up as far as the governor was told."""
        return self._link

    @property
    def turn_stage(self) -> TurnStage | None:
        """The turn under way, if any."""
        return self._turn_stage

    @property
    def turn_to(self) -> Direction | None:
        """The direction a turn under way leads to."""
        return self._turn_to

    @property
    def hold_started_s(self) -> float | None:
        """When the current turn's hold began."""
        return self._hold_started_s

    @property
    def auto_resume_at_s(self) -> float | None:
        """When an opted-in automatic resume is due (None when there is none)."""
        if not self._turn.auto_resume or self._hold_started_s is None:
            return None
        return self._hold_started_s + self._turn.auto_resume_after_s

    @property
    def ending(self) -> str | None:
        """ "pause", "stop" or "turn" while the belt is ramped down for that, else None."""
        return None if self._ending is None else str(self._ending)

    @property
    def commanded_speed_kmh(self) -> float | None:
        """The last speed sent (None before the first after a Start)."""
        return None if self._cmd_speed is None else real(self._cmd_speed)

    @property
    def commanded_incline_pct(self) -> float | None:
        """The last incline sent."""
        return None if self._cmd_incline is None else real(self._cmd_incline)

    @property
    def goal_speed_kmh(self) -> float | None:
        """The speed asked for (after quantisation)."""
        return None if self._goal_speed is None else real(self._goal_speed)

    @property
    def goal_incline_pct(self) -> float | None:
        """The incline asked for (after quantisation)."""
        return None if self._goal_incline is None else real(self._goal_incline)

    @property
    def coming_speed_kmh(self) -> float | None:
        """The speed the belt is headed for: in a turn, the setpoint after it; else the goal."""
        value = self._turn_goal_speed if self._turn_stage is not None else None
        value = self._goal_speed if value is None else value
        return None if value is None else real(value)

    @property
    def coming_incline_pct(self) -> float | None:
        """The incline the deck is headed for: in a turn, the one after it; else the goal."""
        value = self._turn_goal_incline if self._turn_stage is not None else None
        value = self._goal_incline if value is None else value
        return None if value is None else real(value)

    def start_speed_kmh(self, direction: Direction) -> float:
        """The speed a Start or Resume begins at: max(backward_start_kmh, device minimum)."""
        return real(self._ranges.start_speed(direction))

    def top_speed_kmh(self, direction: Direction) -> float:
        """The highest speed allowed in `direction` (cap and device maximum, on the grid)."""
        return real(self._ranges.top_speed(direction))

    # --- bases and refusals ----------------------------------------------------------------

    def _speed_base(self) -> int | None:
        cmd, rep, since = self._cmd_speed, self._rep_speed, self._rep_off_since_s
        if cmd is None:
            return None
        if rep is not None and since is not None and self._rep_speed_s - since >= REANCHOR_AFTER_S:
            return self._ranges.device_speed_grid().floor(rep)  # the belt is really elsewhere
        return cmd

    def _observe_speed(self, reported_c: int | None, now_s: float) -> None:
        self._rep_speed, self._rep_speed_s = reported_c, now_s
        cmd = self._cmd_speed
        off = reported_c is not None and cmd is not None and abs(reported_c - cmd) > REANCHOR_C
        if not off:
            self._rep_off_since_s = None
        elif self._rep_off_since_s is None:
            self._rep_off_since_s = max(now_s, self._last_speed_s)

    def _incline_base(self) -> int | None:
        if not self._device.incline_supported:
            return None
        if self._cmd_incline is not None:
            return self._cmd_incline
        rep = self._rep_incline
        return 0 if rep is None else self._ranges.incline_grid().nearest(rep)

    def _turn_floor(self) -> int:
        return self._ranges.turn_floor(
            self._turn, self._direction, self._turn_to or self._direction
        )

    def _refuse(
        self, command: SpeedCommand | InclineCommand, now_s: float, result_code: int | None
    ) -> Refusal:
        """Remember a refused setpoint (after `_undo`) and when to try it again. A refused
        drop to a cap, once given up (`refusals`), pauses the belt: it would stay above it."""
        if isinstance(command, SpeedCommand):
            quantity, value, base = "speed", centi(command.speed_kmh), self._speed_base()
        else:
            quantity, value, base = "incline", centi(command.incline_pct), self._incline_base()
        before = self._refused.get(quantity)
        attempt = before.attempt + 1 if before and centi(before.value) == value else 1
        to_cap = self._to_cap.get(quantity) == value
        delay_s = retry_delay_s(
            result_code,
            attempt,
            quantity=quantity,
            falling=base is None or value < base,
            ending=self._ending is not None,
            to_cap=to_cap,
        )
        safety_stop = None
        if to_cap and delay_s is None and self._belt is BeltState.RUNNING:
            safety_stop = f"{quantity}_above_cap"
            if self._ending is None:  # an ending under way keeps its kind and its ramp
                self._ramp_down(Ending.PAUSE, now_s)
                self._announced = None
        if self._ending is not None and quantity == "speed":
            self._gave_up = True  # the belt cannot be slowed: pause it as it is (`_core`)
        retry_at_s = None if delay_s is None else now_s + delay_s
        refusal = Refusal(quantity, real(value), result_code, attempt, retry_at_s, safety_stop)
        self._refused[quantity] = refusal
        return refusal

    def _ramp_down(self, ending: Ending, now_s: float) -> None:
        """Ramp the belt down for `ending` from `now_s`, or change what ends a ramp-down under
        way (one given up after a refused speed stays given up: it ends at once)."""
        if self._ending is None:
            self._gave_up = False
        self._ending, self._ending_s = ending, now_s

    def _forget_refusals(self, *quantities: str) -> None:
        """A goal changed: refused setpoints may be tried at once (all when none named)."""
        for quantity in quantities or tuple(self._refused):
            self._refused.pop(quantity, None)
