"""Workout files: parsing, repeat blocks, durations, and every validation error's message."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from treadctl.errors import WorkoutError
from treadctl.safety import DeviceCaps, Direction, Limits, TurnSettings
from treadctl.workout.compiler import compile_plan
from treadctl.workout.durations import format_duration, parse_duration
from treadctl.workout.script import check_workout, load_workout, parse_workout

HEAD = 'name = "Test"\n'
WARM = """
[[steps]]
name = "Warm-up"
direction = "forward"
duration = "3m"
speed_kmh = 3.0
"""


def inner(**fields: object) -> str:
    """A step inside the last repeat block."""
    return step(**fields).replace("[[steps]]", "[[steps.steps]]")


def step(**fields: object) -> str:
    """A [[steps]] table with the given fields (strings quoted)."""
    body = {"name": "Back", "direction": "backward", "duration": "2m", "speed_kmh": 2.0} | fields
    lines = [
        f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {v}"
        for k, v in body.items()
        if v is not None
    ]
    return "\n[[steps]]\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("2:30", 150.0),
        (45, 45.0),
        ("1.5m", 90.0),
        ("2 min", 120.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    """Durations are written with units, as m:ss, or as plain seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m", "-3s", "0s", True, "2:75", [1]])
def test_bad_durations_say_what_is_allowed(text: object) -> None:
    """A bad duration is refused with the forms that are allowed."""
    with pytest.raises(ValueError, match=r'"90s", "2m"'):
        parse_duration(text)


def test_format_duration() -> None:
    """Tables show m:ss, or h:mm:ss past an hour."""
    assert (format_duration(65.4), format_duration(3725)) == ("1:05", "1:02:05")


def test_a_workout_with_a_repeat_block_is_flattened() -> None:
    """Repeat blocks unroll in order; each step knows where it is written."""
    text = (
        HEAD
        + 'description = """  Two rounds.  """\n[limits]\nbackward_max_kmh = 3.0\n'
        + WARM
        + '\n[[steps]]\nname = "Rounds"\nrepeat = 2\n'
        + inner(name="Push", duration="90s", speed_kmh=2.5, incline_pct=2)
        + inner(name="Ease", duration=60, speed_kmh=1.5)
    )
    workout = parse_workout(text, source="rounds.toml")
    assert workout.description == "Two rounds."
    assert workout.overrides == {"backward_max_kmh": 3.0}
    assert [(s.index, s.position, s.name) for s in workout.steps] == [
        (1, "1", "Warm-up"),
        (2, "2.1", "Rounds 1/2: Push"),
        (3, "2.2", "Rounds 1/2: Ease"),
        (4, "2.1", "Rounds 2/2: Push"),
        (5, "2.2", "Rounds 2/2: Ease"),
    ]
    assert workout.steps[1].direction is Direction.BACKWARD
    assert (workout.steps[1].duration_s, workout.steps[1].incline_pct) == (90.0, 2.0)
    assert workout.backward_s == 300.0
    assert workout.duration_s == 480.0
    assert workout.limits_for(Limits()).backward_max_kmh == 3.0


