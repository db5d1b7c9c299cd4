"""The virtual treadmill's state: training session, targets, link, and their transitions.

Owns: `BeltState`, the write log and change history records, `LinkState` (per connection), and
`Machine` — the state `TreadmillModel` builds on: advancing the belt physics to `now_s`
(splitting at countdown ends and lagged targets), start / pause / stop / reset, new targets, and
which notifications the link is subscribed to. Pure: no clock, no I/O.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from treadctl import ftms
from treadctl.sim import frames
from treadctl.sim.belt import Belt
from treadctl.sim.frames import Notification
from treadctl.sim.settings import Quirks, TreadmillConfig

TS = ftms.TrainingStatusCode


class BeltState(enum.Enum):
    """Where the training session is."""

    IDLE = "idle"  # powered on or reset; no session
    STARTING = "starting"  # Start pressed, countdown (Pre-Workout) before the belt moves
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # session ended (Stop, safety key); counters kept until the next start


@dataclass(frozen=True)
class ControlPointWrite:
    """One write received on the control point: when, what, and the result code sent.

    `result` is None when no 0x80 was sent (dropped, quirk, fault, link dropped).
    """

    time_s: float
    data: bytes
    result: int | None
    note: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    """A change of target or state, and who caused it: "control_point", "console" or "safety"."""

    time_s: float
    cause: str
    what: str  # "target_speed_kmh", "target_incline_pct", "state"
    value: float | str


@dataclass
class LinkState:
    """Per-connection state: CCCD values by characteristic UUID, control, MTU."""

    cccd: dict[str, int] = field(default_factory=dict)
    has_control: bool = False
    mtu: int = 247
    last_cccd_write_s: float | None = None
    pending_op: int | None = None  # a procedure that will never be indicated (fault)


_EVERYTHING = {
    ftms.TREADMILL_DATA_UUID: 0x01,
    ftms.TRAINING_STATUS_UUID: 0x01,
    ftms.MACHINE_STATUS_UUID: 0x01,
    ftms.CONTROL_POINT_UUID: 0x03,
}


class Machine:
    """Session state and its transitions; `TreadmillModel` adds the wire and the console."""

    def __init__(self, config: TreadmillConfig | None = None, quirks: Quirks | None = None) -> None:
        self.config = config or TreadmillConfig()
        self.quirks = quirks or Quirks()
        self.belt = Belt(self.config)
        self.state = BeltState.IDLE
        self.target_speed_kmh = 0.0
        self.safety_key_in = True
        self.writes: list[ControlPointWrite] = []
        self.history: list[HistoryEntry] = []
        self.training_status = TS.IDLE
        self.connected: bool | None = None  # None: standalone (everything delivered)
        self.link_drop_requested = False
        self._link = LinkState(cccd=dict(_EVERYTHING))
        self._rng = random.Random(self.config.seed)
        self._now_s = 0.0
        self._started_at_s: float | None = None  # when a countdown ends
        self._lagged: tuple[float, float] | None = None  # (effective at, motor target)
        self._next_frame_s = 0.0
        self._next_glitch_s: float | None = None
        self._last_write_s: float | None = None
        self._last_start_cp_s: float | None = None
        self._previous_op: int | None = None
        self._spoil_next = False
        self._no_indications = False
        self.forced_results: dict[int, int] = {}
        self._queued: list[Notification] = []  # changes made by time passing

    # --- observable state ---------------------------------------------------------------------
    @property
    def belt_speed_kmh(self) -> float:
        """Actual belt speed, km/h."""
        return self.belt.speed_kmh

    @property
    def incline_pct(self) -> float:
        """Actual incline, %."""
        return self.belt.incline_pct

    @property
    def target_incline_pct(self) -> float:
        """Where the lift is heading, %."""
        return self.belt.incline_target_pct

    @property
    def has_control(self) -> bool:
        """True when the connected client holds control permission."""
        return self._link.has_control

    @property
    def mtu(self) -> int:
        """The link's ATT MTU (247 until told otherwise)."""
        return self._link.mtu

    # --- time ----------------------------------------------------------------------------------
    def _advance(self, now_s: float) -> None:
        """Run the physics up to `now_s`, splitting at countdown end and lagged targets."""
        while now_s > self._now_s:
            step_end = now_s
            for at in (self._started_at_s, self._lagged[0] if self._lagged else None):
                if at is not None and self._now_s < at < step_end:
                    step_end = at
            self.belt.advance(
                step_end - self._now_s,
                session_running=self.state is BeltState.RUNNING,
                distance_needs_load=self.quirks.distance_needs_load,
            )
            self._now_s = step_end
            if self._started_at_s is not None and self._now_s >= self._started_at_s:
                self._started_at_s = None
                self._queued += self._begin_running()  # sent by the next tick
            if self._lagged is not None and self._now_s >= self._lagged[0]:
                self.belt.motor_target_kmh = self._lagged[1]
                self._lagged = None

    def _wants(self, uuid: str, bits: int) -> bool:
        if self.connected is False:
            return False
        return bool(self._link.cccd.get(uuid, 0) & bits)

    def _deliver(self, notifications: list[Notification]) -> list[Notification]:
        """Keep what the link is subscribed to (the 0x80 is checked at write time)."""
        return [
            n
            for n in notifications
            if n.uuid == ftms.CONTROL_POINT_UUID or self._wants(n.uuid, 0x03)
        ]

    # --- session transitions (used by the console and the control point) -----------------------
    def _record(self, cause: str, what: str, value: float | str) -> None:
        self.history.append(HistoryEntry(self._now_s, cause, what, value))

    def _set_training(self, code: ftms.TrainingStatusCode) -> list[Notification]:
        if code == self.training_status:
            return []
        self.training_status = code
        return [frames.training_status(code, self.quirks)]

    def _set_state(self, state: BeltState, cause: str) -> None:
        self.state = state
        self._record(cause, "state", state.value)

    def set_target_speed(self, speed_kmh: float, now_s: float, cause: str) -> None:
        """A new target; the belt follows only while running (after the Q21 lag)."""
        self.target_speed_kmh = speed_kmh
        self._record(cause, "target_speed_kmh", speed_kmh)
        if self.state is BeltState.RUNNING:
            self._drive(speed_kmh, now_s)

    def _drive(self, speed_kmh: float, now_s: float) -> None:
        if self.quirks.target_lag_s:
            self._lagged = (now_s + self.quirks.target_lag_s, speed_kmh)
        else:
            self.belt.motor_target_kmh = speed_kmh

    def set_target_incline(self, incline_pct: float, cause: str) -> None:
        """A new incline target; the lift moves at its own rate."""
        self.belt.incline_target_pct = incline_pct
        self._record(cause, "target_incline_pct", incline_pct)

    def start(self, now_s: float, cause: str) -> list[Notification]:
        """Start a session (or resume a pause); the belt moves after the countdown."""
        if self.state in (BeltState.IDLE, BeltState.STOPPED):
            self.belt.reset_session()
            if self.target_speed_kmh <= 0:
                self.target_speed_kmh = self.config.start_speed_kmh
                self._record(cause, "target_speed_kmh", self.target_speed_kmh)
        if self.config.start_delay_s > 0 and self.state is not BeltState.PAUSED:
            self._set_state(BeltState.STARTING, cause)
            self._started_at_s = now_s + self.config.start_delay_s
            return self._set_training(TS.PRE_WORKOUT)
        self._set_state(BeltState.RUNNING, cause)
        return self._begin_running()

    def _begin_running(self) -> list[Notification]:
        if self.state is BeltState.STARTING:
            self._set_state(BeltState.RUNNING, "countdown")
        self.belt.motor_target_kmh = self.target_speed_kmh
        return self._set_training(TS.MANUAL_MODE)

    def pause(self, now_s: float, cause: str) -> list[Notification]:
        """Pause: the belt stops, targets and counters are kept."""
        self._set_state(BeltState.PAUSED, cause)
        self._started_at_s = None
        self._lagged = None
        self.belt.motor_target_kmh = 0.0
        return []

    def stop(self, now_s: float, cause: str) -> list[Notification]:
        """Stop: the session ends, the belt stops, the target speed is cleared."""
        self._set_state(BeltState.STOPPED, cause)
        self._started_at_s = None
        self._lagged = None
        self.belt.motor_target_kmh = 0.0
        self.target_speed_kmh = 0.0
        self._record(cause, "target_speed_kmh", 0.0)
        return self._set_training(TS.POST_WORKOUT)

    def reset(self, now_s: float, cause: str) -> list[Notification]:
        """Reset (CP 0x01): targets to defaults, counters to zero, Idle; control released."""
        self.stop(now_s, cause)
        self._set_state(BeltState.IDLE, cause)
        self.set_target_incline(0.0, cause)
        self.belt.reset_session()
        return self._set_training(TS.IDLE)
