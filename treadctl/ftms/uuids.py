"""Bluetooth UUIDs of the Fitness Machine and Device Information services.

Owns: every UUID treadctl uses, as the full lowercase 128-bit strings bleak and bumble accept.
Source: Bluetooth SIG Assigned Numbers; FTMS v1.0 Table 4.1 (ref/ftms-spec.md §1).
"""

from __future__ import annotations

# The Bluetooth Base UUID after its first 32 bits.
BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def uuid16(value: int) -> str:
    """The full 128-bit form of a 16-bit SIG UUID: `uuid16(0x1826)` → `00001826-0000-1000-…`.

    Raises `ValueError` when `value` does not fit in 16 bits.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise ValueError(f"a 16-bit UUID is an int in 0 … 0xFFFF, got {value!r}")
    return f"0000{value:04x}{BASE_UUID_SUFFIX}"


# Fitness Machine Service and its characteristics.
FTMS_SERVICE_UUID = uuid16(0x1826)
FEATURE_UUID = uuid16(0x2ACC)
TREADMILL_DATA_UUID = uuid16(0x2ACD)
TRAINING_STATUS_UUID = uuid16(0x2AD3)
SPEED_RANGE_UUID = uuid16(0x2AD4)
INCLINATION_RANGE_UUID = uuid16(0x2AD5)
RESISTANCE_LEVEL_RANGE_UUID = uuid16(0x2AD6)
HEART_RATE_RANGE_UUID = uuid16(0x2AD7)
POWER_RANGE_UUID = uuid16(0x2AD8)
CONTROL_POINT_UUID = uuid16(0x2AD9)
MACHINE_STATUS_UUID = uuid16(0x2ADA)

# Device Information Service and the strings treadctl reads from it.
DEVICE_INFORMATION_SERVICE_UUID = uuid16(0x180A)
MANUFACTURER_NAME_UUID = uuid16(0x2A29)
MODEL_NUMBER_UUID = uuid16(0x2A24)
SERIAL_NUMBER_UUID = uuid16(0x2A25)
HARDWARE_REVISION_UUID = uuid16(0x2A27)
FIRMWARE_REVISION_UUID = uuid16(0x2A26)
SOFTWARE_REVISION_UUID = uuid16(0x2A28)
