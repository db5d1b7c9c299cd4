"""One treadmill's Bluetooth link: connect, watch, command, reconnect.

Owns: `TreadmillLink` (async context manager; the daemon runs one per treadmill). It finds the
treadmill by address and/or name glob, connects through `bleak_retry_connector`, confirms FTMS,
reads Device Information, Feature and ranges, picks the quirk profile, subscribes, and waits for
the first Treadmill Data ("connected but silent" otherwise, Q15); a supervisor reconnects after
a loss with capped, jittered backoff and never sends a command on its own (DESIGN §2 rule 7).
`send()` runs governor commands via `ControlChannel`. Notifications become link events on
`events` in `dispatch.Dispatcher` (callbacks only enqueue; it also runs the stale watchdog).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from treadctl.ble import events as ev
from treadctl.ble.backoff import Backoff
from treadctl.ble.connect import Connection, Target, open_connection
from treadctl.ble.control import ControlChannel
from treadctl.ble.dispatch import Dispatcher
from treadctl.ble.quirks import ProfileSet, QuirkProfile, load_profiles
from treadctl.ble.tracking import BeltMotion
from treadctl.errors import BluetoothError, LinkLostError, UnsupportedDeviceError
from treadctl.safety import BeltCommand, DeviceCaps

log = structlog.get_logger("treadctl.ble")
AUTO = "auto"


class _Silent(Exception):
    """Connected, subscribed, but no Treadmill Data arrived in time."""


class TreadmillLink:
    """The link to one treadmill, found by `address` and/or advertised `name` (a glob).

    `profile` is a profile name or "auto" (by name, then model number). `client_backend` and
    `scanner_backend` select the bleak backend (None: the platform's, BlueZ on Linux).
    With `retry_initial`, entering returns at once and the first connection is made in the
    background (reported as `LinkConnected`); otherwise entering connects or raises
    `DeviceNotFoundError`, `UnsupportedDeviceError` or `BluetoothError`. While
    `telemetry_backlog` events wait unread, new telemetry is dropped; other events never are.
    Raises `ValueError` when given neither an address nor a name.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        name: str | None = None,
        treadmill_id: str = "",
        profile: str = AUTO,
        profiles: ProfileSet | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        adapter: str | None = None,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        backoff: Backoff | None = None,
        retry_initial: bool = False,
        telemetry_backlog: int = 1000,
    ) -> None:
        if not address and not name:
            raise ValueError("TreadmillLink needs an address or a name")
        self.address, self.name = address, name
        self._target = Target(
            address,
            name,
            client_backend,
            scanner_backend,
            adapter,
            scan_timeout_s,
            connect_timeout_s,
        )
        self._profiles = profiles if profiles is not None else load_profiles()
        self._fixed_profile = None if profile == AUTO else self._profiles.get(profile)
        self._backoff = backoff or Backoff()
        self._retry_initial = retry_initial
        self._id = treadmill_id or address or name or "?"
        self._log = log.bind(treadmill=self._id)
        self.profile = self._fixed_profile or self._profiles.default
        self.device_caps: DeviceCaps | None = None
        self.device_info: ev.DeviceInfo | None = None
        self._belt = BeltMotion(self.profile.zero_speed_debounce_s)
        self._channel = ControlChannel(
            self.profile, self._belt, self._now, self._procedure_timed_out
        )
        self._dispatcher = Dispatcher(
            self.profile,
            self._belt,
            self._channel,
            connected=lambda: self._connected,
            now=self._now,
            log=self._log,
            telemetry_backlog=telemetry_backlog,
        )
        self.events: asyncio.Queue[ev.LinkEvent] = self._dispatcher.events
        self._setup: Connection | None = None
        self._connected = False
        self._closing = False
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []

    # --- public -------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the link is up and commands can be sent."""
        return self._connected

    async def __aenter__(self) -> TreadmillLink:
        group = await self._stack.enter_async_context(asyncio.TaskGroup())
        self._tasks = [
            group.create_task(self._dispatcher.dispatch(), name=f"ble-dispatch-{self._id}"),
            group.create_task(self._dispatcher.watch_stale(), name=f"ble-stale-watch-{self._id}"),
        ]
        first = None
        if not self._retry_initial:
            try:
                first = await self._connect_first()
            except BaseException:
                await self.close()
                raise
        self._tasks.append(
            group.create_task(self._supervise(first), name=f"ble-supervise-{self._id}")
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the background tasks and release the link (idempotent)."""
        if self._closing:
            return
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await self._stack.aclose()
        await self._drop("closed")

    async def send(self, command: BeltCommand) -> None:
        """Send one governor command; returns once the treadmill accepted it.

        Raises `LinkLostError` when disconnected, `ControlPointError` (with `result_code`) when
        refused, `ProcedureTimeoutError` when unanswered (the link then reconnects).
        """
        if not self._connected or self._closing:
            raise LinkLostError("the treadmill is not connected", address=self.address or "")
        await self._channel.send(command)

    # --- connecting ---------------------------------------------------------------------------

    def _now(self) -> float:
        return time.monotonic()

    async def _connect_first(self) -> Connection:
        try:
            return await self._connect()
        except _Silent as exc:
            raise UnsupportedDeviceError(
                f"connected but silent: no Treadmill Data within {exc.args[0]:g} s. The treadmill "
                "may need its vendor app to unlock it, or another app holds it",
                address=self.address or "",
            ) from None

    async def _connect(self) -> Connection:
        """One full connection attempt; raises `BluetoothError` (or a subclass) or `_Silent`."""
        conn = await open_connection(
            self._target, self._profiles, self._fixed_profile, self._on_disconnected
        )
        try:
            await self._listen(conn)
        except BaseException:
            self._setup = None
            await conn.gatt.disconnect()
            raise
        self._channel.attach(conn.gatt, belt_moving=self._belt.moving(self._now()))
        self.device_caps, self.device_info = conn.caps, conn.info
        self._connected = True
        address, caps = conn.device.address, str(conn.caps)
        self._log.info("link_up", address=address, profile=conn.profile.name, caps=caps)
        return conn

    async def _listen(self, conn: Connection) -> None:
        """Subscribe and wait for the first Treadmill Data (silent check)."""
        self._use_profile(conn.profile)
        self._lost.clear()
        self._setup = conn
        self._dispatcher.new_connection()
        await conn.gatt.subscribe(self._dispatcher.on_notify, conn.profile.cccd_write_gap_ms / 1000)
        await self._wait_for_telemetry(conn.profile.silent_after_s)
        if not conn.gatt.client.is_connected:
            raise BluetoothError("the link dropped while setting up", address=self.address or "")

    def _use_profile(self, profile: QuirkProfile) -> None:
        if profile is not self.profile:
            self.profile = profile
            self._belt.zero_debounce_s = profile.zero_speed_debounce_s
            self._channel.set_profile(profile)
            self._dispatcher.set_profile(profile)

    async def _wait_for_telemetry(self, timeout_s: float) -> None:
        if timeout_s > 0 and not await self._dispatcher.wait_for_first_record(timeout_s):
            raise _Silent(timeout_s)

    # --- callbacks (only flag) ----------------------------------------------------------------

    def _on_disconnected(self, client: BleakClient) -> None:
        setup = self._setup
        if setup is None or setup.gatt.client is not client or self._closing:
            return
        self._mark_lost("the treadmill dropped the link")

    def _procedure_timed_out(self) -> None:
        self._mark_lost("control point procedure timed out (FTMP 4.4.14.3: reconnecting)")

    def _mark_lost(self, reason: str) -> None:
        if not self._lost.is_set():
            self._lost_reason = reason
            self._lost.set()
        self._connected = False

    # --- the supervisor (the dispatcher's tasks are in `dispatch`) ------------------------------

    async def _supervise(self, first: Connection | None) -> None:
        if first is None:
            first = await self._reconnect()
        self._emit_connected(first)
        while True:
            await self._lost.wait()
            reason = self._lost_reason
            self._log.warning("link_lost", reason=reason)
            await self._drop(reason)
            self._dispatcher.emit(ev.LinkLost(reason, self._now()))
            setup = await self._reconnect()
            self._dispatcher.emit(
                ev.LinkRestored(
                    setup.device.address, self._belt.moving(self._now()), setup.caps, self._now()
                )
            )

    def _emit_connected(self, setup: Connection) -> None:
        self._dispatcher.emit(
            ev.LinkConnected(
                address=setup.device.address,
                name=setup.device.name or "",
                profile=setup.profile.name,
                device_caps=setup.caps,
                device_info=setup.info,
                features=setup.features,
                received_s=self._now(),
            )
        )

    async def _reconnect(self) -> Connection:
        """Try until connected; sends nothing to the treadmill but CCCD writes."""
        self._backoff.reset()
        while True:
            await asyncio.sleep(self._backoff.next_delay_s())
            try:
                return await self._connect()
            except _Silent as exc:
                waited_s = float(exc.args[0])
                self._log.warning("link_silent", waited_s=waited_s)
                self._dispatcher.emit(ev.LinkSilent(self.address or "", waited_s, self._now()))
            except BluetoothError as exc:
                self._log.info("reconnect_failed", error=str(exc))

    async def _drop(self, reason: str) -> None:
        """Forget the connection: commands fail, partial records go, the client disconnects."""
        self._connected = False
        self._channel.detach()
        self._dispatcher.forget()
        self._belt.reset()
        setup, self._setup = self._setup, None
        self._lost.clear()
        if setup is not None and setup.gatt.client.is_connected:
            await setup.gatt.disconnect()
