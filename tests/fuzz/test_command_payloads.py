"""MQTT command payloads fuzzed: the pure parser on JSON shapes `tests/mqtt` leaves out, and a
corpus of bad payloads against the real daemon process.

`tests/mqtt/test_pure.py` feeds random bytes and JSON objects to `parse_command`. Here:
top-level JSON that is not an object, JSON's NaN/Infinity tokens, nesting deep enough to
exhaust the decoder, oversized payloads; then ~200 bad payloads (seeded, generated below) are
published one by one to a running daemon, each of which must be answered on `cmd/result` with a
refusal naming its topic (and field), without anything reaching the treadmill, and the daemon
must still answer afterwards, with no error logged.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testsupport.rig import BASE, fault_rig

from treadctl.errors import CommandError
from treadctl.mqtt import COMMANDS, parse_command

SEED = 20261125  # the corpus below; change it to explore, it is printed on failure
NAMES = sorted(COMMANDS)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def _refusal(name: str, payload: bytes) -> CommandError | None:
    topic = f"{BASE}/cmd/{name}"
    try:
        parse_command(name, payload, topic=topic)
    except CommandError as exc:
        return exc
    return None


@settings(max_examples=200)
@given(name=st.sampled_from(NAMES), document=json_values.filter(lambda v: not isinstance(v, dict)))
def test_json_that_is_not_an_object_is_refused_naming_the_topic(
    name: str, document: object
) -> None:
    """A payload that is JSON but not an object (array, number, string, null…) is refused
    with a `CommandError` whose `where` is the topic."""
    refused = _refusal(name, json.dumps(document).encode())
    assert refused is not None
    assert refused.where == f"{BASE}/cmd/{name}"


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        pytest.param(b'{"speed_kmh": NaN}', "speed_kmh", id="nan-token"),
        pytest.param(b'{"speed_kmh": Infinity}', "speed_kmh", id="infinity-token"),
        pytest.param(b'{"speed_kmh": -Infinity}', "speed_kmh", id="minus-infinity-token"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "larger than", id="deep-and-huge"),
        pytest.param(b"[" * 2000 + b"]" * 2000, "not valid JSON", id="deep-nesting"),
        pytest.param(b'{"speed_kmh": 2, "x": "' + b"a" * 5000 + b'"}', "larger than", id="huge"),
        pytest.param(b'{"speed_kmh": 1e999}', "speed_kmh", id="float-overflow"),
    ],
)
def test_hostile_json_is_refused_saying_what(payload: bytes, says: str) -> None:
    """JSON's non-finite tokens, nesting deep enough to exhaust the decoder and oversized
    payloads on `set_speed` are refused with a `CommandError` saying what, never a crash."""
    refused = _refusal("set_speed", payload)
    assert refused is not None
    assert refused.where.startswith(f"{BASE}/cmd/set_speed")
    assert says in str(refused)


def bad_corpus(seed: int = SEED, count: int = 200) -> list[tuple[str, bytes]]:
    """`count` (command name, payload) pairs that `parse_command` refuses, drawn from `seed`."""
    rnd = random.Random(seed)
    fields = ["workout", "speed_kmh", "incline_pct", "direction", "request_id", "speed", "x"]
    odd_values: list[object] = [
        None, True, "2.0", "", [], {}, -1, 101, 1e308, "backward ", "sideways", "a" * 300,
    ]  # fmt: skip

    def payload() -> bytes:
        kind = rnd.randrange(6)
        if kind == 0:
            return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 48)))
        if kind == 1:
            return rnd.choice([b"{", b"{'speed_kmh': 2}", b"null", b"[1,2]", b'"pause"', b"3"])
        if kind == 2:
            return json.dumps({rnd.choice(fields): rnd.choice(odd_values)}).encode()
        if kind == 3:
            keys = rnd.sample(fields, rnd.randint(2, 4))
            return json.dumps({k: rnd.choice(odd_values) for k in keys}).encode()
        if kind == 4:
            return b"\xff\xfe" + bytes(rnd.randrange(256) for _ in range(8))
        return b'{"request_id": "' + b"r" * rnd.randint(65, 200) + b'"}'

    corpus: list[tuple[str, bytes]] = []
    names = [*NAMES, "bogus", "START", "set-speed", "reboot"]
    while len(corpus) < count:
        name, data = rnd.choice(names), payload()
        if _refusal(name, data) is not None:
            corpus.append((name, data))
    return corpus


WINDOW = 20


def _check_refusal(number: int, name: str, data: bytes, answer: dict[str, object]) -> None:
    topic = f"{BASE}/cmd/{name}"
    context = f"seed {SEED}, payload {number}: {name} {data[:80]!r} -> {answer}"
    assert answer["command"] == name, context
    assert answer["ok"] is False, context
    assert answer["reason"], context
    detail = answer["detail"]
    assert isinstance(detail, dict), context
    assert detail["topic"] == topic, context
    where = detail.get("where", topic)
    assert where == topic or where.startswith(f"{topic} field '"), context


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_the_daemon_answers_every_bad_payload_and_survives(tmp_path: Path) -> None:
    """~200 bad payloads on command topics, one at a time, to the real daemon: each is answered
    on `cmd/result` with a refusal whose reason and detail name the topic (and the field for a
    schema error); nothing reaches the treadmill; the daemon still answers a good command
    afterwards, logged no error and exits cleanly."""
    corpus = bad_corpus()
    async with fault_rig(tmp_path) as rig:
        # In windows of 20 (well below the 64 answers the daemon keeps queued): refusals are
        # answered in the order the payloads arrived.
        for first in range(0, len(corpus), WINDOW):
            window = corpus[first : first + WINDOW]
            expected = len(rig.results()) + len(window)
            for name, data in window:
                await rig.mqtt.publish(f"{BASE}/cmd/{name}", data)
            answers = await rig.mqtt.wait_count(lambda m: m.topic == f"{BASE}/cmd/result", expected)
            got = answers[expected - len(window) : expected]
            for offset, ((name, data), found) in enumerate(zip(window, got, strict=True)):
                _check_refusal(first + offset, name, data, found.json())
        answer = await rig.command("stop")  # a good command: no workout runs, and it says so
        assert answer["ok"] is False
        assert "no workout is running" in answer["reason"]
        assert rig.model.writes == []
        assert await rig.daemon.terminate() == 0
        rig.check_health()
