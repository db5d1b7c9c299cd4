"""Virtual FTMS treadmills for tests, and the bleak backend pointed at them.

Two ways, the same bleak code on top:

In-process — fast, and the machine is right there to inspect and to break:

    from testsupport.virtual import virtual_treadmills
    from treadctl.sim.settings import Quirks

    async with virtual_treadmills(Quirks(truncate_to_20=True), speedup=10) as bench:
        device = await bench.find()                      # a BLEDevice from a real scan
        client = await establish_connection(
            BleakClient, device, "treadmill", backend=bench.client_backend
        )
        bench.treadmill.press_start()                    # console, safety key, faults:
        bench.model.force_result(0x02, 0x04)             # see VirtualTreadmill / TreadmillModel
        assert bench.model.writes[-1].data == b"\\x02\\x90\\x01"

    The bench uses the running loop's shared link, so code that opens its own radio with
    `VirtualRadio("sim:local")` (the daemon with `[bluetooth] radio = "sim:local"`) finds the
    same treadmills. `bench.scanner_backend` / `bench.client_backend` are the bleak backend classes
    (`ble.scan(..., scanner_backend=...)`, `BleakClient(..., backend=...)`).
    `count=8` gives eight treadmills named `treadctl-sim-1` … `-8`, heard at falling RSSI.

Cross-process — the sim in its own process, as a user runs it:

    from testsupport.virtual import sim_process

    async with sim_process("--quirk", "truncate_to_20", "--rate-hz", "4") as sim:
        async with sim.radio() as radio:                  # VirtualRadio(sim.spec)
            devices = await BleakScanner.discover(1.0, backend=radio.scanner_backend)
        sim.spec                                          # "sim:127.0.0.1:PORT" for the daemon
        sim.output                                        # what `treadctl sim` printed so far

Nothing here sleeps to wait: readiness is the sim's own "listening on" line, and `find()`
returns as soon as the treadmill is heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner

from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import SimLink, shared_link
from treadctl.sim.model import TreadmillModel
from treadctl.sim.radio import VirtualRadio
from treadctl.sim.settings import Quirks, TreadmillConfig, numbered

REPO = Path(__file__).resolve().parents[2]
FAST_ADVERTISING_MS = 20.0  # scans and connects complete within a few tens of milliseconds


@dataclass
class Bench:
    """In-process virtual treadmills and a radio on the same link."""

    link: SimLink
    treadmills: list[VirtualTreadmill]
    radio: VirtualRadio

    @property
    def treadmill(self) -> VirtualTreadmill:
        """The first treadmill."""
        return self.treadmills[0]

    @property
    def model(self) -> TreadmillModel:
        """The first treadmill's pure model (state, write log, history, fault hooks)."""
        return self.treadmills[0].model

    @property
    def scanner_backend(self) -> type[BaseBleakScanner]:
        """bleak scanner backend class on this bench's radio."""
        return self.radio.scanner_backend

    @property
    def client_backend(self) -> type[BaseBleakClient]:
        """bleak client backend class on this bench's radio."""
        return self.radio.client_backend

    async def find(self, index: int = 0, timeout_s: float = 5.0) -> BLEDevice:
        """Scan until treadmill `index` is heard; its `BLEDevice` (AssertionError if not)."""
        address = self.treadmills[index].address
        device = await BleakScanner.find_device_by_address(
            address, timeout_s, backend=self.scanner_backend
        )
        assert device is not None, f"virtual treadmill {address} was not heard in {timeout_s} s"
        return device

    @contextlib.asynccontextmanager
    async def client(self, index: int = 0) -> AsyncIterator[BleakClient]:
        """A connected `BleakClient` on treadmill `index` (disconnected on exit)."""
        device = await self.find(index)
        async with BleakClient(device, backend=self.client_backend) as client:
            yield client


@contextlib.asynccontextmanager
async def virtual_treadmills(
    quirks: Quirks | None = None,
    config: TreadmillConfig | None = None,
    *,
    count: int = 1,
    speedup: float = 1.0,
) -> AsyncIterator[Bench]:
    """`count` virtual treadmills on the loop's shared link, and a `VirtualRadio` on it."""
    base = config or TreadmillConfig()
    link = shared_link()
    treadmills = []
    async with contextlib.AsyncExitStack() as stack:
        for index in range(count):
            treadmill = VirtualTreadmill(
                numbered(base, index, count),
                quirks,
                link=link,
                speedup=speedup,
                advertising_interval_ms=FAST_ADVERTISING_MS,
            )
            treadmills.append(await stack.enter_async_context(treadmill))
        radio = await stack.enter_async_context(VirtualRadio("sim:local", link=link))
        yield Bench(link, treadmills, radio)


@dataclass
class SimProcess:
    """A running `treadctl sim` process serving its link over TCP."""

    spec: str
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)

    def radio(self) -> VirtualRadio:
        """A `VirtualRadio` connected to this process (use `async with`)."""
        return VirtualRadio(self.spec)


@contextlib.asynccontextmanager
async def sim_process(*args: str, ready_timeout_s: float = 30.0) -> AsyncIterator[SimProcess]:
    """Run `python -m treadctl sim --listen 127.0.0.1:0 --no-console ARGS`; stop it on exit.

    Raises AssertionError with the sim's output if it exits or says nothing ready in time.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "treadctl", "sim", "--listen", "127.0.0.1:0", "--no-console",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO,
        env=env,
    )  # fmt: skip
    assert process.stdout is not None
    output: list[str] = []
    spec = None
    try:
        async with asyncio.timeout(ready_timeout_s):
            while spec is None:
                line = (await process.stdout.readline()).decode(errors="replace")
                if not line:
                    break
                output.append(line.rstrip("\n"))
                if line.startswith("listening on "):
                    spec = line.split()[2]
    except TimeoutError:
        pass
    if spec is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise AssertionError("treadctl sim did not start:\n" + "\n".join(output))

    async def pump() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            output.append(line.decode(errors="replace").rstrip("\n"))

    reader = asyncio.get_running_loop().create_task(pump(), name="sim-output")
    try:
        yield SimProcess(spec, process, output)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
