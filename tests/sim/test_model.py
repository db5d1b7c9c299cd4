"""The pure treadmill model: control point, session, console, safety key, physics, link, faults.

Byte vectors are literals from FTMS v1.0 (Tables 4.15, 4.24, 4.27; ref/ftms-spec.md §6–§8) unless
a test names another source. Time is passed in: no test sleeps.
"""

from __future__ import annotations

import pytest

from treadctl import ftms
from treadctl.errors import AttError
from treadctl.sim.model import BeltState, TreadmillModel
from treadctl.sim.settings import TreadmillConfig

from .conftest import CP, TD, wire


def controlled(config: TreadmillConfig | None = None) -> TreadmillModel:
    """A model whose client holds control."""
    model = TreadmillModel(config)
    assert wire(model.write_control_point(b"\x00", 0.0)) == [("cp", b"\x80\x00\x01")]
    return model


def running(speed: bytes = b"\x90\x01", config: TreadmillConfig | None = None) -> TreadmillModel:
    """A model running toward the given target (default 4.00 km/h), started at t=0."""
    model = controlled(config)
    model.write_control_point(b"\x07", 0.0)
    model.write_control_point(b"\x02" + speed, 0.0)
    return model


# --- static values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uuid", "expected", "source"),
    [
        ("00002acc-0000-1000-8000-00805f9b34fb", bytes.fromhex("1d9e0000 03000000"), "FTMS §4.3"),
        ("00002ad4-0000-1000-8000-00805f9b34fb", bytes.fromhex("5000 4006 0a00"), "0.8/16.0/0.1"),
        ("00002ad5-0000-1000-8000-00805f9b34fb", bytes.fromhex("0000 9600 0500"), "0/15.0/0.5 %"),
        ("00002ad3-0000-1000-8000-00805f9b34fb", b"\x00\x01", "Idle, no string"),
        ("00002a29-0000-1000-8000-00805f9b34fb", b"treadctl", "manufacturer name"),
    ],
)
def test_reads(uuid: str, expected: bytes, source: str) -> None:
    """Feature, ranges, Training Status and Device Information read as the wire vectors."""
    assert TreadmillModel().read(uuid) == expected


def test_unknown_characteristic_read_raises_key_error() -> None:
    """Reading a characteristic the treadmill lacks raises KeyError."""
    with pytest.raises(KeyError):
        TreadmillModel().read("00002ad6-0000-1000-8000-00805f9b34fb")


# --- control point -----------------------------------------------------------------------------


def test_procedures_need_control() -> None:
    """Start before Request Control is answered Control Not Permitted and does nothing."""
    model = TreadmillModel()
    assert wire(model.write_control_point(b"\x07", 0.0)) == [("cp", b"\x80\x07\x05")]
    assert model.state is BeltState.IDLE


@pytest.mark.parametrize(
    ("request_", "response"),
    [
        (b"\x02\x64\x19", b"\x80\x02\x03"),  # 65.00 km/h: above the 16.0 maximum
        (b"\x02\x00\x00", b"\x80\x02\x03"),  # 0 km/h: below the 0.8 minimum
        (b"\x02\x90", b"\x80\x02\x03"),  # parameter one octet short
        (b"\x03\x2c\x01", b"\x80\x03\x03"),  # 30.0 %: above 15.0
        (b"\x03\xf6\xff", b"\x80\x03\x03"),  # -1.0 %: below 0
        (b"\x08\x03", b"\x80\x08\x03"),  # Stop or Pause with RFU control 0x03
        (b"\x04\x0a", b"\x80\x04\x02"),  # resistance: not a treadmill procedure
        (b"\x13\x01", b"\x80\x13\x02"),  # spin down
        (b"\x20", b"\x80\x20\x02"),  # RFU op code
        (b"\x08\x01", b"\x80\x08\x04"),  # Stop while idle: Operation Failed
        (b"\x08\x02", b"\x80\x08\x04"),  # Pause while idle
    ],
)
def test_rejections(request_: bytes, response: bytes) -> None:
    """Bad parameters, unsupported procedures and impossible transitions get their result code."""
    model = controlled()
    assert wire(model.write_control_point(request_, 1.0)) == [("cp", response)]
    assert model.target_speed_kmh == 0.0
    assert model.state is BeltState.IDLE


