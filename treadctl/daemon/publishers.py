"""Where a treadmill's payloads go: the MQTT bridge, a live view, both, or nowhere.

Owns: the `Publisher` protocol the treadmill services publish through (the MQTT bridge satisfies
it), `TeePublisher` (several at once: the demo's view beside MQTT) and `NullPublisher` (MQTT
disabled).
"""

from __future__ import annotations

from typing import Any, Protocol


class Publisher(Protocol):
    """Where a treadmill's payloads go (the MQTT bridge, or nowhere)."""

    def publish_telemetry(self, treadmill_id: str, payload: dict[str, Any]) -> None: ...
    def publish_state(self, treadmill_id: str, payload: dict[str, Any]) -> None: ...
    def publish_event(self, treadmill_id: str, payload: dict[str, Any]) -> None: ...
    def set_link(self, treadmill_id: str, connected: bool) -> None: ...


class TeePublisher:
    """Publishes to several publishers (the MQTT bridge and a live view)."""

    def __init__(self, *publishers: Publisher) -> None:
        self._publishers = publishers

    def publish_telemetry(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Pass a telemetry sample on."""
        for publisher in self._publishers:
            publisher.publish_telemetry(treadmill_id, payload)

    def publish_state(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Pass a state on."""
        for publisher in self._publishers:
            publisher.publish_state(treadmill_id, payload)

    def publish_event(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Pass an event on."""
        for publisher in self._publishers:
            publisher.publish_event(treadmill_id, payload)

    def set_link(self, treadmill_id: str, connected: bool) -> None:
        """Pass a link change on."""
        for publisher in self._publishers:
            publisher.set_link(treadmill_id, connected)


class NullPublisher:
    """Publishes nothing (MQTT disabled)."""

    def publish_telemetry(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Drop a telemetry sample."""

    def publish_state(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Drop a state."""

    def publish_event(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Drop an event."""

    def set_link(self, treadmill_id: str, connected: bool) -> None:
        """Ignore a link change."""
