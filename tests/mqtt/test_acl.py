"""The README's broker ACL example, on mosquitto: the file shown under "Broker ACLs" is used as
it is written, and it does what the README says — treadctl publishes its topics and discovery
and hears commands and Home Assistant's status, Home Assistant's user may command, and anyone
else may read but neither command nor publish as treadctl."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from mqtt.support import Handler, SettingsFactory
from testsupport.brokers import MosquittoBroker, require_mosquitto
from testsupport.mqtt_recorder import MqttRecorder

from treadctl.mqtt import MqttBridge, TreadmillInfo

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(30)]

README = Path(__file__).parents[2] / "README.md"
USERS = {"treadctl-gym1": "gym-pw", "homeassistant": "ha-pw", "watcher": "watch-pw"}
T1 = TreadmillInfo("t1", "Lane 1", workouts=("first-timer",))


def readme_acl() -> str:
    """The first fenced block of the README's "Broker ACLs" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Broker ACLs", 1)[1]
    found = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert found, "no ACL file under ## Broker ACLs in README.md"
    return found.group(1)


@dataclass
class AclMosquitto(MosquittoBroker):
    """Mosquitto with the README's ACL file (`acl_file`) besides its password file."""

    acl: str = ""

    def _write_config(self) -> Path:
        config = super()._write_config()
        acl_file = self.directory / "acl"
        acl_file.write_text(self.acl, encoding="utf-8")
        with config.open("a", encoding="utf-8") as file:
            file.write(f"acl_file {acl_file}\n")
        return config


def login(user: str) -> dict[str, str]:
    return {"username": user, "password": USERS[user]}


async def test_the_readme_acl_lets_only_trusted_users_command(
    tmp_path: Path, settings_for: SettingsFactory, handler: Handler
) -> None:
    """Under the README's ACL: Home Assistant receives discovery and availability, its `online`
    on homeassistant/status re-announces, and its `pause` is carried out and answered; a
    read-only user sees the answers and telemetry, but its own `pause` and a spoofed state
    never reach anyone."""
    require_mosquitto()
    broker = AclMosquitto(tmp_path, users=USERS, acl=readme_acl())
    settings = settings_for(broker, commands_enabled=True, **login("treadctl-gym1"))
    async with (
        broker,
        MqttRecorder(
            broker.host, broker.port, ("treadctl/#", "homeassistant/#"), **login("homeassistant")
        ) as ha,
        MqttRecorder(broker.host, broker.port, ("treadctl/#",), **login("watcher")) as watcher,
        MqttBridge(settings, [T1], handler) as bridge,
    ):
        await ha.wait_topic("homeassistant/device/treadctl_t1/config")
        await watcher.wait_topic("treadctl/t1/availability", payload=b"online")
        await watcher.publish("treadctl/t1/state", b'{"spoofed": true}')
        await watcher.publish("treadctl/t1/cmd/pause", b'{"request_id": "from-watcher"}')
        await ha.publish("treadctl/t1/cmd/pause", b'{"request_id": "from-ha"}')
        answer = await watcher.wait_topic("treadctl/t1/cmd/result")
        start = len(ha.messages)
        await ha.publish("homeassistant/status", b"online")
        await ha.wait_topic("homeassistant/device/treadctl_t1/config", start=start)
        bridge.publish_telemetry("t1", {"speed_kmh": 1.5, "direction": "backward"})
        await watcher.wait_topic("treadctl/t1/telemetry")
    assert answer.json()["request_id"] == "from-ha"
    assert answer.json()["ok"] is True
    assert handler.names() == ["pause"]
    assert not [m for m in ha.messages + watcher.messages if b"spoofed" in m.payload]
    assert not [m for m in ha.messages if b"from-watcher" in m.payload]
