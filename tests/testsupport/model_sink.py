"""The pure treadmill model behind the runner's `CommandSink`, all on a `FakeClock`.

    rig = await ModelRig.start(workout_toml, limits=Limits(), turn=TurnSettings())
    await rig.runner.start()            # a person presses start
    await rig.advance(200)              # 200 s of fake time: commands, telemetry, events
    rig.console("press_stop")           # the console, the safety key, faults: the model's own
    assert rig.kinds() == [...]         # events the runner published

`ModelSink.send` encodes each command with the FTMS codec, writes it to the model's control
point (asking for control first, again after 0xFF Control Permission Lost) and raises
`ControlPointError` for a result other than Success, or `LinkLostError` while the link is down.
Treadmill Data and Machine Status notifications are decoded and fed back into the runner, as the
BLE layer does; the model only tells the controlling client of console changes (no Q12 echo).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from treadctl import ftms
from treadctl.errors import ControlPointError, LinkLostError
from treadctl.safety import (
    BeltCommand,
    DeviceCaps,
    Governor,
    InclineCommand,
    Limits,
    SpeedCommand,
    StartCommand,
    StopCommand,
    TurnSettings,
)
from treadctl.sim.frames import Notification
from treadctl.sim.model import Quirks, TreadmillConfig, TreadmillModel
from treadctl.workout.clock import FakeClock
from treadctl.workout.compiler import compile_plan
from treadctl.workout.conductor import DriftSettings
from treadctl.workout.plan import RunnerEvent
from treadctl.workout.recorder import SessionRecorder
from treadctl.workout.runner import Runner
from treadctl.workout.script import parse_workout


def encode(command: BeltCommand) -> bytes:
    """The control-point request for a governor command."""
    if isinstance(command, SpeedCommand):
        return ftms.encode_set_target_speed(command.speed_kmh)
    if isinstance(command, InclineCommand):
        return ftms.encode_set_target_inclination(command.incline_pct)
    if isinstance(command, StartCommand):
        return ftms.encode_start_or_resume()
    pause = command.pause and not command.emergency
    control = ftms.StopPauseControl.PAUSE if pause else ftms.StopPauseControl.STOP
    return ftms.encode_stop_or_pause(control)


@dataclass
class ModelSink:
    """A `CommandSink` writing to `model`; notifications go to `runner` once it is set."""

    model: TreadmillModel
    clock: FakeClock
    runner: Runner | None = None
    link_up: bool = True
    has_control: bool = False
    sent: list[tuple[float, BeltCommand]] = field(default_factory=list)
    assembler: ftms.TreadmillDataAssembler = field(default_factory=ftms.TreadmillDataAssembler)

    async def send(self, command: BeltCommand) -> None:
        """Write `command` (after Request Control when needed)."""
        if not self.link_up:
            raise LinkLostError("the virtual link is down")
        now_s = self.clock.now()
        if not self.has_control:
            self._write(ftms.encode_request_control(), now_s)
            self.has_control = True
        self.sent.append((now_s, command))
        self._write(encode(command), now_s)

    def _write(self, data: bytes, now_s: float) -> None:
        response = None
        for note in self.model.write_control_point(data, now_s):
            if note.uuid == ftms.CONTROL_POINT_UUID:
                response = ftms.decode_control_point_response(note.data)
            else:
                self.feed(note, now_s)
        if response is None:
            raise ControlPointError("no response", op_code=data[0])
        if response.result_code != ftms.ResultCode.SUCCESS:
            raise ControlPointError(
                f"refused with result 0x{int(response.result_code):02X}",
                op_code=data[0],
                result_code=int(response.result_code),
            )

    def feed(self, note: Notification, now_s: float) -> None:
        """Give one notification to the runner, decoded, as the BLE layer would."""
        if self.runner is None or not self.link_up:
            return
        if note.uuid == ftms.TREADMILL_DATA_UUID:
            record = self.assembler.feed(note.data)
            if record is not None:
                self.runner.feed_telemetry(record, now_s)
        elif note.uuid == ftms.MACHINE_STATUS_UUID:
            status = ftms.decode_machine_status(note.data)
            if status.op_code == ftms.MachineStatusOpCode.CONTROL_PERMISSION_LOST:
                self.has_control = False
            self.runner.feed_machine_status(status, now_s)

    async def ticker(self) -> None:
        """Advance the model at its own deadlines and deliver what it sends."""
        while True:
            await self.clock.sleep(max(0.01, self.model.next_deadline_s() - self.clock.now()))
            now_s = self.clock.now()
            for note in self.model.tick(now_s):
                self.feed(note, now_s)


def device_caps(model: TreadmillModel) -> DeviceCaps:
    """What the BLE layer would read from the model's ranges."""
    speed = ftms.decode_speed_range(model.read(ftms.SPEED_RANGE_UUID))
    incline = ftms.decode_inclination_range(model.read(ftms.INCLINATION_RANGE_UUID))
    return DeviceCaps(
        min_speed_kmh=speed.min_kmh,
        max_speed_kmh=speed.max_kmh,
        speed_increment_kmh=speed.increment_kmh,
        min_incline_pct=incline.min_pct,
        max_incline_pct=incline.max_pct,
        incline_increment_pct=incline.increment_pct,
        min_command_interval_s=0.5,
    )


