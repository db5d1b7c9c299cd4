"""Helpers for the BLE layer's tests: exact belt commands, a link on the virtual bench, events.

The link's tests need exact commands (3.0 km/h, not a governor ramp towards it), so `Commands`
takes them from the governor's own issuing functions; the governor's tests prove that nothing
else can make them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from treadctl.ble import Backoff, LinkEvent, ProfileSet, TreadmillLink, load_profiles
from treadctl.safety import InclineCommand, SpeedCommand, StartCommand, StopCommand
from treadctl.safety import commands as _governor_commands

if TYPE_CHECKING:
    from testsupport.virtual import Bench

E = TypeVar("E")
EVENT_WAIT_S = 10.0  # a bound so a broken test fails instead of hanging; never asserted on


class Commands:
    """Belt commands as the governor issues them."""

    @staticmethod
    def speed(speed_kmh: float) -> SpeedCommand:
        return _governor_commands._issue_speed(speed_kmh)

    @staticmethod
    def incline(incline_pct: float) -> InclineCommand:
        return _governor_commands._issue_incline(incline_pct)

    @staticmethod
    def start() -> StartCommand:
        return _governor_commands._issue_start()

    @staticmethod
    def stop(*, pause: bool = False) -> StopCommand:
        return _governor_commands._issue_stop(pause=pause)

    @staticmethod
    def emergency_stop() -> StopCommand:
        return _governor_commands._issue_stop(pause=False, emergency=True)


@pytest.fixture
def cmd() -> Commands:
    return Commands()


@pytest.fixture(scope="session")
def profiles() -> ProfileSet:
    return load_profiles()


def cp_writes(bench: Bench) -> list[bytes]:
    """The octets of every control-point write the bench's first treadmill received, in order."""
    return [write.data for write in bench.model.writes]


def fast_backoff() -> Backoff:
    """Reconnect quickly in tests (the delays are not what is tested)."""
    return Backoff(initial_s=0.05, max_s=0.2)


@asynccontextmanager
async def open_link(bench: Any, **kwargs: Any) -> AsyncIterator[TreadmillLink]:
    """A `TreadmillLink` to the bench's first treadmill, by name, over the bench's radio."""
    options: dict[str, Any] = {
        "name": bench.treadmill.model.config.name,
        "client_backend": bench.client_backend,
        "scanner_backend": bench.scanner_backend,
        "scan_timeout_s": 5.0,
        "connect_timeout_s": 10.0,
        "backoff": fast_backoff(),
    }
    options.update(kwargs)
    async with TreadmillLink(**options) as link:
        yield link


async def next_event(
    link: TreadmillLink, kind: type[E], where: Callable[[E], bool] | None = None
) -> E:
    """The next event of `kind` (and matching `where`), skipping others."""
    async with asyncio.timeout(EVENT_WAIT_S):
        while True:
            event: LinkEvent = await link.events.get()
            if isinstance(event, kind) and (where is None or where(event)):
                return event


async def events_until(link: TreadmillLink, last: Callable[[LinkEvent], bool]) -> list[LinkEvent]:
    """Every event up to and including the first for which `last(event)` holds."""
    seen: list[LinkEvent] = []
    async with asyncio.timeout(EVENT_WAIT_S):
        while not seen or not last(seen[-1]):
            seen.append(await link.events.get())
    return seen


async def until(condition: Callable[[], bool], what: str) -> None:
    """Yield to the loop until `condition()` holds (bounded, so a failure does not hang)."""
    try:
        async with asyncio.timeout(EVENT_WAIT_S):
            # The model's state has no event to await: poll it.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
