"""The command flood of the estop-under-load benchmark: its mix, pacing, estop schedule and the
counts it reports. Never a timing assertion: stamps here are made up, the arithmetic is checked;
the one publisher test counts what reached a real broker."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest
from testsupport.brokers import AmqttBroker
from testsupport.mqtt_recorder import MqttRecorder

from benchmarks import flood, flood_pub

MS = 1_000_000


def test_the_mix_is_the_fault_tests_with_malformed_payloads_and_an_unknown_command() -> None:
    """The flood sends a person's commands, a speed above any cap, a wrong type, non-UTF-8,
    broken JSON, an unknown field and unknown commands, round and round."""
    assert flood.MIX == (
        ("resume", b"{}"),
        ("pause", b"{}"),
        ("set_speed", b'{"speed_kmh": 1.8}'),
        ("set_speed", b'{"speed_kmh": 6.8}'),
        ("set_speed", b'{"speed_kmh": "fast"}'),
        ("set_incline", b'{"incline_pct": 1.0}'),
        ("status", b"{}"),
        ("bogus", b"{}"),
        ("pause", b"\xff\xfe"),
        ("resume", b"{"),
        ("pause", b'{"unknown": 1}'),
    )
    assert [flood.command_at(i) for i in (0, 11, 12, 21)] == [
        ("resume", b"{}"), ("resume", b"{}"), ("pause", b"{}"), ("pause", b'{"unknown": 1}')
    ]  # fmt: skip


def test_the_flood_never_ends_the_workout_nor_sends_an_estop_of_its_own() -> None:
    """No start, stop, skip or estop in the mix: the workout keeps a belt for every estop, and
    each Stop write answers the harness's estop; nor a request_id the harness would take for
    its own."""
    names = {name for name, _ in flood.MIX}
    assert not names & {"start", "stop", "skip", "estop"}
    assert all(b"request_id" not in payload for _, payload in flood.MIX)


@pytest.mark.parametrize(
    ("batch", "rate", "expected_ns"),
    [(0, 1000, 0), (1, 1000, 10 * MS), (100, 1000, 1000 * MS), (1, 500, 20 * MS), (3, 3, 10**10)],
)
def test_batches_are_due_at_a_steady_pace(batch: int, rate: float, expected_ns: int) -> None:
    """Batches of 10 at 1,000/s are due every 10 ms; at half the rate (two clients) every 20."""
    assert flood.batch_due_ns(batch, rate) == expected_ns


def test_a_rate_of_zero_is_refused() -> None:
    """No pace can be made of a zero rate: a clear error, not a division by zero."""
    with pytest.raises(ValueError, match="flood rate must be above 0, got 0"):
        flood.batch_due_ns(1, 0)


def test_estops_fall_one_in_each_slot_apart_from_each_other() -> None:
    """40 estops over 8 s: one in each 200 ms slot, within its middle 60 %, so at least 80 ms
    apart, in time order."""
    times = flood.estop_times_ns(40, 5_000 * MS, 8_000 * MS, random.Random(7))
    assert len(times) == 40
    assert times == sorted(times)
    for i, t in enumerate(times):
        offset = t - 5_000 * MS - i * 200 * MS
        assert 40 * MS <= offset <= 160 * MS, (i, offset)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 80 * MS


@pytest.mark.parametrize(
    ("count", "span_ns", "jitter", "message"),
    [
        (0, 10, 0.5, "need a positive count and span, got 0 and 10 ns"),
        (3, 0, 0.5, "need a positive count and span, got 3 and 0 ns"),
        (3, 10, 1.0, r"jitter must be in \[0, 1\), got 1.0"),
    ],
)
def test_an_impossible_estop_schedule_is_refused(
    count: int, span_ns: int, jitter: float, message: str
) -> None:
    """No estops, no time or a jitter of a whole slot is an error naming the value."""
    with pytest.raises(ValueError, match=message):
        flood.estop_times_ns(count, 0, span_ns, random.Random(1), jitter)


def msg(ms: int, suffix: str, payload: Any) -> tuple[int, str, Any]:
    """A message the harness's subscriber received `ms` after the start, on treadctl/bench/."""
    return (ms * MS, f"treadctl/bench/{suffix}", payload)


