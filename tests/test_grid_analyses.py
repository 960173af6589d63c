"""Every analysis a grid runs stores what the library's own function returns for that job."""

from __future__ import annotations

import json

import pytest

from fragility import grid, sources, train
from fragility.corruptions import corruption_accuracy
from fragility.grid.coordinator import run
from fragility.grid.store import Store
from fragility.models import default_spec
from fragility.report.build import ReportConfig
from fragility.report.build import build as report_build
from fragility.shortcut import Cue, evaluate_cue, plant

GRID = """\
name = "every"
seeds = [3]

[[models]]
name = "mlp"
lecture = { kind = "mlp" }          # the lecture's default: the report can run on it

[[models]]
name = "linear"
factory = "net.py:build"

[[analyses]]
kind = "corruptions"
corruptions = ["shot noise", "rotate"]
n = 40

[[analyses]]
kind = "inversion"
parts = ["weights", "saliency"]
steps = 5
restarts = 1

[[analyses]]
kind = "shortcut"
models = ["mlp"]
cue = "square"
correlation = 0.9

[[analyses]]
kind = "report"
models = ["mlp", "linear"]
sections = ["models"]
"""

NET = """\
import torch


def build():
    torch.manual_seed(5)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
"""


def jsonable(d: dict) -> dict:
    return json.loads(json.dumps(d))


@pytest.fixture(scope="module")
def every(tmp_path_factory):
    root = tmp_path_factory.mktemp("every")
    (root / "g.toml").write_text(GRID)
    (root / "net.py").write_text(NET)
    outcome = run(grid.load(root / "g.toml"), root / "out", workers=2)
    assert outcome.failed == ()
    return Store.open(root / "out"), root


def test_corruptions_and_evaluate_are_the_library_calls_on_the_same_model(every, digits):
    store, root = every
    model = sources.load(
        sources.ModelSource(kind="factory", factory=f"{root / 'net.py'}:build")
    ).model
    expected = corruption_accuracy(
        model, digits.x_test[:40], digits.y_test[:40], ["shot noise", "rotate"], seed=3
    )
    assert store.job("linear/s3/corruptions").result == jsonable(expected.to_dict())
    ev = store.job("linear/s3/evaluate").result
    assert (
        ev["evaluation"]["accuracy"] == train.evaluate(model, digits.x_test, digits.y_test).accuracy
    )
    assert ev["weights_hash"] is None  # a factory without weights: nothing was loaded


def test_the_shortcut_job_retrains_with_the_cue_and_tests_it(every, digits):
    store, _ = every
    cue = Cue("square", digits.input_shape, digits.num_classes)
    cued = plant(digits, cue, 0.9, seed=3)
    spec = default_spec("mlp", digits.input_shape, digits.num_classes)
    trained = train.train(spec, cued, train.default_config(spec, cued, seed=3))
    result = store.job("mlp/s3/shortcut").result
    assert result["test"] == jsonable(evaluate_cue(trained.model, digits, cue, 3).to_dict())
    assert result["correlation"] == 0.9 and result["cue"]["kind"] == "square"


def test_inversion_and_the_report_are_stored_and_the_report_written(every):
    store, root = every
    inv = store.job("mlp/s3/inversion").result
    assert set(inv) == {"first_layer_weights", "pruning", "saliency"}
    report = store.job("mlp/s3/report")
    assert report.artefacts == ("reports/mlp/s3/report",)
    assert (root / "out/reports/mlp/s3/report/index.html").is_file()
    assert set(report.result["sections"]) == {"models"}
    assert report.result["seed"] == 3


def test_the_report_runs_on_a_model_source_as_report_build_does(every, digits):
    store, root = every
    job = store.job("linear/s3/report")
    assert job.artefacts == ("reports/linear/s3/report",)
    page = (root / "out/reports/linear/s3/report/index.html").read_text()
    assert "linear" in page and "net.py:build" in page
    source = {"kind": "factory", "name": "linear", "factory": f"{root / 'net.py'}:build"}
    expected = report_build(
        ReportConfig(
            models=(),
            sources=(sources.ModelSource.from_dict(source),),
            seed=3,
            quick=True,
            sections=("models",),
        )
    ).metrics
    linear = job.result["models"]["linear"]
    assert linear == jsonable(expected["models"]["linear"])
    assert linear["parameters"] == 64 * 10 + 10 and linear["source"] == source
    assert job.result["sections"] == jsonable(expected["sections"])


def test_a_fragility_train_folder_is_a_model_source(tmp_path, trained_mlp, digits):
    train.save(tmp_path / "ck", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    (tmp_path / "g.toml").write_text(
        '[[models]]\nname = "old"\ncheckpoint = "ck"\n'
        '[[analyses]]\nkind = "attack"\nepsilons = [0.1]\nsteps = 2\nn = 20\n'
    )
    outcome = run(grid.load(tmp_path / "g.toml"), tmp_path / "out", workers=1)
    assert outcome.counts["done"] == 2
    store = Store.open(tmp_path / "out")
    weights = sources.weights_hash(trained_mlp.model.state_dict())
    assert {r.weights_hash for r in store.jobs()} == {weights}
    ev = store.job("old/s0/evaluate").result
    assert ev["evaluation"]["accuracy"] == trained_mlp.result.test_accuracy
    assert ev["source"] == {"kind": "checkpoint", "name": "old", "path": str(tmp_path / "ck")}
