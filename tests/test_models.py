from __future__ import annotations

import json

import pytest
import torch

from fragility import models
from fragility.errors import ConfigError


def test_seed_mlp_parameter_count_at_28x28():
    net = models.build(models.default_spec("mlp", (1, 28, 28)))
    counts = models.parameter_counts(net)
    assert counts == {"weights": 12_960, "biases": 42, "total": 13_002}
    assert [type(m).__name__ for m in net] == [
        "Flatten",
        "Linear",
        "Sigmoid",
        "Linear",
        "Sigmoid",
        "Linear",
    ]


@pytest.mark.parametrize("size", [8, 16, 28, 32])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_classifiers_map_images_to_logits(kind, size):
    spec = models.default_spec(kind, (1, size, size))
    net = models.build(spec).eval()
    out = net(torch.rand(5, 1, size, size))
    assert out.shape == (5, 10)
    assert not torch.allclose(out.softmax(1).sum(1), out.sum(1))  # logits, not probabilities


@pytest.mark.parametrize("encoder", ["dense", "conv"])
def test_autoencoder_reconstructs_in_range(encoder):
    spec = models.ModelSpec("autoencoder", (1, 8, 8), encoder=encoder)
    ae = models.build(spec)
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        y = ae(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert ae.encode(x).shape == (4, spec.code_size)
    assert ae.reconstruction_error(x).shape == (4,)


def test_spec_json_roundtrip():
    spec = models.ModelSpec("cnn", (1, 28, 28), channels=(8, 16, 32), dense=0, dropout=0.1)
    again = models.ModelSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["channels"] == [8, 16, 32]


def test_build_is_seeded_and_leaves_global_state():
    spec = models.default_spec("cnn", (1, 8, 8))
    torch.manual_seed(99)
    before = torch.get_rng_state()
    a, b = models.build(spec, seed=3), models.build(spec, seed=3)
    assert torch.equal(torch.get_rng_state(), before)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = models.build(spec, seed=4)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "rnn"}, "unknown model kind 'rnn'"),
        ({"activation": "swish"}, "unknown activation"),
        ({"dropout": 1.0}, "dropout must lie in"),
        ({"kind": "cnn", "channels": (4, 4, 4, 4)}, "pooling steps shrink"),
        ({"kernel_size": 2}, "kernel_size must be odd"),
    ],
)
def test_bad_specs_are_config_errors(kwargs, message):
    base = {"kind": "mlp", "input_shape": (1, 8, 8)}
    with pytest.raises(ConfigError, match=message):
        models.ModelSpec(**{**base, **kwargs})


def test_unknown_spec_keys_rejected():
    with pytest.raises(ConfigError, match="unknown model spec keys: widht"):
        models.ModelSpec.from_dict({"kind": "mlp", "input_shape": [1, 8, 8], "widht": 3})
