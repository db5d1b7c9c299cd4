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
  faster or steeper than wanted): it is tried again every 8 s — except a drop to a cap, below.
- While the belt is ramped down to pause, stop or turn (an *ending*), it must end paused, and
  soon: someone may be walking backward on it. Nothing refused there is tried again. A refused
  incline is given up at once (the belt pauses with the deck it has; the next goal levels it),
  and the speed goes on falling. A refused speed gives the whole ramp-down up at once: the
  Pause (Stop at a workout's end) goes out from the speed the belt has as soon as the command
  spacing allows. Pausing is always the safe direction, and the belt's own deceleration is
  allowed for a pause or stop (DESIGN §2 rule 2).
- A refused drop to a cap (a speed or deck above a lowered cap, or a belt found faster,
  brought down to the cap in one command: DESIGN §2 rule 1) would leave the belt breaking the
  cap, so it is not tried every 8 s. A refused speed there gives the drop up at once (any
  code, or no answer), and the belt is paused from the speed it has as soon as the command
  spacing allows (stopped at a workout's end or where the device has no Pause). A refused
  incline there gets the tries above (the belt's speed is not at stake; it does not rise
  meanwhile), then it is given up and the belt is paused the gentle way (ramped down, then
  Pause): walking backward on a deck above the cap is what the cap forbids. In an ending it is
  given up at once, as any incline there, and a moving turn pauses the belt instead of holding
  it at the turn speed. Either `Refusal` names the reason (`safety_stop`: `speed_above_cap`,
  `incline_above_cap`), which the runner publishes as a `safety_stop` event; a person's resume
  tries the drop again.
A refused fall never holds back the other fall (`_moves` sends it after that one).
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
    when it is tried again, None when it is given up until the goal changes. `safety_stop`
    names why the governor pauses the belt because of this refusal (a drop to a cap given up:
    `speed_above_cap` or `incline_above_cap`), None when it does not.
    """

    quantity: str
    value: float
    result_code: int | None
    attempt: int
    retry_at_s: float | None
    safety_stop: str | None = None

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
    result_code: int | None,
    attempt: int,
    *,
    quantity: str,
    falling: bool,
    ending: bool,
    to_cap: bool = False,
) -> float | None:
    """Seconds until refused try number `attempt` (from 1) of a `quantity` ("speed" or
    "incline") setpoint is made again; None: give up. `falling`: it would have lowered the
    speed or the deck; `ending`: the belt is being ramped down to pause, stop or turn (given up
    at once); `to_cap`: it would have brought a value above its cap down to the cap (a speed is
    given up at once, an incline after the tries; the governor then pauses the belt)."""
    if ending or (to_cap and quantity == "speed"):
        return None
    try_later = result_code is None or result_code in TRY_LATER_CODES
    delays = RETRY_LATER_S if try_later else RETRY_REFUSED_S
    if attempt <= len(delays):
        return delays[attempt - 1]
    return RETRY_FALL_S if falling and not to_cap else None
