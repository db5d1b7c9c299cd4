"""treadctl's and pyftms's Treadmill Data decoders timed side by side in one interpreter.

Run by `benchmarks/run.py` as `python -m benchmarks.compare --json` with the repository on
`PYTHONPATH`, in the project venv (treadctl only) and in `benchmarks/.env-pyftms` (both: pyftms
0.2.20 needs Python >= 3.12). treadctl's codec is pure standard library, so it runs from the
source tree in either. Only frames both decoders accept (decode without raising) are timed.
pyftms decodes the way its notification handler does:
`pyftms.serializer.get_serializer(pyftms.models.TreadmillData).deserialize(data)`
(dudanov/pyftms, pyftms/client/client.py).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import sys
from typing import Any

from benchmarks.decode import Decoder, measure, treadctl_decoder
from benchmarks.frames import FRAMES, Frame


def pyftms_decoder() -> tuple[Decoder | None, str]:
    """pyftms's decoder in `measure()`'s shape and its version, or None and why not."""
    try:
        from pyftms.models import TreadmillData  # type: ignore[import-not-found]
        from pyftms.serializer import get_serializer  # type: ignore[import-not-found]
    except ImportError as exc:
        return None, f"pyftms not importable here ({exc})"
    serializer = get_serializer(TreadmillData)

    def decode(data: bytes, _step_count_ext: bool) -> object:
        return serializer.deserialize(data)

    return decode, importlib.metadata.version("pyftms")


def accepted(decoder: Decoder, frame: Frame) -> str | None:
    """None when `decoder` decodes `frame`, else the error it raised."""
    try:
        decoder(frame.data, frame.step_count_ext)
    except Exception as exc:  # any failure means "does not accept": that is what is asked
        return f"{type(exc).__name__}: {exc}"
    return None


def compare(number: int, repeat: int) -> dict[str, Any]:
    """µs per frame for treadctl and, where importable, pyftms, on the frames both accept."""
    theirs, version = pyftms_decoder()
    rejected: dict[str, str] = {}
    frames = []
    for frame in FRAMES:
        errors = [accepted(treadctl_decoder, frame)]
        if theirs is not None:
            errors.append(accepted(theirs, frame))
        problems = [e for e in errors if e is not None]
        if problems:
            rejected[frame.name] = "; ".join(problems)
        else:
            frames.append(frame)
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "frames": [f.name for f in frames],
        "rejected": rejected,
        "treadctl": measure(treadctl_decoder, frames, number=number, repeat=repeat),
        "pyftms": None,
        "pyftms_version": version if theirs is not None else None,
        "pyftms_unavailable": None if theirs is not None else version,
    }
    if theirs is not None:
        result["pyftms"] = measure(theirs, frames, number=number, repeat=repeat)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=5000, help="decodes per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per frame (best is kept)")
    parser.add_argument("--json", action="store_true", help="print JSON (the only output)")
    args = parser.parse_args(argv)
    result = compare(args.number, args.repeat)
    if args.json:
        print(json.dumps(result))
        return 0
    for name in result["frames"]:
        theirs = result["pyftms"][name] if result["pyftms"] else None
        shown = f"{theirs:8.2f} µs" if theirs is not None else "     n/a"
        print(f"{name:<28} treadctl {result['treadctl'][name]:6.2f} µs   pyftms {shown}")
    for name, why in result["rejected"].items():
        print(f"{name:<28} not compared: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
