"""A recording MQTT subscriber, to assert on what reached a broker.

Owns: `Received` (one message as a subscriber saw it) and `MqttRecorder` (an aiomqtt subscriber
that keeps every message, lets a test await one, and publishes commands). Nothing here sleeps to
wait for something: messages are awaited on a condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiomqtt


@dataclass(frozen=True)
class Received:
    """One message as a subscriber saw it."""

    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class MqttRecorder:
    """A subscriber that records every message on its filters, in arrival order.

    `await recorder.wait_for(predicate)` returns the first recorded message (from `start`, an
    index into `messages`) that matches, waiting for new ones as they arrive; a test wraps it in
    its own timeout only through pytest-timeout, never a sleep. Also publishes, for commands.
    """

    def __init__(
        self,
        host: str,
        port: int,
        filters: tuple[str, ...] = ("#",),
        *,
        protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V311,
        **client_kwargs: Any,
    ) -> None:
        self._client = aiomqtt.Client(host, port, protocol=protocol, **client_kwargs)
        self._filters = filters
        self.messages: list[Received] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        for topic_filter in self._filters:
            await self._client.subscribe(topic_filter, qos=1)
        self._task = asyncio.create_task(self._collect(), name="mqtt-recorder")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)
        if self._task is not None:
            # Not cancelled: the message iteration ends by itself once the client is
            # disconnected, and takes the disconnection's error with it. (Cancelled first, a
            # connection the broker had already dropped left that error never retrieved, which
            # asyncio reports when the future is collected.)
            with contextlib.suppress(aiomqtt.MqttError):
                await self._task

    async def _collect(self) -> None:
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            received = Received(str(message.topic), payload, bool(message.retain))
            async with self._changed:
                self.messages.append(received)
                self._changed.notify_all()

    async def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Publish with QoS 1 (returns once the broker has it)."""
        await self._client.publish(topic, payload, qos=1, retain=retain)

    async def wait_for(self, predicate: Callable[[Received], bool], *, start: int = 0) -> Received:
        """The first message at index >= `start` that matches, waiting for it if needed."""
        async with self._changed:
            index = start
            while True:
                while index < len(self.messages):
                    if predicate(self.messages[index]):
                        return self.messages[index]
                    index += 1
                await self._changed.wait()

    async def wait_topic(
        self, topic: str, *, start: int = 0, payload: bytes | None = None
    ) -> Received:
        """The first message on `topic` (with `payload`, when given) at index >= `start`."""
        return await self.wait_for(
            lambda m: m.topic == topic and (payload is None or m.payload == payload), start=start
        )

    async def wait_count(self, predicate: Callable[[Received], bool], count: int) -> list[Received]:
        """Wait until `count` recorded messages match; return them."""
        async with self._changed:
            while True:
                found = [m for m in self.messages if predicate(m)]
                if len(found) >= count:
                    return found
                await self._changed.wait()

    def on(self, topic: str) -> list[Received]:
        """Every message recorded so far on `topic`."""
        return [m for m in self.messages if m.topic == topic]
