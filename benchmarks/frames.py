"""Realistic Treadmill Data notifications for the benchmarks, with where each was recorded.

Each frame is (name, octets, step_count_ext, source). The same captures are pinned, with their
expected records, in tests/ftms/test_treadmill_vectors.py.
"""

from __future__ import annotations

from typing import NamedTuple


class Frame(NamedTuple):
    name: str
    data: bytes
    step_count_ext: bool
    source: str


FRAMES: tuple[Frame, ...] = (
    Frame(
        "issue-check-0x040c",
        bytes.fromhex("0c045203020000000000000100"),
        False,
        "treadctl issue #2 check: speed, distance, inclination/ramp, elapsed time",
    ),
    Frame(
        "citysports-0x2484-steps",
        bytes.fromhex("8424aa002100000100ffffff3c00420000"),
        True,
        "CITYSPORTS-Linker JG-0x22 walking pad (hughesjs/FitnessMachine protocol/notes)",
    ),
    Frame(
        "life-fitness-0x059e",
        bytes.fromhex("9e0517059202fb00000000ff7f7c00ff7f1b00ffffff698a00"),
        False,
        "Life Fitness treadmill (TrackMyIndoorWorkout test/life_fitness_treadmill_test.dart)",
    ),
    Frame(
        "matrix-0x1f9e-truncated",
        bytes.fromhex("9e1fc60394023e01005a00ff7f3200ffff2500f4"),
        False,
        "Matrix treadmill, 20 of 32 octets (TrackMyIndoorWorkout test/matrix_treadmill_test.dart)",
    ),
    Frame(
        "urevo-0x259c-steps",
        bytes.fromhex("9c25" + "00" * 24),
        True,
        "Urevo treadmill (dudanov/hassio-ftms issue #3)",
    ),
    Frame(
        "life-fitness-0x049e",
        bytes.fromhex("9e04730233022500003c00ff7f0000ff7f0200ffffff1f00"),
        False,
        "Life Fitness treadmill (TrackMyIndoorWorkout test/life_fitness_treadmill_test.dart)",
    ),
    Frame(
        "life-fitness-0x0c9e",
        bytes.fromhex("9e0c5000bd025301000000ff7f7c00ff7f2300ffffffad003b00"),
        False,
        "Life Fitness treadmill, remaining time (TrackMyIndoorWorkout, same test)",
    ),
    Frame(
        "horizon-idle-0x0484",
        bytes.fromhex("8404" + "00" * 12),
        False,
        "Horizon treadmill, iOS log (cagnulein/qdomyos-zwift issue #175)",
    ),
    Frame(
        "citysports-cs-wp8-steps",
        bytes.fromhex("8424140031000003000000004600640000"),
        True,
        "CITYSPORTS-Linker CS-WP8 (hughesjs/FitnessMachine protocol/CS-WP8, nRF Connect log)",
    ),
)
