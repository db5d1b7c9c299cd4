"""Helpers of the governor's scenario tests: a treadmill pad, and a governor driven at its
own wake times.

Owns: `PAD` (the device ranges of the scenarios), `show` (a command as text), `run` (every
command due up to a time), `walking` and `inclined` (a belt started and ramped to a speed, and
a deck), `refusing`, `speeds_refused` and `refusing_every` (a treadmill that refuses some
commands, and the `Refusal` each one got).
"""

from __future__ import annotations

from collections.abc import Callable

from testsupport.devices import DRY_RUN_DEVICE

from treadctl.safety import (
    BeltCommand,
    Direction,
    Governor,
    InclineCommand,
    Limits,
    Refusal,
    SpeedCommand,
    StartCommand,
    TurnSettings,
)

PAD = DRY_RUN_DEVICE  # 1.0-12.0 km/h in 0.1, incline 0-12 % in 0.5, commands 0.5 s apart


def show(command: BeltCommand) -> str:
    if isinstance(command, SpeedCommand):
        return f"speed {command.speed_kmh:g}"
    if isinstance(command, InclineCommand):
        return f"incline {command.incline_pct:g}"
    if isinstance(command, StartCommand):
        return "start"
    return "estop" if command.emergency else "pause" if command.pause else "stop"


def run(governor: Governor, start_s: float, until_s: float) -> list[tuple[float, str]]:
    """Ask for commands at every wake time up to `until_s`; (time rounded to ms, command)."""
    return [(at, text) for at, text, _ in _drive(governor, start_s, until_s, lambda _: None)]


def _drive(
    governor: Governor,
    start_s: float,
    until_s: float,
    refuse: Callable[[BeltCommand], tuple[int | None] | None],
) -> list[tuple[float, str, Refusal | None]]:
    """Ask for commands at every wake time up to `until_s`; `refuse(command)` is None when the
    treadmill takes it, else (the result code,) it is refused with (None: no answer), reported
    with `command_failed`. (time rounded to ms, command, the refusal)."""
    sent: list[tuple[float, str, Refusal | None]] = []
    now_s = start_s
    for _ in range(1000):
        wake = governor.wake_at_s()
        if wake is None or wake > until_s:
            break
        now_s = max(now_s, wake)
        command = governor.next_command(now_s)
        if command is None:
            continue
        answer = refuse(command)
        refusal = None
        if answer is not None:
            refusal = governor.command_failed(command, now_s, result_code=answer[0])
        sent.append((round(now_s, 3), show(command), refusal))
    return sent


def walking(speed_kmh: float = 3.0, *, direction: Direction = Direction.BACKWARD) -> Governor:
    """A governor whose belt has been started and ramped to `speed_kmh`."""
    governor = Governor(Limits(), PAD, TurnSettings(), direction=direction)
    governor.set_speed(speed_kmh, 0.0)
    governor.start(0.0)
    run(governor, 0.0, 100.0)
    governor.take_announcements()
    assert governor.commanded_speed_kmh == speed_kmh
    return governor


def refusing(
    governor: Governor, start_s: float, until_s: float, result: Callable[[BeltCommand], int | None]
) -> list[tuple[float, str, Refusal | None]]:
    """Like `run`, but the treadmill answers each command with `result(command)` (None:
    Success); a refusal is reported with `command_failed`. (time, command, the refusal)."""

    def refuse(command: BeltCommand) -> tuple[int | None] | None:
        code = result(command)
        return None if code is None else (code,)

    return _drive(governor, start_s, until_s, refuse)


def speeds_refused(code: int) -> Callable[[BeltCommand], int | None]:
    """A treadmill that answers every Set Target Speed with `code`."""
    return lambda command: code if isinstance(command, SpeedCommand) else None


def refusing_every(
    kind: type[BeltCommand], code: int | None, governor: Governor, start_s: float, until_s: float
) -> list[tuple[float, str, Refusal | None]]:
    """Like `refusing`, but every command of `kind` is refused with `code` (None: it was never
    answered) and every other is taken. (time, command, the refusal)."""
    return _drive(governor, start_s, until_s, lambda c: (code,) if isinstance(c, kind) else None)


def inclined(incline_pct: float = 1.0) -> Governor:
    """Walking backward at 3.0 km/h with the deck at `incline_pct` (both taken)."""
    governor = walking(3.0)
    governor.set_incline(incline_pct, 100.0)
    run(governor, 100.0, 105.0)
    assert governor.commanded_incline_pct == incline_pct
    return governor
