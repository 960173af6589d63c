from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from fragility import inversion as inv
from fragility import models, train
from fragility.cli import main
from fragility.errors import ConfigError, InputError

DIGITS_SHAPE = (1, 8, 8)


def _linear_net(weight: torch.Tensor, bias: torch.Tensor) -> nn.Module:
    """logits = W flatten(x) + b: a model whose maxima and gradients are known by hand."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(weight.shape[1], weight.shape[0]))
    with torch.no_grad():
        net[1].weight.copy_(weight)
        net[1].bias.copy_(bias)
    return net.eval()


# -- activation maximisation ------------------------------------------------------------------


def test_optimised_inputs_beat_every_training_image_mlp(trained_mlp, digits):
    net = trained_mlp.model
    units = inv.class_units(10) + tuple(
        u for layer in ("fc1", "fc2") for u in inv.units_of(net, layer, DIGITS_SHAPE)
    )
    cfg = inv.MaximizeConfig(l2=0.001, restarts=2, start="noise")
    m = inv.maximize(net, units, DIGITS_SHAPE, cfg, training_images=digits.x_train)
    assert m.images.shape == (42, 2, 1, 8, 8)
    assert float(m.images.min()) >= 0.0 and float(m.images.max()) <= 1.0
    assert bool(m.beats_training.all()), m.to_dict()
    # The sigmoid head is bounded, so the class maxima beat the data only narrowly; the hidden
    # pre-activations (linear in x for fc1) far more.
    assert float((m.best_activation - m.training_max)[:10].min()) > 0.0
    assert float((m.best_activation / m.training_max)[10:26].min()) > 2.0


def test_optimised_inputs_beat_every_training_image_cnn(trained_cnn, digits):
    net = trained_cnn.model
    units = inv.class_units(10) + inv.units_of(net, "conv1", DIGITS_SHAPE)
    # Three noise starts: from the zero image alone, ascent on a ReLU net can stop at a local
    # maximum below the data (seen for one class of this CNN), which restarts get past.
    cfg = inv.MaximizeConfig(l2=0.001, start="noise", restarts=3)
    m = inv.maximize(net, units, DIGITS_SHAPE, cfg, training_images=digits.x_train)
    assert bool(m.beats_training.all()), m.to_dict()
    assert float((m.best_activation - m.training_max)[:10].min()) > 1.0


def test_strong_l2_penalty_can_keep_a_unit_below_the_data(trained_cnn, digits):
    # Where it cannot: with lambda = 0.01, the penalty (up to 0.64 on an 8x8 image) outweighs
    # the gain of a weak first-layer channel, whose mean response to any image is small.
    net = trained_cnn.model
    units = inv.units_of(net, "conv1", DIGITS_SHAPE)
    m = inv.maximize(
        net, units, DIGITS_SHAPE, inv.MaximizeConfig(l2=0.01), training_images=digits.x_train
    )
    assert 0 < int((~m.beats_training).sum()) < len(units)


def test_softmax_objective_reaches_a_lower_score(trained_cnn):
    # Simonyan et al.: maximising the posterior also pushes the other classes down, so the
    # class's own score ends far below what maximising it directly reaches.
    net = trained_cnn.model
    units = inv.class_units(10)
    by_score = inv.maximize(net, units, DIGITS_SHAPE, inv.MaximizeConfig(l2=0.001))
    by_prob = inv.maximize(net, units, DIGITS_SHAPE, inv.MaximizeConfig(l2=0.001, probability=True))
    assert float(by_prob.best_activation.min()) > 0.95  # a confident posterior ...
    with torch.no_grad():
        own_score = net(by_prob.best).diagonal()
    assert float(own_score.mean()) < 0.5 * float(by_score.best_activation.mean())


def test_linear_unit_reaches_the_known_maximum():
    # max over x in [0,1]^D of w.x - lambda ||x||^2 is x_i = clip(w_i / (2 lambda), 0, 1).
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(2, 16, generator=gen)
    net = _linear_net(w, torch.zeros(2))
    shape = (1, 4, 4)
    for lam in (0.0, 0.5):
        cfg = inv.MaximizeConfig(l2=lam, steps=400, lr=0.05)
        m = inv.maximize(net, inv.class_units(2), shape, cfg)
        best = (w / (2 * lam)).clamp(0, 1) if lam else (w > 0).float()
        assert torch.allclose(m.best.flatten(1), best, atol=0.02), lam
        assert torch.allclose(m.best_activation, (w * best).sum(1), atol=0.05)


def test_fixed_norm_keeps_the_norm_and_the_box():
    w = torch.randn(1, 16, generator=torch.Generator().manual_seed(0))
    net = _linear_net(w, torch.zeros(1))
    m = inv.maximize(net, inv.class_units(1), (1, 4, 4), inv.MaximizeConfig(fixed_norm=1.5))
    x = m.best.flatten()
    assert float(x.norm()) <= 1.5 + 1e-5 and float(x.norm()) > 1.4
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # Erhan's maximum on the sphere (clamped to the box) puts no mass on negative weights.
    assert float(x[w[0] < 0].abs().max()) < 1e-6


def test_same_seed_same_images(trained_mlp):
    cfg = inv.MaximizeConfig(restarts=2, start="noise", jitter=1, blur_sigma=0.5, steps=30)
    a = inv.maximize(trained_mlp.model, inv.class_units(10), DIGITS_SHAPE, cfg)
    b = inv.maximize(trained_mlp.model, inv.class_units(10), DIGITS_SHAPE, cfg)
    assert torch.equal(a.images, b.images) and torch.equal(a.activation, b.activation)
    c = inv.maximize(
        trained_mlp.model,
        inv.class_units(10),
        DIGITS_SHAPE,
        inv.MaximizeConfig(restarts=2, start="noise", jitter=1, blur_sigma=0.5, steps=30, seed=1),
    )
    assert not torch.equal(a.images, c.images)
    assert float(a.diversity.min()) > 0.0  # noise starts: the restarts differ


def test_maximize_leaves_model_mode_and_weights_alone(trained_cnn):
    net = trained_cnn.model
    before = copy.deepcopy(net.state_dict())
    grads = [None if p.grad is None else p.grad.clone() for p in net.parameters()]
    net.train()
    try:
        inv.maximize(net, inv.class_units(3), DIGITS_SHAPE, inv.MaximizeConfig(steps=3))
        assert net.training
    finally:
        net.eval()
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
    for p, g in zip(net.parameters(), grads, strict=True):  # no gradient was accumulated
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)


# -- the objective's gradient -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"layer": ""},
        {"layer": "", "l2": 0.3, "tv": 0.2, "shift": (1, -1)},
        {"layer": "", "probability": True, "l2": 0.1},
        {"layer": "fc1", "l2": 0.05},
        {"layer": "act2", "tv": 0.1},
    ],
)
def test_objective_gradient_passes_gradcheck(kwargs):
    spec = models.ModelSpec("mlp", (1, 3, 3), num_classes=4, hidden=(5, 4))
    net = models.build(spec, seed=2).double().eval()
    x = torch.rand(3, 1, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    layer = kwargs.pop("layer")
    units = [inv.Unit(layer, i) for i in (0, 1, 3)]
    assert torch.autograd.gradcheck(
        lambda v: inv.objective(net, v, units, **kwargs), (x,), eps=1e-6, atol=1e-5
    )


def test_channel_objective_gradcheck_on_a_tiny_cnn():
    spec = models.ModelSpec("cnn", (1, 4, 4), num_classes=3, channels=(2,), dense=0)
    net = models.build(spec, seed=0).double().eval()
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x.requires_grad_(True)
    units = [inv.Unit("conv1", 0), inv.Unit("", 2)]  # a channel and a logit in one batch
    assert torch.autograd.gradcheck(
        lambda v: inv.objective(net, v, units, l2=0.1, tv=0.1), (x,), eps=1e-6
    )


def test_mixed_layers_in_one_batch_match_one_layer_at_a_time(trained_cnn, digits):
    net = trained_cnn.model
    x = digits.x_test[:5]
    units = [inv.Unit("fc1", 3), inv.Unit("", 1), inv.Unit("conv1", 2), inv.Unit("", 4)]
    units.append(inv.Unit("conv1", 0))
    with torch.no_grad():
        mixed = inv.activations(net, x, units)
        h = net.fc1(
            net.drop1(
                net.flatten(net.pool2(net.relu2(net.conv2(net.pool1(net.relu1(net.conv1(x)))))))
            )
        )
        logits = net(x)
        c1 = net.conv1(x).mean((-2, -1))
    expected = torch.stack([h[0, 3], logits[1, 1], c1[2, 2], logits[3, 4], c1[4, 0]])
    assert torch.allclose(mixed, expected, atol=1e-5)


def test_total_variation_by_hand():
    x = torch.tensor([[[[0.0, 1.0], [0.5, 0.5]]]])
    # right: (1-0)^2 + 0; down: (0.5-0)^2 + (0.5-1)^2
    assert torch.allclose(inv.total_variation(x), torch.tensor([1.0 + 0.25 + 0.25]))


def test_blur_keeps_constant_images_and_the_mass():
    flat = torch.full((1, 1, 8, 8), 0.3)
    assert torch.allclose(inv.gaussian_blur(flat, 1.0), flat)
    dot = torch.zeros(1, 1, 9, 9)
    dot[..., 4, 4] = 1.0
    blurred = inv.gaussian_blur(dot, 0.8)
    assert abs(float(blurred.sum()) - 1.0) < 1e-5 and float(blurred.max()) < 0.5


# -- layers by name -----------------------------------------------------------------------------


class _TwoBranch(nn.Module):
    """Not a Sequential: layers reached through attributes, as in most user models."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 3, 3, padding=1)
        self.head = nn.Linear(3 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.stem(x)).flatten(1))


