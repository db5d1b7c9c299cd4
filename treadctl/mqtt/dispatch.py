"""From a command message to the daemon's handler and back to an answer on `cmd/result`.

Owns: the command path of one treadmill. `receive()` is called for every message on
`<base>/<id>/cmd/+` and never awaits, so a flood of messages is parsed and sorted as fast as it
arrives and never holds up telemetry or the event loop:
- a retained message is never acted on (a stale retained `start` must not start a belt when the
  daemon restarts); it is answered "retained message ignored";
- with commands disabled every command is refused (emergency stop included: the bridge only
  obeys MQTT when the site has opted in);
- malformed payloads are refused with a reason naming the topic and field;
- `estop` goes to its own unbounded queue and its own task: it never waits behind other
  commands (nor behind one the handler is still carrying out) and its answer jumps the outbox;
- every other command waits in a bounded queue (`command_queue_size`); when it is full the
  command is refused at once ("busy") instead of piling up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from treadctl.errors import CommandError, TreadctlError
from treadctl.mqtt.commands import (
    Command,
    CommandHandler,
    CommandResult,
    EmergencyStopCommand,
    parse_command,
    result_from_error,
    result_payload,
)
from treadctl.mqtt.topics import Topics

log = structlog.get_logger("treadctl.mqtt")

# answer(payload, urgent) queues a JSON answer for `cmd/result`.
Answer = Callable[[dict[str, Any], bool], None]


class CommandDispatcher:
    """The command path of one treadmill (see the module docstring)."""

    def __init__(
        self,
        topics: Topics,
        handler: CommandHandler,
        answer: Answer,
        *,
        enabled: bool,
        queue_size: int,
    ) -> None:
        self._topics = topics
        self._handler = handler
        self._answer = answer
        self._enabled = enabled
        self._queue: asyncio.Queue[Command] = asyncio.Queue(maxsize=queue_size)
        self._estops: asyncio.Queue[Command] = asyncio.Queue()
        self._log = log.bind(treadmill=topics.treadmill_id)

    def receive(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """Sort one message from a command topic; answers refusals at once. Never raises."""
        name = self._topics.command_name(topic)
        if name is None or name == "result":
            return  # our own answers (3.1.1 echoes them back to us) or not a command topic
        if retain:
            self._refuse(name, topic, "retained message ignored: commands must not be retained")
            return
        if not self._enabled:
            self._refuse(name, topic, "commands are disabled (mqtt.commands_enabled = false)")
            return
        try:
            command = parse_command(name, payload, topic=topic)
        except CommandError as exc:
            self._refuse(name, topic, str(exc), where=exc.where)
            return
        if isinstance(command, EmergencyStopCommand):
            self._log.warning("mqtt_estop_received")
            self._estops.put_nowait(command)
            return
        try:
            self._queue.put_nowait(command)
        except asyncio.QueueFull:
            self._refuse(
                name,
                topic,
                f"busy: {self._queue.maxsize} commands are already waiting",
                request_id=command.request_id,
            )

    async def run_commands(self) -> None:
        """Carry out queued commands one at a time, forever."""
        while True:
            command = await self._queue.get()
            await self._carry_out(command, urgent=False)

    async def run_estops(self) -> None:
        """Carry out emergency stops, forever, independently of `run_commands`."""
        while True:
            command = await self._estops.get()
            await self._carry_out(command, urgent=True)

    async def _carry_out(self, command: Command, *, urgent: bool) -> None:
        treadmill_id = self._topics.treadmill_id
        outcome: object
        try:
            outcome = await self._handler(treadmill_id, command)
        except TreadctlError as exc:
            outcome = result_from_error(exc)
        except Exception:  # the handler's bug must not take the bridge down
            self._log.exception("mqtt_command_handler_failed", command=command.name)
            outcome = CommandResult.refused("internal error while carrying out the command")
        result = _checked(outcome)
        if result is None:
            self._log.error("mqtt_command_handler_bad_result", command=command.name)
            result = CommandResult.refused("internal error: the handler gave no result")
        self._log.info(
            "mqtt_command_done", command=command.name, ok=result.ok, reason=result.reason
        )
        payload = result_payload(treadmill_id, command.name, result, command.request_id)
        self._answer(payload, urgent)

    def _refuse(
        self,
        name: str,
        topic: str,
        reason: str,
        *,
        where: str | None = None,
        request_id: str | None = None,
    ) -> None:
        detail: dict[str, Any] = {"topic": topic}
        if where is not None:
            detail["where"] = where
        self._log.info("mqtt_command_refused", command=name, reason=reason)
        result = CommandResult.refused(reason, **detail)
        payload = result_payload(self._topics.treadmill_id, name, result, request_id)
        # Refusals go to the bounded answer queue, estop's too: only an estop actually carried
        # out jumps the queue, so a flood of bad messages cannot grow the urgent queue.
        self._answer(payload, False)


def _checked(outcome: object) -> CommandResult | None:
    """The handler's result, or None when a buggy handler returned something else."""
    return outcome if isinstance(outcome, CommandResult) else None
