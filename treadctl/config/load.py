"""Loading the configuration: TOML file, then secrets, then the environment, then validation.

Owns: the pydantic-settings sources and their order (environment > credentials > secrets
directory > file > defaults), where each value came from, and turning every problem into one
`ConfigError` that names each key, its origin (file, env variable, credential) and what is
allowed — all problems at once, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import (
    EnvSettingsSource,
    InitSettingsSource,
    NestedSecretsSettingsSource,
    SecretsSettingsSource,
    SettingsError,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from treadctl.config.args import DEFAULT_CONFIG_PATH
from treadctl.config.messages import Loc, describe_errors, key_text
from treadctl.config.model import ENV_PREFIX, SECRET_KEYS, Config
from treadctl.errors import ConfigError

DEFAULT = "default"


@dataclass(frozen=True)
class ResolvedConfig:
    """A loaded configuration and where each of its values came from.

    `origins` maps a dotted key (`limits.backward_max_kmh`, `treadmill[0].id`) to its origin:
    `default`, `file PATH`, `env NAME`, `credential NAME` or `secrets file PATH`.
    """

    config: Config
    path: Path | None
    origins: dict[str, str] = field(default_factory=dict)

    def origin(self, loc: Loc) -> str:
        """Where the value at `loc` came from (its own origin or its nearest parent's)."""
        return _origin_of(self.origins, loc)


def _origin_of(origins: Mapping[str, str], loc: Loc) -> str:
    """The origin of `loc` itself or of its nearest parent; for a table, of what it holds."""
    for end in range(len(loc), 0, -1):
        found = origins.get(key_text(loc[:end]))
        if found is not None:
            return found
    prefix = key_text(loc)
    for key, found in origins.items():
        if prefix and key.startswith((f"{prefix}.", f"{prefix}[")):
            return found
    return DEFAULT


class _MappingEnvSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(Config)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def load_config(
    path: Path | str | None = DEFAULT_CONFIG_PATH,
    *,
    env: Mapping[str, str] | None = None,
    secrets_dir: Path | str | None = None,
) -> Config:
    """Load and validate the configuration.

    `path` is the TOML file (None: no file); `env` the environment (default `os.environ`;
    `TREADCTL_SECTION__KEY` overrides, `$CREDENTIALS_DIRECTORY` is read from it);
    `secrets_dir` a directory of secret files named like `mqtt__password`.
    Raises `ConfigError` listing every problem.
    """
    return resolve_config(path, env=env, secrets_dir=secrets_dir).config


def resolve_config(
    path: Path | str | None = DEFAULT_CONFIG_PATH,
    *,
    env: Mapping[str, str] | None = None,
    secrets_dir: Path | str | None = None,
) -> ResolvedConfig:
    """`load_config`, keeping where each value came from (for `treadctl check-config`)."""
    environ = dict(os.environ if env is None else env)
    file_path = Path(path).expanduser() if path is not None else None
    where = str(file_path) if file_path is not None else "configuration"
    problems: list[str] = []
    origins: dict[Loc, str] = {}

    file_data: dict[str, Any] = {}
    toml_source: TomlConfigSettingsSource | None = None
    if file_path is not None:
        toml_source = _read_file(file_path)
        file_data = toml_source.toml_data
        _record(origins, (), file_data, f"file {file_path}")

    secret_data = _read_secrets(environ, secrets_dir, origins, problems)
    env_source = _env_source(environ, problems)
    if env_source is not None:
        _record_env(origins, environ)
    problems.extend(_unknown_env_sections(environ))

    origin_text = {key_text(loc): text for loc, text in origins.items()}
    sources = tuple(
        s
        for s in (env_source, InitSettingsSource(Config, init_kwargs=secret_data), toml_source)
        if s is not None
    )
    try:
        # `_build_sources` is BaseSettings' documented way to pass ready-made sources; mypy sees
        # only the fields in the generated __init__.
        config = Config(_build_sources=(sources, {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        problems += describe_errors(exc, lambda loc: _origin_of(origin_text, loc))
    if problems:
        raise _error(where, problems)
    return ResolvedConfig(config=config, path=file_path, origins=origin_text)


def _error(where: str, problems: list[str]) -> ConfigError:
    if len(problems) == 1:
        return ConfigError(problems[0], where=where)
    listed = "\n".join(f"  - {p}" for p in problems)
    return ConfigError(f"{len(problems)} problems:\n{listed}", where=where)


def _read_file(path: Path) -> TomlConfigSettingsSource:
    """The TOML source for `path`; a missing or unreadable file is a clear `ConfigError`."""
    if not path.exists():
        if path == DEFAULT_CONFIG_PATH:
            raise ConfigError(
                "no configuration file here; copy config/treadctl.example.toml to this path "
                "and edit it, or pass --config FILE",
                where=str(path),
            )
        raise ConfigError("no such configuration file", where=str(path))
    if not path.is_file():
        raise ConfigError("not a file", where=str(path))
    try:
        return TomlConfigSettingsSource(Config, toml_file=path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("not valid TOML: the file is not UTF-8 text", where=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=str(path)) from None


def _env_source(environ: Mapping[str, str], problems: list[str]) -> _MappingEnvSource | None:
    try:
        source = _MappingEnvSource(environ)
        source()  # parse now, so bad JSON is reported with the variable's name
    except SettingsError as exc:
        found = re.search(r'field "([a-z_]+)"', str(exc))
        name = f"{ENV_PREFIX}{found.group(1).upper()}" if found else f"{ENV_PREFIX}*"
        problems.append(f"env {name}: not valid JSON ({exc.__cause__ or exc})")
        return None
    return source


def _secret_dirs(environ: Mapping[str, str], secrets_dir: Path | str | None) -> list[Path]:
    """The secrets directory (if given), then the systemd credentials directory (if set)."""
    dirs = [Path(secrets_dir)] if secrets_dir is not None else []
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        dirs.append(Path(credentials))
    return dirs


def _read_secrets(
    environ: Mapping[str, str],
    secrets_dir: Path | str | None,
    origins: dict[Loc, str],
    problems: list[str],
) -> dict[str, Any]:
    """Secret values from files; only `SECRET_KEYS` may come from there, empty means unset."""
    dirs = _secret_dirs(environ, secrets_dir)
    if not dirs:
        return {}
    missing = [d for d in dirs if not d.is_dir()]
    if missing:
        problems.extend(f"secrets directory {d}: not a directory" for d in missing)
        return {}
    try:
        source = NestedSecretsSettingsSource(
            SecretsSettingsSource(Config),
            secrets_dir=dirs,
            secrets_prefix="",
            secrets_nested_delimiter="__",
            secrets_dir_missing="error",
        )
        found = source()
    except (SettingsError, OSError, UnicodeDecodeError) as exc:
        problems.append(f"secrets: {exc}")
        return {}
    kept: dict[str, Any] = {}
    for section, values in found.items():
        for key, value in values.items() if isinstance(values, dict) else [("", values)]:
            dotted = f"{section}.{key}" if key else section
            if dotted not in SECRET_KEYS:
                problems.append(
                    f"secret file {dotted.replace('.', '__')}: only "
                    f"{', '.join(sorted(SECRET_KEYS))} may come from a secret file"
                )
            elif value:
                kept.setdefault(section, {})[key] = value
                name = dotted.replace(".", "__")
                origins[(section, key)] = _secret_origin(dirs, name, environ)
    return kept


def _secret_origin(dirs: list[Path], name: str, environ: Mapping[str, str]) -> str:
    for directory in reversed(dirs):  # the last directory wins, as in the source
        if (directory / name).is_file():
            if str(directory) == environ.get("CREDENTIALS_DIRECTORY", ""):
                return f"credential {name}"
            return f"secrets file {directory / name}"
    return f"secret {name}"


def _record(origins: dict[Loc, str], loc: Loc, value: object, origin: str) -> None:
    """Mark every value under `value` (a parsed TOML tree) as coming from `origin`.

    Tables merge across sources, so only their values are marked; a list is replaced whole,
    so it is marked itself too.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            _record(origins, (*loc, str(key)), item, origin)
        return
    origins[loc] = origin
    if isinstance(value, list):
        for index, item in enumerate(value):
            _record(origins, (*loc, index), item, origin)


def _record_env(origins: dict[Loc, str], environ: Mapping[str, str]) -> None:
    """`TREADCTL_MQTT__PORT` marks ("mqtt", "port"); `TREADCTL_MQTT='{...}'` its JSON keys."""
    for name, value in environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        loc: Loc = tuple(name[len(ENV_PREFIX) :].lower().split("__"))
        if loc[0] not in Config.model_fields:
            continue
        parsed = _json_or_none(value) if len(loc) == 1 else None
        if not isinstance(parsed, dict):  # a value or a list replaces what the file said
            for known in [k for k in origins if k[: len(loc)] == loc]:
                del origins[known]
        _record(origins, loc, parsed if parsed is not None else value, f"env {name}")


def _json_or_none(value: str) -> object:
    try:
        return json.loads(value)
    except ValueError:
        return None


def _unknown_env_sections(environ: Mapping[str, str]) -> list[str]:
    """`TREADCTL_LIMTS__X` would be ignored silently by pydantic-settings: refuse it."""
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and "__" in upper:
            section = upper[len(ENV_PREFIX) :].split("__")[0].lower()
            if section not in Config.model_fields:
                known = ", ".join(Config.model_fields)
                problems.append(f"env {name}: unknown section {section!r}; sections: {known}")
    return problems
