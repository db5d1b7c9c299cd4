"""The virtual treadmill as a pure machine: bytes in, bytes out, time passed in as `now_s`.

Owns: `TreadmillModel` — the public face of the machine: Treadmill Data at the configured rate,
reads of Feature, ranges, Training Status and Device Information, the link (connect, MTU, CCCD
writes), the Fitness Machine Control Point, the console buttons and safety key, and the
fault-injection hooks. It reads no clock and does no I/O: the GATT layer (`gatt.py`), or a test,
calls it with the time. Session state and transitions are in `state.py`, the control point in
`procedures.py`, physics in `belt.py`, the octets in `frames.py`.

Link state: a fresh model behaves as if one client had subscribed to everything and is not yet
in control (handy for tests of the model alone). `on_connect` starts a real link session —
nothing subscribed, no control — and `on_disconnect` ends it (nothing is sent until the next
connection).

Fault hooks, all off until called: `force_result`, `stop_indicating`, `revoke_control`, and
`drop_link_mid_record` — one-shot: the next record split with More Data goes out only up to its
first fragment(s), then `link_drop_requested` asks the GATT layer to drop the link (a treadmill
losing power mid-record; the collector must drop the half record, FTMS v1.0 §4.18). While a drop
is requested no more Treadmill Data is sent.
"""

from __future__ import annotations

from treadctl import ftms
from treadctl.errors import AttError
from treadctl.sim import frames
from treadctl.sim.frames import Notification
from treadctl.sim.procedures import ControlPoint
from treadctl.sim.settings import Quirks, TreadmillConfig
from treadctl.sim.state import (
    BeltState,
    ControlPointWrite,
    HistoryEntry,
    LinkState,
    Machine,
)

__all__ = ["AttError", "BeltState", "ControlPointWrite", "HistoryEntry", "Notification", "Quirks",
           "TreadmillConfig", "TreadmillModel"]  # fmt: skip

MS = ftms.MachineStatusOpCode


