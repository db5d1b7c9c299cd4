"""GATT operations on one connected treadmill, with bleak's errors translated.

Owns: `FtmsGatt` — confirm the Fitness Machine service, read Device Information, Feature and the
Supported Speed / Inclination Ranges, enable notifications one CCCD at a time with the profile's
gap (Q22), write the control point with or without response as the characteristic allows (Q18),
disconnect. Every bleak call says what it raises; all of it leaves as `BluetoothError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakGATTProtocolError

from treadctl import ftms
from treadctl.ble.events import DeviceInfo
from treadctl.ble.translate import BLEAK_ERRORS, bluetooth_error
from treadctl.errors import AttError, BluetoothError, UnsupportedDeviceError

log = structlog.get_logger("treadctl.ble")

NotifyHandler = Callable[[str, bytes], None]

_DIS_FIELDS = (
    ("manufacturer", ftms.MANUFACTURER_NAME_UUID),
    ("model", ftms.MODEL_NUMBER_UUID),
    ("serial_number", ftms.SERIAL_NUMBER_UUID),
    ("hardware_revision", ftms.HARDWARE_REVISION_UUID),
    ("firmware_revision", ftms.FIRMWARE_REVISION_UUID),
    ("software_revision", ftms.SOFTWARE_REVISION_UUID),
)
# Notified characteristics in the order they are enabled: telemetry first, control point last.
SUBSCRIBE_ORDER = (
    ftms.TREADMILL_DATA_UUID,
    ftms.MACHINE_STATUS_UUID,
    ftms.TRAINING_STATUS_UUID,
    ftms.CONTROL_POINT_UUID,
)


class FtmsGatt:
    """The FTMS characteristics of one connected `BleakClient`."""

    def __init__(self, client: BleakClient, address: str) -> None:
        self.client = client
        self.address = address

    def _char(self, uuid: str) -> BleakGATTCharacteristic | None:
        # BleakClient.services raises BleakError before service discovery; after
        # establish_connection it has always run.
        try:
            return self.client.services.get_characteristic(uuid)
        except BLEAK_ERRORS as exc:
            raise bluetooth_error("look up services", exc, address=self.address) from exc

    def check_ftms(self) -> None:
        """Raise `UnsupportedDeviceError` unless the device has the FTMS control essentials."""
        try:
            service = self.client.services.get_service(ftms.FTMS_SERVICE_UUID)
        except BLEAK_ERRORS as exc:
            raise bluetooth_error("look up services", exc, address=self.address) from exc
        if service is None:
            raise UnsupportedDeviceError(
                "the device has no Fitness Machine service (0x1826): not an FTMS treadmill, or "
                "one that needs a vendor protocol treadctl does not speak",
                address=self.address,
            )
        if self._char(ftms.TREADMILL_DATA_UUID) is None:
            raise UnsupportedDeviceError(
                "the Fitness Machine service has no Treadmill Data (0x2ACD): not a treadmill",
                address=self.address,
            )

    async def read(self, uuid: str) -> bytes | None:
        """The characteristic's value, or None when the device does not have it."""
        char = self._char(uuid)
        if char is None:
            return None
        try:
            # read_gatt_char raises BleakGATTProtocolError (ATT error response), BleakError
            # (not connected), TimeoutError; backend errors (D-Bus) in rare cases.
            return bytes(await self.client.read_gatt_char(char))
        except BLEAK_ERRORS as exc:
            raise bluetooth_error(f"read {uuid[4:8]}", exc, address=self.address) from exc

    async def read_device_info(self) -> DeviceInfo:
        """Device Information strings; missing or unreadable ones are None (all optional)."""
        values: dict[str, str | None] = {}
        for name, uuid in _DIS_FIELDS:
            try:
                raw = await self.read(uuid)
            except BluetoothError as exc:
                if not self.client.is_connected:
                    raise
                log.info("device_info_unreadable", field=name, error=str(exc))
                raw = None
            text = raw.decode("utf-8", "replace").rstrip("\x00").strip() if raw else None
            values[name] = text or None
        return DeviceInfo(**values)

    async def subscribe(self, handler: NotifyHandler, gap_s: float) -> list[str]:
        """Enable notifications/indications one characteristic at a time, `gap_s` apart (Q22).

        `handler(uuid, data)` is called from bleak's callback and must only enqueue. Returns
        the UUIDs subscribed (those the device has with Notify or Indicate).
        """
        done: list[str] = []
        for uuid in SUBSCRIBE_ORDER:
            char = self._char(uuid)
            if char is None or not {"notify", "indicate"} & set(char.properties):
                continue
            if done and gap_s > 0:
                await asyncio.sleep(gap_s)
            try:
                # start_notify raises BleakCharacteristicNotFoundError, BleakError (not
                # connected), BleakGATTProtocolError (CCCD write refused), backend errors.
                await self.client.start_notify(char, _bound(handler, uuid))
            except BLEAK_ERRORS as exc:
                raise bluetooth_error(
                    f"subscribe to {uuid[4:8]}", exc, address=self.address
                ) from exc
            done.append(uuid)
        return done

    async def write_control_point(self, data: bytes) -> None:
        """Write a control-point request: with response when offered, else without (Q18).

        Raises `AttError` (with `att_code`) when the device refuses the write at ATT level,
        `BluetoothError` for anything else.
        """
        char = self._char(ftms.CONTROL_POINT_UUID)
        if char is None:
            raise UnsupportedDeviceError(
                "the device has no Fitness Machine Control Point (0x2AD9): it cannot be "
                "controlled, only watched",
                address=self.address,
            )
        with_response = "write" in char.properties
        try:
            # write_gatt_char raises BleakGATTProtocolError (ATT error: 0xFE procedure already
            # in progress, 0xFD CCCD improperly configured, 0x05/0x0F security), BleakError
            # (not connected), TimeoutError.
            await self.client.write_gatt_char(char, data, response=with_response)
        except BleakGATTProtocolError as exc:
            code = int(exc.code)
            raise AttError(f"the control point refused {data.hex()}", att_code=code) from exc
        except BLEAK_ERRORS as exc:
            raise bluetooth_error("write the control point", exc, address=self.address) from exc

    async def disconnect(self) -> None:
        """Drop the link; errors are logged, not raised (the link is going away anyway)."""
        try:
            # disconnect raises BleakError / backend errors when the adapter is gone.
            await self.client.disconnect()
        except BLEAK_ERRORS as exc:
            log.info("disconnect_failed", address=self.address, error=str(exc))


def _bound(
    handler: NotifyHandler, uuid: str
) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
    def on_notify(_sender: BleakGATTCharacteristic, data: bytearray) -> None:
        handler(uuid, bytes(data))

    return on_notify
