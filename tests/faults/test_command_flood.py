"""A flood of MQTT commands while a workout runs, end to end (the one long fault test).

1,000 commands a second for 10 s (pause/resume/set_speed/set_incline and malformed ones) reach
the real daemon through mosquitto while it drives a virtual treadmill; an emergency stop is
published in the middle. The flood runs once (module fixture); the tests below read its
outcome: the machine's write log, every MQTT message in the order the broker forwarded it, the
daemon's logs and the session record. Nothing is asserted on wall-clock time: order and counts
only (latency is `make bench`'s job).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from testsupport.brokers import MosquittoBroker, require_mosquitto
from testsupport.mqtt_recorder import Received
from testsupport.rig import BASE, fault_rig
from testsupport.safety_checks import (
    STOP,
    Caps,
    assert_record_complete,
    describe_writes,
)

from treadctl.sim.model import BeltState, ControlPointWrite

pytestmark = [pytest.mark.slow, pytest.mark.mosquitto, pytest.mark.timeout(120)]

RATE_PER_S = 1000
SECONDS = 10
BATCH = 50  # commands published back to back, then a wait until the next batch is due
LIMITS = {"backward_max_kmh": 2.5}
WALK = [{"name": "Long walk", "direction": "backward", "duration": "300s", "speed_kmh": 1.5}]
# (command, payload): person commands, a speed above the workout's cap, and malformed ones.
BEFORE_STOP = [
    ("resume", b"{}"),
    ("pause", b"{}"),
    ("set_speed", b'{"speed_kmh": 1.8}'),
    ("set_speed", b'{"speed_kmh": 2.8}'),  # above the workout's 2.5 km/h backward cap
    ("set_speed", b'{"speed_kmh": "fast"}'),
    ("set_incline", b'{"incline_pct": 1.0}'),
    ("bogus", b"{}"),
    ("pause", b"\xff\xfe"),
    ("resume", b"{"),
    ("pause", b'{"unknown": 1}'),
]
# After the emergency stop nothing a person would use to start the belt again.
AFTER_STOP = [c for c in BEFORE_STOP if c[0] != "resume"]


@dataclass
class Flood:
    """What the flood left behind."""

    messages: list[Received]
    writes: list[ControlPointWrite]
    history_targets: list[float]
    belt_state: BeltState
    belt_speed_kmh: float
    estop_answer: dict[str, Any]
    after_answer: dict[str, Any]
    record: list[dict[str, Any]]
    logs: list[dict[str, Any]]
    raw_logs: list[str]
    exit_code: int
    caps: Caps
    caps_problem: str | None

    def flood_indices(self) -> list[int]:
        """Where each flood command sits among the messages the broker forwarded."""
        return [
            i
            for i, m in enumerate(self.messages)
            if "/cmd/" in m.topic and not m.topic.endswith("/cmd/result")
        ]

    def on(self, suffix: str) -> list[tuple[int, Received]]:
        """(index, message) of the daemon's messages on `BASE/<suffix>`."""
        return [(i, m) for i, m in enumerate(self.messages) if m.topic == f"{BASE}/{suffix}"]


async def _publish_flood(host: str, port: int) -> None:
    """RATE_PER_S commands a second for SECONDS, the estop halfway, from a client of its own."""
    loop = asyncio.get_running_loop()
    batches = RATE_PER_S * SECONDS // BATCH
    async with aiomqtt.Client(host, port, identifier="fault-flood") as client:
        mix: Iterator[tuple[str, bytes]] = itertools.cycle(BEFORE_STOP)
        began = loop.time()
        for batch in range(batches):
            if batch == batches // 2:
                await client.publish(f"{BASE}/cmd/estop", b'{"request_id": "estop"}', qos=1)
                mix = itertools.cycle(AFTER_STOP)
            for _ in range(BATCH):
                name, payload = next(mix)
                await client.publish(f"{BASE}/cmd/{name}", payload, qos=0)
            # Pacing the load itself (1,000 a second), not waiting for something to happen.
            await asyncio.sleep(max(0.0, began + (batch + 1) * BATCH / RATE_PER_S - loop.time()))


