"""Bringing a model: the model options on the command line (grouping, one-line errors), the
model source recorded in every output, and the report for a model fragility did not train."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from fragility import data, sources
from fragility.cli import build_parser, main
from fragility.cli.common import model_sources
from fragility.report.build import ReportConfig, build

NET = textwrap.dedent(
    """
    from torch import nn

    def build(width=6, classes=4):
        return nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(width, classes),
        )
    """
)
COLOURS = ("red", "green", "blue", "grey")


def _colour_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noise with one channel lifted per class (grey: all three): a task a colour model
    learns in a few steps."""
    y = rng.integers(0, 4, n)
    x = rng.integers(0, 90, (n, 12, 12, 3))
    for i, c in enumerate(y):
        if c < 3:
            x[i, :, :, c] += 120
        else:
            x[i] += 60
    return x.astype(np.uint8), y


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    """A folder with net.py, colour.npz (4 classes, 12x12 RGB) and net.safetensors, the
    factory's network briefly trained on it."""
    root = tmp_path_factory.mktemp("colour")
    (root / "net.py").write_text(NET)
    rng = np.random.default_rng(0)
    x_train, y_train = _colour_images(160, rng)
    x_test, y_test = _colour_images(80, rng)
    np.savez(
        root / "colour.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=np.array(COLOURS),
    )
    model = sources.load(sources.ModelSource("factory", factory=f"{root}/net.py:build")).model
    bundle = data.load(data.DataSource("npz", folder=str(root / "colour.npz")))
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(bundle.x_train), bundle.y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_file(model.state_dict(), root / "net.safetensors")
    return root


def _parse(argv: list[str]):
    return build_parser().parse_args(argv)


