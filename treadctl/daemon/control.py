"""A treadmill's sessions under a person's commands, and what the treadmill publishes.

Owns: `SessionControl`, the base of `TreadmillService` (`treadmill`, which adds the link): the
state one treadmill shares with its link side, starting a session on a person's command, holding
a session a crash interrupted at its step until a person resumes it (nothing here starts the
belt by itself: DESIGN §2 rules 4 and 7), the person commands of a running session, an emergency
stop that is always carried out, session or not, and the state, telemetry and event payloads
published through the `Publisher`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from treadctl import ble
from treadctl.config import TreadmillConfig
from treadctl.daemon.payloads import state_payload, telemetry_payload
from treadctl.daemon.publishers import Publisher
from treadctl.daemon.recovery import Interrupted
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


class SessionControl:
    """One treadmill's sessions and publishing; `TreadmillService` adds the link that feeds
    them."""

    def __init__(
        self,
        config: TreadmillConfig,
        site: SiteSettings,
        *,
        catalog: WorkoutCatalog,
        clock: Clock,
        publisher: Publisher,
    ) -> None:
        self.config, self.site = config, site
        self.id = config.id
        self._catalog = catalog
        self._clock, self.publisher = clock, publisher
        self._log = log.bind(treadmill=self.id)
        # Set by the link side (`TreadmillService`) as the treadmill connects and drops.
        self.link: ble.TreadmillLink | None = None
        self.caps: DeviceCaps | None = None
        self.info: ble.DeviceInfo | None = None
        self.profile: str | None = None
        self.address: str | None = config.address
        self.connected = False
        self.status = "connecting"
        self._standby: Governor | None = None
        self._group: asyncio.TaskGroup | None = None
        # The sessions, owned here.
        self.session: Session | None = None
        self.last_session: Session | None = None
        self.interrupted: Interrupted | None = None  # a crashed session, until the first record
        self.resumable: str | None = None  # its id, while `resume` would continue it
        self._commands = asyncio.Lock()

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
                with log_context(**session_log_fields(session)):
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
        with log_context(treadmill=self.id, **session_log_fields(session)):
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


def session_log_fields(session: Session) -> dict[str, str | LiveValue]:
    """Log context for lines about `session`: its workout, and its step when each is logged."""
    return {"workout": session.name, "step": live(lambda: session.step_number)}