async def _run_flood(folder: Path) -> Flood:
    broker_dir = folder / "broker"
    broker_dir.mkdir()
    async with (
        MosquittoBroker(broker_dir) as broker,
        fault_rig(folder, workouts={"walk": WALK}, workout_limits=LIMITS, broker=broker) as rig,
    ):
        await rig.start("walk")
        await rig.wait_speed(1.5)
        first = rig.mark()
        await _publish_flood(broker.host, broker.port)
        estop = await rig.answer("estop")
        after = await rig.command("set_speed", {"speed_kmh": 1.5})  # still answering?
        await rig.samples(3)
        code = await rig.daemon.terminate()
        try:
            rig.check_caps()
        except AssertionError as exc:
            problem: str | None = str(exc)
        else:
            problem = None
        return Flood(
            messages=rig.mqtt.messages[first:],
            writes=list(rig.model.writes),
            history_targets=[
                float(h.value) for h in rig.model.history if h.what == "target_speed_kmh"
            ],
            belt_state=rig.model.state,
            belt_speed_kmh=rig.model.belt_speed_kmh,
            estop_answer=estop,
            after_answer=after,
            record=rig.record(),
            logs=list(rig.daemon.logs),
            raw_logs=list(rig.daemon.raw),
            exit_code=code,
            caps=rig.caps,
            caps_problem=problem,
        )


@pytest.fixture(scope="module")
def flood(tmp_path_factory: pytest.TempPathFactory) -> Flood:
    """Run the flood once for the tests of this module."""
    require_mosquitto()
    return asyncio.run(_run_flood(tmp_path_factory.mktemp("flood")))


def test_flood_emergency_stop_still_acts_and_nothing_moves_the_belt_after_it(
    flood: Flood,
) -> None:
    """In the middle of the flood the estop is carried out and answered ok: exactly one Stop
    (08 01) is carried out by the treadmill, no speed, incline or Start write follows the
    first Stop written, the belt ends stopped; the belt was never above the cap and the
    session record is complete."""
    assert flood.estop_answer["ok"] is True, flood.estop_answer
    stops = [i for i, w in enumerate(flood.writes) if w.data == STOP]
    log = describe_writes(flood.writes[-20:])
    # One Stop carried out (a write refused with ATT 0xFE while the machine was still busy
    # with the command before is written again).
    assert [flood.writes[i].result for i in stops].count(0x01) == 1, log
    after = flood.writes[stops[0] + 1 :]
    moving = [w for w in after if w.data[:1] in (b"\x02", b"\x03", b"\x07")]
    assert moving == [], describe_writes(moving)
    assert flood.belt_state is BeltState.STOPPED
    assert flood.belt_speed_kmh == 0.0
    assert flood.caps_problem is None, flood.caps_problem
    assert max(flood.history_targets) <= flood.caps.backward_kmh
    assert flood.exit_code == 0
    summary = assert_record_complete(flood.record)
    assert summary["completed"] is False


def test_flood_every_refusal_says_why_and_the_daemon_survives(flood: Flood) -> None:
    """Every answer published during the flood is either accepted or refused with a reason; a
    malformed command's refusal names its topic (and the field, for a wrong type); the speed
    above the workout's cap is refused, never sent; after the flood the daemon still answers
    commands, and it logged no error and no traceback."""
    answers = [m.json() for _, m in flood.on("cmd/result")]
    assert len(answers) > 20, len(answers)
    for answer in answers:
        assert answer["ok"] or (isinstance(answer["reason"], str) and answer["reason"]), answer
    bad = [a for a in answers if a["command"] == "bogus" or "not valid JSON" in str(a["reason"])]
    assert bad, "no refusal of a malformed command got through"
    for answer in bad:
        assert answer["detail"]["topic"] == f"{BASE}/cmd/{answer['command']}", answer
    typed = [a for a in answers if "field 'speed_kmh'" in str(a["reason"])]
    assert all(a["detail"]["where"].endswith("field 'speed_kmh'") for a in typed), typed
    speeds = [int.from_bytes(w.data[1:3], "little") for w in flood.writes if w.data[:1] == b"\x02"]
    assert 280 not in speeds  # 2.8 km/h never went out
    assert flood.after_answer["ok"] is False  # latched by the emergency stop, and says so
    assert flood.after_answer["reason"]
    errors = [r for r in flood.logs if r.get("level") in ("error", "critical")]
    assert errors == []
    assert not any("Traceback" in line for line in flood.raw_logs)


def test_flood_telemetry_and_answers_keep_flowing(flood: Flood) -> None:
    """The daemon stays responsive during the flood: in each tenth of it (1,000 commands as the
    broker forwarded them) at least one telemetry sample and one command answer arrive."""
    sent = RATE_PER_S * SECONDS + 1  # every command, and the estop (one more came after)
    indices = flood.flood_indices()[:sent]
    assert len(indices) == sent
    telemetry = [i for i, _ in flood.on("telemetry")]
    answers = [i for i, _ in flood.on("cmd/result")]
    for tenth in range(10):
        start = indices[tenth * len(indices) // 10]
        end = indices[min(len(indices) - 1, (tenth + 1) * len(indices) // 10)]
        assert any(start <= i < end for i in answers), f"no answer in tenth {tenth + 1}"
        assert any(start <= i < end for i in telemetry), f"no telemetry in tenth {tenth + 1}"
