"""The daemon process itself stopped mid-workout: SIGTERM (gentle) and SIGKILL (nothing runs).

`tests/daemon/test_process.py` has SIGTERM during a steady step; here SIGTERM comes in the
middle of a rise, and SIGKILL is followed by a new daemon on the same configuration. Outcomes
are read from the machine's write log and history, MQTT and the session records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testsupport.daemon import daemon_process
from testsupport.rig import START_AT_2, fault_rig
from testsupport.safety_checks import (
    PAUSE,
    assert_nothing_started_or_sped_up,
    assert_record_complete,
    describe_writes,
    read_record,
    session_records,
    speed_writes,
)

from treadctl.sim.model import BeltState

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

LIMITS = {"backward_max_kmh": 2.5}
RISE = [
    {"name": "Backward easy", "direction": "backward", "duration": "3s", "speed_kmh": 1.5},
    {"name": "Backward push", "direction": "backward", "duration": "60s", "speed_kmh": 2.5},
]
TWO_STEPS = [
    {"name": "Backward one", "direction": "backward", "duration": "2s", "speed_kmh": 2.0},
    {"name": "Backward two", "direction": "backward", "duration": "60s", "speed_kmh": 2.0},
]
# The site's default acceleration (0.25 km/h/s), so the rise to 2.5 km/h takes 4 s.
GENTLE = "[limits]\ndecel_kmh_per_s = 2.0\n"


async def test_sigterm_during_a_rise_stops_the_rise_ramps_down_and_pauses(tmp_path: Path) -> None:
    """SIGTERM while the belt is still speeding up to the step's speed: no higher speed is sent
    after the signal, the belt is ramped down and paused (08 02 is the last write), the daemon
    says `offline`, exits 0, and the session record is closed with its summary; never above
    the cap."""
    async with fault_rig(
        tmp_path, workouts={"rise": RISE}, workout_limits=LIMITS, extra=GENTLE
    ) as rig:
        await rig.start("rise")
        await rig.wait_event("step_started", step=2)
        await rig.wait_machine(lambda m: 1.6 <= m.target_speed_kmh < 2.3)  # mid-rise
        before = len(rig.model.writes)
        assert await rig.daemon.terminate() == 0
        rising_to = max(speed_writes(rig.model.writes[:before]))
        after = rig.model.writes[before:]
        log = describe_writes(rig.model.writes)
        assert after, f"nothing was sent on shutdown:\n{log}"
        assert after[-1].data == PAUSE, log
        assert all(kmh <= rising_to for kmh in speed_writes(after)), log
        assert_nothing_started_or_sped_up(rig.model, before)
        assert rig.model.state is BeltState.PAUSED
        await rig.mqtt.wait_for(
            lambda m: m.topic == "treadctl/tm1/availability" and m.payload == b"offline"
        )
        rig.check_caps()
        rig.check_health()
        summary = assert_record_complete(rig.record())
        assert summary["completed"] is False


async def test_sigkill_then_restart_starts_nothing_and_resumes_only_on_command(
    tmp_path: Path,
) -> None:
    """SIGKILL in step 2 (nothing runs on the way out), a stale retained `cmd/start` left on the
    broker, then a new daemon on the same config: it ignores the retained start, ramps the
    still-moving belt down and pauses it, offers the interrupted session as
    `resumable_session`, starts and speeds up nothing while telemetry samples pass, and only
    `cmd/resume` continues the workout at step 2; the killed record keeps what it wrote, the
    new one is complete; never above the cap."""
    async with fault_rig(
        tmp_path, workouts={"rise": TWO_STEPS}, workout_limits=LIMITS, extra=START_AT_2
    ) as rig:
        started = await rig.start("rise")
        await rig.wait_event("step_started", step=2)
        await rig.wait_speed(2.0)
        await rig.daemon.kill()
        await rig.sim.treadmill.disconnected.wait()
        await rig.mqtt.publish(
            "treadctl/tm1/cmd/start", json.dumps({"workout": "rise"}), retain=True
        )
        before, mark = len(rig.model.writes), rig.mark()
        async with daemon_process(rig.folder / "treadctl.toml") as again:
            rig.daemon = again
            offered = await rig.wait_state(
                lambda s: s.get("resumable_session") is not None, start=mark
            )
            assert offered["resumable_session"] == started["session_id"]
            ignored = await rig.mqtt.wait_for(
                lambda m: m.topic == "treadctl/tm1/cmd/result" and m.json()["command"] == "start",
                start=mark,
            )
            assert ignored.json()["ok"] is False
            assert "retained" in ignored.json()["reason"]
            await rig.wait_machine(lambda m: m.state is BeltState.PAUSED)
            await rig.samples(8)
            log = describe_writes(rig.model.writes[before:])
            assert rig.model.writes[-1].data == PAUSE, log
            assert_nothing_started_or_sped_up(rig.model, before)
            assert rig.model.state is BeltState.PAUSED

            waiting, mark = len(rig.model.writes), rig.mark()
            answer = await rig.command("resume")
            assert answer["ok"], answer
            assert answer["detail"]["resumed_session"] == started["session_id"]
            await rig.wait_machine(lambda m: m.state is BeltState.RUNNING)
            assert rig.model.writes[waiting].data[:1] in (b"\x00", b"\x07")
            state = await rig.wait_state(lambda s: s.get("status") == "running", start=mark)
            assert state["step_index"] == 2
            assert state["resumable_session"] is None
            assert await again.terminate() == 0
    rig.check_caps()
    rig.check_health()
    killed, resumed = session_records(rig.state_dir)
    cut = read_record(killed, cut_short=True)
    assert cut[0]["type"] == "session"
    assert "summary" not in {line["type"] for line in cut}  # cut short, as SIGKILL does
    assert assert_record_complete(read_record(resumed))["completed"] is False
