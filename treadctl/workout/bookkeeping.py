"""The runner's bookkeeping: what telemetry adds up to, and its way to the session record.

Owns: `Odometer` (distance and backward time from telemetry, each interval at the speed and
direction of the record that began it, as `sessions.summarise` works them out from a record),
`telemetry_fields` (a Treadmill Data record's line in the session record) and `SessionRecords`
(the runner's writes to its `SessionRecorder`: held in memory until the loop opens the file, so
a start refused before `run()` leaves no record behind; the closing summary). No clock reads:
every time is passed in.
"""

from __future__ import annotations

from typing import Any

from treadctl import ftms
from treadctl.workout.recorder import SessionRecorder


class Odometer:
    """Distance (`distance_m`) and time walked backward (`backward_s`) from telemetry."""

    def __init__(self) -> None:
        self.distance_m = self.backward_s = 0.0
        self._last_speed_kmh = 0.0  # of the last telemetry record (None counts as still)
        self._last_backward = False  # … and whether the belt was walked backward then
        self._last_telemetry_s: float | None = None

    def feed(self, speed_kmh: float | None, backward: bool, now_s: float) -> None:
        """A record at `now_s` with `speed_kmh`, walked backward or not: the interval since the
        previous record counts at that record's speed and direction."""
        last, speed = self._last_telemetry_s, self._last_speed_kmh
        if last is not None and now_s > last:
            self.distance_m += speed / 3.6 * (now_s - last)
            if self._last_backward and speed > 0:
                self.backward_s += now_s - last
        self._last_speed_kmh, self._last_telemetry_s = speed_kmh or 0.0, now_s
        self._last_backward = backward


def telemetry_fields(
    record: ftms.TreadmillData, direction: str, step: int | None
) -> dict[str, Any]:
    """The session record's `telemetry` line for `record`, walked in `direction` in `step`."""
    return {
        "speed_kmh": record.speed_kmh,
        "incline_pct": record.inclination_pct,
        "distance_m": record.total_distance_m,
        "heart_rate_bpm": record.heart_rate_bpm,
        "energy_kcal": record.total_energy_kcal,
        "steps": record.step_count,
        "direction": direction,
        "step": step,
    }


class SessionRecords:
    """Writes to `recorder` (None: nothing is recorded)."""

    def __init__(self, recorder: SessionRecorder | None) -> None:
        self._recorder = recorder
        self._early: list[tuple[str, float, dict[str, Any]]] = []

    @property
    def enabled(self) -> bool:
        """Whether there is a recorder to write to."""
        return self._recorder is not None

    def open(self, t0_s: float) -> None:
        """Open the file (unless open already) and write what came before, in order."""
        if self._recorder is not None and not self._recorder.is_open:
            self._recorder.open(t0_s)
            for kind, at_s, data in self._early:  # what happened before the loop ran
                self._recorder.record(kind, at_s, data)
            self._early.clear()

    def write(self, kind: str, now_s: float, data: dict[str, Any]) -> None:
        """Record `kind` at `now_s`; before `open()`, only in memory."""
        if self._recorder is None:
            return
        if self._recorder.is_open:
            self._recorder.record(kind, now_s, data)
        else:  # no file before `run()`: a start that is refused leaves no record behind
            self._early.append((kind, now_s, data))

    def close(self, now_s: float, summary: dict[str, Any]) -> dict[str, Any]:
        """Close the record with its own `summary` line (not an event); returns the summary
        for listeners, with the record's `session_id` when there is one."""
        data = dict(summary)
        if self._recorder is not None:
            data["session_id"] = self._recorder.id
            self._recorder.close(now_s, summary)
        return data
