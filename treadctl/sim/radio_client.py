"""The bleak client backend over a `VirtualRadio`'s bumble central.

Owns: `VirtualClientBackend` — connect (with timeout, MTU exchange, full service discovery),
disconnect, read/write characteristics and descriptors, notifications and indications, and the
disconnected callback. Obtain the class bound to a radio from `radio.client_backend`.

Behaviour matches bleak's BlueZ backend where a caller can tell: an address never heard gives
`BleakDeviceNotFoundError`; a connect that does not complete in time raises `TimeoutError`; an
ATT error response raises `BleakGATTProtocolError`; anything after the link dropped raises
`BleakError("Not connected")`; the disconnected callback fires on every disconnection, asked for
or not. Notification callbacks are called synchronously from the bumble receive path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.device import Connection
from bumble.gatt_client import CharacteristicProxy, Client

from treadctl.sim.adv import uuid128_to_str
from treadctl.sim.link import spawn
from treadctl.sim.radio import VirtualRadio

log = logging.getLogger(__name__)

T = TypeVar("T")
SETUP_MIN_S = 2.0  # MTU exchange and discovery get at least this long after the link is up

_PROPERTY_NAMES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)


def _uuid_str(value: core.UUID) -> str:
    return uuid128_to_str(value.to_bytes(force_128=True))


class VirtualClientBackend(BaseBleakClient):
    """bleak client backend over a `VirtualRadio` (use `radio.client_backend`)."""

    radio: ClassVar[VirtualRadio]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._ble_device = (
            address_or_ble_device if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._service_filter = services
        self._connection: Connection | None = None
        self._proxies: dict[int, CharacteristicProxy[bytes]] = {}
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # --- properties ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The advertised name, or the address with dashes (as bleak does without a name)."""
        if self._ble_device is not None and self._ble_device.name:
            return self._ble_device.name
        return self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU (23 before the exchange)."""
        return int(self._connection.att_mtu) if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        """True while the link is up."""
        return self._connection is not None

    # --- connect / disconnect -----------------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover services, all within `timeout` seconds.

        Raises `BleakDeviceNotFoundError` (address never heard), `TimeoutError`, `BleakError`.
        """
        if self._connection is not None:
            return
        if pair:
            log.info("the virtual radio does not pair; connecting without pairing")
        timeout_s = float(kwargs.get("timeout", self._timeout))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        address = self._peer_address()
        if address is None:
            if not await self.radio.find_address(self.address, timeout_s):
                raise BleakDeviceNotFoundError(
                    self.address, f"Device with address {self.address} was not found."
                )
            address = self._peer_address()
            if address is None:  # heard, so the type is known now
                raise BleakDeviceNotFoundError(self.address, "address type unknown")
        try:
            async with asyncio.timeout_at(deadline):
                await self.radio.connect_lock.acquire()
            try:
                # bumble times the connection out itself and cancels it in the controller
                connection = await self._create_connection(address, deadline - loop.time())
            finally:
                self.radio.connect_lock.release()
            async with asyncio.timeout_at(max(deadline, loop.time() + SETUP_MIN_S)):
                await self._set_up(connection)
        except core.TimeoutError as exc:
            raise TimeoutError(f"connecting to {self.address} timed out") from exc
        except core.ConnectionError as exc:
            raise BleakError(f"connection to {self.address} failed: {exc}") from exc

    def _peer_address(self) -> hci.Address | None:
        details = self._ble_device.details if self._ble_device is not None else None
        address_type = details.get("address_type") if isinstance(details, dict) else None
        if address_type is None:
            address_type = self.radio.address_types.get(self.address)
        if address_type is None:
            return None
        return hci.Address(self.address, hci.AddressType(address_type))

    async def _create_connection(self, address: hci.Address, timeout_s: float) -> Connection:
        device = self.radio.device
        try:
            return await device.connect(address, timeout=max(timeout_s, 0.001))
        except asyncio.CancelledError:
            spawn(self._abandon(address), "radio-abandon-connect")
            raise

    async def _abandon(self, address: hci.Address) -> None:
        """After a cancelled connect: cancel it in the controller, drop it if it completed."""
        device = self.radio.device
        with contextlib.suppress(Exception):
            await device.send_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        await asyncio.sleep(0)
        for connection in list(device.connections.values()):
            if connection.peer_address == address and connection is not self._connection:
                with contextlib.suppress(Exception):
                    await connection.disconnect()

    async def _set_up(self, connection: Connection) -> None:
        try:
            connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
            self._connection = connection
            client: Client = connection.gatt_client
            await client.request_mtu(self.radio.mtu)
            connection.emit(connection.EVENT_CONNECTION_ATT_MTU_UPDATE)
            self.services = await self._discover(client)
        except BaseException:
            if self._connection is connection:
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.disconnect())
            raise

    async def _discover(self, client: Client) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        self._proxies = {}
        for service in await client.discover_services():
            service_uuid = _uuid_str(service.uuid)
            if self._service_filter is not None and service_uuid not in self._service_filter:
                continue
            bleak_service = BleakGATTService(service, service.handle, service_uuid)
            collection.add_service(bleak_service)
            for char in await service.discover_characteristics():
                properties = [name for bit, name in _PROPERTY_NAMES if char.properties & bit]
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    _uuid_str(char.uuid),
                    properties,  # type: ignore[arg-type]  # names are bleak's literals
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                self._proxies[char.handle] = char
                for descriptor in await char.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, _uuid_str(descriptor.type), bleak_char
                        )
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        log.debug("virtual link to %s dropped (reason 0x%02X)", self.address, reason)
        self._connection = None
        self._subscribers = {}
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def disconnect(self) -> None:
        """Disconnect; returns once the link is down (a no-op when not connected)."""
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, OSError):
            await connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: the virtual treadmill needs no pairing (raises `BleakError`)."""
        raise BleakError("the virtual radio does not pair; the virtual treadmill needs none")

    async def unpair(self) -> None:
        """Nothing to forget: the virtual radio never pairs."""

    # --- I/O ----------------------------------------------------------------------------------
    def _client(self) -> Client:
        if self._connection is None:
            raise BleakError("Not connected")
        client: Client = self._connection.gatt_client
        return client

    async def _att(self, operation: Awaitable[T]) -> T:
        """Run one ATT operation, translating bumble's errors into bleak's."""
        try:
            return await operation
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except core.TimeoutError as exc:
            raise TimeoutError("GATT operation timed out") from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._connection is None and task is not None and not task.cancelling():
                raise BleakError("Not connected: the link dropped") from None
            raise

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic value (raises `BleakGATTProtocolError`, `BleakError`)."""
        return bytearray(await self._att(self._client().read_value(characteristic.handle)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor value (raises `BleakGATTProtocolError`, `BleakError`)."""
        return bytearray(await self._att(self._client().read_value(descriptor.handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write with or without response (raises `BleakGATTProtocolError`, `BleakError`)."""
        client = self._client()
        await self._att(client.write_value(characteristic.handle, bytes(data), response))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """Write a descriptor (raises `BleakGATTProtocolError`, `BleakError`)."""
        await self._att(self._client().write_value(descriptor.handle, bytes(data), True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Enable notifications (preferred) or indications by writing the CCCD."""
        client = self._client()
        proxy = self._proxies.get(characteristic.handle)
        if proxy is None:
            raise BleakError(f"characteristic {characteristic.uuid} was not discovered")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        old = self._subscribers.pop(characteristic.handle, None)
        if old is not None:
            await self._att(client.unsubscribe(proxy, old))
        self._subscribers[characteristic.handle] = on_value
        await self._att(client.subscribe(proxy, on_value, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications/indications (writes 0x0000 to the CCCD)."""
        client = self._client()
        proxy = self._proxies.get(characteristic.handle)
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if proxy is not None:
            await self._att(client.unsubscribe(proxy, subscriber, force=subscriber is None))
