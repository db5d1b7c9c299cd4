"""Workout files fuzzed: generated TOML with garbage, through `load_workout` and `treadctl plan`.

Whatever the file holds — random bytes, valid TOML with wrong types, missing or unknown keys,
huge or negative numbers, negative durations, repeat blocks nested too deep — loading it either
gives a workout that respects the caps and compiles, or raises `WorkoutError` whose every line
names the file and what is wrong. Nothing else escapes; the command line prints no traceback.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testsupport.daemon import run_treadctl
from testsupport.devices import DRY_RUN_DEVICE
from testsupport.workout_gen import to_toml, workout_documents

from treadctl.errors import WorkoutError
from treadctl.safety import Limits, TurnSettings
from treadctl.workout.bundled import bundled_workouts
from treadctl.workout.compiler import compile_plan
from treadctl.workout.script import load_workout

LIMITS = Limits()
FUZZ = settings(
    max_examples=250,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_file(path: Path) -> None:
    """Load `path`: a sound workout that compiles, or a `WorkoutError` naming the file."""
    try:
        workout = load_workout(path, LIMITS)
    except WorkoutError as exc:
        refused: WorkoutError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.where == str(path)
        assert refused.detail.strip(), "an error that says nothing"
        # One problem per line, each naming the file (a name may itself hold a line break).
        message = str(refused)
        assert message.startswith(f"{path}: "), message
        problems = message.split(f"\n{path}: ")
        assert all(p.strip() for p in problems), message
        return
    assert workout.steps
    for step in workout.steps:
        cap = LIMITS.lowered_by(workout.overrides).cap_kmh(step.direction)
        assert 0 < step.speed_kmh <= cap, step
        assert 0 < step.duration_s <= 3600, step
        assert math.isfinite(step.incline_pct), step
        assert 0 <= step.incline_pct <= LIMITS.max_incline_pct, step
    compile_plan(workout, LIMITS, DRY_RUN_DEVICE, TurnSettings())


@FUZZ
@given(document=workout_documents())
def test_generated_workouts_load_or_say_what_is_wrong(tmp_path: Path, document: dict) -> None:  # type: ignore[type-arg]
    """Workout-shaped TOML with garbage in it loads into a workout within the caps that
    compiles, or is refused with a `WorkoutError` naming the file on every line."""
    path = tmp_path / "generated.toml"
    path.write_text(to_toml(document), encoding="utf-8")
    check_file(path)


@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes_are_refused_naming_the_file(tmp_path: Path, data: bytes) -> None:
    """Random bytes are never a workout: refused with a `WorkoutError` naming the file."""
    path = tmp_path / "random.toml"
    path.write_bytes(data)
    with pytest.raises(WorkoutError) as refused:
        load_workout(path, LIMITS)
    assert refused.value.where == str(path)


BUNDLED = sorted(bundled_workouts().items())


@st.composite
def mutated_bundled(draw: st.DrawFn) -> str:
    """A bundled workout with a few characters changed, inserted or deleted."""
    _, path = draw(st.sampled_from(BUNDLED))
    text = list(path.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["change", "insert", "delete"]))
        char = draw(st.sampled_from([*'0123456789-.="[]{},\n ', "x", "é"]))
        if kind == "insert" or at == len(text):
            text.insert(at, char)
        elif kind == "change":
            text[at] = char
        else:
            del text[at]
    return "".join(text)


@FUZZ
@given(text=mutated_bundled())
def test_mutated_bundled_workouts_load_or_say_what_is_wrong(tmp_path: Path, text: str) -> None:
    """A bundled workout with a few characters changed still loads soundly, or is refused with
    an error naming the file on every line."""
    path = tmp_path / "mutated.toml"
    path.write_text(text, encoding="utf-8")
    check_file(path)


# name, file content, what the one-line error must mention
BAD_FILES = [
    ("random-bytes", b"\xff\xfe\x00garbage\x9c", "cannot read it"),
    (
        "wrong-types",
        b'name = 3\nsteps = [{name = "a", direction = "backward", duration = true, '
        b'speed_kmh = "fast"}]\n',
        "name",
    ),
    (
        "deep-repeat-nesting",
        b'name = "n"\nsteps = [{name = "b", repeat = 2, steps = [{name = "c", repeat = 2, '
        b'steps = [{name = "d", direction = "backward", duration = "1m", speed_kmh = 2.0}]}]}]\n',
        'step 1.1 "c"',
    ),
    (
        "huge-and-negative",
        b'name = "h"\nsteps = [{name = "a", direction = "backward", duration = "-5s", '
        b"speed_kmh = 1e300}]\n",
        "duration",
    ),
    (
        "unknown-key",
        b'name = "u"\nsteps = [{name = "a", direction = "backward", duration = "1m", '
        b"speed_kmh = 2.0, sped_kmh = 3.0}]\n",
        "unknown key 'sped_kmh'",
    ),
    ("missing-steps", b'name = "m"\n', "steps"),
]


async def test_treadctl_plan_refuses_bad_files_with_one_clear_message(tmp_path: Path) -> None:
    """`treadctl plan FILE` on broken files (run as a process, all at once) exits 2 with a
    message naming the file and what is wrong, never a traceback; a sound file still plans."""
    paths = []
    for name, content, _ in BAD_FILES:
        paths.append(tmp_path / f"{name}.toml")
        paths[-1].write_bytes(content)
    good = tmp_path / "good.toml"
    good.write_bytes(
        b'name = "g"\nsteps = [{name = "a", direction = "backward", duration = "1m", '
        b"speed_kmh = 2.0}]\n"
    )
    results = await asyncio.gather(*(run_treadctl("plan", str(p)) for p in [*paths, good]))
    for (name, _, mention), path, (code, out, err) in zip(BAD_FILES, paths, results, strict=False):
        assert code == 2, (name, out, err)
        assert "Traceback" not in err, (name, err)
        assert err.startswith(f"treadctl plan: {path}: "), (name, err)
        assert mention in err, (name, err)
    code, out, err = results[-1]
    assert (code, err) == (0, ""), err
    assert "g (" in out


NAN_INCLINE = (
    b'name = "nan"\nsteps = [{name = "a", direction = "backward", duration = "1m", '
    b"speed_kmh = 2.0, incline_pct = nan}]\n"
)


async def test_a_nan_incline_is_refused_not_crashed_on(tmp_path: Path) -> None:
    """`incline_pct = nan` (valid TOML) is refused like any other out-of-range incline, by
    `load_workout` and by `treadctl plan`, which exits 2 without a traceback."""
    path = tmp_path / "nan.toml"
    path.write_bytes(NAN_INCLINE)
    code, _, err = await run_treadctl("plan", str(path))
    assert "Traceback" not in err, err
    assert code == 2, err
    with pytest.raises(WorkoutError, match="incline_pct"):
        load_workout(path, LIMITS)


@pytest.mark.parametrize(
    ("content", "key"),
    [
        pytest.param(
            b'steps = [{name = "a", direction = "backward", duration = "1m", speed_kmh = 2.0}]\n',
            "name",
            id="no-name",
        ),
        pytest.param(b'name = "no steps"\n', "steps", id="no-steps"),
    ],
)
def test_a_missing_workout_key_is_not_explained_as_a_step_key(
    tmp_path: Path, content: bytes, key: str
) -> None:
    """A workout file without its `name` (or `steps`) is told that the workout needs it, not
    that every step does."""
    path = tmp_path / "missing.toml"
    path.write_bytes(content)
    with pytest.raises(WorkoutError) as refused:
        load_workout(path, LIMITS)
    assert refused.value.detail.startswith(f"{key}: missing")
    assert "every step" not in refused.value.detail
