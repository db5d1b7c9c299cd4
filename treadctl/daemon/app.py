"""The daemon (`treadctl run`): every treadmill, its runners and the MQTT bridge in one TaskGroup.

Owns: building the pieces from the configuration, the systemd notify protocol (READY once the
configuration is loaded and MQTT has been tried, WATCHDOG from the event loop, STATUS lines),
SIGTERM/SIGINT, and the bounded shutdown of DESIGN §2 rule 6: every moving belt is ramped down
and paused before its link closes. A treadmill that is off, absent or flaky never blocks the
others or the MQTT link: each lives in its own supervised task.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator
from typing import Any

import structlog

from treadctl import ble, mqtt
from treadctl.config import Config
from treadctl.daemon import notify
from treadctl.daemon.commands import CommandRouter
from treadctl.daemon.publishers import NullPublisher, Publisher, TeePublisher
from treadctl.daemon.radio import open_radio
from treadctl.daemon.session import SiteSettings
from treadctl.daemon.treadmill import TreadmillService
from treadctl.daemon.workouts import WorkoutCatalog
from treadctl.errors import ConfigError
from treadctl.workout.clock import Clock, MonotonicClock

log = structlog.get_logger("treadctl.daemon")

# Shutdown must end well inside systemd's TimeoutStopSec (60 s in systemd/treadctl.service). The
# ramp-down gets SHUTDOWN_S; a belt still moving then (at the highest cap and the lowest allowed
# decel the ramp takes 16 / 0.2 = 80 s) is stopped outright within session.STOP_GRACE_S more.
SHUTDOWN_S = 40.0
MQTT_FLUSH_S = 3.0  # then what is still queued for the broker may go out
MQTT_READY_WAIT_S = 2.0
STATUS_EVERY_S = 5.0
RESTART_DELAY_S = (1.0, 30.0)


def mqtt_settings(config: Config) -> mqtt.MqttSettings:
    """The bridge settings from the `[mqtt]` section (the password unmasked here only)."""
    section = config.mqtt
    password = section.password.get_secret_value() if section.password else None
    fields = section.model_dump(mode="json", exclude={"enabled", "password"})
    return mqtt.MqttSettings(**fields, password=password)


class Daemon:
    """Runs until `stop` is set (or SIGTERM/SIGINT when `handle_signals`)."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        radio_spec: str | None = None,
        handle_signals: bool = True,
        observer: Publisher | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or MonotonicClock()
        self.radio_spec = radio_spec or config.bluetooth.radio
        self.handle_signals = handle_signals
        self.observer = observer
        self.stop = asyncio.Event()
        self.services: dict[str, TreadmillService] = {}
        self.bridge: mqtt.MqttBridge | None = None
        self.profiles = ble.load_profiles(config.paths.profiles_dir)
        self.catalog = WorkoutCatalog(config.paths.workouts_dir)
        self.ready = asyncio.Event()
        self._check()

    def _check(self) -> None:
        """Refuse names the configuration cannot check by itself (profiles, workouts)."""
        problems: list[str] = []
        known_profiles = set(self.profiles.names())
        for index, treadmill in enumerate(self.config.treadmill):
            if treadmill.profile != "auto" and treadmill.profile not in known_profiles:
                problems.append(
                    f"treadmill[{index}].profile = {treadmill.profile!r}: no such quirk profile; "
                    f"allowed: auto, {', '.join(sorted(known_profiles))}"
                )
            if treadmill.workout is not None and treadmill.workout not in self.catalog.names():
                problems.append(
                    f"treadmill[{index}].workout = {treadmill.workout!r}: no such workout; "
                    f"allowed: {', '.join(self.catalog.names())}"
                )
        if not self.config.treadmill:
            problems.append("treadmill: no [[treadmill]] configured; add one (see check-config)")
        if problems:
            raise ConfigError("\n".join(problems), where="configuration")

    async def run(self) -> None:
        """Run until stopped; returns after the bounded shutdown."""
        async with open_radio(self.radio_spec) as radio, self._bridge() as bridge:
            publisher = bridge if self.observer is None else TeePublisher(bridge, self.observer)
            site = SiteSettings.from_config(self.config)
            for treadmill in self.config.treadmill:
                service = TreadmillService(
                    treadmill,
                    site,
                    radio=radio,
                    profiles=self.profiles,
                    catalog=self.catalog,
                    clock=self.clock,
                    publisher=publisher,
                )
                service.on_change = self._on_treadmill_change
                self.services[treadmill.id] = service
            await self._serve()

    @contextlib.asynccontextmanager
    async def _bridge(self) -> AsyncIterator[Publisher]:
        if not self.config.mqtt.enabled:
            yield NullPublisher()
            return
        infos = [
            mqtt.TreadmillInfo(id=t.id, name=t.name or t.id, workouts=tuple(self.catalog.names()))
            for t in self.config.treadmill
        ]
        async with mqtt.MqttBridge(
            mqtt_settings(self.config), infos, CommandRouter(self.services)
        ) as bridge:
            self.bridge = bridge
            yield bridge
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bridge.flush(), timeout=MQTT_FLUSH_S)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        if self.handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._supervise(s), name=f"treadmill-{s.id}")
                    for s in self.services.values()
                ]
                tasks.append(group.create_task(self._keepalive(), name="systemd-notify"))
                await self._wait_for_mqtt()
                # Everything loaded so far lives as long as the daemon: keep it out of the
                # cyclic collector, whose full passes over it stalled the loop for tens of ms.
                gc.collect()
                gc.freeze()
                notify.ready(self.status_line())
                log.info("daemon_ready", treadmills=list(self.services), radio=self.radio_spec)
                self.ready.set()
                await self.stop.wait()
                await self._shutdown()
                for task in tasks:
                    task.cancel()
        finally:
            if self.handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("daemon_stopping", signal=sig.name)
        self.stop.set()

    async def _wait_for_mqtt(self) -> None:
        bridge = self.bridge
        if bridge is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MQTT_READY_WAIT_S
        # The bridge exposes its connection state, not an event: poll it briefly.
        while loop.time() < deadline and not all(bridge.is_connected(i) for i in self.services):  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    async def _shutdown(self) -> None:
        notify.stopping("winding down: ramping moving belts down and pausing them")
        windings = [s.wind_down(SHUTDOWN_S) for s in self.services.values()]
        results = await asyncio.gather(*windings, return_exceptions=True)
        for service, result in zip(self.services.values(), results, strict=True):
            if isinstance(result, BaseException):
                log.error("wind_down_failed", treadmill=service.id, error=repr(result))
        log.info("daemon_stopped")

    async def _supervise(self, service: TreadmillService) -> None:
        """Run one treadmill forever; a crash is logged and the treadmill restarted."""
        delay_s, max_delay_s = RESTART_DELAY_S
        while True:
            try:
                await service.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("treadmill_failed", treadmill=service.id, restart_in_s=delay_s)
                service.status = "error"
            await asyncio.sleep(delay_s)
            delay_s = min(max_delay_s, delay_s * 2)

    async def _keepalive(self) -> None:
        interval_s = notify.watchdog_interval_s()
        ping_s = interval_s / 2 if interval_s else None
        tick_s = min(ping_s, STATUS_EVERY_S) if ping_s else STATUS_EVERY_S
        last_status = ""
        while True:
            if ping_s is not None:
                notify.watchdog()
            line = self.status_line()
            if line != last_status:
                notify.status(line)
                last_status = line
            await asyncio.sleep(tick_s)

    def status_line(self) -> str:
        """One line saying what each treadmill is doing (systemd STATUS)."""
        parts = []
        for service in self.services.values():
            progress = service.progress()
            text = f"{service.id}: {service.status}"
            if progress and progress.get("workout"):
                text += f" {progress['workout']} step {progress.get('step_index')}"
                speed = progress.get("target_speed_kmh")
                if speed is not None:
                    text += f" {progress.get('direction')} {speed} km/h"
            parts.append(text)
        return "; ".join(parts) or "no treadmills"

    def _on_treadmill_change(self, service: TreadmillService) -> None:
        bridge, info = self.bridge, service.info
        if bridge is None or info is None:
            return
        bridge.update_treadmill(
            mqtt.TreadmillInfo(
                id=service.id,
                name=service.config.name or service.id,
                manufacturer=info.manufacturer,
                model=info.model,
                firmware=info.firmware_revision,
                hardware=info.hardware_revision,
                serial_number=info.serial_number,
                workouts=tuple(self.catalog.names()),
            )
        )


async def run_daemon(config: Config, **options: Any) -> None:
    """Run the daemon of `config` until SIGTERM/SIGINT."""
    await Daemon(config, **options).run()