@dataclass
class ModelRig:
    """A runner playing a workout on the pure model, and everything it published."""

    clock: FakeClock
    model: TreadmillModel
    sink: ModelSink
    runner: Runner
    events: list[RunnerEvent]
    tasks: list[asyncio.Task[None]]

    @classmethod
    async def start(
        cls,
        workout_toml: str | None,
        *,
        limits: Limits | None = None,
        turn: TurnSettings | None = None,
        config: TreadmillConfig | None = None,
        quirks: Quirks | None = None,
        state_dir: Path | None = None,
        drift: DriftSettings | None = None,
    ) -> ModelRig:
        """Build the model, plan, governor, runner and recorder, and start the loops."""
        clock = FakeClock()
        model = TreadmillModel(config or TreadmillConfig(rate_hz=2.0, speed_min_kmh=1.0), quirks)
        sink = ModelSink(model, clock)
        limits, turn = limits or Limits(), turn or TurnSettings()
        device = device_caps(model)
        plan = None
        if workout_toml is not None:
            workout = parse_workout(workout_toml, source="test.toml", limits=limits)
            plan = compile_plan(workout, limits, device, turn)
        recorder = None
        if state_dir is not None:
            name = plan.workout if plan else None
            recorder = SessionRecorder(state_dir, workout=name, treadmill_id="sim-1")
        governor = Governor(limits, device, turn)
        runner = Runner(governor, sink, clock, plan=plan, recorder=recorder, drift=drift)
        sink.runner = runner
        events: list[RunnerEvent] = []
        runner.add_listener(events.append)
        tasks = [asyncio.create_task(runner.run()), asyncio.create_task(sink.ticker())]
        await clock.settle()
        return cls(clock, model, sink, runner, events, tasks)

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of fake time pass."""
        await self.clock.advance(seconds)

    def console(self, action: str, *args: object) -> None:
        """Do something on the model's console (`press_start`, `press_stop`, `press_pause`,
        `pull_safety_key`, `insert_safety_key`, `revoke_control`, `console_set_speed`)."""
        now_s = self.clock.now()
        for note in getattr(self.model, action)(*args, now_s):
            self.sink.feed(note, now_s)

    def drop_link(self) -> None:
        """The Bluetooth link drops: the model forgets the client, the runner is told."""
        now_s = self.clock.now()
        self.sink.link_up, self.sink.has_control = False, False
        self.model.on_disconnect(now_s)
        self.runner.link_lost(now_s)

    def restore_link(self) -> None:
        """The link comes back: subscriptions redone, the runner told whether the belt moves."""
        now_s = self.clock.now()
        self.model.on_connect(now_s, mtu=247)
        for uuid in (ftms.TREADMILL_DATA_UUID, ftms.MACHINE_STATUS_UUID):
            self.model.write_cccd(uuid, 0x01, now_s)
        self.model.write_cccd(ftms.CONTROL_POINT_UUID, 0x02, now_s)
        self.sink.link_up = True
        speed = self.model.belt.speed_kmh
        self.runner.link_restored(now_s, belt_moving=speed > 0, speed_kmh=speed)

    def kinds(self) -> list[str]:
        """The kinds of the events published so far."""
        return [event.kind for event in self.events]

    def sent(self, since_s: float = 0.0) -> list[BeltCommand]:
        """Commands sent at or after `since_s`."""
        return [command for t, command in self.sink.sent if t >= since_s]

    async def close(self) -> None:
        """Stop the loops."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


__all__ = ["ModelRig", "ModelSink", "StopCommand", "device_caps", "encode"]
