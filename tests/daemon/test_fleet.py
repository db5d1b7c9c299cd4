"""Several treadmills in one daemon: one that is off or absent never holds up the others, the
MQTT link or READY (issue 6, item 3). In one process: a virtual treadmill on the in-process
link, a second configured treadmill that never advertises, an in-process broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from testsupport.brokers import AmqttBroker
from testsupport.mqtt_recorder import MqttRecorder

from treadctl.config import TreadmillConfig as SiteTreadmill
from treadctl.daemon.app import Daemon
from treadctl.daemon.demo import demo_config
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import shared_link
from treadctl.sim.settings import TreadmillConfig
from treadctl.sim.state import BeltState
from treadctl.workout.clock import ScaledClock

SPEEDUP = 20.0


async def test_an_absent_treadmill_blocks_neither_ready_nor_mqtt_nor_the_other_treadmill(
    tmp_path: Path,
) -> None:
    """With `ghost` configured but never advertising: the daemon still becomes ready, `ghost`
    is published as not connected, and `demo` connects, streams telemetry and starts a workout
    on command while `ghost` keeps searching."""
    async with (
        AmqttBroker() as broker,
        VirtualTreadmill(
            TreadmillConfig(name="treadctl-demo"), link=shared_link(), speedup=SPEEDUP
        ) as treadmill,
        MqttRecorder(broker.host, broker.port, ("treadctl/#",)) as sub,
    ):
        config = demo_config(broker.host, broker.port, tmp_path)
        ghost = SiteTreadmill(id="ghost", name="treadctl-nowhere")
        # ghost first: its search must not delay the treadmill configured after it.
        config = config.model_copy(update={"treadmill": [ghost, *config.treadmill]})
        daemon = Daemon(config, clock=ScaledClock(SPEEDUP), handle_signals=False)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), timeout=30)
            ghost_state = await sub.wait_for(lambda m: m.topic == "treadctl/ghost/state")
            assert ghost_state.json()["status"] == "connecting"
            await sub.wait_for(
                lambda m: m.topic == "treadctl/demo/state" and m.json().get("link_connected")
            )
            await sub.wait_topic("treadctl/demo/telemetry")
            await sub.publish(
                "treadctl/demo/cmd/start", json.dumps({"workout": "first-timer", "request_id": "s"})
            )
            answer = await sub.wait_for(
                lambda m: (
                    m.topic == "treadctl/demo/cmd/result" and m.json().get("request_id") == "s"
                )
            )
            assert answer.json()["ok"], answer.json()
            await sub.wait_for(
                lambda m: (
                    m.topic == "treadctl/demo/telemetry" and (m.json().get("speed_kmh") or 0) > 0
                )
            )
            assert treadmill.model.state is BeltState.RUNNING
            assert not daemon.services["ghost"].connected
            assert daemon.services["ghost"].status == "connecting"
            assert "ghost: connecting" in daemon.status_line()
        finally:
            daemon.stop.set()
            await task
