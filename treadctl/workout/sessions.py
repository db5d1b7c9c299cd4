"""Reading session records back: list them, load one, export it as CSV.

Owns: `read_session` (a half-written last line from a crash is skipped with a note, as is any
other line that is not a record), `SessionInfo` and `list_sessions` (totals come from the
summary, or from the records themselves when the session was cut off), `find_session` and
`write_csv`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from treadctl.errors import SessionRecordError
from treadctl.workout.durations import format_duration

CSV_COLUMNS = (
    "t_s",
    "type",
    "step",
    "direction",
    "speed_kmh",
    "incline_pct",
    "distance_m",
    "heart_rate_bpm",
    "energy_kcal",
    "steps",
    "command",
    "event",
    "detail",
)


@dataclass
class SessionLog:
    """One session file: its header, records (telemetry, setpoints, events), the summary if it
    was written, and notes about lines that could not be read."""

    path: Path
    header: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SessionInfo:
    """One line of `treadctl sessions list`."""

    id: str
    started: str
    workout: str
    duration_s: float
    backward_s: float
    distance_m: float
    status: str


def read_session(path: Path) -> SessionLog:
    """Load `path`. Raises `SessionRecordError` when it cannot be read or has no header."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise SessionRecordError(f"cannot read it: {exc}", where=str(path)) from exc
    parsed: list[dict[str, Any]] = []
    notes: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            last = number == len(lines)
            notes.append(
                f"line {number}: {'cut off (the session ended abruptly)' if last else 'unreadable'}"
                "; skipped"
            )
            continue
        if isinstance(record, dict):
            parsed.append(record)
        else:
            notes.append(f"line {number}: not a record; skipped")
    if not parsed or parsed[0].get("type") != "session":
        raise SessionRecordError("not a session record (no header line)", where=str(path))
    log = SessionLog(path, parsed[0], notes=notes)
    for record in parsed[1:]:
        if record.get("type") == "summary":
            log.summary = record
        else:
            log.records.append(record)
    return log


def summarise(log: SessionLog) -> SessionInfo:
    """The list line of a session (from its summary, else worked out from its records)."""
    header, summary = log.header, log.summary
    duration_s = backward_s = distance_m = 0.0
    last_t, last_speed, last_direction = 0.0, 0.0, "forward"
    for record in log.records:
        t_s = float(record.get("t_s", last_t))
        duration_s = max(duration_s, t_s)
        if record.get("type") != "telemetry":
            continue
        travelled = last_speed / 3.6 * (t_s - last_t)
        distance_m += travelled
        if last_direction == "backward" and last_speed > 0:
            backward_s += t_s - last_t
        last_t, last_speed = t_s, float(record.get("speed_kmh") or 0.0)
        last_direction = str(record.get("direction") or last_direction)
    if summary is not None:
        duration_s = float(summary.get("duration_s", duration_s))
        backward_s = float(summary.get("backward_s", backward_s))
        distance_m = float(summary.get("distance_m", distance_m))
        status = str(summary.get("state", "ended"))
    else:
        status = "cut off"
    started = str(header.get("started_at", ""))[:19].replace("T", " ")
    return SessionInfo(
        id=str(header.get("id", log.path.stem)),
        started=started,
        workout=str(header.get("workout") or "manual"),
        duration_s=duration_s,
        backward_s=backward_s,
        distance_m=distance_m,
        status=status,
    )


def session_files(state_dir: Path) -> list[Path]:
    """The session files under `state_dir`, oldest first."""
    folder = state_dir / "sessions"
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def list_sessions(state_dir: Path) -> tuple[list[SessionInfo], list[str]]:
    """Every readable session, oldest first, and a note for each file that could not be read."""
    infos, problems = [], []
    for path in session_files(state_dir):
        try:
            infos.append(summarise(read_session(path)))
        except SessionRecordError as exc:
            problems.append(str(exc))
    return infos, problems


def find_session(state_dir: Path, session_id: str) -> Path:
    """The file of `session_id` (or of the only id starting with it). Raises
    `SessionRecordError` when there is none or several."""
    files = session_files(state_dir)
    exact = [p for p in files if p.stem == session_id]
    matches = exact or [p for p in files if p.stem.startswith(session_id)]
    if len(matches) == 1:
        return matches[0]
    where = str(state_dir / "sessions")
    if not matches:
        raise SessionRecordError(
            f"no session {session_id!r} (see treadctl sessions list)", where=where
        )
    names = ", ".join(p.stem for p in matches[:5])
    raise SessionRecordError(f"{session_id!r} matches several sessions: {names}", where=where)


def write_csv(log: SessionLog, out: IO[str]) -> None:
    """One CSV row per record, in time order, with the columns of `CSV_COLUMNS`."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in log.records:
        row = {key: record.get(key, "") for key in CSV_COLUMNS}
        extra = {k: v for k, v in record.items() if k not in CSV_COLUMNS}
        row["detail"] = json.dumps(extra, separators=(",", ":")) if extra else ""
        writer.writerow(row)


def table(infos: Iterable[SessionInfo]) -> list[str]:
    """`treadctl sessions list` lines."""
    rows = list(infos)
    if not rows:
        return ["no sessions recorded"]
    lines = [
        f"{'id':<44} {'started (UTC)':<19} {'time':>7} {'back':>7} {'km':>6}  {'status':<9} workout"
    ]
    for r in rows:
        lines.append(
            f"{r.id:<44} {r.started:<19} {format_duration(r.duration_s):>7} "
            f"{format_duration(r.backward_s):>7} {r.distance_m / 1000:>6.2f}  "
            f"{r.status:<9} {r.workout}"
        )
    return lines
