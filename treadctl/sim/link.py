"""The virtual radio: bumble's in-process link, with the fixes a test bench needs.

Owns: `SimLink` (a bumble `LocalLink` that also knows each advertiser's signal strength),
`SimController` (bumble's virtual controller with three repairs: a cancelled LE connection
completes with "Unknown Connection Identifier" as on real hardware instead of hanging forever,
advertising reports carry the advertiser's RSSI instead of a constant -50 dBm, and a reset or a
detached host drops its connections), `open_device` (a bumble `Device` on the link), `shared_link`
(one link per event loop, for in-process tests and demos) and `HciTcpServer` (HCI over TCP: every
client that connects gets a fresh controller on the link, as if it had plugged in its own dongle).

Rules: bumble objects are built inside the running loop; nothing here reads the clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import weakref
from collections.abc import Coroutine
from typing import Any

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink, PacketParser

log = logging.getLogger(__name__)

DEFAULT_RSSI_DBM = -60
_REMOTE_USER_TERMINATED = hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR
_LOCAL_HOST_TERMINATED = hci.HCI_ErrorCode.CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR


class SimLink(LocalLink):
    """A bumble `LocalLink` that also holds the RSSI each advertiser is heard with."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # bumble leaves it unannotated
        self._rssi_dbm: dict[bytes, int] = {}
        self._controller_names = itertools.count(1)
        self.claimed: set[bytes] = set()  # addresses of the devices opened on this link

    def set_rssi(self, address: hci.Address, rssi_dbm: int) -> None:
        """Make scanners hear `address` at `rssi_dbm` (dBm; `ValueError` outside -127..20)."""
        if not -127 <= rssi_dbm <= 20:
            raise ValueError(f"rssi_dbm {rssi_dbm} is outside -127..20")
        self._rssi_dbm[bytes(address)] = rssi_dbm

    def rssi_for(self, address: hci.Address) -> int:
        """The RSSI (dBm) a scanner on this link hears `address` with."""
        return self._rssi_dbm.get(bytes(address), DEFAULT_RSSI_DBM)

    def next_controller_name(self, prefix: str) -> str:
        """A unique controller name for logs."""
        return f"{prefix}{next(self._controller_names)}"


class SimController(Controller):
    """bumble's virtual controller, repaired where it differs from real hardware."""

    link: SimLink

    def __init__(self, name: str, link: SimLink, **kwargs: Any) -> None:
        super().__init__(name, link=link, **kwargs)
        self.claimed: bytes | None = None  # the address `open_device` reserved for it

    # --- LE Create Connection Cancel (Core Vol 4 Part E §7.8.13) ---------------------------
    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """Cancel a pending connection and report it failed, as a real controller does.

        bumble's controller answers Success but never sends the LE Connection Complete event
        that must follow, so a host that cancels (bumble does on a connect timeout) waits
        forever. The spec's order is Command Complete, then LE Connection Complete with status
        Unknown Connection Identifier (0x02): the event is queued after the return.
        """
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failure = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failure)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    # --- RSSI per advertiser ----------------------------------------------------------------
    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """Send to the host, with advertising reports carrying the advertiser's RSSI."""
        if isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
            packet = hci.HCI_LE_Extended_Advertising_Report_Event(
                reports=[self._with_rssi(report) for report in packet.reports]
            )
        elif isinstance(packet, hci.HCI_LE_Advertising_Report_Event):
            packet = hci.HCI_LE_Advertising_Report_Event(
                reports=[self._with_rssi(report) for report in packet.reports]
            )
        super().send_hci_packet(packet)

    def _with_rssi(self, report: Any) -> Any:
        return dataclasses.replace(report, rssi=self.link.rssi_for(report.address))

    # --- reset and detach -------------------------------------------------------------------
    def on_hci_reset_command(
        self, command: hci.HCI_Reset_Command
    ) -> hci.HCI_StatusReturnParameters:
        """A reset drops every connection, scan and pending connect (Vol 4 Part E §7.3.2)."""
        self.drop_all_connections(_LOCAL_HOST_TERMINATED, tell_host=False)
        self.pending_le_connection = None
        self.le_scan_enable = False
        return super().on_hci_reset_command(command)

    def drop_all_connections(self, reason: int, *, tell_host: bool = True) -> None:
        """Terminate every LE connection: peers hear `reason`, the host too if `tell_host`."""
        for connection in list(self.le_connections.values()):
            try:
                connection.send_ll_control_pdu(_terminate_ind(reason))
            except Exception:  # the peer already left the link
                log.debug("peer gone while dropping %s", connection.peer_address)
            if tell_host:
                self.on_le_disconnected(connection, reason)
            else:
                del self.le_connections[connection.peer_address]

    def detach(self) -> None:
        """Leave the link as if unplugged: peers see the remote user terminate the link."""
        self.drop_all_connections(_REMOTE_USER_TERMINATED, tell_host=False)
        for advertising_set in self.advertising_sets.values():
            advertising_set.stop()
        self.le_legacy_advertiser.stop()
        self.pending_le_connection = None
        self.le_scan_enable = False
        if self in self.link.controllers:
            self.link.remove_controller(self)
        if self.claimed is not None:
            self.link.claimed.discard(self.claimed)


