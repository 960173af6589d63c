"""Running grids on local worker processes: results, the store, retries, chunks, resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fragility import grid, sources, train
from fragility.attacks import PGD, robust_accuracy
from fragility.grid.coordinator import run
from fragility.grid.store import Store, StoreError
from fragility.metrics import calibration

TINY = """\
name = "tiny"
cache = false

[[models]]
name = "mlp"
lecture = { kind = "mlp", hidden = [16] }
train = { epochs = 3 }

[[models]]
name = "cnn"
lecture = { kind = "cnn", channels = [4] }
train = { epochs = 1 }

[[analyses]]
kind = "attack"
epsilons = [0.1, 0.2]
steps = 5
n = 60

[[analyses]]
kind = "garbage"
methods = ["survey"]
samples = 50
reference_images = 20
"""


def write(folder: Path, text: str, name: str = "g.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny grid run once on two local workers."""
    root = tmp_path_factory.mktemp("tiny")
    spec = grid.load(write(root, TINY))
    outcome = run(spec, root / "out", workers=2)
    return spec, root / "out", outcome


def test_every_job_finishes_and_stores_the_analysis_own_result(tiny_run, digits):
    _, out, outcome = tiny_run
    assert outcome.counts == {"pending": 0, "running": 0, "done": 6, "failed": 0}
    store = Store.open(out)
    rows = {r.id: r for r in store.jobs()}
    assert list(rows) == [
        "mlp/s0/train",
        "mlp/s0/attack",
        "mlp/s0/garbage",
        "cnn/s0/train",
        "cnn/s0/attack",
        "cnn/s0/garbage",
    ]
    ck = train.load(out / "models/mlp/s0")
    # The attack job's result is robust_accuracy(...).to_dict() on the trained checkpoint.
    curve = robust_accuracy(
        ck.model, digits.x_test[:60], digits.y_test[:60], PGD(steps=5), (0.0, 0.1, 0.2), seed=0
    )
    assert rows["mlp/s0/attack"].result == json.loads(json.dumps(curve.to_dict()))
    # The train job measured the model it saved, and recorded the hashes it ran on.
    logits = train.predict(ck.model, digits.x_test)
    ev = rows["mlp/s0/train"].result["evaluation"]
    assert ev["calibration"]["ece"] == calibration(logits, digits.y_test).ece
    assert ev["n"] == len(digits.y_test)
    weights = sources.weights_hash(ck.model.state_dict())
    assert rows["mlp/s0/train"].weights_hash == weights == rows["mlp/s0/attack"].weights_hash
    assert {r.data_hash for r in rows.values()} == {digits.hash}
    assert rows["mlp/s0/train"].artefacts == ("models/mlp/s0",)
    # Timings are stored beside results, never in them.
    assert all(r.seconds > 0 and r.finished >= r.started for r in rows.values())
    assert "seconds" not in json.dumps(rows["mlp/s0/train"].result)
    # A log per job, each with its one attempt.
    log = (out / "logs/cnn/s0/garbage.log").read_text()
    assert log.startswith("== cnn/s0/garbage: started") and "done in" in log
    assert [a["status"] for a in store.attempts()] == ["done"] * 6
    assert [r["status"] for r in store.runs()] == ["finished"]
    store.close()


def test_a_finished_grid_is_not_run_twice_and_resume_runs_nothing(tiny_run):
    spec, out, _ = tiny_run
    with pytest.raises(grid.GridError, match="already holds a grid; add --resume"):
        run(spec, out, workers=1)
    before = {r.id: (r.result, r.finished) for r in Store.open(out).jobs()}
    again = run(spec, out, workers=1, resume=True)
    assert again.counts["done"] == 6 and again.new_jobs == 0
    store = Store.open(out)
    assert {r.id: (r.result, r.finished) for r in store.jobs()} == before
    assert len(store.attempts()) == 6  # no job started again
    assert [r["status"] for r in store.runs()] == ["finished", "finished"]


def test_resume_refuses_a_grid_whose_settings_changed(tiny_run, tmp_path):
    _, out, _ = tiny_run
    changed = grid.load(write(tmp_path, TINY.replace("steps = 5", "steps = 6")))
    with pytest.raises(StoreError, match=r"job mlp/s0/attack .* was made with other settings"):
        run(changed, out, workers=1, resume=True)


