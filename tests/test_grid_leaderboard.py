"""The leaderboard: ranking, means over seeds, the exports and the page, from a store whose
numbers are set by hand."""

from __future__ import annotations

import csv
import io
import json

import pytest

from fragility.grid import leaderboard
from fragility.grid.jobs import Job
from fragility.grid.store import Store


def _job(model: str, seed: int, kind: str, analysis: str | None = None) -> Job:
    name = analysis or kind
    return Job(
        id=f"{model}/s{seed}/{name}",
        kind=kind,
        analysis=name,
        model=model,
        seed=seed,
        device="cpu",
        after=(),
        definition={"model": model, "kind": kind, "seed": seed},
    )


def _evaluation(acc: float, ece: float, **more) -> dict:
    ev = {"accuracy": acc, "calibration": {"ece": ece}, "n": 100, "loss": 0.1}
    return {"evaluation": ev, **more}


def _attack(acc: list[float]) -> dict:
    return {"attack": "PGD-5 Linf", "norm": "linf", "epsilons": [0.0, 0.1, 0.2],
            "robust_accuracy": acc}  # fmt: skip


def _garbage(mean_confidence: float) -> dict:
    families = {"test": {"mean_confidence": 0.99}, "uniform": {"mean_confidence": mean_confidence}}
    return {"survey": {"families": families}}


@pytest.fixture
def board_store(tmp_path):
    results = {
        # a: robust 0.30 at 0.2 over two seeds (0.2 and 0.4), clean 0.95
        ("a", 0, "train", None): _evaluation(0.94, 0.02, name="mlp 8-8-10"),
        ("a", 1, "train", None): _evaluation(0.96, 0.04, name="mlp 8-8-10"),
        ("a", 0, "attack", "pgd"): _attack([0.94, 0.6, 0.2]),
        ("a", 1, "attack", "pgd"): _attack([0.96, 0.7, 0.4]),
        ("a", 0, "garbage", None): _garbage(0.8),
        # b: the same robust accuracy, higher clean accuracy: ranks above a
        ("b", 0, "evaluate", None): _evaluation(
            0.99, 0.01, source={"kind": "torchvision", "arch": "resnet18"}, description="tv"
        ),
        ("b", 0, "attack", "pgd"): _attack([0.99, 0.5, 0.3]),
        ("b", 0, "report", "report"): {"sections": {}},
        # c: better robust accuracy, but only one seed and no garbage
        ("c", 0, "train", None): _evaluation(0.90, 0.05),
        ("c", 0, "attack", "pgd"): _attack([0.90, 0.8, 0.5]),
        # d: its attack failed: ranked last, its clean accuracy still shown
        ("d", 0, "train", None): _evaluation(0.97, 0.03),
    }
    jobs = [_job(m, s, k, a) for m, s, k, a in results]
    failed = _job("d", 0, "attack", "pgd")
    store = Store.create(
        tmp_path / "grid",
        {"grid": "hand", "title": "By hand", "description": "Numbers set by hand."},
        [*jobs, failed],
    )
    run = store.start_run("test", "local", 1)
    for job, (_, _, _, _) in zip(jobs, results, strict=True):
        store.started(job.id, run)
        outcome = {"status": "done", "result": json.dumps(results[_key(job)]), "started": 1.0,
                   "finished": 2.0, "seconds": 1.0}  # fmt: skip
        store.finished(job.id, outcome, final=True)
    store.started(failed.id, run)
    store.finished(failed.id, {"status": "failed", "error": "it <broke>"}, final=True)
    store.end_run(run, "finished")
    yield store
    store.close()


def _key(job: Job) -> tuple:
    analysis = None if job.analysis == job.kind and job.kind != "report" else job.analysis
    return (job.model, job.seed, job.kind, analysis)


def test_models_rank_by_robust_accuracy_at_the_largest_epsilon_then_clean_accuracy(board_store):
    board = leaderboard.build(board_store)
    assert board.rank_by == "pgd@0.2"
    assert [e.model for e in board.entries] == ["c", "b", "a", "d"]
    a = next(e for e in board.entries if e.model == "a")
    assert a.values["pgd@0.2"] == pytest.approx(0.3)  # the mean over its two seeds
    assert a.values["clean_accuracy"] == pytest.approx(0.95)
    assert a.values["ece"] == pytest.approx(0.03)
    assert a.per_seed[1]["pgd@0.1"] == 0.7
    assert a.values["garbage:uniform"] == 0.8
    c = next(e for e in board.entries if e.model == "c")
    assert c.values["garbage:uniform"] is None
    assert [col.key for col in board.columns] == [
        "clean_accuracy",
        "pgd@0.1",
        "pgd@0.2",
        "ece",
        "garbage:uniform",
    ]
    assert board.column("ece").better == "lower"
    assert board.failed == (("d/s0/pgd", "it <broke>"),)
    b = next(e for e in board.entries if e.model == "b")
    assert b.reports == ("reports/b/s0/report/index.html",)
    assert a.architecture == "mlp 8-8-10" and b.architecture == "resnet18"


def test_the_exports_hold_the_same_numbers_in_rank_order(board_store):
    board = leaderboard.build(board_store)
    rows = list(csv.DictReader(io.StringIO(board.csv())))
    assert [r["model"] for r in rows] == ["c", "b", "a", "d"]
    assert float(rows[2]["pgd@0.2"]) == pytest.approx(0.3)
    assert rows[3]["pgd@0.2"] == "" and float(rows[3]["clean_accuracy"]) == 0.97
    d = board.to_dict()
    assert [e["rank"] for e in d["entries"]] == [1, 2, 3, 4]
    assert d["entries"][2]["per_seed"]["0"]["pgd@0.2"] == 0.2
    assert d["failed"] == [{"job": "d/s0/pgd", "error": "it <broke>"}]


def test_the_page_links_each_report_and_escapes_what_the_store_holds(board_store, tmp_path):
    board = leaderboard.build(board_store)
    out = leaderboard.write(board, tmp_path / "grid" / "leaderboard", tmp_path / "grid")
    page = (out / "index.html").read_text()
    assert '<a href="../reports/b/s0/report/index.html">' in page
    assert "it &lt;broke&gt;" in page and "it <broke>" not in page
    assert "By hand" in page and "Numbers set by hand." in page
    assert (out / "leaderboard.csv").read_text() == board.csv()
    assert json.loads((out / "leaderboard.json").read_text())["rank_by"] == "pgd@0.2"
