"""Every quirk toggle of the model, each against what the device in ref/ftms-quirks.md does.

The `source` of each vector is the quirk entry (Q…) and the device or capture it comes from.
"""

from __future__ import annotations

import pytest

from treadctl import ftms
from treadctl.sim.model import BeltState, TreadmillModel
from treadctl.sim.settings import Quirks, TreadmillConfig

from .conftest import CP, MS, TD, TS, wire

SPEED_RANGE = "00002ad4-0000-1000-8000-00805f9b34fb"
FEATURE = "00002acc-0000-1000-8000-00805f9b34fb"


def model(config: TreadmillConfig | None = None, **quirks: object) -> TreadmillModel:
    """A model with the given quirks whose client holds control (when it can get it)."""
    m = TreadmillModel(config, Quirks(**quirks))  # type: ignore[arg-type]
    m.write_control_point(b"\x00", 0.0)
    return m


def frame(m: TreadmillModel, now_s: float, *, ext: bool = False) -> ftms.TreadmillData:
    """The one Treadmill Data frame due at `now_s`, decoded."""
    out = [n for n in m.tick(now_s) if n.uuid == TD]
    assert len(out) == 1
    return ftms.decode_treadmill_data(out[0].data, step_count_ext=ext)


# --- control point quirks ---------------------------------------------------------------------


def test_start_before_speed() -> None:
    """Q17 Technogym: a speed is accepted only right after a Start; a repeated Start is fine."""
    m = model(start_before_speed=True)
    assert wire(m.write_control_point(b"\x02\x90\x01", 0.0)) == [("cp", b"\x80\x02\x04")]
    m.write_control_point(b"\x07", 0.1)
    assert wire(m.write_control_point(b"\x02\x90\x01", 0.2)) == [("cp", b"\x80\x02\x01")]
    assert wire(m.write_control_point(b"\x02\xf4\x01", 0.3)) == [("cp", b"\x80\x02\x04")]
    assert wire(m.write_control_point(b"\x07", 0.4)) == [("cp", b"\x80\x07\x01")]
    assert wire(m.write_control_point(b"\x02\xf4\x01", 0.5)) == [("cp", b"\x80\x02\x01")]
    assert m.target_speed_kmh == 5.0


def test_target_speed_read_as_mph() -> None:
    """Q4 Horizon T202 (qdomyos-zwift PR #4904): 4.00 written is 4.00 mph = 6.4 km/h."""
    m = model(target_speed_mph=True)
    m.write_control_point(b"\x07", 0.0)
    m.write_control_point(b"\x02\x90\x01", 0.0)
    assert m.target_speed_kmh == 6.4


def test_reported_speed_in_mph() -> None:
    """Q4 FITSHOW FS-BT-T4: speed range and Treadmill Data speed are mph numbers."""
    m = model(TreadmillConfig(speed_min_kmh=1.0, speed_max_kmh=6.0), reported_speed_mph=True)
    assert m.read(SPEED_RANGE) == bytes.fromhex("3e00 7501 0600")  # 0.62 / 3.73 / 0.06 mph
    m.write_control_point(b"\x07", 0.0)
    m.write_control_point(b"\x02\x22\x02", 0.0)  # 5.46 km/h (wire stays km/h for targets)
    m.tick(0.0)
    assert frame(m, 20.0).speed_kmh == pytest.approx(3.42, abs=0.01)  # 5.5 km/h in mph


def test_incline_scale() -> None:
    """Q3 BH Fitness: raw 180 means 2.88 % (raw / 62.5); the belt reports on the same scale."""
    m = model(TreadmillConfig(incline_increment_pct=0.1), incline_scale=62.5)
    assert wire(m.write_control_point(b"\x03\xb4\x00", 0.0)) == [("cp", b"\x80\x03\x01")]
    assert m.target_incline_pct == 2.9
    m.tick(0.0)
    assert frame(m, 10.0).inclination_pct == pytest.approx(18.1)


def test_request_control_ignored() -> None:
    """Q13 CITYSPORTS JG-0x22 (hughesjs third-capture): 07 before 00 answered 80 07 01, thrice."""
    m = TreadmillModel(quirks=Quirks(request_control="ignored"))
    for t in (0.0, 1.0, 2.0):
        assert wire(m.write_control_point(b"\x07", t))[0] == ("cp", b"\x80\x07\x01")
    assert m.state is BeltState.RUNNING


