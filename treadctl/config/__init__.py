"""The configuration: `treadctl.toml`, environment overrides and secrets (pydantic-settings).

Owns: every configuration key, its default, unit and allowed range (`model`; `[mqtt]` in
`broker`), loading and error reporting (`load`, `messages`), `treadctl check-config` (`args`,
`report`). The only user of pydantic-settings. Use: `config = load_config(path)`; its sections
are `config.treadmill` (a list), `config.bluetooth`, `config.limits`, `config.turn`,
`config.mqtt`, `config.logging` and `config.paths`. Names are imported on first use, so
`treadctl.config.args` (the command-line options) loads without pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from treadctl.config.args import DEFAULT_CONFIG_PATH, add_config_arguments

if TYPE_CHECKING:
    from treadctl.config.broker import MqttConfig
    from treadctl.config.load import ResolvedConfig, load_config, resolve_config
    from treadctl.config.model import (
        BluetoothConfig,
        Config,
        LimitsConfig,
        LoggingConfig,
        PathsConfig,
        TreadmillConfig,
        TurnConfig,
    )
    from treadctl.config.report import resolve_from_args

_LAZY = {
    "ResolvedConfig": "load",
    "load_config": "load",
    "resolve_config": "load",
    "resolve_from_args": "report",
    "BluetoothConfig": "model",
    "Config": "model",
    "LimitsConfig": "model",
    "LoggingConfig": "model",
    "MqttConfig": "broker",
    "PathsConfig": "model",
    "TreadmillConfig": "model",
    "TurnConfig": "model",
}

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "BluetoothConfig",
    "Config",
    "LimitsConfig",
    "LoggingConfig",
    "MqttConfig",
    "PathsConfig",
    "ResolvedConfig",
    "TreadmillConfig",
    "TurnConfig",
    "add_config_arguments",
    "load_config",
    "resolve_config",
    "resolve_from_args",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'treadctl.config' has no attribute {name!r}")
    return getattr(importlib.import_module(f"treadctl.config.{module}"), name)
