"""sd_notify: real datagrams on a real AF_UNIX socket, path and abstract names."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from treadctl.daemon import notify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    """A datagram socket standing in for systemd, and the environment pointing at it."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, {"NOTIFY_SOCKET": str(path)}
    sock.close()


def test_ready_with_status(listener: tuple[socket.socket, dict[str, str]]) -> None:
    """ready() sends READY=1 and the status line in one datagram."""
    sock, env = listener
    assert notify.ready("connecting to 2 treadmills", environ=env)
    assert sock.recv(4096) == b"READY=1\nSTATUS=connecting to 2 treadmills"


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (lambda env: notify.watchdog(environ=env), b"WATCHDOG=1"),
        (lambda env: notify.stopping(environ=env), b"STOPPING=1"),
        (
            lambda env: notify.stopping("ramping down tm1", environ=env),
            b"STOPPING=1\nSTATUS=ramping down tm1",
        ),
        (lambda env: notify.ready(environ=env), b"READY=1"),
        (
            lambda env: notify.status("tm1: backward 2.5 km/h\nstep 3", environ=env),
            b"STATUS=tm1: backward 2.5 km/h step 3",
        ),
        (lambda env: notify.extend_timeout(2.5, environ=env), b"EXTEND_TIMEOUT_USEC=2500000"),
    ],
    ids=["watchdog", "stopping", "stopping-status", "ready", "status-one-line", "extend"],
)
def test_each_message_on_the_wire(
    listener: tuple[socket.socket, dict[str, str]],
    send: Callable[[dict[str, str]], bool],
    expected: bytes,
) -> None:
    """Each helper sends exactly the sd_notify(3) assignment it names."""
    sock, env = listener
    assert send(env) is True
    assert sock.recv(4096) == expected


def test_abstract_socket_name() -> None:
    """NOTIFY_SOCKET=@name means the abstract namespace (a leading NUL byte)."""
    name = f"treadctl-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify.watchdog(environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"


@pytest.mark.parametrize("value", [None, "", "vsock:2:1234", "relative/path"])
def test_no_socket_is_a_silent_no_op(value: str | None) -> None:
    """Without a usable NOTIFY_SOCKET every call returns False and logs nothing."""
    env = {} if value is None else {"NOTIFY_SOCKET": value}
    with capture_logs() as captured:
        assert notify.ready(environ=env) is False
        assert notify.watchdog(environ=env) is False
    assert captured == []


def test_send_failure_is_logged_not_raised(tmp_path: Path) -> None:
    """A socket path nobody listens on gives False and an sd_notify_failed warning."""
    env = {"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}
    with capture_logs() as captured:
        assert notify.watchdog(environ=env) is False
    assert [(e["event"], e["log_level"], e["message"]) for e in captured] == [
        ("sd_notify_failed", "warning", "WATCHDOG=1")
    ]


def test_extend_timeout_refuses_non_positive() -> None:
    """extend_timeout(0) is a programming error, refused before anything is sent."""
    with pytest.raises(ValueError, match="positive"):
        notify.extend_timeout(0, environ={})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "500000"}, 0.5),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "abc"}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, None),
        ({}, None),
    ],
    ids=["usec", "own-pid", "other-pid", "half-second", "zero", "junk", "junk-pid", "unset"],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    """The watchdog timeout comes from WATCHDOG_USEC, for our pid only."""
    assert notify.watchdog_interval_s(environ=env) == expected
