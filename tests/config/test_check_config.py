"""`treadctl check-config`: the resolved configuration, secrets masked, origins shown."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from treadctl import cli
from treadctl.config import load_config

TEXT = (
    '[[treadmill]]\nid = "tm1"\nname = "KS-*"\n'
    '[limits]\nbackward_max_kmh = 3.0\n[mqtt]\nusername = "gym"\n'
)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A config file and a secrets directory holding the MQTT password."""
    config = tmp_path / "treadctl.toml"
    config.write_text(TEXT, encoding="utf-8")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "mqtt__password").write_text("pa55word-xyz\n", encoding="utf-8")
    for name in ("CREDENTIALS_DIRECTORY", "TREADCTL_MQTT__PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TREADCTL_MQTT__HOST", "broker.lan")
    return config, secrets


def test_toml_output_masks_the_password_and_loads_back(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The TOML printed has ******** for the password and resolves to the same values."""
    config, secrets = setup
    assert cli.main(["check-config", "--config", str(config), "--secrets-dir", str(secrets)]) == 0
    out = capsys.readouterr().out
    assert "pa55word" not in out
    assert 'password = "********"  # secrets file ' in out
    assert "backward_max_kmh = 3.0  # file " in out
    assert 'host = "broker.lan"  # env TREADCTL_MQTT__HOST' in out
    assert "accel_kmh_per_s = 0.25  # default" in out
    data = tomllib.loads(out)
    assert data["mqtt"]["password"] == "********"
    printed = config.with_name("printed.toml")
    printed.write_text(out, encoding="utf-8")
    reloaded = load_config(printed, env={})
    original = load_config(config, env={"TREADCTL_MQTT__HOST": "broker.lan"}, secrets_dir=secrets)
    assert reloaded.model_dump(exclude={"mqtt": {"password"}}) == original.model_dump(
        exclude={"mqtt": {"password"}}
    )


def test_json_output_masks_the_password(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--format json prints the configuration and each value's origin, password masked."""
    config, secrets = setup
    argv = ["check-config", "--config", str(config), "--secrets-dir", str(secrets)]
    assert cli.main([*argv, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "pa55word" not in out
    data = json.loads(out)
    assert data["config"]["mqtt"]["password"] == "********"
    assert data["config"]["mqtt"]["username"] == "gym"
    assert data["origins"]["limits.backward_max_kmh"] == f"file {config}"
    assert data["origins"]["treadmill[0].name"] == f"file {config}"
    assert data["file"] == str(config)


def test_unset_password_is_shown_as_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a password the output says so instead of masking nothing."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("TREADCTL_MQTT__PASSWORD", raising=False)
    config = tmp_path / "treadctl.toml"
    config.write_text('[[treadmill]]\nid = "a"\nname = "x"\n', encoding="utf-8")
    assert cli.main(["check-config", "--config", str(config)]) == 0
    assert "# password is unset" in capsys.readouterr().out


def test_bad_config_exits_2_with_the_problems_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad file gives exit status 2 and the problems on stderr."""
    config = tmp_path / "treadctl.toml"
    config.write_text('[[treadmill]]\nid = "a"\nname = "x"\n[limits]\nbackward_max_kmh = 8\n')
    assert cli.main(["check-config", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"treadctl check-config: {config}: limits.backward_max_kmh = 8")
    assert "Traceback" not in captured.err


def test_check_config_as_a_process(setup: tuple[Path, Path]) -> None:
    """`python -m treadctl check-config` works end to end and never prints the secret."""
    config, secrets = setup
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "treadctl",
            "check-config",
            "--config",
            str(config),
            "--secrets-dir",
            str(secrets),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pa55word" not in result.stdout + result.stderr
    assert 'password = "********"' in result.stdout


def test_the_readme_example_is_what_check_config_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's `check-config --config bad.toml` example, run on its own bad.toml, prints
    exactly the lines the README shows (exit status 2)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = re.search(
        r"\$ cat bad\.toml\n(?P<file>.*?)\$ treadctl check-config --config bad\.toml\n"
        r"(?P<out>.*?)```",
        readme,
        re.S,
    )
    assert example, "the README's check-config example is gone"
    (tmp_path / "bad.toml").write_text(example["file"], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("CREDENTIALS_DIRECTORY", "TREADCTL_MQTT__PASSWORD", "TREADCTL_MQTT__HOST"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["check-config", "--config", "bad.toml"]) == 2
    assert capsys.readouterr().err == example["out"]