# (what is wrong, file text, expected message after "bad.toml: ")
CASES = [
    (
        "cap",
        HEAD + WARM + step(speed_kmh=5.0),
        'step 2 "Back", speed_kmh: requested 5.0 km/h is above the backward cap 4.0 km/h '
        "(from the site's limits, limits.backward_max_kmh); allowed: at most 4.0 km/h",
    ),
    (
        "own cap",
        HEAD + "[limits]\nbackward_max_kmh = 2.0\n" + WARM + step(speed_kmh=2.5),
        'step 2 "Back", speed_kmh: requested 2.5 km/h is above the backward cap 2.0 km/h '
        "(from this workout's [limits], limits.backward_max_kmh)",
    ),
    (
        "forward cap",
        HEAD + step(direction="forward", speed_kmh=7.0),
        'step 1 "Back", speed_kmh: requested 7.0 km/h is above the forward cap 6.0 km/h',
    ),
    (
        "decline",
        HEAD + step(incline_pct=-2),
        'step 1 "Back", incline_pct: -2.0 % is a decline; allowed: 0 to 10.0 %',
    ),
    (
        "incline cap",
        HEAD + step(incline_pct=12),
        'step 1 "Back", incline_pct: requested 12.0 % is above the incline cap 10.0 % '
        "(limits.max_incline_pct); allowed: 0 to 10.0 %",
    ),
    (
        "direction",
        HEAD + step(direction="sideways"),
        "step 1 \"Back\", direction: 'sideways' is not a direction; allowed: forward or backward",
    ),
    (
        "duration",
        HEAD + step(duration="ten"),
        'step 1 "Back", duration: \'ten\' is not a duration; expected a duration such as "90s"',
    ),
    (
        "long",
        HEAD + step(duration="2h"),
        "step 1 \"Back\", duration: '2h' is out of range; allowed: at most 3600 s",
    ),
    (
        "speed type",
        HEAD + step(speed_kmh='"fast"'.strip('"')),
        "step 1 \"Back\", speed_kmh: 'fast' is not allowed; expected a number (km/h)",
    ),
    (
        "speed bool",
        HEAD + step(speed_kmh="true").replace('"true"', "true"),
        'step 1 "Back", speed_kmh: True is not allowed; expected a number (km/h)',
    ),
    (
        "zero speed",
        HEAD + step(speed_kmh=0),
        'step 1 "Back", speed_kmh: 0 is out of range; allowed: above 0 km/h',
    ),
    (
        "missing",
        HEAD + step(speed_kmh=None),
        'step 1 "Back", speed_kmh: missing; every step needs name, direction, duration and '
        "speed_kmh",
    ),
    ("unknown key", HEAD + step(colour="red"), "step 1 \"Back\", colour: unknown key 'colour'"),
    (
        "block field",
        HEAD + '[[steps]]\nname = "R"\nrepeat = 2\n[[steps.steps]]\nname = "In"\n'
        'direction = "backward"\nduration = "1m"\nspeed_kmh = 9\n',
        'step 1.1 "In", speed_kmh: requested 9.0 km/h is above the backward cap',
    ),
    (
        "repeat",
        HEAD + '[[steps]]\nname = "R"\nrepeat = 0\n[[steps.steps]]\nname = "In"\n'
        'direction = "backward"\nduration = "1m"\nspeed_kmh = 2\n',
        'step 1 "R", repeat: 0 is out of range; allowed: at least 1 times',
    ),
    ("no steps", HEAD, "bad.toml: steps: missing; the workout file needs name and steps"),
    ("no name", WARM, "bad.toml: name: missing; the workout file needs name and steps"),
    (
        "no block name",
        HEAD + "[[steps]]\nrepeat = 2\n" + inner(),
        "bad.toml: step 1, name: missing; every repeat block needs name, repeat and steps",
    ),
    (
        "limits key",
        HEAD + "[limits]\ntop_speed = 3\n" + WARM,
        "limits.top_speed: unknown key 'top_speed'",
    ),
    (
        "backward session",
        HEAD + step(duration="1h") * 1 + step(duration="1h"),
        "total backward time 120 min is above the 30 min a session allows",
    ),
    ("toml", HEAD + "[[steps]\n", "not valid TOML"),
]


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_validation_errors_name_file_step_and_field(case: str, text: str, expected: str) -> None:
    """Each error names the file, the step by position and name, the field, what was wrong
    and what is allowed; caps refuse, never clamp."""
    with pytest.raises(WorkoutError) as info:
        parse_workout(text, source="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: "), message
    assert expected in message, message
    assert info.value.where == "bad.toml"