def test_request_control_fails_and_no_indications() -> None:
    """Q14 KingSmith KS-MC21 (mcdax): 00 → 80 00 04; later writes acknowledged, never indicated."""
    m = TreadmillModel(quirks=Quirks(request_control="fails", no_indications=True))
    assert m.write_control_point(b"\x00", 0.0) == []
    assert [w.result for w in m.writes] == [None]  # the 0x04 is never sent under no_indications
    m2 = TreadmillModel(quirks=Quirks(request_control="fails"))
    assert wire(m2.write_control_point(b"\x00", 0.0)) == [("cp", b"\x80\x00\x04")]


def test_status_echo_order_of_a_stop() -> None:
    """Q11/Q12 CITYSPORTS (hughesjs btsnoop): 08 01 → TS 01 0F, MS 02 01, then 80 08 01."""
    m = model(status_echo=True, training_status_empty_string=True)
    m.write_control_point(b"\x07", 0.0)
    assert wire(m.write_control_point(b"\x08\x01", 1.0)) == [
        ("ts", b"\x01\x0f"),
        ("ms", b"\x02\x01"),
        ("cp", b"\x80\x08\x01"),
    ]


def test_status_echo_of_start_and_speed() -> None:
    """Q12 CITYSPORTS: 04 after Start, 05 96 00 after a 1.50 km/h target, before the 0x80."""
    m = model(status_echo=True)
    assert wire(m.write_control_point(b"\x07", 0.0)) == [
        ("ts", b"\x00\x0d"),
        ("ms", b"\x04"),
        ("cp", b"\x80\x07\x01"),
    ]
    assert wire(m.write_control_point(b"\x02\x96\x00", 0.5)) == [
        ("ms", b"\x05\x96\x00"),
        ("cp", b"\x80\x02\x01"),
    ]


def test_commands_faster_than_the_minimum_interval_are_dropped() -> None:
    """Q17 KS-HD-Z1D (Z1 doc, 400 ms): a write 100 ms after the last is dropped silently."""
    m = model(min_command_interval_s=0.4)
    m.write_control_point(b"\x07", 1.0)
    assert m.write_control_point(b"\x02\x90\x01", 1.1) == []
    assert m.target_speed_kmh == 1.0
    assert m.writes[-1].result is None
    assert "dropped" in m.writes[-1].note
    assert wire(m.write_control_point(b"\x02\x90\x01", 1.6)) == [("cp", b"\x80\x02\x01")]


def test_speed_too_soon_after_start_drops_the_link() -> None:
    """Q17 KingSmith (mcdax §2.6): 07 then 02 too quickly crashes the BLE link."""
    m = model(crash_on_early_speed_s=2.0)
    m.write_control_point(b"\x07", 0.0)
    assert m.write_control_point(b"\x02\x90\x01", 0.5) == []
    assert m.link_drop_requested
    assert m.target_speed_kmh == 1.0


def test_ignored_ops() -> None:
    """Q16 Reebok FR30z (paceprompt): Start answered 80 07 01, the belt never moves."""
    m = model(ignored_ops=frozenset({0x07}))
    assert wire(m.write_control_point(b"\x07", 0.0)) == [("cp", b"\x80\x07\x01")]
    m.advance(5.0)
    assert (m.state, m.belt_speed_kmh) == (BeltState.IDLE, 0.0)


def test_stop_answered_operation_failed_but_stops() -> None:
    """Q16 FR30z: Stop sometimes answered 80 08 04 although the belt stops."""
    m = model(stop_fail_probability=1.0)
    m.write_control_point(b"\x07", 0.0)
    assert wire(m.write_control_point(b"\x08\x01", 1.0))[0] == ("cp", b"\x80\x08\x04")
    assert m.state is BeltState.STOPPED


