"""Turning pydantic's validation errors into lines a person can act on.

Owns: the text of configuration problems — the key (`limits.backward_max_kmh`,
`treadmill[1].id`), the value (secrets masked), where it came from and what is allowed (quoted
from the field's description, or the known keys of a section for a typo).
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from treadctl.config.model import MASKED_VALUE, SECRET_KEYS, Config
from treadctl.errors import ConfigError

Loc = tuple[str | int, ...]

_RANGE_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def key_text(loc: Loc) -> str:
    """("treadmill", 0, "id") -> "treadmill[0].id"."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside `X`, `X | None` or `list[X]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def field_at(loc: Loc) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model holding the last key of `loc`, and that key's field (None when unknown)."""
    model: type[BaseModel] | None = Config
    info: FieldInfo | None = None
    for index, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if model is None:
            return None, None
        info = model.model_fields.get(part)
        if index == len(loc) - 1:
            return model, info
        if info is None:
            return None, None
        model = _model_in(info.annotation)
    return model, info


def _section_name(loc: Loc) -> str:
    parent = [p for p in loc[:-1] if isinstance(p, str)]
    return f"[[{parent[0]}]]" if parent[0] == "treadmill" else f"[{'.'.join(parent)}]"


def _unknown_key(loc: Loc) -> str:
    model, _ = field_at(loc)
    name = str(loc[-1])
    if model is None:
        return "unknown key"
    known = list(model.model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    if len(loc) == 1:
        return f"unknown section{hint} Sections: {', '.join(known)}"
    return f"unknown key{hint} Keys of {_section_name(loc)}: {', '.join(known)}"


def _value_text(loc: Loc, value: object) -> str:
    if key_text(loc) in SECRET_KEYS:
        return MASKED_VALUE
    if isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # as it would be written in TOML
    return repr(value)


def describe_error(error: Any, origin: Callable[[Loc], str]) -> str:
    """One line for one pydantic error dict."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, ConfigError) and cause.where:  # from fields.cross_error()
        return f"{cause.where} ({origin(_loc_of_key(cause.where))}): {cause.detail}"
    key = key_text(loc) or "configuration"
    value = _value_text(loc, error.get("input"))
    head = f"{key} = {value}" if value and kind != "missing" else key
    where = origin(loc)
    if kind == "extra_forbidden":
        return f"{head} ({where}): {_unknown_key(loc)}"
    if kind == "missing":
        if loc == ("treadmill",):
            return "treadmill: at least one [[treadmill]] table with an id and an address or name"
        return f"{key}: required{_allowed(loc)}"
    message = "out of range" if kind in _RANGE_TYPES else _sentence(error["msg"])
    return f"{head} ({where}): {message}{_allowed(loc)}"


def _allowed(loc: Loc) -> str:
    if loc and isinstance(loc[-1], int):  # a whole [[treadmill]] table: its own message says
        return ""
    _, info = field_at(loc)
    if info is None or not info.description:
        return ""
    return f"; allowed: {info.description}"


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _loc_of_key(key: str) -> Loc:
    parts: list[str | int] = []
    for piece in key.replace("]", "").split("."):
        name, _, index = piece.partition("[")
        parts.append(name)
        if index:
            parts.append(int(index))
    return tuple(parts)


def describe_errors(exc: ValidationError, origin: Callable[[Loc], str]) -> list[str]:
    """Every error of `exc` as a line, in the order pydantic found them."""
    return [describe_error(error, origin) for error in exc.errors()]
