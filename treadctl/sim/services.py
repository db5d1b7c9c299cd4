"""The virtual treadmill's GATT side: its database and the per-connection sender.

Owns: `build_services` (the Fitness Machine Service with every characteristic a treadmill has,
each notify/indicate one with a CCCD that the model answers — so Q22 can drop writes — and Device
Information), the control point's properties per the Q18 quirk, `Sender` (sends one connection's
notifications strictly in order and knows when a 0x80 indication is still unconfirmed),
`address_for` (a stable address per name), and the lines `treadctl sim` prints: a control-point
write, the `status` line and what to check when a real controller cannot be opened.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from bumble import hci
from bumble.device import Connection, Device
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    Characteristic,
    CharacteristicValue,
    Descriptor,
    Service,
)

from treadctl import ftms
from treadctl.sim import frames, trace
from treadctl.sim.adv import uuid128_to_str
from treadctl.sim.frames import Notification
from treadctl.sim.model import ControlPointWrite, TreadmillModel

log = logging.getLogger(__name__)

P = Characteristic.Properties
FTMS_UUID16 = 0x1826
CONNECTION_TIMEOUT_REASON = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR  # 0x08: as if powered off
_CP_PROPERTIES = {
    "write_indicate": P.WRITE | P.INDICATE,
    "write_nr_notify": P.WRITE_WITHOUT_RESPONSE | P.NOTIFY,  # BH Fitness (Q18)
    "write_nr_indicate": P.WRITE_WITHOUT_RESPONSE | P.INDICATE,  # CITYSPORTS CS-WP8 (Q18)
}


def address_for(name: str) -> str:
    """A stable random static address derived from the name (same name, same address)."""
    digest = bytearray(hashlib.sha256(name.encode()).digest()[:6])
    digest[0] |= 0xC0
    return ":".join(f"{b:02X}" for b in digest)


class Sender:
    """Sends one connection's notifications in order; tracks the unconfirmed 0x80."""

    def __init__(
        self, device: Device, connection: Connection, chars: dict[str, Characteristic[Any]]
    ) -> None:
        self._device = device
        self._connection = connection
        self._chars = chars
        self._queue: asyncio.Queue[tuple[list[Notification], asyncio.Future[None] | None]] = (
            asyncio.Queue()
        )
        self.cp_in_flight = False
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"sim-send-{connection.handle}"
        )

    def send(self, batch: list[Notification]) -> asyncio.Future[None]:
        """Queue `batch`; the future completes once it is sent (indications confirmed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if any(n.uuid == ftms.CONTROL_POINT_UUID and n.indication for n in batch):
            self.cp_in_flight = True
        self._queue.put_nowait((batch, done))
        return done

    async def _run(self) -> None:
        while True:
            batch, done = await self._queue.get()
            try:
                for notification in batch:
                    await self._send_one(notification)
            except Exception as exc:  # a dropped link or a timed-out confirmation
                log.debug("notification not delivered: %r", exc)
            finally:
                if done is not None and not done.done():
                    done.set_result(None)

    async def _send_one(self, n: Notification) -> None:
        char = self._chars[n.uuid]
        if trace.TRACE is not None:  # benchmarks only (off unless $TREADCTL_SIM_TRACE is set)
            kind = "indicate" if n.indication else "notify"
            trace.TRACE.record(kind, self._device.name, n.uuid, n.data)
        if not n.indication:
            await self._device.notify_subscriber(self._connection, char, n.data, force=True)
            return
        try:
            await self._device.indicate_subscriber(self._connection, char, n.data, force=True)
        finally:
            if n.uuid == ftms.CONTROL_POINT_UUID:
                self.cp_in_flight = False

    def close(self) -> None:
        """Stop sending (the connection is gone); what is still queued is dropped."""
        self._task.cancel()


def build_services(
    model: TreadmillModel,
    on_cccd: Callable[[str, bytes], None],
    on_cp_write: Callable[[Connection, bytes], Any],
) -> tuple[list[Service], dict[str, Characteristic[Any]]]:
    """The FTMS and Device Information services, and the FTMS characteristics by UUID."""

    def readable(uuid: str) -> Characteristic[Any]:
        value = CharacteristicValue(read=lambda _connection: model.read(uuid))
        return Characteristic(uuid, P.READ, Characteristic.READABLE, value)

    def notifying(uuid: str, properties: Characteristic.Properties, value: Any) -> Any:
        cccd = Descriptor(
            GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
            Descriptor.READABLE | Descriptor.WRITEABLE,
            CharacteristicValue(
                read=lambda _connection: model.cccd(uuid).to_bytes(2, "little"),
                write=lambda _connection, data: on_cccd(uuid, data),
            ),
        )
        permissions = Characteristic.Permissions(0)
        if properties & P.READ:
            permissions |= Characteristic.READABLE
        if properties & (P.WRITE | P.WRITE_WITHOUT_RESPONSE):
            permissions |= Characteristic.WRITEABLE
        return Characteristic(uuid, properties, permissions, value, descriptors=[cccd])

    cp_properties = _CP_PROPERTIES[model.quirks.control_point]
    fitness = [
        readable(ftms.FEATURE_UUID),
        notifying(ftms.TREADMILL_DATA_UUID, P.NOTIFY, b""),
        notifying(
            ftms.TRAINING_STATUS_UUID,
            P.READ | P.NOTIFY,
            CharacteristicValue(read=lambda _c: model.read(ftms.TRAINING_STATUS_UUID)),
        ),
        readable(ftms.SPEED_RANGE_UUID),
        readable(ftms.INCLINATION_RANGE_UUID),
        notifying(ftms.CONTROL_POINT_UUID, cp_properties, CharacteristicValue(write=on_cp_write)),
        notifying(ftms.MACHINE_STATUS_UUID, P.NOTIFY, b""),
    ]
    info = [readable(uuid) for uuid in frames.device_information(model.config)]
    services = [
        Service(ftms.FTMS_SERVICE_UUID, fitness),
        Service(ftms.DEVICE_INFORMATION_SERVICE_UUID, info),
    ]
    return services, {uuid128_to_str(c.uuid.to_bytes(force_128=True)): c for c in fitness}


def describe_write(write: ControlPointWrite) -> str:
    """`control point: set_target_speed 4.0 -> 0x01 success` (what `treadctl sim` prints)."""
    request = ftms.decode_control_point_request(write.data)
    value = request.value
    shown = (
        f" {value.name.lower() if hasattr(value, 'name') else value}" if value is not None else ""
    )
    answer = (
        f"0x{write.result:02X} {ftms.ResultCode(write.result).name.lower()}"
        if write.result is not None
        else "no response"
    )
    note = f" ({write.note})" if write.note else ""
    return f"control point: {request.op_code.name.lower()}{shown} -> {answer}{note}"


def describe_status(model: TreadmillModel, *, connected: bool) -> str:
    """`treadctl sim`'s `status` line: session state, belt, incline, counters, link."""
    m = model
    link = "connected" if connected else "advertising"
    control = ", client in control" if m.has_control and m.connected else ""
    key = "" if m.safety_key_in else ", SAFETY KEY OUT"
    armed = "" if m.drop_after_fragments is None else ", drop mid-record armed"
    return (
        f"{m.state.value}, belt {m.belt_speed_kmh:.2f} km/h (target {m.target_speed_kmh:.2f}), "
        f"incline {m.incline_pct:.1f} %, {m.belt.distance_m:.0f} m, "
        f"{m.belt.elapsed_s:.0f} s, {link}{control}{key}{armed}"
    )


def transport_hint(spec: str) -> str:
    """What usually stands in the way of a real controller (bumble docs, platforms/linux)."""
    if spec.startswith("usb:"):
        return (
            "Is the dongle plugged in (`lsusb`), may this user open it (a udev rule, or sudo), "
            "and is BlueZ off it (`sudo hciconfig hciN down`)?"
        )
    if spec.startswith("hci-socket:"):
        return (
            "The HCI user channel needs the interface down (`sudo hciconfig hciN down`; stop "
            "bluetoothd if it takes it back) and CAP_NET_ADMIN (run with sudo)."
        )
    return "Check the transport name (bumble transports: usb:0, hci-socket:0, serial:DEV)."