def test_stop_failures_are_seeded() -> None:
    """The random Stop results repeat for the same seed."""

    def results(seed: int) -> list[int | None]:
        m = model(TreadmillConfig(seed=seed), stop_fail_probability=0.5)
        for i in range(10):
            m.write_control_point(b"\x07", 2.0 * i)
            m.write_control_point(b"\x08\x01", 2.0 * i + 1)
        return [w.result for w in m.writes if w.data == b"\x08\x01"]

    assert results(7) == results(7)
    assert {0x01, 0x04} <= set(results(7))


def test_start_while_running_spoils_the_next_command() -> None:
    """Q17 BH Fitness (duhow): a Start while running keeps the next command from taking effect."""
    m = model(start_while_running_spoils_next=True)
    m.write_control_point(b"\x07", 0.0)
    assert wire(m.write_control_point(b"\x07", 1.0)) == [("cp", b"\x80\x07\x01")]
    assert wire(m.write_control_point(b"\x02\x90\x01", 2.0)) == [("cp", b"\x80\x02\x01")]
    assert m.target_speed_kmh == 1.0
    m.write_control_point(b"\x02\x90\x01", 3.0)
    assert m.target_speed_kmh == 4.0


def test_notify_only_control_point() -> None:
    """Q18 BH i.Concept: the 0x80 comes as a notification; the CCCD needs the notify bit."""
    m = TreadmillModel(quirks=Quirks(control_point="write_nr_notify"))
    m.on_connect(0.0)
    m.write_cccd(CP, 0x0001, 0.0)
    out = m.write_control_point(b"\x00", 0.1)
    assert [(n.data, n.indication) for n in out] == [(b"\x80\x00\x01", False)]


# --- data quirks --------------------------------------------------------------------------------


def test_truncated_to_20_octets() -> None:
    """Q2 Matrix (TMIW matrix_treadmill_test): full flags in a 20-octet frame, More Data clear."""
    m = model(truncate_to_20=True)
    data = [n.data for n in m.tick(0.0)]
    assert len(data) == 1
    assert len(data[0]) == 20
    assert data[0][:2] == b"\x9e\x17"
    record = ftms.decode_treadmill_data(data[0])
    assert record.truncated
    assert record.elapsed_time_s is None


def test_more_data_split() -> None:
    """Records split into frames of at most 20 octets with More Data (Matrix Performance)."""
    m = model(more_data_split=20)
    frames = [n.data for n in m.tick(0.0)]
    assert len(frames) == 2
    assert all(len(f) <= 20 for f in frames)
    assembler = ftms.TreadmillDataAssembler()
    merged = [r for f in frames if (r := assembler.feed(f)) is not None]
    assert merged[0].elapsed_time_s == 0
    assert merged[0].total_distance_m == 0


def test_vendor_step_count() -> None:
    """Q1 CITYSPORTS/KingSmith: flag bit 13 and a u24 step count after the standard fields."""
    m = model(step_count_ext=True)
    m.write_control_point(b"\x07", 0.0)
    m.write_control_point(b"\x02\x68\x01", 0.0)  # 3.6 km/h: 1 m/s, 0.7 m stride
    m.tick(0.0)
    data = next(n.data for n in m.tick(73.6) if n.uuid == TD)
    assert int.from_bytes(data[:2], "little") & 0x2000
    record = ftms.decode_treadmill_data(data, step_count_ext=True)
    assert (record.total_distance_m, record.step_count) == (71, 103)  # 1.8 m ramp + 70 m


def test_counters_stuck_at_zero() -> None:
    """Q5 BH Fitness (duhow): distance, energy and elapsed time stay 0 the whole workout."""
    m = model(counters_stuck_zero=True)
    m.write_control_point(b"\x07", 0.0)
    m.tick(0.0)
    record = frame(m, 60.0)
    assert (record.total_distance_m, record.total_energy_kcal, record.elapsed_time_s) == (0, 0, 0)
    assert record.speed_kmh == 1.0


def test_distance_needs_load() -> None:
    """Q9 CITYSPORTS unloaded (hughesjs 1_to_6_without_person): speed shown, distance 0."""
    m = model(distance_needs_load=True)
    m.set_on_belt(False, 0.0)
    m.write_control_point(b"\x07", 0.0)
    m.tick(0.0)
    assert frame(m, 60.0).total_distance_m == 0
    m.set_on_belt(True, 60.0)
    assert frame(m, 120.0).total_distance_m == 16  # 60 s at 1 km/h


