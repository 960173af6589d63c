"""fragility grid and fragility leaderboard on the command line: errors on one line with exit
status 2, a small grid end to end, and the leaderboard of its folder."""

from __future__ import annotations

import json
import sys

from fragility.cli import main

SCENARIO = """\
name = "mc"
[[analyses]]
kind = "scenario"
scenario = "tempe-2018-monte-carlo"
runs = 300
"""


def fails(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_user_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[analyses]]\nkind = "attack"\nepsilonz = [0.1]\n')
    out = tmp_path / "out"
    err = fails(["grid", str(bad), "--out", str(out)], capsys)
    assert f"{bad}:3: analyses[0].epsilonz: unknown key (did you mean epsilons?)" in err
    err = fails(["grid", "digits-smal", "--out", str(out)], capsys)
    assert "no such grid file" in err and "digits-small" in err
    err = fails(["leaderboard", str(tmp_path)], capsys)
    assert "holds no grid" in err
    (out / "x").mkdir(parents=True)
    good = tmp_path / "mc.toml"
    good.write_text(SCENARIO)
    err = fails(["grid", str(good), "--out", str(out)], capsys)
    assert "is not empty and holds no grid" in err
    assert sorted(p.name for p in out.iterdir()) == ["x"]


def test_workers_and_ray_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    good = tmp_path / "mc.toml"
    good.write_text(SCENARIO)
    err = fails(["grid", str(good), "--out", str(tmp_path / "o"), "--workers", "0"], capsys)
    assert "--workers: expected a number of worker processes from 1" in err
    err = fails(
        ["grid", str(good), "--out", str(tmp_path / "o"), "--workers", "2", "--ray", "auto"],
        capsys,
    )
    assert "not allowed with argument" in err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    err = fails(["grid", str(good), "--out", str(tmp_path / "o"), "--ray", "auto"], capsys)
    assert "pip install 'fragility[ray]'" in err


def test_a_grid_runs_end_to_end_and_its_leaderboard_is_written(tmp_path, capsys):
    good = tmp_path / "mc.toml"
    good.write_text(SCENARIO)
    out = tmp_path / "out"
    assert main(["grid", str(good), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    said = capsys.readouterr()
    assert "grid mc: 2 of 2 jobs done, 0 failed" in said.out
    assert said.err == ""
    board = json.loads((out / "leaderboard" / "leaderboard.json").read_text())
    (scenario,) = board["scenarios"]
    assert scenario["result"]["runs_per_cell"] == 300
    assert "collision" in (out / "leaderboard" / "index.html").read_text()
    assert main(["leaderboard", str(out), "--out", str(tmp_path / "lb")]) == 0
    assert (tmp_path / "lb" / "leaderboard.csv").read_text().startswith("rank,model")
    assert main(["grid", str(good), "--out", str(out), "--resume", "--quiet"]) == 0
    assert "2 of 2 jobs done" in capsys.readouterr().out


def test_resuming_with_another_seed_runs_only_the_new_jobs(tmp_path, capsys):
    from fragility.grid.store import Store

    path = tmp_path / "mc.toml"
    path.write_text(SCENARIO)
    out = tmp_path / "out"
    assert main(["grid", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    before = {r.id: (r.result, r.finished) for r in Store.open(out).jobs()}
    path.write_text(SCENARIO.replace('name = "mc"', 'name = "mc"\nseeds = [0, 1]'))
    assert main(["grid", str(path), "--out", str(out), "--resume", "--quiet"]) == 0
    assert "4 of 4 jobs done" in capsys.readouterr().out
    store = Store.open(out)
    assert {r.id: (r.result, r.finished) for r in store.jobs() if r.id in before} == before
    assert sorted(a["job"] for a in store.attempts()) == sorted(r.id for r in store.jobs())
    # The seeds' results differ: the new jobs ran with their own seed.
    merged = [store.job(f"scenario/scenario/s{s}").result for s in (0, 1)]
    assert merged[0]["seed"] == 0 and merged[1]["seed"] == 1
    assert merged[0]["cells"] != merged[1]["cells"]
