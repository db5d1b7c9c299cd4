"""Sessions a crash interrupted, found from their records. The process-level half (SIGKILL,
restart, ramp-down, resume only on command) is tests/faults/test_process_faults.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from treadctl.daemon.recovery import find_interrupted

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _record(folder: Path, name: str, lines: list[dict[str, object]]) -> Path:
    sessions = folder / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    path = sessions / f"{name}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _header(treadmill: str, started: datetime, workout: str = "first-timer") -> dict[str, object]:
    return {
        "type": "session",
        "version": 1,
        "id": f"{started:%Y%m%dT%H%M%SZ}-{treadmill}",
        "workout": workout,
        "treadmill": treadmill,
        "source": workout,
        "started_at": started.isoformat(timespec="seconds"),
    }


def _step(t_s: float, step: int) -> dict[str, object]:
    return {"type": "event", "t_s": t_s, "event": "step_started", "step": step}


def test_a_record_without_summary_is_an_interrupted_session(tmp_path: Path) -> None:
    """The newest record of the treadmill with no summary names its workout, the step it had
    reached (0-based) and about how long that step had played."""
    started = NOW - timedelta(minutes=10)
    _record(
        tmp_path,
        "a",
        [
            _header("tm1", started),
            _step(0.0, 1),
            _step(190.0, 2),
            {"type": "telemetry", "t_s": 250.5, "speed_kmh": 1.8},
            '{"type": "telem',  # type: ignore[list-item]  # a line cut by the crash
        ],
    )
    found = find_interrupted(tmp_path, "tm1", now=NOW)
    assert found is not None
    assert (found.workout, found.step_index, found.step_elapsed_s) == ("first-timer", 1, 60.5)


def test_a_finished_newest_session_offers_nothing(tmp_path: Path) -> None:
    """When the treadmill's newest session ended with its summary, nothing is resumable, even
    if an older one was cut off."""
    _record(tmp_path, "1-old", [_header("tm1", NOW - timedelta(hours=1)), _step(0.0, 1)])
    _record(
        tmp_path,
        "2-new",
        [_header("tm1", NOW - timedelta(minutes=5)), _step(0.0, 1), {"type": "summary"}],
    )
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None


def test_other_treadmills_manual_sessions_and_old_ones_are_not_offered(tmp_path: Path) -> None:
    """Only this treadmill's sessions count; manual sessions and sessions older than six hours
    are not resumed; a record with no step started yet is not either."""
    _record(tmp_path, "a", [_header("tm2", NOW - timedelta(minutes=1)), _step(0.0, 1)])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None
    _record(tmp_path, "b", [_header("tm1", NOW - timedelta(minutes=1), "manual"), _step(0.0, 1)])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None
    _record(tmp_path, "c", [_header("tm1", NOW - timedelta(hours=7)), _step(0.0, 1)])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None
    _record(tmp_path, "d", [_header("tm1", NOW - timedelta(minutes=1))])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None