def _terminate_ind(reason: int) -> Any:
    from bumble import ll

    return ll.TerminateInd(reason)


_BACKGROUND: set[asyncio.Task[Any]] = set()


def spawn(coroutine: Coroutine[Any, Any, Any], name: str) -> None:
    """Run `coroutine` in the background, keeping a reference until it is done."""
    task = asyncio.get_running_loop().create_task(coroutine, name=name)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


# --- devices on the link -------------------------------------------------------------------


def open_device(
    link: SimLink, name: str, address: str, *, prefix: str = "sim"
) -> tuple[Device, SimController]:
    """A bumble `Device` named `name` with random static `address`, on its own controller.

    Must be called inside the running loop; the caller powers the device on, and detaches the
    controller when done. Raises `ValueError` when `address` is already on the link.
    """
    bd_addr = hci.Address(address)
    if bytes(bd_addr) in link.claimed:
        raise ValueError(f"address {address} is already on this link (give each device a name)")
    controller = SimController(link.next_controller_name(prefix), link)
    controller.claimed = bytes(bd_addr)
    link.claimed.add(controller.claimed)
    host = Host(controller, AsyncPipeSink(controller))
    return Device(name=name, address=bd_addr, host=host), controller


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SimLink] = weakref.WeakKeyDictionary()


def shared_link() -> SimLink:
    """The in-process link of the running event loop (virtual treadmills and radios meet here)."""
    loop = asyncio.get_running_loop()
    link = _SHARED.get(loop)
    if link is None:
        link = _SHARED[loop] = SimLink()
    return link


# --- HCI over TCP --------------------------------------------------------------------------


class _HciClient(asyncio.Protocol):
    """One TCP client: a fresh controller on the link, fed and read over the socket."""

    def __init__(self, link: SimLink, clients: set[_HciClient]) -> None:
        self._link = link
        self._clients = clients
        self._transport: asyncio.Transport | None = None
        self.controller: SimController | None = None
        self._parser: PacketParser | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):
            raise TypeError("HCI over TCP needs a stream transport")
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.controller = SimController(
            self._link.next_controller_name("tcp"), self._link, host_sink=self
        )
        self._parser = PacketParser(self.controller)
        self._clients.add(self)
        log.info("hci client connected from %s (controller %s)", peer, self.controller.name)

    def data_received(self, data: bytes) -> None:
        if self._parser is not None:
            try:
                self._parser.feed_data(data)
            except Exception:  # a garbled stream must not kill the sim
                log.warning("invalid HCI data from client; resetting the parser")
                self._parser.reset()

    def on_packet(self, packet: bytes) -> None:
        """Controller → host: write the H4 packet to the socket."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(packet)

    def close(self) -> None:
        """Hang up on the client (its controller leaves the link)."""
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._clients.discard(self)
        if self.controller is not None:
            log.info("hci client left (controller %s)", self.controller.name)
            self.controller.detach()
        self._transport = None


class HciTcpServer:
    """Serve the link over HCI/TCP (H4 framing, as bumble's `tcp-client:` transport speaks).

    Use as an async context manager; `port` is the bound port (pass 0 to get a free one).
    """

    def __init__(self, link: SimLink, host: str = "127.0.0.1", port: int = 7900) -> None:
        self._link = link
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._clients: set[_HciClient] = set()

    @property
    def port(self) -> int:
        """The TCP port clients connect to."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._host

    async def __aenter__(self) -> HciTcpServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HciClient(self._link, self._clients), self._host, self._port
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            for client in list(self._clients):
                client.close()
            await self._server.wait_closed()
            self._server = None
