"""The bounded shutdown (DESIGN §2 rule 6) when the ramp-down would outlast its bound, in one
process: the daemon, a virtual treadmill on the in-process link and a broker."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs
from testsupport.inprocess import in_process_daemon
from testsupport.safety_checks import describe_writes, read_record, speed_writes

from treadctl.sim.state import BeltState


async def test_a_ramp_down_that_outlasts_the_bound_ends_in_a_stop(tmp_path: Path) -> None:
    """The wind-down's time runs out while the belt still walks fast (5 km/h falling at
    0.5 km/h/s takes 10 s; the bound here is far shorter): the belt is stopped outright (08 01,
    its own deceleration) rather than left running when the link closes; it is only ever
    slowed on the way, and the session record is closed."""
    async with in_process_daemon(tmp_path) as r:
        for name, payload in (
            ("start", {"workout": "manual"}),
            ("set_speed", {"speed_kmh": 5.0, "direction": "forward"}),
        ):
            answer = await r.command(name, payload)
            assert answer["ok"], answer
        await r.sub.wait_for(
            lambda m: (
                m.topic == "treadctl/demo/telemetry" and (m.json().get("speed_kmh") or 0) >= 5.0
            )
        )
        service = r.daemon.services["demo"]
        session = service.session
        assert session is not None
        model = r.treadmill.model
        before = len(model.writes)
        with capture_logs() as logged:
            await service.wind_down(0.05)
        mark = len(r.sub.messages)
        await r.sub.wait_for(
            lambda m: m.topic == "treadctl/demo/telemetry" and m.json().get("speed_kmh") == 0,
            start=mark,
        )
    after = model.writes[before:]
    log = describe_writes(after)
    speeds = speed_writes(after)
    assert speeds == sorted(speeds, reverse=True), log
    assert all(kmh < 5.0 for kmh in speeds), log
    assert [w.result for w in after if w.data == b"\x08\x01"] == [0x01], log
    assert not [w for w in after if w.data[:1] == b"\x07"], log
    assert model.state is BeltState.STOPPED
    events = [entry["event"] for entry in logged]
    assert "wind_down_timed_out" in events
    assert "wind_down_stopping_belt" in events
    assert read_record(session.recorder.path)[-1]["type"] == "summary"
