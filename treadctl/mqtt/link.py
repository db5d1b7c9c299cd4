"""One MQTT connection and its publisher: connect, say `online`, publish what waits, receive,
reconnect with capped jittered backoff, say `offline` on the way out.

Owns: the aiomqtt client of one treadmill and the two tasks around it. An item leaves the outbox
only once it is published (QoS 1: acknowledged by the broker); a publication that the connection
loss overtakes stays queued for the next connection. `idle` is set whenever nothing waits.
Publications are pipelined: up to `PUBLISH_WINDOW` wait for their acknowledgement at once (each
in a task of its own), so the rate is not one broker round trip per message -- under a command
flood a round trip takes milliseconds, and one at a time the answers and events it causes would
hold everything else up. They go on the wire in the order the outbox hands them out, and MQTT
keeps the order of one connection's publications, so events still arrive in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt

from treadctl.mqtt.connection import (
    MAX_INFLIGHT,
    OFFLINE,
    ONLINE,
    PUBLISH_WINDOW,
    backoff_s,
    client_options,
    subscriptions,
)
from treadctl.mqtt.outbox import Outbox, Publication
from treadctl.mqtt.settings import MqttSettings
from treadctl.mqtt.topics import Topics


class BrokerLink:
    """The connection of one treadmill; `on_connected` runs after each (re)connect,
    `on_message(topic, payload, retain)` for every message received. Neither may block."""

    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        outbox: Outbox,
        *,
        on_connected: Callable[[], None],
        on_message: Callable[[str, bytes, bool], None],
        rng: random.Random,
        sleep: Callable[[float], Awaitable[None]],
        log: Any,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.outbox = outbox
        self._on_connected = on_connected
        self._on_message = on_message
        self._rng = rng
        self._sleep = sleep
        self._log = log
        self._tls: ssl.SSLContext | None = None
        self._client: aiomqtt.Client | None = None
        self._lost = asyncio.Event()
        self._connected = asyncio.Event()
        self._wakeup = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self._stopping = asyncio.Event()
        self._connection_task: asyncio.Task[None] | None = None
        self._session_connected = False
        self._publisher_task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the connection is up (subscribed and `online` published)."""
        return self._connected.is_set()

    def notify(self) -> None:
        """Something was put in the outbox."""
        self.idle.clear()
        self._wakeup.set()

    def start(self, group: asyncio.TaskGroup, tls: ssl.SSLContext | None, name: str) -> None:
        """Start the `<name>-connection` and `<name>-publisher` tasks in `group`."""
        self._tls = tls
        self._connection_task = group.create_task(self._run_connection(), name=f"{name}-connection")
        self._publisher_task = group.create_task(self._run_publisher(), name=f"{name}-publisher")

    def stop(self) -> None:
        """Stop; a live connection says `offline` and disconnects cleanly (no will)."""
        self._stopping.set()
        if self._publisher_task is not None:
            self._publisher_task.cancel()
        if self._connection_task is not None and not self._connected.is_set():
            self._connection_task.cancel()

    async def _run_connection(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            self._session_connected = False
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                self._log.warning("mqtt_disconnected", error=str(exc), **self.settings.log_fields())
            except Exception:  # not the network: log it, but keep the daemon and retry later
                self._log.exception("mqtt_session_failed", **self.settings.log_fields())
            if self._stopping.is_set():
                return
            if self._session_connected:
                attempt = 0  # the backoff grows only over failed attempts in a row
            delay_s = backoff_s(
                attempt,
                self.settings.reconnect_min_backoff_s,
                self.settings.reconnect_max_backoff_s,
                self._rng,
            )
            attempt += 1
            self._log.info("mqtt_reconnect_scheduled", delay_s=round(delay_s, 3), attempt=attempt)
            await self._sleep(delay_s)  # stop() cancels this task while it waits

    async def _session(self) -> None:
        """One connection, from connect to loss (raises `aiomqtt.MqttError`) or stop."""
        client = aiomqtt.Client(**client_options(self.settings, self.topics, self._tls))
        # aiomqtt warns for every call beyond 10 pending; we keep up to PUBLISH_WINDOW by design.
        client.pending_calls_threshold = MAX_INFLIGHT
        async with client:
            try:
                for topic, qos, options in subscriptions(self.settings, self.topics):
                    await client.subscribe(topic, qos, options)
                await client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
                self._log.info("mqtt_connected", **self.settings.log_fields())
                self._on_connected()
                self._session_connected = True
                self._client, self._lost = client, asyncio.Event()
                self._connected.set()
                self.notify()
                await self._receive_until_stopped(client)
            except asyncio.CancelledError:
                self._went_away()
                await self._say_offline(client)  # cancelled with the connection still up
                raise
            finally:
                self._went_away()
            await self._say_offline(client)

    def _went_away(self) -> None:
        self._connected.clear()
        self._client = None
        self._lost.set()
        self._wakeup.set()

    async def _receive_until_stopped(self, client: aiomqtt.Client) -> None:
        receiver = asyncio.create_task(self._receive(client))
        stopper = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (receiver, stopper):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
            with contextlib.suppress(asyncio.CancelledError):
                await receiver  # re-raises the MqttError of a lost connection

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                self._on_message(topic, payload, bool(message.retain))
            except Exception:  # one bad message must never end the connection
                self._log.exception("mqtt_message_failed", topic=topic)

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        """A clean disconnect sends no will: say `offline` ourselves (best effort)."""
        try:
            await client.publish(
                self.topics.availability,
                OFFLINE,
                qos=1,
                retain=True,
                timeout=self.settings.shutdown_timeout_s,
            )
        except aiomqtt.MqttError as exc:
            self._log.warning("mqtt_offline_not_published", error=str(exc))

    async def _run_publisher(self) -> None:
        while True:
            await self._connected.wait()
            client, lost = self._client, self._lost
            if client is not None and not lost.is_set():
                await self._publish_while_connected(client, lost)

    async def _publish_while_connected(self, client: aiomqtt.Client, lost: asyncio.Event) -> None:
        """Hand what the outbox gives out to publishing tasks, at most `PUBLISH_WINDOW` at once
        (estop answers go regardless), until the connection is lost; then everything still in
        flight waits in the outbox again for the next connection."""
        sending: set[asyncio.Task[None]] = set()
        try:
            while not lost.is_set():
                self._wakeup.clear()
                while (
                    item := self.outbox.take(urgent_only=len(sending) >= PUBLISH_WINDOW)
                ) is not None:
                    task = asyncio.create_task(self._publish(client, lost, item))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                if not self.outbox:
                    self.idle.set()
                await self._wakeup.wait()  # set by notify(), a finished publication, or a loss
        finally:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            self.outbox.retry_all()

    async def _publish(
        self, client: aiomqtt.Client, lost: asyncio.Event, item: Publication
    ) -> None:
        """Publish `item` and settle it in the outbox: done when published (or unpublishable,
        then dropped), waiting again when the publication failed."""
        try:
            await client.publish(
                item.topic,
                item.payload,
                qos=item.qos,
                retain=item.retain,
                timeout=self.settings.timeout_s,
            )
        except aiomqtt.MqttError as exc:
            self._log.info("mqtt_publish_failed", topic=item.topic, error=str(exc))
            # Most often the connection is going; give it a moment to say so before a retry.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await lost.wait()
            self.outbox.retry(item)
        except Exception as exc:  # not a connection problem: never publishable, do not retry
            self._log.error("mqtt_publish_dropped", topic=item.topic, error=repr(exc))
            self.outbox.done(item)
        else:
            self.outbox.done(item)
        finally:
            self._wakeup.set()
