"""`treadctl sim --local`: the in-process central's lines, its throttle, and the command itself.

Byte vectors follow the layouts of ref/ftms-spec.md (§2 Feature, §3 Treadmill Data, §4–5 ranges,
§6 Training Status, §8 Machine Status) and ref/ftms-quirks.md (Q1 bit-13 steps, Q2 cut frames,
Q6 padded statuses, Q7 empty strings); the characteristic UUIDs are FTMS v1.0 Table 4.1 literals.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from treadctl import ftms
from treadctl.sim import readout
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import SimLink
from treadctl.sim.local import watching
from treadctl.sim.settings import Quirks, TreadmillConfig

REPO = Path(__file__).resolve().parents[2]
TD = "00002acd-0000-1000-8000-00805f9b34fb"
TS = "00002ad3-0000-1000-8000-00805f9b34fb"
MS = "00002ada-0000-1000-8000-00805f9b34fb"
FTMS_UUID = "00001826-0000-1000-8000-00805F9B34FB"  # as some stacks spell it: upper case
ADDRESS = "C0:00:00:00:00:01"


# --- the lines, from octets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"\x8c\x04\xfa\x00\xd2\x04\x00\xf6\xff\xff\x7f\x0c\x00\xff\xff\xff\x7d\x00",
         "telemetry: 2.50 km/h, incline -1.0 %, 1234 m, 2:05 elapsed, 12 kcal"),
        (b"\x0c\x04\x2c\x01\x78", "telemetry: 3.00 km/h (frame cut short)"),  # Q2
        (b"\x00\x20\x64\x00\x2a\x00\x00", "telemetry: 1.00 km/h, 42 steps"),  # Q1, bit 13
        (b"\x01\x00", "telemetry: speed absent"),  # a More Data fragment
    ],
)  # fmt: skip
def test_telemetry_line(data: bytes, line: str) -> None:
    """A Treadmill Data record becomes one line with only the fields that were sent."""
    record = ftms.decode_treadmill_data(data, step_count_ext=True)
    assert readout.telemetry_line(record) == line


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"\x04", "machine status: started or resumed by user"),
        (b"\x04\x00\x00", "machine status: started or resumed by user"),  # Q6 padding
        (b"\x02\x02", "machine status: stopped or paused by user: pause"),
        (b"\x05\x2c\x01", "machine status: target speed changed: 3.00 km/h"),
        (b"\x06\xf6\xff", "machine status: target incline changed: -1.0 %"),
        (b"\xff", "machine status: control permission lost"),
        (b"\x63", "machine status: unknown 0x63"),  # RFU op codes decode, never crash
    ],
)
def test_machine_status_line(data: bytes, line: str) -> None:
    """A Fitness Machine Status names its op code and parameter, unknown codes included."""
    assert readout.machine_status_line(data) == line


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"\x00\x0d", "training status: manual mode"),
        (b"\x01\x01", "training status: idle ''"),  # Q7: string flag, empty string
        (b"\x01\x0eWarm up", "training status: pre workout 'Warm up'"),
    ],
)
def test_training_status_line(data: bytes, line: str) -> None:
    """A Training Status names its status and quotes its string when one was sent."""
    assert readout.training_status_line(data) == line


def test_feature_ranges_and_found_lines() -> None:
    """Feature shows both bit fields in hex with their names; ranges in km/h and %."""
    assert readout.feature_line(b"\x0c\x12\x00\x00\x03\x00\x00\x00") == (
        "FTMS Feature: machine 0x0000120C (total_distance, inclination, expended_energy, "
        "elapsed_time); targets 0x00000003 (speed_target, inclination_target)"
    )
    assert readout.feature_line(b"\x00\x00\x00\x80\x00\x00\x00\x00") == (
        "FTMS Feature: machine 0x80000000 (none); targets 0x00000000 (none)"  # RFU bit only
    )
    assert readout.ranges_line(b"\x50\x00\x40\x06\x0a\x00", b"\xe2\xff\x96\x00\x05\x00") == (
        "supported ranges: speed 0.80–16.00 km/h by 0.10, incline -3.0–15.0 % by 0.5"
    )
    assert readout.found_line("Lane", ADDRESS, -60, [FTMS_UUID]) == (
        f"found Lane at {ADDRESS}, RSSI -60 dBm, FTMS advertised"
    )
    assert readout.found_line(None, ADDRESS, -72, []) == (
        f"found (no name) at {ADDRESS}, RSSI -72 dBm, FTMS not advertised (found by address)"
    )


def test_unreadable_and_undecodable_values_are_lines_not_errors() -> None:
    """A missing or short value is a line naming it and its octets, never an exception."""
    assert readout.feature_line(None) == "FTMS Feature not readable"
    assert readout.feature_line(b"\x0c\x12").startswith("FTMS Feature undecodable (0c 12): ")
    assert readout.ranges_line(None, b"\x01").startswith(
        "supported ranges: speed not readable, incline undecodable (01): "
    )
    assert readout.machine_status_line(b"").startswith("machine status undecodable (empty): ")
    assert readout.training_status_line(b"\x00").startswith("training status undecodable (00): ")


def test_throttle_one_line_a_second_and_every_start_and_stop() -> None:
    """At most one line per interval (10 % early allowed), plus one whenever the belt starts or
    stops; a reset makes the next record due."""
    throttle = readout.TelemetryThrottle(every_s=1.0)
    offered = [(0.0, 0.0), (0.0, 0.5), (0.0, 0.95), (0.0, 1.5), (1.0, 1.6), (1.2, 1.7),
               (1.2, 2.55), (0.0, 2.6), (None, 2.7), (0.0, 3.45), (0.0, 3.55),
               (0.0, 3.6)]  # fmt: skip
    due = [throttle.due(speed_kmh, now_s) for speed_kmh, now_s in offered]
    assert due == [True, False, True, False, True, False, True, True, False, False, True, False]
    throttle.reset()
    assert throttle.due(0.0, 3.7)
    assert all(readout.TelemetryThrottle(every_s=0.0).due(1.0, 5.0) for _ in range(3))
    with pytest.raises(ValueError, match="every_s"):
        readout.TelemetryThrottle(every_s=-1.0)


# --- the central, in this process -------------------------------------------------------------


class Lines:
    """Printed lines, with a bounded wait for the next one that matches."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Event()

    def add(self, line: str) -> None:
        self.lines.append(line)
        self._changed.set()

    def say_for(self, name: str) -> Callable[[str], None]:
        return lambda text: self.add(f"[{name}] {text}")

    async def wait(
        self, match: Callable[[str], bool], start: int = 0, timeout_s: float = 20
    ) -> int:
        """The index of the first line from `start` on that matches (AssertionError if none)."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    for index in range(start, len(self.lines)):
                        if match(self.lines[index]):
                            return index
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError("no such line in:\n" + "\n".join(self.lines)) from None


SUBSCRIBED = "central: subscribed to Treadmill Data, Machine Status, Training Status"


async def test_central_reads_subscribes_and_comes_back_after_a_drop() -> None:
    """The central finds the treadmill, reads it, subscribes through Q22's CCCD gap, decodes
    Q1 steps, follows the console, sends no command, and connects again after a drop."""
    link, lines = SimLink(), Lines()
    config = TreadmillConfig(name="Lane", rate_hz=10.0)
    quirks = Quirks(step_count_ext=True, cccd_min_gap_s=0.5)
    async with (
        VirtualTreadmill(config, quirks, link=link, speedup=10, advertising_interval_ms=20) as t,
        watching(link, [t], lines.say_for, every_s=0.0),
    ):
        await lines.wait(lambda line: line.startswith(f"[Lane] {SUBSCRIBED}"))
        assert [t.model.cccd(uuid) for uuid in (TD, MS, TS)] == [1, 1, 1]  # none was dropped
        t.press_start()
        await lines.wait(lambda line: line == "[Lane] central: machine status: started or "
                         "resumed by user")  # fmt: skip
        await lines.wait(lambda line: line.startswith("[Lane] central: telemetry: 1.00 km/h, ")
                         and line.endswith(" steps"))  # fmt: skip
        await t.drop_link()
        dropped = await lines.wait(lambda line: line.endswith("the link dropped; connecting again"))
        await lines.wait(lambda line: line.startswith(f"[Lane] {SUBSCRIBED}"), start=dropped)
        assert t.model.writes == []  # a viewer: the control point was never written
    assert lines.lines[0] == f"[Lane] central: found Lane at {t.address}, RSSI -60 dBm, " + (
        "FTMS advertised"
    )


# --- the command, as a user runs it -----------------------------------------------------------


class SimLocal(Lines):
    """A `python -m treadctl sim --local ...` process: its output lines and its stdin."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__()
        self.process = process

    def type(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")

    async def exit_code(self, timeout_s: float = 20) -> int:
        async with asyncio.timeout(timeout_s):
            return await self.process.wait()


@contextlib.asynccontextmanager
async def sim_local(*args: str) -> AsyncIterator[SimLocal]:
    """Run `treadctl sim --local ARGS` with a pipe for stdin; killed if still running at exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "treadctl", "sim", "--local", *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    sim = SimLocal(process)

    async def pump() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            sim.add(line.decode(errors="replace").rstrip("\n"))

    reader = asyncio.get_running_loop().create_task(pump(), name="sim-local-output")
    try:
        yield sim
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await reader


FAST = ("--speedup", "10", "--rate-hz", "10", "--set", "speed_max_kmh=6",
        "--set", "incline_max_pct=10")  # fmt: skip
RANGES = "[treadctl-sim] central: supported ranges: speed 0.80–6.00 km/h by 0.10, incline " + (
    "0.0–10.0 % by 0.5"
)


def telemetry_of(name: str) -> Callable[[str], bool]:
    return lambda line: line.startswith(f"[{name}] central: telemetry: ")


def telemetry_at(speed: str) -> Callable[[str], bool]:
    return lambda line: line.startswith(f"[treadctl-sim] central: telemetry: {speed} km/h, ")


@pytest.mark.slow
async def test_sim_local_follows_the_console_and_quits() -> None:
    """`treadctl sim --local` prints the Feature and ranges it read, telemetry that follows the
    console's start, speed and pause, and `quit` ends it with exit 0 and no traceback."""
    async with sim_local(*FAST) as sim:
        await sim.wait(lambda line: line.startswith("[treadctl-sim] central: FTMS Feature: "))
        await sim.wait(lambda line: line == RANGES)
        ready = await sim.wait(lambda line: line.startswith(f"[treadctl-sim] {SUBSCRIBED}"))
        await sim.wait(telemetry_at("0.00"), start=ready)
        sim.type("start")
        started = await sim.wait(telemetry_at("1.00"), start=ready)
        sim.type("speed 3")
        fast = await sim.wait(telemetry_at("3.00"), start=started)
        assert (
            "[treadctl-sim] central: machine status: target speed changed: 3.00 km/h"
            in (sim.lines[started:fast])
        )
        sim.type("pause")
        await sim.wait(telemetry_at("0.00"), start=fast)
        sim.type("quit")
        assert await sim.exit_code() == 0
    assert sim.lines[0].startswith(
        "treadctl sim: 1 virtual treadmill on the virtual link with a central watching (--local)"
    )
    assert sim.lines[-1] == "treadctl sim: stopped"
    assert not [line for line in sim.lines if "Traceback" in line]


@pytest.mark.slow
async def test_sim_local_console_drops_the_link_mid_record() -> None:
    """`drop mid` arms the fault: the next record split with More Data goes out up to its first
    fragment, the link drops, the central connects again, and `status` shows nothing armed."""
    async with sim_local(*FAST, "--quirk", "more_data_split=24") as sim:
        ready = await sim.wait(lambda line: line.startswith(f"[treadctl-sim] {SUBSCRIBED}"))
        sim.type("drop middle")
        await sim.wait(lambda line: line.startswith("unknown command 'drop middle'; "))
        sim.type("drop mid")
        armed = await sim.wait(
            lambda line: (
                line == "[treadctl-sim] fault: the link drops after 1 More Data fragment(s)"
            )
        )
        cut = await sim.wait(lambda line: line.endswith("the link dropped; connecting again"))
        assert "[treadctl-sim] dropping the link (reason 0x08)" in sim.lines[armed:cut]
        await sim.wait(lambda line: line.startswith(f"[treadctl-sim] {SUBSCRIBED}"), start=cut)
        sim.type("status")
        status = await sim.wait(lambda line: line.startswith("idle, belt "), start=cut)
        assert not sim.lines[status].endswith("armed"), "the fault fires once"
        sim.type("quit")
        assert await sim.exit_code() == 0
    assert ready < armed
    assert not [line for line in sim.lines if "Traceback" in line]


@pytest.mark.slow
async def test_sim_local_ends_cleanly_on_sigterm() -> None:
    """SIGTERM while the central is watching two treadmills ends `sim --local` with exit 0."""
    async with sim_local(*FAST, "--count", "2", "--no-console") as sim:
        for name in ("treadctl-sim-1", "treadctl-sim-2"):
            await sim.wait(telemetry_of(name))
        sim.process.send_signal(signal.SIGTERM)
        assert await sim.exit_code() == 0
    assert sim.lines[-1] == "treadctl sim: stopped"
    assert not [line for line in sim.lines if "Traceback" in line]