def test_any_module_by_layer_name():
    net = _TwoBranch().eval()
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(inv.layer_output(net, x, "stem"), net.stem(x))
    assert inv.hidden_layers(net) == ("stem",)
    assert inv.first_layer_weights(net, DIGITS_SHAPE)[0] == "stem"
    m = inv.maximize(net, inv.units_of(net, "stem", DIGITS_SHAPE), DIGITS_SHAPE)
    assert m.images.shape == (3, 1, 1, 8, 8)
    with pytest.raises(ConfigError, match=r"no layer named 'fc9'.*stem, head"):
        inv.layer_output(net, x, "fc9")
    with pytest.raises(ConfigError, match="out of range"):
        inv.maximize(net, [inv.Unit("stem", 7)], DIGITS_SHAPE)


def test_training_maxima_match_a_direct_computation(trained_mlp, digits):
    net = trained_mlp.model
    units = [inv.Unit("fc1", 3), inv.Unit("", 7)]
    best, where = inv.training_maxima(net, digits.x_train, units, batch_size=100)
    with torch.no_grad():
        h = net.fc1(digits.x_train.flatten(1))[:, 3]
        logits = net(digits.x_train)[:, 7]
    assert torch.allclose(best, torch.stack([h.max(), logits.max()]))
    assert where.tolist() == [int(h.argmax()), int(logits.argmax())]
    # The softmax objective's bar: the class posterior, over the batches.
    units = [inv.Unit("", 7), inv.Unit("", 2)]
    best, where = inv.training_maxima(net, digits.x_train, units, batch_size=100, probability=True)
    with torch.no_grad():
        p = net(digits.x_train).softmax(1)[:, [7, 2]]
    assert torch.allclose(best, p.max(0).values)
    assert torch.allclose(p[where, torch.arange(2)], best)  # each index reaches its maximum


