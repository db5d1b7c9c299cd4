"""Bleak's errors, translated into treadctl's at the boundary.

Owns: turning whatever bleak, bleak-retry-connector or the D-Bus layer under them raise into a
`BluetoothError` (or a subclass) whose message says what went wrong and what to try. The library
error stays attached as `__cause__`.
"""

from __future__ import annotations

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)
from bleak_retry_connector import BleakNotFoundError

from treadctl.errors import BluetoothError, DeviceNotFoundError

# What bleak and its helpers raise from I/O calls: bleak's own tree, timeouts, the D-Bus socket
# (OSError: no system bus, broken pipe; EOFError: dbus-fast when BlueZ goes away).
BLEAK_ERRORS: tuple[type[BaseException], ...] = (BleakError, TimeoutError, OSError, EOFError)

_UNAVAILABLE_HINTS = {
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: (
        "no Bluetooth adapter found: check `bluetoothctl show` and that the adapter is plugged in"
    ),
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
        "the Bluetooth adapter cannot act as a BLE central: use a Bluetooth 4.0+ adapter"
    ),
    BleakBluetoothNotAvailableReason.POWERED_OFF: (
        "the Bluetooth adapter is powered off or blocked: try `rfkill unblock bluetooth` "
        "and `bluetoothctl power on`"
    ),
    BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: (
        "access to Bluetooth was denied: add the user to the `bluetooth` group "
        "(sudo usermod -aG bluetooth $USER, then log in again)"
    ),
}
_NO_BLUEZ = (
    "BlueZ is not reachable over D-Bus: is bluetoothd running (`systemctl status bluetooth`)? "
    "Without a Bluetooth adapter, try the virtual treadmill: `treadctl sim` and "
    "--radio sim:HOST:PORT"
)


def bluetooth_error(action: str, exc: BaseException, *, address: str = "") -> BluetoothError:
    """A `BluetoothError` for `exc`, raised while doing `action` ("scan", "connect to X").

    The caller raises it `from exc`.
    """
    if isinstance(exc, BleakBluetoothNotAvailableError):
        hint = _UNAVAILABLE_HINTS.get(exc.reason, f"Bluetooth is not available ({exc.args[0]})")
        return BluetoothError(f"cannot {action}: {hint}", address=address)
    if isinstance(exc, BleakDBusError) and "ServiceUnknown" in exc.dbus_error:
        return BluetoothError(f"cannot {action}: {_NO_BLUEZ}", address=address)
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return BluetoothError(f"cannot {action}: {_NO_BLUEZ}", address=address)
    if isinstance(exc, PermissionError):
        hint = _UNAVAILABLE_HINTS[BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM]
        return BluetoothError(f"cannot {action}: {hint}", address=address)
    if isinstance(exc, BleakNotFoundError | BleakDeviceNotFoundError):
        return DeviceNotFoundError(
            f"cannot {action}: the device did not answer (out of range, switched off, "
            "or connected to another app?)",
            address=address,
        )
    if isinstance(exc, TimeoutError):
        return BluetoothError(f"cannot {action}: timed out", address=address)
    detail = str(exc) or type(exc).__name__
    if "le-connection-abort-by-local" in detail:
        detail += (
            " (on a Raspberry Pi this is usually radio trouble: a USB Bluetooth dongle or "
            "disabling the on-board Wi-Fi helps)"
        )
    return BluetoothError(f"cannot {action}: {detail}", address=address)