def test_a_monte_carlo_sweep_split_in_chunks_equals_the_whole_sweep(tmp_path):
    from scenarios import spec as scenario_spec
    from scenarios import sweep

    runs = 2 * sweep.BLOCK + 57
    text = (
        'name = "mc"\nseeds = [7]\n[[analyses]]\nkind = "scenario"\nname = "tempe"\n'
        f'scenario = "tempe-2018-monte-carlo"\nruns = {runs}\nchunk_runs = 4096\n'
    )
    outcome = run(grid.load(write(tmp_path, text)), tmp_path / "out", workers=2)
    assert outcome.counts["done"] == 4  # three chunks and the merge
    store = Store.open(tmp_path / "out")
    merged = store.job("scenario/tempe/s7").result
    whole = sweep.sweep(scenario_spec.load("tempe-2018-monte-carlo"), runs=runs, seed=7)
    assert merged == json.loads(json.dumps(whole.to_dict()))
    assert [store.job(f"scenario/tempe/s7/chunk-{i:03d}").result["runs"] for i in range(3)] == [
        4096,
        4096,
        57,
    ]


FLAKY = """\
import os
from pathlib import Path

import torch


def build(marker: str, how: str = "raise"):
    if not Path(marker).exists():  # the first call fails, the next ones work
        Path(marker).touch()
        if how == "exit":
            os._exit(3)  # the worker process dies
        raise RuntimeError("flaky on first call")
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))


def broken():
    raise ValueError("this factory never works")
"""


def _factory_grid(tmp_path: Path, how: str, retries: int) -> str:
    (tmp_path / "net.py").write_text(FLAKY)
    return f"""\
name = "f"
retries = {retries}

[[models]]
name = "flaky"
factory = "net.py:build"
factory_args = {{ marker = "{tmp_path / "marker"}", how = "{how}" }}

[[models]]
name = "broken"
factory = "net.py:broken"

[[analyses]]
kind = "corruptions"
corruptions = ["shot noise"]
n = 30
"""


@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failed_or_lost_job_is_retried_and_one_that_keeps_failing_is_reported(tmp_path, how):
    spec = grid.load(write(tmp_path, _factory_grid(tmp_path, how, retries=1)))
    outcome = run(spec, tmp_path / "out", workers=1)
    store = Store.open(tmp_path / "out")
    flaky = [a for a in store.attempts() if a["job"].startswith("flaky/")]
    bad = [a for a in flaky if a["status"] != "done"]
    assert len(flaky) == 3 and len(bad) == 1  # one job failed once, then both finished
    assert bad[0]["status"] == ("lost" if how == "exit" else "failed")
    expected = "worker process died" if how == "exit" else "flaky on first call"
    assert expected in bad[0]["error"]
    assert store.job("flaky/s0/corruptions").status == "done"
    assert store.job("flaky/s0/evaluate").status == "done"
    broken = store.job("broken/s0/evaluate")
    assert broken.status == "failed" and broken.attempts == 2  # tried, then retried once
    assert "this factory never works" in broken.error
    assert dict(outcome.failed) == {
        "broken/s0/evaluate": broken.error,
        "broken/s0/corruptions": store.job("broken/s0/corruptions").error,
    }
    log = (tmp_path / "out/logs/broken/s0/evaluate.log").read_text()
    assert log.count("failed after") == 2


