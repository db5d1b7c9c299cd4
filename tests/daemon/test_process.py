"""The daemon as a real process: systemd notify, telemetry to a broker, safe shutdown, the demo."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from testsupport.brokers import AmqttBroker
from testsupport.daemon import daemon_config, daemon_process, run_treadctl, served_treadmill
from testsupport.mqtt_recorder import MqttRecorder
from testsupport.safety_checks import speed_writes

from treadctl.sim.settings import Quirks
from treadctl.sim.state import BeltState

pytestmark = pytest.mark.slow

QUIET = '[logging]\nlevel = "error"\n'


async def test_ready_watchdog_and_status_reach_systemd(tmp_path: Path) -> None:
    """READY=1 comes once the config is loaded and MQTT tried; WATCHDOG=1 pings follow; STATUS
    says what each treadmill is doing."""
    async with served_treadmill(Quirks()) as sim, AmqttBroker() as broker:
        config = daemon_config(tmp_path, sim.spec, broker.port)
        async with daemon_process(config, watchdog_usec=200_000) as daemon:
            await daemon.wait_for(lambda: sum("WATCHDOG=1" in n for n in daemon.notifications) >= 3)
            await daemon.wait_for(lambda: any("tm1: idle" in n for n in daemon.notifications))
            ready = next(n for n in daemon.notifications if "READY=1" in n)
            assert "STATUS=tm1:" in ready
            assert await daemon.terminate() == 0
        assert any("STOPPING=1" in n for n in daemon.notifications)


async def test_telemetry_and_state_reach_the_broker(tmp_path: Path) -> None:
    """Telemetry from the treadmill arrives as JSON with units in the key names; the retained
    state says the link is up."""
    async with (
        served_treadmill(Quirks()) as sim,
        AmqttBroker() as broker,
        MqttRecorder(broker.host, broker.port, ("treadctl/#",)) as sub,
    ):
        config = daemon_config(tmp_path, sim.spec, broker.port)
        async with daemon_process(config) as daemon:
            state = await sub.wait_for(
                lambda m: m.topic == "treadctl/tm1/state" and m.json().get("link_connected")
            )
            assert state.json()["status"] == "idle"
            sample = (await sub.wait_topic("treadctl/tm1/telemetry")).json()
            assert {"speed_kmh", "incline_pct", "distance_m", "elapsed_s"} <= set(sample)
            assert sample["speed_kmh"] == 0.0
            assert (await sub.wait_topic("treadctl/tm1/availability")).payload == b"online"
            assert await daemon.terminate() == 0
        await sub.wait_topic("treadctl/tm1/availability", payload=b"offline")
        async with MqttRecorder(broker.host, broker.port, ("treadctl/tm1/availability",)) as late:
            retained = await late.wait_topic("treadctl/tm1/availability")
        assert (retained.payload, retained.retain) == (b"offline", True)


async def test_sigterm_mid_workout_ramps_the_belt_down_and_pauses_it(tmp_path: Path) -> None:
    """SIGTERM during a step: the daemon lowers the speed step by step, pauses the belt (08 02),
    closes the session record with its summary, and only then exits."""
    async with (
        served_treadmill(Quirks()) as sim,
        AmqttBroker() as broker,
        MqttRecorder(broker.host, broker.port, ("treadctl/#",)) as sub,
    ):
        config = daemon_config(tmp_path, sim.spec, broker.port)
        async with daemon_process(config) as daemon:
            await sub.wait_for(
                lambda m: m.topic == "treadctl/tm1/state" and m.json().get("link_connected")
            )
            await sub.publish("treadctl/tm1/cmd/start", json.dumps({"workout": "first-timer"}))
            result = (await sub.wait_topic("treadctl/tm1/cmd/result")).json()
            assert result["ok"], result
            await daemon.wait_for(lambda: sim.model.belt_speed_kmh >= 2.0, timeout_s=40)
            writes_before = len(sim.model.writes)
            assert await daemon.terminate() == 0
        # Every line of the session, from the start command to the shutdown's pause, says whose
        # treadmill, which workout and which step it concerns.
        context = [
            (line.get("kind"), line.get("treadmill"), line.get("workout"), line.get("step"))
            for line in daemon.events("workout_event")
        ]
        assert context
        assert all(
            t == "tm1" and w == "first-timer" and isinstance(s, int) and s >= 1
            for _, t, w, s in context
        ), context
        (done,) = daemon.events("wind_down_done")
        assert (done["treadmill"], done.get("workout"), done.get("step")) == (
            "tm1",
            "first-timer",
            context[-1][3],
        ), done
        after = sim.model.writes[writes_before:]
        assert after, "nothing was sent on shutdown"
        values = speed_writes(after)
        assert values == sorted(values, reverse=True), values  # only ever lower
        assert after[-1].data == b"\x08\x02"  # the last word: Pause
        assert sim.model.state is BeltState.PAUSED
        record = next((tmp_path / "state" / "sessions").glob("*.jsonl"))
        last = json.loads(record.read_text(encoding="utf-8").splitlines()[-1])
        assert last["type"] == "summary"


async def test_log_level_option_overrides_the_config(tmp_path: Path) -> None:
    """`--log-level info` beats `[logging] level = "error"`: the info line `daemon_ready` is
    logged (as JSON, with its level)."""
    async with AmqttBroker() as broker:
        config = daemon_config(tmp_path, "sim:local", broker.port, extra=QUIET)
        async with daemon_process(config, log_level="info") as daemon:
            ready = await daemon.wait_for_log("daemon_ready")
            assert ready["level"] == "info"
            assert await daemon.terminate() == 0


async def test_sigint_shuts_down_like_sigterm(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) takes the same bounded shutdown as SIGTERM: STOPPING=1, the shutdown's
    log lines, exit status 0 (not a KeyboardInterrupt traceback)."""
    async with AmqttBroker() as broker:
        config = daemon_config(tmp_path, "sim:local", broker.port)
        async with daemon_process(config) as daemon:
            daemon.process.send_signal(signal.SIGINT)
            stopping = await daemon.wait_for_log("daemon_stopping")
            assert stopping["signal"] == "SIGINT"
            await daemon.wait_for_log("daemon_stopped")
            assert await daemon.process.wait() == 0
        assert any("STOPPING=1" in n for n in daemon.notifications)
        assert not any("Traceback" in line for line in daemon.raw)


async def test_unknown_profile_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """A quirk profile name that does not exist stops start-up with one clear line naming it."""
    config = daemon_config(tmp_path, "sim:local", 1, profile="no-such-profile")
    code, _, message = await run_treadctl("run", "--config", str(config))
    assert code == 2
    assert "treadmill[0].profile = 'no-such-profile'" in message
    assert "Traceback" not in message


async def test_demo_runs_a_whole_workout_at_200x(tmp_path: Path) -> None:
    """`treadctl demo --speedup 200` plays the first-timer workout to its end on the virtual
    treadmill and reports the session summary and the record's path."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    code, text, err = await run_treadctl(
        "demo", "--speedup", "200", "--state-dir", str(tmp_path / "state"), env=env
    )
    assert code == 0, text + err
    assert "first-timer — finished" in text
    assert "turns 2" in text
    record = next((tmp_path / "state" / "sessions").glob("*.jsonl"))
    assert f"record: {record}" in text
    summary = json.loads(record.read_text(encoding="utf-8").splitlines()[-1])
    assert summary["type"] == "summary"
    assert summary["completed"] is True
