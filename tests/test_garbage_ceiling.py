"""The proved confidence ceiling and its witness search, on networks whose answers are known.

Hand-built sigmoid networks: one where the ceiling is reached exactly by a corner of the input
box, one where the bound is loose (two hidden units that cannot both be on) and the answer must
be "open", and one where the ceiling is below the target. Then the trained digits models.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from fragility import garbage as G
from fragility.errors import InputError
from fragility.garbage.ceiling import OPEN, REACHED, UNREACHABLE, box_ceiling, hidden_box
from fragility.garbage.study import StudyConfig, StudyResult

TARGET = 0.9999


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _net(w1, b1, w2, b2=None) -> nn.Sequential:
    """Flatten -> Linear(w1, b1) -> Sigmoid -> Linear(w2, b2)."""
    w1, w2 = torch.tensor(w1, dtype=torch.float32), torch.tensor(w2, dtype=torch.float32)
    first = nn.Linear(w1.shape[1], w1.shape[0])
    last = nn.Linear(w2.shape[1], w2.shape[0], bias=b2 is not None)
    with torch.no_grad():
        first.weight.copy_(w1)
        first.bias.copy_(torch.tensor(b1, dtype=torch.float32))
        last.weight.copy_(w2)
        if b2 is not None:
            last.bias.copy_(torch.tensor(b2, dtype=torch.float32))
    return nn.Sequential(nn.Flatten(), first, nn.Sigmoid(), last).eval()


def _corner_net(scale: float) -> nn.Sequential:
    """Two pixels, h_i = sigmoid(20 x_i - 10), z = scale * (h0 - h1, h1 - h0).

    p_0 is largest at x = (1, 0): h = (s(10), s(-10)), logit gap 2 scale (s(10) - s(-10)); the
    interval box of h is exactly [s(-10), s(10)]^2, so the ceiling is that value, and reached.
    """
    return _net([[20.0, 0.0], [0.0, 20.0]], [-10.0, -10.0], [[scale, -scale], [-scale, scale]])


def _corner_answer(scale: float) -> float:
    return _sig(2 * scale * (_sig(10) - _sig(-10)))


def test_reachable_ceiling_is_reached_by_the_witness_from_a_start_that_falls_short():
    model, shape = _corner_net(5.0), (1, 1, 2)
    grey = torch.full((2, *shape), 0.5)  # p = 0.5 for both classes: far below the target
    c = G.confidence_ceiling(model, shape, target=TARGET, starts=grey)
    exact = _corner_answer(5.0)  # 0.999955
    assert exact > TARGET
    assert c.bound == pytest.approx([exact, exact], abs=1e-9)
    assert c.verdicts == (REACHED, REACHED)
    # The witness is the corner, and its confidence comes from the float32 model itself.
    assert c.witness[0].flatten().tolist() == pytest.approx([1.0, 0.0], abs=1e-4)
    assert c.witness[1].flatten().tolist() == pytest.approx([0.0, 1.0], abs=1e-4)
    own = model(c.witness).detach().double().softmax(1)
    assert c.witness_confidence == pytest.approx([own[0, 0].item(), own[1, 1].item()], abs=0)
    assert c.witness_confidence == pytest.approx([exact, exact], abs=1e-6)
    d = c.to_dict(["a", "b"])
    assert d["reached"] == [0, 1] and d["per_class"][0]["verdict"] == "reached"


def test_loose_bound_is_reported_open_not_reached():
    # One pixel; h0 = s(20x - 10) and h1 = s(10 - 20x) sum to exactly 1 for every x, but the
    # box lets both be s(10). z = (40 (h0 + h1), 60): the box allows a logit gap near +20 for
    # class 0, while every real input gives 40 - 60 = -20.
    model = _net([[20.0], [-20.0]], [-10.0, 10.0], [[40.0, 40.0], [0.0, 0.0]], [0.0, 60.0])
    shape = (1, 1, 1)
    c = G.confidence_ceiling(model, shape, target=TARGET, starts=torch.full((2, *shape), 0.5))
    assert c.bound[0] == pytest.approx(_sig(80 * _sig(10) - 60), abs=1e-9)  # above the target
    assert c.witness_confidence[0] == pytest.approx(_sig(-20), rel=1e-3)  # the truth, anywhere
    assert c.verdicts == (OPEN, REACHED)  # class 1 gets s(20) from any input
    assert c.classes(OPEN) == (0,)


def test_ceiling_below_the_target_is_a_proof_every_input_obeys():
    model, shape = _corner_net(2.0), (1, 1, 2)
    c = G.confidence_ceiling(model, shape, target=TARGET)
    assert c.bound == pytest.approx([_corner_answer(2.0)] * 2, abs=1e-9)  # 0.982
    assert c.verdicts == (UNREACHABLE, UNREACHABLE) and c.witness is None
    # Brute force over a grid of the input box: nothing above the bound, and the bound is met.
    g = torch.linspace(0, 1, 101)
    grid = torch.stack(torch.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 1, 1, 2)
    p = model(grid).detach().double().softmax(1)
    assert float(p.max()) <= c.bound.max() + 1e-7
    assert float(p[:, 0].max()) == pytest.approx(c.bound[0], abs=1e-6)


def test_box_ceiling_matches_a_brute_force_maximum_over_the_box():
    gen = np.random.default_rng(3)
    w, b = gen.normal(0, 3, (3, 2)), gen.normal(0, 1, 3)
    lo, hi = np.array([-0.5, 0.2]), np.array([1.0, 0.9])
    bound, argmax = box_ceiling(w, b, lo, hi)
    a, c = np.meshgrid(np.linspace(lo[0], hi[0], 401), np.linspace(lo[1], hi[1], 401))
    h = np.stack([a.ravel(), c.ravel()], 1)
    z = h @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    brute = p.max(0)
    assert (bound >= brute - 1e-12).all()  # an upper bound
    assert bound == pytest.approx(brute, abs=1e-4)  # and a tight one
    assert ((argmax >= lo - 1e-12) & (argmax <= hi + 1e-12)).all()


def test_interval_box_through_conv_pool_and_relu_contains_every_forward_pass():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(12, 5),
        nn.Tanh(),
        nn.Linear(5, 3),
    ).eval()
    lo, hi, head = hidden_box(model, (1, 4, 4))
    assert head is model[-1] and lo.shape == (5,)
    x = torch.rand(2000, 1, 4, 4)
    x[:10] = torch.randint(0, 2, (10, 1, 4, 4)).float()  # corners of the box too
    h = model[:-1](x).detach().double()
    assert (h >= lo - 1e-6).all() and (h <= hi + 1e-6).all()
    c = G.confidence_ceiling(model, (1, 4, 4))
    p = model(x).detach().double().softmax(1)
    assert (p.max(0).values.numpy() <= c.bound + 1e-7).all()


def test_unsupported_models_have_no_ceiling():
    class Custom(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :2]

    assert G.confidence_ceiling(Custom(), (1, 1, 2)) is None
    assert (
        G.confidence_ceiling(nn.Sequential(nn.Flatten(), nn.GELU(), nn.Linear(2, 2)), (1, 1, 2))
        is None
    )
    with pytest.raises(InputError, match="one start image"):
        G.confidence_ceiling(_corner_net(5.0), (1, 1, 2), starts=torch.zeros(1, 1, 1, 2))


def test_study_takes_the_witness_where_ascent_fell_short():
    model, shape = _corner_net(5.0), (1, 1, 2)
    short = G.ascent(model, start="grey", shape=shape, max_steps=0)  # never moves: p = 0.5
    c = G.confidence_ceiling(model, shape, target=TARGET, starts=short.images)
    result = StudyResult(StudyConfig(methods=("ascent",)), ("a", "b"), ceiling=c, ascent=short)
    assert result.finished_by_witness == (0, 1)
    images, _, conf = result.fooling()["ascent"]
    assert (conf >= TARGET).all() and torch.equal(images, c.witness)
    assert short.confidence.tolist() == [0.5, 0.5]  # the ascent's own result is left as it was
    summary = result.to_dict()["ascent_with_witness"]
    assert summary["finished_by_witness"] == [0, 1] and summary["classes_reached"] == 2


def test_digits_mlp_every_class_proved_out_of_reach(trained_mlp, trained_cnn, digits):
    shape = digits.input_shape
    r = G.ascent(trained_mlp.model, start="blank", shape=shape, max_steps=300)
    c = G.confidence_ceiling(trained_mlp.model, shape, starts=r.images)
    assert c.classes(UNREACHABLE) == tuple(range(10))
    assert (r.confidence <= c.bound + 1e-9).all()
    assert (r.confidence > 0.99).all()  # confident garbage all the same
    cnn = G.confidence_ceiling(trained_cnn.model, shape)
    assert cnn is not None and (cnn.bound > TARGET).all()  # a ReLU CNN: no useful ceiling


def test_the_study_bounds_the_witness_search(trained_cnn, digits, monkeypatch):
    """StudyConfig.witness_iterations is the L-BFGS-B budget of every witness search the
    study starts (a quick report lowers it); zero is refused."""
    from fragility.errors import ConfigError
    from fragility.garbage import ceiling
    from fragility.garbage.study import run_study

    seen, search = [], ceiling.witness_search

    def spy(*args, **kwargs):
        seen.append(kwargs["max_iter"])
        return search(*args, **kwargs)

    monkeypatch.setattr(ceiling, "witness_search", spy)
    config = StudyConfig(methods=("ascent",), ascent_steps=0, witness_iterations=3)
    result = run_study(trained_cnn.model, digits, config)
    short = (result.ascent.confidence < TARGET).sum().item()
    assert short > 0 and seen == [3] * short  # one search per class ascent left short
    with pytest.raises(ConfigError, match="witness_iterations must be positive"):
        StudyConfig(witness_iterations=0)
