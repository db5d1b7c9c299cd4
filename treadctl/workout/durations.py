"""Durations as people write them in workout files: "90s", "2m", "1m30s", "1h", "2:30", 90.

Owns: `parse_duration` (seconds, or `ValueError` with a message that says what is allowed) and
`format_duration` (for tables).
"""

from __future__ import annotations

import math
import re

_UNITS = re.compile(
    r"^\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m(?:in)?)?"
    r"\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?\s*$"
)
_CLOCK = re.compile(r"^\s*(?P<m>\d+):(?P<s>[0-5]\d)\s*$")
ALLOWED = 'a duration such as "90s", "2m", "1m30s", "2:30" or a number of seconds'


def parse_duration(value: object) -> float:
    """Seconds in `value`; raises `ValueError` naming what is allowed."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; expected {ALLOWED}")  # noqa: TRY004 - pydantic reports ValueError
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"{value!r} is not a duration; expected {ALLOWED}")  # noqa: TRY004 - pydantic reports ValueError
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite duration; expected {ALLOWED}")
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration; expected {ALLOWED}")
    return seconds


def _parse_text(text: str) -> float:
    clock = _CLOCK.match(text)
    if clock:
        return int(clock["m"]) * 60.0 + int(clock["s"])
    found = _UNITS.match(text)
    if not found or not any(found.group(unit) for unit in "hms"):
        raise ValueError(f"{text!r} is not a duration; expected {ALLOWED}")
    hours, minutes, seconds = (float(found.group(unit) or 0) for unit in "hms")
    return hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: float) -> str:
    """`seconds` as m:ss (or h:mm:ss), rounded to the second."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