def test_elapsed_time_wraps() -> None:
    """Q10 (hassio-ftms #15): elapsed time wraps at 6000 s (console 99:59 → 00:00)."""
    m = model(elapsed_wrap_s=6000)
    m.write_control_point(b"\x07", 0.0)
    m.tick(0.0)
    assert frame(m, 6010.0).elapsed_time_s == 10


def test_transient_zero_speed_frame() -> None:
    """Q21 Merach: one speed-0 frame now and then while the belt moves."""
    m = model(zero_speed_glitch_every_s=5.0)
    m.write_control_point(b"\x07", 0.0)
    speeds = [ftms.decode_treadmill_data(m.tick(float(t))[0].data).speed_kmh for t in range(1, 13)]
    assert [i + 1 for i, v in enumerate(speeds) if v == 0.0] == [6, 11]
    assert m.belt_speed_kmh == 1.0


def test_target_lag() -> None:
    """Q21 FR30z (paceprompt): the belt starts following a new target after a delay."""
    m = model(target_lag_s=0.8)
    m.write_control_point(b"\x07", 0.0)
    m.advance(5.0)
    m.write_control_point(b"\x02\x90\x01", 5.0)
    m.advance(5.7)
    assert m.belt_speed_kmh == 1.0
    m.advance(6.8)
    assert m.belt_speed_kmh == pytest.approx(2.0)


def test_machine_status_padding() -> None:
    """Q6 CITYSPORTS CS-WP8 (hughesjs nRF logs): every status padded to 3 octets."""
    m = TreadmillModel(quirks=Quirks(status_pad_to=3))
    assert wire(m.press_start(0.0))[0] == ("ms", b"\x04\x00\x00")
    assert wire(m.press_stop(1.0))[0] == ("ms", b"\x02\x01\x00")


@pytest.mark.parametrize(
    ("quirks", "expected", "source"),
    [
        (Quirks(training_status_empty_string=True), b"\x01\x01", "Q7 CITYSPORTS idle `01 01`"),
        (Quirks(training_status_stuck_other=True), b"\x00\x00", "Q7 Reebok FR30z `00 00`"),
    ],
)
def test_training_status_quirks(quirks: Quirks, expected: bytes, source: str) -> None:
    """Q7: the string flag set with no string, or a status stuck at Other."""
    assert TreadmillModel(quirks=quirks).read(TS) == expected


def test_feature_override() -> None:
    """Q8 CITYSPORTS (hughesjs): features 0x00001244 and target 0x00000001 as sent."""
    m = TreadmillModel(quirks=Quirks(feature_override=(0x1244, 0x1)))
    assert m.read(FEATURE) == bytes.fromhex("44120000 01000000")


# --- timing quirks ------------------------------------------------------------------------------


def test_silent_when_stopped() -> None:
    """No Treadmill Data while the belt stands; frames once it runs, none once it stopped."""
    m = model(silent_when_stopped=True)
    assert m.tick(0.0) == []
    m.write_control_point(b"\x07", 0.5)
    assert wire(m.tick(1.0))[0][0] == "td"
    m.write_control_point(b"\x08\x01", 2.0)
    assert all(n.uuid != TD for t in range(10, 15) for n in m.tick(float(t)))


def test_silent() -> None:
    """Q15/Q23: a connected machine that never notifies Treadmill Data."""
    m = model(silent=True)
    m.write_control_point(b"\x07", 0.0)
    assert all(n.uuid != TD for t in range(5) for n in m.tick(float(t)))


def test_cccd_writes_too_close_are_dropped() -> None:
    """Q22 KingSmith (mcdax §2.2): a CCCD write 30 ms after the previous one is ignored."""
    m = TreadmillModel(quirks=Quirks(cccd_min_gap_s=0.1))
    m.on_connect(0.0)
    assert m.write_cccd(TD, 1, 0.0)
    assert not m.write_cccd(MS, 1, 0.03)
    assert (m.cccd(TD), m.cccd(MS)) == (1, 0)
    assert m.write_cccd(MS, 1, 0.2)
