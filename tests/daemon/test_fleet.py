"""Several treadmills in one daemon: one that is off or absent never holds up the others, the
MQTT link or READY (issue 6, item 3). In one process: a virtual treadmill on the in-process
link, a second configured treadmill that never advertises, an in-process broker."""

from __future__ import annotations

from pathlib import Path

from testsupport.inprocess import in_process_daemon

from treadctl.config import Config
from treadctl.config import TreadmillConfig as SiteTreadmill
from treadctl.sim.state import BeltState


async def test_an_absent_treadmill_blocks_neither_ready_nor_mqtt_nor_the_other_treadmill(
    tmp_path: Path,
) -> None:
    """With `ghost` configured but never advertising: the daemon still becomes ready, `ghost`
    is published as not connected, and `demo` connects, streams telemetry and starts a workout
    on command while `ghost` keeps searching."""

    def with_ghost(config: Config) -> Config:
        ghost = SiteTreadmill(id="ghost", name="treadctl-nowhere")
        # ghost first: its search must not delay the treadmill configured after it.
        return config.model_copy(update={"treadmill": [ghost, *config.treadmill]})

    async with in_process_daemon(tmp_path, with_ghost) as r:
        daemon, treadmill, sub = r.daemon, r.treadmill, r.sub
        assert daemon.ready.is_set()
        ghost_state = await sub.wait_for(lambda m: m.topic == "treadctl/ghost/state")
        assert ghost_state.json()["status"] == "connecting"
        await sub.wait_topic("treadctl/demo/telemetry")
        answer = await r.command("start", {"workout": "first-timer"})
        assert answer["ok"], answer
        await sub.wait_for(
            lambda m: m.topic == "treadctl/demo/telemetry" and (m.json().get("speed_kmh") or 0) > 0
        )
        assert treadmill.model.state is BeltState.RUNNING
        assert not daemon.services["ghost"].connected
        assert daemon.services["ghost"].status == "connecting"
        assert "ghost: connecting" in daemon.status_line()
