"""The demo's live terminal view of one treadmill.

Owns: rendering what the daemon publishes (telemetry, state, events) as a small dashboard —
step, direction, target and actual speed, time left in the step and in total, the next turn,
a progress bar — redrawn in place on a terminal, or as plain lines when output is not a
terminal. It is a `Publisher`, so it sees exactly what MQTT subscribers see.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

BAR_WIDTH = 30
REDRAW_EVERY_S = 0.1  # a terminal redraw at most ten times a second, whatever the speed-up
_ARROWS = {"forward": "→ forward", "backward": "← BACKWARD"}
_EVENT_TEXT = {
    "step_started": "step {step}: {name} — {direction} at {speed_kmh} km/h",
    "turn_around": "TURN AROUND — belt pauses; next: {to_direction} at {speed_kmh} km/h",
    "speed_rise_announced": "speed rises to {speed_kmh} km/h in {in_s:.0f} s",
    "speed_rise_after_turn": "after the turn the speed rises to {speed_kmh} km/h",
    "session_summary": "session {session_id}: {state}, {distance_m} m",
    "workout_finished": "workout finished",
    "safety_stop": "SAFETY STOP ({reason})",
    "paused": "paused ({reason})",
    "resumed": "resumed ({by})",
    "drift": "belt not following: commanded {commanded_kmh}, reported {reported_kmh} km/h",
    "link_lost": "Bluetooth link lost — workout paused",
    "link_restored": "Bluetooth link back",
}


def clock_text(seconds: float | None) -> str:
    """`mm:ss` (or `--:--` when unknown)."""
    if seconds is None:
        return "--:--"
    whole = max(0, round(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A progress bar of `width` cells."""
    filled = round(width * min(1.0, max(0.0, fraction or 0.0)))
    return "█" * filled + "░" * (width - filled)


def event_text(payload: dict[str, Any]) -> str:
    """One line for an event payload."""
    kind = str(payload.get("event", "event"))
    if kind == "speed_rise_announced" and payload.get("in_s") is None:
        kind = "speed_rise_after_turn"  # it comes once the belt resumes: no time to give
    template = _EVENT_TEXT.get(kind)
    if template is not None:
        try:
            return template.format_map(payload)
        except (KeyError, ValueError, TypeError):
            pass
    details = ", ".join(f"{k}={v}" for k, v in payload.items() if k not in ("event", "t_s"))
    return f"{kind} ({details})" if details else kind


def render(telemetry: dict[str, Any], state: dict[str, Any]) -> list[str]:
    """The dashboard's lines for the latest telemetry and state."""
    t, s = telemetry, state
    direction = str(t.get("direction") or s.get("direction") or "")
    step = t.get("step") or s.get("step") or "—"
    index = t.get("step_index") or s.get("step_index")
    status = str(t.get("state") or s.get("status") or "")
    target = t.get("target_speed_kmh")
    actual = t.get("speed_kmh")
    turn = t.get("next_turn_in_s")
    auto = t.get("auto_resume_in_s")
    progress_pct = t.get("progress_pct")
    return [
        f" Step {index if index is not None else '-'}: {step:<28} {_ARROWS.get(direction, '')}",
        f" Target {_num(target)} km/h   Actual {_num(actual)} km/h   "
        f"Incline {_num(t.get('incline_pct'))} %   [{status}]",
        f" Step left {clock_text(t.get('step_time_left_s'))}   "
        f"Total left {clock_text(t.get('remaining_s'))}   "
        + (
            f"Resuming in {clock_text(auto)}"
            if auto is not None
            else f"Next turn in {clock_text(turn)}"
            if turn is not None
            else "No more turns"
        ),
        f" [{bar((progress_pct or 0) / 100)}] {_num(progress_pct, 0)} %",
    ]


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value):.{digits}f}"


class LiveView:
    """Draws one treadmill's dashboard on `stream` (stdout)."""

    def __init__(self, stream: TextIO | None = None, *, redraw: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.redraw = self.stream.isatty() if redraw is None else redraw
        self.telemetry: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self._drawn = 0
        self._drawn_at_s = -1.0
        self._last_plain_step: object = None

    # Publisher ------------------------------------------------------------------------------

    def publish_telemetry(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Keep the newest sample and redraw (throttled)."""
        self.telemetry = payload
        if time.monotonic() - self._drawn_at_s >= REDRAW_EVERY_S:
            self._draw()

    def publish_state(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Keep the newest state."""
        self.state = payload

    def publish_event(self, treadmill_id: str, payload: dict[str, Any]) -> None:
        """Print the event above the dashboard."""
        self.events.append(payload)
        self._write_above(f"  {clock_text(payload.get('t_s'))}  {event_text(payload)}")

    def set_link(self, treadmill_id: str, connected: bool) -> None:
        """Note the link change."""
        self._write_above("  Bluetooth link " + ("up" if connected else "down"))

    # drawing --------------------------------------------------------------------------------

    def say(self, line: str) -> None:
        """Print a line of text above the dashboard."""
        self._write_above(line)

    def close(self) -> None:
        """Leave the last dashboard on screen and move below it."""
        self._drawn = 0

    def _write_above(self, line: str) -> None:
        self._erase()
        self.stream.write(line + "\n")
        self._draw()

    def _erase(self) -> None:
        if self.redraw and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        if not self.telemetry:
            self.stream.flush()
            return
        lines = render(self.telemetry, self.state)
        self._drawn_at_s = time.monotonic()
        if self.redraw:
            self._erase()
            self.stream.write("\n".join(lines) + "\n")
            self._drawn = len(lines)
        else:  # not a terminal: one line per step change is plenty
            step = (self.telemetry.get("step_index"), self.telemetry.get("state"))
            if step != self._last_plain_step:
                self._last_plain_step = step
                self.stream.write(" |".join(line.strip() for line in lines[:2]) + "\n")
        self.stream.flush()
