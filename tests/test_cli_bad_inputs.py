"""Bad input over every subcommand: each case exits 2 with one line on stderr, no traceback, and
writes nothing (neither its --out nor anything beside it, nor the model cache).

Cases are argv with placeholders filled from a folder of good and hostile files: {mlp}, {cnn}
and {ae} are checkpoints, {hostile:NAME} a damaged copy of {mlp}, {toml:NAME} a scenario file,
{file} a plain file, {empty} an empty folder, {out} a folder that does not exist yet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fragility import train
from fragility.cli import main


def _edit_json(path: Path, **changes) -> None:
    d = json.loads(path.read_text())
    d.update(changes)
    path.write_text(json.dumps(d))


def _hostile(folder: Path, mlp: Path) -> None:
    """Damaged copies of the mlp checkpoint, one defect each."""
    import shutil

    def copy(name: str) -> Path:
        target = folder / name
        shutil.copytree(mlp, target)
        return target

    _edit_json(copy("huge-float") / "spec.json", hidden=[1e9, 16])
    _edit_json(copy("huge-int") / "spec.json", hidden=[10**9, 16])
    _edit_json(copy("too-many-parameters") / "spec.json", hidden=[65536] * 4)
    _edit_json(copy("wide") / "spec.json", hidden=[4096, 16])  # in bounds; not these weights
    _edit_json(copy("text-shape") / "spec.json", input_shape=["a", 8, 8])
    _edit_json(copy("huge-shape") / "spec.json", input_shape=[1, 10**6, 10**6])
    _edit_json(copy("string-width") / "spec.json", hidden=["16", 16])
    _edit_json(copy("bool-classes") / "spec.json", num_classes=True)
    _edit_json(copy("list-activation") / "spec.json", activation=["sigmoid"])
    (copy("spec-list") / "spec.json").write_text("[1, 2]")
    (copy("spec-not-json") / "spec.json").write_text("{kind: mlp")
    (copy("metrics-list") / "metrics.json").write_text("[1, 2]")
    (copy("metrics-not-json") / "metrics.json").write_text("{")
    _edit_json(copy("metrics-dataset-text") / "metrics.json", dataset="digits")
    _edit_json(copy("metrics-seed") / "metrics.json", train_config={"seed": -1})
    _edit_json(copy("metrics-size") / "metrics.json", dataset={"name": "digits", "size": "8"})
    weights = copy("weights-pickle") / "model.safetensors"
    import pickle

    weights.write_bytes(pickle.dumps({"fc1.weight": [1.0]}))
    raw = (mlp / "model.safetensors").read_bytes()
    (copy("weights-truncated") / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    header["fc1.weight"]["data_offsets"][1] += 10**9  # a range beyond the end of the file
    text = json.dumps(header).encode()
    (copy("weights-offsets") / "model.safetensors").write_bytes(
        len(text).to_bytes(8, "little") + text + raw[8 + n :]
    )
    (copy("weights-huge-header") / "model.safetensors").write_bytes(
        (10**15).to_bytes(8, "little") + b"{}"
    )


TOML = {
    "negative-speed": 'extends = "tempe-2018"\n[suv]\ninitial_speed_mph = -40\n',
    "negative-seed": 'extends = "flicker-vs-suppression"\n[sweep]\nseed = -1\n',
    "huge-seed": 'extends = "flicker-vs-suppression"\n[sweep]\nseed = 4294967296\n',
    "huge-runs": 'extends = "flicker-vs-suppression"\n[sweep]\nruns = 1_000_000_000\n',
    "not-toml": "this is = = not toml\n",
    "grid-typo": '[[analyses]]\nkind = "scenario"\nscenario = "tempe-2018"\nrunz = 3\n',
    "grid-seed": 'seeds = [-1]\n[[analyses]]\nkind = "scenario"\nscenario = "tempe-2018"\n',
    "grid-no-sweep": '[[analyses]]\nkind = "scenario"\nscenario = "tempe-2018"\n',
}


@pytest.fixture(scope="module")
def world(tmp_path_factory, trained_mlp, trained_cnn, trained_autoencoder) -> Path:
    root = tmp_path_factory.mktemp("bad-inputs")
    for name, t in (("mlp", trained_mlp), ("cnn", trained_cnn), ("ae", trained_autoencoder)):
        train.save(root / name, t.model, t.spec, t.metrics)
    (root / "hostile").mkdir()
    _hostile(root / "hostile", root / "mlp")
    (root / "toml").mkdir()
    for name, text in TOML.items():
        (root / "toml" / f"{name}.toml").write_text(text)
    (root / "afile").write_text("not a folder\n")
    (root / "empty").mkdir()
    return root


def _fill(argv: list[str], root: Path) -> list[str]:
    out = []
    for a in argv:
        for key, value in (
            ("{hostile:", f"{root}/hostile/"),
            ("{toml:", f"{root}/toml/"),
        ):
            if a.startswith(key):
                a = value + a[len(key) : -1] + (".toml" if key == "{toml:" else "")
        a = a.replace("{out}", str(root / "new-out"))
        for name in ("mlp", "cnn", "ae", "empty"):
            a = a.replace("{" + name + "}", str(root / name))
        out.append(a.replace("{file}", str(root / "afile")))
    return out


OUT = ["--out", "{out}"]
MLP = ["--checkpoint", "{mlp}"]
CNN = ["--checkpoint", "{cnn}"]

# (argv, a fragment of the one line expected on stderr)
CASES = [
    # the top level
    (["nope"], "invalid choice: 'nope'"),
    ([], "the following arguments are required: COMMAND"),
    # unwritable or impossible --out, in every command that writes
    (["train", "--out", "/proc/fragility-out"], "cannot write in /proc"),
    (["train", "--out", "/proc/no/such/folder"], "cannot write in /proc"),
    (["train", "--out", "/sys/fragility-out"], "cannot write in /sys"),
    (["train", "--out", "{file}"], "exists and is not a folder"),
    (["train", "--out", "{file}/sub"], "is a file, so --out"),
    (["train", "--out", "."], "names no new folder"),
    (["train", "--out", ".."], "names no new folder"),
    (["train", "--out", ""], "names no new folder"),
    (["report", "--quick", "--out", "{file}"], "exists and is not a folder"),
    (["report", "--quick", "--out", "/proc/report"], "cannot write in /proc"),
    (["attack", *MLP, "--out", "{file}"], "exists and is not a folder"),
    (["attack", *MLP, "--out", "{mlp}"], "which this command needs"),
    (["garbage", *CNN, "--out", "{cnn}/.."], "names no new folder"),
    (["garbage", *CNN, "--autoencoder", "{ae}", "--out", "{ae}"], "which this command needs"),
    (["invert", *MLP, "--out", "/proc/invert"], "cannot write in /proc"),
    (["shortcut", "--out", "{file}"], "exists and is not a folder"),
    (["neurons", "--out", "/proc/neurons"], "cannot write in /proc"),
    (["scenario", "run", "tempe-2018", "--out", "{file}"], "exists and is not a folder"),
    (["scenario", "sweep", "flicker-vs-suppression", "--out", "/sys/x"], "cannot write in /sys"),
    (["scenario", "compare", "--out", "{file}/x"], "is a file, so --out"),
    (["scenario", "case-study", "--out", "/proc/case"], "cannot write in /proc"),
    # seeds outside [0, 2^32)
    (["train", "--seed", "-1", *OUT], "--seed: expected a seed from 0 to 4,294,967,295, not -1"),
    (["train", "--seed", "4294967296", *OUT], "not 4294967296"),
    (["train", "--seed", "1.5", *OUT], "--seed: expected a whole number, not '1.5'"),
    (["report", "--seed", "-1"], "--seed: expected a seed"),
    (["shortcut", "--seed", "99999999999", *OUT], "--seed: expected a seed"),
    (["attack", *MLP, "--seed", "-1", *OUT], "--seed: expected a seed"),
    (["neurons", "--seed", "-1"], "--seed: expected a seed"),
    (["data", "info", "digits", "--split-seed", "-1"], "--split-seed: expected a seed"),
    (["train", "--split-seed", "4294967296", *OUT], "--split-seed: expected a seed"),
    (["train", "--test-fraction", "nan", *OUT], "--test-fraction: expected a finite"),
    (["train", "--test-fraction", "1", *OUT], "a share strictly between 0 and 1"),
    (["scenario", "case-study", "--seed", "-1", *OUT], "--seed: expected a seed"),
    (["scenario", "run", "tempe-2018", "--seed", "-1", *OUT], "--seed: expected a seed"),
    (["scenario", "explain", "tempe-2018", "--seed", "4294967296"], "--seed: expected a seed"),
    (["scenario", "sweep", "flicker-vs-suppression", "--seed", "-1", *OUT], "expected a seed"),
    (["scenario", "sweep", "{toml:negative-seed}", *OUT], "sweep.seed: expected a whole number"),
    (["scenario", "sweep", "{toml:huge-seed}", *OUT], "from 0 to 4294967295"),
    # inf, nan and absurd magnitudes in float options
    (["attack", *MLP, "--eps", "inf", *OUT], "--eps: expected finite numbers"),
    (["attack", *MLP, "--eps", "0.1,nan", *OUT], "--eps: expected finite numbers"),
    (["attack", *MLP, "--eps", "1e9", *OUT], "Linf budgets lie from 0 to 1"),
    (["attack", *MLP, "--eps", "-0.1", *OUT], "Linf budgets lie from 0 to 1"),
    (["attack", *MLP, "--norm", "l2", "--eps", "100", *OUT], "an L2 budget lies from 0 to 8.0"),
    (["attack", *MLP, "--eps", "", *OUT], "--eps: expected numbers"),
    (["garbage", *CNN, "--recon-weight", "nan", *OUT], "--recon-weight: expected a finite"),
    (["garbage", *CNN, "--recon-weight", "inf", *OUT], "--recon-weight: expected a finite"),
    (["garbage", *CNN, "--recon-weight", "1e9", *OUT], "a weight from -1000 to 1000"),
    (["garbage", *CNN, "--eps", "inf", *OUT], "--eps: expected a finite number"),
    (["garbage", *CNN, "--eps", "1e9", *OUT], "a max-norm bound above 0 and at most 1"),
    (["garbage", *CNN, "--eps", "0", *OUT], "a max-norm bound above 0"),
    (["garbage", *CNN, "--target", "1", *OUT], "a probability strictly between 0 and 1"),
    (["garbage", *CNN, "--target", "nan", *OUT], "--target: expected a finite number"),
    (["invert", *MLP, "--tv", "inf", *OUT], "--tv: expected a finite number"),
    (["invert", *MLP, "--l2", "nan", *OUT], "--l2: expected a finite number"),
    (["invert", *MLP, "--l2", "1e9", *OUT], "a weight from 0 to 1000"),
    (["invert", *MLP, "--fixed-norm", "inf", *OUT], "--fixed-norm: expected a finite"),
    (["invert", *MLP, "--fixed-norm", "-1", *OUT], "a norm from 0 to 1000"),
    (["invert", *MLP, "--blur", "inf", *OUT], "--blur: expected a finite number"),
    (["invert", *MLP, "--blur", "1e9", *OUT], "a blur width from 0 to 64 pixels"),
    (["invert", *MLP, "--fractions", "0.1,2", *OUT], "expected shares from 0 to 1"),
    (["invert", *MLP, "--fractions", "0.1,inf", *OUT], "expected finite numbers"),
    (["shortcut", "--correlation", "2", *OUT], "a share from 0 to 1"),
    (["shortcut", "--correlation", "nan", *OUT], "--correlation: expected a finite number"),
    (["shortcut", "--correlations", "0,1.5", *OUT], "expected shares from 0 to 1"),
    (["neurons", "--x", "inf"], "--x: expected a finite number"),
    (["neurons", "--w1", "nan"], "--w1: expected a finite number"),
    (["neurons", "--b2", "1e300"], "a finite number from -1e6 to 1e6"),
    (["neurons", "--d", "2"], "a desired output from 0 to 1"),
    # absurd sizes and counts
    (["scenario", "sweep", "flicker-vs-suppression", "--runs", "1e9", *OUT], "to 10,000,000"),
    (["scenario", "sweep", "flicker-vs-suppression", "--runs", "0", *OUT], "from 1 to"),
    (["scenario", "sweep", "flicker-vs-suppression", "--runs", "2.5", *OUT], "a whole number"),
    (["scenario", "sweep", "{toml:huge-runs}", *OUT], "runs in 1..10000000"),
    (["scenario", "case-study", "--runs", "1e8", *OUT], "from 1 to 10,000,000, not 1e8"),
    (["scenario", "sensitivity", "volvo-aeb", "--runs", "0", *OUT], "from 1 to"),
    (["scenario", "sensitivity", "volvo-aeb", "--runs", "2000000", *OUT], "runs: 2,000,000"),
    (["scenario", "tradeoff", "--seed", "-1", *OUT], "--seed: expected a seed"),
    (["scenario", "tradeoff", "--runs", "200000", *OUT], "runs: 200,000 is outside"),
    (["scenario", "compare", "--runs", "2.5"], "a whole number"),
    (["invert", *MLP, "--steps", "1e9", *OUT], "ascent steps from 1 to 100,000"),
    (["invert", *MLP, "--restarts", "0", *OUT], "restarts from 1 to 100"),
    (["invert", *MLP, "--jitter", "1000", *OUT], "a shift in pixels from 0 to 64"),
    (["attack", *MLP, "--steps", "1e9", *OUT], "iterations from 1 to 100,000"),
    (["attack", *MLP, "--n", "0", *OUT], "test images from 1"),
    (["attack", *MLP, "--batch-size", "-3", *OUT], "images per batch from 1 to 65,536"),
    (["garbage", *CNN, "--generations", "-1", *OUT], "generations from 0 to 100,000"),
    (["garbage", *CNN, "--population", "1e12", *OUT], "children per generation"),
    (["garbage", *CNN, "--steps", "inf", *OUT], "--steps: expected a whole number"),
    (["garbage", *CNN, "--samples", "0", *OUT], "images per family"),
    (["train", "--epochs", "1e9", *OUT], "epochs from 1 to 10,000"),
    (["train", "--threads", "0", *OUT], "a thread count (at most the cores here) from 1 to"),
    (["train", "--threads", "100000", *OUT], "a thread count (at most the cores here) from 1 to"),
    (["train", "--hidden", "1e9,16", *OUT], "widths from 1 to 65,536"),
    (["train", "--hidden", "16,a", *OUT], "widths from 1 to 65,536"),
    (["train", "--hidden", "", *OUT], "widths from 1 to 65,536"),
    (["train", "--size", "1e9", *OUT], "--size: invalid int value"),
    (["train", "--size", "100000", *OUT], "--size 100000 is out of range"),
    (["shortcut", "--epochs", "0", *OUT], "epochs from 1 to 10,000"),
    # bad names
    (["train", "--model", "rnn", *OUT], "--model: invalid choice: 'rnn'"),
    (["train", "--dataset", "cifar", *OUT], "unknown dataset 'cifar'"),
    (["train", "--dataset", "mnist", "--data-dir", "{empty}", *OUT], "mnist not found in"),
    (["report", "--models", "mlp,rnn"], "--models takes"),
    (["report", "--sections", "nope"], "unknown section 'nope'"),
    (["data", "info", "nope"], "unknown dataset 'nope'"),
    (["data", "info", "kmnist", "--data-dir", "{empty}"], "kmnist not found in"),
    (["attack", *MLP, "--attack", "nope", *OUT], "--attack: invalid choice"),
    (["attack", *MLP, "--attack", "cw", "--norm", "linf", *OUT], "cw is an L2 attack"),
    (["attack", *MLP, "--attack", "deepfool", "--targeted", *OUT], "deepfool is untargeted"),
    (["attack", "--checkpoint", "{ae}", *OUT], "holds an autoencoder"),
    (["garbage", *CNN, "--method", "nope", *OUT], "nope"),
    (["garbage", *CNN, "--other-dataset", "nope", *OUT], "unknown dataset 'nope'"),
    (["garbage", *CNN, "--autoencoder", "{cnn}", *OUT], "is not an autoencoder"),
    (["garbage", *CNN, "--transfer", "{ae}", *OUT], "is not a classifier"),
    (["garbage", *CNN, "--transfer", "{empty}", *OUT], "model.safetensors is missing"),
    (["invert", *MLP, "--layer", "nope", *OUT], "--layer 'nope' is not a layer"),
    (["invert", "--checkpoint", "{ae}", *OUT], "holds an autoencoder"),
    (["shortcut", "--model", "rnn", *OUT], "--model: expected mlp, cnn or mlp,cnn"),
    (["shortcut", "--cue", "nope", *OUT], "--cue: invalid choice"),
    (["scenario", "run", "no-such-scenario", *OUT], "no-such-scenario"),
    (["scenario", "run", "{toml:not-toml}", *OUT], "not-toml.toml"),
    (["scenario", "explain", "{file}"], "afile"),
    (["scenario", "compare", "no-such-scenario"], "no-such-scenario"),
    (["scenario", "sweep", "tempe-2018", *OUT], "has no [sweep] table"),
    (
        ["scenario", "run", "{toml:negative-speed}", *OUT],
        "suv.initial_speed_mph: -40 is negative; speed at start_s in mph (it scales the "
        "profile) must be at least 0",
    ),
    # grids and their leaderboards
    (["grid", "digits-small", "--out", "{file}"], "exists and is not a folder"),
    (["grid", "digits-small", "--out", "/proc/grid"], "cannot write in /proc"),
    (["grid", "digits-small", "--workers", "0", *OUT], "--workers: expected a number of worker"),
    (["grid", "digits-small", "--workers", "1", "--ray", "auto", *OUT], "not allowed with"),
    (["grid", "no-such-grid", *OUT], "no-such-grid: no such grid file"),
    (["grid", "{toml:grid-typo}", *OUT], "analyses[0].runz: unknown key (did you mean runs?)"),
    (["grid", "{toml:grid-seed}", *OUT], "seeds[0]: -1 is out of range"),
    (["grid", "{toml:grid-no-sweep}", *OUT], "has no [sweep]"),
    (["grid", "{toml:not-toml}", *OUT], "not valid TOML"),
    (["leaderboard", "{empty}"], "holds no grid"),
    (["leaderboard", "{mlp}", "--out", "{out}"], "holds no grid"),
    # bad checkpoints: missing, a file, hostile specs, metrics and weights
    (["attack", "--checkpoint", "{empty}/none", *OUT], "no checkpoint folder at"),
    (["invert", "--checkpoint", "{file}", *OUT], "no checkpoint folder at"),
    (["attack", "--checkpoint", "{hostile:huge-float}", *OUT], "hidden must be a list of whole"),
    (["invert", "--checkpoint", "{hostile:huge-int}", *OUT], "widths from 1 to 65,536"),
    (["garbage", "--checkpoint", "{hostile:too-many-parameters}", *OUT], "more than the 100,000"),
    (["attack", "--checkpoint", "{hostile:wide}", *OUT], "fc1.weight is (16, 64) not (4096, 64)"),
    (["attack", "--checkpoint", "{hostile:text-shape}", *OUT], "input_shape must be a list"),
    (["attack", "--checkpoint", "{hostile:huge-shape}", *OUT], "sides from 1 to 4,096 pixels"),
    (["invert", "--checkpoint", "{hostile:string-width}", *OUT], "hidden must be a list"),
    (["invert", "--checkpoint", "{hostile:bool-classes}", *OUT], "num_classes must be a whole"),
    (["invert", "--checkpoint", "{hostile:list-activation}", *OUT], "activation must be a string"),
    (["attack", "--checkpoint", "{hostile:spec-list}", *OUT], "a model spec must be a JSON object"),
    (["attack", "--checkpoint", "{hostile:spec-not-json}", *OUT], "spec is not valid JSON"),
    (["attack", "--checkpoint", "{hostile:metrics-list}", *OUT], "expected a JSON object"),
    (["attack", "--checkpoint", "{hostile:metrics-not-json}", *OUT], "is not valid JSON"),
    (["garbage", "--checkpoint", "{hostile:metrics-dataset-text}", *OUT], "dataset must be"),
    (["invert", "--checkpoint", "{hostile:metrics-seed}", *OUT], "train_config.seed must be"),
    (["invert", "--checkpoint", "{hostile:metrics-size}", *OUT], "dataset.size must be"),
    (["attack", "--checkpoint", "{hostile:weights-pickle}", *OUT], "never unpickles"),
    (["attack", "--checkpoint", "{hostile:weights-truncated}", *OUT], "never unpickles"),
    (["attack", "--checkpoint", "{hostile:weights-offsets}", *OUT], "is malformed"),
    (["attack", "--checkpoint", "{hostile:weights-huge-header}", *OUT], "header length"),
    (["garbage", *CNN, "--autoencoder", "{hostile:huge-float}", *OUT], "hidden must be"),
    (["garbage", *CNN, "--transfer", "{hostile:weights-pickle}", *OUT], "never unpickles"),
]


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under the roots, with size and modification time (of files)."""
    seen = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs:
                seen[os.path.join(folder, name)] = (0, 0)
            for name in files:
                st = os.stat(os.path.join(folder, name))
                seen[os.path.join(folder, name)] = (st.st_size, st.st_mtime_ns)
    return seen


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    world, cache_root, monkeypatch, capsys, argv, message
):
    monkeypatch.chdir(world)
    before = _snapshot(world, cache_root)
    code = main(_fill(argv, world))
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "Traceback" not in captured.out
    assert err.startswith("fragility"), err
    assert message in err, err
    assert _snapshot(world, cache_root) == before
    assert not (world / "new-out").exists()


