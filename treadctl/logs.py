"""Logging for the whole process: structlog in front, the standard library's handlers behind.

Owns: `configure_logging()` — one formatter for our structlog events and for the standard-library
records of bleak, aiomqtt, paho, bumble and friends; JSON lines with a syslog priority prefix
when stderr is journald's stream (`JOURNAL_STREAM`), colours on a terminal, plain text
otherwise — and the context helpers that bind the treadmill id, workout and step once per task
(contextvars, so each asyncio task keeps its own; a `live()` value is read when each event is
logged, for what changes under a task, such as the step). Imports structlog and the standard
library.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

Format = Literal["auto", "json", "console"]
Renderer = Literal["journal", "json", "console", "plain"]

LEVELS = ("debug", "info", "warning", "error", "critical")
# Libraries whose standard-library logs go through our formatter (they propagate to root).
LIBRARY_LOGGERS = (
    "bleak",
    "bleak_retry_connector",
    "dbus_fast",
    "aiomqtt",
    "paho",
    "bumble",
    "amqtt",
    "asyncio",
)
# sd-daemon(3) priority prefixes: journald reads "<N>" at the start of a line as its priority.
_JOURNAL_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}
_HANDLER_MARK = "_treadctl_handler"


def journal_stream_matches(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True when `stream` is the journald stream systemd announced in `$JOURNAL_STREAM`.

    systemd sets `JOURNAL_STREAM=<device>:<inode>` for a service whose stdout/stderr go to the
    journal; comparing it with the stream's own `fstat` tells a redirected stream apart
    (systemd.exec(5), "JOURNAL_STREAM").
    """
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind the stream
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


def choose_renderer(
    format: Format, stream: TextIO, environ: Mapping[str, str] | None = None
) -> Renderer:
    """Which renderer `format` means for `stream`: JSON for journald, colours on a TTY."""
    journal = journal_stream_matches(stream, environ)
    if format == "json":
        return "journal" if journal else "json"
    if format == "console":
        return "console" if _isatty(stream) and not journal else "plain"
    if journal:
        return "journal"
    return "console" if _isatty(stream) else "plain"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _JournalRenderer:
    """JSON lines prefixed with the syslog priority journald understands (`<6>{...}`)."""

    def __init__(self) -> None:
        self._json = structlog.processors.JSONRenderer(sort_keys=False)

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        priority = _JOURNAL_PRIORITY.get(str(event_dict.get("level", "info")), 6)
        rendered = self._json(logger, name, event_dict)
        text = rendered.decode() if isinstance(rendered, bytes) else rendered
        return f"<{priority}>{text}"


_FIRST_KEYS = ("timestamp", "level", "logger", "event", "treadmill", "workout", "step")


def _key_order(logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
    """JSON lines read best with time, level, event and context first."""
    first = {k: event_dict.pop(k) for k in _FIRST_KEYS if k in event_dict}
    return {**first, **event_dict}


def _renderer_processors(renderer: Renderer) -> list[Processor]:
    if renderer == "journal":
        return [structlog.processors.dict_tracebacks, _key_order, _JournalRenderer()]
    if renderer == "json":
        return [
            structlog.processors.dict_tracebacks,
            _key_order,
            structlog.processors.JSONRenderer(sort_keys=False),
        ]
    return [
        structlog.dev.ConsoleRenderer(
            colors=renderer == "console",
            exception_formatter=structlog.dev.plain_traceback,
            sort_keys=False,
        )
    ]


def _shared_processors(renderer: Renderer) -> list[Processor]:
    """Run on every event, ours and the standard library's, before rendering."""
    machine = renderer in ("journal", "json")
    return [
        structlog.contextvars.merge_contextvars,
        read_live_values,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso" if machine else "%H:%M:%S", utc=machine),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(
    level: str = "info",
    format: Format = "auto",
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Renderer:
    """Send every log of the process through one structlog formatter on `stream` (stderr).

    `level` is one of `LEVELS` (case-insensitive); `format` is "auto", "json" or "console".
    Calling it again replaces the previous setup. Returns the renderer chosen. Raises
    `ValueError` for an unknown level or format.
    """
    level_name = level.lower()
    if level_name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    if format not in ("auto", "json", "console"):
        raise ValueError(f"unknown log format {format!r}; use auto, json or console")
    out = sys.stderr if stream is None else stream
    renderer = choose_renderer(format, out, environ)
    shared = _shared_processors(renderer)

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer_processors(renderer),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_name.upper())
    for name in LIBRARY_LOGGERS:  # make sure no library keeps a handler of its own
        library = logging.getLogger(name)
        library.propagate = True
        library.setLevel(logging.NOTSET)
    logging.captureWarnings(True)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so tests can capture logs (structlog.testing.capture_logs) after setup.
        cache_logger_on_first_use=False,
    )
    return renderer


# --- context: bound once, carried by every event of the task -------------------------------


class LiveValue:
    """A context value read when an event is logged (see `live`)."""

    def __init__(self, read: Callable[[], object]) -> None:
        self.read = read

    def current(self) -> object:
        """What `read()` gives now; None when it fails (a log line must never fail)."""
        try:
            return self.read()
        except Exception:
            return None

    def __repr__(self) -> str:  # where `read_live_values` is not configured (a library's logs)
        return repr(self.current())


def live(read: Callable[[], object]) -> LiveValue:
    """A value to bind whose current state each event carries: `read()` is called when the
    event is logged (None, or an exception, leaves the key out). For what changes while a task
    runs, or is changed by another task, such as a workout's step."""
    return LiveValue(read)


def read_live_values(logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
    """The processor that replaces each `live()` value with what it reads now."""
    for key, value in list(event_dict.items()):
        if isinstance(value, LiveValue):
            current = value.current()
            if current is None:
                del event_dict[key]
            else:
                event_dict[key] = current
    return event_dict


def bind_treadmill(treadmill_id: str) -> None:
    """Every later event of this task (and tasks it creates) carries `treadmill=<id>`."""
    structlog.contextvars.bind_contextvars(treadmill=treadmill_id)


@contextmanager
def log_context(**values: object) -> Iterator[None]:
    """Bind `values` inside a `with` block only (restoring what was bound before)."""
    with structlog.contextvars.bound_contextvars(**values):
        yield


def bound_context() -> MutableMapping[str, Any]:
    """What is bound in this context now (a copy)."""
    return dict(structlog.contextvars.get_contextvars())


def clear_context() -> None:
    """Forget every binding of this context."""
    structlog.contextvars.clear_contextvars()