class TreadmillModel(Machine):
    """A treadmill. Every method that takes `now_s` first advances the physics to `now_s`."""

    def __init__(self, config: TreadmillConfig | None = None, quirks: Quirks | None = None) -> None:
        super().__init__(config, quirks)
        self._cp = ControlPoint(self)
        self.drop_after_fragments: int | None = None  # armed `drop_link_mid_record`

    def advance(self, now_s: float) -> None:
        """Run the physics up to `now_s` without sending anything (for status displays)."""
        self._advance(now_s)

    def tick(self, now_s: float) -> list[Notification]:
        """Advance to `now_s`; status changes time brought, and the Treadmill Data frames due now.

        At most one record per call: a caller that falls behind skips frames, as a busy
        machine would.
        """
        self._advance(now_s)
        out, self._queued = self._deliver(self._queued), []
        return out + self._frames(now_s)

    def _frames(self, now_s: float) -> list[Notification]:
        moving = self.belt.speed_kmh > 0 or self.state is BeltState.RUNNING
        if now_s < self._next_frame_s:
            return []
        rate = self.config.rate_hz if moving else (self.config.idle_rate_hz or self.config.rate_hz)
        self._next_frame_s += 1 / rate
        if self._next_frame_s <= now_s:  # fell behind: skip what was missed
            self._next_frame_s = now_s + 1 / rate
        if self.quirks.silent or (self.quirks.silent_when_stopped and not moving):
            return []
        if self.link_drop_requested or not self._wants(ftms.TREADMILL_DATA_UUID, 0x01):
            return []
        record = frames.treadmill_record(self.belt, self.quirks, zero_speed=self._glitch(now_s))
        out = frames.treadmill_frames(record, self.quirks, self._link.mtu)
        keep = self.drop_after_fragments
        if keep is not None and len(out) > keep:  # the armed fault: cut the record, then drop
            out, self.drop_after_fragments, self.link_drop_requested = out[:keep], None, True
        return [Notification(ftms.TREADMILL_DATA_UUID, data) for data in out]

    def next_deadline_s(self) -> float:
        """When `tick` next has something to do (model time)."""
        times = [self._next_frame_s]
        times += [t for t in (self._started_at_s, self._lagged[0] if self._lagged else None) if t]
        return min(times)

    def _glitch(self, now_s: float) -> bool:
        every = self.quirks.zero_speed_glitch_every_s
        if not every or self.belt.speed_kmh == 0:
            self._next_glitch_s = None
            return False
        if self._next_glitch_s is None:
            self._next_glitch_s = now_s + every
        if now_s >= self._next_glitch_s:
            self._next_glitch_s = now_s + every
            return True
        return False

    # --- reads and link ------------------------------------------------------------------------
    def read(self, uuid: str) -> bytes:
        """The value of a readable characteristic (Feature, ranges, Training Status, DIS).

        Raises `KeyError` for a UUID the treadmill does not have.
        """
        if uuid == ftms.FEATURE_UUID:
            return frames.feature_bytes(self.quirks)
        if uuid == ftms.SPEED_RANGE_UUID:
            return frames.speed_range_bytes(self.config, self.quirks)
        if uuid == ftms.INCLINATION_RANGE_UUID:
            return frames.inclination_range_bytes(self.config, self.quirks)
        if uuid == ftms.TRAINING_STATUS_UUID:
            return frames.training_status_bytes(self.training_status, self.quirks)
        return frames.device_information(self.config)[uuid]

    def on_connect(self, now_s: float, mtu: int = 23) -> None:
        """A client connected: nothing subscribed, no control, ATT MTU `mtu`."""
        self._advance(now_s)
        self.connected = True
        self._link = LinkState(mtu=mtu)

    def on_disconnect(self, now_s: float) -> None:
        """The link dropped: control released, pending procedure forgotten, nothing sent."""
        self._advance(now_s)
        self.connected = False
        self._link = LinkState()
        self.link_drop_requested = False

    def set_mtu(self, mtu: int) -> None:
        """The ATT MTU was exchanged (23..517)."""
        self._link.mtu = max(23, min(mtu, 517))

    def write_cccd(self, uuid: str, value: int, now_s: float) -> bool:
        """A client wrote a CCCD (0 off, 1 notify, 2 indicate); False when dropped (Q22)."""
        self._advance(now_s)
        last, self._link.last_cccd_write_s = self._link.last_cccd_write_s, now_s
        gap = self.quirks.cccd_min_gap_s
        if gap and last is not None and now_s - last < gap:
            return False
        self._link.cccd[uuid] = value
        return True

    def cccd(self, uuid: str) -> int:
        """The CCCD value the link has for `uuid` (what a client reads back)."""
        return self._link.cccd.get(uuid, 0)

    # --- the control point ---------------------------------------------------------------------
    def write_control_point(self, data: bytes, now_s: float) -> list[Notification]:
        """Handle a control-point write; the notifications a machine sends, in order.

        Raises `AttError` (0xFD CCCD improperly configured, 0xFE procedure already in progress):
        the write is refused at ATT level and has no effect.
        """
        self._advance(now_s)
        return self._deliver(self._cp.write(bytes(data), now_s))

    def note_refused_write(self, data: bytes, now_s: float, att_code: int) -> None:
        """Log a write the GATT layer refused itself (0xFE while a 0x80 is unconfirmed)."""
        self.writes.append(
            ControlPointWrite(now_s, bytes(data), None, f"refused: ATT 0x{att_code:02X}")
        )

    # --- console -------------------------------------------------------------------------------
    def press_start(self, now_s: float) -> list[Notification]:
        """Console Start: starts a session or resumes a pause (nothing with the key out)."""
        self._advance(now_s)
        if not self.safety_key_in or self.state in (BeltState.RUNNING, BeltState.STARTING):
            return []
        out = self.start(now_s, cause="console")
        return self._deliver(
            [frames.machine_status(MS.STARTED_OR_RESUMED_BY_USER, self.quirks), *out]
        )

    def press_pause(self, now_s: float) -> list[Notification]:
        """Console Pause: the belt stops, the session is kept."""
        self._advance(now_s)
        if self.state not in (BeltState.RUNNING, BeltState.STARTING):
            return []
        out = self.pause(now_s, cause="console")
        status = frames.machine_status(
            MS.STOPPED_OR_PAUSED_BY_USER, self.quirks, ftms.StopPauseControl.PAUSE
        )
        return self._deliver([status, *out])

    def press_stop(self, now_s: float) -> list[Notification]:
        """Console Stop: the session ends."""
        self._advance(now_s)
        if self.state in (BeltState.IDLE, BeltState.STOPPED):
            return []
        out = self.stop(now_s, cause="console")
        status = frames.machine_status(
            MS.STOPPED_OR_PAUSED_BY_USER, self.quirks, ftms.StopPauseControl.STOP
        )
        return self._deliver([status, *out])

    def console_set_speed(self, speed_kmh: float, now_s: float) -> list[Notification]:
        """Console speed buttons (only while running); notifies Target Speed Changed."""
        self._advance(now_s)
        if self.state is not BeltState.RUNNING:
            return []
        speed = min(max(speed_kmh, self.config.speed_min_kmh), self.config.speed_max_kmh)
        self.set_target_speed(speed, now_s, cause="console")
        value = round(frames.speed_out(speed, self.quirks), 2)
        return self._deliver([frames.machine_status(MS.TARGET_SPEED_CHANGED, self.quirks, value)])

    def pull_safety_key(self, now_s: float) -> list[Notification]:
        """Safety key out: emergency stop, status 0x03; Start refused until it is back in."""
        self._advance(now_s)
        self.safety_key_in = False
        self.belt.emergency = True
        out: list[Notification] = []
        if self.state not in (BeltState.IDLE, BeltState.STOPPED):
            out = self.stop(now_s, cause="safety")
        else:
            self.belt.motor_target_kmh = 0.0
        return self._deliver([frames.machine_status(MS.STOPPED_BY_SAFETY_KEY, self.quirks), *out])

    def insert_safety_key(self, now_s: float) -> list[Notification]:
        """Safety key back in: Start is possible again; the belt stays stopped."""
        self._advance(now_s)
        self.safety_key_in = True
        return []

    def set_on_belt(self, on_belt: bool, now_s: float) -> None:
        """Someone steps on or off the belt (matters under `distance_needs_load`, Q9)."""
        self._advance(now_s)
        self.belt.on_belt = on_belt

    # --- fault injection -----------------------------------------------------------------------
    def force_result(self, op_code: int, result_code: int | None) -> None:
        """Answer `op_code` with `result_code` (0x02–0x05) and no effect; None to stop.

        Raises `ValueError` for a result code outside 0x02–0x05.
        """
        if result_code is None:
            self.forced_results.pop(op_code, None)
        elif not 0x02 <= result_code <= 0x05:
            raise ValueError(f"result_code must be 0x02..0x05, got {result_code:#04x}")
        else:
            self.forced_results[op_code] = result_code

    def stop_indicating(self, stop: bool = True) -> None:
        """From now on, accepted writes are never indicated (and block later ones with 0xFE)."""
        self._no_indications = stop

    def drop_link_mid_record(self, fragments: int = 1) -> bool:
        """One-shot: send only the first `fragments` More Data fragments of the next record split
        into more frames than that, then ask for the link to drop (`link_drop_requested`).

        Records that fit in fewer frames go out whole until one does not (set `more_data_split`
        or connect at a small MTU). Returns whether the record as it stands now would be cut —
        False means nothing happens until the split changes. Raises `ValueError` unless
        `fragments` >= 1.
        """
        if isinstance(fragments, bool) or not isinstance(fragments, int) or fragments < 1:
            raise ValueError(f"fragments must be an integer >= 1, got {fragments!r}")
        self.drop_after_fragments = fragments
        record = frames.treadmill_record(self.belt, self.quirks)
        return len(frames.treadmill_frames(record, self.quirks, self._link.mtu)) > fragments

    def revoke_control(self, now_s: float) -> list[Notification]:
        """The machine takes control back: Fitness Machine Status 0xFF Control Permission Lost."""
        self._advance(now_s)
        self._link.has_control = False
        return self._deliver([frames.machine_status(MS.CONTROL_PERMISSION_LOST, self.quirks)])
