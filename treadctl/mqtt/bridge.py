"""`MqttBridge`: the daemon's one object for MQTT — telemetry, state, events, discovery, commands.

Owns: the channels (one MQTT connection per treadmill, see `channel.py`) and the TaskGroup they
run in. The daemon's calls never block and never raise, whether or not a broker is there: what
cannot go out yet waits in each treadmill's outbox (see `outbox.py` for what is kept).
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import structlog

from treadctl.errors import ConfigError
from treadctl.mqtt.channel import TreadmillChannel
from treadctl.mqtt.commands import CommandHandler
from treadctl.mqtt.connection import tls_context
from treadctl.mqtt.settings import MqttSettings
from treadctl.mqtt.topics import TreadmillInfo

log = structlog.get_logger("treadctl.mqtt")


class MqttBridge:
    """Async context manager running every treadmill's MQTT connection.

    `clock` (seconds, monotonic) paces telemetry; `rng` jitters reconnect delays and
    `reconnect_sleep` waits them out (tests pass a gate instead of time). Constructing it
    raises `ConfigError` for duplicate treadmill ids, entering it for unusable TLS files;
    nothing raises because of the broker: connection trouble is logged and retried with
    backoff.
    """

    def __init__(
        self,
        settings: MqttSettings,
        treadmills: Iterable[TreadmillInfo],
        handler: CommandHandler,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        reconnect_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._handler = handler
        self._clock = clock
        self._rng = rng or random.Random()
        self._reconnect_sleep = reconnect_sleep
        self._infos: dict[str, TreadmillInfo] = {}
        for info in treadmills:
            if info.id in self._infos:
                raise ConfigError(f"treadmill id {info.id!r} is used twice", where="treadmill id")
            self._infos[info.id] = info
        self._channels: dict[str, TreadmillChannel] = {}
        for info in self._infos.values():
            self._channel(info)
        self._group: asyncio.TaskGroup | None = None
        self._tls: ssl.SSLContext | None = None

    async def __aenter__(self) -> Self:
        self._tls = tls_context(self.settings)
        log.info("mqtt_bridge_starting", treadmills=list(self._infos), **self.settings.log_fields())
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        for channel in self._channels.values():
            channel.start(self._group, self._tls)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group, self._group = self._group, None
        if group is None:
            return
        if exc is None:
            try:
                async with asyncio.timeout(self.settings.shutdown_timeout_s):
                    await self.flush()
            except TimeoutError:
                log.warning(
                    "mqtt_flush_incomplete",
                    pending={tid: ch.outbox.pending() for tid, ch in self._channels.items()},
                )
        for channel in self._channels.values():
            channel.stop()
        await group.__aexit__(exc_type, exc, tb)

    def is_connected(self, treadmill_id: str) -> bool:
        """Whether the treadmill's MQTT connection is up right now."""
        channel = self._channels.get(treadmill_id)
        return channel is not None and channel.connected

    # --- what the daemon calls: non-blocking, never raising ------------------------------------

    def publish_telemetry(self, treadmill_id: str, payload: Mapping[str, Any]) -> None:
        """A telemetry sample (JSON-ready, units in key names); throttled to `telemetry_hz`
        except on a significant change."""
        self._call(treadmill_id, "telemetry", lambda ch: ch.publish_telemetry(dict(payload)))

    def publish_state(self, treadmill_id: str, payload: Mapping[str, Any]) -> None:
        """The treadmill's state (retained); replaces the previous one."""
        self._call(treadmill_id, "state", lambda ch: ch.publish_state(dict(payload)))

    def publish_event(self, treadmill_id: str, payload: Mapping[str, Any]) -> None:
        """An event (not retained); never dropped, published at least once."""
        self._call(treadmill_id, "event", lambda ch: ch.publish_event(dict(payload)))

    def set_link(self, treadmill_id: str, connected: bool) -> None:
        """The Bluetooth link went up or down: `link_connected` in the state."""
        self._call(treadmill_id, "link", lambda ch: ch.set_link(connected))

    def update_treadmill(self, info: TreadmillInfo) -> None:
        """New device information (or a new treadmill): re-announce its discovery."""
        try:
            self._infos[info.id] = info
            channel = self._channels.get(info.id)
            if channel is not None:
                channel.update_treadmill(info)
                return
            channel = self._channel(info)
            if self._group is not None:
                channel.start(self._group, self._tls)
        except Exception:
            log.exception("mqtt_update_treadmill_failed", treadmill=info.id)

    async def flush(self) -> None:
        """Return once everything queued so far has been published (waits for the broker:
        wrap it in a timeout)."""
        await asyncio.gather(*(ch.flush() for ch in list(self._channels.values())))

    # --- internals -----------------------------------------------------------------------------

    def _channel(self, info: TreadmillInfo) -> TreadmillChannel:
        channel = TreadmillChannel(
            self.settings,
            info,
            self._handler,
            clock=self._clock,
            rng=self._rng,
            reconnect_sleep=self._reconnect_sleep,
        )
        self._channels[info.id] = channel
        return channel

    def _call(
        self, treadmill_id: str, what: str, action: Callable[[TreadmillChannel], None]
    ) -> None:
        channel = self._channels.get(treadmill_id)
        if channel is None:
            log.warning("mqtt_unknown_treadmill", treadmill=treadmill_id, what=what)
            return
        try:
            action(channel)
        except Exception:  # the daemon's calls never raise (a payload bug is logged)
            log.exception("mqtt_publish_call_failed", treadmill=treadmill_id, what=what)
