"""`treadctl demo` options: `--broker HOST:PORT` publishes to that broker instead of the embedded
one; the pace options (`--speedup X`, `--realtime`) and their refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from testsupport.brokers import AmqttBroker
from testsupport.daemon import run_treadctl
from testsupport.mqtt_recorder import MqttRecorder

from treadctl import cli


@pytest.mark.slow
async def test_demo_publishes_to_the_broker_it_is_given(tmp_path: Path) -> None:
    """`demo --broker HOST:PORT`: the workout's telemetry, events and Home Assistant discovery
    reach that broker, and the intro prints the mosquitto_sub command for it."""
    async with (
        AmqttBroker() as broker,
        MqttRecorder(broker.host, broker.port, ("treadctl/#", "homeassistant/#")) as sub,
    ):
        code, out, err = await run_treadctl(
            "demo",
            "--speedup",
            "200",
            "--broker",
            f"{broker.host}:{broker.port}",
            "--state-dir",
            str(tmp_path / "state"),
            env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
        )
        assert code == 0, out + err
        finished = await sub.wait_for(
            lambda m: m.topic == "treadctl/demo/event" and m.json()["event"] == "workout_finished"
        )
        assert finished.json()["completed"] is True
        assert any(m.topic == "treadctl/demo/telemetry" for m in sub.messages)
        assert any(m.topic == "homeassistant/device/treadctl_demo/config" for m in sub.messages)
    assert f"mosquitto_sub -h {broker.host} -p {broker.port} -v -t 'treadctl/#'" in out


def _parse(*argv: str) -> object:
    parser, _ = cli.build_parser(["demo"])
    return parser.parse_args(["demo", *argv])


def test_pace_options() -> None:
    """20× by default; --speedup X and --realtime are taken as given."""
    assert vars(_parse())["speedup"] == 20.0
    assert vars(_parse("--speedup", "200"))["speedup"] == 200.0
    assert vars(_parse("--realtime"))["realtime"] is True


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--speedup", "0"), "give a number above 0 and at most 1000"),
        (("--speedup", "fast"), "give a number above 0 and at most 1000"),
        (("--realtime", "--speedup", "5"), "not allowed with argument"),
        (("--broker", "localhost"), "give HOST:PORT"),
        (("--broker", "localhost:99999"), "give HOST:PORT"),
    ],
)
def test_bad_options_are_refused_saying_what(
    argv: tuple[str, ...], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad pace or broker is refused by the option parser (exit 2) with what to give."""
    with pytest.raises(SystemExit) as exit_info:
        _parse(*argv)
    assert exit_info.value.code == 2
    assert says in capsys.readouterr().err
