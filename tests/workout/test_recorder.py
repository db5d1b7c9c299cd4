"""The session recorder's durability: lines flushed at once, fsync off the event loop."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from treadctl.workout import recorder as recorder_module
from treadctl.workout.recorder import SessionRecorder


def test_each_line_is_on_disk_before_the_next_call(tmp_path: Path) -> None:
    """A record is flushed as it is written: another reader sees it at once (a crash of the
    process loses nothing written)."""
    with SessionRecorder(tmp_path, workout="first-timer", treadmill_id="tm1") as rec:
        rec.record("event", 1.5, {"event": "step_started", "step": 1})
        lines = rec.path.read_text(encoding="utf-8").splitlines()
        assert json.loads(lines[-1]) == {
            "type": "event",
            "t_s": 1.5,
            "event": "step_started",
            "step": 1,
        }


def test_fsync_runs_on_its_own_thread_not_the_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing never waits on the disk: the fsync of new records happens on the recorder's
    sync thread, and closing syncs what is left on the caller's."""
    calls: list[str] = []
    synced = threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(threading.current_thread().name)
        synced.set()
        real_fsync(fd)

    monkeypatch.setattr(recorder_module, "SYNC_EVERY_S", 0.01)
    monkeypatch.setattr(recorder_module.os, "fsync", fsync)
    rec = SessionRecorder(tmp_path, workout=None, treadmill_id="tm1")
    rec.open(0.0)
    rec.record("telemetry", 0.25, {"speed_kmh": 2.0})
    assert synced.wait(timeout=10), "the sync thread never synced"
    assert calls[0] == "session-record-sync"
    rec.close(1.0, {"state": "finished"})
    assert calls[-1] == threading.current_thread().name
    assert not any(t.name == "session-record-sync" for t in threading.enumerate())
