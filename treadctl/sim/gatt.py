"""The virtual treadmill on a bumble `Device`: a Fitness Machine Service peripheral.

Owns: `VirtualTreadmill` (async context manager) — the `TreadmillModel` exposed as an FTMS
peripheral (every FTMS characteristic a treadmill has, each with its CCCD, plus Device
Information), advertising the FTMS UUID and service data (flags + machine type) unless the Q23
quirk hides them, on the in-process link (default: the running loop's shared link), or on a
real controller given as a bumble transport (`usb:0`, `hci-socket:0`). It runs the model's clock
(`speedup` × the event loop's time), sends what the model returns, and offers the console, the
safety key and the fault hooks to tests and to `treadctl sim`.

Traps handled here (DESIGN §5): bumble objects are built in `__aenter__`, inside the running loop;
the server accepts an MTU of up to `max_mtu` (247); the 0x80 indication goes out after the ATT
Write Response (queued, never awaited in the write handler) unless the Q11 quirk wants it before;
a write while an indication is still unconfirmed is refused with 0xFE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bumble import att, hci
from bumble.device import Connection, Device
from bumble.gatt import Characteristic
from bumble.transport import open_transport

from treadctl.errors import AttError, BluetoothError
from treadctl.sim import frames, trace
from treadctl.sim.adv import build_advertising_data
from treadctl.sim.frames import Notification
from treadctl.sim.link import SimController, SimLink, open_device, shared_link, spawn
from treadctl.sim.model import TreadmillModel
from treadctl.sim.services import (
    CONNECTION_TIMEOUT_REASON,
    FTMS_UUID16,
    Sender,
    address_for,
    build_services,
    describe_status,
    describe_write,
    transport_hint,
)
from treadctl.sim.settings import Quirks, TreadmillConfig

log = logging.getLogger(__name__)


class VirtualTreadmill:
    """A virtual FTMS treadmill. Use `async with VirtualTreadmill(...) as treadmill:`.

    `link`: the in-process link (default: `shared_link()`); `transport`: a bumble transport spec
    for a real controller instead (`usb:0`, `hci-socket:0`). `speedup` scales the model's clock
    (physics and notification rate; `ValueError` outside (0, 1000]). The model is
    `treadmill.model`.
    """

    def __init__(
        self,
        config: TreadmillConfig | None = None,
        quirks: Quirks | None = None,
        *,
        model: TreadmillModel | None = None,
        link: SimLink | None = None,
        transport: str | None = None,
        address: str | None = None,
        speedup: float = 1.0,
        advertising_interval_ms: float = 100.0,
        max_mtu: int = 247,
    ) -> None:
        if not 0 < speedup <= 1000:
            raise ValueError(f"speedup must be in (0, 1000], got {speedup}")
        self.model = model or TreadmillModel(config, quirks)
        self.address = address or address_for(self.model.config.name)
        self.speedup = speedup
        self._link = link
        self._transport_spec = transport
        self._transport: Any = None
        self._interval_ms = advertising_interval_ms
        self._max_mtu = max_mtu
        self._device: Device | None = None
        self._controller: SimController | None = None
        self._chars: dict[str, Characteristic[Any]] = {}
        self._sender: Sender | None = None
        self._connection: Connection | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._crashing = False  # a drop the model asked for is under way
        self._t0 = 0.0
        self.connected = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.on_event: Callable[[str], None] | None = None  # one human-readable line per event

    def _event(self, text: str) -> None:
        if self.on_event is not None:
            self.on_event(text)

    # --- clock ---------------------------------------------------------------------------------
    def now_s(self) -> float:
        """Model time: seconds since start × speedup."""
        return (asyncio.get_running_loop().time() - self._t0) * self.speedup

    @property
    def device(self) -> Device:
        """The bumble peripheral (raises `RuntimeError` before `__aenter__`)."""
        if self._device is None:
            raise RuntimeError("the virtual treadmill is not running")
        return self._device

    @property
    def connection(self) -> Connection | None:
        """The connected central's link, if any."""
        return self._connection

    # --- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> VirtualTreadmill:
        config = self.model.config
        if self._transport_spec is None:
            link = self._link or shared_link()
            self._device, self._controller = open_device(
                link, config.name, self.address, prefix="treadmill"
            )
            link.set_rssi(hci.Address(self.address), config.rssi_dbm)
        else:
            try:
                self._transport = await open_transport(self._transport_spec)
            except Exception as exc:
                raise BluetoothError(
                    f"cannot open Bluetooth controller {self._transport_spec!r}: {exc}. "
                    + transport_hint(self._transport_spec)
                ) from exc
            self._device = Device.with_hci(
                config.name,
                hci.Address(self.address),
                self._transport.source,
                self._transport.sink,
            )
        self._device.gatt_server.max_mtu = self._max_mtu
        services, self._chars = build_services(self.model, self._on_cccd, self._on_cp_write)
        self._device.add_services(services)
        self._device.on(self._device.EVENT_CONNECTION, self._on_connection)
        await self._device.power_on()
        self._t0 = asyncio.get_running_loop().time()
        self.model.on_disconnect(0.0)  # nobody connected yet: nothing to send
        await self._device.start_advertising(
            advertising_data=self.advertising_data(),
            advertising_interval_min=self._interval_ms,
            advertising_interval_max=self._interval_ms,
            auto_restart=True,
        )
        self._ticker = asyncio.get_running_loop().create_task(
            self._tick_loop(), name=f"sim-tick-{config.name}"
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception):
                await device.stop_advertising()
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    await self._connection.disconnect()
            if self._sender is not None:
                self._sender.close()
            if self._controller is not None:
                self._controller.detach()
        if self._transport is not None:
            await self._transport.close()

    def advertising_data(self) -> bytes:
        """Flags, the FTMS UUID and service data (unless hidden, Q23), and the name."""
        name = self.model.config.name
        if self.model.quirks.hide_ftms_uuid:
            return build_advertising_data(name)
        return build_advertising_data(
            name,
            service_uuids16=(FTMS_UUID16,),
            service_data16=((FTMS_UUID16, frames.service_data(available=True)),),
        )

    # --- GATT database -------------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        if self._connection is not None:
            log.info("second central refused: one client at a time")
            spawn(connection.disconnect(), "sim-refuse-second-central")
            return
        self._connection = connection
        self._sender = Sender(self.device, connection, self._chars)
        self.model.on_connect(self.now_s(), mtu=connection.att_mtu)
        connection.on(
            connection.EVENT_CONNECTION_ATT_MTU_UPDATE,
            lambda: self.model.set_mtu(connection.att_mtu),
        )
        connection.on(connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(reason))
        self.disconnected.clear()
        self.connected.set()
        self._event(f"central {connection.peer_address} connected")

    def _on_disconnection(self, reason: int) -> None:
        self._event(f"central disconnected (reason 0x{reason:02X})")
        self.model.on_disconnect(self.now_s())
        if self._sender is not None:
            self._sender.close()
        self._sender = None
        self._connection = None
        self.connected.clear()
        self.disconnected.set()

    def _on_cccd(self, uuid: str, data: bytes) -> None:
        if len(data) != 2:
            raise att.ATT_Error(att.ATT_INVALID_ATTRIBUTE_LENGTH_ERROR)
        applied = self.model.write_cccd(uuid, int.from_bytes(data, "little"), self.now_s())
        if not applied:
            self._event(f"CCCD write for {uuid[4:8]} dropped (cccd_min_gap_s)")
        self._wake.set()

    def _on_cp_write(self, _connection: Connection, data: bytes) -> Any:
        """Returns None, or (Q11) an awaitable that bumble awaits before its Write Response."""
        if trace.TRACE is not None:  # benchmarks only (off unless $TREADCTL_SIM_TRACE is set)
            trace.TRACE.write(self.model.config.name, bytes(data))
        sender = self._sender
        if sender is not None and sender.cp_in_flight:
            self.model.note_refused_write(bytes(data), self.now_s(), 0xFE)
            raise att.ATT_Error(0xFE)  # Procedure Already In Progress (FTMS §4.16.3)
        try:
            out = self.model.write_control_point(bytes(data), self.now_s())
        except AttError as exc:
            self._event(f"control point {bytes(data).hex(' ')} refused: {exc}")
            raise att.ATT_Error(exc.att_code) from exc
        self._event(describe_write(self.model.writes[-1]))
        if self.model.link_drop_requested:
            self._crash_if_asked(None)
            return None
        if sender is None or not out:
            return None
        done = sender.send(out)
        # Q11: the machine sends status and 0x80 before the Write Response (awaited here);
        # otherwise the queue sends them once this handler has returned and bumble has answered.
        return done if self.model.quirks.early_indication else None

    # --- the clock loop ------------------------------------------------------------------------
    async def _tick_loop(self) -> None:
        while True:
            self._crash_if_asked(self._emit(self.model.tick(self.now_s())))
            delay = (self.model.next_deadline_s() - self.now_s()) / self.speedup
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0005)):
                    await self._wake.wait()

    def _emit(self, out: list[Notification]) -> asyncio.Future[None] | None:
        """Queue `out`; a future done once it is sent (None: nothing to send, or nobody)."""
        if out and self._sender is not None:
            return self._sender.send(out)
        return None

    def _crash_if_asked(self, sent: asyncio.Future[None] | None) -> None:
        """Drop the link once when the model asks (Q17 crash, mid-record fault), after `sent`."""
        if self.model.link_drop_requested and not self._crashing:
            self._crashing = True
            spawn(self._crash(sent), "sim-crash-link")

    async def _crash(self, sent: asyncio.Future[None] | None) -> None:
        try:
            if sent is not None:
                await sent  # the fragments before the crash reach the central first
            await self.drop_link()
        finally:
            self._crashing = False

    def _console(self, action: Callable[[float], list[Notification]], what: str) -> None:
        self._emit(action(self.now_s()))
        self._wake.set()
        self._event(what)

    def status_line(self) -> str:
        """One line: session state, belt, incline, counters, link."""
        self.model.advance(self.now_s())
        return describe_status(self.model, connected=self._connection is not None)

    # --- console, safety key, faults -----------------------------------------------------------
    def press_start(self) -> None:
        """The console's Start button."""
        self._console(self.model.press_start, "console: start")

    def press_pause(self) -> None:
        """The console's Pause button."""
        self._console(self.model.press_pause, "console: pause")

    def press_stop(self) -> None:
        """The console's Stop button."""
        self._console(self.model.press_stop, "console: stop")

    def pull_safety_key(self) -> None:
        """Pull the safety key (emergency stop)."""
        self._console(self.model.pull_safety_key, "safety key pulled")

    def insert_safety_key(self) -> None:
        """Put the safety key back."""
        self._console(self.model.insert_safety_key, "safety key inserted")

    def revoke_control(self) -> None:
        """Fault: notify Control Permission Lost (0xFF) and take control back."""
        self._console(self.model.revoke_control, "fault: control permission lost (0xFF)")

    def console_set_speed(self, speed_kmh: float) -> None:
        """The console's speed buttons (only while running)."""
        self._console(
            lambda now_s: self.model.console_set_speed(speed_kmh, now_s),
            f"console: speed {speed_kmh:g} km/h",
        )

    def drop_link_mid_record(self, fragments: int = 1) -> None:
        """Fault, one-shot: the link drops after the first `fragments` More Data fragments of
        the next split record (`TreadmillModel.drop_link_mid_record`; `ValueError` below 1)."""
        cut = self.model.drop_link_mid_record(fragments)
        hint = "" if cut else " (records go whole here: it waits for one split with More Data)"
        self._event(f"fault: the link drops after {fragments} More Data fragment(s){hint}")

    async def drop_link(self, reason: int = CONNECTION_TIMEOUT_REASON) -> None:
        """Fault: drop the link (default reason 0x08, as when the treadmill loses power)."""
        connection = self._connection
        if connection is not None:
            self._event(f"dropping the link (reason 0x{reason:02X})")
            with contextlib.suppress(Exception):
                await connection.disconnect(reason=reason)
