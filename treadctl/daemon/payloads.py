"""What the daemon publishes: telemetry, state and event payloads as JSON-ready dicts.

Owns: the mapping from a Treadmill Data record and a workout's progress to the MQTT payload
keys (units in the names, DESIGN §7). Pure.
"""

from __future__ import annotations

from typing import Any

from treadctl import ftms

# Progress keys copied into telemetry when a session runs.
_PROGRESS_KEYS = (
    "target_speed_kmh",
    "target_incline_pct",
    "step_time_left_s",
    "next_turn_in_s",
    "auto_resume_in_s",
    "progress_pct",
    "workout",
    "step",
    "step_index",
)


def telemetry_payload(
    record: ftms.TreadmillData, progress: dict[str, Any] | None, direction: str | None
) -> dict[str, Any]:
    """One telemetry sample: the treadmill's own figures plus, in a session, its targets."""
    payload: dict[str, Any] = {
        "speed_kmh": record.speed_kmh,
        "incline_pct": record.inclination_pct,
        "distance_m": record.total_distance_m,
        "elapsed_s": record.elapsed_time_s,
        "remaining_s": record.remaining_time_s,
        "heart_rate_bpm": record.heart_rate_bpm,
        "energy_kcal": record.total_energy_kcal,
        "steps": record.step_count,
        "direction": direction,
    }
    if progress is not None:
        payload.update({key: progress.get(key) for key in _PROGRESS_KEYS})
        if progress.get("remaining_s") is not None:
            payload["remaining_s"] = progress["remaining_s"]
        payload["state"] = progress.get("state")
    return payload


def state_payload(
    status: str,
    progress: dict[str, Any] | None,
    *,
    session_id: str | None,
    resumable: str | None,
    profile: str | None,
    address: str | None,
) -> dict[str, Any]:
    """The retained state: what the treadmill and its workout are doing."""
    progress = progress or {}
    return {
        "status": status,
        "workout": progress.get("workout"),
        "step": progress.get("step"),
        "step_index": progress.get("step_index"),
        "direction": progress.get("direction"),
        "target_speed_kmh": progress.get("target_speed_kmh"),
        "target_incline_pct": progress.get("target_incline_pct"),
        "latched": progress.get("latched", False),
        "reason": progress.get("reason"),
        "session_id": session_id,
        "resumable_session": resumable,
        "profile": profile,
        "address": address,
    }
