"""The promise of `make bench`: results.json's keys, the targets' verdicts, the printed table,
and how the decode comparison picks its interpreter and its frames."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import compare, procs, pyftms_env, report, run, runtime_env

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results.json"


def complete() -> dict[str, Any]:
    """A results dict with every key issue 7 asks for."""
    return {
        "decode_us": {"treadctl": 2.0, "pyftms": 27.0},
        "telemetry_latency_ms": {"p50": 1.9, "p99": 4.0, "floor_p50": 0.6, "floor_p99": 1.0},
        "estop_latency_ms": {"p50": 2.9, "p99": 4.5, "flood_p50": 3.7, "flood_p99": 69.5},
        "cpu_ms_per_notification": {"1": 2.5, "8": 1.7},
        "rss_mb": {"1": 69.0, "8": 70.0},
        "startup_s": 1.0,
    }


def test_a_complete_result_lacks_nothing() -> None:
    """Every required key and sub-key present as a number: nothing reported missing."""
    assert report.missing_keys(complete()) == []


def test_missing_or_non_numeric_keys_are_named() -> None:
    """An absent key, an absent sub-key and a boolean are each reported by dotted name."""
    results = complete()
    del results["startup_s"]
    del results["rss_mb"]["8"]
    results["estop_latency_ms"]["p99"] = True
    assert report.missing_keys(results) == ["estop_latency_ms.p99", "rss_mb.8", "startup_s"]


def test_null_is_allowed_where_a_figure_could_not_be_measured() -> None:
    """pyftms null (no Python 3.12 found) still makes a complete file; its target is unmeasured."""
    results = complete()
    results["decode_us"]["pyftms"] = None
    assert report.missing_keys(results) == []
    assert report.check_targets(results)["decode"] is None


def test_each_target_is_met_or_missed_against_its_limit() -> None:
    """Decode ratio >= 3, telemetry p99 <= floor + 2 ms, estop <= 20 ms with and without the
    command flood, RSS <= 50, startup <= 1."""
    assert report.check_targets(complete()) == {
        "decode": True, "telemetry": False, "estop": True, "estop_flood": False, "rss": False,
        "startup": True,
    }  # fmt: skip


def test_the_table_shows_every_figure_and_each_verdict() -> None:
    """The printed table names the missed targets with measured value and limit."""
    table = report.format_table(complete())
    assert "27.0 µs" in table
    assert "MISSED        RSS ≤ 50 MB with one treadmill (measured 69.0, limit 50.0)" in table
    assert "estop latency under a 1,000/s flood p50 / p99  3.7 / 69.5 ms" in table
    assert (
        "MISSED        estop p99 under a 1,000/s flood ≤ 20 ms (measured 69.5, limit 20.0)" in table
    )
    assert table.count("met ") == 3


def test_the_flood_figures_are_reported_but_not_required() -> None:
    """Issue 7's required keys stay as they were: a results file without the flood figures is
    complete, and their target is "not measured"."""
    results = complete()
    del results["estop_latency_ms"]["flood_p50"], results["estop_latency_ms"]["flood_p99"]
    assert report.missing_keys(results) == []
    assert report.check_targets(results)["estop_flood"] is None
    assert "not measured  estop p99 under a 1,000/s flood ≤ 20 ms" in report.format_table(results)


def test_a_missed_flood_target_says_what_limits_it() -> None:
    """The run's notes explain a missed estop-under-flood target (where to look, and why)."""
    results = {**complete(), "details": {}}
    notes = run.explain_misses(results)
    flood_notes = [n for n in notes if n.startswith("estop under a flood")]
    assert len(flood_notes) == 1
    assert "details.estop_flood" in flood_notes[0]


def test_the_committed_results_file_has_every_key() -> None:
    """benchmarks/results.json, as committed from the last `make bench`, has every key and notes."""
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert report.missing_keys(results) == []
    assert results["notes"], "results.json must explain its method and any missed target"
    assert results["meta"]["reproduce"].startswith("make bench")


