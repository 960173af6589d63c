"""The image/model contract (fragility.contract), and every analysis on a model from outside:
colour, a non-square size, a number of classes that is not 10."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fragility import contract
from fragility.errors import InputError

SHAPE = (3, 10, 12)  # colour, not square
K = 4


def colour_cnn(seed: int = 0) -> nn.Module:
    """A small colour CNN with batch-norm and dropout (both change with the mode)."""
    c, h, w = SHAPE
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Conv2d(c, 5, 3, padding=1),
            nn.BatchNorm2d(5),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Flatten(),
            nn.Linear(5 * h * w, 8),
            nn.Sigmoid(),
            nn.Linear(8, K),
        )


def colour_images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand((n, *SHAPE), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------
# Checks


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.rand(2, 8, 8), r"\(N, C, H, W\), not float32 \(2, 8, 8\)"),
        (torch.zeros(2, 1, 8, 8, dtype=torch.uint8), "not uint8"),
        ([[0.5]], "not list"),
        (torch.full((1, 1, 2, 2), float("nan")), "NaN or infinite"),
        (torch.full((1, 1, 2, 2), 2.0), r"span \[2, 2\]"),
        (torch.full((1, 1, 2, 2), -0.5), "put any normalisation inside the model"),
    ],
)
def test_images_breaking_the_contract_are_named(x, message):
    with pytest.raises(InputError, match=message):
        contract.check_images(x)


def test_out_of_range_allowed_only_when_asked_and_empty_only_when_allowed():
    contract.check_images(torch.full((1, 1, 2, 2), 3.0), in_range=False)
    contract.check_images(torch.empty(0, 3, 4, 4))
    with pytest.raises(InputError, match="no images given"):
        contract.check_images(torch.empty(0, 3, 4, 4), nonempty=True)
    with pytest.raises(InputError, match="NaN"):
        contract.check_images(torch.full((1, 1, 2, 2), float("inf")), in_range=False)


def test_labels_are_checked_for_type_shape_and_range():
    contract.check_labels(torch.tensor([0, 3]), 2, 4)
    for bad, message in [
        (torch.tensor([0.0, 1.0]), "integer class indices"),
        (torch.tensor([0, 1, 2]), r"shape \(2,\)"),
        (torch.tensor([0, 4]), r"lie in 0\.\.3 for a model with 4 outputs, not 0\.\.4"),
        (torch.tensor([-1, 0]), r"not -1\.\.0"),
    ]:
        with pytest.raises(InputError, match=message):
            contract.check_labels(bad, 2, 4)


def test_num_classes_tries_the_shape_the_model_takes():
    model = colour_cnn()
    assert contract.num_classes(model, SHAPE) == K
    with pytest.raises(InputError, match=r"cannot take images of shape \(1, 10, 12\)"):
        contract.num_classes(model, (1, 10, 12))  # grey into a colour model
    with pytest.raises(InputError, match=r"cannot take images of shape \(3, 8, 8\)"):
        contract.num_classes(model, (3, 8, 8))  # the wrong size for its dense layer
    with pytest.raises(InputError, match=r"logits \(N, K\).*returned \(1, 3, 10, 12\)"):
        contract.num_classes(nn.Identity(), SHAPE)
    with pytest.raises(InputError, match="positive sizes"):
        contract.num_classes(model, (3, 0, 12))


# ---------------------------------------------------------------------------------------------
# The model's state


def _state(model: nn.Module) -> tuple[list[bool], list[bool]]:
    return [m.training for m in model.modules()], [p.requires_grad for p in model.parameters()]


def test_evaluating_freezes_and_restores_each_part_as_it_was():
    model = colour_cnn()
    model.train()
    model[1].eval()  # a frozen batch-norm inside a model in training mode
    model[0].weight.requires_grad_(False)  # a frozen first layer
    before = _state(model)
    assert len(set(before[0])) == 2 and len(set(before[1])) == 2  # mixed, so restoring shows
    with contract.evaluating(model, None):
        modes, flags = _state(model)
        assert not any(modes) and not any(flags)
    assert _state(model) == before
    with pytest.raises(ValueError, match="inside"), contract.evaluating(model):
        raise ValueError("inside")
    assert _state(model) == before


def test_predict_runs_in_eval_mode_on_the_cpu_and_restores():
    model = colour_cnn().train()
    x = colour_images(7)
    before = _state(model)
    out = contract.predict(model, x, batch_size=3)
    assert _state(model) == before
    assert out.dtype == torch.float32 and out.device.type == "cpu" and out.shape == (7, K)
    with torch.no_grad():
        assert torch.allclose(out, model.eval()(x), atol=1e-6)  # dropout was off


def test_analysing_gives_the_device_and_restores_threads():
    model = colour_cnn()
    threads = torch.get_num_threads()
    with contract.analysing(model, (8, *SHAPE)) as device:
        assert device == contract.model_device(model) == torch.device("cpu")
        assert not model.training
    assert torch.get_num_threads() == threads
    assert contract.model_device(nn.ReLU()) == torch.device("cpu")  # no parameters at all


# ---------------------------------------------------------------------------------------------
# Every analysis on a colour, non-square model with four classes


@pytest.fixture(scope="module")
def outside():
    model = colour_cnn().eval()
    x = colour_images(6)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    return model, x, y


def test_attacks_take_any_contract_model(outside):
    from fragility.attacks import PGD, CarliniWagnerL2, DeepFool, robust_accuracy

    model, x, y = outside
    for attack, eps in ((PGD(steps=5), 0.3), (DeepFool(steps=5), None)):
        r = attack.run(model, x, y, eps)
        assert r.adversarial.shape == x.shape and r.logits.shape == (6, K)
    assert CarliniWagnerL2(steps=3, binary_search_steps=1).run(model, x, y).logits.shape[1] == K
    curve = robust_accuracy(model, x, y, PGD(steps=3), (0.0, 0.1))
    assert curve.accuracy[1] <= curve.accuracy[0]
    with pytest.raises(InputError, match="cannot take images to attack of shape"):
        PGD(steps=2).run(model, x[:, :1], y, 0.1)
    with pytest.raises(InputError, match=r"lie in 0\.\.3"):
        PGD(steps=2).run(model, x, y + 1, 0.1)


def test_garbage_takes_any_contract_model(outside):
    from fragility.garbage import DirectEncoding, ascent, evolve, noise_families, survey

    model, x, _ = outside
    a = ascent(model, shape=SHAPE, max_steps=20, target=0.9)
    assert a.classes == tuple(range(K)) and a.images.shape == (K, *SHAPE)
    e = evolve(model, DirectEncoding(), SHAPE, generations=2, population=8, target=0.9)
    assert e.images.shape == (K, *SHAPE)
    s = survey(model, noise_families(5, SHAPE, test_images=x))
    assert all(len(r.stats.class_counts) == K for r in s.rows)
    with pytest.raises(InputError, match="cannot take images of shape"):
        ascent(model, shape=(1, 10, 12), max_steps=2)


def test_inversion_takes_any_contract_model(outside):
    from fragility import inversion as inv

    model, x, y = outside
    m = inv.maximize(model, inv.class_units(K), SHAPE, inv.MaximizeConfig(steps=3))
    assert m.images.shape == (K, 1, *SHAPE)
    assert inv.saliency(model, x).gradient.shape == x.shape
    assert inv.invert_representation(model, x[:2], "5", steps=2).inverted.shape == (2, *SHAPE)
    name, w = inv.first_layer_weights(model, SHAPE)
    assert name == "0" and w.shape == (5, 3, 3, 3)
    scores = inv.weight_sensitivity(model, x, y)
    assert set(scores) == {"0.weight", "5.weight", "7.weight"}


def test_metrics_take_any_contract_model(outside):
    from fragility.metrics import saturated_share

    model, x, _ = outside
    (share,) = saturated_share(model, x)
    assert 0.0 <= share <= 1.0
