"""Sessions a crash interrupted: found at start-up, resumable only by a person's command.

Owns: reading the session records for a treadmill's newest session that never got its summary
(the daemon was killed, or the power went), and where in the workout it was. The daemon then
offers it (`resumable_session` in the state); `cmd/resume` continues it from that step.
Nothing here moves a belt: DESIGN §2 rule 7.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from treadctl.daemon.workouts import MANUAL
from treadctl.errors import SessionRecordError
from treadctl.workout import sessions

MAX_AGE_S = 6 * 3600.0  # an older interrupted session is history, not a workout to resume


@dataclass(frozen=True)
class Interrupted:
    """Where an interrupted session was: its workout, the step (0-based) it had reached and
    about how long that step had played (from its last record; pauses count as played)."""

    session_id: str
    path: Path
    workout: str
    step_index: int
    step_elapsed_s: float


def find_interrupted(
    state_dir: Path, treadmill_id: str, *, now: datetime | None = None
) -> Interrupted | None:
    """The newest session of `treadmill_id` if it ended without a summary, recently enough."""
    now = now or datetime.now(UTC)
    for path in reversed(sessions.session_files(state_dir)):
        try:
            log = sessions.read_session(path)
        except SessionRecordError:
            continue
        if log.header.get("treadmill") != treadmill_id:
            continue
        if log.summary is not None:
            return None  # the newest session of this treadmill ended properly
        return _where(log, now)
    return None


def _where(log: sessions.SessionLog, now: datetime) -> Interrupted | None:
    header = log.header
    workout = str(header.get("source") or header.get("workout") or "")
    if not workout or workout == MANUAL:
        return None
    try:
        started = datetime.fromisoformat(str(header.get("started_at")))
    except ValueError:
        return None
    if (now - started).total_seconds() > MAX_AGE_S:
        return None
    step, step_t, last_t = None, 0.0, 0.0
    for record in log.records:
        t_s = _float(record.get("t_s"))
        last_t = max(last_t, t_s)
        if record.get("type") == "event" and record.get("event") == "step_started":
            step, step_t = record.get("step"), t_s
    if not isinstance(step, int) or step < 1:
        return None
    return Interrupted(
        session_id=str(header.get("id", log.path.stem)),
        path=log.path,
        workout=workout,
        step_index=step - 1,
        step_elapsed_s=max(0.0, last_t - step_t),
    )


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
