from __future__ import annotations

import dataclasses
import json
import pickle

import pytest
import torch

from fragility import models, train
from fragility.errors import CheckpointError, ConfigError, FragilityWarning


def test_seed_mlp_learns_digits(trained_mlp):
    # The lecture's 64-16-16-10 sigmoid net on 8x8 digits: about 96 % (scikit-learn's MLP too).
    assert trained_mlp.result.test_accuracy >= 0.95
    losses = [e.train_loss for e in trained_mlp.result.history]
    assert losses[-1] < losses[0] / 5


def test_cnn_learns_digits(trained_cnn):
    assert trained_cnn.result.test_accuracy >= 0.97


def test_autoencoder_lowers_reconstruction_error(trained_autoencoder, digits):
    hist = trained_autoencoder.result.history
    assert hist[-1].test_loss < hist[0].test_loss / 2
    assert hist[-1].test_accuracy is None


def test_same_seed_bitwise_same_weights(digits):
    spec = models.default_spec("cnn", digits.input_shape)  # dropout exercises the forked RNG
    config = train.TrainConfig(epochs=2, batch_size=64, lr=1e-3, seed=5)
    nets = []
    for _ in range(2):
        net = models.build(spec, seed=config.seed)
        train.fit(net, digits, config)
        nets.append(net)
    for a, b in zip(nets[0].state_dict().values(), nets[1].state_dict().values(), strict=True):
        assert torch.equal(a, b)
    other = models.build(spec, seed=6)
    train.fit(other, digits, dataclasses.replace(config, seed=6))
    assert not torch.equal(nets[0].out.weight, other.out.weight)


def test_fit_leaves_global_rng_alone(digits):
    spec = models.default_spec("mlp", digits.input_shape)
    torch.manual_seed(7)
    before = torch.get_rng_state()
    train.fit(models.build(spec), digits, train.TrainConfig(epochs=1))
    assert torch.equal(torch.get_rng_state(), before)


def test_checkpoint_roundtrip(tmp_path, trained_mlp, digits):
    out = train.save(tmp_path / "ck", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics.json",
        "model.safetensors",
        "spec.json",
    ]
    ck = train.load(out)
    assert ck.spec == trained_mlp.spec
    assert torch.equal(
        train.predict(ck.model, digits.x_test), train.predict(trained_mlp.model, digits.x_test)
    )
    assert ck.dataset["name"] == "digits" and ck.dataset["hash"] == digits.hash
    assert json.loads((out / "metrics.json").read_text())["parameters"]["total"] == 1482


