"""Every bad value is refused with its key, where it came from and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from treadctl.config import DEFAULT_CONFIG_PATH, load_config
from treadctl.errors import ConfigError

TREADMILL = '[[treadmill]]\nid = "tm1"\naddress = "AA:BB:CC:DD:EE:01"\n'

# (name, TOML after the treadmill table, key in the message, fragment of what is allowed)
BAD_VALUES = [
    (
        "backward running",
        "[limits]\nbackward_max_kmh = 6.5",
        "limits.backward_max_kmh = 6.5",
        "at most 6; above 6.0 is backward running",
    ),
    (
        "zero forward cap",
        "[limits]\nforward_max_kmh = 0",
        "limits.forward_max_kmh = 0",
        "above 0 and at most 16",
    ),
    (
        "absurd acceleration",
        "[limits]\naccel_kmh_per_s = 5",
        "limits.accel_kmh_per_s = 5",
        "km/h per second, at least 0.05 and at most 1",
    ),
    (
        "deceleration too slow",
        "[limits]\ndecel_kmh_per_s = 0.01",
        "limits.decel_kmh_per_s",
        "at least 0.2 and at most 2",
    ),
    (
        "steep incline",
        "[limits]\nmax_incline_pct = 25",
        "limits.max_incline_pct = 25",
        "%, at least 0 and at most 15",
    ),
    (
        "start above cap",
        "[limits]\nbackward_max_kmh = 2.0\nbackward_start_kmh = 2.5",
        "limits.backward_start_kmh",
        "above backward_max_kmh 2 km/h",
    ),
    (
        "long session",
        "[limits]\nmax_backward_session_s = 7200",
        "limits.max_backward_session_s = 7200",
        "seconds, at least 60 and at most 3600",
    ),
    (
        "true as a number",
        "[limits]\nbackward_max_kmh = true",
        "limits.backward_max_kmh = true",
        "a number is needed",
    ),
    (
        "text as a number",
        '[limits]\nbackward_max_kmh = "fast"',
        'limits.backward_max_kmh = "fast"',
        "km/h",
    ),
    ("short turn", "[turn]\nhold_s = 3", "turn.hold_s = 3", "at least 10"),
    ("short announcement", "[turn]\nannounce_s = 2", "turn.announce_s = 2", "at least 5"),
    ("short countdown", "[turn]\ncountdown_s = 1", "turn.countdown_s = 1", "at least 5"),
    ("moving turn too fast", "[turn]\nspeed_kmh = 2.5", "turn.speed_kmh = 2.5", "at most 2"),
    (
        "turn above cap",
        "[limits]\nbackward_max_kmh = 1.5\nbackward_start_kmh = 1.0\n[turn]\nspeed_kmh = 1.8",
        "turn.speed_kmh",
        "above the lower cap 1.5 km/h",
    ),
    (
        "auto resume not a bool",
        '[turn]\nauto_resume = "maybe"',
        "turn.auto_resume",
        "true or false",
    ),
    ("port out of range", "[mqtt]\nport = 70000", "mqtt.port = 70000", "at most 65535"),
    ("protocol 4", '[mqtt]\nprotocol = "4"', 'mqtt.protocol = "4"', "'3.1.1' or '5'"),
    (
        "wildcard topic",
        '[mqtt]\nbase_topic = "gym/#"',
        'mqtt.base_topic = "gym/#"',
        "separated by /",
    ),
    ("ca file without tls", '[mqtt]\nca_file = "/etc/hostname"', "mqtt.ca_file", "tls = false"),
    (
        "missing ca file",
        '[mqtt]\ntls = true\nca_file = "/nonexistent/ca.pem"',
        "mqtt.ca_file",
        "no such file",
    ),
    (
        "telemetry rate zero",
        "[mqtt]\ntelemetry_hz = 0",
        "mqtt.telemetry_hz = 0",
        "messages per second, above 0",
    ),
    ("keepalive tiny", "[mqtt]\nkeepalive_s = 1", "mqtt.keepalive_s = 1", "at least 5"),
    ("password without user", '[mqtt]\npassword = "x"', "mqtt.username", "username is not"),
    (
        "dotted topic",
        '[mqtt]\ndiscovery_prefix = "home.assistant"',
        "mqtt.discovery_prefix",
        "A-Z a-z",
    ),
    ("bad client id", '[mqtt]\nclient_id = "a b"', 'mqtt.client_id = "a b"', "A-Z a-z 0-9"),
    ("radio usb", '[bluetooth]\nradio = "usb:0"', 'bluetooth.radio = "usb:0"', "sim:HOST:PORT"),
    ("nan cap", "[limits]\nbackward_max_kmh = nan", "limits.backward_max_kmh = nan", "at most 6"),
    (
        "infinite cap",
        "[limits]\nforward_max_kmh = inf",
        "limits.forward_max_kmh = inf",
        "at most 16",
    ),
    (
        "incline too fast",
        "[limits]\nincline_rate_pct_per_s = 3",
        "limits.incline_rate_pct_per_s",
        "% per second, above 0 and at most 1.75",
    ),
    ("sim port", '[bluetooth]\nradio = "sim:localhost:70000"', "bluetooth.radio", "1 to 65535"),
    (
        "scan forever",
        "[bluetooth]\nscan_timeout_s = 0",
        "bluetooth.scan_timeout_s = 0",
        "at least 1",
    ),
    ("log level", '[logging]\nlevel = "loud"', 'logging.level = "loud"', "debug, info"),
    ("log format", '[logging]\nformat = "xml"', 'logging.format = "xml"', "json or console"),
    ("path not text", "[paths]\nstate_dir = 5", "paths.state_dir = 5", "session records"),
]


def _load(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "treadctl.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return info.value


@pytest.mark.parametrize(
    ("toml", "key", "allowed"), [case[1:] for case in BAD_VALUES], ids=[c[0] for c in BAD_VALUES]
)
def test_bad_value_names_key_file_and_what_is_allowed(
    tmp_path: Path, toml: str, key: str, allowed: str
) -> None:
    """The message holds the key (and value), the file, and what the key allows."""
    message = str(_load(tmp_path, TREADMILL + toml))
    assert key in message
    assert str(tmp_path / "treadctl.toml") in message
    assert allowed in message
    assert "Traceback" not in message


# (name, whole file, expected fragments)
BAD_TREADMILLS = [
    ("no treadmill", "[limits]\n", ["at least one [[treadmill]]"]),
    ("single table", '[treadmill]\nid = "a"\nname = "x"\n', ["treadmill", "valid list"]),
    (
        "upper-case id",
        '[[treadmill]]\nid = "Gym 1"\nname = "x"\n',
        ['treadmill[0].id = "Gym 1"', "a-z 0-9 _ -"],
    ),
    ("no address or name", '[[treadmill]]\nid = "a"\n', ["treadmill[0] (file", "address or name"]),
    (
        "bad address",
        '[[treadmill]]\nid = "a"\naddress = "AA:BB"\n',
        ['treadmill[0].address = "AA:BB"', "AA:BB:CC:DD:EE:FF"],
    ),
    (
        "bad adapter",
        '[[treadmill]]\nid = "a"\nname = "x"\nadapter = "bt0"\n',
        ['treadmill[0].adapter = "bt0"', "hci0"],
    ),
    (
        "duplicate id",
        '[[treadmill]]\nid = "a"\nname = "x"\n[[treadmill]]\nid = "a"\nname = "y"\n',
        ["treadmill[1].id", "already used by treadmill[0]"],
    ),
    ("missing id", '[[treadmill]]\nname = "x"\n', ["treadmill[0].id: required", "a-z 0-9"]),
]


@pytest.mark.parametrize(
    ("text", "fragments"), [c[1:] for c in BAD_TREADMILLS], ids=[c[0] for c in BAD_TREADMILLS]
)
def test_bad_treadmill_tables(tmp_path: Path, text: str, fragments: list[str]) -> None:
    """Treadmill problems name the table by index and the key."""
    message = str(_load(tmp_path, text))
    for fragment in fragments:
        assert fragment in message


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    """Two bad values and a typo give one error listing all three."""
    text = TREADMILL + "[limits]\nbackward_max_kmh = 9\nmax_incline_pct = -1\n[mqtt]\nprot = 1883\n"
    message = str(_load(tmp_path, text))
    assert "3 problems" in message
    for key in ("limits.backward_max_kmh = 9", "limits.max_incline_pct = -1", "mqtt.prot = 1883"):
        assert key in message


def test_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    """A typo is an error naming the nearest known key, never a silent default."""
    message = str(_load(tmp_path, TREADMILL + "[limits]\nbackward_max_khm = 9.0\n"))
    assert "limits.backward_max_khm = 9.0" in message
    assert "unknown key; did you mean backward_max_kmh?" in message


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    """An unknown table is refused and the known sections are listed."""
    message = str(_load(tmp_path, TREADMILL + "[limit]\nbackward_max_kmh = 3.0\n"))
    assert f"limit (file {tmp_path / 'treadctl.toml'}): unknown section" in message
    assert "did you mean limits?" in message


def test_unknown_environment_section_is_refused(tmp_path: Path) -> None:
    """TREADCTL_LIMTS__X would be ignored by pydantic-settings; we refuse it by name."""
    path = tmp_path / "treadctl.toml"
    path.write_text(TREADMILL, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"env TREADCTL_LIMTS__BACKWARD_MAX_KMH: unknown section"):
        load_config(path, env={"TREADCTL_LIMTS__BACKWARD_MAX_KMH": "9"})


def test_unknown_environment_key_is_refused(tmp_path: Path) -> None:
    """TREADCTL_LIMITS__TYPO is an unknown key of [limits], named by its variable."""
    path = tmp_path / "treadctl.toml"
    path.write_text(TREADMILL, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"limits\.typo = \"1\" \(env TREADCTL_LIMITS__TYPO\)"):
        load_config(path, env={"TREADCTL_LIMITS__TYPO": "1"})


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    """An environment override that is out of range names the variable, not the file."""
    path = tmp_path / "treadctl.toml"
    path.write_text(TREADMILL, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"TREADCTL_LIMITS__BACKWARD_MAX_KMH": "8"})
    assert 'limits.backward_max_kmh = "8" (env TREADCTL_LIMITS__BACKWARD_MAX_KMH)' in str(
        info.value
    )
    assert "at most 6" in str(info.value)


def test_bad_environment_json_names_the_variable() -> None:
    """TREADCTL_TREADMILL that is not JSON is reported by name."""
    with pytest.raises(ConfigError, match=r"env TREADCTL_TREADMILL: not valid JSON"):
        load_config(None, env={"TREADCTL_TREADMILL": "[{id: a}]"})


def test_password_value_is_never_shown(tmp_path: Path) -> None:
    """A bad password value is reported masked."""
    path = tmp_path / "treadctl.toml"
    path.write_text(TREADMILL + "[mqtt]\npassword = 12345\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "mqtt.password = ********" in str(info.value)
    assert "12345" not in str(info.value)


def test_missing_default_file_says_what_to_do() -> None:
    """No /etc/treadctl/treadctl.toml: the message says to copy the example or pass --config."""
    if DEFAULT_CONFIG_PATH.exists():
        pytest.skip(f"{DEFAULT_CONFIG_PATH} exists on this machine")
    with pytest.raises(ConfigError) as info:
        load_config(env={})
    assert str(DEFAULT_CONFIG_PATH) in str(info.value)
    assert "treadctl.example.toml" in str(info.value)
    assert "--config FILE" in str(info.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    """An explicit file that does not exist is named in the error."""
    with pytest.raises(ConfigError, match=r"nope\.toml: no such configuration file"):
        load_config(tmp_path / "nope.toml", env={})


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the line."""
    path = tmp_path / "treadctl.toml"
    path.write_text('[[treadmill]]\nid = "a"\nname = \n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"treadctl\.toml: not valid TOML: .*line 3"):
        load_config(path, env={})


def test_directory_instead_of_file(tmp_path: Path) -> None:
    """A directory given as the configuration file is refused clearly."""
    with pytest.raises(ConfigError, match="not a file"):
        load_config(tmp_path, env={})


def test_missing_secrets_directory(tmp_path: Path) -> None:
    """A secrets directory that does not exist is named."""
    path = tmp_path / "treadctl.toml"
    path.write_text(TREADMILL, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"secrets directory .*nowhere: not a directory"):
        load_config(path, env={}, secrets_dir=tmp_path / "nowhere")
