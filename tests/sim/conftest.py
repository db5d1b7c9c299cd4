"""Helpers for the virtual treadmill's model tests: its notifications as (short name, octets).

The characteristic UUIDs are literals (FTMS v1.0 Table 4.1), not the codec's constants.
"""

from __future__ import annotations

from treadctl.sim.model import Notification

CP = "00002ad9-0000-1000-8000-00805f9b34fb"
TD = "00002acd-0000-1000-8000-00805f9b34fb"
TS = "00002ad3-0000-1000-8000-00805f9b34fb"
MS = "00002ada-0000-1000-8000-00805f9b34fb"


def wire(notifications: list[Notification]) -> list[tuple[str, bytes]]:
    """(characteristic short name, octets) for each notification."""
    names = {CP: "cp", TD: "td", TS: "ts", MS: "ms"}
    return [(names[n.uuid], n.data) for n in notifications]
