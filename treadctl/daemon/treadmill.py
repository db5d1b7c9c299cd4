"""One treadmill inside the daemon: its Bluetooth link, its sessions and its MQTT topics.

Owns: turning link events into runner input and MQTT payloads, starting and ending sessions on
a person's command, and the fail-safe paths of DESIGN §2: nothing is sent on a reconnect but
the ramp-down of rule 7, a shutdown winds a moving belt down before the link closes (rule 6),
and an emergency stop is always carried out, session or not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

from treadctl import ble
from treadctl.config import TreadmillConfig
from treadctl.daemon.payloads import state_payload, telemetry_payload
from treadctl.daemon.publishers import Publisher
from treadctl.daemon.radio import Radio
from treadctl.daemon.recovery import Interrupted, find_interrupted
from treadctl.daemon.session import Session, SiteSettings, open_session
from treadctl.daemon.workouts import MANUAL, WorkoutCatalog
from treadctl.errors import CommandError, LinkLostError, TreadctlError
from treadctl.logs import LiveValue, live, log_context
from treadctl.safety import DeviceCaps, Governor
from treadctl.workout.clock import Clock
from treadctl.workout.conductor import RunState
from treadctl.workout.plan import RunnerEvent
from treadctl.workout.runner import Runner

log = structlog.get_logger("treadctl.daemon")


class TreadmillService:
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
        self.config, self.site = config, site
        self.id = config.id
        self._radio, self._profiles, self._catalog = radio, profiles, catalog
        self._clock, self.publisher = clock, publisher
        self._log = log.bind(treadmill=self.id)
        self.link: ble.TreadmillLink | None = None
        self.caps: DeviceCaps | None = None
        self.info: ble.DeviceInfo | None = None
        self.profile: str | None = None
        self.address: str | None = config.address
        self.connected = False
        self.status = "connecting"
        self.session: Session | None = None
        self.last_session: Session | None = None
        self.interrupted: Interrupted | None = None  # a crashed session, until the first record
        self.resumable: str | None = None  # its id, while `resume` would continue it
        self._standby: Governor | None = None
        self._group: asyncio.TaskGroup | None = None
        self._commands = asyncio.Lock()
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

    # --- a person's commands ---------------------------------------------------------------

    async def start(self, workout: str) -> dict[str, Any]:
        """Start `workout` (a catalog name, or `manual`). Raises `TreadctlError` when refused."""
        async with self._commands:
            if self._unstarted(self.session):
                await self._drop_session()
            if self.session is not None and self.session.active:
                raise CommandError(
                    f"workout {self.session.name!r} is still on "
                    f"({self.session.runner.state}); resume it, or stop it first",
                    where="workout",
                )
            link, caps = self._ready()
            session = self._new_session(workout, link, caps)
            try:
                with log_context(**_session_fields(session)):
                    await session.runner.start()
            except TreadctlError:
                await session.close()
                raise
            if self._group is None:  # start() before run() got the link: nothing to play on
                await session.close()
                raise CommandError("the treadmill is still starting up", where="start")
            self.session = self.last_session = session
            session.task = self._group.create_task(
                self._play(session), name=f"runner-{self.id}-{session.id}"
            )
            self._publish_state()
            return {"session_id": session.id, "workout": workout}

    def _recover(self, interrupted: Interrupted, speed_kmh: float, now_s: float) -> Runner | None:
        """A crashed session of ours: ramp a moving belt down and pause it (rule 7) and hold the
        workout at its step until a person resumes it. Nothing starts the belt."""
        self.interrupted = None
        link, caps = self.link, self.caps
        if link is None or caps is None or self._group is None:
            return None
        start_at = (interrupted.step_index, interrupted.step_elapsed_s)
        try:
            session = self._new_session(interrupted.workout, link, caps, start_at=start_at)
        except TreadctlError as exc:  # the workout changed or vanished: recover by hand
            self._log.warning("interrupted_session_not_resumable", error=str(exc))
            session = self._new_session(MANUAL, link, caps)
        else:
            self.resumable = interrupted.session_id
        self.session = self.last_session = session
        session.task = self._group.create_task(
            self._play(session), name=f"runner-{self.id}-{session.id}"
        )
        if speed_kmh > 0:
            session.runner.link_restored(now_s, True, speed_kmh)
        self._event(
            "session_interrupted",
            session_id=interrupted.session_id,
            workout=interrupted.workout,
            step=interrupted.step_index + 1,
            belt_moving=speed_kmh > 0,
            resumable=self.resumable is not None,
        )
        return session.runner

    @staticmethod
    def _unstarted(session: Session | None) -> bool:
        return session is not None and session.runner.state is RunState.READY

    async def _drop_session(self) -> None:
        session, self.session, self.resumable = self.session, None, None
        if session is not None:
            await session.close()

    def _new_session(
        self,
        name: str,
        link: ble.TreadmillLink,
        caps: DeviceCaps,
        start_at: tuple[int, float] | None = None,
    ) -> Session:
        workout = None if name == MANUAL else self._catalog.path(name)
        session = open_session(
            name, workout, self.site, self.id, link, caps, self._clock, start_at=start_at
        )
        session.runner.add_listener(self._on_runner_event)
        return session

    async def _play(self, session: Session) -> None:
        # The runner's task: every log line of the session says whose, which workout and step.
        with log_context(treadmill=self.id, **_session_fields(session)):
            try:
                await session.runner.run()
            except Exception:
                self._log.exception("runner_failed", session=session.id)
                with contextlib.suppress(TreadctlError):
                    await session.runner.emergency_stop()
            finally:
                if self.session is session:
                    self.session = None
                self._publish_state()

    async def command(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """Run the person command `name` (pause, resume, stop, skip, set_speed, set_incline)."""
        async with self._commands:
            session = self.session
            if session is None or not session.active:
                raise CommandError(
                    "no workout is running; start one (workout 'manual' to set speeds by hand)",
                    where=name,
                )
            runner = session.runner
            result: dict[str, Any] = {}
            if name in ("pause", "resume", "stop", "skip"):
                await getattr(runner, name)()
            elif name == "set_speed":
                setpoint = await runner.set_speed(kwargs["speed_kmh"], kwargs.get("direction"))
                result = {"speed_kmh": setpoint.allowed, "rise_at_s": setpoint.rise_at_s}
            elif name == "set_incline":
                setpoint = await runner.set_incline(kwargs["incline_pct"])
                result = {"incline_pct": setpoint.allowed}
            else:  # the MQTT layer validates names; this is a programming error
                raise CommandError(f"unknown command {name!r}", where=name)
            self._publish_state()
            return result

    async def resume(self) -> dict[str, Any]:
        """Resume a paused workout, confirm a turn, or continue a session a crash interrupted."""
        resumed = self.resumable
        result = await self.command("resume")
        if resumed is not None:
            self.resumable = None
            self._publish_state()
            return {**result, "resumed_session": resumed}
        return result

    async def emergency_stop(self) -> dict[str, Any]:
        """Stop the belt now, session or not; never waits behind another command."""
        session = self.session
        if session is not None and session.active:
            await session.runner.emergency_stop()
            return {"session_id": session.id}
        link = self.link
        if link is None or not self.connected or self._standby is None:
            raise LinkLostError("the treadmill is not connected", address=self.address or "")
        await link.send(self._standby.emergency_stop(self._clock.now()))
        self._event("safety_stop", reason="emergency_stop")
        return {}

    def _ready(self) -> tuple[ble.TreadmillLink, DeviceCaps]:
        if self.link is None or not self.connected or self.caps is None:
            raise LinkLostError(
                f"treadmill {self.id!r} is not connected ({self.status})",
                address=self.address or "",
            )
        return self.link, self.caps

    # --- shutdown ----------------------------------------------------------------------------

    async def wind_down(self, timeout_s: float) -> None:
        """DESIGN §2 rule 6: ramp a moving belt down and pause it, then close the session."""
        session = self.session
        if session is None:
            return
        with log_context(treadmill=self.id, **_session_fields(session)):
            if not self.connected:  # nothing can reach the belt; its console and key still work
                self._log.warning("wind_down_link_down", session=session.id)
            else:
                settled = await session.wind_down(timeout_s, lambda: self.connected)
                self._log.info("wind_down_done", session=session.id, paused=settled)
            await session.close()

    # --- publishing --------------------------------------------------------------------------

    def _on_runner_event(self, event: RunnerEvent) -> None:
        self.publisher.publish_event(self.id, event.as_dict())
        self._publish_state()

    def _event(self, kind: str, **data: Any) -> None:
        self._log.info("treadmill_event", kind=kind, **data)
        self.publisher.publish_event(self.id, {"event": kind, **data})

    def progress(self) -> dict[str, Any] | None:
        """The running session's progress, or None."""
        session = self.session
        return session.runner.progress() if session is not None else None

    def _publish_telemetry(self, record: Any) -> None:
        progress = self.progress()
        direction = progress.get("direction") if progress else None
        self.publisher.publish_telemetry(self.id, telemetry_payload(record, progress, direction))

    def _publish_state(self) -> None:
        progress = self.progress()
        status = self.status
        if self.connected:
            status = str(progress["state"]) if progress else "idle"
            self.status = status
        session = self.session
        self.publisher.publish_state(
            self.id,
            state_payload(
                status,
                progress,
                session_id=session.id if session else None,
                resumable=self.resumable,
                profile=self.profile,
                address=self.address,
            ),
        )


def _session_fields(session: Session) -> dict[str, str | LiveValue]:
    """Log context for lines about `session`: its workout, and its step when each is logged."""
    return {"workout": session.name, "step": live(lambda: session.step_number)}