def _poll(db: Path, done: int, timeout_s: float = 600.0) -> None:
    """Wait until `done` jobs are done and one is running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as con:
                counts = dict(con.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status"))
            if counts.get("done", 0) >= done and counts.get("running", 0) >= 1:
                return
        time.sleep(0.05)
    raise AssertionError(f"the grid did not reach {done} done jobs in {timeout_s} s")


def test_a_grid_killed_mid_run_resumes_losing_and_recomputing_nothing(tmp_path, tiny_run):
    """SIGTERM (as Ctrl-C), then SIGKILL of the whole process group (as a crash), then the
    rest: every job ends done exactly once, and the results equal an uninterrupted run's."""
    path = write(tmp_path, TINY)
    out = tmp_path / "out"
    env = {**os.environ, "FRAGILITY_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "fragility", "grid", str(path), "--out", str(out)]
    db = out / "grid.sqlite"

    def start(*extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*cmd, "--workers", "1", *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def snapshot() -> dict:
        store = Store.open(out)
        try:
            return {r.id: (r.result, r.finished, r.attempts) for r in store.jobs("done")}
        finally:
            store.close()

    first = start()
    _poll(db, done=2)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 143  # fragility's exit status for SIGTERM
    after_first = snapshot()
    assert len(after_first) >= 2

    second = start("--resume")
    _poll(db, done=len(after_first) + 1)
    os.killpg(second.pid, signal.SIGKILL)  # the coordinator and its workers, no cleanup
    second.wait(timeout=60)
    after_second = snapshot()
    assert len(after_second) > len(after_first)
    for job, kept in after_first.items():
        assert after_second[job] == kept

    third = start("--resume")
    assert third.wait(timeout=600) == 0, third.stderr.read().decode()
    store = Store.open(out)
    final = {r.id: (r.result, r.finished, r.attempts) for r in store.jobs()}
    assert len(final) == 6 and all(r.status == "done" for r in store.jobs())
    for job, kept in after_second.items():
        assert final[job] == kept  # finished jobs were never run again
    attempts = store.attempts()
    assert sum(a["status"] == "done" for a in attempts) == 6  # each job computed once
    lost = [a for a in attempts if a["status"] == "lost"]
    # At most the one job running at each stop was lost, and it was done later, once.
    assert len(lost) <= 2 and all(a["job"] not in after_first for a in lost[:1])
    assert all(a["status"] in ("done", "lost") for a in attempts)
    assert [r["status"] for r in store.runs()] == ["interrupted", "died", "finished"]
    # Nothing was lost either: the numbers are those of the uninterrupted run.
    reference = Store.open(tiny_run[1])
    assert {r.id: r.result for r in store.jobs()} == {r.id: r.result for r in reference.jobs()}


def test_workers_take_the_model_cache_the_caller_names_now(tmp_path, monkeypatch):
    """Local workers fork from a server started by an earlier grid; the FRAGILITY_* settings
    of the run still reach them."""
    text = TINY.replace("cache = false", "cache = true").split('\n[[models]]\nname = "cnn"')[0]
    text += '\n[[analyses]]\nkind = "attack"\nepsilons = [0.1]\nsteps = 1\nn = 5\n'
    monkeypatch.setenv("FRAGILITY_CACHE", str(tmp_path / "cache"))
    outcome = run(grid.load(write(tmp_path, text)), tmp_path / "out", workers=1)
    assert outcome.counts["done"] == 2
    assert len(list((tmp_path / "cache" / "models").iterdir())) == 1


def test_a_script_without_a_main_guard_gets_told_what_to_do(tmp_path):
    """Workers import the script that started them (multiprocessing's forkserver); one that
    runs a grid at import cannot start them, and the error says how to fix it."""
    grid_file = write(tmp_path, TINY)
    script = tmp_path / "script.py"
    script.write_text(
        "from fragility import grid\n"
        f"grid.run(grid.load({str(grid_file)!r}), {str(tmp_path / 'out')!r}, workers=1)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode != 0
    assert 'put the call under `if __name__ == "__main__":`' in done.stderr


def test_a_sensitivity_analysis_split_in_chunks_equals_the_whole_run(tmp_path):
    from scenarios import sensitivity

    names = ["volvo-aeb", "no-suppression"]
    text = (
        'name = "sens"\nseeds = [4]\n[[analyses]]\nkind = "sensitivity"\nname = "aeb"\n'
        f"scenarios = {json.dumps(names)}\nruns = 700\nchunk_runs = 300\n"
    )
    outcome = run(grid.load(write(tmp_path, text)), tmp_path / "out", workers=2)
    assert outcome.counts["done"] == 4  # worlds 0-299, 300-599, 600-699, and the merge
    store = Store.open(tmp_path / "out")
    whole = sensitivity.run(names, runs=700, seed=4)
    assert store.job("sensitivity/aeb/s4").result == json.loads(json.dumps(whole.to_dict()))
    parts = [store.job(f"sensitivity/aeb/s4/chunk-{i:03d}").result["worlds"] for i in range(3)]
    assert parts == [[0, 300], [300, 600], [600, 700]]
