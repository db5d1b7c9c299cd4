"""`treadctl plan` and `treadctl sessions`: output, flags, files and one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from treadctl import cli
from treadctl.workout.recorder import SessionRecorder

PHASE_KEYS = {
    "start_s",
    "end_s",
    "kind",
    "direction",
    "speed_kmh_start",
    "speed_kmh_end",
    "incline_pct",
    "incline_pct_start",
    "step",
    "step_name",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_prints_a_table_with_totals(capsys: pytest.CaptureFixture[str]) -> None:
    """`treadctl plan first-timer` prints the settings, the phases and the totals."""
    code, out, _ = run(capsys, "plan", "first-timer")
    assert code == 0
    assert out.startswith("First-timer, week 1 (")
    assert "limits: backward ≤ 2.0 km/h" in out
    assert "turn   backward           0.0" in out
    assert "total 10:28 · backward 5:01 · forward 5:07 · distance ≈ 399 m · 2 turns" in out


def test_plan_json_has_the_documented_phase_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` prints phases with start_s, end_s, kind, direction, speeds, incline, step."""
    code, out, _ = run(capsys, "plan", "knee-friendly", "--json")
    assert code == 0
    plan = json.loads(out)
    assert {phase.keys() == PHASE_KEYS for phase in plan["phases"]} == {True}
    assert {p["kind"] for p in plan["phases"]} == {"steady", "ramp", "turn"}
    assert plan["totals"]["turns"] == 2
    assert max(p["incline_pct"] for p in plan["phases"]) == 2.5


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plan_plot_writes_a_file(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--plot FILE.png|svg` draws speed, incline and direction to the file."""
    target = tmp_path / f"plan{suffix}"
    code, out, _ = run(capsys, "plan", "intermediate-intervals", "--plot", str(target))
    assert code == 0
    assert target.stat().st_size > 1000
    assert out.rstrip().endswith(f"plot written to {target}")


def test_plan_plot_needs_png_or_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Another suffix is refused in one line."""
    code, _, err = run(capsys, "plan", "first-timer", "--plot", str(tmp_path / "plan.txt"))
    assert code == 2
    assert err.strip().endswith("plan.txt: the plot must be a .png or .svg file")


def test_plan_names_the_step_over_the_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dry run with a lower backward cap refuses the first-timer's backward step by name."""
    code, _, err = run(capsys, "plan", "first-timer", "--backward-max-kmh", "1.5")
    assert code == 2
    assert (
        'step 2 "Backward walk", speed_kmh: requested 1.8 km/h is above the backward cap 1.5' in err
    )
    assert err.count("\n") == 1


def test_plan_device_flags_fit_the_steps(capsys: pytest.CaptureFixture[str]) -> None:
    """Device flags change the fit: a flat pad plays inclines level and says so."""
    code, out, _ = run(
        capsys, "plan", "knee-friendly", "--device-max-incline-pct", "0", "--no-pause"
    )
    assert code == 0
    assert "no incline, ≥ 0.5 s between commands, no Pause (Stop instead)" in out
    assert 'step 3 "Backward, gentle incline": incline 2.5 % played level (no incline)' in out


def test_plan_turn_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """Turn flags: a site with auto-resume and a 15 s countdown."""
    code, out, _ = run(capsys, "plan", "first-timer", "--auto-resume", "--countdown-s", "15")
    assert code == 0
    assert "resume by itself after 15 s" in out


def test_plan_takes_limits_from_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--config FILE` uses the site's [limits] and [turn]; flags can then only lower them."""
    config = tmp_path / "treadctl.toml"
    config.write_text(
        '[[treadmill]]\nid = "t1"\nname = "Lane 1"\n'
        "[limits]\nbackward_max_kmh = 2.0\n[turn]\nhold_s = 20\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "plan", "first-timer", "--config", str(config))
    assert code == 0
    assert "hold ≥ 20 s" in out
    raised = ("--backward-max-kmh", "3.0")
    code, _, err = run(capsys, "plan", "knee-friendly", "--config", str(config), *raised)
    assert code == 2
    assert "backward cap 2.0 km/h" in err


def test_plan_unknown_workout(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown name lists the bundled workouts."""
    code, _, err = run(capsys, "plan", "marathon")
    assert code == 2
    assert "marathon: no such file, and no bundled workout of that name (" in err
    assert "first-timer" in err


def record(state_dir: Path, workout: str, *, summary: bool) -> SessionRecorder:
    recorder = SessionRecorder(state_dir, workout=workout, treadmill_id="lane-1")
    recorder.open(100.0)
    recorder.record("setpoint", 100.5, {"command": "set_speed", "speed_kmh": 1.5})
    for t in range(101, 161):
        recorder.record(
            "telemetry", float(t), {"speed_kmh": 3.6, "direction": "backward", "step": 1}
        )
    recorder.record("event", 160.0, {"event": "workout_finished", "completed": True})
    if summary:
        recorder.close(160.0, {"state": "finished", "duration_s": 60.0, "backward_s": 59.0,
                               "distance_m": 59.0})  # fmt: skip
    else:
        recorder.close()
    return recorder


def test_sessions_list_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`sessions list` shows each session; `export ID --csv` writes its records."""
    done = record(tmp_path, "First-timer", summary=True)
    code, out, _ = run(capsys, "sessions", "--state-dir", str(tmp_path), "list")
    assert code == 0
    assert done.id in out
    assert "finished" in out
    code, out, _ = run(capsys, "sessions", "--state-dir", str(tmp_path), "export", done.id, "--csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "t_s,type,step,direction,speed_kmh,incline_pct,distance_m,heart_rate_bpm,energy_kcal,"
        "steps,command,event,detail"
    )
    assert lines[1] == "0.5,setpoint,,,1.5,,,,,,set_speed,,"
    assert lines[2] == "1.0,telemetry,1,backward,3.6,,,,,,,,"
    assert lines[-1] == '60.0,event,,,,,,,,,,workout_finished,"{""completed"":true}"'
    target = tmp_path / "out.csv"
    code, _, _ = run(capsys, "sessions", "--state-dir", str(tmp_path), "export", done.id[:8],
                     "--csv", "-o", str(target))  # fmt: skip
    assert code == 0
    assert target.read_text(encoding="utf-8") == out


def test_sessions_cut_off_still_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A session cut off by a crash lists as such, with totals worked out from its records."""
    cut = record(tmp_path, "Balance", summary=False)
    with cut.path.open("a", encoding="utf-8") as file:
        file.write('{"type":"telem')
    code, out, err = run(capsys, "sessions", "--state-dir", str(tmp_path), "list")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith(cut.id))
    assert "cut off" in row
    assert " 0:59 " in row
    code, _, err = run(capsys, "sessions", "--state-dir", str(tmp_path), "export", cut.id, "--csv")
    assert code == 0
    assert "cut off (the session ended abruptly); skipped" in err


def test_sessions_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id, or no sessions at all, are said plainly."""
    code, out, _ = run(capsys, "sessions", "--state-dir", str(tmp_path), "list")
    assert (code, out.strip()) == (0, "no sessions recorded")
    code, _, err = run(capsys, "sessions", "--state-dir", str(tmp_path), "export", "nope", "--csv")
    assert code == 2
    assert "no session 'nope' (see treadctl sessions list)" in err


def test_plot_without_matplotlib_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without matplotlib (the Pi needs none), --plot fails in one line naming the extra."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    code, _, err = run(capsys, "plan", "first-timer", "--plot", str(tmp_path / "p.png"))
    assert code == 2
    assert "drawing needs matplotlib, an optional extra: pip install 'treadctl[plot]'" in err
    assert not (tmp_path / "p.png").exists()
