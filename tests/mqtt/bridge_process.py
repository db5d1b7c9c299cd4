"""A bridge in its own process, for the last-will tests: the test kills it with SIGKILL.

Usage: python bridge_process.py HOST PORT PROTOCOL ID [ID...]
"""

from __future__ import annotations

import asyncio
import sys

from treadctl.mqtt import CommandResult, MqttBridge, MqttSettings, TreadmillInfo


async def _refuse(treadmill_id: str, command: object) -> CommandResult:
    return CommandResult.refused("this test process takes no commands")


async def main(host: str, port: int, protocol: str, ids: list[str]) -> None:
    settings = MqttSettings(host=host, port=port, protocol=protocol, client_id="treadctl-will")  # type: ignore[arg-type]
    async with MqttBridge(settings, [TreadmillInfo(i) for i in ids], _refuse):
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]))