LIMIT_KEYS = [f.name for f in dataclasses.fields(Limits)]
# (where the number goes, the text before it in the file, what the error must name)
NON_FINITE_PLACES = [
    *(
        (key, HEAD + step(**{key: "{value}"}), f'step 1 "Back", {key}: ')
        for key in ("speed_kmh", "incline_pct", "duration")
    ),
    (
        "block step",
        HEAD + '[[steps]]\nname = "R"\nrepeat = 2\n' + inner(name="In", incline_pct="{value}"),
        'step 1.1 "In", incline_pct: ',
    ),
    *(
        (key, HEAD + f"[limits]\n{key} = {{value}}\n" + WARM, f"limits.{key}: ")
        for key in LIMIT_KEYS
    ),
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
@pytest.mark.parametrize(
    ("text", "where"),
    [pytest.param(text, where, id=place) for place, text, where in NON_FINITE_PLACES],
)
def test_nan_and_infinity_are_refused_in_every_number(text: str, where: str, value: str) -> None:
    """NaN and infinities (valid TOML) are refused in every number of a workout, naming the
    file, the step and the field: NaN would pass every cap check and crash the compiler."""
    with pytest.raises(WorkoutError) as info:
        parse_workout(text.replace('"{value}"', value).replace("{value}", value), source="n.toml")
    assert str(info.value).startswith(f"n.toml: {where}"), str(info.value)
    assert "finite" in str(info.value), str(info.value)


@pytest.mark.parametrize("field", ["speed_kmh", "incline_pct", "duration_s"])
def test_a_built_workout_with_nan_is_refused_before_compiling(field: str) -> None:
    """A `Workout` made in code (not from a file) with a NaN is refused by `check_workout`,
    and so by `compile_plan`, with a `WorkoutError` naming the step and field, not a
    `ValueError` from deep inside the compiler."""
    good = parse_workout(HEAD + step(incline_pct=2.0), source="code")
    bad = dataclasses.replace(
        good, steps=(dataclasses.replace(good.steps[0], **{field: math.nan}),)
    )
    name = "duration" if field == "duration_s" else field
    device = DeviceCaps(
        min_speed_kmh=1.0,
        max_speed_kmh=12.0,
        min_incline_pct=0.0,
        max_incline_pct=12.0,
        incline_increment_pct=0.5,
    )
    for check in (
        lambda: check_workout(bad, Limits()),
        lambda: compile_plan(bad, Limits(), device, TurnSettings()),
    ):
        with pytest.raises(
            WorkoutError, match=rf'^code: step 1 "Back", {name}: nan is not allowed'
        ):
            check()


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        pytest.param("", ["name", "steps"], id="empty"),
        pytest.param(WARM, ["name"], id="no-name"),
        pytest.param(HEAD, ["steps"], id="no-steps"),
        pytest.param('description = "d"\n', ["name", "steps"], id="description-only"),
    ],
)
def test_a_missing_top_level_key_is_the_files_not_a_steps(text: str, missing: list[str]) -> None:
    """A file without `name` or `steps` is told that the workout file needs them, one line
    per missing key, never that every step does."""
    with pytest.raises(WorkoutError) as info:
        parse_workout(text, source="top.toml")
    assert str(info.value).splitlines() == [
        f"top.toml: {key}: missing; the workout file needs name and steps" for key in missing
    ]


def test_every_problem_is_listed_with_its_file() -> None:
    """Several problems give one line each, every line starting with the file."""
    text = HEAD + step(speed_kmh=5.0) + step(name="Two", incline_pct=-1)
    with pytest.raises(WorkoutError) as info:
        parse_workout(text, source="x.toml")
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith("x.toml: step ") for line in lines)


def test_a_repeated_step_is_reported_once() -> None:
    """A bad step inside a repeat block is reported where it is written, once."""
    text = HEAD + '[[steps]]\nname = "R"\nrepeat = 3\n' + inner(name="In", speed_kmh=5)
    with pytest.raises(WorkoutError) as info:
        parse_workout(text, source="r.toml")
    assert str(info.value).count('step 1.1 "In"') == 1


def test_site_limits_apply(tmp_path: Path) -> None:
    """A site cap of 2.5 km/h refuses a 3.0 km/h backward step that the default allows."""
    path = tmp_path / "w.toml"
    path.write_text(HEAD + step(speed_kmh=3.0), encoding="utf-8")
    assert load_workout(path).steps[0].speed_kmh == 3.0
    with pytest.raises(WorkoutError, match=r"backward cap 2\.5 km/h"):
        load_workout(path, Limits(backward_max_kmh=2.5))


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    """A missing file or one that is not UTF-8 is named in the error."""
    with pytest.raises(WorkoutError, match=r"nope\.toml: no such file"):
        load_workout(tmp_path / "nope.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(WorkoutError, match=r"bin\.toml: cannot read it"):
        load_workout(tmp_path / "bin.toml")


def test_workout_limits_cannot_raise_caps() -> None:
    """A workout's [limits] above the site's changes nothing: the step is still refused."""
    text = HEAD + "[limits]\nbackward_max_kmh = 5.0\n" + step(speed_kmh=4.5)
    with pytest.raises(WorkoutError, match=r"backward cap 4\.0 km/h"):
        parse_workout(text, source="w.toml")
