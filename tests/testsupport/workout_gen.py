"""Generated workout files for fuzzing: hypothesis strategies and a small TOML writer.

Owns: `workout_documents()` — workout-shaped documents (dicts) mixing good values with garbage:
wrong types, missing and unknown keys, huge and negative numbers, negative durations, empty
lists, repeat blocks nested deeper than the format allows — and `to_toml(document)`, which
writes any such document as TOML text (inline tables throughout; strings escaped as TOML
wants; integers beyond 64 bits written as they are, which TOML itself refuses; the fault rig
writes its sound workouts with it too). The format the documents imitate is DESIGN §6 /
`treadctl/workout/schema.py`.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

from hypothesis import strategies as st

STEP_KEYS = ("name", "direction", "duration", "speed_kmh", "incline_pct")
LIMIT_KEYS = (
    "backward_max_kmh",
    "forward_max_kmh",
    "accel_kmh_per_s",
    "decel_kmh_per_s",
    "max_incline_pct",
    "incline_rate_pct_per_s",
    "backward_start_kmh",
    "max_backward_session_s",
)

# Any TOML value: what a person might type by mistake, and worse.
garbage = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)

# Values a person would write, and values they might write by mistake (wrong but plausible).
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(min_size=1, max_size=12),
    "direction": st.sampled_from(["forward", "backward"]),
    "duration": st.one_of(
        st.sampled_from(["90s", "2m", "1m30s", "2:30", "45"]), st.integers(1, 900)
    ),
    "speed_kmh": st.floats(min_value=0.5, max_value=4.0),
    "incline_pct": st.floats(min_value=0, max_value=10),
}
ODD: dict[str, st.SearchStrategy[Any]] = {
    "name": st.just(""),
    "direction": st.sampled_from(["Backward", "sideways", "", "back"]),
    "duration": st.one_of(
        st.sampled_from(["0s", "-5s", "-1m", "5 s", "1h", "s", "", "2:75", "1e9"]),
        st.integers(min_value=-100, max_value=10**6),
        st.floats(min_value=-10, max_value=1e6, allow_nan=False),
    ),
    "speed_kmh": st.one_of(st.floats(min_value=-1, max_value=1e308), st.just(0.0)),
    # Non-finite values included: a NaN incline once passed every check (each comparison with
    # NaN is false) and crashed the compiler.
    "incline_pct": st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.5, 15.5]),
}


class Noisy:
    """Draws plausible values, and garbage instead at a rate drawn once per document."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        # The shape is decided by a Random seeded from hypothesis: hypothesis's own choices
        # lean towards the simplest (here: garbage everywhere), so few documents would load.
        self.random = random.Random(draw(st.integers(0, 2**32 - 1)))
        self.rate = self.random.choice([0.0, 0.02, 0.1, 0.3])

    def garbled(self) -> bool:
        """Whether the next value is garbage."""
        return self.random.random() < self.rate

    def value(self, good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any] = garbage) -> Any:
        """A good value or, now and then, an odd one or any garbage."""
        if not self.garbled():
            return self.draw(good)
        return self.draw(garbage if self.random.random() < 0.3 else odd)

    def step(self) -> dict[str, Any]:
        """One step: each key good, odd, garbage or missing; maybe an unknown key more."""
        step = {}
        for key in STEP_KEYS:
            if self.garbled() and self.random.random() < 0.3:
                continue  # missing
            step[key] = self.value(GOOD[key], ODD[key])
        if self.garbled():
            step[self.random.choice(["speed", "incline", "note", "repeat_count"])] = self.draw(
                garbage
            )
        return step

    def items(self, depth: int) -> list[Any]:
        """Steps and repeat blocks (which may nest deeper than the format allows)."""
        out: list[Any] = []
        for _ in range(self.random.randint(0 if self.garbled() else 1, 4)):
            kind = self.random.randrange(6)
            if kind == 0 and depth < 3:
                out.append(self.block(depth + 1))
            elif kind == 1 and self.garbled():
                out.append(self.draw(garbage))
            else:
                out.append(self.step())
        return out

    def block(self, depth: int) -> dict[str, Any]:
        """A repeat block: name, repeat count, steps (deeper blocks inside are refused)."""
        repeats = st.integers(min_value=-3, max_value=60)
        block: dict[str, Any] = {"repeat": self.value(repeats)}
        if not self.garbled():
            block["name"] = self.value(GOOD["name"])
        block["steps"] = self.items(depth) if not self.garbled() else self.draw(garbage)
        return block


@st.composite
def workout_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A whole workout file as a document."""
    noisy = Noisy(draw)
    document: dict[str, Any] = {}
    if not noisy.garbled():
        document["name"] = noisy.value(st.text(min_size=1, max_size=16))
    if draw(st.booleans()):
        document["description"] = noisy.value(st.text(max_size=20))
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(LIMIT_KEYS), max_size=3, unique=True))
        limits = {k: noisy.value(st.floats(min_value=-1, max_value=3600)) for k in keys}
        if noisy.garbled():
            limits["top_speed_kmh"] = 9.0  # unknown
        document["limits"] = limits
    if not noisy.garbled():
        document["steps"] = noisy.items(0)
    elif draw(st.booleans()):
        document["steps"] = draw(garbage)
    if noisy.garbled():
        document[draw(st.sampled_from(["author", "steps2", "Steps"]))] = draw(garbage)
    return document


# --- TOML --------------------------------------------------------------------------------------


def to_toml(document: dict[str, Any]) -> str:
    """`document` as TOML: one `key = value` line per top-level key, inline tables below."""
    return "".join(f"{_key(key)} = {_toml_value(value)}\n" for key, value in document.items())


def _key(key: str) -> str:
    return _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's, except DEL, which TOML wants escaped and JSON leaves alone.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no TOML for {value!r}")
