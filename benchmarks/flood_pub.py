"""The flood publisher: `python -m benchmarks.flood_pub`, and the harness's side of it.

Owns: `publish_flood` (one aiomqtt client publishing `flood.MIX` at a steady rate from a given
CLOCK_MONOTONIC moment), its command line, and for the harness `start_publishers` (N such
processes, each with its share of the rate, all started at the same moment) and
`collect_reports`. Each publisher runs in a process of its own, so that the harness's event
loop, which stamps every emergency stop just before publishing it, never waits behind the
flood. A publisher prints one JSON line once connected (`{"ready": true}`) and one with what it
published when done.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import aiomqtt

from benchmarks import flood
from benchmarks.procs import LOCALHOST, BenchError, Children

Process = asyncio.subprocess.Process


async def publish_flood(
    port: int, treadmill: str, *, rate_per_s: float, seconds: float, start_ns: int,
    offset: int = 0, identifier: str = "bench-flood",
) -> dict[str, Any]:  # fmt: skip
    """Publish the flood from `start_ns` (CLOCK_MONOTONIC) for `seconds` at `rate_per_s`,
    QoS 0, in batches of `flood.BATCH`; a batch falling behind is sent at once (never
    skipped) and the largest lag is reported."""
    batches = max(1, round(rate_per_s * seconds / flood.BATCH))
    base = f"treadctl/{treadmill}/cmd/"
    published, max_behind_ns = 0, 0
    async with aiomqtt.Client(LOCALHOST, port, identifier=identifier) as client:
        print(json.dumps({"ready": True}), flush=True)
        await asyncio.sleep(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
        first_ns = time.monotonic_ns()
        for batch in range(batches):
            due_ns = start_ns + flood.batch_due_ns(batch, rate_per_s)
            now_ns = time.monotonic_ns()
            if due_ns > now_ns:
                await asyncio.sleep((due_ns - now_ns) / 1e9)
            else:
                max_behind_ns = max(max_behind_ns, now_ns - due_ns)
            picks = [flood.command_at(offset + batch * flood.BATCH + i) for i in range(flood.BATCH)]
            # aiomqtt returns from a QoS 0 publish once paho has written it to the socket.
            await asyncio.gather(*(client.publish(base + n, p, qos=0) for n, p in picks))
            published += len(picks)
        last_ns = time.monotonic_ns()
    return {
        "published": published,
        "first_ns": first_ns,
        "last_ns": last_ns,
        "late_start_ms": round(max(0, first_ns - start_ns) / 1e6, 3),
        "max_behind_ms": round(max_behind_ns / 1e6, 3),
    }


async def start_publishers(
    children: Children, port: int, treadmill: str, *, clients: int, start_ns: int,
    ready_timeout_s: float,
) -> list[Process]:  # fmt: skip
    """`clients` publisher processes sharing `flood.RATE_PER_S` for `flood.SECONDS` from
    `start_ns`, each beginning at another place in the mix; returns once all are connected."""
    publishers = []
    for j in range(clients):
        argv = [sys.executable, "-m", "benchmarks.flood_pub", "--port", str(port), "--treadmill",
                treadmill, "--rate", f"{flood.RATE_PER_S / clients:g}", "--seconds",
                f"{flood.SECONDS:g}", "--start-ns", str(start_ns), "--offset",
                str(j * len(flood.MIX) // clients), "--id", f"bench-flood-{j}"]  # fmt: skip
        publishers.append(await children.spawn(argv, stdout=asyncio.subprocess.PIPE))
    for publisher in publishers:
        await _json_line(publisher, "ready", ready_timeout_s)
    return publishers


async def collect_reports(children: Children, publishers: list[Process]) -> dict[str, Any]:
    """Wait for every publisher's report, stop them, and combine the reports (`flood.combine`)."""
    reports = [await _json_line(p, "published", flood.SECONDS + 30) for p in publishers]
    for publisher in publishers:
        await children.stop(publisher)
    return flood.combine(reports)


async def _json_line(process: Process, key: str, timeout_s: float) -> dict[str, Any]:
    """The first JSON object holding `key` that `process` prints; raises `BenchError` with what
    it printed when it ends or the time runs out first."""
    stream = process.stdout
    if stream is None:
        raise BenchError("a flood publisher started without an output pipe")
    seen: list[str] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while line := (await stream.readline()).decode(errors="replace"):
                seen.append(line.rstrip("\n"))
                with contextlib.suppress(ValueError):
                    found = json.loads(line)
                    if isinstance(found, dict) and key in found:
                        return found
    raise BenchError(f"a flood publisher gave no {key!r} line; it printed:\n" + "\n".join(seen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--treadmill", required=True)
    parser.add_argument("--rate", type=float, default=flood.RATE_PER_S, help="commands per s")
    parser.add_argument("--seconds", type=float, default=flood.SECONDS)
    parser.add_argument("--start-ns", type=int, required=True, help="CLOCK_MONOTONIC start")
    parser.add_argument("--offset", type=int, default=0, help="where in the mix to begin")
    parser.add_argument("--id", default="bench-flood", help="MQTT client id")
    args = parser.parse_args(argv)
    report = asyncio.run(
        publish_flood(
            args.port, args.treadmill, rate_per_s=args.rate, seconds=args.seconds,
            start_ns=args.start_ns, offset=args.offset, identifier=args.id,
        )
    )  # fmt: skip
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