def test_start_speed_pause_resume_stop() -> None:
    """A full session: start, speed, pause, resume to the same target, stop, with statuses."""
    model = controlled()
    assert wire(model.write_control_point(b"\x07", 0.0)) == [
        ("cp", b"\x80\x07\x01"),
        ("ts", b"\x00\x0d"),  # Manual Mode (Quick Start)
    ]
    assert model.state is BeltState.RUNNING
    assert wire(model.write_control_point(b"\x02\x90\x01", 0.0)) == [("cp", b"\x80\x02\x01")]
    assert wire(model.write_control_point(b"\x07", 1.0)) == [("cp", b"\x80\x07\x04")]
    model.advance(4.0)
    assert model.belt_speed_kmh == pytest.approx(4.0)
    assert wire(model.write_control_point(b"\x08\x02", 4.0)) == [("cp", b"\x80\x08\x01")]
    model.advance(10.0)
    assert (model.state, model.belt_speed_kmh, model.target_speed_kmh) == (
        BeltState.PAUSED,
        0.0,
        4.0,
    )
    assert wire(model.write_control_point(b"\x07", 10.0)) == [("cp", b"\x80\x07\x01")]
    model.advance(20.0)
    assert model.belt_speed_kmh == pytest.approx(4.0)
    assert wire(model.write_control_point(b"\x08\x01", 20.0)) == [
        ("cp", b"\x80\x08\x01"),
        ("ts", b"\x00\x0f"),  # Post-Workout
    ]
    assert (model.state, model.target_speed_kmh) == (BeltState.STOPPED, 0.0)


def test_belt_ramps_at_its_own_acceleration_and_decelerations() -> None:
    """Up at accel_kmh_per_s, down at decel_kmh_per_s, and at emergency_decel_kmh_per_s when
    the safety key is pulled: the speeds half-way through each ramp show the rate."""
    config = TreadmillConfig(
        accel_kmh_per_s=2.0, decel_kmh_per_s=0.5, emergency_decel_kmh_per_s=4.0
    )
    model = running(b"\x90\x01", config)  # 4.00 km/h from t=0
    model.advance(1.0)
    assert model.belt_speed_kmh == pytest.approx(2.0)
    model.advance(2.0)
    assert model.belt_speed_kmh == pytest.approx(4.0)
    model.write_control_point(b"\x02\x2c\x01", 2.0)  # 3.00 km/h
    model.advance(3.0)
    assert model.belt_speed_kmh == pytest.approx(3.5)
    model.advance(4.0)
    assert model.belt_speed_kmh == pytest.approx(3.0)
    model.pull_safety_key(4.0)
    model.advance(4.5)
    assert model.belt_speed_kmh == pytest.approx(1.0)
    model.advance(5.0)
    assert model.belt_speed_kmh == 0.0


def test_start_without_target_goes_to_start_speed() -> None:
    """Start with no target set ramps the belt to the configured start speed."""
    model = controlled(TreadmillConfig(start_speed_kmh=1.6))
    model.write_control_point(b"\x07", 0.0)
    model.advance(10.0)
    assert model.belt_speed_kmh == pytest.approx(1.6)


def test_target_speed_is_quantised_to_the_increment() -> None:
    """4.16 km/h on a 0.1 km/h machine becomes 4.2 km/h."""
    model = running(b"\xa0\x01")
    assert model.target_speed_kmh == 4.2


def test_speed_set_while_idle_waits_for_start() -> None:
    """A target set before Start is kept; the belt stays still until Start."""
    model = controlled()
    assert wire(model.write_control_point(b"\x02\x90\x01", 0.0)) == [("cp", b"\x80\x02\x01")]
    model.advance(5.0)
    assert model.belt_speed_kmh == 0.0
    model.write_control_point(b"\x07", 5.0)
    model.advance(15.0)
    assert model.belt_speed_kmh == pytest.approx(4.0)


def test_incline_follows_at_lift_rate() -> None:
    """Set Target Inclination 5.0 % (03 32 00) moves the lift at 0.5 %/s."""
    model = controlled()
    assert wire(model.write_control_point(b"\x03\x32\x00", 0.0)) == [("cp", b"\x80\x03\x01")]
    model.advance(4.0)
    assert model.incline_pct == pytest.approx(2.0)
    model.advance(20.0)
    assert model.incline_pct == pytest.approx(5.0)


def test_reset_releases_control_and_zeroes() -> None:
    """Reset answers Success, goes Idle, zeroes the session and releases control."""
    model = running()
    model.advance(30.0)
    assert wire(model.write_control_point(b"\x01", 30.0)) == [
        ("cp", b"\x80\x01\x01"),
        ("ts", b"\x00\x01"),
    ]
    assert (model.state, model.belt.distance_m, model.has_control) == (BeltState.IDLE, 0.0, False)
    assert wire(model.write_control_point(b"\x07", 31.0)) == [("cp", b"\x80\x07\x05")]


