"""One log formatter: journald JSON, terminal colours, plain text; library logs; context."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest
import structlog
from structlog.testing import capture_logs

from treadctl import logs


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the standard library's and structlog's setup back after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    saved = structlog.get_config()
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.configure(**saved)
    structlog.contextvars.clear_contextvars()


def journal_env(stream: TextIO) -> dict[str, str]:
    """JOURNAL_STREAM as systemd would set it for `stream` (device:inode)."""
    status = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_json_with_priority_under_journald(tmp_path: Path) -> None:
    """With JOURNAL_STREAM naming our stream, each event is `<priority>` + one JSON object."""
    path = tmp_path / "journal"
    with path.open("w", encoding="utf-8") as stream:
        assert logs.configure_logging("info", "auto", stream=stream, environ=journal_env(stream))
        logs.bind_treadmill("tm1")
        log = structlog.get_logger("treadctl.test")
        log.info("speed_command_sent", speed_kmh=2.5)
        log.warning("link_lost", address="AA:BB:CC:DD:EE:01")
    first, second = lines_of(path)
    assert first.startswith("<6>{")
    assert second.startswith("<4>{")
    event = json.loads(first.removeprefix("<6>"))
    assert list(event)[:5] == ["timestamp", "level", "logger", "event", "treadmill"]
    assert event["event"] == "speed_command_sent"
    assert event["speed_kmh"] == 2.5
    assert event["treadmill"] == "tm1"
    assert event["level"] == "info"
    assert event["logger"] == "treadctl.test"
    assert event["timestamp"].endswith("Z")


def test_journal_stream_of_another_file_is_not_journald(tmp_path: Path) -> None:
    """A JOURNAL_STREAM inherited by a redirected process is ignored (plain text follows)."""
    with (tmp_path / "other").open("w") as other, (tmp_path / "log").open("w") as stream:
        assert logs.choose_renderer("auto", stream, journal_env(other)) == "plain"
        assert logs.choose_renderer("auto", stream, {"JOURNAL_STREAM": "junk"}) == "plain"
        assert logs.choose_renderer("json", stream, {}) == "json"
        assert logs.choose_renderer("console", stream, journal_env(stream)) == "plain"


def test_plain_text_when_not_a_terminal(tmp_path: Path) -> None:
    """Not a TTY and not journald: readable text without colour codes."""
    stream = io.StringIO()
    assert logs.configure_logging("info", "auto", stream=stream, environ={}) == "plain"
    structlog.get_logger("treadctl.test").info("step_started", step=2)
    out = stream.getvalue()
    assert "step_started" in out
    assert "step=2" in out
    assert "\x1b[" not in out


def test_colours_on_a_terminal() -> None:
    """On a real pseudo-terminal the console renderer colours its output."""
    main_fd, sub_fd = os.openpty()
    try:
        with os.fdopen(sub_fd, "w", closefd=True) as terminal:
            assert logs.configure_logging("info", "auto", stream=terminal, environ={}) == "console"
            structlog.get_logger("treadctl.test").info("turn_around", next_direction="backward")
            terminal.flush()
            out = os.read(main_fd, 65536).decode()
    finally:
        os.close(main_fd)
    assert "turn_around" in out
    assert "\x1b[" in out


@pytest.mark.parametrize("library", ["bleak", "aiomqtt", "paho.client", "bumble.device"])
def test_library_logs_go_through_the_same_formatter(library: str) -> None:
    """Standard-library records of bleak, aiomqtt, paho and bumble come out as our JSON."""
    stream = io.StringIO()
    logs.configure_logging("info", "json", stream=stream, environ={})
    logs.bind_treadmill("tm2")
    logging.getLogger(library).warning("adapter %s is %s", "hci0", "down")
    event = json.loads(stream.getvalue())
    assert event["event"] == "adapter hci0 is down"
    assert event["logger"] == library
    assert event["level"] == "warning"
    assert event["treadmill"] == "tm2"


def test_level_filters_ours_and_libraries() -> None:
    """At "warning", info and debug events of ours and of libraries are dropped."""
    stream = io.StringIO()
    logs.configure_logging("WARNING", "json", stream=stream, environ={})
    structlog.get_logger("treadctl.test").info("quiet")
    logging.getLogger("bleak").debug("quiet too")
    structlog.get_logger("treadctl.test").error("loud")
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["loud"]


def test_exceptions_render_as_structured_json() -> None:
    """log.exception in JSON mode carries the exception type and message, no raw traceback."""
    stream = io.StringIO()
    logs.configure_logging("info", "json", stream=stream, environ={})
    try:
        int("bad frame")
    except ValueError:
        structlog.get_logger("treadctl.test").exception("decode_failed")
    event = json.loads(stream.getvalue())
    assert event["exception"][0]["exc_type"] == "ValueError"
    assert "bad frame" in event["exception"][0]["exc_value"]


def test_reconfiguring_replaces_the_handler() -> None:
    """Configuring twice leaves one handler, so no event is written twice."""
    first, second = io.StringIO(), io.StringIO()
    logs.configure_logging("info", "json", stream=first, environ={})
    logs.configure_logging("info", "json", stream=second, environ={})
    structlog.get_logger("treadctl.test").info("once")
    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1


@pytest.mark.parametrize(("level", "fmt"), [("loud", "auto"), ("info", "xml")])
def test_unknown_level_or_format_is_refused(level: str, fmt: Any) -> None:
    """A level or format outside the known ones is a ValueError naming it."""
    with pytest.raises(ValueError, match="unknown log"):
        logs.configure_logging(level, fmt, stream=io.StringIO(), environ={})


def test_context_is_bound_once_and_carried() -> None:
    """The treadmill bound once, and a block's workout with a `live()` step, are carried by
    every later event; the block's values go when it ends."""
    step = {"now": 0}
    processors = [structlog.contextvars.merge_contextvars, logs.read_live_values]
    with capture_logs(processors=processors) as captured:
        logs.bind_treadmill("tm1")
        with logs.log_context(workout="first-timer", step=logs.live(lambda: step["now"])):
            structlog.get_logger().info("step_started")
            step["now"] = 1
            structlog.get_logger().info("step_started")
        structlog.get_logger().info("workout_finished")
    assert [(e.get("workout"), e.get("step")) for e in captured] == [
        ("first-timer", 0),
        ("first-timer", 1),
        (None, None),
    ]
    assert all(e["treadmill"] == "tm1" for e in captured)


