"""A whole site for end-to-end fault tests: virtual treadmill, real broker, the real daemon.

    async with fault_rig(tmp_path, workouts={"fault": STEPS}) as rig:   # READY, link up
        await rig.start("fault")                               # cmd/start, answered ok
        await rig.wait_speed(2.0)                              # the machine's own belt
        rig.sim.treadmill.pull_safety_key()                    # break something
        await rig.wait_event("safety_stop")                    # MQTT event
        await rig.samples(5)                                   # let 5 telemetry samples pass

Owns: `write_workout` (a workout TOML file in the config's `workouts_dir`), `fault_rig` and
`FaultRig` — commands published with a `request_id` and their `cmd/result` awaited, events,
state and telemetry read from MQTT, the session record read from disk, and waits on the
machine's state that wake on the daemon's telemetry. Every wait is on an event (an MQTT
message, a log line); observing that nothing happens is bounded by telemetry samples passing.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from testsupport.brokers import AmqttBroker, MosquittoBroker
from testsupport.daemon import (
    DaemonProcess,
    ServedTreadmill,
    daemon_config,
    daemon_process,
    served_treadmill,
)
from testsupport.mqtt_recorder import MqttRecorder, Received
from testsupport.safety_checks import (
    Caps,
    assert_record_complete,
    assert_within_caps,
    read_record,
    session_records,
)
from testsupport.workout_gen import to_toml
from treadctl.sim.model import TreadmillModel
from treadctl.sim.settings import Quirks, TreadmillConfig

BASE = "treadctl/tm1"
# Quick ramps (within the config's bounds) so a fault test reaches its step speed in seconds.
FAST_LIMITS = """
[limits]
accel_kmh_per_s = 1.0
decel_kmh_per_s = 2.0
"""
# ... and a start at 2.0 km/h, so a 2.0 km/h step runs at once: any rise above the start speed
# is announced 5 s ahead (DESIGN §2 rule 5), which a test reaching 2.0 need not wait for.
START_AT_2 = FAST_LIMITS + "backward_start_kmh = 2.0\n"
# The site's caps when the config sets none (DESIGN §2, ref/retro-walking.md §6), km/h.
SITE_BACKWARD_CAP_KMH = 4.0
SITE_FORWARD_CAP_KMH = 6.0
Broker = AmqttBroker | MosquittoBroker


def write_workout(
    folder: Path,
    name: str,
    steps: list[dict[str, Any]],
    *,
    limits: dict[str, float] | None = None,
) -> Path:
    """Write workout `name` (TOML) into `folder`; each step a dict of its keys."""
    folder.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"name": name}
    if limits:
        document["limits"] = limits
    document["steps"] = steps
    path = folder / f"{name}.toml"
    path.write_text(to_toml(document), encoding="utf-8")
    return path


@dataclass
class FaultRig:
    """The virtual treadmill, the broker, a recording subscriber and the daemon of one test."""

    sim: ServedTreadmill
    broker: Broker
    mqtt: MqttRecorder
    daemon: DaemonProcess
    folder: Path
    _ids: itertools.count[int]
    _recorder: dict[str, Any]
    caps: Caps
    on_new_recorder: Callable[[MqttRecorder], None] | None = None

    @property
    def model(self) -> TreadmillModel:
        """The machine: `writes`, `history`, state."""
        return self.sim.model

    # --- commands ------------------------------------------------------------------------

    async def send(self, name: str, payload: dict[str, Any] | None = None) -> str:
        """Publish `cmd/<name>` with a fresh request id; returns the id."""
        request_id = f"r{next(self._ids)}"
        body = {**(payload or {}), "request_id": request_id}
        await self.mqtt.publish(f"{BASE}/cmd/{name}", json.dumps(body))
        return request_id

    async def answer(self, request_id: str) -> dict[str, Any]:
        """The `cmd/result` answering `request_id`."""
        found = await self.mqtt.wait_for(
            lambda m: m.topic == f"{BASE}/cmd/result" and m.json().get("request_id") == request_id
        )
        answer: dict[str, Any] = found.json()
        return answer

    async def command(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Publish `cmd/<name>` and return its answer."""
        return await self.answer(await self.send(name, payload))

    async def start(self, workout: str) -> dict[str, Any]:
        """Start `workout`; fails the test unless accepted. Returns the answer's detail."""
        answer = await self.command("start", {"workout": workout})
        assert answer["ok"], answer
        detail: dict[str, Any] = answer["detail"]
        return detail

    # --- what the daemon published --------------------------------------------------------

    def mark(self) -> int:
        """An index into the recorded messages: "from now on" for the waits below."""
        return len(self.mqtt.messages)

    async def wait_event(self, kind: str, *, start: int = 0, **fields: Any) -> dict[str, Any]:
        """The first `event` of `kind` (with `fields`) recorded at index >= `start`."""
        found = await self.mqtt.wait_for(
            lambda m: m.topic == f"{BASE}/event" and _matches(m.json(), event=kind, **fields),
            start=start,
        )
        event: dict[str, Any] = found.json()
        return event

    async def wait_state(
        self, found: Callable[[dict[str, Any]], bool], *, start: int = 0
    ) -> dict[str, Any]:
        """The first retained `state` at index >= `start` for which `found(state)` holds."""
        message = await self.mqtt.wait_for(
            lambda m: m.topic == f"{BASE}/state" and found(m.json()), start=start
        )
        state: dict[str, Any] = message.json()
        return state

    async def samples(self, count: int, *, start: int | None = None) -> list[dict[str, Any]]:
        """Wait until `count` telemetry samples arrived after `start` (default: now)."""
        first = self.mark() if start is None else start
        seen: list[dict[str, Any]] = []
        index = first
        while len(seen) < count:
            message, index = await self._next_telemetry(index)
            seen.append(message.json())
        return seen

    async def _next_telemetry(self, index: int) -> tuple[Received, int]:
        """The first telemetry message at `index` or later, and the index after it."""
        message = await self.mqtt.wait_for(is_telemetry, start=index)
        return message, self.mqtt.messages.index(message, index) + 1

    async def wait_speed(self, at_least_kmh: float) -> None:
        """Wait until the machine's belt runs at `at_least_kmh` or more (checked on telemetry)."""
        index = self.mark()
        while self.model.belt_speed_kmh < at_least_kmh - 1e-9:
            _, index = await self._next_telemetry(index)

    async def wait_machine(self, found: Callable[[TreadmillModel], bool]) -> None:
        """Wait until `found(model)` holds (re-checked on every telemetry sample)."""
        index = self.mark()
        while not found(self.model):
            _, index = await self._next_telemetry(index)

    def events(self) -> list[dict[str, Any]]:
        """Every event received so far."""
        return [m.json() for m in self.mqtt.on(f"{BASE}/event")]

    def telemetry(self) -> list[dict[str, Any]]:
        """Every telemetry sample received so far."""
        return [m.json() for m in self.mqtt.on(f"{BASE}/telemetry")]

    def results(self) -> list[dict[str, Any]]:
        """Every `cmd/result` received so far."""
        return [m.json() for m in self.mqtt.on(f"{BASE}/cmd/result")]

    async def reconnect_recorder(self) -> None:
        """Replace the recording subscriber (after a broker restart) by a new client with the
        same identity; the messages recorded so far are kept, new ones are appended."""
        old = self.mqtt
        with contextlib.suppress(aiomqtt.MqttError):
            await old.__aexit__(None, None, None)
        new = MqttRecorder(self.broker.host, self.broker.port, (f"{BASE}/#",), **self._recorder)
        new.messages = old.messages
        await new.__aenter__()
        self.mqtt = new
        if self.on_new_recorder is not None:
            self.on_new_recorder(new)

    # --- the session record ---------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        """The daemon's state directory (session records under `sessions/`)."""
        return self.folder / "state"

    def record(self) -> list[dict[str, Any]]:
        """The lines of the one session record written so far."""
        paths = session_records(self.state_dir)
        assert len(paths) == 1, paths
        return read_record(paths[0])

    # --- the end of a test ------------------------------------------------------------------

    def check_caps(self, direction: str | None = "backward") -> None:
        """The belt was never above the cap: write log, history, telemetry, record."""
        paths = session_records(self.state_dir)
        record = [line for path in paths for line in read_record(path, cut_short=True)]
        assert_within_caps(
            self.model, self.caps, direction=direction, telemetry=self.telemetry(), record=record
        )

    def check_health(self, *, expected: tuple[str, ...] = ()) -> None:
        """The daemon logged no error and no traceback (but errors whose event starts with one
        of `expected`, a fault the test caused)."""
        errors = [
            r
            for r in self.daemon.logs
            if r.get("level") in ("error", "critical")
            and not str(r.get("event", "")).startswith(expected)
        ]
        assert not errors, errors
        assert not any("Traceback" in line for line in self.daemon.raw), self.daemon.tail()

    async def finish(
        self, *, direction: str | None = "backward", expected: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """SIGTERM the daemon (exit 0), then check caps, health (`expected` errors aside) and
        the closed record; returns the record's summary."""
        code = await self.daemon.terminate()
        assert code == 0, self.daemon.tail()
        self.check_caps(direction)
        self.check_health(expected=expected)
        return assert_record_complete(self.record())


def _matches(payload: Any, **fields: Any) -> bool:
    return isinstance(payload, dict) and all(payload.get(k) == v for k, v in fields.items())


@contextlib.asynccontextmanager
async def fault_rig(
    folder: Path,
    *,
    workouts: dict[str, list[dict[str, Any]]] | None = None,
    workout_limits: dict[str, float] | None = None,
    quirks: Quirks | None = None,
    treadmill: TreadmillConfig | None = None,
    speedup: float = 10.0,
    broker: Broker | None = None,
    profile: dict[str, Any] | None = None,
    extra: str = FAST_LIMITS,
    recorder_id: str | None = None,
) -> AsyncIterator[FaultRig]:
    """A running site with the daemon connected to the treadmill (its state says so).

    `workouts` are written as TOML files (name → steps, each with `workout_limits`);
    `profile` is a quirk profile the treadmill is pinned to (keys of `treadctl/ble/profiles`);
    `broker` defaults to an in-process amqtt broker; `speedup` scales the machine's clock;
    `recorder_id` gives the recording subscriber a persistent session under that client id
    (clean session off), so a broker with persistence keeps its messages across a restart.
    """
    for name, steps in (workouts or {}).items():
        write_workout(folder / "workouts", name, steps, limits=workout_limits)
    profile_name = None
    if profile is not None:
        profile_name = "fault-test"
        profiles = folder / "profiles"
        profiles.mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in profile.items())
        (profiles / f"{profile_name}.toml").write_text(body + "\n", encoding="utf-8")
    async with contextlib.AsyncExitStack() as stack:
        sim = await stack.enter_async_context(served_treadmill(quirks, treadmill, speedup=speedup))
        if broker is None:
            broker = await stack.enter_async_context(AmqttBroker())
        options: dict[str, Any] = {}
        if recorder_id is not None:
            options = {"identifier": recorder_id, "clean_session": False}
        recorders = [MqttRecorder(broker.host, broker.port, (f"{BASE}/#",), **options)]
        await recorders[0].__aenter__()
        # The rig may replace its recorder (reconnect_recorder): close whichever is current.
        stack.push_async_callback(lambda: recorders[-1].__aexit__(None, None, None))
        config = daemon_config(
            folder, sim.spec, broker.port, commands=True, extra=extra, profile=profile_name
        )
        daemon = await stack.enter_async_context(daemon_process(config))
        lowered = workout_limits or {}
        caps = Caps(
            min(SITE_BACKWARD_CAP_KMH, lowered.get("backward_max_kmh", SITE_BACKWARD_CAP_KMH)),
            min(SITE_FORWARD_CAP_KMH, lowered.get("forward_max_kmh", SITE_FORWARD_CAP_KMH)),
        )
        rig = FaultRig(sim, broker, recorders[0], daemon, folder, itertools.count(1), options, caps)
        rig.on_new_recorder = recorders.append
        await rig.wait_state(lambda s: bool(s.get("link_connected")))
        yield rig


def is_telemetry(message: Received) -> bool:
    """A telemetry message of the rig's treadmill."""
    return message.topic == f"{BASE}/telemetry"