def test_every_subcommand_has_a_case():
    """The table above reaches every subcommand and scenario action."""
    from fragility.cli import COMMANDS

    covered = {c[0][0] for c in CASES if c[0]} | {
        f"scenario {c[0][1]}" for c in CASES if c[0][:1] == ["scenario"]
    }
    actions = {"run", "sweep", "explain", "compare", "case-study", "sensitivity", "tradeoff"}
    assert set(COMMANDS) <= covered
    assert {f"scenario {a}" for a in actions} <= covered


# ---------------------------------------------------------------------------------------------
# Property: any text given to any numeric option is either a finite value in the option's range
# or refused by the same rule as above.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# A valid command line for each subcommand that takes numbers (the option is appended).
BASE = {
    ("train",): ["train", *OUT],
    ("report",): ["report", *OUT],
    ("data", "info"): ["data", "info", "digits"],
    ("attack",): ["attack", *MLP, *OUT],
    ("garbage",): ["garbage", *CNN, *OUT],
    ("invert",): ["invert", *MLP, *OUT],
    ("shortcut",): ["shortcut", *OUT],
    ("neurons",): ["neurons"],
    ("scenario", "run"): ["scenario", "run", "tempe-2018", *OUT],
    ("scenario", "sweep"): ["scenario", "sweep", "flicker-vs-suppression", *OUT],
    ("scenario", "explain"): ["scenario", "explain", "tempe-2018"],
    ("scenario", "case-study"): ["scenario", "case-study", *OUT],
    ("scenario", "compare"): ["scenario", "compare"],
    ("scenario", "sensitivity"): ["scenario", "sensitivity", "volvo-aeb", *OUT],
    ("scenario", "tradeoff"): ["scenario", "tradeoff", *OUT],
    ("grid",): ["grid", "digits-small", *OUT],
}