def test_each_option_belongs_to_the_model_before_it():
    args = _parse(
        [
            "report",
            "--model-factory",
            "net.py:build",
            "--weights",
            "a.safetensors",
            "--factory-args",
            '{"width": 8}',
            "--name",
            "A",
            "--arch",
            "torchvision:resnet18",
            "--num-classes",
            "10",
            "--normalize",
            "0.5,0.5,0.5:0.25,0.25,0.25",
            "--weights",
            "r.pt",
            "--checkpoint",
            "runs/cnn",
        ]
    )
    a, r, c = model_sources(args, several=True)
    assert (a.kind, a.name, a.weights, dict(a.factory_args)) == (
        "factory",
        "A",
        "a.safetensors",
        {"width": 8},
    )
    assert (r.kind, r.arch, r.num_classes, r.weights, r.name) == (
        "torchvision",
        "resnet18",
        10,
        "r.pt",
        "resnet18",
    )
    assert r.normalize == ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert (c.kind, c.path, c.weights, c.normalize) == ("checkpoint", "runs/cnn", None, None)
    none = model_sources(_parse(["report", "--model-factory", "n.py:f", "--weights", "none"]))
    assert none[0].weights is None  # a factory that loads its own


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["attack", "--weights", "w.pt", "--model-factory", "n.py:f"],
            "--weights w.pt comes before any model: put it after the --checkpoint, "
            "--model-factory or --arch it belongs to",
        ),
        (
            [
                "report",
                "--model-factory",
                "a.py:f",
                "--model-factory",
                "b.py:f",
                "--weights",
                "a.pt",
                "--weights",
                "b.pt",
            ],
            "--model-factory b.py:f has --weights twice (2 models, 2 --weights); put each "
            "model's --weights right after its",
        ),
        (
            [
                "report",
                "--model-factory",
                "a.py:f",
                "--weights",
                "a.pt",
                "--model-factory",
                "b.py:f",
            ],
            "--model-factory b.py:f has no --weights (2 models, 1 --weights)",
        ),
        (
            ["attack", "--arch", "torchvision:resnet18", "--weights", "r.pt"],
            "--arch torchvision:resnet18 needs --num-classes K",
        ),
        (
            ["attack", "--arch", "resnet18", "--num-classes", "10", "--weights", "r.pt"],
            "--arch takes torchvision:NAME (e.g. torchvision:resnet18), not 'resnet18'",
        ),
        (
            ["attack", "--arch", "torchvision:resnet18", "--num-classes", "ten"],
            "argument --num-classes: expected a whole number, not 'ten'",
        ),
        (
            ["invert", "--checkpoint", "runs/cnn", "--weights", "w.pt"],
            "--weights does not apply to --checkpoint runs/cnn",
        ),
        (
            ["garbage", "--model-factory", "n.py:f", "--num-classes", "3"],
            "--num-classes does not apply to --model-factory n.py:f",
        ),
        (
            ["attack", "--checkpoint", "a", "--checkpoint", "b"],
            "attack studies one model, not 2; run it once per model, or compare several with "
            "fragility report",
        ),
        (["attack"], "name a model: --checkpoint DIR"),
        (
            [
                "report",
                "--model-factory",
                "a.py:f",
                "--weights",
                "none",
                "--name",
                "x",
                "--model-factory",
                "b.py:f",
                "--weights",
                "none",
                "--name",
                "x",
            ],
            "two models are called 'x'; give each its own --name",
        ),
        (
            [
                "report",
                "--model-factory",
                "cnn.py:f",
                "--weights",
                "none",
                "--name",
                "cnn",
                "--models",
                "cnn",
            ],
            "two models are called 'cnn'; give each its own --name",
        ),
        (
            ["report", "--model-factory", "n.py:f", "--weights", "none", "--factory-args", "[1]"],
            "--factory-args must be a JSON object of keyword arguments",
        ),
        (
            ["report", "--checkpoint", "d", "--normalize", "0.5:0"],
            "--normalize needs finite means and positive standard deviations",
        ),
    ],
)
def test_bad_model_options_are_one_line(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility") and f": error: {message}" in err, err
    assert err.count("\n") == 1
    assert not out.exists()


def test_attack_on_a_colour_model_records_its_source(colour, tmp_path, capsys):
    out = tmp_path / "a"
    argv = [
        "attack",
        "--model-factory",
        f"{colour}/net.py:build",
        "--weights",
        str(colour / "net.safetensors"),
        "--name",
        "mine",
        "--dataset",
        "npz",
        "--data-dir",
        str(colour / "colour.npz"),
        "--attack",
        "fgsm",
        "--eps",
        "0.05,0.3",
        "--n",
        "40",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    record = json.loads((out / "attack.json").read_text())
    assert record["model"] == "mine"
    expected = sources.weights_hash(sources.load_weights(colour / "net.safetensors"))
    assert record["model_source"]["weights_hash"] == expected
    assert record["model_source"]["source"] == {
        "kind": "factory",
        "name": "mine",
        "factory": f"{colour}/net.py:build",
        "weights": str(colour / "net.safetensors"),
    }
    assert record["dataset"]["input_shape"] == [3, 12, 12]
    assert record["clean_accuracy"] > 0.9  # the trained weights were loaded, not a fresh init
    # FGSM at 0.3 in Linf moves every channel by 76 grey levels: the colour is gone.
    assert record["robust_accuracy"][-1] < 0.5 < record["robust_accuracy"][1]
    assert "mine, 40 npz test images" in capsys.readouterr().out


def test_a_model_that_does_not_fit_the_data_is_one_line(colour, tmp_path, capsys):
    argv = ["invert", "--model-factory", f"{colour}/net.py:build", "--weights", "none"]
    argv += ["--factory-args", '{"classes": 3}', "--dataset", "npz"]
    argv += ["--data-dir", str(colour / "colour.npz"), "--out", str(tmp_path / "i")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "fragility: error: net.build scores 3 classes but the data has 4; check --num-classes "
        "or the dataset\n"
    )


def test_retrain_needs_a_spec(colour, tmp_path, capsys):
    from fragility.cli.garbage import _without_retrain
    from fragility.garbage.study import METHODS, StudyConfig
    from fragility.models import default_spec

    argv = ["garbage", "--model-factory", f"{colour}/net.py:build", "--weights", "none"]
    argv += ["--dataset", "npz", "--data-dir", str(colour / "colour.npz")]
    argv += ["--method", "retrain", "--out", str(tmp_path / "g")]
    assert main(argv) == 2
    assert "--method retrain retrains the model from its architecture spec" in (
        capsys.readouterr().err
    )
    everything = StudyConfig(methods=METHODS)
    kept = _without_retrain(everything, None, "all")
    assert kept.methods == tuple(m for m in METHODS if m != "retrain")
    assert "retrain left out" in capsys.readouterr().out
    spec = default_spec("cnn", (3, 12, 12), 4)
    assert _without_retrain(everything, spec, "all") is everything


class Tiny(nn.Module):
    """A colour classifier that is not a Sequential: a custom forward, a BatchNorm and a
    parameter of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.norm = nn.BatchNorm2d(5)
        self.head = nn.Linear(5, 4)
        self.temperature = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm(self.conv(x))).mean((2, 3))
        return self.head(h) / self.temperature


def test_report_takes_modules_and_a_bundle(colour):
    bundle = data.load(data.DataSource("npz", folder=str(colour / "colour.npz")))
    torch.manual_seed(0)
    tiny = Tiny()
    config = ReportConfig(models=(), sections=("models",), quick=True)
    report = build(config, models={"tiny": tiny}, data=bundle)
    models = report.sections[0]
    assert report.title == "fragility failure report: npz, tiny"
    assert models.intro.startswith(
        "This report studies tiny (a Tiny handed to fragility.report.build), on npz"
    )
    assert "144 colour pixels (12x12, RGB)" in models.intro
    assert "We trained" not in models.intro
    assert [f.name for f in models.figures] == ["models-confusion"]  # no training curve
    said = " ".join(b.text for b in models.blocks if hasattr(b, "text"))
    assert "tiny was trained outside fragility, so no training curve is shown" in said
    m = models.metrics["tiny"]
    # Weights: the conv kernels (3*5*9) and the head (5*4); the rest are vectors and a scalar.
    assert m["parameters"] == {"weights": 155, "biases": 5 + 10 + 4 + 1, "total": 175}
    assert m["layers"] == "Tiny: 1 Conv2d, 1 BatchNorm2d, 1 Linear; head Linear 5->4"
    assert m["history"] == [] and m["epochs"] is None and m["spec"] is None
    assert m["test_accuracy"] == pytest.approx(
        float((tiny(bundle.x_test).argmax(1) == bundle.y_test).float().mean())
    )
    recorded = report.manifest["models"]["tiny"]
    assert recorded["source"] == {"kind": "python", "class": "Tiny"}
    assert recorded["weights_hash"] == sources.weights_hash(tiny.state_dict())
    assert set(report.manifest["models"]) == {"tiny", "autoencoder"}  # the helper, trained here
    from fragility.report.writer import page

    assert "How tiny fails on your arrays" in page(report)


def test_report_refuses_what_it_cannot_study(colour):
    from fragility.errors import ConfigError

    bundle = data.load(data.DataSource("npz", folder=str(colour / "colour.npz")))
    config = ReportConfig(models=(), sections=("models",))
    with pytest.raises(ConfigError, match="the report needs a model"):
        build(config, data=bundle)
    with pytest.raises(ConfigError, match=r"models\['x'\] is a str, not a torch.nn.Module"):
        build(config, models={"x": "resnet"}, data=bundle)
    grey = nn.Sequential(nn.Flatten(), nn.Linear(144, 4))
    with pytest.raises(ConfigError, match=r"grey cannot take images of shape \(3, 12, 12\)"):
        build(config, models={"grey": grey}, data=bundle)


def test_report_compares_several_brought_models(colour, tmp_path, capsys):
    out = tmp_path / "r"
    weights = str(colour / "net.safetensors")
    argv = ["report", "--model-factory", f"{colour}/net.py:build", "--weights", weights]
    argv += ["--name", "trained", "--model-factory", f"{colour}/net.py:build", "--weights"]
    argv += ["none", "--name", "untrained", "--normalize", "0.5,0.5,0.5:0.5,0.5,0.5"]
    argv += ["--dataset", "npz", "--data-dir", str(colour / "colour.npz")]
    argv += ["--sections", "models,mistakes", "--quick", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(metrics["sections"]["models"]) == {"trained", "untrained", "autoencoder"}
    assert {"trained", "untrained"} <= set(metrics["sections"]["mistakes"])
    assert metrics["sections"]["models"]["trained"]["test_accuracy"] > 0.9
    assert manifest["models"]["untrained"]["source"]["normalize"] == [[0.5] * 3, [0.5] * 3]
    assert "weights_hash" not in manifest["models"]["untrained"]  # none given: a fresh init
    assert manifest["models"]["trained"]["weights_hash"] == sources.weights_hash(
        sources.load_weights(weights)
    )
    page = (out / "index.html").read_text()
    assert "This report studies trained (built by" in page
    assert "fragility failure report: npz, trained and untrained" in capsys.readouterr().out


def test_out_may_not_replace_the_model_files(colour, capsys):
    for argv in (
        ["--model-factory", f"{colour}/net.py:build", "--weights", "none"],
        ["--model-factory", "fragility.models:build", "--weights", str(colour / "net.safetensors")],
    ):
        assert main(["attack", *argv, "--out", str(colour)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"fragility: error: --out {colour} would replace {colour}/net")
    assert (colour / "net.safetensors").is_file() and (colour / "net.py").is_file()


def test_every_section_of_the_report_on_a_colour_model(colour):
    """The whole quick report on a colour model fragility did not train: every section
    builds, the colour paths are taken (CIFAR-10-C corruptions, RGB first-layer filters, the
    shortcut lesson's stand-in), and the numbers are the same for the same seed."""
    from fragility.report.sections import ORDER

    bundle = data.load(data.DataSource("npz", folder=str(colour / "colour.npz")))
    source = sources.ModelSource(
        "factory", factory=f"{colour}/net.py:build", weights=str(colour / "net.safetensors")
    )
    config = ReportConfig(models=(), sources=(source,), quick=True, sections=ORDER[:-1])
    report = build(config, data=bundle)
    assert [s.slug for s in report.sections] == [*ORDER[:-1], "made"]
    m = report.metrics["sections"]
    assert m["corruptions"]["net.build"]["family"] == "CIFAR-10-C"
    assert m["models"]["net.build"]["test_accuracy"] > 0.9
    filters = m["inverse"]["net.build"]["first_layer_weights"]
    assert (filters["layer"], filters["n_units"]) == ("0", 6)
    shortcut = next(s for s in report.sections if s.slug == "shortcut")
    assert "fragility's small CNN as a stand-in" in shortcut.intro
    assert list(m["shortcut"]["models"]) == ["cnn"]
    assert set(m["garbage"]["models"]) == {"net.build"}
    assert m["garbage"]["settings"]["other_data"] is None  # an npz's task is not known
    assert m["garbage"]["settings"]["other_data_note"] == (
        "left out: the task of npz is not known, so no dataset can be guaranteed to be a "
        "different one (fragility garbage --other-dataset NAME chooses one)"
    )
    garbage = next(s for s in report.sections if s.slug == "garbage")
    assert "The family of another task's images was left out: the task of npz" in garbage.intro
    assert report.manifest["models"]["net.build"]["weights_hash"]
    again = build(dataclasses.replace(config, sections=("adversarial",)), data=bundle)
    assert again.metrics["sections"]["adversarial"] == m["adversarial"]


def test_a_torchvision_architecture_on_colour_images(colour, tmp_path):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    net = resnet18(num_classes=4).eval()
    torch.save(net.state_dict(), tmp_path / "r18.pt")
    common = ["--arch", "torchvision:resnet18", "--num-classes", "4", "--weights"]
    common += [str(tmp_path / "r18.pt"), "--dataset", "npz", "--data-dir"]
    common += [str(colour / "colour.npz"), "--quiet"]
    argv = ["attack", *common, "--attack", "fgsm", "--n", "8", "--out", str(tmp_path / "a")]
    assert main(argv) == 0
    record = json.loads((tmp_path / "a" / "attack.json").read_text())
    assert record["model"] == "resnet18"
    assert record["model_source"]["weights_hash"] == sources.weights_hash(net.state_dict())
    argv = ["invert", *common, "--what", "weights", "--out", str(tmp_path / "i")]
    assert main(argv) == 0
    weights = json.loads((tmp_path / "i" / "inversion.json").read_text())
    assert weights["first_layer_weights"]["layer"] == "conv1"
    assert weights["first_layer_weights"]["n_units"] == 64