def test_the_tally_counts_only_the_flood_and_the_answers_to_it() -> None:
    """Flood commands (malformed ones too) and answers to them are counted by outcome; the
    harness's own commands and answers (request_id bench-…), estops, other treadmills and
    messages outside the window are not; telemetry is counted apart."""
    messages = [
        msg(-5, "cmd/pause", {}),  # before the window
        msg(0, "cmd/pause", {}),
        msg(1, "cmd/resume", None),  # not JSON: still a flood command
        msg(2, "cmd/resume", {"request_id": "bench-7"}),  # the harness's
        msg(3, "cmd/estop", {}),  # the harness's estop
        msg(4, "cmd/result", {"command": "pause", "ok": True}),
        msg(5, "cmd/result", {"command": "resume", "ok": False, "reason": "busy: 8 commands"}),
        msg(6, "cmd/result", {"command": "bogus", "ok": False, "reason": "unknown command"}),
        msg(7, "cmd/result", {"command": "resume", "ok": True, "request_id": "bench-7"}),
        msg(8, "cmd/result", {"command": "estop", "ok": True}),
        msg(9, "telemetry", {"speed_kmh": 1.5}),
        msg(10, "cmd/set_speed", {"speed_kmh": 1.8}),
        (11 * MS, "treadctl/other/cmd/pause", {}),
        msg(259, "telemetry", {"speed_kmh": 1.5}),
        msg(2_000, "cmd/pause", {}),  # after the window
    ]
    assert flood.tally(messages, "bench", 0, 1_000 * MS) == {
        "forwarded": 3,
        "forwarded_per_s": 200.0,  # 2 intervals over 10 ms
        "answered": 3,
        "answered_per_s": 1000.0,
        "accepted": 1,
        "busy": 1,
        "refused": 1,
        "telemetry_messages": 2,
        "telemetry_per_s": 4.0,
    }


def test_a_tally_of_nothing_has_no_rates() -> None:
    """With fewer than two messages of a kind there is no rate to report (null, not 0)."""
    assert flood.tally([msg(1, "cmd/pause", {})], "bench", 0, 10 * MS)["forwarded_per_s"] is None


def test_reports_of_two_publishers_add_up_over_their_common_span() -> None:
    """Two clients' counts are summed over the first start to the last end; the worst late
    start and lag are kept."""
    reports = [
        {"published": 5000, "first_ns": 1_000 * MS, "last_ns": 10_990 * MS,
         "late_start_ms": 0.5, "max_behind_ms": 2.0},
        {"published": 5000, "first_ns": 1_001 * MS, "last_ns": 11_000 * MS,
         "late_start_ms": 1.5, "max_behind_ms": 0.25},
    ]  # fmt: skip
    combined = flood.combine(reports)
    assert combined == {
        "clients": 2, "published": 10000, "published_per_s": 1000.0, "span_s": 10.0,
        "late_start_ms": 1.5, "max_behind_ms": 2.0, "first_ns": 1_000 * MS,
        "last_ns": 11_000 * MS,
    }  # fmt: skip


async def test_the_publisher_sends_the_mix_in_order_to_the_command_topics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 30 ms flood at 1,000/s is three batches of ten: 30 commands on
    treadctl/<id>/cmd/<name>, the mix from its offset on, and a report that counts them."""
    async with (
        AmqttBroker() as broker,
        MqttRecorder(broker.host, broker.port, ("treadctl/bench/cmd/#",)) as recorder,
    ):
        report = await flood_pub.publish_flood(
            broker.port, "bench", rate_per_s=1000, seconds=0.03, start_ns=0, offset=2
        )
        got = await recorder.wait_count(lambda m: "/cmd/" in m.topic, 30)
    assert [(m.topic, m.payload) for m in got[:3]] == [
        ("treadctl/bench/cmd/set_speed", b'{"speed_kmh": 1.8}'),
        ("treadctl/bench/cmd/set_speed", b'{"speed_kmh": 6.8}'),
        ("treadctl/bench/cmd/set_speed", b'{"speed_kmh": "fast"}'),
    ]
    assert got[11].topic == "treadctl/bench/cmd/set_speed"  # 11 on: the mix again
    assert report["published"] == 30
    assert report["first_ns"] <= report["last_ns"]
    assert json.loads(capsys.readouterr().out.splitlines()[0]) == {"ready": True}
