"""One workout session on one treadmill: its runner, its record, and the sink to the belt.

Owns: `Session` (a runner playing a plan, or manual mode, with its session record) and
`TrackedSink`, which passes the governor's commands to the Bluetooth link while counting what is
in flight, so a shutdown can wait until the final Pause has really reached the treadmill.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from treadctl.safety import BeltCommand, BeltState
from treadctl.workout.recorder import SessionRecorder
from treadctl.workout.runner import CommandSink, Runner

log = structlog.get_logger("treadctl.daemon")


class TrackedSink:
    """A `CommandSink` that counts commands in flight and remembers the last one sent."""

    def __init__(self, sink: CommandSink, on_sent: Callable[[BeltCommand], None]) -> None:
        self._sink = sink
        self._on_sent = on_sent
        self.in_flight = 0
        self.last_sent: BeltCommand | None = None

    async def send(self, command: BeltCommand) -> None:
        """Send `command` through the wrapped sink (same errors)."""
        self.in_flight += 1
        try:
            await self._sink.send(command)
        finally:
            self.in_flight -= 1
        self.last_sent = command
        self._on_sent(command)


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
        and no longer than `link_up()` holds: with the link gone nothing more can be sent.
        """
        if self.belt_moving and self.active:
            with contextlib.suppress(Exception):
                await self.runner.pause()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline and link_up():
            if not self.belt_moving and self.belt_settled:
                return True
            await asyncio.sleep(poll_s)
        log.warning("wind_down_timed_out", session=self.id, timeout_s=timeout_s)
        return not self.belt_moving

    async def close(self) -> None:
        """End the runner's loop (its record gets its summary) without sending anything."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
