from __future__ import annotations

import json

import pytest

from fragility.cli import main
from fragility.errors import ConfigError
from fragility.report.build import ReportConfig, build
from fragility.report.sections import ORDER
from fragility.report.writer import write


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory, trained_mlp, trained_cnn, trained_autoencoder):
    # The conftest models share the cache, so this reuses them instead of training.
    out = tmp_path_factory.mktemp("report") / "digits"
    report = build(ReportConfig(quick=True), command=["fragility", "report", "--quick"])
    write(report, out)
    return report, out


def test_files_and_sections(quick_report):
    report, out = quick_report
    names = sorted(p.name for p in out.iterdir())
    assert names == ["figures", "index.html", "manifest.json", "metrics.json"]
    slugs = [s.slug for s in report.sections]
    assert slugs == [*ORDER, "made"]
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {f"{f.name}.png" for s in report.sections for f in s.figures} == figures
    html = (out / "index.html").read_text()
    for s in report.sections:
        assert f'id="{s.slug}"' in html and s.intro.split(".")[0].replace("'", "&#39;") in html


def test_models_come_from_the_cache(quick_report):
    report, _ = quick_report
    assert all(m["from_cache"] for m in report.manifest["models"].values())
    assert set(report.manifest["seconds"]) >= {"data", "train mlp", *ORDER}
    assert report.manifest["dataset"]["class_names"] == list("0123456789")


def test_same_seed_same_metrics(quick_report, tmp_path):
    _, out = quick_report
    again = build(ReportConfig(quick=True), command=["x"])
    write(again, tmp_path / "again")
    assert (tmp_path / "again" / "metrics.json").read_bytes() == (out / "metrics.json").read_bytes()


def test_metrics_hold_the_numbers_shown(quick_report, trained_mlp):
    _, out = quick_report
    metrics = json.loads((out / "metrics.json").read_text())
    acc = metrics["sections"]["models"]["mlp"]["test_accuracy"]
    assert acc == pytest.approx(trained_mlp.result.test_accuracy)
    assert f"{100 * acc:.1f} %" in (out / "index.html").read_text()
    ece = metrics["sections"]["mistakes"]["mlp"]["calibration"]["ece"]
    assert (
        0 < ece < 0.2 and len(metrics["sections"]["mistakes"]["mlp"]["calibration"]["bins"]) == 15
    )
    assert metrics["sections"]["corruptions"]["mlp"]["accuracy"].keys() >= {"shot noise", "zigzag"}


def test_interrupted_run_leaves_the_previous_report(quick_report, monkeypatch, tmp_path):
    report, _ = quick_report
    out = tmp_path / "r"
    write(report, out)
    before = (out / "metrics.json").read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("fragility.report.writer.render", boom)
    with pytest.raises(KeyboardInterrupt):
        write(report, out)
    assert (out / "metrics.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no half-written folder left behind


def test_section_subset_and_bad_options():
    r = build(ReportConfig(quick=True, models=("mlp",), sections=("models",)))
    assert [s.slug for s in r.sections] == ["models", "made"]
    with pytest.raises(ConfigError, match="--models takes"):
        ReportConfig(models=("rnn",))
    with pytest.raises(ConfigError, match="unknown section 'adversaria'"):
        ReportConfig(sections=("adversaria",))


def test_cli_report_and_errors(tmp_path, capsys, monkeypatch):
    out = tmp_path / "rep"
    assert main(["report", "--quick", "--quiet", "--sections", "models", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and f"wrote {out}/index.html" in printed
    assert main(["report", "--models", "mlp,svm", "--out", str(out)]) == 2
    assert "--models takes" in capsys.readouterr().err
    monkeypatch.setenv("FRAGILITY_CHROMIUM", str(tmp_path / "no-such-chromium"))
    argv = ["report", "--quick", "--quiet", "--sections", "models", "--pdf", "--out", str(out)]
    before = (out / "index.html").read_bytes()
    assert main(argv) == 2
    assert "--pdf needs headless Chromium" in capsys.readouterr().err
    assert (out / "index.html").read_bytes() == before  # the failed run changed nothing