def _numeric_options() -> list[tuple[tuple[str, ...], str, object]]:
    """(subcommand path, option, parser) for every option typed by the checked parsers."""
    import argparse

    from fragility.cli import build_parser

    found = []

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, (*path, name))
            elif action.option_strings and hasattr(action.type, "accepts"):
                found.append((path, action.option_strings[0], action.type))

    walk(build_parser(), ())
    return found


NUMERIC = _numeric_options()

NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(allow_nan=False).map(lambda v: f"{v:g}"),
    st.integers().map(str),
    st.integers(-(2**40), 2**40).map(lambda v: f"{v:e}"),
    st.lists(st.floats(-3, 3).map(lambda v: f"{v:.3g}"), min_size=1, max_size=3).map(",".join),
    st.sampled_from(["", "-", "1e", "0x10", "1,,2", "nan,1", "inf", "-inf", "1e999", "٣", "½"]),
    st.text(max_size=6),
)


def test_the_fuzz_reaches_every_numeric_option():
    paths = {path for path, _, _ in NUMERIC}
    assert paths == set(BASE)
    assert len(NUMERIC) >= 40


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(option=st.sampled_from(NUMERIC), text=NUMBER_TEXT)
def test_numeric_options_accept_only_finite_values_in_range(world, cache_root, option, text):
    import argparse
    import contextlib
    import io
    import math

    path, flag, parse = option
    try:
        value = parse(text)
    except argparse.ArgumentTypeError:
        value = None
    if value is not None:  # accepted: finite, and within the range the option states
        values = value if isinstance(value, tuple) else (value,)
        assert all(math.isfinite(v) for v in values) and parse.accepts(value)
        return
    before = _snapshot(world, cache_root)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([*_fill(BASE[path], world), f"{flag}={text}"])
    line = err.getvalue()
    assert code == 2 and line.count("\n") == 1 and "Traceback" not in line, line
    assert line.startswith(f"fragility {' '.join(path)}: error: argument {flag}"), line
    assert _snapshot(world, cache_root) == before
    assert not (world / "new-out").exists()