def test_log_context_restores_on_exit() -> None:
    """log_context binds for the block only."""
    logs.bind_treadmill("tm1")
    with logs.log_context(workout="w", step=3):
        assert logs.bound_context() == {"treadmill": "tm1", "workout": "w", "step": 3}
    assert logs.bound_context() == {"treadmill": "tm1"}
    logs.clear_context()
    assert logs.bound_context() == {}


async def test_each_task_keeps_its_own_treadmill() -> None:
    """Two asyncio tasks bind different treadmill ids; their events do not mix."""

    async def drive(treadmill_id: str, gate: asyncio.Event) -> None:
        logs.bind_treadmill(treadmill_id)
        await gate.wait()
        structlog.get_logger().info("telemetry_published")

    gate = asyncio.Event()
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        async with asyncio.TaskGroup() as group:
            group.create_task(drive("tm1", gate))
            group.create_task(drive("tm2", gate))
            await asyncio.sleep(0)
            gate.set()
    assert sorted(e["treadmill"] for e in captured) == ["tm1", "tm2"]
    assert logs.bound_context() == {}


def test_live_values_are_read_when_each_event_is_logged() -> None:
    """A `live()` context value is read per event: a change made elsewhere shows on the next
    line, and None (or a failing reader) leaves the key out instead of breaking the line."""
    stream = io.StringIO()
    logs.configure_logging("info", "json", stream=stream, environ={})
    current: dict[str, Any] = {"step": 1}

    def broken() -> object:
        raise RuntimeError("no session")

    with logs.log_context(
        treadmill="tm1", step=logs.live(lambda: current["step"]), workout=logs.live(broken)
    ):
        log = structlog.get_logger("treadctl.test")
        log.info("first")
        current["step"] = 2
        log.info("second")
        current["step"] = None
        log.info("third")
        logging.getLogger("bleak").warning("library line")
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e.get("step")) for e in events] == [
        ("first", 1),
        ("second", 2),
        ("third", None),
        ("library line", None),
    ]
    assert all(e["treadmill"] == "tm1" and "workout" not in e for e in events)
    assert "step" not in events[2]


def test_a_live_value_shows_its_current_value_where_the_processor_is_not_configured() -> None:
    """Where treadctl's logging is not configured (structlog's defaults, a test), a `live()`
    value still prints what it reads now, and a failing reader prints None."""
    current = {"step": 3}
    step = logs.live(lambda: current["step"])
    assert repr(step) == "3"
    current["step"] = 4
    assert f"step={step!r}" == "step=4"

    def broken() -> object:
        raise RuntimeError("no session")

    assert repr(logs.live(broken)) == "None"
