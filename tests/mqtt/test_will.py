"""The last will: killing the daemon's process (no DISCONNECT sent) marks every one of its
treadmills `offline`, retained, on amqtt and on mosquitto."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from testsupport.brokers import AmqttBroker, MosquittoBroker
from testsupport.mqtt_recorder import MqttRecorder

pytestmark = pytest.mark.timeout(60)

SCRIPT = Path(__file__).with_name("bridge_process.py")


@asynccontextmanager
async def bridge_process(
    host: str, port: int, protocol: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        host,
        str(port),
        protocol,
        "t1",
        "t2",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def kill_and_expect_will(broker: AmqttBroker | MosquittoBroker, protocol: str) -> None:
    async with (
        MqttRecorder(broker.host, broker.port, ("treadctl/+/availability",)) as rec,
        bridge_process(broker.host, broker.port, protocol) as process,
    ):
        await rec.wait_topic("treadctl/t1/availability", payload=b"online")
        await rec.wait_topic("treadctl/t2/availability", payload=b"online")
        start = len(rec.messages)
        process.kill()  # SIGKILL: the socket closes without an MQTT DISCONNECT
        await process.wait()
        await rec.wait_topic("treadctl/t1/availability", payload=b"offline", start=start)
        await rec.wait_topic("treadctl/t2/availability", payload=b"offline", start=start)
    async with MqttRecorder(broker.host, broker.port, ("treadctl/+/availability",)) as late:
        retained = await late.wait_count(
            lambda m: m.retain and m.topic.endswith("/availability"), 2
        )
    assert sorted((m.topic, m.payload) for m in retained) == [
        ("treadctl/t1/availability", b"offline"),
        ("treadctl/t2/availability", b"offline"),
    ]


async def test_killed_process_fires_the_will_of_every_treadmill_on_amqtt(
    amqtt_broker: AmqttBroker,
) -> None:
    """amqtt: SIGKILL of the bridge process publishes `offline` (retained) for t1 and t2."""
    await kill_and_expect_will(amqtt_broker, "3.1.1")


@pytest.mark.mosquitto
@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_killed_process_fires_the_will_of_every_treadmill_on_mosquitto(
    tmp_path: Path, protocol: str
) -> None:
    """mosquitto, MQTT 3.1.1 and 5: SIGKILL of the bridge process publishes `offline`."""
    async with MosquittoBroker(tmp_path) as broker:
        await kill_and_expect_will(broker, protocol)
