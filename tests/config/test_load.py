"""Loading the configuration: the example file, environment overrides, secrets, origins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from treadctl.config import Config, TreadmillConfig, load_config, resolve_config
from treadctl.config.model import (
    BluetoothConfig,
    LimitsConfig,
    LoggingConfig,
    MqttConfig,
    PathsConfig,
    TurnConfig,
)
from treadctl.errors import ConfigError, InputError, TreadctlError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "treadctl.example.toml"

MINIMAL = '[[treadmill]]\nid = "tm1"\naddress = "AA:BB:CC:DD:EE:01"\n'
WITH_USER = MINIMAL + '[mqtt]\nusername = "gym"\n'


def write(tmp_path: Path, text: str, name: str = "treadctl.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_loads_with_the_documented_defaults() -> None:
    """config/treadctl.example.toml loads, and every section in it equals the defaults."""
    config = load_config(EXAMPLE, env={})
    assert config.treadmill == [
        TreadmillConfig(id="treadmill-1", address="AA:BB:CC:DD:EE:01", profile="auto")
    ]
    assert config.bluetooth == BluetoothConfig()
    assert config.limits == LimitsConfig()
    assert config.turn == TurnConfig()
    assert config.logging == LoggingConfig()
    assert config.paths == PathsConfig()
    assert config.mqtt.model_dump(exclude={"client_id"}) == MqttConfig().model_dump(
        exclude={"client_id"}
    )


def test_example_file_documents_every_key() -> None:
    """Every key of every section appears in the example, set or commented out."""
    text = EXAMPLE.read_text(encoding="utf-8")
    sections = {
        "treadmill": TreadmillConfig,
        "bluetooth": BluetoothConfig,
        "limits": LimitsConfig,
        "turn": TurnConfig,
        "mqtt": MqttConfig,
        "logging": LoggingConfig,
        "paths": PathsConfig,
    }
    assert set(sections) == set(Config.model_fields)
    for model in sections.values():
        for key in model.model_fields:
            assert re.search(rf"^#? ?{key}( =|:)", text, re.MULTILINE), key


def test_safety_defaults_follow_the_evidence() -> None:
    """The limits and turn defaults are the conservative backward-walking values."""
    limits, turn = LimitsConfig(), TurnConfig()
    assert (limits.backward_max_kmh, limits.forward_max_kmh) == (4.0, 6.0)
    assert (limits.accel_kmh_per_s, limits.decel_kmh_per_s) == (0.25, 0.5)
    assert (limits.max_incline_pct, limits.backward_start_kmh) == (10.0, 1.5)
    assert limits.incline_rate_pct_per_s == 0.5
    assert limits.max_backward_session_s == 1800.0
    assert (turn.speed_kmh, turn.hold_s, turn.auto_resume) == (0.0, 10.0, False)
    assert (turn.countdown_s, turn.announce_s) == (5.0, 5.0)
    assert MqttConfig().commands_enabled is False


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    """TREADCTL_LIMITS__BACKWARD_MAX_KMH beats the file, and check-config can say so."""
    path = write(tmp_path, MINIMAL + "[limits]\nbackward_max_kmh = 3.5\nforward_max_kmh = 5.0\n")
    env = {"TREADCTL_LIMITS__BACKWARD_MAX_KMH": "2.5", "TREADCTL_MQTT__PROTOCOL": "5"}
    resolved = resolve_config(path, env=env)
    assert resolved.config.limits.backward_max_kmh == 2.5
    assert resolved.config.limits.forward_max_kmh == 5.0
    assert resolved.config.mqtt.protocol == "5"
    assert (
        resolved.origin(("limits", "backward_max_kmh")) == "env TREADCTL_LIMITS__BACKWARD_MAX_KMH"
    )
    assert resolved.origin(("limits", "forward_max_kmh")) == f"file {path}"
    assert resolved.origin(("limits", "accel_kmh_per_s")) == "default"


def test_environment_alone_can_configure_a_treadmill() -> None:
    """Without a file, TREADCTL_TREADMILL (JSON) gives the treadmill list."""
    env = {"TREADCTL_TREADMILL": '[{"id": "pad", "name": "KS-*"}]'}
    resolved = resolve_config(None, env=env)
    assert resolved.config.treadmill[0].name == "KS-*"
    assert resolved.origin(("treadmill", 0, "id")) == "env TREADCTL_TREADMILL"


def test_password_from_systemd_credentials_directory(tmp_path: Path) -> None:
    """$CREDENTIALS_DIRECTORY/mqtt__password becomes mqtt.password (newline stripped)."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "mqtt__password").write_text("s3cret pass\n", encoding="utf-8")
    path = write(tmp_path, MINIMAL + '[mqtt]\nusername = "gym"\n')
    resolved = resolve_config(path, env={"CREDENTIALS_DIRECTORY": str(credentials)})
    password = resolved.config.mqtt.password
    assert password is not None
    assert password.get_secret_value() == "s3cret pass"
    assert resolved.origin(("mqtt", "password")) == "credential mqtt__password"
    assert "s3cret" not in repr(resolved.config)
    assert "s3cret" not in str(resolved.config)


