"""Session records: every run written to `<state dir>/sessions/<id>.jsonl` as it goes.

Owns: `SessionRecorder`. One JSON object per line: a `session` header, then `setpoint`,
`telemetry` and `event` records in time order (`t_s` is seconds since the session began), and
a final `summary`. Each line is written and flushed at once (a crash of the process loses
nothing), and a thread of its own fsyncs the file about once a second while records arrive (a
power cut loses at most about a second) — so the event loop never waits on the disk. The reader
(`sessions`) tolerates a half-written last line.
"""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import structlog

from treadctl.errors import SessionRecordError

log = structlog.get_logger("treadctl.workout")
FORMAT_VERSION = 1
SYNC_EVERY_S = 1.0


class _Syncer:
    """fsyncs one file about every `SYNC_EVERY_S` seconds, from its own thread, when written."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd, self._path = fd, path
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-record-sync", daemon=True)
        self._thread.start()

    def touch(self) -> None:
        """Something was written and flushed: sync it soon."""
        self._dirty.set()

    def stop(self) -> None:
        """End the thread (the caller syncs and closes the file afterwards)."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SYNC_EVERY_S):
            if self._dirty.is_set():
                self._dirty.clear()
                try:
                    os.fsync(self._fd)
                except OSError as exc:  # a full disk must not take the workout down
                    log.warning("session_record_sync_failed", path=str(self._path), error=str(exc))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "session"


class SessionRecorder:
    """Writes one session's record. Use `open()`/`close()` or `with`."""

    def __init__(
        self,
        state_dir: str | Path,
        *,
        workout: str | None,
        treadmill_id: str = "",
        started_at: datetime | None = None,
        source: str = "",
    ) -> None:
        self.started_at = started_at or datetime.now(UTC)
        self.workout = workout
        self.treadmill_id = treadmill_id
        self.source = source
        self.folder = Path(state_dir) / "sessions"
        stamp = self.started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        parts = [stamp, _slug(treadmill_id) if treadmill_id else "", _slug(workout or "manual")]
        self.id = "-".join(p for p in parts if p)
        self.path = self.folder / f"{self.id}.jsonl"
        self._file: IO[str] | None = None
        self._syncer: _Syncer | None = None
        self._t0_s: float | None = None

    def __enter__(self) -> SessionRecorder:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """Whether the file is open for writing."""
        return self._file is not None

    def open(self, now_s: float = 0.0) -> None:
        """Create the file (a fresh id if the name is taken) and write the header.

        `now_s` is the runner's clock at the start; later times are given on the same clock.
        Raises `SessionRecordError` when the folder cannot be written.
        """
        self._t0_s = now_s
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for n in range(2, 1000):
                if not self.path.exists():
                    break
                self.path = self.folder / f"{self.id}-{n}.jsonl"
            self.id = self.path.stem
            self._file = self.path.open("x", encoding="utf-8")
            self._syncer = _Syncer(self._file.fileno(), self.path)
        except OSError as exc:
            raise SessionRecordError(
                f"cannot write session records: {exc}", where=str(self.folder)
            ) from exc
        self._write(
            {
                "type": "session",
                "version": FORMAT_VERSION,
                "id": self.id,
                "workout": self.workout,
                "treadmill": self.treadmill_id,
                "source": self.source,
                "started_at": self.started_at.astimezone(UTC).isoformat(timespec="seconds"),
            }
        )

    def record(self, kind: str, now_s: float, data: dict[str, Any]) -> None:
        """Write one `kind` record ("setpoint", "telemetry", "event") at clock time `now_s`."""
        if self._file is None:
            return
        self._write({"type": kind, "t_s": self.t_s(now_s), **data})

    def t_s(self, now_s: float) -> float:
        """Session time of clock time `now_s`."""
        return round(now_s - (self._t0_s or 0.0), 3)

    def close(self, now_s: float | None = None, summary: dict[str, Any] | None = None) -> None:
        """Write the summary (if given), sync and close. Safe to call twice."""
        if self._file is None:
            return
        if summary is not None:
            end = now_s if now_s is not None else self._t0_s or 0.0
            self._write({"type": "summary", "t_s": self.t_s(end), **summary})
        file, self._file = self._file, None
        if self._syncer is not None:
            self._syncer.stop()
            self._syncer = None
        try:
            file.flush()
            os.fsync(file.fileno())
        except OSError as exc:  # a full disk must not take the workout down
            log.warning("session_record_sync_failed", path=str(self.path), error=str(exc))
        finally:
            file.close()

    def _write(self, record: dict[str, Any]) -> None:
        file = self._file
        if file is None:
            return
        try:
            file.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
            file.flush()
            if self._syncer is not None:
                self._syncer.touch()
        except OSError as exc:
            log.warning("session_record_write_failed", path=str(self.path), error=str(exc))
