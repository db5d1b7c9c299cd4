"""The governor: the only door to the belt (DESIGN §2 rules 1–7). Pure: `now_s` is an argument.

Owns: what the belt may do next. Callers set goals (`set_speed`, `set_incline`, `begin_turn`),
pass on what people and the treadmill did (`start`, `pause`, `stop`, `console_stopped`,
`link_lost`…), and ask `next_command(now_s)` for the next command to send; it is None until the
ramp, the command interval and the announcement rule allow one (`wake_at_s` says when). Rules:
caps per direction and device range (1); rises ≤ accel, falls ≤ decel, in whole increments at
most once per command interval (2); caps only lowered (3); no implicit start, latch after a
console stop, safety key or emergency stop (4); direction only changes in a turn, a rise only
after an announcement ≥ `turn.announce_s` old (5). The step logic lives in `_core`.

Caps come before ramps (rule 1 over rule 2): a speed commanded above the cap — a cap lowered
under it (`lower_limits`, a workout's `[limits]`), a belt found faster — goes down to the cap
with the next command, as soon as the command interval allows, before any other move. Besides
a pause, stop or emergency stop (the belt's own deceleration), it is the one fall faster than
`decel_kmh_per_s`; from the cap on, the belt ramps down to its goal at the usual pace. A deck
commanded above a lowered incline cap goes to it the same way, with the next command the
interval allows (the one after, when the speed goes to its cap first), and no speed rises while
it is above; from the cap it ramps at `incline_rate_pct_per_s`. Not while latched: then the
deck is left alone and only a moving belt is slowed.

A refused speed or incline (`command_failed` with the 0x80 result code) leaves the belt as it
was and is never sent again at once (`refusals` has the table): 0x04 Operation Failed, 0x05
Control Not Permitted (the BLE layer re-requests control) and no answer mean "try later" (again
after 2, 4 and 8 s); 0x02 Op Code Not Supported and 0x03 Invalid Parameter mean "not this" (one
more try after 5 s). Then a rise is given up — the belt keeps its lower speed — until the goal
changes (a step, a person's request, start, pause, turn, stop, reconnect); a fall never is (again
every 8 s), and never holds back the other fall (the speed goes down while a refused incline
waits). A pause, stop or turn always ends, on time, and tries nothing refused again: a refused
incline is given up at once (the speed goes on falling); a refused speed gives the ramp-down up
at once, and the Pause (Stop at a workout's end) goes out from the speed the belt has as soon
as the interval allows — pausing is always the safe direction. A refused drop to a cap leaves
the belt above it, so the belt is paused: a refused speed there (any code, or no answer) gives
the drop up at once and the Pause (Stop without Pause support, or at a workout's end) goes out
as soon as the interval allows; a refused deck is tried as the table says, then given up, and
the belt is ramped down and paused (the speed is not at stake). The `Refusal` names the reason
(`safety_stop`); the runner publishes it. A refused Start or Stop is not repeated: a person
decides what comes next.
"""

from __future__ import annotations

from collections.abc import Mapping

from treadctl.errors import LatchedError, SafetyError
from treadctl.safety._machine import MachineReports
from treadctl.safety._state import Ending, TurnStage
from treadctl.safety.commands import StopCommand, _issue_stop
from treadctl.safety.grid import centi, real
from treadctl.safety.limits import Direction, Limits
from treadctl.safety.ranges import Ranges
from treadctl.safety.types import Announcement, BeltState, Setpoint


