"""A half-assembled More Data record does not outlive a dropped link (issue 2; FTMS v1.0 §4.18:
a record cut by a lost link is discarded, never re-sent — ref/ftms-spec.md §3.2).

Through the real bleak code path over the virtual radio: the treadmill splits each record at 24
octets (the fragment carries every field but the speed and force/power, the last frame the
speed), sends the first fragment of one record and drops the link. When it comes back it talks
in Q2 cut frames (ref/ftms-quirks.md Q2, Matrix: full flags, 20 octets), which carry no elapsed
time, energy rates, heart rate or MET — so a record merged across the drop would show the
fragment's values there.
"""

from __future__ import annotations

from testsupport.virtual import virtual_treadmills

from treadctl.ble import LinkLost, LinkRestored, ProfileSet, TelemetryReceived
from treadctl.ble.quirks import profile_from_mapping
from treadctl.sim.settings import Quirks, TreadmillConfig

from .conftest import next_event, open_link

CONFIG = TreadmillConfig(name="SIM-HALF", rate_hz=10.0)


async def test_first_record_after_a_reconnect_has_nothing_of_the_cut_one() -> None:
    """The fragment heard before the drop is forgotten: the first record after the reconnect
    is the cut frame alone, without the fragment's elapsed time, energy rates, heart rate, MET."""
    # LinkRestored without waiting for a record, so the first record after it is an event.
    profiles = ProfileSet({"default": profile_from_mapping("default", {"silent_after_s": 0})})
    async with (
        virtual_treadmills(Quirks(more_data_split=24), CONFIG, speedup=10) as bench,
        open_link(bench, profiles=profiles) as link,
    ):
        bench.treadmill.press_start()
        before = await next_event(
            link, TelemetryReceived, lambda e: (e.record.elapsed_time_s or 0) >= 2
        )
        bench.treadmill.drop_link_mid_record()
        await next_event(link, LinkLost)
        assert bench.model.drop_after_fragments is None, "the fragment went out before the drop"
        bench.model.quirks = Quirks(silent=True)  # mute until the link is back
        await next_event(link, LinkRestored)
        bench.model.quirks = Quirks(truncate_to_20=True)
        after = await next_event(link, TelemetryReceived)
    assert before.record.energy_per_hour_kcal is not None
    assert before.record.metabolic_equivalent is not None
    assert after.record.truncated
    assert after.record.speed_kmh is not None
    assert after.record.total_distance_m is not None
    assert after.record.elapsed_time_s is None
    assert after.record.energy_per_hour_kcal is None
    assert after.record.energy_per_minute_kcal is None
    assert after.record.heart_rate_bpm is None
    assert after.record.metabolic_equivalent is None
