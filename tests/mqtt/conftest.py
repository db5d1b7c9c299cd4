"""Fixtures of the MQTT tests: a fresh amqtt broker per test, the command handler, the
reconnect gate, and the settings factory (see `support.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mqtt.support import Handler, ReconnectGate, SettingsFactory, settings_for
from testsupport.brokers import AmqttBroker


@pytest.fixture
async def amqtt_broker() -> AsyncIterator[AmqttBroker]:
    async with AmqttBroker() as broker:
        yield broker


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def gate() -> ReconnectGate:
    return ReconnectGate()


@pytest.fixture(name="settings_for")
def settings_factory() -> SettingsFactory:
    """`settings_for(broker, **overrides)`."""
    return settings_for
