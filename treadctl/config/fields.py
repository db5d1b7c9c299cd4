"""Building blocks of the configuration models: numeric fields with units, strict numbers.

Owns: `bounded()` (a numeric field whose description states its unit and range, which error
messages quote), the `Float`/`Int` types that refuse true/false, `Section` (frozen, unknown keys
refused) and `cross_error()` for problems found by comparing keys.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from treadctl.errors import ConfigError


def _no_bool(value: object) -> object:
    """`true` is not a number: lax parsing would turn it into 1.0 km/h."""
    if isinstance(value, bool):
        # pydantic turns only ValueError into a validation error; a TypeError would escape.
        raise ValueError("a number is needed, not a true/false value")  # noqa: TRY004
    return value


Float = Annotated[float, BeforeValidator(_no_bool)]
Int = Annotated[int, BeforeValidator(_no_bool)]


def _range_text(ge: float | None, gt: float | None, le: float | None) -> str:
    low = f"above {gt:g}" if gt is not None else f"at least {ge:g}" if ge is not None else ""
    high = f"at most {le:g}" if le is not None else ""
    return " and ".join(part for part in (low, high) if part)


def bounded(
    default: float,
    unit: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    note: str = "",
) -> Any:
    """A numeric field whose description says its unit and range (quoted by error messages)."""
    text = f"{unit}, {_range_text(ge, gt, le)}" + (f"; {note}" if note else "")
    return Field(default=default, ge=ge, gt=gt, le=le, description=text)


class Section(BaseModel):
    """Common settings of every section: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def cross_error(key: str, message: str) -> ConfigError:
    """A problem with `key` (its full dotted name) found while comparing several keys.

    Raised inside a validator, pydantic keeps it as the error's context, and the message
    builder reports it under `key` rather than under the model that compared them.
    """
    return ConfigError(message, where=key)
