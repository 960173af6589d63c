from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fragility.cli import main


def test_train_end_to_end_on_digits(tmp_path, capsys):
    out = tmp_path / "mlp"
    assert (
        main(["train", "--dataset", "digits", "--model", "mlp", "--quiet", "--out", str(out)]) == 0
    )
    line = capsys.readouterr().out.strip()
    assert line.startswith("mlp 64-16-16-10 sigmoid on digits (450 test images): test accuracy 9")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["result"]["test_accuracy"] >= 0.95
    assert (out / "model.safetensors").stat().st_size > 1000
    # The second run comes from the cache and gives the same checkpoint.
    assert main(["train", "--quiet", "--out", str(tmp_path / "again")]) == 0
    assert "from the cache" in capsys.readouterr().out
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (
        out / "model.safetensors"
    ).read_bytes()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "cifar", "--out", "x"], "unknown dataset 'cifar'"),
        (["train", "--dataset", "kmnist", "--data-dir", "{tmp}", "--out", "x"], "kmnist not found"),
        (["data", "info", "mnist", "--data-dir", "{tmp}"], "mnist not found"),
    ],
)
def test_user_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility: error: ") and message in err
    assert err.count("\n") == 1


def test_data_list_and_info(capsys):
    assert main(["data", "list"]) == 0
    listing = capsys.readouterr().out
    assert "digits" in listing and "embedded" in listing and "usps" in listing
    assert main(["data"]) == 0  # no action: list
    assert capsys.readouterr().out == listing
    assert main(["data", "info", "digits"]) == 0
    info = capsys.readouterr().out
    assert "1,347 / 450 images" in info and "(1, 8, 8)" in info


def test_data_dir_before_the_list_action_is_kept(tmp_path, capsys):
    from idx import fake_mnist

    fake_mnist(tmp_path)
    for argv in (
        ["data", "--data-dir", str(tmp_path), "list"],
        ["data", "list", "--data-dir", str(tmp_path)],
    ):
        assert main(argv) == 0
        mnist = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("mnist "))
        assert mnist.endswith(str(tmp_path)), argv


def test_python_dash_m_and_bad_argument_exit_2():
    ok = subprocess.run(
        [sys.executable, "-m", "fragility", "--version"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout.startswith("fragility ")
    bad = subprocess.run(
        [sys.executable, "-m", "fragility", "train", "--epochs", "0", "--out", "x"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr == (
        "fragility train: error: argument --epochs: expected epochs from 1 to 10,000, not 0; "
        "see fragility train --help\n"
    )
