"""A bleak backend over a bumble central: unchanged bleak code talks to virtual treadmills.

Owns: `VirtualRadio` (async context manager) — one bumble central `Device`, either on the
in-process link it shares with `VirtualTreadmill`s (`"sim:local"`) or on a controller that a
`treadctl sim` process serves over HCI/TCP (`"sim:HOST:PORT"`, as in `[bluetooth] radio`) —
and the bleak scanner backend bound to it. The client backend is in `radio_client.py`.

Use:
    async with VirtualRadio("sim:127.0.0.1:7900") as radio:
        devices = await BleakScanner.discover(2.0, backend=radio.scanner_backend)
        client = await establish_connection(
            BleakClient, devices[0], "treadmill", backend=radio.client_backend
        )

Rules: bumble objects are built inside the running loop (in `__aenter__`); detection callbacks
only build bleak objects and hand them on; errors leave as bleak's own exceptions (scanner and
client) or as `treadctl.errors` (opening the radio).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, ClassVar, Literal, cast

from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.exc import BleakError
from bumble import hci
from bumble.device import Advertisement, Device
from bumble.transport import open_transport

from treadctl.errors import BluetoothError, InputError
from treadctl.sim.adv import ParsedAdvertisement, parse_advertisement
from treadctl.sim.link import SimController, SimLink, open_device, shared_link

log = logging.getLogger(__name__)

DEFAULT_MTU = 247  # the default ATT MTU of 23 silently cuts notifications to 20 octets
SOURCE = "treadctl-sim"  # BLEDevice.details["source"]; never a BlueZ "path"


def _random_static_address(rng: random.Random) -> str:
    octets = [rng.randrange(256) for _ in range(6)]
    octets[0] |= 0xC0  # random static: the two top bits set
    return ":".join(f"{o:02X}" for o in octets)


class VirtualRadio:
    """A bumble central that bleak reaches through `scanner_backend` and `client_backend`.

    `spec`: `"sim:local"` (the running loop's shared in-process link, or `link` if given) or
    `"sim:HOST:PORT"` (a `treadctl sim` process; `local` and `tcp:HOST:PORT` work too, and
    an IPv6 host goes in brackets). `mtu` is what every connection requests.
    Raises `InputError` for a bad spec or MTU; opening raises `BluetoothError` when the sim is
    unreachable.
    """

    def __init__(
        self,
        spec: str = "sim:local",
        *,
        link: SimLink | None = None,
        mtu: int = DEFAULT_MTU,
        address: str | None = None,
    ) -> None:
        self.spec = spec
        self._kind, self._tcp = _parse_spec(spec)
        if not 23 <= mtu <= 517:
            raise InputError(f"mtu {mtu} is outside 23..517", where="radio")
        self.mtu = mtu
        self._link = link
        self._address = address or _random_static_address(random.Random())
        self._transport: Any = None
        self._device: Device | None = None
        self._controller: SimController | None = None
        self._scanners: set[VirtualScannerBackend] = set()
        self._scan_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()  # bumble allows one pending LE connection
        self.address_types: dict[str, int] = {}  # address seen advertising -> address type
        self._scanner_type: type[VirtualScannerBackend] | None = None
        self._client_type: type[BaseBleakClient] | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> VirtualRadio:
        if self._kind == "local":
            link = self._link or shared_link()
            self._device, self._controller = open_device(
                link, "treadctl", self._address, prefix="radio"
            )
        else:
            host, port = self._tcp
            try:
                self._transport = await open_transport(f"tcp-client:{host}:{port}")
            except OSError as exc:
                raise BluetoothError(
                    f"cannot reach the virtual treadmill at {host}:{port} ({exc.strerror or exc}); "
                    "is `treadctl sim` running there?"
                ) from exc
            self._device = Device.with_hci(
                "treadctl", hci.Address(self._address), self._transport.source, self._transport.sink
            )
        self._device.on("advertisement", self._on_advertisement)
        await self._device.power_on()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        device, self._device = self._device, None
        if device is not None:
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):
                    await connection.disconnect()
            with contextlib.suppress(Exception):
                await device.host.flush()
        if self._controller is not None:
            self._controller.detach()
            self._controller = None
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    @property
    def device(self) -> Device:
        """The bumble central (raises `BleakError` when the radio is not open)."""
        if self._device is None:
            raise BleakError(f"virtual radio {self.spec!r} is not open")
        return self._device

    # --- bleak backend classes bound to this radio ---------------------------------------------
    @property
    def scanner_backend(self) -> type[BaseBleakScanner]:
        """A `BaseBleakScanner` subclass for `BleakScanner(backend=...)`."""
        if self._scanner_type is None:
            self._scanner_type = cast(
                "type[VirtualScannerBackend]",
                type("VirtualBleakScanner", (VirtualScannerBackend,), {"radio": self}),
            )
        return self._scanner_type

    @property
    def client_backend(self) -> type[BaseBleakClient]:
        """A `BaseBleakClient` subclass for `BleakClient(..., backend=...)`."""
        if self._client_type is None:
            from treadctl.sim.radio_client import VirtualClientBackend

            self._client_type = cast(
                "type[BaseBleakClient]",
                type("VirtualBleakClient", (VirtualClientBackend,), {"radio": self}),
            )
        return self._client_type

    # --- scanning, shared by every scanner on this radio ---------------------------------------
    async def add_scanner(self, scanner: VirtualScannerBackend) -> None:
        """Hand `scanner` every advertisement heard; the central scans while any is added."""
        async with self._scan_lock:
            if not self._scanners:
                await self.device.start_scanning(filter_duplicates=False)
            self._scanners.add(scanner)

    async def remove_scanner(self, scanner: VirtualScannerBackend) -> None:
        """Stop handing `scanner` advertisements; scanning stops with the last one."""
        async with self._scan_lock:
            self._scanners.discard(scanner)
            if not self._scanners and self._device is not None:
                with contextlib.suppress(Exception):
                    await self._device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        parsed = parse_advertisement(advertisement.data_bytes)
        address = advertisement.address.to_string(with_type_qualifier=False)
        self.address_types[address] = int(advertisement.address.address_type)
        for scanner in list(self._scanners):
            scanner.on_advertisement(address, advertisement, parsed)

    async def find_address(self, address: str, timeout_s: float) -> bool:
        """Scan until `address` advertises or `timeout_s` passes; True if it was heard."""
        if address in self.address_types:
            return True
        found = asyncio.get_running_loop().create_future()

        def on_adv(device: BLEDevice, _adv: AdvertisementData) -> None:
            if device.address == address and not found.done():
                found.set_result(True)

        scanner = self.scanner_backend(on_adv, None)
        await scanner.start()
        try:
            async with asyncio.timeout(timeout_s):
                await found
        except TimeoutError:
            return False
        finally:
            await scanner.stop()
        return True


def _parse_spec(spec: str) -> tuple[Literal["local", "tcp"], tuple[str, int]]:
    """`sim:local` / `local`, or `sim:HOST:PORT` / `tcp:HOST:PORT` (IPv6 hosts in brackets)."""
    if spec in ("local", "sim:local"):
        return "local", ("", 0)
    kind, _, rest = spec.partition(":")
    host, _, port_text = rest.rpartition(":")
    host = host.strip("[]")
    if kind in ("sim", "tcp") and host and port_text.isdigit() and 0 < int(port_text) < 65536:
        return "tcp", (host, int(port_text))
    raise InputError(
        f"unknown virtual radio {spec!r}: use 'sim:local' (in this process) or 'sim:HOST:PORT' "
        "(a `treadctl sim` process)",
        where="radio",
    )


class VirtualScannerBackend(BaseBleakScanner):
    """bleak scanner backend over a `VirtualRadio` (use `radio.scanner_backend`)."""

    radio: ClassVar[VirtualRadio]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._scanning_mode = scanning_mode

    async def start(self) -> None:
        """Start scanning (clears `seen_devices`, as bleak requires)."""
        self.seen_devices = {}
        await self.radio.add_scanner(self)

    async def stop(self) -> None:
        """Stop scanning."""
        await self.radio.remove_scanner(self)

    def on_advertisement(
        self, address: str, advertisement: Advertisement, parsed: ParsedAdvertisement
    ) -> None:
        """Merge a report into what this scan has seen and call the detection callbacks."""
        previous = self.seen_devices.get(address)
        if previous is not None:
            parsed = previous[1].platform_data[1].merged_with(parsed)
        if not self.is_allowed_uuid(list(parsed.service_uuids)):
            return
        adv = AdvertisementData(
            local_name=parsed.local_name,
            manufacturer_data=dict(parsed.manufacturer_data),
            service_data=dict(parsed.service_data),
            service_uuids=list(parsed.service_uuids),
            tx_power=parsed.tx_power,
            rssi=advertisement.rssi,
            platform_data=(advertisement, parsed),
        )
        details = {"source": SOURCE, "address_type": int(advertisement.address.address_type)}
        device = self.create_or_update_device(address, address, parsed.local_name, details, adv)
        self.call_detection_callbacks(device, adv)
