"""What the treadmill tells the governor: the belt's speed and incline, stops on the console
or by the safety key, a start on the console, control and link lost or back, refused commands.

Owns: `MachineReports`, the half of `Governor` that takes in these facts (DESIGN §2 rules 4 and
7: a console or safety-key stop latches, nothing resumes after a reconnect; a refused setpoint
is held back as `refusals` says). Pure: `now_s` is an argument.
"""

from __future__ import annotations

from treadctl.safety._core import GovernorCore
from treadctl.safety._state import Ending, TurnStage
from treadctl.safety.commands import BeltCommand, InclineCommand, SpeedCommand, StartCommand
from treadctl.safety.grid import centi
from treadctl.safety.refusals import Refusal
from treadctl.safety.types import BeltState


class MachineReports(GovernorCore):
    """The governor's requests about what the treadmill did (see `Governor`)."""

    def observe_speed(self, reported_kmh: float | None, now_s: float) -> None:
        """The belt's reported speed (Treadmill Data), or None when not available."""
        self._observe_speed(None if reported_kmh is None else centi(reported_kmh), now_s)

    def observe_incline(self, reported_pct: float | None, now_s: float) -> None:
        """The deck's reported incline, or None when not available."""
        self._rep_incline = None if reported_pct is None else centi(reported_pct)

    def console_stopped(self, now_s: float, *, pause: bool) -> None:
        """Stopped or paused on the console (Machine Status 0x02): latch."""
        self._latch(now_s, BeltState.PAUSED if pause else BeltState.STOPPED)

    def safety_key_pulled(self, now_s: float) -> None:
        """Stopped by the safety key (Machine Status 0x03): latch."""
        self._latch(now_s, BeltState.STOPPED)

    def console_started(self, now_s: float) -> None:
        """Started or resumed on the console (Machine Status 0x04): a person's start. The
        belt now runs at its own start speed; a turn hold ends (the person chose to go)."""
        self._latched = False
        self._pending_start = self._start_unanswered = False
        self._forget_refusals()
        if self._belt is BeltState.RUNNING:
            return  # already moving (a late or repeated notification)
        if self._turn_stage is TurnStage.HOLDING:
            self._finish_turn(now_s)
        self._belt = BeltState.RUNNING
        self._cmd_speed = None
        self._ending = None
        self._announce_goal(now_s, "console_start")

    def control_lost(self, now_s: float) -> None:
        """Control Permission Lost (0xFF): send nothing until a person starts again."""
        self._control = False
        self._pending_start = False

    def link_lost(self, now_s: float) -> None:
        """The Bluetooth link dropped: send nothing until it is back (rule 7)."""
        self._link = False
        self._pending_start = self._start_unanswered = False

    def link_restored(
        self, now_s: float, *, belt_moving: bool, reported_speed_kmh: float | None = None
    ) -> None:
        """The link is back (rule 7): a stopped belt is left alone; a moving one is ramped
        down from its reported speed and paused. Nothing resumes until a person asks."""
        self._link = self._control = True
        self._pending_start = self._start_unanswered = False
        self._announced = None
        self._forget_refusals()
        self.observe_speed(reported_speed_kmh, now_s)  # what was reported before is stale
        if belt_moving:
            self._belt = BeltState.RUNNING
            if self._rep_speed is not None:
                self._cmd_speed = self._ranges.device_speed_grid().floor(self._rep_speed)
            self._base_s = now_s
            # the ramp down starts from what the belt does now (one given up stays given up)
            self._ramp_down(self._ending or Ending.PAUSE, now_s)
            return
        self._belt = BeltState.STOPPED
        self._cmd_speed = None
        if self._turn_stage is TurnStage.RAMPING:
            self._enter_hold(now_s)
        self._ending = None

    def command_failed(
        self, command: BeltCommand, now_s: float, *, result_code: int | None = None
    ) -> Refusal | None:
        """The treadmill refused `command` with `result_code` (None: no answer): forget what
        it would have done. A refused speed or incline is held back (rule in `governor`'s
        docstring, table in `refusals`); the returned `Refusal` says when it is tried again
        (None for Start and Stop, which are not repeated, and for a command the governor has
        moved on from: a stop, a reconnect or a start came in while it was under way). A
        refused drop to a cap, once given up, pauses the belt; its `Refusal.safety_stop` says
        why (`speed_above_cap`, `incline_above_cap`), for the caller to publish."""
        undone = self._undo(command, now_s)
        if undone and isinstance(command, SpeedCommand | InclineCommand):
            return self._refuse(command, now_s, result_code)
        return None

    # --- helpers -------------------------------------------------------------------------

    def _latch(self, now_s: float, belt: BeltState) -> None:
        self._queue_stop(None, belt)
        self._latched = True
        if self._turn_stage is TurnStage.RAMPING:
            self._enter_hold(now_s)

    def _undo(self, command: BeltCommand, now_s: float) -> bool:
        """Forget what a refused `command` would have done; False when there is nothing to
        undo: the governor has moved on since it was sent (a stop, a reconnect, a start)."""
        if isinstance(command, SpeedCommand):
            if self._cmd_speed != centi(command.speed_kmh):
                return False
            self._cmd_speed = self._prev_speed
        elif isinstance(command, InclineCommand):
            if self._cmd_incline != centi(command.incline_pct):
                return False
            self._cmd_incline = self._prev_incline
        elif isinstance(command, StartCommand):
            if not self._start_unanswered:
                return False
            self._start_unanswered = False
            self._belt, self._cmd_speed = self._belt_before_start, None
            self._ending = None  # a belt that did not start needs no ramp-down
            if self._turn_stage is TurnStage.RAMPING:
                self._enter_hold(now_s)
        return True

    def _announce_goal(self, now_s: float, reason: str) -> None:
        if self._goal_speed is None:
            return
        base = self._speed_base()
        if base is None or self._belt is not BeltState.RUNNING or self._pending_start:
            base = self._ranges.start_speed(self._direction)
        if self._goal_speed > base:
            self._ensure_announced(self._goal_speed, now_s, reason)
