"""MQTT commands to treadmills: the daemon's `CommandHandler`.

Owns: routing each validated command to its treadmill's service and turning the outcome into a
`CommandResult`. Refusals come back as `TreadctlError`s, which the MQTT layer answers with their
message and structured detail (requested and allowed values of a cap).
"""

from __future__ import annotations

from collections.abc import Mapping

from treadctl import mqtt
from treadctl.daemon.treadmill import TreadmillService
from treadctl.errors import CommandError
from treadctl.logs import log_context
from treadctl.safety import Direction


class CommandRouter:
    """Hands each command to the service of its treadmill."""

    def __init__(self, services: Mapping[str, TreadmillService]) -> None:
        self._services = services

    async def __call__(self, treadmill_id: str, command: mqtt.Command) -> mqtt.CommandResult:
        """Carry out `command` on treadmill `treadmill_id`; raises `TreadctlError` to refuse."""
        service = self._services.get(treadmill_id)
        if service is None:
            raise CommandError(f"no treadmill {treadmill_id!r} here", where=treadmill_id)
        with log_context(**service.log_fields()):
            return await self._carry_out(service, command)

    async def _carry_out(
        self, service: TreadmillService, command: mqtt.Command
    ) -> mqtt.CommandResult:
        match command:
            case mqtt.EmergencyStopCommand():
                detail = await service.emergency_stop()
            case mqtt.StartCommand(workout=workout):
                detail = await service.start(workout)
            case mqtt.SetSpeedCommand(speed_kmh=speed_kmh, direction=direction):
                detail = await service.command(
                    "set_speed",
                    speed_kmh=speed_kmh,
                    direction=Direction(direction) if direction else None,
                )
            case mqtt.SetInclineCommand(incline_pct=incline_pct):
                detail = await service.command("set_incline", incline_pct=incline_pct)
            case mqtt.PauseCommand():
                detail = await service.command("pause")
            case mqtt.ResumeCommand():
                detail = await service.resume()
            case mqtt.StopCommand():
                detail = await service.command("stop")
            case mqtt.SkipCommand():
                detail = await service.command("skip")
            case _:
                raise CommandError(f"unsupported command {command!r}", where=service.id)
        return mqtt.CommandResult.accepted(**detail)
