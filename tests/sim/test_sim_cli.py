"""`treadctl sim`: flags and files, and the virtual treadmill running in its own process."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from testsupport.virtual import sim_process

from treadctl import ftms
from treadctl.cli import main
from treadctl.sim.app import add_sim, build_treadmills
from treadctl.sim.settings import Quirks

TD = "00002acd-0000-1000-8000-00805f9b34fb"
CP = "00002ad9-0000-1000-8000-00805f9b34fb"


TYPO = "--quirk truncate_to_2: unknown key 'truncate_to_2'; did you mean truncate_to_20?"
OR_FAILS = "'ignored' or 'fails'"
ONE_CONTROLLER = "--count: a real controller carries one treadmill"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quirk", "truncate_to_2"], TYPO),
        (["--quirk", "request_control=x"], "--quirk: request_control must be 'spec', " + OR_FAILS),
        (["--set", "speed_max_kmh=fast"], "--set speed_max_kmh: must be a number, got 'fast'"),
        (["--set", "speed_max_kmh"], "--set: expected KEY=VALUE, got 'speed_max_kmh'"),
        (["--rate-hz", "0"], "--rate-hz: must be in (0, 50] Hz, got 0"),
        (["--count", "0"], "--count: must be 1 to 32, got 0"),
        (["--transport", "usb:0", "--count", "2"], ONE_CONTROLLER),
        (["--listen", "nowhere"], "--listen: expected HOST:PORT, got 'nowhere'"),
        (["--speedup", "-1"], "--speedup: must be in (0, 1000], got -1.0"),
    ],
)  # fmt: skip
def test_bad_flags_are_one_clear_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad flag gives exit code 2 and one line naming the flag and key."""
    assert main(["sim", *argv]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"treadctl sim: {message}"


def test_bad_quirks_file_names_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong value in the TOML file is reported with the file, table and key."""
    path = tmp_path / "pad.toml"
    path.write_text('[treadmill]\nrate_hz = 4\n[quirks]\ntruncate_to_20 = "yes"\n')
    assert main(["sim", "--quirks", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"treadctl sim: {path} [quirks].truncate_to_20: must be true or false, got 'yes'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[quirk]\n", "unknown table(s) ['quirk']; use [treadmill] and [quirks]"),
        ("[treadmill\n", "not valid TOML"),
        ("[treadmill]\nsped_max_kmh = 6\n", "[treadmill].sped_max_kmh: unknown key"),
    ],
)
def test_malformed_quirks_files(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown tables, broken TOML and misspelt keys are named with the file."""
    path = tmp_path / "q.toml"
    path.write_text(text)
    assert main(["sim", "--quirks", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_flags_override_the_quirks_file(tmp_path: Path) -> None:
    """Settings come from the defaults, then --quirks FILE, then the flags; --count numbers them."""
    path = tmp_path / "pad.toml"
    path.write_text(
        "[treadmill]\nrate_hz = 4\nspeed_max_kmh = 6\n"
        "[quirks]\ntruncate_to_20 = true\nstatus_echo = true\n"
    )
    parser = argparse.ArgumentParser()
    add_sim(parser)
    args = parser.parse_args(
        ["--quirks", str(path), "--set", "speed_max_kmh=8", "--quirk", "status_echo=false",
         "--quirk", "incline_scale=62.5", "--name", "Lane", "--count", "2"]
    )  # fmt: skip
    built = build_treadmills(args)
    assert [(c.name, c.rate_hz, c.speed_max_kmh) for c, _ in built] == [
        ("Lane-1", 4.0, 8.0),
        ("Lane-2", 4.0, 8.0),
    ]
    assert {q for _, q in built} == {Quirks(truncate_to_20=True, incline_scale=62.5)}


def test_list_quirks(capsys: pytest.CaptureFixture[str]) -> None:
    """--list-quirks prints every setting and quirk with its default."""
    assert main(["sim", "--list-quirks"]) == 0
    out = capsys.readouterr().out
    assert "[treadmill]" in out and "  truncate_to_20 = False" in out  # noqa: PT018


@pytest.mark.slow
async def test_sim_in_its_own_process() -> None:
    """`treadctl sim` in another process: scan, connect, 20-octet frames, control point, twice."""
    args = ("--quirk", "truncate_to_20", "--rate-hz", "10", "--speedup", "2", "--count", "2")
    async with sim_process(*args) as sim:
        for _ in range(2):  # a second client after the first left: the link was cleaned up
            async with sim.radio() as radio:
                found = await BleakScanner.discover(
                    0.5, return_adv=True, backend=radio.scanner_backend
                )
                by_name = {d.name: (d, a) for d, a in found.values()}
                device, adv = by_name["treadctl-sim-1"]
                assert (adv.rssi, by_name["treadctl-sim-2"][1].rssi) == (-60, -66)
                async with BleakClient(device, backend=radio.client_backend) as client:
                    frames: asyncio.Queue[bytes] = asyncio.Queue()
                    answers: asyncio.Queue[bytes] = asyncio.Queue()
                    await client.start_notify(TD, lambda _c, d, q=frames: q.put_nowait(bytes(d)))
                    await client.start_notify(CP, lambda _c, d, q=answers: q.put_nowait(bytes(d)))
                    data = await asyncio.wait_for(frames.get(), 10)
                    assert len(data) == 20
                    assert ftms.decode_treadmill_data(data).truncated
                    await client.write_gatt_char(CP, b"\x00", response=True)
                    assert await asyncio.wait_for(answers.get(), 10) == b"\x80\x00\x01"
    assert any(
        line.startswith("  scan:   treadctl scan --radio sim:127.0.0.1:") for line in sim.output
    )
    assert any("control point: request_control -> 0x01 success" in line for line in sim.output)
