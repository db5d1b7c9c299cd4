"""systemd/treadctl.service and its snippets: exposure, syntax, and what the daemon relies on."""

from __future__ import annotations

import codecs
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from treadctl.config import MqttConfig, load_config
from treadctl.daemon.app import MQTT_FLUSH_S, SHUTDOWN_S
from treadctl.daemon.session import STOP_GRACE_S

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "treadctl.service"
SYSUSERS = ROOT / "systemd" / "treadctl.sysusers"
TMPFILES = ROOT / "systemd" / "treadctl.tmpfiles"
DOC = ROOT / "README.md"
EXPOSURE_LIMIT = 3.0

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)


def settings(path: Path = UNIT) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment of the unit, in order."""
    found, section = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def values(key: str) -> list[str]:
    return [v for _, k, v in settings() if k == key]


def one(key: str) -> str:
    found = values(key)
    assert len(found) == 1, f"{key}: {found}"
    return found[0]


def seconds(text: str) -> float:
    units = {"s": 1, "sec": 1, "min": 60, "ms": 0.001, "": 1}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    assert match, text
    return float(match.group(1)) * units[match.group(2)]


@needs_analyze
def test_exposure_is_at_most_3(report_line: Callable[[str], None]) -> None:
    """`systemd-analyze security --offline=true` rates the unit 3.0 or lower."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(
        r"Overall exposure level for treadctl\.service: (\d+\.\d+) (\w+)", result.stdout
    )
    if match is None and result.returncode != 0:  # e.g. systemd < 250 has no --offline
        pytest.skip(f"systemd-analyze security --offline cannot run here: {result.stderr[:200]}")
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    verdict = match.group(2)
    line = f"systemd-analyze security exposure of treadctl.service: {exposure} {verdict}"
    line += f" (limit {EXPOSURE_LIMIT})"
    print(line)
    report_line(line)
    assert exposure <= EXPOSURE_LIMIT
    ours = [line for line in result.stderr.splitlines() if "treadctl.service:" in line]
    assert ours == [], "systemd warns about the unit"


@needs_analyze
def test_unit_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing wrong (ExecStart pointed at a real binary)."""
    text = UNIT.read_text(encoding="utf-8")
    copy = tmp_path / "treadctl.service"
    copy.write_text(re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={sys.executable}", text))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ours = [line for line in result.stderr.splitlines() if "treadctl.service" in line]
    assert ours == [], result.stderr
    if result.returncode != 0:
        pytest.skip(f"systemd-analyze verify cannot run here: {result.stderr.strip()[:200]}")


def test_unit_has_what_the_daemon_needs() -> None:
    """Type=notify with a watchdog, restart on failure, a static user in the bluetooth group."""
    assert one("Type") == "notify"
    assert one("NotifyAccess") == "main"
    assert seconds(one("WatchdogSec")) >= 10
    assert one("Restart") == "on-failure"
    assert one("User") == "treadctl"
    assert one("SupplementaryGroups") == "bluetooth"
    assert one("StateDirectory") == "treadctl"
    assert one("ConfigurationDirectory") == "treadctl"
    assert one("ExecStart").split()[1:] == ["run", "--config", "/etc/treadctl/treadctl.toml"]
    families = one("RestrictAddressFamilies").split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(families)


def test_stop_timeout_outlasts_the_shutdown_ramp() -> None:
    """systemd waits longer than the daemon's bounded shutdown before killing it: the ramp-down,
    the Stop that follows one that ran out of time, and the final MQTT flush at its longest
    (`mqtt.shutdown_timeout_s` is refused above 10 s)."""
    with pytest.raises(ValidationError):
        MqttConfig(shutdown_timeout_s=10.01)
    flush_s = MqttConfig(shutdown_timeout_s=10.0).shutdown_timeout_s
    bounded_s = SHUTDOWN_S + STOP_GRACE_S + MQTT_FLUSH_S + flush_s
    assert seconds(one("TimeoutStopSec")) > bounded_s
    assert one("KillMode") == "mixed"


@pytest.mark.parametrize("key", ["DynamicUser", "PrivateUsers", "PrivateNetwork"])
def test_settings_that_break_bluez_or_mqtt_stay_off(key: str) -> None:
    """DynamicUser, PrivateUsers and PrivateNetwork would cut the daemon off BlueZ or the broker."""
    assert all(v.lower() in ("no", "false", "0") for v in values(key))


def test_credential_name_is_what_the_config_reads(tmp_path: Path) -> None:
    """The LoadCredential id is the file load_config reads; the fallback means no password."""
    ident, _, source = one("LoadCredential").partition(":")
    assert source.startswith("/etc/credstore/")
    fallback_id, _, fallback = one("SetCredential").partition(":")
    assert fallback_id == ident
    config_file = tmp_path / "treadctl.toml"
    config_file.write_text(
        '[[treadmill]]\nid = "a"\nname = "x"\n[mqtt]\nusername = "gym"\n', encoding="utf-8"
    )
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}

    (credentials / ident).write_text("from-credstore", encoding="utf-8")
    password = load_config(config_file, env=env).mqtt.password
    assert password is not None
    assert password.get_secret_value() == "from-credstore"

    # systemd C-unescapes SetCredential= values: "\n" is a newline byte.
    (credentials / ident).write_text(codecs.decode(fallback, "unicode_escape"), encoding="utf-8")
    assert load_config(config_file, env=env).mqtt.password is None


def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("creating root-owned files in a scratch root needs root")


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="no systemd-sysusers")
def test_sysusers_creates_the_user_in_the_bluetooth_group(tmp_path: Path) -> None:
    """systemd-sysusers, applied to a scratch root, creates treadctl in group bluetooth."""
    _root_only()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\n")
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(SYSUSERS)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    passwd = (tmp_path / "etc" / "passwd").read_text()
    groups = (tmp_path / "etc" / "group").read_text()
    assert re.search(r"^treadctl:x:\d+:\d+:treadctl daemon:/var/lib/treadctl:", passwd, re.M)
    assert re.search(r"^bluetooth:x:\d+:treadctl$", groups, re.M)


@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None, reason="no systemd-tmpfiles")
def test_tmpfiles_creates_the_directories(tmp_path: Path) -> None:
    """systemd-tmpfiles, applied to a scratch root, creates the config and credstore dirs."""
    _root_only()
    subprocess.run(
        ["systemd-tmpfiles", f"--root={tmp_path}", "--create", str(TMPFILES)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    for directory in ("etc/treadctl/workouts", "etc/treadctl/profiles"):
        assert (tmp_path / directory).is_dir()
    assert (tmp_path / "etc" / "credstore").stat().st_mode & 0o777 == 0o700


def test_install_guide_matches_the_unit() -> None:
    """The README's Raspberry Pi guide installs to the unit's ExecStart and credential paths."""
    text = DOC.read_text(encoding="utf-8")
    assert one("ExecStart").split()[0] in text
    assert one("LoadCredential").partition(":")[2] in text
    for name in ("treadctl.service", "treadctl.sysusers", "treadctl.tmpfiles"):
        assert f"systemd/{name}" in text
    pointer = re.search(r'^# Install: see (\S+), "([^"]+)"', UNIT.read_text(encoding="utf-8"), re.M)
    assert pointer, "the unit's header says where the install guide is"
    assert (ROOT / pointer.group(1)).is_file()
    assert f"## {pointer.group(2)}" in text
