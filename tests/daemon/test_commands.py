"""The daemon's command handling, in one process: MQTT commands through the daemon to a virtual
treadmill on the in-process link, answered on cmd/result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testsupport.inprocess import Rig, in_process_daemon

from treadctl.sim.state import BeltState


async def test_manual_mode_refuses_a_speed_above_the_backward_cap(tmp_path: Path) -> None:
    """`start` with workout `manual`, then `set_speed` backward: 5.0 km/h is refused with the
    requested and allowed values, 2.0 km/h is accepted, and the belt never goes above it."""
    async with in_process_daemon(tmp_path) as r:
        assert (await r.command("start", {"workout": "manual"}))["ok"]
        refused = await r.command("set_speed", {"speed_kmh": 5.0, "direction": "backward"})
        assert not refused["ok"]
        assert (refused["detail"]["requested"], refused["detail"]["allowed"]) == (5.0, 4.0)
        accepted = await r.command("set_speed", {"speed_kmh": 2.0, "direction": "backward"})
        assert accepted["ok"], accepted
        assert max(h.value for h in _speed_targets(r)) <= 4.0


async def test_commands_without_a_session_are_refused_with_a_reason(tmp_path: Path) -> None:
    """pause, resume, skip and set_speed with no workout running are refused, saying how to
    start one; an unknown workout names the known ones."""
    async with in_process_daemon(tmp_path) as r:
        for name, payload in (
            ("pause", {}),
            ("resume", {}),
            ("skip", {}),
            ("set_speed", {"speed_kmh": 2.0}),
        ):
            answer = await r.command(name, payload)
            assert not answer["ok"]
            assert "no workout is running" in answer["reason"]
        unknown = await r.command("start", {"workout": "marathon"})
        assert not unknown["ok"]
        assert "unknown workout 'marathon'" in unknown["reason"]
        assert "first-timer" in unknown["reason"]


async def test_start_twice_is_refused_and_estop_latches_until_a_person_resumes(
    tmp_path: Path,
) -> None:
    """A second `start` while a workout runs is refused; `estop` stops the belt at once and the
    state says latched; a speed is then refused as latched and a skip as halted, neither moves
    anything, and only `resume` starts the belt again."""
    async with in_process_daemon(tmp_path) as r:
        assert (await r.command("start", {"workout": "first-timer"}))["ok"]
        again = await r.command("start", {"workout": "first-timer"})
        assert not again["ok"]
        assert "still on" in again["reason"]
        assert (await r.command("estop", {}))["ok"]
        await r.state(lambda s: s.get("latched"))
        assert r.treadmill.model.writes[-1].data == b"\x08\x01"
        assert r.treadmill.model.state is BeltState.STOPPED
        writes = len(r.treadmill.model.writes)
        latched = await r.command("set_speed", {"speed_kmh": 2.0})
        assert not latched["ok"]
        assert "only a person's start or resume clears it" in latched["reason"]
        skipped = await r.command("skip", {})
        assert not skipped["ok"]
        assert "halted" in skipped["reason"]
        assert r.treadmill.model.writes[writes:] == []
        assert r.treadmill.model.state is BeltState.STOPPED
        assert (await r.command("resume", {}))["ok"]
        await r.state(lambda s: not s.get("latched") and s["status"] == "running")
        await r.sub.wait_for(
            lambda m: m.topic == "treadctl/demo/telemetry" and (m.json()["speed_kmh"] or 0) > 0
        )
        sent = [w.data for w in r.treadmill.model.writes[writes:]]
        assert sent[0] == b"\x07"  # Start or Resume, asked for by a person
        assert max(h.value for h in _speed_targets(r)) <= 4.0


async def test_estop_without_a_session_still_stops_a_belt_run_from_the_console(
    tmp_path: Path,
) -> None:
    """With no workout of ours, a belt started at the console still stops on `estop`."""
    async with in_process_daemon(tmp_path) as r:
        model = r.treadmill.model
        r.treadmill.press_start()
        answer = await r.command("estop", {})
        assert answer["ok"], answer
        assert model.writes[-1].data == b"\x08\x01"


def _speed_targets(r: Rig) -> list[Any]:
    return [h for h in r.treadmill.model.history if h.what == "target_speed_kmh"]
