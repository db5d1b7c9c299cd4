"""Merging Treadmill Data fragments (More Data) into whole records.

Owns: `TreadmillDataAssembler`, the collector side of FTMS v1.0 §4.19 / FTMP §4.4.2: every
notification with More Data = 1 is a fragment; the next one with More Data = 0 completes the
record. A partial record is dropped on `reset()` (link lost: it is never re-sent, §4.18).
"""

from __future__ import annotations

from typing import Any

from treadctl.ftms.treadmill_data import VALUE_FIELDS, TreadmillData, decode_treadmill_data

_new = object.__new__
_set = object.__setattr__


def _merge(old: TreadmillData, new: TreadmillData) -> TreadmillData:
    """`new` over `old`: a field set (or unavailable) in `new` wins; the rest comes from `old`."""
    merged: dict[str, Any] = dict(vars(old))
    for name in VALUE_FIELDS:
        value = getattr(new, name)
        if value is not None or name in new.unavailable:
            merged[name] = value
    merged["unavailable"] = frozenset(
        n for n in old.unavailable | new.unavailable if merged[n] is None
    )
    merged["more_data"] = new.more_data
    merged["truncated"] = old.truncated or new.truncated
    instance = _new(TreadmillData)
    _set(instance, "__dict__", merged)
    return instance


class TreadmillDataAssembler:
    """Feed it every Treadmill Data notification; it returns whole records.

    `step_count_ext` is passed to `decode_treadmill_data` (vendor bit-13 step count, Q1).
    """

    def __init__(self, step_count_ext: bool = False) -> None:
        self._step_count_ext = step_count_ext
        self._partial: TreadmillData | None = None

    @property
    def pending(self) -> bool:
        """True while fragments of an incomplete record are held."""
        return self._partial is not None

    def feed(self, data: bytes) -> TreadmillData | None:
        """Decode one notification; return the completed record, or None while one is open.

        The returned record has `more_data=False`; `truncated` is True when any fragment was.
        Raises `FTMSDecodeError` for a notification that cannot be decoded at all; a partial
        record held at that point is kept.
        """
        record = decode_treadmill_data(data, step_count_ext=self._step_count_ext)
        partial = self._partial
        if partial is None and not record.more_data:
            return record
        merged = record if partial is None else _merge(partial, record)
        if merged.more_data:
            self._partial = merged
            return None
        self._partial = None
        return merged

    def reset(self) -> None:
        """Drop a partial record (disconnect or reconnect: FTMS v1.0 §4.18)."""
        self._partial = None