def test_new_session_resets_counters() -> None:
    """Start after Stop begins a new session: distance and elapsed time from zero."""
    model = running()
    model.advance(30.0)
    model.write_control_point(b"\x08\x01", 30.0)
    model.advance(40.0)
    assert model.belt.distance_m > 0
    model.write_control_point(b"\x07", 40.0)
    assert (model.belt.distance_m, model.belt.elapsed_s) == (0.0, 0.0)


def test_write_log_and_history() -> None:
    """Every write is logged with its time and result; every change records its cause."""
    model = running()
    model.write_control_point(b"\x02\x64\x19", 2.0)
    assert [(w.time_s, w.data, w.result) for w in model.writes] == [
        (0.0, b"\x00", 0x01),
        (0.0, b"\x07", 0x01),
        (0.0, b"\x02\x90\x01", 0x01),
        (2.0, b"\x02\x64\x19", 0x03),
    ]
    speeds = [(h.cause, h.value) for h in model.history if h.what == "target_speed_kmh"]
    assert speeds == [("control_point", 1.0), ("control_point", 4.0)]


# --- physics and Treadmill Data ---------------------------------------------------------------


def test_distance_is_exact_whatever_the_tick_rate() -> None:
    """Ramp 0→3.6 km/h at 1 km/h/s (1.8 m) then 10 s at 1 m/s: 11.8 m, in one step or many."""
    coarse, fine = running(b"\x68\x01"), running(b"\x68\x01")
    coarse.advance(13.6)
    for step in range(1, 137):
        fine.advance(step / 10)
    assert coarse.belt.distance_m == pytest.approx(11.8)
    assert fine.belt.distance_m == pytest.approx(11.8)


def test_treadmill_data_frame_layout() -> None:
    """Idle frame: 30 octets, flags 0x179E (Matrix field set), speed 0, sentinels for ramp/force."""
    frames = TreadmillModel().tick(0.0)
    assert len(frames) == 1
    data = frames[0].data
    assert (len(data), data[:2], data[2:4]) == (30, b"\x9e\x17", b"\x00\x00")
    record = ftms.decode_treadmill_data(data)
    assert (record.ramp_angle_deg, record.force_on_belt_n, record.power_output_w) == (None,) * 3
    assert record.elapsed_time_s == 0


def test_treadmill_data_at_the_configured_rate() -> None:
    """At 4 Hz, ticks every 0.05 s yield a frame every 0.25 s."""
    model = TreadmillModel(TreadmillConfig(rate_hz=4.0))
    times = [t / 20 for t in range(21)]
    got = [t for t in times if model.tick(t)]
    assert got == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_treadmill_data_tracks_the_belt() -> None:
    """Frames report the belt speed, distance and elapsed time of the session."""
    model = running(b"\x68\x01")
    model.tick(0.0)
    record = ftms.decode_treadmill_data(model.tick(13.6)[0].data)
    assert (record.speed_kmh, record.total_distance_m, record.elapsed_time_s) == (3.6, 11, 13)


def test_idle_rate_and_start_countdown() -> None:
    """With a countdown the state is Starting (Pre-Workout) until the belt moves (Manual Mode)."""
    model = controlled(TreadmillConfig(start_delay_s=3.0, idle_rate_hz=0.5, rate_hz=2.0))
    assert wire(model.write_control_point(b"\x07", 0.0)) == [
        ("cp", b"\x80\x07\x01"),
        ("ts", b"\x00\x0e"),
    ]
    assert model.state is BeltState.STARTING
    out = wire(model.tick(3.0))
    assert out[0] == ("ts", b"\x00\x0d")
    assert model.state is BeltState.RUNNING


# --- console and safety key -------------------------------------------------------------------


def test_console_buttons_notify_machine_status() -> None:
    """Console start, pause and stop send Machine Status 04, 02 02 and 02 01."""
    model = TreadmillModel()
    assert wire(model.press_start(0.0)) == [("ms", b"\x04"), ("ts", b"\x00\x0d")]
    assert wire(model.press_pause(1.0)) == [("ms", b"\x02\x02")]
    assert wire(model.press_start(2.0)) == [("ms", b"\x04")]
    assert wire(model.console_set_speed(5.0, 2.0)) == [("ms", b"\x05\xf4\x01")]
    assert wire(model.press_stop(3.0)) == [("ms", b"\x02\x01"), ("ts", b"\x00\x0f")]
    causes = {h.cause for h in model.history}
    assert causes == {"console"}


