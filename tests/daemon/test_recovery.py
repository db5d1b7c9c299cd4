"""Sessions a crash interrupted: found from their records, resumable only by a person."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from testsupport.brokers import AmqttBroker
from testsupport.daemon import daemon_config, daemon_process, served_treadmill
from testsupport.mqtt_recorder import MqttRecorder
from testsupport.safety_checks import speed_writes

from treadctl.daemon.recovery import find_interrupted
from treadctl.sim.settings import Quirks
from treadctl.sim.state import BeltState

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _record(folder: Path, name: str, lines: list[dict[str, object]]) -> Path:
    sessions = folder / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    path = sessions / f"{name}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _header(treadmill: str, started: datetime, workout: str = "first-timer") -> dict[str, object]:
    return {
        "type": "session",
        "version": 1,
        "id": f"{started:%Y%m%dT%H%M%SZ}-{treadmill}",
        "workout": workout,
        "treadmill": treadmill,
        "source": workout,
        "started_at": started.isoformat(timespec="seconds"),
    }


def _step(t_s: float, step: int) -> dict[str, object]:
    return {"type": "event", "t_s": t_s, "event": "step_started", "step": step}


def test_a_record_without_summary_is_an_interrupted_session(tmp_path: Path) -> None:
    """The newest record of the treadmill with no summary names its workout, the step it had
    reached (0-based) and about how long that step had played."""
    started = NOW - timedelta(minutes=10)
    _record(
        tmp_path,
        "a",
        [
            _header("tm1", started),
            _step(0.0, 1),
            _step(190.0, 2),
            {"type": "telemetry", "t_s": 250.5, "speed_kmh": 1.8},
            '{"type": "telem',  # type: ignore[list-item]  # a line cut by the crash
        ],
    )
    found = find_interrupted(tmp_path, "tm1", now=NOW)
    assert found is not None
    assert (found.workout, found.step_index, found.step_elapsed_s) == ("first-timer", 1, 60.5)


def test_a_finished_newest_session_offers_nothing(tmp_path: Path) -> None:
    """When the treadmill's newest session ended with its summary, nothing is resumable, even
    if an older one was cut off."""
    _record(tmp_path, "1-old", [_header("tm1", NOW - timedelta(hours=1)), _step(0.0, 1)])
    _record(
        tmp_path,
        "2-new",
        [_header("tm1", NOW - timedelta(minutes=5)), _step(0.0, 1), {"type": "summary"}],
    )
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None


def test_other_treadmills_manual_sessions_and_old_ones_are_not_offered(tmp_path: Path) -> None:
    """Only this treadmill's sessions count; manual sessions and sessions older than six hours
    are not resumed; a record with no step started yet is not either."""
    _record(tmp_path, "a", [_header("tm2", NOW - timedelta(minutes=1)), _step(0.0, 1)])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None
    _record(tmp_path, "b", [_header("tm1", NOW - timedelta(minutes=1), "manual"), _step(0.0, 1)])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None
    _record(tmp_path, "c", [_header("tm1", NOW - timedelta(hours=7)), _step(0.0, 1)])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None
    _record(tmp_path, "d", [_header("tm1", NOW - timedelta(minutes=1))])
    assert find_interrupted(tmp_path, "tm1", now=NOW) is None


async def test_after_sigkill_the_new_daemon_ramps_down_and_resumes_only_on_command(
    tmp_path: Path,
) -> None:
    """SIGKILL mid-step, then a new daemon: it finds the interrupted session, ramps the still
    moving belt down and pauses it, offers `resumable_session`, sends nothing that starts or
    speeds up the belt, and continues the workout at its step only on `cmd/resume`."""
    async with (
        served_treadmill(Quirks()) as sim,
        AmqttBroker() as broker,
        MqttRecorder(broker.host, broker.port, ("treadctl/#",)) as sub,
    ):
        config = daemon_config(tmp_path, sim.spec, broker.port)
        async with daemon_process(config) as first:
            await sub.wait_for(
                lambda m: m.topic == "treadctl/tm1/state" and m.json().get("link_connected")
            )
            await sub.publish("treadctl/tm1/cmd/start", json.dumps({"workout": "first-timer"}))
            await first.wait_for(lambda: sim.model.belt_speed_kmh >= 2.5, timeout_s=40)
            await first.kill()
        speed_at_kill = sim.model.belt_speed_kmh
        assert speed_at_kill >= 2.5
        mark = len(sim.model.writes)
        start_at = len(sub.messages)
        async with daemon_process(config) as second:
            state = await sub.wait_for(
                lambda m: (
                    m.topic == "treadctl/tm1/state"
                    and m.json().get("resumable_session") is not None
                ),
                start=start_at,
            )
            assert state.json()["status"] == "ready"
            await second.wait_for(lambda: _paused(sim), timeout_s=30)
            after_restart = sim.model.writes[mark:]
            assert b"\x07" not in [w.data for w in after_restart]  # no Start
            assert speed_writes(after_restart) == sorted(speed_writes(after_restart), reverse=True)
            assert max(speed_writes(after_restart), default=0.0) <= speed_at_kill
            mark = len(sim.model.writes)
            await sub.publish("treadctl/tm1/cmd/resume", b"{}")
            result = await sub.wait_for(
                lambda m: m.topic == "treadctl/tm1/cmd/result", start=start_at
            )
            assert result.json()["ok"], result.json()
            assert result.json()["detail"]["resumed_session"] == state.json()["resumable_session"]
            await second.wait_for(lambda: b"\x07" in [w.data for w in sim.model.writes[mark:]])
            await second.terminate()


def _paused(sim: Any) -> bool:
    return sim.model.state is BeltState.PAUSED
