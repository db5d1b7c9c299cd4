"""One treadmill inside the daemon: its Bluetooth link and its shutdown.

Owns: `TreadmillService` — connecting, turning link events into runner input and MQTT payloads,
and the fail-safe paths of DESIGN §2 on its side: nothing is sent on a reconnect but the
ramp-down of rule 7, and a shutdown winds a moving belt down before the link closes (rule 6).
Its sessions, a person's commands (the emergency stop always carried out, session or not) and
its publishing are those of the base it extends, `control.SessionControl`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from treadctl import ble
from treadctl.config import TreadmillConfig
from treadctl.daemon.control import SessionControl, session_log_fields
from treadctl.daemon.publishers import Publisher
from treadctl.daemon.radio import Radio
from treadctl.daemon.recovery import find_interrupted
from treadctl.daemon.session import SiteSettings
from treadctl.daemon.workouts import WorkoutCatalog
from treadctl.logs import LiveValue, live, log_context
from treadctl.safety import DeviceCaps, Governor
from treadctl.workout.clock import Clock


class TreadmillService(SessionControl):
    """The daemon's side of one treadmill. `run()` lives as long as the daemon."""

    def __init__(
        self,
        config: TreadmillConfig,
        site: SiteSettings,
        *,
        radio: Radio,
        profiles: ble.ProfileSet,
        catalog: WorkoutCatalog,
        clock: Clock,
        publisher: Publisher,
    ) -> None:
        super().__init__(config, site, catalog=catalog, clock=clock, publisher=publisher)
        self._radio, self._profiles = radio, profiles
        self.on_change: Callable[[TreadmillService], None] | None = None

    # --- the link ------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect (retrying in the background) and handle link events until cancelled."""
        with log_context(**self.log_fields()):
            await self._run()

    def log_fields(self) -> dict[str, str | LiveValue]:
        """Log context for this treadmill: its id, and the workout and step of its current
        session as they are when each line is logged."""
        return {
            "treadmill": self.id,
            "workout": live(lambda: self.session.name if self.session else None),
            "step": live(lambda: self.session.step_number if self.session else None),
        }

    async def _run(self) -> None:
        link = ble.TreadmillLink(
            address=self.config.address,
            name=self.config.name,
            treadmill_id=self.id,
            profile=self.config.profile,
            profiles=self._profiles,
            client_backend=self._radio.client_backend,
            scanner_backend=self._radio.scanner_backend,
            adapter=self.config.adapter,
            scan_timeout_s=self.site.scan_timeout_s,
            connect_timeout_s=self.site.connect_timeout_s,
            backoff=ble.Backoff(max_s=max(1.0, self.site.reconnect_max_backoff_s)),
            retry_initial=True,
        )
        self.interrupted = find_interrupted(self.site.state_dir, self.id)
        if self.interrupted is not None:
            self._log.warning(
                "interrupted_session_found",
                session=self.interrupted.session_id,
                workout=self.interrupted.workout,
                step=self.interrupted.step_index + 1,
            )
        self._publish_state()
        async with link, asyncio.TaskGroup() as group:
            self.link, self._group = link, group
            while True:
                self._on_link_event(await link.events.get())

    def _on_link_event(self, event: ble.LinkEvent) -> None:
        now_s = self._clock.now()
        runner = self.session.runner if self.session and self.session.active else None
        match event:
            case ble.TelemetryReceived(record=record):
                if self.interrupted is not None and self.session is None:
                    runner = self._recover(self.interrupted, record.speed_kmh or 0.0, now_s)
                if runner is not None:
                    runner.feed_telemetry(record, now_s)
                self._publish_telemetry(record)
                return
            case ble.MachineStatusReceived(status=status, echo=False) if runner is not None:
                runner.feed_machine_status(status, now_s)
            case ble.LinkConnected() as up:
                self._connected(up.device_caps, up.device_info, up.profile, up.address)
                self._log.info("treadmill_connected", address=up.address, profile=up.profile)
            case ble.LinkLost(reason=reason):
                self.connected, self.status = False, "disconnected"
                self.publisher.set_link(self.id, False)
                if runner is not None:
                    runner.link_lost(now_s)
                else:
                    self._event("link_lost", reason=reason)
            case ble.LinkRestored() as back:
                self.connected = True
                self.caps = back.device_caps
                self._publish_state()
                self.publisher.set_link(self.id, True)
                if runner is not None:
                    runner.link_restored(now_s, back.belt_moving)
                else:  # rule 7: no session of ours, the belt is left alone
                    self._event("link_restored", belt_moving=back.belt_moving)
            case ble.LinkSilent(waited_s=waited_s):
                self._event("link_silent", waited_s=waited_s)
            case ble.TelemetryStale(silent_for_s=silent_for_s):
                self._event("telemetry_stale", silent_for_s=round(silent_for_s, 1))
            case _:
                return
        self._publish_state()

    def _connected(
        self, caps: DeviceCaps, info: ble.DeviceInfo, profile: str, address: str
    ) -> None:
        self.connected, self.caps, self.info = True, caps, info
        self.profile, self.address = profile, address
        self._standby = Governor(self.site.limits, caps, self.site.turn)
        self._publish_state()  # status first, so the link flag never shows a stale status
        self.publisher.set_link(self.id, True)
        if self.on_change is not None:
            self.on_change(self)

    # --- shutdown ----------------------------------------------------------------------------

    async def wind_down(self, timeout_s: float) -> None:
        """DESIGN §2 rule 6: ramp a moving belt down and pause it, then close the session."""
        session = self.session
        if session is None:
            return
        with log_context(treadmill=self.id, **session_log_fields(session)):
            if not self.connected:  # nothing can reach the belt; its console and key still work
                self._log.warning("wind_down_link_down", session=session.id)
            else:
                settled = await session.wind_down(timeout_s, lambda: self.connected)
                self._log.info("wind_down_done", session=session.id, paused=settled)
            await session.close()
