"""Limits, turn settings, device ranges and the belt commands' constructor guard."""

from __future__ import annotations

import dataclasses
import math

import pytest

from treadctl.errors import LimitExceededError, SafetyError
from treadctl.safety import (
    DeviceCaps,
    Direction,
    Governor,
    InclineCommand,
    Limits,
    SpeedCommand,
    StartCommand,
    StopCommand,
    TurnSettings,
    describe_command,
)


def test_defaults_follow_the_evidence() -> None:
    """The defaults are those of ref/retro-walking.md §6."""
    limits, turn = Limits(), TurnSettings()
    assert (limits.backward_max_kmh, limits.forward_max_kmh) == (4.0, 6.0)
    assert (limits.accel_kmh_per_s, limits.decel_kmh_per_s) == (0.25, 0.5)
    assert (limits.max_incline_pct, limits.backward_start_kmh) == (10.0, 1.5)
    assert limits.max_backward_session_s == 1800.0
    assert (turn.speed_kmh, turn.hold_s, turn.auto_resume, turn.announce_s) == (
        0.0,
        10.0,
        False,
        5.0,
    )
    assert limits.cap_kmh(Direction.BACKWARD) == 4.0
    assert limits.cap_kmh(Direction.FORWARD) == 6.0


def test_backward_cap_above_walking_is_refused() -> None:
    """A backward cap above 6.0 km/h is backward running and is refused with both values."""
    with pytest.raises(LimitExceededError) as info:
        Limits(backward_max_kmh=6.5)
    assert (info.value.requested, info.value.allowed, info.value.unit) == (6.5, 6.0, "km/h")
    assert info.value.reason == "backward_cap_is_running"


@pytest.mark.parametrize(
    ("field", "value"),
    [("accel_kmh_per_s", 0.0), ("decel_kmh_per_s", -1.0), ("forward_max_kmh", float("nan"))],
)
def test_nonsense_limits_are_refused(field: str, value: float) -> None:
    """Zero, negative or NaN limits are refused, naming the key."""
    with pytest.raises(SafetyError, match=f"limits.{field}"):
        Limits(**{field: value})


HILLY = {
    "min_speed_kmh": 1.0,
    "max_speed_kmh": 12.0,
    "min_incline_pct": 0.0,
    "max_incline_pct": 12.0,
    "incline_increment_pct": 0.5,
}
NUMBER_FIELDS = [
    pytest.param(kind, f.name, id=f"{kind.__name__}.{f.name}")
    for kind in (Limits, TurnSettings, DeviceCaps)
    for f in dataclasses.fields(kind)
    if "float" in str(f.type)
]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(("kind", "field"), NUMBER_FIELDS)
def test_every_number_refuses_nan_and_infinity(kind: type, field: str, value: float) -> None:
    """NaN or an infinity in any number of the limits, turn settings or device ranges is
    refused, naming the field (NaN would pass every range check unnoticed)."""
    base = HILLY if kind is DeviceCaps else {}
    with pytest.raises(SafetyError, match=rf"\.{field} = -?(nan|inf): must be a finite number"):
        kind(**{**base, field: value})


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_workout_cannot_lower_limits_to_nan_or_infinity(value: float) -> None:
    """`lowered_by` refuses a non-finite value (min() with NaN would keep it as a cap)."""
    with pytest.raises(SafetyError, match=r"limits\.max_incline_pct = "):
        Limits().lowered_by({"max_incline_pct": value})


def test_lowered_by_only_lowers() -> None:
    """A workout's [limits] lowers caps it names and cannot raise any."""
    site = Limits(backward_max_kmh=3.0)
    lowered = site.lowered_by({"backward_max_kmh": 2.5, "forward_max_kmh": 9.0})
    assert lowered.backward_max_kmh == 2.5
    assert lowered.forward_max_kmh == 6.0
    assert site.lowered_by(Limits(accel_kmh_per_s=0.1)).accel_kmh_per_s == 0.1
    assert site.lowered_by(Limits()).backward_max_kmh == 3.0


def test_lowered_by_refuses_unknown_names() -> None:
    """An unknown limit name is an error that lists the known ones."""
    with pytest.raises(SafetyError, match="unknown limit 'top_speed'"):
        Limits().lowered_by({"top_speed": 3.0})


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"hold_s": 5.0}, "turn.hold_s"),
        ({"announce_s": 3.0}, "turn.announce_s"),
        ({"countdown_s": 2.0}, "turn.countdown_s"),
        ({"speed_kmh": 2.5}, "too fast to turn"),
    ],
)
def test_turn_settings_are_checked(kwargs: dict[str, float], text: str) -> None:
    """Turns hold ≥ 10 s, announce ≥ 5 s ahead and never turn faster than 2 km/h."""
    with pytest.raises(SafetyError, match=text):
        TurnSettings(**kwargs)  # type: ignore[arg-type]


def test_auto_resume_waits_for_hold_and_countdown() -> None:
    """Auto-resume comes after the longer of the hold and the countdown."""
    assert TurnSettings(hold_s=10, countdown_s=15).auto_resume_after_s == 15
    assert TurnSettings(hold_s=20, countdown_s=5).auto_resume_after_s == 20


def test_device_incline_range_is_all_or_nothing() -> None:
    """An incline range needs min, max and increment together."""
    with pytest.raises(SafetyError, match="incline range"):
        DeviceCaps(min_speed_kmh=1.0, max_speed_kmh=6.0, max_incline_pct=10.0)
    with pytest.raises(SafetyError, match="speed range"):
        DeviceCaps(min_speed_kmh=6.0, max_speed_kmh=6.0)
    flat = DeviceCaps(min_speed_kmh=1.0, max_speed_kmh=6.0)
    hilly = DeviceCaps(
        min_speed_kmh=1.0,
        max_speed_kmh=6.0,
        min_incline_pct=0.0,
        max_incline_pct=12.0,
        incline_increment_pct=0.5,
    )
    assert (flat.incline_supported, hilly.incline_supported) == (False, True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SpeedCommand(3.0),
        lambda: InclineCommand(2.0),
        lambda: StartCommand(),
        lambda: StopCommand(pause=True),
        lambda: StopCommand(emergency=True),
        lambda: SpeedCommand(3.0, _token=object()),
    ],
)
def test_only_the_governor_constructs_commands(make: object) -> None:
    """Building a belt command outside the governor raises SafetyError (STYLE habit 7)."""
    with pytest.raises(SafetyError) as info:
        make()  # type: ignore[operator]
    assert info.value.reason == "not_from_governor"


def test_governor_commands_are_the_public_types() -> None:
    """What the governor returns are the ordinary command classes, described for records."""
    governor = Governor(Limits(), DeviceCaps(min_speed_kmh=1.0, max_speed_kmh=6.0))
    stop = governor.emergency_stop(0.0)
    assert isinstance(stop, StopCommand)
    assert stop.emergency
    assert describe_command(stop) == {"command": "emergency_stop"}
    governor.start(1.0)
    start = governor.next_command(2.0)  # 2 s after the Stop, not sooner
    assert isinstance(start, StartCommand)
    assert describe_command(start) == {"command": "start"}
    speed = governor.next_command(2.0)
    assert isinstance(speed, SpeedCommand)
    assert describe_command(speed) == {"command": "set_speed", "speed_kmh": 1.5}
