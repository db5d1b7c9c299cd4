"""Microseconds per decoded Treadmill Data notification, for a few realistic frames.

Run: `.venv/bin/python -m benchmarks.decode [--number N] [--repeat R] [--json]`. Prints the best
of R runs of N decodes per frame (best-of is the usual timeit practice: the minimum is the run
least disturbed by the rest of the machine). `measure()` is reusable by comparison harnesses.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import timeit
from collections.abc import Callable, Iterable

from benchmarks.frames import FRAMES, Frame
from treadctl import ftms

Decoder = Callable[[bytes, bool], object]


def treadctl_decoder(data: bytes, step_count_ext: bool) -> object:
    """treadctl's decoder in the shape `measure()` expects."""
    return ftms.decode_treadmill_data(data, step_count_ext=step_count_ext)


def measure(
    decoder: Decoder, frames: Iterable[Frame] = FRAMES, *, number: int = 20000, repeat: int = 5
) -> dict[str, float]:
    """Best-of-`repeat` microseconds per call of `decoder` for each frame, by frame name."""
    results: dict[str, float] = {}
    for frame in frames:
        decoder(frame.data, frame.step_count_ext)  # warm caches (treadctl compiles layouts)
        timer = timeit.Timer(functools.partial(decoder, frame.data, frame.step_count_ext))
        results[frame.name] = min(timer.repeat(repeat=repeat, number=number)) / number * 1e6
    return results


def assembler_us(*, number: int = 20000, repeat: int = 5) -> float:
    """Microseconds per notification through `TreadmillDataAssembler` (the BLE layer's path)."""
    assembler = ftms.TreadmillDataAssembler(step_count_ext=True)
    data = FRAMES[1].data
    best = min(timeit.Timer(lambda: assembler.feed(data)).repeat(repeat=repeat, number=number))
    return best / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="decodes per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per frame (best is kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    results = measure(treadctl_decoder, number=args.number, repeat=args.repeat)
    through_assembler = assembler_us(number=args.number, repeat=args.repeat)
    if args.json:
        payload = {
            "benchmark": "treadmill_data_decode",
            "unit": "us_per_notification",
            "python": platform.python_version(),
            "frames": results,
            "assembler": through_assembler,
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(
        f"Treadmill Data decode, best of {args.repeat} × {args.number} (Python "
        f"{platform.python_version()}, {platform.machine()})"
    )
    for frame in FRAMES:
        print(f"  {frame.name:<28} {len(frame.data):>3} octets  {results[frame.name]:6.2f} µs")
    mean = sum(results.values()) / len(results)
    print(f"  {'mean':<28} {'':>10}  {mean:6.2f} µs")
    print(f"  {'via TreadmillDataAssembler':<28} {'':>10}  {through_assembler:6.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
