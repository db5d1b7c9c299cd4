"""The demo's live terminal view: what each dashboard line shows, and that the daemon's real
payloads fill every part of it (step, direction, target and actual speed, time left in the step
and in total, the next turn-around, the progress bar)."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from testsupport.brokers import AmqttBroker

from treadctl.daemon.app import Daemon
from treadctl.daemon.demo import DEMO_ID, demo_config
from treadctl.daemon.view import LiveView, event_text, render
from treadctl.sim.gatt import VirtualTreadmill
from treadctl.sim.link import shared_link
from treadctl.sim.settings import TreadmillConfig
from treadctl.workout.clock import ScaledClock

SPEEDUP = 200.0


def test_dashboard_lines_show_every_figure() -> None:
    """A telemetry sample mid-step renders step, direction, target and actual speed, incline,
    state, time left in the step and in total, the next turn and a 25 % bar."""
    telemetry = {
        "step": "Backward block",
        "step_index": 2,
        "direction": "backward",
        "state": "running",
        "target_speed_kmh": 2.0,
        "speed_kmh": 1.94,
        "incline_pct": 0.0,
        "step_time_left_s": 90.0,
        "remaining_s": 720.4,
        "next_turn_in_s": 180.0,
        "auto_resume_in_s": None,
        "progress_pct": 25.0,
    }
    step, speeds, times, progress = render(telemetry, {})
    assert re.fullmatch(r" Step 2: Backward block +← BACKWARD", step)
    assert speeds == " Target 2.0 km/h   Actual 1.9 km/h   Incline 0.0 %   [running]"
    assert times == " Step left 01:30   Total left 12:00   Next turn in 03:00"
    assert progress == " [" + "█" * 8 + "░" * 22 + "] 25 %"


def test_event_lines_say_when_a_rise_comes_and_sum_up_the_session() -> None:
    """A rise gives its time; a turn's coming rise, which waits for the resume, gives none; the
    session summary is one line; an event without a template lists its fields."""
    ahead = {"event": "speed_rise_announced", "reason": "step", "speed_kmh": 2.4, "in_s": 5.0}
    assert event_text(ahead) == "speed rises to 2.4 km/h in 5 s"
    turn = {"event": "speed_rise_announced", "reason": "turn", "speed_kmh": 1.8, "in_s": None}
    assert event_text(turn) == "after the turn the speed rises to 1.8 km/h"
    summary = {"event": "session_summary", "session_id": "s1", "state": "finished",
               "distance_m": 399.9, "backward_s": 302.2}  # fmt: skip
    assert event_text(summary) == "session s1: finished, 399.9 m"
    silent = {"event": "link_silent", "t_s": 3.0, "waited_s": 5}
    assert event_text(silent) == "link_silent (waited_s=5)"


def test_a_turn_counts_down_to_the_resume_and_the_last_step_has_no_turn() -> None:
    """During an auto-resuming turn the third line counts down to the resume; with no turn
    ahead it says so; the step falls back to the retained state's when telemetry has none."""
    turning = {"direction": "forward", "auto_resume_in_s": 7.0, "next_turn_in_s": None}
    state = {"step": "Forward cool-down", "step_index": 3, "status": "turning"}
    step, speeds, times, _ = render(turning, state)
    assert step.startswith(" Step 3: Forward cool-down")
    assert step.endswith("→ forward")
    assert speeds.endswith("[turning]")
    assert times.endswith("Resuming in 00:07")
    assert render({"next_turn_in_s": None}, {})[2].endswith("No more turns")


async def test_a_whole_workout_fills_the_dashboard_from_real_payloads(tmp_path: Path) -> None:
    """The first-timer workout played through the daemon onto a terminal view: frames show the
    backward step with times counting and a turn ahead, speeds, a filling bar, and the events
    (turn-arounds, the finish) are printed above the dashboard."""
    out = io.StringIO()
    view = LiveView(out, redraw=True)
    async with (
        AmqttBroker() as broker,
        VirtualTreadmill(
            TreadmillConfig(name="treadctl-demo"), link=shared_link(), speedup=SPEEDUP
        ),
    ):
        daemon = Daemon(
            demo_config(broker.host, broker.port, tmp_path),
            clock=ScaledClock(SPEEDUP),
            handle_signals=False,
            observer=view,
        )
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), timeout=30)
            service = daemon.services[DEMO_ID]
            while not service.connected:  # noqa: ASYNC110 - the demo waits the same way
                await asyncio.sleep(0.02)
            await service.start("first-timer")
            session = service.session
            assert session is not None
            assert session.task is not None
            await session.task
        finally:
            daemon.stop.set()
            await task
    text = out.getvalue()
    assert "\x1b[" in text  # redrawn in place on a terminal
    assert re.search(r" Step \d+: Backward\S*.* +← BACKWARD", text), text[-2000:]
    assert re.search(r"Target \d\.\d km/h   Actual \d\.\d km/h", text)
    clock = r"\d\d:\d\d"
    assert re.search(rf"Step left {clock}   Total left {clock}   Next turn in {clock}", text)
    assert re.search(r"\[█+░+\] \d+\.?\d? %", text)
    assert text.count("TURN AROUND") == 2
    assert "workout finished" in text
    kinds = [event.get("event") for event in view.events]
    assert kinds.count("turn_around") == 2
    assert "workout_finished" in kinds