def test_probability_needs_a_flat_layer(trained_cnn, digits):
    with pytest.raises(ConfigError, match=r"probability needs a layer of shape.*'conv1' gives"):
        inv.training_maxima(
            trained_cnn.model, digits.x_train[:5], [inv.Unit("conv1", 0)], probability=True
        )


# -- representation inversion ------------------------------------------------------------------


def test_inversion_matches_the_code_but_not_the_pixels(trained_mlp, digits):
    picks = inv.one_per_class(digits.y_test, 10)
    r = inv.invert_representation(trained_mlp.model, digits.x_test[picks], "fc2", steps=300)
    assert float(r.code_distance.mean()) < 0.1
    assert float(r.prediction_agrees.float().mean()) >= 0.9
    # Further from the original than two different digits are from each other.
    assert float(r.pixel_distance.mean()) > r.typical_pixel_distance
    assert float(r.inverted.min()) >= 0 and float(r.inverted.max()) <= 1


# -- first-layer weights ----------------------------------------------------------------------


def test_a_gabor_is_edge_like_and_noise_is_not():
    bank, params = inv.gabor_bank(8, 8)
    g = bank[100].view(1, 1, 8, 8)
    scores = inv.edge_scores(g, seed=0)
    assert float(scores.gabor[0]) > 0.999 and bool(scores.edge_like[0])
    assert float(scores.orientation_deg[0]) == float(params[100, 0])
    # Noise scores like its own shuffles: about 5 % pass the 95th percentile by chance.
    noise = torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    scores = inv.edge_scores(noise, seed=0)
    assert float(scores.edge_like.float().mean()) < 0.15
    assert abs(float(scores.gabor.mean() - scores.chance.mean())) < 0.02
    assert float(scores.neighbour_correlation.abs().mean()) < 0.15