def test_a_frame_a_decoder_rejects_is_named_with_its_error() -> None:
    """`accepted` gives None for a frame that decodes and the error text for one that does not."""

    def strict(data: bytes, _ext: bool) -> object:
        if len(data) < 4:
            raise ValueError("too short")
        return data

    frame = compare.Frame("short", b"\x00\x00", False, "made up")
    assert compare.accepted(strict, frame) == "ValueError: too short"
    assert compare.accepted(strict, frame._replace(data=b"\x00" * 4)) is None


def test_python_search_skips_what_does_not_run_or_is_not_3_12(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing interpreter and a 3.11 are passed over, each with the reason."""
    monkeypatch.setattr(
        pyftms_env, "candidates", lambda: ["/nonexistent/python3.12", sys.executable]
    )
    chosen, passed_over = pyftms_env.find_python()
    if sys.version_info[:2] == (3, 12):
        pytest.skip("the test interpreter is itself a 3.12")
    assert chosen is None
    assert passed_over[0] == "/nonexistent/python3.12 does not run"
    assert passed_over[1].startswith(f"{sys.executable} is 3.")


def test_a_missing_broker_is_one_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without mosquitto the harness stops at once and says how to install it."""
    monkeypatch.setattr(procs.shutil, "which", lambda _name: None)
    with pytest.raises(procs.BenchError, match=r"apt-get install mosquitto"):
        procs.mosquitto_binary(fallback=tmp_path / "mosquitto")


def test_a_target_met_by_a_hair_is_flagged_as_a_close_call() -> None:
    """Within 10 % of its limit a met target is a close call (telemetry 2.9 against 3.0 here)."""
    results = complete()
    results["telemetry_latency_ms"]["p99"] = 2.9
    assert report.check_targets(results)["telemetry"] is True
    assert report.close_calls(results) == ["telemetry", "startup"]


def test_the_daemon_environment_holds_the_runtime_dependencies_and_bumble_only() -> None:
    """The daemon is measured as a Pi install plus the virtual radio: every runtime dependency
    of pyproject.toml and the exact bumble pin, no test or demo tool (amqtt pulls in rich,
    which structlog would import)."""
    wanted = runtime_env.requirements()
    names = [re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0] for requirement in wanted]
    assert names[-1] == "bumble"
    assert "==" in wanted[-1]
    assert {"bleak", "aiomqtt", "pydantic-settings", "structlog"} <= set(names)
    assert not {"amqtt", "pytest", "hypothesis", "matplotlib", "rich"} & set(names)


def _printed_as(figure: float, numbers: list[str]) -> bool:
    """Whether one of `numbers` (as printed) is `figure` rounded to that number's decimals."""
    for text in numbers:
        decimals = len(text.partition(".")[2])
        if abs(float(text) - figure) <= 0.5 * 10**-decimals + 1e-9:
            return True
    return False


def test_the_readme_shows_the_committed_figures() -> None:
    """README's "Reliability and performance" has every headline figure of results.json (as
    rounded there), the date of the run, each verdict, and the command that reproduces it."""
    readme = (RESULTS.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.partition("## Reliability and performance")[2].partition("\n## ")[0]
    assert section, "the README has no Reliability and performance section"
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    numbers = re.findall(r"\d+\.\d+", section)
    figures = {
        "decode_us.treadctl": results["decode_us"]["treadctl"],
        "decode_us.pyftms": results["decode_us"]["pyftms"],
        "decode ratio": results["decode_us"]["pyftms"] / results["decode_us"]["treadctl"],
        **{f"telemetry.{k}": v for k, v in results["telemetry_latency_ms"].items()},
        **{f"estop.{k}": v for k, v in results["estop_latency_ms"].items()},
        **{f"cpu.{k}": v for k, v in results["cpu_ms_per_notification"].items()},
        **{f"rss.{k}": v for k, v in results["rss_mb"].items()},
        "startup_s": results["startup_s"],
        "bluez rss": results["details"]["bluez_radio"]["rss_mb_3s_after_ready"],
        "bluez startup": results["details"]["bluez_radio"]["startup_s"],
    }
    stale = {name: value for name, value in figures.items() if not _printed_as(value, numbers)}
    assert stale == {}, f"README figures differ from benchmarks/results.json: {stale}"
    assert f"measured ({results['meta']['started'][:10]})" in section
    assert "make bench" in section
    for name, met in report.check_targets(results).items():
        if met is False:
            assert "**missed**" in section, name
