"""The shape of a workout file (DESIGN §6), validated with pydantic, and readable error texts.

Owns: the pydantic models of a workout TOML file (`WorkoutFile`: name, description, optional
`[limits]`, steps and repeat blocks) and `describe_errors`, which turns pydantic's errors into
"step 2 "Backward", speed_kmh: …" lines (position and name of the step, the field, what was
wrong and what is allowed). Checks against caps are in `script`, which knows the limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
)

from treadctl.workout.durations import ALLOWED as DURATION_ALLOWED
from treadctl.workout.durations import parse_duration

MAX_STEP_S = 3600.0
MAX_REPEAT = 50


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a number is needed, not true/false")  # noqa: TRY004 - pydantic reports ValueError
    return value


Number = Annotated[float, BeforeValidator(_no_bool)]
Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0, le=MAX_STEP_S)]


class _Strict(BaseModel):
    # No NaN or infinity in any number: every comparison with NaN is false, so a NaN would
    # slip past each range check below and every cap check after it.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StepModel(_Strict):
    """One step: walk `direction` for `duration` at `speed_kmh` (and `incline_pct`)."""

    name: str = Field(min_length=1)
    direction: Literal["forward", "backward"]
    duration: Duration
    speed_kmh: Number = Field(gt=0)
    incline_pct: Number = 0.0


class BlockModel(_Strict):
    """A repeat block: its `steps`, `repeat` times in a row."""

    name: str = Field(min_length=1)
    repeat: int = Field(ge=1, le=MAX_REPEAT, strict=True)
    steps: list[StepModel] = Field(min_length=1)


def _kind(value: Any) -> str:
    return "block" if isinstance(value, Mapping) and "repeat" in value else "step"


Item = Annotated[
    Annotated[StepModel, Tag("step")] | Annotated[BlockModel, Tag("block")], Discriminator(_kind)
]


class LimitsModel(_Strict):
    """A workout's own `[limits]`: each may only lower the site's cap of the same name."""

    backward_max_kmh: Number | None = Field(default=None, gt=0)
    forward_max_kmh: Number | None = Field(default=None, gt=0)
    accel_kmh_per_s: Number | None = Field(default=None, gt=0)
    decel_kmh_per_s: Number | None = Field(default=None, gt=0)
    max_incline_pct: Number | None = Field(default=None, ge=0)
    incline_rate_pct_per_s: Number | None = Field(default=None, gt=0)
    backward_start_kmh: Number | None = Field(default=None, gt=0)
    max_backward_session_s: Number | None = Field(default=None, gt=0)


class WorkoutFile(_Strict):
    """A whole workout file."""

    name: str = Field(min_length=1)
    description: str = ""
    limits: LimitsModel = LimitsModel()
    steps: list[Item] = Field(min_length=1)


_UNITS = {"duration": "s", "repeat": "times"}
# Other fields carry their unit in their name (STYLE: units in names), most specific first.
_SUFFIXES = (
    ("_kmh_per_s", "km/h per s"),
    ("_pct_per_s", "% per s"),
    ("_kmh", "km/h"),
    ("_pct", "%"),
    ("_s", "s"),
)


def describe_errors(exc: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    """One line per problem: where (step position and name, field), what, what is allowed."""
    return [f"{_where(error['loc'], raw)}: {_what(error)}" for error in exc.errors()]


def step_label(position: str, name: object) -> str:
    """How errors and tables name a step: `step 2 "Backward block"`."""
    return f'step {position} "{name}"' if isinstance(name, str) and name else f"step {position}"


def _where(loc: Sequence[int | str], raw: Mapping[str, Any]) -> str:
    parts = [p for p in loc if p not in ("step", "block")]
    if not parts or parts[0] != "steps" or len(parts) < 2 or not isinstance(parts[1], int):
        return ".".join(str(p) for p in parts) if parts else "file"
    steps = raw.get("steps")
    outer = steps[parts[1]] if isinstance(steps, list) and parts[1] < len(steps) else {}
    position, item, rest = str(parts[1] + 1), outer, parts[2:]
    if len(rest) >= 2 and rest[0] == "steps" and isinstance(rest[1], int):
        inner = outer.get("steps") if isinstance(outer, Mapping) else None
        item = inner[rest[1]] if isinstance(inner, list) and rest[1] < len(inner) else {}
        position, rest = f"{position}.{rest[1] + 1}", rest[2:]
    name = item.get("name") if isinstance(item, Mapping) else None
    label = step_label(position, name)
    return f"{label}, {rest[0]}" if rest else label


def _owner(loc: Sequence[int | str]) -> tuple[str, type[BaseModel]]:
    """Which table a key at `loc` belongs to: the file itself, a repeat block or a step."""
    parent = loc[:-1]
    if not parent:
        return "the workout file", WorkoutFile
    if parent[-1] == "block":
        return "every repeat block", BlockModel
    return "every step", StepModel


def _required(model: type[BaseModel]) -> list[str]:
    return [name for name, info in model.model_fields.items() if info.is_required()]


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _unit(field: str) -> str:
    if field in _UNITS:
        return _UNITS[field]
    return next((unit for suffix, unit in _SUFFIXES if field.endswith(suffix)), "")


def _what(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    field = str(error["loc"][-1]) if error["loc"] else ""
    unit = _unit(field)
    given = error.get("input")
    if kind == "missing":
        owner, model = _owner(error["loc"])
        return f"missing; {owner} needs {_and(_required(model))}"
    if kind == "extra_forbidden":
        return f"unknown key {field!r}"
    if kind == "literal_error":
        return f"{given!r} is not a direction; allowed: forward or backward"
    if kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        bound = ctx.get("gt", ctx.get("ge", ctx.get("le")))
        relation = {"greater_than": "above", "greater_than_equal": "at least"}.get(kind, "at most")
        bound_text = f"{bound:g}" if isinstance(bound, int | float) else str(bound)
        return f"{given!r} is out of range; allowed: {relation} {bound_text} {unit}".rstrip()
    if kind == "finite_number":
        return f"{given!r} is not allowed; expected a finite number ({unit or 'number'})"
    if kind == "value_error" and field == "duration":
        return str(ctx.get("error", f"expected {DURATION_ALLOWED}"))
    if kind in ("float_parsing", "float_type", "int_type", "int_parsing", "value_error"):
        expected = "a whole number" if field == "repeat" else f"a number ({unit or 'number'})"
        return f"{given!r} is not allowed; expected {expected}"
    if kind in ("too_short", "list_type"):
        return "needs at least one step"
    if kind == "union_tag_invalid" or kind == "model_type" or kind == "model_attributes_type":
        return "expected a table (a step or a repeat block)"
    return str(error["msg"])