def test_neighbour_correlation_by_hand():
    ramp = torch.arange(8.0).repeat(8, 1).view(1, 1, 8, 8)
    checker = ((torch.arange(8).view(-1, 1) + torch.arange(8)) % 2).float().view(1, 1, 8, 8)
    r = inv.neighbour_correlation(torch.cat([ramp, checker]))
    assert float(r[1]) == pytest.approx(-1.0)
    assert float(r[0]) > 0.6  # horizontal pairs differ by 1, vertical pairs are equal


def test_first_layer_weights_as_images(trained_mlp, trained_cnn):
    name, w = inv.first_layer_weights(trained_mlp.model, DIGITS_SHAPE)
    assert name == "fc1" and w.shape == (16, 1, 8, 8)
    assert torch.equal(w[5].flatten(), trained_mlp.model.fc1.weight[5].detach())
    name, w = inv.first_layer_weights(trained_cnn.model, DIGITS_SHAPE)
    assert name == "conv1" and w.shape == (16, 1, 3, 3)
    with pytest.raises(ConfigError, match="cannot be drawn"):
        inv.first_layer_weights(trained_mlp.model, (1, 4, 4))


# -- saliency ---------------------------------------------------------------------------------


def test_saliency_of_a_linear_model_is_its_weight_row():
    w = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    net = _linear_net(w, torch.zeros(3))
    x = torch.rand(4, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    s = inv.saliency(net, x, torch.tensor([0, 1, 2, 1]))
    assert torch.allclose(s.gradient.flatten(1), w[[0, 1, 2, 1]])
    assert torch.allclose(s.grad_x_input, s.gradient * x)


def test_saliency_equals_autograd(trained_cnn, digits):
    x = digits.x_test[:3]
    s = inv.saliency(trained_cnn.model, x)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda v: trained_cnn.model(v)[0], x[i : i + 1])
        assert torch.allclose(s.gradient[i], jac[int(s.target[i]), 0], atol=1e-6)
    with torch.no_grad():
        assert torch.equal(s.target, trained_cnn.model(x).argmax(1))


