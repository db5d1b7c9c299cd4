"""The daemon in the test's own process: a real `Daemon` (demo configuration, commands on) on a
scaled clock, a virtual treadmill on the in-process link and an in-process broker, with a
recorder subscribed to `treadctl/#`.

Owns: `Rig` (the three parts, and `command` / `state` helpers for the `demo` treadmill) and
`in_process_daemon`, which yields a `Rig` once `demo` is connected and idle and stops the
daemon afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testsupport.brokers import AmqttBroker
from testsupport.mqtt_recorder import MqttRecorder, Received
from treadctl.config import Config
from treadctl.daemon.app import Daemon
from treadctl.daemon.demo import demo_config
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import shared_link
from treadctl.sim.settings import TreadmillConfig
from treadctl.workout.clock import ScaledClock

SPEEDUP = 20.0
RESULT = "treadctl/demo/cmd/result"


@dataclass
class Rig:
    daemon: Daemon
    treadmill: VirtualTreadmill
    sub: MqttRecorder

    async def command(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Publish `cmd/<name>` for `demo` and return its answer."""
        request_id = f"r{len(self.sub.messages)}"
        await self.sub.publish(
            f"treadctl/demo/cmd/{name}", json.dumps({**payload, "request_id": request_id})
        )
        answer = await self.sub.wait_for(
            lambda m: m.topic == RESULT and m.json().get("request_id") == request_id
        )
        return dict(answer.json())

    async def state(self, predicate: Callable[[dict[str, Any]], bool]) -> Received:
        """The first state message of `demo` matching `predicate(payload)`."""
        return await self.sub.wait_for(
            lambda m: m.topic == "treadctl/demo/state" and predicate(m.json())
        )


@contextlib.asynccontextmanager
async def in_process_daemon(
    tmp_path: Path, configure: Callable[[Config], Config] | None = None
) -> AsyncIterator[Rig]:
    """A daemon on the demo configuration (changed by `configure`, when given) with its state
    under `tmp_path`; yields once the `demo` treadmill is connected and idle."""
    async with (
        AmqttBroker() as broker,
        VirtualTreadmill(
            TreadmillConfig(name="treadctl-demo"), link=shared_link(), speedup=SPEEDUP
        ) as treadmill,
        MqttRecorder(broker.host, broker.port, ("treadctl/#",)) as sub,
    ):
        config = demo_config(broker.host, broker.port, tmp_path)
        if configure is not None:
            config = configure(config)
        daemon = Daemon(config, clock=ScaledClock(SPEEDUP), handle_signals=False)
        task = asyncio.create_task(daemon.run())
        try:
            one = Rig(daemon, treadmill, sub)
            await one.state(lambda s: bool(s.get("link_connected")) and s["status"] == "idle")
            yield one
        finally:
            daemon.stop.set()
            await task
