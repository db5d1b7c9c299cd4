"""Helpers of the MQTT tests: a small command handler standing in for the daemon, a gate that
holds the bridge's reconnect until the test opens it, and settings pointing at a test broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from treadctl.errors import LatchedError, LimitExceededError
from treadctl.mqtt import (
    Command,
    CommandResult,
    MqttSettings,
    ResumeCommand,
    SetInclineCommand,
    SetSpeedCommand,
    SkipCommand,
    StartCommand,
)

WORKOUTS = ("first-timer", "retro-intervals")


class Handler:
    """A small daemon stand-in: records every call, refuses like the real one would, and can
    hold `set_speed` calls until the test releases them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Command]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.latched = False
        self.workout: str | None = None
        self.fail_with: BaseException | None = None
        self.answered = 0  # calls that returned or raised (their answer is queued by then)
        self._progress = asyncio.Event()

    async def __call__(self, treadmill_id: str, command: Command) -> CommandResult:
        try:
            return await self._handle(treadmill_id, command)
        finally:
            self.answered += 1
            self._progress.set()

    async def wait_answered(self, count: int) -> None:
        """Return once `count` calls have returned or raised (their answers are queued)."""
        while self.answered < count:
            self._progress.clear()
            await self._progress.wait()

    async def _handle(self, treadmill_id: str, command: Command) -> CommandResult:
        self.calls.append((treadmill_id, command))
        if self.fail_with is not None:
            raise self.fail_with
        if isinstance(command, StartCommand):
            if command.workout not in WORKOUTS:
                return CommandResult.refused(
                    f"unknown workout {command.workout!r}", known=list(WORKOUTS)
                )
            self.workout = command.workout
            return CommandResult.accepted(workout=command.workout)
        if isinstance(command, ResumeCommand) and self.latched:
            raise LatchedError(
                "latched after a safety stop: press Start on the console", reason="latched"
            )
        if isinstance(command, SkipCommand) and self.workout is None:
            return CommandResult.refused("no workout is running")
        if isinstance(command, SetSpeedCommand):
            if command.speed_kmh > 4.0:
                raise LimitExceededError(
                    "speed above the backward cap",
                    reason="over_cap",
                    requested=command.speed_kmh,
                    allowed=4.0,
                    unit="km/h",
                )
            await self.release.wait()
        if isinstance(command, SetInclineCommand) and command.incline_pct > 10:
            raise LimitExceededError(
                "incline above the cap",
                reason="over_cap",
                requested=command.incline_pct,
                allowed=10.0,
                unit="%",
            )
        return CommandResult.accepted()

    def names(self) -> list[str]:
        return [command.name for _, command in self.calls]


class ReconnectGate:
    """Stands in for the bridge's reconnect sleep: the bridge waits here until `open` is set."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self.open = asyncio.Event()
        self.open.set()
        self.delays: list[float] = []

    async def sleep(self, delay_s: float) -> None:
        self.delays.append(delay_s)
        self.waiting.set()
        await self.open.wait()
        self.waiting.clear()


SettingsFactory = Callable[..., MqttSettings]


def settings_for(broker: Any, **overrides: Any) -> MqttSettings:
    """Settings for a test broker (host and port taken from it), fast to reconnect."""
    values: dict[str, Any] = {
        "host": broker.host,
        "port": broker.port,
        "client_id": "treadctl-test",
        "reconnect_min_backoff_s": 0.01,
        "reconnect_max_backoff_s": 0.05,
    }
    values.update(overrides)
    return MqttSettings(**values)
