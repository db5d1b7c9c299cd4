"""The harness's pure parts: percentiles, trace lines, sample matching and /proc parsing.

Never a timing assertion: the numbers here are made up, the maths and the matching are checked.
"""

from __future__ import annotations

import io

import pytest

from benchmarks import stats
from treadctl.sim.trace import Trace

# Treadmill Data: flags 0x0004 (speed and total distance), 1.50 km/h, 10 m / 11 m.
FRAME_10M = bytes.fromhex("040096000a0000")
FRAME_11M = bytes.fromhex("040096000b0000")


def payload(distance_m: int) -> dict[str, object]:
    """A telemetry payload as the daemon publishes it for FRAME_10M / FRAME_11M."""
    return {"speed_kmh": 1.5, "incline_pct": None, "distance_m": distance_m, "elapsed_s": None,
            "energy_kcal": None, "direction": "forward"}  # fmt: skip


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),
        ([float(v) for v in range(1, 101)], 99, 99.01),
        ([7.0], 99, 7.0),
        ([1.0, 2.0], 0, 1.0),
        ([1.0, 2.0], 100, 2.0),
    ],
)
def test_percentile_interpolates_between_closest_ranks(
    values: list[float], pct: float, expected: float
) -> None:
    """Percentiles follow numpy's default (linear) method, whatever the input order."""
    assert stats.percentile(values, pct) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "pct"), [([], 50), ([1.0], 101), ([1.0], -1)])
def test_percentile_refuses_no_values_or_out_of_range(values: list[float], pct: float) -> None:
    """An empty sample or a percentile outside 0-100 is an error, not a made-up number."""
    with pytest.raises(ValueError, match="percentile"):
        stats.percentile(values, pct)


def test_summary_of_nothing_is_all_null() -> None:
    """No samples give n = 0 and null figures (written as null in results.json)."""
    assert stats.summary([]) == {
        "n": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None
    }  # fmt: skip


def test_trace_lines_round_trip_through_the_parser() -> None:
    """What the simulator's trace writes, the harness reads back: kind, name, UUID, octets."""
    out = io.StringIO()
    trace = Trace(out)
    trace.record("notify", "bench 1", "00002acd-0000-1000-8000-00805f9b34fb", FRAME_10M)
    trace.write("bench 1", b"\x08\x01")
    lines = out.getvalue().splitlines()
    assert lines[0].split()[1:] == ["notify", "bench_1", "2acd", "040096000a0000"]
    assert lines[1].split()[1:] == ["write", "bench_1", "2ad9", "0801"]
    events = stats.parse_trace([*lines, "123 notify bench 2acd 04009", "torn"])
    assert [(e.kind, e.uuid16, e.data) for e in events] == [
        ("notify", "2acd", FRAME_10M),
        ("write", "2ad9", b"\x08\x01"),
    ]
    assert events[0].stamp_ns <= events[1].stamp_ns


def test_telemetry_messages_pair_with_the_one_notification_they_carry() -> None:
    """Each message is matched by its decoded fields; latency is arrival minus the stamp."""
    sent = [
        stats.TraceEvent(1_000_000, "notify", "bench", "2acd", FRAME_10M),
        stats.TraceEvent(251_000_000, "notify", "bench", "2acd", FRAME_11M),
    ]
    arrived = [
        stats.Arrival(3_500_000, payload(10)),
        stats.Arrival(253_000_000, payload(11)),
        stats.Arrival(260_000_000, payload(99)),  # no such notification
    ]
    match = stats.match_telemetry(sent, arrived)
    assert match.latencies_ms == [2.5, 2.0]
    assert (match.unmatched_messages, match.ambiguous, match.unpublished) == (1, 0, 0)


def test_telemetry_fields_shared_by_two_notifications_are_not_counted() -> None:
    """A message that fits two notifications is ambiguous and left out; so is one from before."""
    sent = [
        stats.TraceEvent(1_000_000, "notify", "bench", "2acd", FRAME_10M),
        stats.TraceEvent(251_000_000, "notify", "bench", "2acd", FRAME_10M),
        stats.TraceEvent(501_000_000, "notify", "bench", "2acd", FRAME_11M),
    ]
    arrived = [stats.Arrival(2_000_000, payload(10)), stats.Arrival(400_000_000, payload(11))]
    match = stats.match_telemetry(sent, arrived)
    assert match.latencies_ms == []
    assert (match.ambiguous, match.unmatched_messages, match.unpublished) == (1, 1, 3)


def test_estop_latency_runs_to_the_stop_write_the_treadmill_accepted() -> None:
    """A Stop refused at the ATT layer and sent again counts from the accepted one (0x80 0x08)."""
    events = [
        stats.TraceEvent(2_000_000, "write", "bench", "2ad9", b"\x08\x01"),  # refused (no 0x80)
        stats.TraceEvent(52_000_000, "write", "bench", "2ad9", b"\x08\x01"),
        stats.TraceEvent(52_300_000, "indicate", "bench", "2ad9", b"\x80\x08\x01"),
        stats.TraceEvent(1_003_000_000, "write", "bench", "2ad9", b"\x02\x96\x00"),  # speed
        stats.TraceEvent(1_004_000_000, "indicate", "bench", "2ad9", b"\x80\x02\x01"),
    ]
    match = stats.match_estops([0, 1_000_000_000], events)
    assert match.latencies_ms == [52.0]
    assert match.first_arrival_ms == [2.0]
    assert (match.retried, match.missing) == (1, 1)


def test_a_pause_in_flight_is_not_taken_for_the_emergency_stop() -> None:
    """During the command flood a Pause (08 02) written just after the estop was published, and
    its 0x80 0x08 response, are passed over: the latency runs to the Stop (08 01)."""
    events = [
        stats.TraceEvent(1_000_000, "write", "bench", "2ad9", b"\x08\x02"),  # a flood pause
        stats.TraceEvent(1_200_000, "indicate", "bench", "2ad9", b"\x80\x08\x01"),
        stats.TraceEvent(3_000_000, "write", "bench", "2ad9", b"\x08\x01"),  # the estop's Stop
        stats.TraceEvent(3_300_000, "indicate", "bench", "2ad9", b"\x80\x08\x01"),
    ]
    match = stats.match_estops([0], events)
    assert match.latencies_ms == [3.0]
    assert match.first_arrival_ms == [3.0]
    assert (match.retried, match.missing) == (0, 0)


def test_cpu_time_is_utime_plus_stime_even_with_a_strange_process_name() -> None:
    """proc(5) fields 14 and 15 are found after the last ')', whatever the command name holds."""
    text = "4242 (tread ctl) (x)) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 30 0 0 20 0 3 0"
    assert stats.cpu_ms(text, 100) == 2800.0


def test_memory_reads_vmrss_and_vmhwm_in_mib() -> None:
    """VmRSS and VmHWM come from /proc/<pid>/status in kB and are reported in MiB."""
    text = "Name:\tpython\nVmHWM:\t   71680 kB\nVmRSS:\t   51200 kB\nThreads:\t3\n"
    assert stats.memory_mib(text) == {"VmHWM": 70.0, "VmRSS": 50.0}


def test_rss_is_reported_in_decimal_megabytes() -> None:
    """`rss_mb` is in MB as its name and the 50 MB target say: 50 MiB is 52.4 MB."""
    assert stats.mb(50.0) == 52.4
    assert stats.mb(47.68) == 50.0
