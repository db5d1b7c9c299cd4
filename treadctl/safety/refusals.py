"""Refused setpoints: when a speed or incline the treadmill refused is tried again.

Owns: `Refusal` (what the governor decided about one refusal, for events and records) and
`retry_delay_s`, the rule. Result codes are FTMS v1.0 §4.16.2.22 Table 4.24; FTMP §4.7 asks a
client to tolerate 0x02–0x05 and keep working, not to repeat the request at once.
- 0x04 Operation Failed, 0x05 Control Not Permitted (the BLE layer has already asked for control
  again and retried once: asking again is its job, not the governor's) and no answer at all
  (write error, timeout): the treadmill could not do it *now*. Try later: after 2 s, 4 s, 8 s.
- 0x02 Op Code Not Supported, 0x03 Invalid Parameter and codes we do not know: the treadmill
  says it will not take this. One more try after 5 s, since devices misuse result codes
  (ref/ftms-quirks.md Q13, Q14), then no more.
- When the tries are used up, a rise (a faster belt, a steeper deck) is given up: the belt keeps
  what it has, which is less, until the goal changes. A fall is never given up (the belt is
  faster or steeper than wanted): it is tried again every 8 s.
- While the belt is ramped down to pause, stop or turn (an *ending*), it must end paused, and
  soon: someone may be walking backward on it. Nothing refused there is tried again. A refused
  incline is given up at once (the belt pauses with the deck it has; the next goal levels it),
  and the speed goes on falling. A refused speed gives the whole ramp-down up at once: the
  Pause (Stop at a workout's end) goes out from the speed the belt has as soon as the command
  spacing allows. Pausing is always the safe direction, and the belt's own deceleration is
  allowed for a pause or stop (DESIGN §2 rule 2).
A refused fall never holds back the other fall (`_core` sends it after that one).
"""

from __future__ import annotations

from dataclasses import dataclass

TRY_LATER_CODES = frozenset({0x04, 0x05})  # Operation Failed, Control Not Permitted
RETRY_LATER_S = (2.0, 4.0, 8.0)  # try later: 4 tries in all, over 14 s
RETRY_REFUSED_S = (5.0,)  # will not take it: 2 tries in all
RETRY_FALL_S = 8.0  # a fall is never given up: again this often once the tries are used


@dataclass(frozen=True)
class Refusal:
    """A refused `quantity` ("speed" km/h, "incline" %) setpoint `value` and what comes next.

    `attempt` counts the refusals of this value since it was last asked for; `retry_at_s` is
    when it is tried again, None when it is given up until the goal changes.
    """

    quantity: str
    value: float
    result_code: int | None
    attempt: int
    retry_at_s: float | None

    @property
    def given_up(self) -> bool:
        """No more tries until the goal changes (a new step, a person's request…)."""
        return self.retry_at_s is None

    def describe(self, now_s: float) -> dict[str, object]:
        """JSON-ready fields for the `command_rejected` event: the attempt, and when the next
        try comes (`retry_in_s`) or that none will (`given_up`)."""
        if self.retry_at_s is None:
            return {"attempt": self.attempt, "given_up": True}
        return {"attempt": self.attempt, "retry_in_s": round(self.retry_at_s - now_s, 3)}


def retry_delay_s(
    result_code: int | None, attempt: int, *, falling: bool, ending: bool
) -> float | None:
    """Seconds until refused try number `attempt` (from 1) of a speed or incline setpoint is
    made again; None: give up. `falling`: it would have lowered the speed or the deck;
    `ending`: the belt is being ramped down to pause, stop or turn (given up at once)."""
    if ending:
        return None
    try_later = result_code is None or result_code in TRY_LATER_CODES
    delays = RETRY_LATER_S if try_later else RETRY_REFUSED_S
    if attempt <= len(delays):
        return delays[attempt - 1]
    return RETRY_FALL_S if falling and not ending else None
