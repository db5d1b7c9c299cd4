"""Commands arriving on `<base>/<id>/cmd/<name>`: their models, parsing, and their answers.

Owns: one frozen pydantic model per command, `parse_command()` (bytes in, a command out or a
`CommandError` naming the topic and field), `CommandResult`, the `CommandHandler` protocol the
daemon implements, and the JSON answer published on `cmd/result`. Pure: no I/O, no clock.

There is deliberately no command that touches a cap: `set_speed` and `set_incline` ask for a
setpoint, which the governor clips or refuses against the caps of the local config. Numbers must
be finite JSON numbers (not strings, not booleans); unknown fields are refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from treadctl.errors import CommandError, InputError, LimitExceededError, SafetyError, TreadctlError

MAX_PAYLOAD_BYTES = 4096


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: ClassVar[str]
    # Echoed in the answer so a client can match answers to requests.
    request_id: str | None = Field(default=None, max_length=64)


class StartCommand(_Command):
    """Start the named workout (a person asks: the only way a belt starts)."""

    name: ClassVar[str] = "start"
    workout: str = Field(min_length=1, max_length=200)


class PauseCommand(_Command):
    """Ramp the belt down and pause the workout."""

    name: ClassVar[str] = "pause"


class ResumeCommand(_Command):
    """Resume a paused workout (also confirms a turn)."""

    name: ClassVar[str] = "resume"


class StopCommand(_Command):
    """End the workout: ramp down and stop."""

    name: ClassVar[str] = "stop"


class EmergencyStopCommand(_Command):
    """Stop the belt now; jumps every queue in the bridge."""

    name: ClassVar[str] = "estop"


class SkipCommand(_Command):
    """Skip to the next step of the workout (still through the governor's ramps and turns)."""

    name: ClassVar[str] = "skip"


class SetSpeedCommand(_Command):
    """Manual mode: ask for a belt speed in km/h (the governor caps and ramps it)."""

    name: ClassVar[str] = "set_speed"
    speed_kmh: float = Field(ge=0, le=100, allow_inf_nan=False)
    direction: Literal["forward", "backward"] | None = None


class SetInclineCommand(_Command):
    """Manual mode: ask for an incline in percent (the governor caps it)."""

    name: ClassVar[str] = "set_incline"
    incline_pct: float = Field(ge=-100, le=100, allow_inf_nan=False)


Command = (
    StartCommand
    | PauseCommand
    | ResumeCommand
    | StopCommand
    | EmergencyStopCommand
    | SkipCommand
    | SetSpeedCommand
    | SetInclineCommand
)

COMMANDS: dict[str, type[Command]] = {
    model.name: model
    for model in (
        StartCommand,
        PauseCommand,
        ResumeCommand,
        StopCommand,
        EmergencyStopCommand,
        SkipCommand,
        SetSpeedCommand,
        SetInclineCommand,
    )
}


@dataclass(frozen=True)
class CommandResult:
    """The answer to one command: `ok`, a human-readable `reason` when refused, and `detail`
    (JSON-ready: requested and allowed values, the field that was wrong, …)."""

    ok: bool
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def accepted(cls, **detail: Any) -> CommandResult:
        """Carried out; `detail` says what was set (JSON-ready values)."""
        return cls(True, None, dict(detail))

    @classmethod
    def refused(cls, reason: str, **detail: Any) -> CommandResult:
        """Not carried out, because of `reason` (a sentence a person can act on)."""
        return cls(False, reason, dict(detail))


class CommandHandler(Protocol):
    """What the daemon implements: carry out one command for one treadmill.

    May be called for `estop` while another command of the same treadmill is still awaited
    (the emergency stop does not wait behind it). Raising a `TreadctlError` is a refusal whose
    reason is the error's message; any other exception is a refusal "internal error" (logged).
    """

    async def __call__(self, treadmill_id: str, command: Command) -> CommandResult: ...


def parse_command(name: str, payload: bytes, *, topic: str) -> Command:
    """The command `name` with its JSON `payload` (empty means `{}`).

    Raises `CommandError` whose `where` is the topic (and the field, for schema errors).
    """
    model = COMMANDS.get(name)
    if model is None:
        known = ", ".join(sorted(COMMANDS))
        raise CommandError(f"unknown command {name!r} (known: {known})", where=topic)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise CommandError(
            f"payload of {len(payload)} bytes is larger than {MAX_PAYLOAD_BYTES}", where=topic
        )
    document = _json_object(payload, topic)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "payload"
        raise CommandError(first["msg"], where=f"{topic} field {loc!r}") from None


def _json_object(payload: bytes, topic: str) -> dict[str, Any]:
    if not payload.strip():
        return {}
    try:
        document = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise CommandError("payload is not UTF-8 text", where=topic) from None
    except (ValueError, RecursionError) as exc:
        raise CommandError(f"payload is not valid JSON ({exc})", where=topic) from None
    if not isinstance(document, dict):
        raise CommandError(
            f"payload must be a JSON object, got {type(document).__name__}", where=topic
        )
    return document


def result_from_error(exc: TreadctlError) -> CommandResult:
    """A refusal carrying what the error knows (requested/allowed values, where, code)."""
    detail: dict[str, Any] = {"error": type(exc).__name__}
    if isinstance(exc, SafetyError):
        detail["code"] = exc.reason
    if isinstance(exc, LimitExceededError):
        detail.update(requested=exc.requested, allowed=exc.allowed, unit=exc.unit)
    if isinstance(exc, InputError) and exc.where:
        detail["where"] = exc.where
    return CommandResult(False, str(exc), detail)


def result_payload(
    treadmill_id: str, command: str, result: CommandResult, request_id: str | None = None
) -> dict[str, Any]:
    """The JSON answer on `cmd/result`."""
    payload: dict[str, Any] = {
        "treadmill_id": treadmill_id,
        "command": command,
        "ok": result.ok,
        "reason": result.reason,
        "detail": result.detail,
    }
    if request_id is not None:
        payload["request_id"] = request_id
    return payload