def test_saliency_mass():
    maps = torch.tensor([[[1.0, 3.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, False], [False, False]])
    assert torch.allclose(inv.saliency_mass(maps, mask), torch.tensor([0.25]))


def test_saliency_rejects_bad_images(trained_mlp):
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        inv.saliency(trained_mlp.model, torch.full((1, 1, 8, 8), 2.0))


# -- which weights matter ---------------------------------------------------------------------


def _diagonal_classifier() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Five classes plus a 'none' class with bias 0.1; class i's examples are e_i and only the
    weight W[i, i] = 2 votes for them. Every example is right until its diagonal weight is
    zeroed; the other weights are 0, so zeroing them changes nothing. Every diagonal weight has
    the same, and the largest, per-example gradient: the top cut removes them first, in order."""
    d = 5
    w = torch.zeros(d + 1, d)
    w[torch.arange(d), torch.arange(d)] = 2.0
    b = torch.zeros(d + 1)
    b[d] = 0.1
    x = torch.eye(d).repeat(4, 1).view(-1, 1, 1, d)
    y = torch.arange(d).repeat(4)
    return _linear_net(w, b), x, y


def test_top_ranked_cut_is_monotone_and_exact_on_a_known_model():
    net, x, y = _diagonal_classifier()
    scores = inv.weight_sensitivity(net, x, y)
    n = 30
    fractions = [k / n for k in range(0, 7)]
    c = inv.prune_curve(net, scores, x, y, fractions, seed=0)
    assert c.n_weights == n
    # Cutting k of the 5 diagonal weights loses exactly k of the 5 classes.
    assert list(c.top) == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0])
    assert all(a >= b for a, b in zip(c.top, c.top[1:], strict=False))
    # The lowest-ranked are zero weights: nothing changes.
    assert list(c.bottom) == pytest.approx([1.0] * 7)
    assert float(net[1].weight[0, 0].detach()) == 2.0  # the model itself was not touched


def test_per_example_sensitivity_matches_a_loop(trained_mlp, digits):
    net = trained_mlp.model
    x, y = digits.x_train[:7], digits.y_train[:7]
    fast = inv.weight_sensitivity(net, x, y, batch_size=3)
    slow = {k: torch.zeros_like(v) for k, v in fast.items()}
    for i in range(7):
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(x[i : i + 1]), y[i : i + 1]).backward()
        for k, p in net.named_parameters():
            if k in slow:
                slow[k] += p.grad.abs()
    net.zero_grad(set_to_none=True)
    assert set(fast) == {"fc1.weight", "fc2.weight", "out.weight"}
    for k in fast:
        assert torch.allclose(fast[k], slow[k], atol=1e-6)


def test_gradient_ranked_weights_matter_more_than_random_ones(trained_mlp, digits):
    net = trained_mlp.model
    scores = inv.weight_sensitivity(net, digits.x_train, digits.y_train)
    c = inv.prune_curve(net, scores, digits.x_test, digits.y_test, (0.0, 0.05), seed=0)
    # Measured: top 80.4 %, random 94.0 %, bottom 96.4 % (unchanged).
    assert c.top[1] < c.random[1] - 0.05
    assert c.bottom[1] >= c.top[0] - 0.005


# -- the whole analysis and the command line --------------------------------------------------


def test_analyse_to_dict_is_json(trained_mlp, digits):
    cfg = inv.MaximizeConfig(steps=20, restarts=2, start="noise", l2=0.001)
    r = inv.analyse(trained_mlp.model, digits, config=cfg, inversion_steps=20)
    d = json.loads(json.dumps(r.to_dict()))
    again = inv.analyse(trained_mlp.model, digits, config=cfg, inversion_steps=20)
    assert json.dumps(again.to_dict()) == json.dumps(d)  # pure: no timings inside
    assert d["classes"]["n_units"] == 10 and d["hidden"]["n_units"] == 32
    assert d["first_layer_weights"]["shape"] == [16, 1, 8, 8]
    assert d["saliency"]["label"] == list(range(10))
    assert d["inversion"]["layer"] == "fc2"
    assert math.isclose(d["pruning"]["top"][0], trained_mlp.result.test_accuracy, rel_tol=1e-6)


def test_cli_end_to_end(tmp_path, capsys, trained_mlp):
    ck = train.save(tmp_path / "ck", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    out = tmp_path / "inv"
    argv = ["invert", "--checkpoint", str(ck), "--steps", "40", "--restarts", "2", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "classes: 10 of 10 optimised inputs" in printed
    d = json.loads((out / "inversion.json").read_text())
    assert d["steps"] == 40 and d["seconds"] > 0
    assert d["classes"]["units"][0]["best_training_activation"] is not None
    assert {p.name for p in out.glob("*.png")} == {
        "classes.png",
        "hidden.png",
        "weights.png",
        "pruning.png",
        "saliency.png",
        "inversion.png",
    }
    assert main([*argv, "--what", "weights", "--out", str(tmp_path / "w")]) == 0
    only = json.loads((tmp_path / "w" / "inversion.json").read_text())
    assert "classes" not in only and "pruning" in only


def test_cli_bad_arguments_exit_2(tmp_path, capsys, trained_mlp):
    assert main(["invert", "--checkpoint", "x", "--what", "everything", "--out", "o"]) == 2
    assert main(["invert", "--checkpoint", "x", "--jitter", "-1", "--out", "o"]) == 2
    assert "--jitter: expected a shift in pixels from 0 to 64, not -1" in capsys.readouterr().err
    assert main(["invert", "--checkpoint", str(tmp_path / "none"), "--out", "o"]) == 2
    assert "no checkpoint folder" in capsys.readouterr().err
    ck = train.save(tmp_path / "ck", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    argv = ["invert", "--checkpoint", str(ck), "--what", "inversion", "--layer", "fc7"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility: error: --layer 'fc7' is not a layer of mlp")
    assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_colour_first_layer_filters_are_drawn_as_rgb_patches():
    from fragility.figures.inversion import filter_image, weights_gallery
    from fragility.inversion import edge_scores

    w = torch.zeros(2, 3, 3, 3)
    w[0, 0] = 2.0  # weighs red up
    w[0, 2] = -1.0  # and blue down, half as much
    w[1, 1, 1, 1] = -4.0  # one green pixel, negative
    red = filter_image(w[0])
    assert red.shape == (3, 3, 3)
    assert np.allclose(red[..., 0], 1.0) and np.allclose(red[..., 1], 0.5)
    assert np.allclose(red[..., 2], 0.25)
    dark = filter_image(w[1])
    assert np.allclose(dark[1, 1], [0.5, 0.0, 0.5]) and np.allclose(dark[0, 0], 0.5)
    grey = filter_image(torch.tensor([[[1.0, -1.0]]]))  # one channel: red-blue scale
    assert grey[0, 0, 0] > grey[0, 0, 2] and grey[0, 1, 2] > grey[0, 1, 0]
    assert weights_gallery(edge_scores(w, layer="conv", seed=0)).axes  # draws
