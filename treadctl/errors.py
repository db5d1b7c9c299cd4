"""One exception tree for treadctl, rooted at `TreadctlError`.

Owns: every exception class the project raises. Rules: exceptions carry structured attributes
(codes, requested and allowed values, where an input was wrong) besides their message; a library's
own errors are translated at the boundary module that owns the library
(`raise TransportError(...) from exc`). Imports nothing but the standard library.
"""

from __future__ import annotations


class TreadctlError(Exception):
    """Base of every error treadctl raises on purpose."""


# --- protocol ------------------------------------------------------------------------------


class FTMSDecodeError(TreadctlError, ValueError):
    """The peer sent octets that cannot be decoded at all (e.g. fewer than the fixed header).

    `characteristic` names what was being decoded, `data` holds the offending octets.
    """

    def __init__(self, message: str, *, characteristic: str = "", data: bytes = b"") -> None:
        super().__init__(message)
        self.characteristic = characteristic
        self.data = bytes(data)


class FTMSEncodeError(TreadctlError, ValueError):
    """We tried to put a value on the wire that its field cannot hold (out of range, wrong type).

    `field` names the field, `value` is what was asked for.
    """

    def __init__(self, message: str, *, field: str = "", value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class ControlPointError(TreadctlError):
    """A control-point procedure did not succeed.

    `op_code` is the request op code; `result_code` the 0x80 response's result code, or None when
    the procedure failed without one (timeout, procedure already in flight, no permission).
    """

    def __init__(self, message: str, *, op_code: int, result_code: int | None = None) -> None:
        super().__init__(message)
        self.op_code = op_code
        self.result_code = result_code


class ProcedureTimeoutError(ControlPointError):
    """No 0x80 response arrived within the procedure timeout (FTMP §4.4.14.3)."""


class AttError(TreadctlError):
    """A GATT server refused a request at ATT level; the request had no effect.

    `att_code` is the ATT error code (e.g. 0xFD CCCD Improperly Configured, 0xFE Procedure
    Already In Progress, FTMS v1.0 §4.16.3). The virtual treadmill raises it; the BLE layer may
    use it for the same refusal coming from a real device.
    """

    def __init__(self, message: str, *, att_code: int) -> None:
        super().__init__(f"{message} (ATT error 0x{att_code:02X})")
        self.att_code = att_code


# --- safety --------------------------------------------------------------------------------


class SafetyError(TreadctlError):
    """The governor refused a request. `reason` is a short machine-readable code."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class LimitExceededError(SafetyError):
    """A requested speed or incline is above what the caps allow.

    `requested` and `allowed` are in `unit` ("km/h" or "%").
    """

    def __init__(
        self, message: str, *, reason: str, requested: float, allowed: float, unit: str
    ) -> None:
        super().__init__(message, reason=reason)
        self.requested = requested
        self.allowed = allowed
        self.unit = unit


class LatchedError(SafetyError):
    """The session is latched stopped (console stop, safety key): only a person may start again."""


# --- inputs: workouts, config, commands ------------------------------------------------------


class InputError(TreadctlError, ValueError):
    """Bad input from a person or a file. `where` says where (file, step, key, topic)."""

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.detail = message


class WorkoutError(InputError):
    """A workout script is invalid (file, step position and name, field)."""


class ConfigError(InputError):
    """The configuration is invalid (file, key)."""


class CommandError(InputError):
    """An MQTT or CLI command is malformed or refused before reaching the governor."""


class SessionRecordError(InputError):
    """A session record cannot be read (file, line)."""


# --- transports ----------------------------------------------------------------------------


class TransportError(TreadctlError):
    """A transport (Bluetooth, MQTT) failed; the library's own error is the `__cause__`."""


class BluetoothError(TransportError):
    """A Bluetooth operation failed. `address` names the treadmill when known."""

    def __init__(self, message: str, *, address: str = "") -> None:
        super().__init__(message)
        self.address = address


class DeviceNotFoundError(BluetoothError):
    """No treadmill matching the configuration answered within the scan or connect timeout."""


class LinkLostError(BluetoothError):
    """The Bluetooth link dropped while an operation needed it."""


class UnsupportedDeviceError(BluetoothError):
    """The device lacks something treadctl needs (FTMS service, a vendor unlock we cannot do)."""


class MqttError(TransportError):
    """The MQTT link failed."""
