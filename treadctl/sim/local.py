"""`treadctl sim --local`: the virtual treadmills and a central watching them, in one process.

Owns: `watching(link, treadmills, say_for)` (async context manager) — a `VirtualRadio` on the
treadmills' in-process link and, for each treadmill, a task that plays a plain bleak central:
scan for its address, connect, read FTMS Feature and the Supported Ranges, subscribe to Treadmill
Data, Machine Status and Training Status, and print each value as `readout` words it (telemetry
throttled), connecting again whenever the link drops (console `drop`). It is a viewer: it never
writes the control point, so the belt moves only when someone uses the console.

What it knows because it shares the process (a real central learns it from its quirk profile):
whether Treadmill Data carries the vendor bit-13 step count (Q1), and how far apart to write the
CCCDs of a treadmill that drops writes too close together (Q22).

Rules: bleak callbacks only enqueue; a bleak error or timeout becomes a printed line and a new
try a second later, an undecodable value a printed line; the tasks end when the context exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeAlias

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from treadctl import ftms
from treadctl.sim import readout
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import SimLink
from treadctl.sim.radio import VirtualRadio

log = logging.getLogger(__name__)

Say = Callable[[str], None]
SCAN_TIMEOUT_S = 10.0  # wall-clock seconds to hear a treadmill before saying so and scanning again
RETRY_S = 1.0  # pause before connecting again after a failure or a dropped link
CCCD_GAP_MARGIN = 1.25  # Q22: write CCCDs this much further apart than the treadmill needs
SUBSCRIBED = (
    (ftms.TREADMILL_DATA_UUID, "Treadmill Data"),
    (ftms.MACHINE_STATUS_UUID, "Machine Status"),
    (ftms.TRAINING_STATUS_UUID, "Training Status"),
)
_Inbox: TypeAlias = asyncio.Queue[tuple[str, bytes] | None]  # None: the link dropped


@contextlib.asynccontextmanager
async def watching(
    link: SimLink,
    treadmills: Sequence[VirtualTreadmill],
    say_for: Callable[[str], Say],
    *,
    every_s: float = 1.0,
) -> AsyncIterator[VirtualRadio]:
    """Watch each running treadmill from a central on `link` until the context exits.

    `say_for(name)` gives the function that prints a line about treadmill `name` (the central's
    lines start with "central: "); telemetry gets at most one line every `every_s` wall-clock
    seconds per treadmill (and one when the belt starts or stops). Yields the radio (its bumble
    central is `radio.device`). Raises `BluetoothError` only if the radio cannot be opened.
    """
    async with VirtualRadio("sim:local", link=link) as radio:
        loop = asyncio.get_running_loop()
        tasks = []
        for treadmill in treadmills:
            name = treadmill.model.config.name
            say = functools.partial(_central_says, say_for(name))
            watcher = _Watcher(radio, treadmill, say, readout.TelemetryThrottle(every_s))
            task = loop.create_task(watcher.run(), name=f"sim-central-{name}")
            task.add_done_callback(functools.partial(_report_crash, say=say))
            tasks.append(task)
        try:
            yield radio
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _central_says(say: Say, text: str) -> None:
    say(f"central: {text}")


def _report_crash(task: asyncio.Task[None], say: Say) -> None:
    """A central that ended on its own hit a bug: say so (the treadmill keeps running)."""
    if task.cancelled() or task.exception() is None:
        return
    exc = task.exception()
    log.error("sim_central_failed", exc_info=exc)
    say(f"stopped by an unexpected error: {type(exc).__name__}: {exc}")


class _Watcher:
    """One treadmill's central: find, connect, read, subscribe, print; again after a drop."""

    def __init__(
        self,
        radio: VirtualRadio,
        treadmill: VirtualTreadmill,
        say: Say,
        throttle: readout.TelemetryThrottle,
    ) -> None:
        self._radio = radio
        self._address = treadmill.address.upper()
        quirks = treadmill.model.quirks
        self._step_count_ext = quirks.step_count_ext
        self._cccd_gap_s = quirks.cccd_min_gap_s / treadmill.speedup * CCCD_GAP_MARGIN
        self._say = say
        self._throttle = throttle

    async def run(self) -> None:
        """Watch until cancelled; errors are printed and followed by a new try."""
        while True:
            try:
                await self._visit()
            except (BleakError, TimeoutError) as exc:
                self._say(f"{type(exc).__name__}: {exc or 'no detail'}; trying again")
            await asyncio.sleep(RETRY_S)

    async def _find(self) -> tuple[BLEDevice, AdvertisementData] | None:
        heard: list[AdvertisementData] = []

        def match(device: BLEDevice, adv: AdvertisementData) -> bool:
            if device.address.upper() != self._address:
                return False
            heard.append(adv)
            return True

        device = await BleakScanner.find_device_by_filter(
            match, timeout=SCAN_TIMEOUT_S, backend=self._radio.scanner_backend
        )
        return None if device is None or not heard else (device, heard[-1])

    async def _visit(self) -> None:
        """One connection, from the scan to the link dropping."""
        found = await self._find()
        if found is None:
            self._say(f"{self._address} not heard in {SCAN_TIMEOUT_S:g} s; scanning")
            return
        device, adv = found
        self._say(readout.found_line(device.name, device.address, adv.rssi, adv.service_uuids))
        inbox: _Inbox = asyncio.Queue()
        async with BleakClient(
            device, lambda _client: inbox.put_nowait(None), backend=self._radio.client_backend
        ) as client:
            self._say(readout.feature_line(await _read(client, ftms.FEATURE_UUID)))
            speed = await _read(client, ftms.SPEED_RANGE_UUID)
            incline = await _read(client, ftms.INCLINATION_RANGE_UUID)
            self._say(readout.ranges_line(speed, incline))
            await self._subscribe(client, inbox)
            await self._show(inbox)
        self._say("the link dropped; connecting again")

    async def _subscribe(self, client: BleakClient, inbox: _Inbox) -> None:
        names = []
        for index, (uuid, name) in enumerate(SUBSCRIBED):
            if index and self._cccd_gap_s > 0:
                await asyncio.sleep(self._cccd_gap_s)  # Q22: closer CCCD writes are dropped
            try:
                await client.start_notify(uuid, _enqueue(inbox, uuid))
            except BleakError as exc:
                if not client.is_connected:
                    raise
                self._say(f"cannot subscribe to {name}: {exc}")
                continue
            names.append(name)
        self._say(
            f"subscribed to {', '.join(names) or 'nothing'} "
            "(a viewer: it sends no commands, the console drives the belt)"
        )

    async def _show(self, inbox: _Inbox) -> None:
        """Print what arrives until the link drops."""
        loop = asyncio.get_running_loop()
        assembler = ftms.TreadmillDataAssembler(step_count_ext=self._step_count_ext)
        self._throttle.reset()
        while (item := await inbox.get()) is not None:
            uuid, data = item
            if uuid == ftms.MACHINE_STATUS_UUID:
                self._say(readout.machine_status_line(data))
            elif uuid == ftms.TRAINING_STATUS_UUID:
                self._say(readout.training_status_line(data))
            else:
                try:
                    record = assembler.feed(data)
                except ftms.FTMSDecodeError as exc:
                    if self._throttle.due(None, loop.time()):
                        self._say(readout.undecodable("telemetry", data, exc))
                    continue
                if record is not None and self._throttle.due(record.speed_kmh, loop.time()):
                    self._say(readout.telemetry_line(record))


def _enqueue(inbox: _Inbox, uuid: str) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
    """A notification callback that only enqueues (uuid, octets)."""
    return lambda _characteristic, data: inbox.put_nowait((uuid, bytes(data)))


async def _read(client: BleakClient, uuid: str) -> bytes | None:
    """A characteristic's value, or None when the treadmill has none or refuses the read."""
    try:
        return bytes(await client.read_gatt_char(uuid))
    except BleakError:
        if not client.is_connected:
            raise
        return None
