"""Helpers of the governor's scenario tests: a treadmill pad, and a governor driven at its
own wake times.

Owns: `PAD` (the device ranges of the scenarios), `show` (a command as text), `run` (every
command due up to a time), `walking` and `inclined` (a belt started and ramped to a speed, and
a deck), `refusing`, `speeds_refused` and `refusing_every` (a treadmill that refuses some
commands, and the `Refusal` each one got).
"""

from __future__ import annotations

from collections.abc import Callable

from treadctl.safety import (
    BeltCommand,
    DeviceCaps,
    Direction,
    Governor,
    InclineCommand,
    Limits,
    Refusal,
    SpeedCommand,
    StartCommand,
    TurnSettings,
)

PAD = DeviceCaps(
    min_speed_kmh=1.0,
    max_speed_kmh=12.0,
    speed_increment_kmh=0.1,
    min_incline_pct=0.0,
    max_incline_pct=12.0,
    incline_increment_pct=0.5,
    min_command_interval_s=0.5,
)


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
    sent: list[tuple[float, str]] = []
    now_s = start_s
    for _ in range(1000):
        wake = governor.wake_at_s()
        if wake is None or wake > until_s:
            break
        now_s = max(now_s, wake)
        command = governor.next_command(now_s)
        if command is not None:
            sent.append((round(now_s, 3), show(command)))
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
        code = result(command)
        refusal = None
        if code is not None:
            refusal = governor.command_failed(command, now_s, result_code=code)
        sent.append((round(now_s, 3), show(command), refusal))
    return sent


def speeds_refused(code: int) -> Callable[[BeltCommand], int | None]:
    """A treadmill that answers every Set Target Speed with `code`."""
    return lambda command: code if isinstance(command, SpeedCommand) else None


def refusing_every(
    kind: type[BeltCommand], code: int | None, governor: Governor, start_s: float, until_s: float
) -> list[tuple[float, str, Refusal | None]]:
    """Like `refusing`, but every command of `kind` is refused with `code` (None: it was never
    answered) and every other is taken. (time, command, the refusal)."""
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
        refusal = None
        if isinstance(command, kind):
            refusal = governor.command_failed(command, now_s, result_code=code)
        sent.append((round(now_s, 3), show(command), refusal))
    return sent


def inclined(incline_pct: float = 1.0) -> Governor:
    """Walking backward at 3.0 km/h with the deck at `incline_pct` (both taken)."""
    governor = walking(3.0)
    governor.set_incline(incline_pct, 100.0)
    run(governor, 100.0, 105.0)
    assert governor.commanded_incline_pct == incline_pct
    return governor
