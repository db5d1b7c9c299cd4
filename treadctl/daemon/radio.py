"""Which radio the Bluetooth code talks through: the system's BlueZ or a virtual treadmill.

Owns: turning a radio spec string into the bleak backend classes `treadctl.ble` takes
(`scanner_backend`, `client_backend`). `bluez` is bleak's own platform backend (both None);
`sim:HOST:PORT` is the virtual radio of a `treadctl sim` process (HCI over TCP); `sim:local`
is the in-process virtual link a `VirtualTreadmill` in the same event loop sits on (tests, demo).
`treadctl.sim` needs the `demo` extra (bumble), so it is imported only when asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from treadctl.errors import ConfigError

BLUEZ = "bluez"
SIM_PREFIX = "sim:"


@dataclass(frozen=True)
class Radio:
    """The backends for `treadctl.ble`; None means bleak's platform default (BlueZ on Linux)."""

    spec: str
    scanner_backend: type[BaseBleakScanner] | None = None
    client_backend: type[BaseBleakClient] | None = None

    @property
    def is_virtual(self) -> bool:
        """True when the radio is the virtual treadmill's, not real Bluetooth."""
        return self.spec != BLUEZ


def sim_radio_spec(spec: str) -> str:
    """The `VirtualRadio` spec for a `sim:…` radio spec; raises `ConfigError` when malformed."""
    if spec.startswith(SIM_PREFIX):
        rest = spec.removeprefix(SIM_PREFIX)
        if rest == "local":
            return "local"
        host, _, port = rest.rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return f"tcp:{host}:{port}"
    raise ConfigError(
        f"unknown radio {spec!r}: use 'bluez', 'sim:HOST:PORT' (a `treadctl sim` process) "
        "or 'sim:local'",
        where="radio",
    )


@asynccontextmanager
async def open_radio(spec: str) -> AsyncIterator[Radio]:
    """Open the radio named by `spec` for as long as the context lasts.

    Raises `ConfigError` for an unknown spec or a missing `demo` extra, `BluetoothError` when
    the virtual treadmill cannot be reached.
    """
    if spec == BLUEZ:
        yield Radio(spec)
        return
    virtual_spec = sim_radio_spec(spec)
    try:
        from treadctl.sim.radio import VirtualRadio
    except ImportError as exc:
        raise ConfigError(
            "the virtual radio needs the demo extra (bumble): "
            f"pip install 'treadctl[demo]' ({exc})",
            where="radio",
        ) from exc
    async with VirtualRadio(virtual_spec) as virtual:
        yield Radio(spec, virtual.scanner_backend, virtual.client_backend)