def test_corrupt_checkpoint_is_refused(tmp_path, trained_mlp):
    out = train.save(tmp_path / "ck", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    (out / "model.safetensors").write_bytes((out / "model.safetensors").read_bytes()[:50])
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        train.load(out)


class _Tripwire:
    """Unpickling this writes a file: the proof that a loader ran pickle."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_pickle_disguised_as_checkpoint_is_never_unpickled(tmp_path, trained_mlp):
    out = train.save(tmp_path / "ck", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    tripwire = tmp_path / "unpickled"
    (out / "model.safetensors").write_bytes(pickle.dumps({"fc1.weight": _Tripwire(tripwire)}))
    with pytest.raises(CheckpointError, match="never unpickles"):
        train.load(out)
    assert not tripwire.exists()
    # torch.save writes a zip of pickles: refused the same way.
    torch.save(trained_mlp.model.state_dict(), out / "model.safetensors")
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        train.load(out)


def test_mismatched_spec_names_the_tensors(tmp_path, trained_mlp):
    out = train.save(tmp_path / "ck", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    wider = dataclasses.replace(trained_mlp.spec, hidden=(32, 16))
    (out / "spec.json").write_text(wider.to_json())
    with pytest.raises(CheckpointError, match=r"fc1.weight is \(16, 64\) not \(32, 64\)"):
        train.load(out)


def test_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(CheckpointError, match="fragility train --out"):
        train.load(tmp_path / "nothing")


def test_cache_hit_skips_training(digits, cache_root):
    spec = models.default_spec("mlp", digits.input_shape)
    config = train.TrainConfig(epochs=2, seed=11)
    first = train.train(spec, digits, config, cache_root=cache_root)
    second = train.train(spec, digits, config, cache_root=cache_root)
    assert not first.from_cache and second.from_cache
    assert second.path == first.path
    assert second.result == first.result
    x = digits.x_test[:20]
    assert torch.equal(train.predict(first.model, x), train.predict(second.model, x))
    # Another seed is another model.
    third = train.train(spec, digits, dataclasses.replace(config, seed=12), cache_root=cache_root)
    assert not third.from_cache


def test_damaged_cache_entry_is_retrained(digits, cache_root):
    spec = models.default_spec("mlp", digits.input_shape)
    config = train.TrainConfig(epochs=1, seed=21)
    first = train.train(spec, digits, config, cache_root=cache_root)
    (first.path / "model.safetensors").write_bytes(b"junk")
    with pytest.warns(FragilityWarning, match="ignored the model cache entry .* training again"):
        again = train.train(spec, digits, config, cache_root=cache_root)
    assert not again.from_cache
    assert train.train(spec, digits, config, cache_root=cache_root).from_cache


def test_cache_entry_with_an_absurd_spec_is_retrained_with_a_warning(digits, cache_root):
    spec = models.default_spec("mlp", digits.input_shape)
    config = train.TrainConfig(epochs=1, seed=22)
    first = train.train(spec, digits, config, cache_root=cache_root)
    entry = json.loads((first.path / "spec.json").read_text())
    (first.path / "spec.json").write_text(json.dumps({**entry, "hidden": [10**9, 16]}))
    with pytest.warns(FragilityWarning, match=r"hidden must list at most 32 widths"):
        again = train.train(spec, digits, config, cache_root=cache_root)
    assert not again.from_cache and again.spec == spec
    assert train.train(spec, digits, config, cache_root=cache_root).from_cache  # rewritten


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "learning rate"),
        ({"optimizer": "lbfgs"}, "optimizer"),
    ],
)
def test_bad_config(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        train.TrainConfig(**kwargs)


def test_predict_restores_training_mode(trained_cnn, digits):
    trained_cnn.model.train()
    train.predict(trained_cnn.model, digits.x_test[:4])
    assert trained_cnn.model.training
    trained_cnn.model.eval()


def test_resolve_device():
    assert train.resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            train.resolve_device("cuda")


# Loads each checkpoint folder given, timing the refusal and measuring the peak memory it adds.
_LOAD_HOSTILE = """
import json, resource, sys, time
from fragility import train
from fragility.errors import CheckpointError

rows = []
for folder in sys.argv[1:]:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        train.load(folder)
        message = None
    except CheckpointError as exc:
        message = str(exc)
    seconds = time.perf_counter() - start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    rows.append({"seconds": seconds, "grown_mb": grown_mb, "message": message})
print(json.dumps(rows))
"""


def test_a_spec_too_large_to_build_is_refused_in_milliseconds_and_bounded_memory(
    tmp_path, trained_mlp
):
    """hidden = [1e9, 16] once asked torch for 256 GB; a spec within the bounds but unlike the
    weights (a 67-million-parameter MLP: 268 MB) was built before its shapes were compared."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    huge, wide = tmp_path / "huge", tmp_path / "wide"
    for folder, changes in (
        (huge, {"hidden": [1e9, 16]}),
        (wide, {"input_shape": [1, 64, 64], "hidden": [16384, 16]}),
    ):
        train.save(folder, trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
        spec = json.loads((folder / "spec.json").read_text())
        (folder / "spec.json").write_text(json.dumps({**spec, **changes}))
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run(
        [sys.executable, "-c", _LOAD_HOSTILE, str(huge), str(wide)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert "hidden must be a list of whole numbers" in rows[0]["message"]
    assert "fc1.weight is (16, 64) not (16384, 4096)" in rows[1]["message"]
    for row in rows:
        assert row["seconds"] < 1.0, row  # milliseconds when the machine is not busy
        assert row["grown_mb"] < 32, row  # building the wide one would take 268 MB
