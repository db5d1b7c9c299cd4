"""From notification callbacks to link events, for one `TreadmillLink`.

Owns: `Dispatcher` — the inbox bleak's callback enqueues into (`on_notify` only enqueues, each
notification tagged with the connection generation so a dropped connection's late ones are
ignored), the dispatcher task that decodes them through `NotificationDecoder`, feeds belt
motion and the control channel, and puts link events on the `events` queue (telemetry beyond
the unread backlog dropped, other events never), the first-record wait after subscribing, and
the stale-telemetry watchdog. The link owns connecting; this module never touches bleak.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from treadctl import ftms
from treadctl.ble import events as ev
from treadctl.ble.control import ControlChannel
from treadctl.ble.notifications import NotificationDecoder
from treadctl.ble.quirks import QuirkProfile
from treadctl.ble.tracking import BeltMotion


class Dispatcher:
    """Notifications in, link events out on `events`, while `connected()` says the link is up.

    `now()` is the monotonic clock in seconds; `log` is the link's bound structlog logger.
    """

    def __init__(
        self,
        profile: QuirkProfile,
        belt: BeltMotion,
        channel: ControlChannel,
        *,
        connected: Callable[[], bool],
        now: Callable[[], float],
        log: Any,
        telemetry_backlog: int,
    ) -> None:
        self.events: asyncio.Queue[ev.LinkEvent] = asyncio.Queue()
        self._profile = profile
        self._decoder = NotificationDecoder(profile)
        self._belt, self._channel = belt, channel
        self._connected, self._now, self._log = connected, now, log
        self._telemetry_backlog = telemetry_backlog
        self._inbox: asyncio.Queue[tuple[int, str, bytes, float]] = asyncio.Queue()
        self._generation = 0
        self._record_seen = asyncio.Event()  # for the stale watchdog
        self._first_record = asyncio.Event()  # for the silent check after subscribing
        self._last_record_s: float | None = None

    def set_profile(self, profile: QuirkProfile) -> None:
        """Decode with `profile` from now on (a fresh decoder) and watch its stale time."""
        self._profile = profile
        self._decoder = NotificationDecoder(profile)

    def new_connection(self) -> None:
        """A connection is being set up: earlier notifications go, no record seen yet."""
        self._generation += 1
        self._first_record.clear()
        self._last_record_s = None

    def forget(self) -> None:
        """The connection is gone: partial records and queued notifications go."""
        self._decoder.reset()
        self._generation += 1

    def emit(self, event: ev.LinkEvent) -> None:
        """Queue `event`; nobody reading: drop telemetry beyond the backlog, nothing else."""
        if (
            isinstance(event, ev.TelemetryReceived)
            and self.events.qsize() >= self._telemetry_backlog
        ):
            self._log.debug("telemetry_dropped_backlog", backlog=self.events.qsize())
            return
        self.events.put_nowait(event)

    def on_notify(self, uuid: str, data: bytes) -> None:
        """bleak's notification callback: only enqueues."""
        self._inbox.put_nowait((self._generation, uuid, data, self._now()))

    async def wait_for_first_record(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for this connection's first Treadmill Data; False if none."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._first_record.wait()
        except TimeoutError:
            return False
        return True

    async def dispatch(self) -> None:
        """The dispatcher task: handle each notification of the current connection."""
        while True:
            generation, uuid, data, received_s = await self._inbox.get()
            if generation == self._generation:
                self._handle(uuid, data, received_s)

    def _handle(self, uuid: str, data: bytes, received_s: float) -> None:
        event: ev.LinkEvent | None = None
        if uuid == ftms.TREADMILL_DATA_UUID:
            event = self._decoder.treadmill_data(data, received_s)
            if event is not None:
                self._belt.feed(event.record.speed_kmh, received_s)
                self._channel.on_speed(event.record.speed_kmh)
                self._last_record_s = received_s
                self._record_seen.set()
                self._first_record.set()
        elif uuid == ftms.MACHINE_STATUS_UUID:
            event = self._decoder.machine_status(data, received_s, self._channel.echo)
            if event is not None:
                self._channel.on_machine_status(event.status, echo=event.echo)
        elif uuid == ftms.TRAINING_STATUS_UUID:
            event = self._decoder.training_status(data, received_s)
        elif uuid == ftms.CONTROL_POINT_UUID:
            self._channel.on_response(data)
        if event is not None and self._connected():
            self.emit(event)

    async def watch_stale(self) -> None:
        """Report each silence longer than `stale_after_s` once. It sleeps until the deadline
        the last record set, so a record costs it nothing (no wake-up per notification)."""
        reported_for: float | None = None  # the last record before the silence reported
        while True:
            stale_s, last = self._profile.stale_after_s, self._last_record_s
            if stale_s <= 0 or last is None or last == reported_for:
                self._record_seen.clear()
                await self._record_seen.wait()
                continue
            wait_s = last + stale_s - self._now()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            elif not self._connected():
                await asyncio.sleep(stale_s)  # reconnecting: look again later
            else:
                now = self._now()
                self.emit(ev.TelemetryStale(last, now - last, now))
                self._log.warning("telemetry_stale", silent_for_s=round(now - last, 1))
                reported_for = last