class Governor(MachineReports):
    """Turns requests into safe belt commands. See the module docstring for the rules; what
    the treadmill reports (speeds, console, link, refusals) is taken in by `MachineReports`."""

    # --- goals ---------------------------------------------------------------------------

    def set_speed(self, speed_kmh: float, now_s: float) -> Setpoint:
        """Ask for a walking speed (km/h) in the current direction (the coming one in a turn).

        Returns the setpoint after quantisation and, for a rise, when it may begin. Raises
        `LimitExceededError` above the cap or outside the device range, `LatchedError` while
        latched. Never starts a paused or stopped belt.
        """
        if self._latched:
            raise LatchedError(_LATCHED_TEXT, reason="latched")
        turning = self._turn_stage is not None
        direction = self._turn_to if turning and self._turn_to else self._direction
        value = self._ranges.check_speed(speed_kmh, direction)
        if self._ending is None:  # a ramp-down's targets are its own: it keeps its refusals
            self._forget_refusals("speed")
        rise_at: float | None = None
        if turning:
            self._turn_goal_speed, floor = value, self._turn_floor()
            if value > floor:
                rise_at = self._ensure_announced(value, now_s, "turn", floor)
        else:
            if value != self._goal_speed:
                self._goal_speed, self._speed_goal_s = value, now_s
            running = self._belt is BeltState.RUNNING and self._ending is None
            base = self._speed_base()
            if base is None:
                base = self._ranges.start_speed(direction)
            if running and not self._pending_start and value > base:
                rise_at = self._ensure_announced(value, now_s, "set_speed")
        return Setpoint("speed", speed_kmh, real(value), "km/h", rise_at)

    def set_incline(self, incline_pct: float, now_s: float) -> Setpoint:
        """Ask for an incline (%). Raises `LimitExceededError` above the cap, outside the
        device range, or for any decline; `LatchedError` while latched."""
        if self._latched:
            raise LatchedError(_LATCHED_TEXT, reason="latched")
        value = self._ranges.check_incline(incline_pct)
        if self._ending is None:
            self._forget_refusals("incline")
        if self._turn_stage is not None:
            self._turn_goal_incline = value
        elif value != self._goal_incline:
            self._goal_incline, self._incline_goal_s = value, now_s
        return Setpoint("incline", incline_pct, real(value or 0), "%", None)

    def announce_rise(self, speed_kmh: float, now_s: float) -> Announcement | None:
        """Announce a coming rise to `speed_kmh` now (the caller publishes it); a later
        `set_speed` to at most that speed may then rise `turn.announce_s` after now."""
        value = centi(speed_kmh)
        base = self._speed_base()
        covered = self._announced is not None and self._announced[0] >= value
        if covered or (base is not None and value <= base):
            return None
        self._ensure_announced(value, now_s, "step")
        return self._outbox[-1]

    def take_announcements(self) -> list[Announcement]:
        """Announcements made since the last call (publish each as `speed_rise_announced`)."""
        out, self._outbox = self._outbox, []
        return out

    def face(self, direction: Direction) -> None:
        """Set the walking direction while the belt is not moving (no turn needed: the person
        is standing still). Raises `SafetyError` while the belt runs or a turn is under way."""
        if self._belt is BeltState.RUNNING or self._turn_stage is not None:
            raise SafetyError(
                "the direction can only change in a turn while the belt moves",
                reason="turn_required",
            )
        self._direction = direction

    def begin_turn(
        self, direction: Direction, now_s: float, *, speed_kmh: float, incline_pct: float = 0.0
    ) -> Setpoint:
        """Start a turn to `direction`, to continue at `speed_kmh`/`incline_pct` after it.

        The incline goes to 0, the belt ramps down and pauses (or slows to `turn.speed_kmh`),
        and the hold begins; the coming speed is announced now. Raises `SafetyError` when
        already turning or facing `direction`, `LimitExceededError` for a setpoint beyond the
        new direction's caps, `LatchedError` while latched.
        """
        if self._latched:
            raise LatchedError(_LATCHED_TEXT, reason="latched")
        if self._turn_stage is not None:
            raise SafetyError("a turn is already under way", reason="turn_in_progress")
        if direction is self._direction:
            raise SafetyError(f"already walking {direction}", reason="same_direction")
        speed_c = self._ranges.check_speed(speed_kmh, direction)
        incline_c = self._ranges.check_incline(incline_pct)
        self._forget_refusals()
        self._turn_to, self._turn_begun_s = direction, now_s
        self._turn_goal_speed, self._turn_goal_incline = speed_c, incline_c
        self._turn_stage = TurnStage.RAMPING
        self._announced = None
        if self._belt is BeltState.RUNNING:
            self._ramp_down(Ending.TURN, now_s)
        else:
            self._enter_hold(now_s)
        rise_at, floor = None, self._turn_floor()
        if speed_c > floor:
            rise_at = self._ensure_announced(speed_c, now_s, "turn", floor)
        return Setpoint("speed", speed_kmh, real(speed_c), "km/h", rise_at)

    def lower_limits(self, other: Limits | Mapping[str, float], now_s: float) -> list[Setpoint]:
        """Lower the caps (never raise them); goals above the new caps are lowered too.
        Returns one `Setpoint` per goal that was clamped. A speed commanded above the new cap
        goes to it at once (rule 1 over rule 2): the next command, as soon as the command
        interval allows, not after the time the deceleration ramp would take. A deck commanded
        above the new incline cap goes to it at once too (after the speed, when both are
        over). Should the treadmill refuse either drop, the belt is paused (`command_failed`)."""
        self._limits = self._limits.lowered_by(other)
        self._ranges = Ranges(self._limits, self._device)
        if self._ending is None:
            self._forget_refusals()
        clamps: list[Setpoint] = []
        if self._goal_speed is not None:
            top = self._ranges.top_speed(self._direction)
            if self._goal_speed > top:
                clamps.append(Setpoint("speed", real(self._goal_speed), real(top), "km/h", None))
                self._goal_speed, self._speed_goal_s = top, now_s
        if (
            self._goal_incline is not None
            and self._goal_incline > self._ranges.incline_grid().high_on()
        ):
            top_i = self._ranges.incline_grid().high_on()
            clamps.append(Setpoint("incline", real(self._goal_incline), real(top_i), "%", None))
            self._goal_incline, self._incline_goal_s = top_i, now_s
        return clamps

    # --- people --------------------------------------------------------------------------

    def start(self, now_s: float) -> None:
        """A person asked to start or resume: clears the latch, ends a turn hold that has
        lasted `turn.hold_s`, and queues Start if the belt is not moving. Raises
        `SafetyError` without a link, while the belt slows for a turn or inside the hold."""
        if not self._link:
            raise SafetyError("the treadmill is not connected", reason="link_down")
        if self._turn_stage is TurnStage.RAMPING and self._belt is BeltState.RUNNING:
            raise SafetyError(
                "the belt is slowing down for a turn; resume once it has paused",
                reason="turn_in_progress",
            )
        if self._turn_stage is TurnStage.HOLDING and self._hold_started_s is not None:
            left_s = self._hold_started_s + self._turn.hold_s - now_s
            if left_s > 1e-9:
                raise SafetyError(
                    f"turn hold: {left_s:.1f} s left before the belt may resume",
                    reason="turn_hold",
                )
            self._finish_turn(now_s)
        self._control = True
        self._latched = False
        self._resume(now_s, "resume")

    def auto_resume(self, now_s: float) -> None:
        """Resume after a turn hold on the site's opt-in (`turn.auto_resume`). Raises
        `LatchedError` while latched and `SafetyError` when not allowed or not yet due."""
        if self._latched:
            raise LatchedError(_LATCHED_TEXT, reason="latched")
        if not self._turn.auto_resume or self._turn_stage is not TurnStage.HOLDING:
            raise SafetyError("nothing may resume by itself now", reason="no_auto_resume")
        due_s = self.auto_resume_at_s
        if not self._link or not self._control or due_s is None or now_s < due_s - 1e-9:
            raise SafetyError("the turn hold is not over", reason="turn_hold")
        self._finish_turn(now_s)
        self._resume(now_s, "auto_resume")

    def pause(self, now_s: float) -> None:
        """A gentle pause: ramp down at the deceleration limit to the start speed, then Pause
        (Stop where the device has no Pause). The incline stays."""
        self._pending_start = False
        self._forget_refusals()
        if self._belt is BeltState.RUNNING and self._ending is None:
            self._ramp_down(Ending.PAUSE, now_s)
            self._announced = None

    def finish(self, now_s: float) -> None:
        """End of a workout: incline to 0, ramp down, then Stop."""
        self._pending_start = False
        self._forget_refusals()
        if self._belt is BeltState.RUNNING and self._ending is not Ending.STOP:
            self._ramp_down(Ending.STOP, now_s)
            self._announced = None

    def stop(self, now_s: float) -> None:
        """A person's stop: Stop at once (the belt's own deceleration), ending any turn."""
        self._queue_stop(_issue_stop(pause=False), BeltState.STOPPED)
        self._clear_turn()

    def emergency_stop(self, now_s: float) -> StopCommand:
        """Always allowed: returns the emergency Stop to send ahead of anything queued, drops
        every queued command and latches until a person starts again."""
        command = _issue_stop(pause=False, emergency=True)
        self._queue_stop(None, BeltState.STOPPED)
        self._clear_turn()
        self._latched = True
        self._last_cmd_s = self._stopped_s = now_s
        return command

    # --- helpers -------------------------------------------------------------------------

    def _resume(self, now_s: float, reason: str) -> None:
        self._forget_refusals()
        if self._belt is BeltState.RUNNING:
            if self._ending is Ending.PAUSE:
                self._ending = None
            self._announce_goal(now_s, reason)
            return
        self._ranges.check_can_start(self._direction)
        self._pending_start = True
        self._pending_stop = None
        self._announce_goal(now_s, reason)


_LATCHED_TEXT = (
    "the belt was stopped on the console, by the safety key or an emergency stop; "
    "only a person's start or resume clears it"
)
