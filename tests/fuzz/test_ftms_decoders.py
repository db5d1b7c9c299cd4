"""Every FTMS decoder fuzzed, and the daemon's own notification path.

`tests/ftms/` fuzzes Treadmill Data (random and mutated real frames), the control point, the
statuses and the fixed-size characteristics with random octets. This module fills the gaps:
a guard that every `ftms.decode_*` is fuzzed (a decoder added later fails it until it has a
real frame here), mutated real frames for every decoder (not only Treadmill Data), and the BLE
layer's `NotificationDecoder` — what the daemon runs on every notification, with each shipped
quirk profile's unit conversions — fed random and mutated frames of every kind: it must never
raise (a notification comes from the peer), and whatever it passes on is finite.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from treadctl import ftms
from treadctl.ble.notifications import NotificationDecoder
from treadctl.ble.quirks import load_profiles
from treadctl.ble.tracking import EchoFilter

DECODERS: dict[str, Callable[..., Any]] = {
    name: getattr(ftms, name) for name in ftms.__all__ if name.startswith("decode_")
}
# One or more real frames per decoder (hex, source); see the vector tables in tests/ftms/.
REAL_FRAMES: dict[str, list[tuple[str, str]]] = {
    "decode_treadmill_data": [
        ("8424aa002100000100ffffff3c00420000", "CITYSPORTS JG-0x22 btsnoop; hughesjs"),
        ("0424c80028000048006400", "KingSmith KS-HD-Z1D layout; slandau3/z1-walkingpad-mcp"),
        ("9c25" + "00" * 24, "UREVO, hassio-ftms issue 3"),
    ],
    "decode_control_point_request": [
        ("029001", "KingSmith KS-MC21 btsnoop; mcdax/walkingpad-controller"),
        ("0801", "CITYSPORTS-Linker btsnoop; hughesjs/FitnessMachine"),
        ("03f1ff", "FTMS v1.0 Table 4.15: s16, 0.1 % (constructed)"),
    ],
    "decode_control_point_response": [
        ("800004", "KingSmith KS-MC21 btsnoop (Q14); mcdax/walkingpad-controller"),
        ("800801", "CITYSPORTS-Linker btsnoop (Q11); hughesjs/FitnessMachine"),
    ],
    "decode_fitness_machine_feature": [
        ("4412000001000000", "CITYSPORTS-Linker features (Q8); hughesjs/FitnessMachine"),
    ],
    "decode_speed_range": [
        ("3c007c010a00", "FITSHOW FS-BT-T4 (Q4); justintout/treadmill README"),
        ("a00080020a00", "KingSmith KS-HD-Z1D; slandau3/z1-walkingpad-mcp"),
    ],
    "decode_inclination_range": [("e2ff96000500", "ref/ftms-spec.md §5, decline (constructed)")],
    "decode_resistance_level_range": [("0a00c8000a00", "ref/ftms-spec.md §5 (constructed)")],
    "decode_power_range": [("000000000000", "KingSmith zeros; mcdax/walkingpad-controller")],
    "decode_heart_rate_range": [("28dc01", "ref/ftms-spec.md §5 (constructed)")],
    "decode_service_data": [("010100", "FTMS v1.0 §3.1 service data, treadmill available")],
    "decode_machine_status": [
        ("040000", "CITYSPORTS CS-WP8 nRF log, padded (Q6); hughesjs"),
        ("052c01", "CITYSPORTS CS-WP8 nRF log, target speed 3.0; hughesjs"),
        ("ff", "FTMS v1.0 Table 4.27, control permission lost"),
    ],
    "decode_training_status": [
        ("0101", "CITYSPORTS and FS-6041F1, empty string (Q7)"),
        ("0000", "Reebok FR30z (Q7); syamaner/paceprompt-ios"),
    ],
}
FUZZ = settings(max_examples=300)


def test_every_decoder_has_real_frames_here() -> None:
    """The fuzz below covers every `decode_*` the codec exports (a new one needs frames)."""
    assert set(REAL_FRAMES) == set(DECODERS)
    for name, frames in REAL_FRAMES.items():
        for hex_frame, source in frames:
            DECODERS[name](bytes.fromhex(hex_frame))  # each real frame decodes as it is
            assert source


@st.composite
def mutated(
    draw: st.DrawFn, names: tuple[str, ...] = tuple(sorted(REAL_FRAMES))
) -> tuple[str, bytes]:
    """A real frame of one of `names`' decoders with one to four octets changed, inserted or
    removed."""
    name = draw(st.sampled_from(names))
    hex_frame, _ = draw(st.sampled_from(REAL_FRAMES[name]))
    data = bytearray.fromhex(hex_frame)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete"]))
        if kind == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data.insert(at, draw(st.integers(0, 255)))
        elif data and at < len(data):
            del data[at]
    return name, bytes(data)


def _decodes_or_refuses(name: str, data: bytes) -> None:
    try:
        DECODERS[name](data)
    except ftms.FTMSDecodeError as exc:
        refused: ftms.FTMSDecodeError | None = exc
    else:
        refused = None
    assert refused is None or refused.data == data  # a refusal carries the octets it refused


@FUZZ
@given(case=mutated())
def test_mutated_real_frames_decode_or_raise_decode_error(case: tuple[str, bytes]) -> None:
    """Every decoder, fed a mutated real frame, decodes it or raises `FTMSDecodeError` with
    the octets; nothing else escapes."""
    _decodes_or_refuses(*case)


@FUZZ
@given(name=st.sampled_from(sorted(DECODERS)), data=st.binary(max_size=40))
def test_random_octets_decode_or_raise_decode_error(name: str, data: bytes) -> None:
    """Every decoder, fed random octets, decodes them or raises `FTMSDecodeError`."""
    _decodes_or_refuses(name, data)


PROFILES = load_profiles()
KINDS = ("treadmill", "machine", "training")


@st.composite
def notifications(draw: st.DrawFn) -> tuple[str, bytes]:
    """A notification of some kind: a real frame, a mutated one, or random octets."""
    kind = draw(st.sampled_from(KINDS))
    name = {
        "treadmill": "decode_treadmill_data",
        "machine": "decode_machine_status",
        "training": "decode_training_status",
    }[kind]
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return kind, bytes.fromhex(draw(st.sampled_from(REAL_FRAMES[name]))[0])
    if choice == 1:
        return kind, draw(mutated((name,)))[1]
    return kind, draw(st.binary(max_size=40))


def _finite(record: Any) -> bool:
    return all(
        not isinstance(value, float) or math.isfinite(value)
        for value in dataclasses.asdict(record).values()
    )


@FUZZ
@given(
    profile=st.sampled_from(PROFILES.names()),
    stream=st.lists(notifications(), max_size=12),
)
def test_notification_decoder_never_raises_and_passes_on_finite_values(
    profile: str, stream: list[tuple[str, bytes]]
) -> None:
    """A stream of notifications (real, mutated, random) through a link's decoder with a
    shipped quirk profile: nothing raises, a bad frame is dropped (and logged), and every
    record and status it passes on holds finite numbers in real units."""
    decoder = NotificationDecoder(PROFILES.get(profile))
    echo = EchoFilter(1.0)
    with capture_logs():
        for received_s, (kind, data) in enumerate(stream):
            if kind == "treadmill":
                event: Any = decoder.treadmill_data(data, float(received_s))
                if event is not None:
                    assert _finite(event.record), event
            elif kind == "machine":
                event = decoder.machine_status(data, float(received_s), echo)
                if event is not None:
                    assert _finite(event.status), event
            else:
                decoder.training_status(data, float(received_s))
