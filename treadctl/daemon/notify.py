"""The systemd notify protocol: one datagram per message to `$NOTIFY_SOCKET`.

Owns: `ready()`, `status(text)`, `watchdog()`, `stopping()`, `extend_timeout(seconds)` and
`watchdog_interval_s()`. Every call is a no-op returning False when the process was not started
by systemd with `Type=notify` (no `$NOTIFY_SOCKET`), so the daemon calls them unconditionally.
The protocol (sd_notify(3)): newline-separated `KEY=VALUE` assignments in one datagram on an
`AF_UNIX` socket; a socket name starting with `@` is in the abstract namespace (leading NUL).
Standard library only; the `sdnotify` package has been unmaintained since 2017 (DESIGN §8).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger(__name__)


def _address(environ: Mapping[str, str]) -> str | None:
    """The socket address from `$NOTIFY_SOCKET`, or None (unset, empty or not a path)."""
    path = environ.get("NOTIFY_SOCKET", "")
    if path.startswith("@"):
        return "\0" + path[1:]
    if path.startswith("/"):
        return path
    return None  # unset, or a kind of socket we do not speak (e.g. vsock:)


def notify(message: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send `message` (e.g. "READY=1\\nSTATUS=…") to systemd; True when it was sent.

    Never raises: a failed send is logged once per call and reported as False (systemd then
    sees no READY or no watchdog ping and acts on that, which is the safe outcome).
    """
    address = _address(os.environ if environ is None else environ)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode("utf-8"), address)
    except OSError as exc:
        log.warning("sd_notify_failed", error=str(exc), message=message.split("\n", 1)[0])
        return False
    return True


def _one_line(text: str) -> str:
    """STATUS= is one line: later lines would be read as further assignments."""
    return " ".join(text.split())


def ready(status_text: str | None = None, *, environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd start-up is done (`READY=1`), optionally with a status line."""
    message = "READY=1" + (f"\nSTATUS={_one_line(status_text)}" if status_text else "")
    return notify(message, environ=environ)


def status(text: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Set the one-line status shown by `systemctl status treadctl` (`STATUS=…`)."""
    return notify(f"STATUS={_one_line(text)}", environ=environ)


def watchdog(*, environ: Mapping[str, str] | None = None) -> bool:
    """Ping the watchdog (`WATCHDOG=1`); send it every `watchdog_interval_s() / 2` seconds."""
    return notify("WATCHDOG=1", environ=environ)


def stopping(status_text: str | None = None, *, environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd the daemon is shutting down (`STOPPING=1`)."""
    message = "STOPPING=1" + (f"\nSTATUS={_one_line(status_text)}" if status_text else "")
    return notify(message, environ=environ)


def extend_timeout(seconds: float, *, environ: Mapping[str, str] | None = None) -> bool:
    """Ask for `seconds` more before the start or stop timeout (`EXTEND_TIMEOUT_USEC=`)."""
    usec = round(seconds * 1_000_000)
    if usec <= 0:
        raise ValueError(f"extend_timeout needs a positive number of seconds, not {seconds}")
    return notify(f"EXTEND_TIMEOUT_USEC={usec}", environ=environ)


def watchdog_interval_s(*, environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog timeout systemd expects pings within, in seconds; None when off.

    From `$WATCHDOG_USEC`, which applies to this process only when `$WATCHDOG_PID` is unset
    or is our own pid (sd_watchdog_enabled(3)). A malformed value counts as off.
    """
    env = os.environ if environ is None else environ
    usec_text = env.get("WATCHDOG_USEC", "")
    pid_text = env.get("WATCHDOG_PID", "")
    if not usec_text.isdigit() or int(usec_text) == 0:
        return None
    if pid_text and (not pid_text.isdigit() or int(pid_text) != os.getpid()):
        return None
    return int(usec_text) / 1_000_000
