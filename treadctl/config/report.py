"""What `treadctl check-config` prints: the resolved configuration, secrets masked.

Owns: rendering a `ResolvedConfig` as TOML that loads back (each value commented with its
origin) or as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from treadctl.config.load import ResolvedConfig, resolve_config
from treadctl.config.messages import Loc, key_text
from treadctl.config.model import MASKED_VALUE, SECRET_KEYS


def resolve_from_args(args: argparse.Namespace) -> ResolvedConfig:
    """The configuration named by `add_config_arguments`' options. Raises `ConfigError`."""
    return resolve_config(args.config, secrets_dir=args.secrets_dir)


def masked_dump(resolved: ResolvedConfig) -> dict[str, Any]:
    """The configuration as JSON-ready data; a set secret reads `********`, an unset one None."""
    data = resolved.config.model_dump(mode="json")
    for key in SECRET_KEYS:
        section, name = key.split(".")
        if data[section][name] is not None:
            data[section][name] = MASKED_VALUE
    return data


def render_json(resolved: ResolvedConfig) -> str:
    """`{"file": ..., "config": {...}, "origins": {"limits.backward_max_kmh": "default", ...}}`."""
    data = masked_dump(resolved)
    origins = {key_text(loc): resolved.origin(loc) for loc, _ in _leaves((), data)}
    file = str(resolved.path) if resolved.path else None
    return json.dumps({"file": file, "config": data, "origins": origins}, indent=2)


def render_toml(resolved: ResolvedConfig) -> str:
    """The configuration as TOML that loads back, each value commented with its origin."""
    data = masked_dump(resolved)
    lines = [
        "# treadctl configuration as resolved"
        + (f" from {resolved.path}" if resolved.path else " (no file)")
        + ", environment and secrets.",
        "# Each value is followed by where it came from; secrets are masked.",
    ]
    for index, table in enumerate(data["treadmill"]):
        lines += ["", "[[treadmill]]", *_table(("treadmill", index), table, resolved.origin)]
    for section, table in data.items():
        if section != "treadmill":
            lines += ["", f"[{section}]", *_table((section,), table, resolved.origin)]
    return "\n".join(lines) + "\n"


def _table(loc: Loc, table: dict[str, Any], origin: Callable[[Loc], str]) -> list[str]:
    lines = []
    for key, value in table.items():
        if value is None:
            lines.append(f"# {key} is unset")
        else:
            lines.append(f"{key} = {_toml_value(value)}  # {origin((*loc, key))}")
    return lines


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def _leaves(loc: Loc, value: object) -> list[tuple[Loc, object]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves((*loc, k), v)]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves((*loc, i), v)]
    return [(loc, value)]