def test_password_from_a_secrets_directory(tmp_path: Path) -> None:
    """--secrets-dir DIR works like the credentials directory."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "mqtt__password").write_text("hunter2", encoding="utf-8")
    config = load_config(write(tmp_path, WITH_USER), env={}, secrets_dir=secrets)
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "hunter2"


def test_empty_credential_means_no_password(tmp_path: Path) -> None:
    """The unit's SetCredential fallback (a lone newline) leaves the password unset."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "mqtt__password").write_text("\n", encoding="utf-8")
    config = load_config(write(tmp_path, MINIMAL), env={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert config.mqtt.password is None


def test_environment_beats_the_credential(tmp_path: Path) -> None:
    """TREADCTL_MQTT__PASSWORD wins over a credential file."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "mqtt__password").write_text("from-file", encoding="utf-8")
    env = {"CREDENTIALS_DIRECTORY": str(credentials), "TREADCTL_MQTT__PASSWORD": "from-env"}
    config = load_config(write(tmp_path, WITH_USER), env=env)
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "from-env"


def test_only_secrets_may_come_from_secret_files(tmp_path: Path) -> None:
    """A limit slipped in through the credentials directory is refused, not applied."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "limits__backward_max_kmh").write_text("5.5", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"limits__backward_max_kmh: only mqtt\.password"):
        load_config(write(tmp_path, MINIMAL), env={"CREDENTIALS_DIRECTORY": str(credentials)})


def test_tls_changes_the_default_port(tmp_path: Path) -> None:
    """With tls = true and no port, the port is 8883; an explicit port is kept."""
    tls = load_config(write(tmp_path, MINIMAL + "[mqtt]\ntls = true\n"), env={})
    assert tls.mqtt.port == 8883
    explicit = load_config(write(tmp_path, MINIMAL + "[mqtt]\ntls = true\nport = 1884\n"), env={})
    assert explicit.mqtt.port == 1884


def test_sim_radio_endpoint(tmp_path: Path) -> None:
    """radio = "sim:HOST:PORT" gives the virtual treadmill's endpoint."""
    path = write(tmp_path, MINIMAL + '[bluetooth]\nradio = "sim:127.0.0.1:4567"\n')
    assert load_config(path, env={}).bluetooth.sim_endpoint == ("127.0.0.1", 4567)
    assert BluetoothConfig().sim_endpoint is None
    assert BluetoothConfig(radio="sim:local").sim_endpoint is None


def test_address_is_normalised_and_levels_lowercased(tmp_path: Path) -> None:
    """A lower-case address and an upper-case level are accepted and normalised."""
    text = '[[treadmill]]\nid = "a"\naddress = "aa:bb:cc:dd:ee:0f"\n[logging]\nlevel = "DEBUG"\n'
    config = load_config(write(tmp_path, text), env={})
    assert config.treadmill[0].address == "AA:BB:CC:DD:EE:0F"
    assert config.logging.level == "debug"


def test_direct_construction_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Config(...) uses only its arguments; the environment applies through load_config."""
    monkeypatch.setenv("TREADCTL_LIMITS__BACKWARD_MAX_KMH", "2.0")
    config = Config(treadmill=[TreadmillConfig(id="a", name="x")])
    assert config.limits.backward_max_kmh == 4.0


def test_config_is_frozen() -> None:
    """A loaded configuration cannot be changed afterwards."""
    limits = LimitsConfig()
    with pytest.raises(ValueError, match="frozen"):
        limits.backward_max_kmh = 9.0  # type: ignore[misc]


def test_config_error_is_part_of_the_error_tree(tmp_path: Path) -> None:
    """ConfigError is an InputError (and ValueError) with `where` naming the file."""
    path = write(tmp_path, "[[treadmill]]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert isinstance(info.value, InputError | TreadctlError)
    assert isinstance(info.value, ValueError)
    assert info.value.where == str(path)


def test_example_round_trips_through_tomllib() -> None:
    """The example is valid TOML whose tables are exactly the configuration's sections."""
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == set(Config.model_fields)
