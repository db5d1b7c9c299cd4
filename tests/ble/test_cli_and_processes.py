"""`treadctl scan` and the link with the virtual treadmill in another process, as users run it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from testsupport.virtual import REPO, sim_process

from treadctl import ftms
from treadctl.ble import LinkConnected, ScanResult, TelemetryReceived, TreadmillLink
from treadctl.cli import main
from treadctl.daemon.radio import open_radio, sim_radio_spec
from treadctl.daemon.scan import format_table
from treadctl.errors import ConfigError

from .conftest import Commands, fast_backoff, next_event


def result(name: str | None, rssi: int | None, *, by_name: bool = False) -> ScanResult:
    return ScanResult(
        name=name,
        address="AA:BB:CC:DD:EE:01",
        rssi_dbm=rssi,
        ftms_advertised=not by_name,
        matched_by_name=by_name,
        machine_type=None if by_name else ftms.FitnessMachineType.TREADMILL,
        available=None if by_name else True,
        profile="kingsmith" if by_name else "default",
        device=BLEDevice("AA:BB:CC:DD:EE:01", name, None),
    )


def test_table_lists_every_column() -> None:
    """The table has name, address, RSSI, how FTMS was recognised, machine type, profile."""
    table = format_table([result("Gym 1", -42), result("KS-HD-Z1D", None, by_name=True)])
    assert table.splitlines() == [
        "NAME       ADDRESS            RSSI     FTMS        TYPE       PROFILE",
        "Gym 1      AA:BB:CC:DD:EE:01  -42 dBm  advertised  treadmill  default",
        "KS-HD-Z1D  AA:BB:CC:DD:EE:01  ?        by name     ?          kingsmith",
    ]


def test_scan_with_nothing_in_range_says_so_with_hints(capsys: pytest.CaptureFixture[str]) -> None:
    """An empty in-process virtual link: exit 1 and what to check."""
    assert main(["scan", "--radio", "sim:local", "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "no FTMS treadmill heard in 0.5 s" in err
    assert "switched on and awake" in err


def test_scan_with_an_unreachable_sim_explains(capsys: pytest.CaptureFixture[str]) -> None:
    """A sim radio nobody serves: exit 2, the address, and how to start the sim."""
    assert main(["scan", "--radio", "sim:127.0.0.1:1", "--timeout", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the virtual treadmill at 127.0.0.1:1" in err
    assert "listening on sim:HOST:PORT" in err


def test_scan_with_an_unknown_radio_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    """A radio that is neither bluez nor sim:… is refused with the allowed forms."""
    assert main(["scan", "--radio", "wifi"]) == 2
    assert "use 'bluez', 'sim:HOST:PORT'" in capsys.readouterr().err


def test_scan_refuses_a_silly_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout outside 0.5–120 s is an argument error."""
    with pytest.raises(SystemExit):
        main(["scan", "--timeout", "0"])
    assert "between 0.5 and 120 seconds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "virtual"),
    [
        ("sim:local", "local"),
        ("sim:127.0.0.1:7900", "tcp:127.0.0.1:7900"),
        ("sim:[::1]:9", "tcp:[::1]:9"),
    ],
)
def test_sim_radio_specs(spec: str, virtual: str) -> None:
    """sim:… radio specs map to the virtual radio's own specs."""
    assert sim_radio_spec(spec) == virtual


@pytest.mark.parametrize("spec", ["sim:", "sim:host", "sim:host:0", "tcp:1.2.3.4:5", "bluetooth"])
def test_bad_radio_specs_are_refused(spec: str) -> None:
    """Malformed radio specs raise ConfigError naming the radio key."""
    with pytest.raises(ConfigError, match="radio: unknown radio"):
        sim_radio_spec(spec)


async def test_bluez_radio_is_the_platform_backend() -> None:
    """`bluez` leaves both backends to bleak (None)."""
    async with open_radio("bluez") as radio:
        assert (radio.scanner_backend, radio.client_backend, radio.is_virtual) == (
            None,
            None,
            False,
        )


@pytest.mark.slow
async def test_scan_command_finds_a_sim_in_another_process() -> None:
    """`treadctl sim` in one process, `treadctl scan --radio sim:…` in another: it is listed."""
    async with sim_process("--name", "Other-Process") as sim:
        scan = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "treadctl", "scan", "--radio", sim.spec, "--timeout", "2",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=Path(REPO),
        )  # fmt: skip
        out, err = await scan.communicate()
    assert scan.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0].split() == ["NAME", "ADDRESS", "RSSI", "FTMS", "TYPE", "PROFILE"]
    assert lines[1].split()[0] == "Other-Process"
    assert "advertised" in lines[1]


@pytest.mark.slow
async def test_link_to_a_sim_in_another_process(cmd: Commands) -> None:
    """The link connects across processes, receives telemetry and sets the speed."""
    async with (
        sim_process("--name", "Remote-1", "--rate-hz", "10", "--set", "accel_kmh_per_s=10") as sim,
        open_radio(sim.spec) as radio,
    ):
        link = TreadmillLink(
            name="Remote-1",
            client_backend=radio.client_backend,
            scanner_backend=radio.scanner_backend,
            scan_timeout_s=5.0,
            backoff=fast_backoff(),
        )
        async with link:
            connected = await next_event(link, LinkConnected)
            await link.send(cmd.start())
            await link.send(cmd.speed(2.0))
            moving = await next_event(link, TelemetryReceived, lambda e: e.record.speed_kmh == 2.0)
    assert connected.device_caps.max_speed_kmh == 16.0
    assert moving.record.speed_kmh == 2.0
