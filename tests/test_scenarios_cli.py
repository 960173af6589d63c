"""fragility scenario ... end to end, the figures, and the case-study page."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from fragility.cli import main


def test_list_names_the_packaged_scenarios(capsys):
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    assert "tempe-2018 " in out and "Tempe 2018, as it happened" in out
    assert 'tracking.policy = "persistent" (was "reset-on-reclassify")' in out
    assert "no-suppression + planner.emergency_braking = true (was false)" in out
    assert "Monte Carlo, 100,000 run(s) per cell" in out


def test_run_writes_summary_trace_and_figures(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["scenario", "run", "tempe-2018", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(
        "tempe-2018: hit at 39.1 mph (this run)\nfirst detection 5.60 s, first "
        "predicted conflict 1.20 s, braking 0.20 s (ADS slowdown)"
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["collision"] is True and summary["track_resets"] == 10
    assert summary["impact_speed_mph"] == pytest.approx(39.12, abs=0.01)
    assert summary["time_of_first_hazard_s"] == -1.2 and summary["brake_onset_s"] == -0.2
    assert summary["stopping_margin_m"] == 0.0
    assert summary["inputs"]["pedestrian.speed_mps"]["certainty"] == "U"
    assert summary["inputs"]["planner.suppression_s"]["certainty"] == "Q"
    assert summary["plausible_worlds"] is None  # the record itself, not a counterfactual
    assert "[U]" in summary["speed_profile"]
    trace = json.loads((out / "trace.json").read_text())
    steps = trace["steps"]
    assert len(steps) == 301 and steps[0]["t_s"] == -6.0
    first = next(s for s in steps if s["detection"])
    assert first["t_s"] == -5.6 and first["detection"]["class"] == "vehicle"
    assert {"suv", "pedestrian", "track", "prediction", "planner"} <= set(first)
    for name in ("timeline.png", "birdseye.png", "speed.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    from PIL import Image

    with Image.open(out / "birdseye.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames > 50


def test_run_of_a_counterfactual_and_explain(tmp_path, capsys):
    out = tmp_path / "cf"
    argv = [
        "scenario",
        "run",
        "persistent-tracking",
        "--out",
        str(out),
        "--no-gif",
        "--runs",
        "512",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "persistent-tracking: avoided, 4.6 m to spare (this run)" in printed
    assert re.search(r"over the plausible worlds: avoided in \d+ % \(\d+-\d+ %\) of", printed)
    summary = json.loads((out / "summary.json").read_text())
    worlds = summary["plausible_worlds"]
    assert worlds["avoided"]["interval"] == "Wilson score, 95 %"
    assert 0 < worlds["avoided"]["p"] < 1 and worlds["avoided"]["n"] > 20
    assert summary["changes"] == [
        {"key": "tracking.policy", "was": "reset-on-reclassify", "now": "persistent"}
    ]
    assert summary["inputs"]["tracking.policy"]["certainty"] == "what-if"
    assert not (out / "birdseye.gif").exists()
    assert main(["scenario", "explain", "tempe-2018"]) == 0
    text = capsys.readouterr().out
    assert "  1.20 s  [sim]  planner: collision judged imminent; 1 s of action suppression" in text
    assert '  5.60 s  [  P]  radar sees "vehicle"' in text
    assert "record: impact: the SUV's right front strikes the pedestrian" in text
    assert "IMPACT at 39.1 mph" in text and "10 history resets" in text
    assert "[sim: lane widths are U]" in text  # where she is comes from assumed widths
    assert "The record, for comparison" not in text  # the record run interleaves its record


def test_explain_of_a_counterfactual_keeps_the_record_apart_and_ends_on_its_own_time(capsys):
    assert main(["scenario", "explain", "persistent-tracking", "--runs", "512"]) == 0
    text = capsys.readouterr().out
    timeline, record = text.split("The record, for comparison")
    assert "record:" not in timeline  # no re-timed record rows in the run's own timeline
    assert "IMPACT" not in timeline and "suppression begins" not in timeline.split("t =  -4.10")[1]
    lines = [line for line in timeline.splitlines() if line.startswith("  t = ")]
    assert lines[-1] == "  t =  +6.00 s  [sim]  the run ends: avoided, 4.6 m to spare"
    assert "  0.00 s  [  Q]  record: impact" in record
    assert re.search(r"Over the plausible worlds: avoided in \d+ % \(\d+-\d+ %\)", text)


def test_compare_prints_the_counterfactual_table_and_writes_it(tmp_path, capsys):
    out_dir = tmp_path / "cmp"
    argv = ["scenario", "compare", "no-suppression", "persistent-tracking", "--out", str(out_dir)]
    assert main([*argv, "--runs", "512"]) == 0
    out = capsys.readouterr().out
    assert "as it happened: hit at 39.1 mph" in out
    assert "only lowers the impact speed, to 34.4 mph" in out
    assert "avoids the crash, 4.6 m to spare" in out
    data = json.loads((out_dir / "compare.json").read_text())
    assert data["base"]["impact_speed_mph"] == pytest.approx(39.12, abs=0.01)
    rows = {r["name"]: r for r in data["counterfactuals"]}
    assert list(rows) == ["no-suppression", "persistent-tracking"]
    assert rows["no-suppression"]["impact_speed_mph"] == pytest.approx(34.4, abs=0.05)
    assert rows["persistent-tracking"]["collision"] is False
    assert rows["persistent-tracking"]["margin_m"] == pytest.approx(4.6, abs=0.05)
    # every single-run verdict stands beside its share of the plausible worlds
    assert "avoided, plausible worlds" in out and "Wilson" in out
    tracked = rows["persistent-tracking"]["plausible"]["avoided"]
    assert 0.3 < tracked["p"] < 0.95 and tracked["low"] < tracked["p"] < tracked["high"]
    assert rows["no-suppression"]["plausible"]["avoided"]["p"] < 0.05  # it never avoids
    assert data["plausible_worlds"]["runs"] == 512
    assert (out_dir / "speed.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in out_dir.iterdir()) == ["compare.json", "speed.png"]


def test_sweep_writes_json_and_heatmaps(tmp_path, capsys):
    f = tmp_path / "tiny.toml"
    f.write_text(
        'extends = "tempe-2018"\n[perception]\nmode = "flicker"\n[sweep]\nruns = 16\n'
        '[sweep.grid]\n"perception.flicker.rate_hz" = [0.0, 8.0]\n'
        '"tracking.policy" = ["reset-on-reclassify", "persistent"]\n'
    )
    out = tmp_path / "sw"
    assert main(["scenario", "sweep", str(f), "--out", str(out), "--quiet", "--save-runs"]) == 0
    assert "64 runs in" in capsys.readouterr().out
    data = json.loads((out / "sweep.json").read_text())
    probs = {
        (c["values"]["perception.flicker.rate_hz"], c["values"]["tracking.policy"]): c[
            "collision_probability"
        ]
        for c in data["cells"]
    }
    # No flicker: one history, her motion is trusted, no crash; heavy flicker: every run
    # crashes unless the history is kept.
    assert probs[(0.0, "reset-on-reclassify")] == 0.0 == probs[(8.0, "persistent")]
    assert probs[(8.0, "reset-on-reclassify")] == 1.0
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG" and (out / "runs.npz").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["scenario", "run", "{tmp}/bad.toml", "--out", "{tmp}/o"],
            "bad.toml:3: planner.x: unknown key",
        ),
        (["scenario", "explain", "tempe-2019"], "tempe-2019: no such scenario file"),
        (["scenario", "sweep", "tempe-2018", "--out", "{tmp}/o"], "has no [sweep] table"),
        (
            ["scenario", "sensitivity", "volvo-aeb", "--out", "{tmp}/o", "--runs", "2000000"],
            "runs: 2,000,000 is outside",
        ),
    ],
)
def test_a_bad_file_exits_2_with_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "bad.toml").write_text('extends = "tempe-2018"\n[planner]\nx = 1\n')
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_case_study_writes_every_page_figure_and_data_file(tmp_path, capsys):
    out = tmp_path / "case"
    argv = ["scenario", "case-study", "--out", str(out), "--runs", "64"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("case study (instructor): index.html, handout.html, roles.html, ")
    assert "plausible worlds of 64 drawn (seed 0), with the false-alarm trade-off" in printed
    names = {p.name for p in out.iterdir()}
    assert names == {
        "index.html",
        "handout.html",
        "roles.html",
        "instructor.html",
        "figures",
        "facts.json",
        "metrics.json",
    }
    page = (out / "index.html").read_text()
    for heading in (
        "What happened",
        "What the NTSB found",
        "The people and their roles",
        "The operator&#39;s attention, beside the system&#39;s",
        "From decision to outcome: the chain",
        "How sure: the outcomes over the plausible worlds",
        "The cost of false alarms",
        "The scenario lines",
        "Frameworks: SOTIF, UL 4600, SAE J3016, ACM Code",
        "From the lecture&#39;s networks to the crash",
        "What followed",
        "Questions for discussion",
        "Exercise: change the scenario and defend it",
        "Glossary",
        "Sources and certainty",
    ):
        assert heading in page
    # Every figure on the page is also a file.
    figures = sorted(p.stem for p in (out / "figures").iterdir())
    assert figures == [
        "case-attention",
        "case-birdseye",
        "case-outcomes",
        "case-speed",
        "case-timeline",
        "case-tornado",
        "case-tradeoff",
    ]
    assert page.count("<img ") == len(figures) and "<script" not in page
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["index"]["replay"]["impact_speed_mph"] == pytest.approx(39.119625, abs=1e-3)
    # Every outcome is the probability scenario sensitivity gives for the same worlds, with its
    # interval, on the page and in the handout's table.
    from fragility._fmt import share_interval
    from scenarios import counterfactuals, sensitivity
    from scenarios.case_study import chain

    expected = sensitivity.run(list(counterfactuals.COUNTERFACTUALS), runs=64, seed=0)
    assert metrics["outcomes_basis"] == "probability over plausible values"
    assert set(metrics["outcomes"]) == set(counterfactuals.COUNTERFACTUALS)
    handout = (out / "handout.html").read_text()
    for name, p in expected.probabilities().items():
        got = metrics["outcomes"][name]
        assert [got[k] for k in ("p_avoid", "low", "high", "runs")] == pytest.approx(
            [p[k] for k in ("p_avoid", "low", "high", "runs")]
        ), name
        shown = share_interval(p["p_avoid"], p["low"], p["high"])
        assert f">{shown}</td>" in page, name  # the table of every counterfactual
        if name in {n for link in chain.LINKS for n in link.counterfactuals}:
            assert f"avoided in {shown}" in handout, name
    facts = json.loads((out / "facts.json").read_text())
    assert facts["sources"]["ntsb-har-19-03"]["url"].endswith("HAR1903.pdf")
    assert facts["responsibility"]["probable-cause"]["certainty"] == "Q"


def test_case_study_for_students_leaves_out_the_instructor_notes(tmp_path, capsys):
    out = tmp_path / "case"
    argv = ["scenario", "case-study", "--out", str(out), "--runs", "16", "--audience", "students"]
    assert main(argv) == 0
    assert not (out / "instructor.html").exists()
    for page in ("index.html", "handout.html", "roles.html"):
        assert 'class="note note-instructor"' not in (out / page).read_text()


def test_case_study_rejects_an_unknown_audience(tmp_path, capsys):
    argv = ["scenario", "case-study", "--out", str(tmp_path / "o"), "--audience", "teachers"]
    assert main(argv) == 2 and "invalid choice: 'teachers'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_no_pyplot_no_backend_and_scenarios_imported_lazily():
    # rcParams read raw: matplotlib.get_backend() would itself import pyplot to resolve it.
    code = (
        "import sys, matplotlib; raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend'); "
        "b = raw(); import fragility.cli as c; c.build_parser(); "
        "assert 'scenarios' not in sys.modules, 'imported eagerly'; "
        "import scenarios.figures, scenarios.case_study, scenarios.sweep; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot'; assert raw() == b, 'backend'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_sensitivity_writes_json_tornado_and_histograms(tmp_path, capsys):
    out = tmp_path / "sens"
    argv = ["scenario", "sensitivity", "persistent-tracking", "volvo-aeb", "--out", str(out)]
    assert main([*argv, "--runs", "600", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "planner.motion_trust_s" in printed  # the input that decides persistent tracking
    assert "outside record [U] Volvo's own simulations" in printed
    data = json.loads((out / "sensitivity.json").read_text())
    assert data["runs"] == 600 and data["method"]["plausible"]["impact_mph"] == [38.0, 40.0]
    names = [s["name"] for s in data["scenarios"]]
    assert names == ["persistent-tracking", "volvo-aeb"]
    row = data["scenarios"][0]
    assert row["single_run"]["outcome"] == "avoided, 4.6 m to spare"
    assert row["avoided"]["low"] <= row["avoided"]["p"] <= row["avoided"]["high"]
    assert row["headline"].startswith("avoided in ")
    assert {"key", "index", "low", "high"} <= set(row["importance"][0])
    inputs = {u["key"]: u for u in data["inputs"]}
    assert "Green (2000)" in inputs["operator.attentive_reaction_s"]["why"]
    assert [o["fact"] for o in data["outside_record"]][:1] == ["volvo-simulation"]
    for name in ("tornado.png", "outcomes.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert main(["scenario", "sensitivity", "--out", str(tmp_path / "x")]) == 2
    assert "--all-counterfactuals" in capsys.readouterr().err


def test_scenario_commands_do_not_import_torch(tmp_path):
    code = (
        "import sys; from fragility.cli import main; "
        f"main(['scenario', 'explain', 'volvo-aeb', '--runs', '64']); "
        f"main(['scenario', 'sensitivity', 'volvo-aeb', '--runs', '64', '--quiet', "
        f"'--out', {str(tmp_path / 's')!r}]); "
        f"main(['scenario', 'case-study', '--runs', '16', '--out', {str(tmp_path / 'c')!r}]); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
