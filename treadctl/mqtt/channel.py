"""One treadmill's MQTT side: what the daemon hands over, discovery, commands, telemetry pace.

Owns: the glue between the daemon's calls, the `Outbox`, the `TelemetryThrottle`, the
`CommandDispatcher` and the `BrokerLink` of one treadmill. Each treadmill gets its own MQTT
connection, so each has its own last will on its own `<base>/<id>/availability` topic: a crash
or a cut network shows every treadmill of the daemon `offline`, to Home Assistant and to any
other subscriber alike (MQTT allows one will per connection; a shared connection could only mark
a daemon-level topic offline and leave each treadmill's own topic saying `online`). The cost is
one socket per treadmill, at most four per Pi.

Tasks (in the bridge's TaskGroup, named `mqtt-<id>-…`): `connection` and `publisher` (see
`link.py`), `telemetry` (publishes a held-back sample when its period is over), `commands` and
`estop` (see `dispatch.py`).
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from treadctl.mqtt.commands import CommandHandler
from treadctl.mqtt.connection import ONLINE
from treadctl.mqtt.discovery import discovery_payload
from treadctl.mqtt.dispatch import CommandDispatcher
from treadctl.mqtt.link import BrokerLink
from treadctl.mqtt.outbox import Kind, Outbox, Publication, TelemetryThrottle, encode_json
from treadctl.mqtt.settings import MqttSettings
from treadctl.mqtt.topics import Topics, TreadmillInfo

log = structlog.get_logger("treadctl.mqtt")

_QOS: dict[Kind, int] = {"urgent": 1, "announce": 1, "event": 1, "state": 1, "result": 1}
# What the bounded queues dropped is logged (as running totals) at most this often.
DROPS_LOG_PERIOD_S = 10.0


class TreadmillChannel:
    """The MQTT side of one treadmill. The bridge creates, starts and stops it."""

    def __init__(
        self,
        settings: MqttSettings,
        info: TreadmillInfo,
        handler: CommandHandler,
        *,
        clock: Callable[[], float],
        rng: random.Random,
        reconnect_sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.info = info
        self.topics = Topics(settings.base_topic, settings.discovery_prefix, info.id)
        self.outbox = Outbox(
            telemetry_size=settings.telemetry_queue_size, result_size=settings.result_queue_size
        )
        self._throttle = TelemetryThrottle(settings.telemetry_hz)
        self._dispatcher = CommandDispatcher(
            self.topics,
            handler,
            self._answer,
            enabled=settings.commands_enabled,
            queue_size=settings.command_queue_size,
        )
        self._clock = clock
        self._log = log.bind(treadmill=info.id)
        self._state: dict[str, Any] = {}
        self._link_connected: bool | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._drops_logged = (0, 0)
        self._drops_logged_s = -DROPS_LOG_PERIOD_S
        self.link = BrokerLink(
            settings,
            self.topics,
            self.outbox,
            on_connected=self.announce,
            on_message=self._on_message,
            rng=rng,
            sleep=reconnect_sleep,
            log=self._log,
        )

    # --- the daemon's side: never blocks, never raises ---------------------------------------
    # The bridge hands each payload over as a dict of its own: it is kept as it is, not copied.

    def publish_telemetry(self, payload: dict[str, Any]) -> None:
        """Queue a telemetry sample now, or keep it for the next tick (`TelemetryThrottle`)."""
        if self._throttle.offer(payload, self._clock()):
            self._put("telemetry", self.topics.telemetry, payload)

    def publish_state(self, payload: dict[str, Any]) -> None:
        """Queue the new state (retained), replacing one still waiting."""
        self._state = payload
        self._put("state", self.topics.state, self._state_payload())

    def publish_event(self, payload: dict[str, Any]) -> None:
        """Queue an event (kept until the broker has it)."""
        self._put("event", self.topics.event, payload)

    def set_link(self, connected: bool) -> None:
        """Queue the state again with `link_connected`."""
        self._link_connected = connected
        self._put("state", self.topics.state, self._state_payload())

    def update_treadmill(self, info: TreadmillInfo) -> None:
        """Take the new device information and announce it."""
        self.info = info
        self.announce()

    def announce(self) -> None:
        """Queue discovery (when enabled) and the current state, ahead of everything but estop
        answers; replaces an announcement still waiting."""
        items: list[Publication | None] = []
        if self.settings.discovery:
            config = discovery_payload(
                self.info, self.topics, commands_enabled=self.settings.commands_enabled
            )
            items.append(self._publication("announce", self.topics.discovery, config, True))
        if self._state or self._link_connected is not None:
            items.append(
                self._publication("announce", self.topics.state, self._state_payload(), True)
            )
        self.outbox.replace_announcements([i for i in items if i is not None])
        self.link.notify()

    async def flush(self) -> None:
        """Return once everything queued (and the telemetry sample held back) is published."""
        sample = self._throttle.take_pending()
        if sample is not None:
            self._put("telemetry", self.topics.telemetry, sample)
        await self.link.idle.wait()

    def _state_payload(self) -> dict[str, Any]:
        state = dict(self._state)
        if self._link_connected is not None:
            state["link_connected"] = self._link_connected
        return state

    def _answer(self, payload: dict[str, Any], urgent: bool) -> None:
        if urgent:
            self._put("urgent", self.topics.result, payload)
            return
        # A refusal is what a full answer queue drops first; an estop's answer never is.
        refusal = payload.get("ok") is False and payload.get("command") != "estop"
        self._put("result", self.topics.result, payload, sheddable=refusal)

    def _put(
        self, kind: Kind, topic: str, payload: dict[str, Any], *, sheddable: bool = False
    ) -> None:
        item = self._publication(kind, topic, payload, kind == "state", sheddable)
        if item is not None:
            self.outbox.put(item)
            self._log_drops()
            self.link.notify()

    def _log_drops(self) -> None:
        """Log the running totals of dropped answers and telemetry when they grew (at most once
        per `DROPS_LOG_PERIOD_S`: a flood must not flood the log too)."""
        dropped = (self.outbox.dropped_results, self.outbox.dropped_telemetry)
        if dropped == self._drops_logged:
            return
        now_s = self._clock()
        if now_s - self._drops_logged_s < DROPS_LOG_PERIOD_S:
            return
        self._drops_logged, self._drops_logged_s = dropped, now_s
        self._log.info("mqtt_outbox_dropped", results=dropped[0], telemetry=dropped[1])

    def _publication(
        self,
        kind: Kind,
        topic: str,
        payload: dict[str, Any],
        retain: bool,
        sheddable: bool = False,
    ) -> Publication | None:
        try:
            data = encode_json(payload)
        except (TypeError, ValueError) as exc:
            self._log.error("mqtt_payload_not_json", topic=topic, error=str(exc))
            return None
        return Publication(kind, topic, data, _QOS.get(kind, 0), retain, sheddable)

    def _on_message(self, topic: str, payload: bytes, retain: bool) -> None:
        if topic == self.topics.ha_status:
            if payload.strip().lower() == ONLINE:
                self._log.info("mqtt_home_assistant_online")
                self.announce()
            return
        self._dispatcher.receive(topic, payload, retain=retain)

    # --- tasks --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether this treadmill's MQTT connection is up."""
        return self.link.connected

    def start(self, group: asyncio.TaskGroup, tls: ssl.SSLContext | None) -> None:
        """Start this channel's tasks in `group`."""
        name = f"mqtt-{self.info.id}"
        self.link.start(group, tls, name)
        self._tasks = [
            group.create_task(self._run_telemetry(), name=f"{name}-telemetry"),
            group.create_task(self._dispatcher.run_commands(), name=f"{name}-commands"),
            group.create_task(self._dispatcher.run_estops(), name=f"{name}-estop"),
        ]

    def stop(self) -> None:
        """Stop every task; a live connection says `offline` and disconnects cleanly."""
        for task in self._tasks:
            task.cancel()
        self.link.stop()

    async def _run_telemetry(self) -> None:
        period_s = self._throttle.period_s
        while True:
            await asyncio.sleep(period_s)
            sample = self._throttle.due(self._clock())
            if sample is not None:
                self._put("telemetry", self.topics.telemetry, sample)
