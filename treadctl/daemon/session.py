"""One workout session on one treadmill: its runner, its record, and the sink to the belt.

Owns: `SiteSettings` (what every treadmill of a site shares), `Session` (a runner playing a
plan, or manual mode, with its session record), `open_session` (a workout name to a ready
session), and `TrackedSink`, which passes the governor's commands to the Bluetooth link while
counting what is in flight, so a shutdown can wait until the final Pause has really reached the
treadmill.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from treadctl.config import Config
from treadctl.safety import BeltCommand, BeltState, DeviceCaps, Governor, Limits, TurnSettings
from treadctl.workout.clock import Clock
from treadctl.workout.compiler import compile_plan
from treadctl.workout.recorder import SessionRecorder
from treadctl.workout.runner import CommandSink, Runner
from treadctl.workout.script import load_workout

log = structlog.get_logger("treadctl.daemon")

# After a ramp-down that ran out of time, how long the Stop may take to reach the treadmill.
STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class SiteSettings:
    """What every treadmill of a site shares, taken from the configuration."""

    limits: Limits
    turn: TurnSettings
    state_dir: Path
    scan_timeout_s: float
    connect_timeout_s: float
    reconnect_max_backoff_s: float

    @classmethod
    def from_config(cls, config: Config) -> SiteSettings:
        """The site settings of `config`."""
        return cls(
            limits=Limits(**config.limits.model_dump()),
            turn=TurnSettings(**config.turn.model_dump()),
            state_dir=config.paths.state_dir,
            scan_timeout_s=config.bluetooth.scan_timeout_s,
            connect_timeout_s=config.bluetooth.connect_timeout_s,
            reconnect_max_backoff_s=config.bluetooth.reconnect_max_backoff_s,
        )


class TrackedSink:
    """A `CommandSink` that counts the commands in flight."""

    def __init__(self, sink: CommandSink) -> None:
        self._sink = sink
        self.in_flight = 0

    async def send(self, command: BeltCommand) -> None:
        """Send `command` through the wrapped sink (same errors)."""
        self.in_flight += 1
        try:
            await self._sink.send(command)
        finally:
            self.in_flight -= 1


@dataclass
class Session:
    """A runner with its record; `name` is the catalog name (`manual` for manual mode)."""

    name: str
    runner: Runner
    sink: TrackedSink
    recorder: SessionRecorder
    task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        """The session record's id."""
        return self.recorder.id

    @property
    def active(self) -> bool:
        """Not finished or stopped yet."""
        return not self.runner.done

    @property
    def step_number(self) -> int | None:
        """The step being played (from 1); None before the first step and in manual mode."""
        step = self.runner.conductor.step
        return step.index if step is not None else None

    @property
    def belt_settled(self) -> bool:
        """Nothing left to send: no ramp under way and no command in flight."""
        governor = self.runner.governor
        return governor.wake_at_s() is None and self.sink.in_flight == 0

    @property
    def belt_moving(self) -> bool:
        """Whether the governor believes the belt runs."""
        return self.runner.governor.belt is BeltState.RUNNING

    async def wind_down(
        self, timeout_s: float, link_up: Callable[[], bool], poll_s: float = 0.05
    ) -> bool:
        """Ramp a moving belt down and pause it (DESIGN §2 rule 6); True once it has.

        Waits at most `timeout_s` seconds for the final Pause (or Stop) to reach the treadmill,
        and no longer than `link_up()` holds: with the link gone nothing more can be sent. A
        belt still moving then is stopped outright (Stop, the belt's own deceleration), which
        takes at most `STOP_GRACE_S` more.
        """
        if self.belt_moving and self.active:
            with contextlib.suppress(Exception):
                await self.runner.pause()
        if await self._settle(timeout_s, link_up, poll_s):
            return True
        log.warning("wind_down_timed_out", session=self.id, timeout_s=timeout_s)
        if self.belt_moving and link_up():
            # The ramp would outlast the bound (a high cap with a slow decel_kmh_per_s): stop
            # the belt at its own deceleration rather than leave it running (rules 2 and 6).
            log.warning("wind_down_stopping_belt", session=self.id)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.runner.emergency_stop(), timeout=STOP_GRACE_S)
            return await self._settle(STOP_GRACE_S, link_up, poll_s)
        return not self.belt_moving

    async def _settle(self, timeout_s: float, link_up: Callable[[], bool], poll_s: float) -> bool:
        """Wait up to `timeout_s`, while `link_up()`, for the belt to stand with nothing left to
        send; True once it does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline and link_up():
            if not self.belt_moving and self.belt_settled:
                return True
            await asyncio.sleep(poll_s)
        return False

    async def close(self) -> None:
        """End the runner's loop (its record gets its summary) without sending anything."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def open_session(
    name: str,
    workout: Path | None,
    site: SiteSettings,
    treadmill_id: str,
    sink: CommandSink,
    caps: DeviceCaps,
    clock: Clock,
    *,
    start_at: tuple[int, float] | None = None,
) -> Session:
    """A session of workout file `workout` (None: manual mode) compiled for `caps`, recorded
    under `site.state_dir`, not started. Raises `WorkoutError` for a workout that does not fit."""
    plan = None
    if workout is not None:
        script = load_workout(workout, site.limits)
        plan = compile_plan(script, site.limits, caps, site.turn)
    recorder = SessionRecorder(site.state_dir, workout=name, treadmill_id=treadmill_id, source=name)
    tracked = TrackedSink(sink)
    governor = Governor(site.limits, caps, site.turn)
    runner = Runner(governor, tracked, clock, plan=plan, recorder=recorder, start_at=start_at)
    return Session(name, runner, tracked, recorder)