def test_safety_key_stops_hard_and_latches() -> None:
    """Key out: status 03, emergency stop, Start refused (0x04) until the key is back."""
    model = running()
    model.advance(10.0)
    assert wire(model.pull_safety_key(10.0)) == [("ms", b"\x03"), ("ts", b"\x00\x0f")]
    model.advance(11.0)
    assert model.belt_speed_kmh == 0.0  # 4 km/h at 5 km/h/s: stopped within 0.8 s
    assert wire(model.write_control_point(b"\x07", 11.0)) == [("cp", b"\x80\x07\x04")]
    assert model.press_start(11.0) == []
    model.insert_safety_key(12.0)
    assert model.state is BeltState.STOPPED
    assert wire(model.write_control_point(b"\x07", 12.0))[0] == ("cp", b"\x80\x07\x01")


# --- link ----------------------------------------------------------------------------------------


def test_connected_link_delivers_only_what_is_subscribed() -> None:
    """After on_connect nothing is sent until CCCDs are written; the CP needs indications."""
    model = TreadmillModel()
    model.on_connect(0.0, mtu=247)
    assert model.tick(0.0) == []
    with pytest.raises(AttError) as refused:
        model.write_control_point(b"\x00", 0.0)
    assert refused.value.att_code == 0xFD
    assert model.write_cccd(CP, 0x0002, 0.0)
    assert wire(model.write_control_point(b"\x00", 0.1)) == [("cp", b"\x80\x00\x01")]
    assert model.write_cccd(TD, 0x0001, 0.2)
    assert wire(model.tick(1.0))[0][0] == "td"
    model.on_disconnect(2.0)
    assert model.tick(3.0) == []
    assert not model.has_control


def test_small_mtu_splits_with_more_data() -> None:
    """At ATT MTU 23 the 30-octet record goes as two frames, the first with More Data set."""
    model = TreadmillModel()
    model.on_connect(0.0, mtu=23)
    model.write_cccd(TD, 1, 0.0)
    frames = [n.data for n in model.tick(0.0)]
    assert len(frames) == 2
    assert all(len(f) <= 20 for f in frames)
    assert frames[0][0] & 0x01
    assert not frames[1][0] & 0x01
    assembler = ftms.TreadmillDataAssembler()
    records = [r for f in frames if (r := assembler.feed(f)) is not None]
    assert len(records) == 1
    assert records[0].speed_kmh == 0.0
    assert records[0].metabolic_equivalent == 1.0


# --- faults ---------------------------------------------------------------------------------------


def test_forced_result_answers_without_effect() -> None:
    """force_result(0x02, 0x04) answers Set Target Speed with Operation Failed; no change."""
    model = running()
    model.force_result(0x02, 0x04)
    assert wire(model.write_control_point(b"\x02\xf4\x01", 1.0)) == [("cp", b"\x80\x02\x04")]
    assert model.target_speed_kmh == 4.0
    model.force_result(0x02, None)
    assert wire(model.write_control_point(b"\x02\xf4\x01", 2.0)) == [("cp", b"\x80\x02\x01")]
    with pytest.raises(ValueError, match=r"0x02\.\.0x05"):
        model.force_result(0x02, 0x01)


def test_stop_indicating_blocks_later_writes_until_disconnect() -> None:
    """A stuck procedure: no 0x80, the next write refused with 0xFE, cleared by a new link."""
    model = controlled()
    model.stop_indicating()
    assert wire(model.write_control_point(b"\x07", 1.0)) == [("ts", b"\x00\x0d")]  # no 0x80
    assert model.state is BeltState.RUNNING  # the effect happened; only the answer is missing
    assert model.writes[-1].result is None
    with pytest.raises(AttError) as refused:
        model.write_control_point(b"\x08\x01", 2.0)
    assert refused.value.att_code == 0xFE
    assert (model.writes[-1].data, model.writes[-1].note) == (
        b"\x08\x01",
        "refused: " + str(refused.value),
    )
    model.on_disconnect(3.0)
    model.on_connect(4.0)
    model.stop_indicating(False)
    model.write_cccd(CP, 2, 4.0)
    assert wire(model.write_control_point(b"\x00", 4.5)) == [("cp", b"\x80\x00\x01")]


def test_revoke_control() -> None:
    """Control Permission Lost (FF) is notified and the next procedure gets 0x05."""
    model = running()
    assert wire(model.revoke_control(1.0)) == [("ms", b"\xff")]
    assert wire(model.write_control_point(b"\x02\xf4\x01", 1.5)) == [("cp", b"\x80\x02\x05")]


def test_empty_write_is_an_att_error() -> None:
    """An empty control-point write is refused at ATT level (invalid length 0x0D)."""
    with pytest.raises(AttError) as refused:
        controlled().write_control_point(b"", 1.0)
    assert refused.value.att_code == 0x0D
