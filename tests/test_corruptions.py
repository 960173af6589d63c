from __future__ import annotations

import math

import pytest
import torch

from fragility.corruptions import CORRUPTIONS, corrupt, corruption_accuracy
from fragility.errors import ConfigError
from fragility.train import evaluate


@pytest.fixture(scope="module")
def images():
    from fragility.data import load

    return load("digits", size=28).x_test[:40]


def _centre_of_mass(img: torch.Tensor) -> tuple[float, float]:
    h, w = img.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    m = img.sum()
    return float((img * ys).sum() / m), float((img * xs).sum() / m)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_shape_range_and_seed(images, name):
    a = corrupt(images, name, seed=3)
    assert a.shape == images.shape and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, corrupt(images, name, seed=3))
    assert not torch.equal(a, images)
    if name not in ("brightness", "canny edges"):  # the others draw random numbers
        assert not torch.equal(a, corrupt(images, name, seed=4))


@pytest.mark.parametrize("size", [8, 16])
def test_small_images_work(size):
    x = torch.rand(4, 1, size, size)
    for name in CORRUPTIONS:
        assert corrupt(x, name).shape == x.shape


def test_brightness_is_exact(images):
    assert torch.allclose(corrupt(images, "brightness"), (images + 0.4).clamp(0, 1))


def test_impulse_noise_hits_about_seven_percent():
    grey = torch.full((200, 1, 28, 28), 0.5)
    out = corrupt(grey, "impulse noise")
    changed = float((out != 0.5).float().mean())
    assert 0.065 < changed < 0.075
    assert set(out.unique().tolist()) == {0.0, 0.5, 1.0}


def test_shot_noise_keeps_the_mean_and_has_poisson_variance():
    grey = torch.full((200, 1, 28, 28), 0.5)
    out = corrupt(grey, "shot noise").double()
    assert float(out.mean()) == pytest.approx(0.5, abs=0.005)
    assert float(out.var()) == pytest.approx(0.5 / 60, rel=0.05)  # Var(Poisson(30)) / 60^2


def test_stripe_inverts_one_band_a_fifth_wide(images):
    out = corrupt(images, "stripe")
    for a, b in zip(images, out, strict=True):
        cols = ((a - b).abs().sum(dim=(0, 1)) > 0).nonzero().flatten().tolist()
        inverted = torch.allclose(b[..., cols], 1 - a[..., cols])
        assert inverted and len(cols) <= 6 and cols == list(range(cols[0], cols[0] + len(cols)))


def test_canny_outlines_a_square():
    x = torch.zeros(1, 1, 28, 28)
    x[..., 8:20, 8:20] = 1.0
    edges = corrupt(x, "canny edges")[0, 0]
    assert float(edges[12:16, 12:16].sum()) == 0  # nothing inside
    assert float(edges[:4].sum() + edges[24:].sum()) == 0  # nothing far outside
    ring = edges[6:22, 6:22].sum() - edges[10:18, 10:18].sum()
    assert float(ring) >= 30  # the outline is there


def test_rotate_turns_a_dot_by_30_to_50_degrees():
    x = torch.zeros(50, 1, 28, 28)
    x[..., 13:15, 21:23] = 1.0  # right of centre
    out = corrupt(x, "rotate")
    for img in out:
        cy, cx = _centre_of_mass(img[0])
        angle = abs(math.degrees(math.atan2(cy - 14, cx - 14)))
        assert 28 < angle < 52


def test_translate_moves_the_centre_of_mass_15_to_25_percent(images):
    dot = torch.zeros(30, 1, 28, 28)
    dot[..., 13:15, 13:15] = 1.0
    out = corrupt(dot, "translate")
    for img in out:
        cy, cx = _centre_of_mass(img[0])
        assert 0.14 * 28 < math.hypot(cy - 14, cx - 14) < 0.26 * 28


def test_unknown_corruption():
    with pytest.raises(ConfigError, match="unknown corruption 'snow'"):
        corrupt(torch.zeros(1, 1, 8, 8), "snow")


def test_accuracy_under_corruption(trained_mlp, digits):
    x, y = digits.x_test, digits.y_test
    r = corruption_accuracy(trained_mlp.model, x, y, ["brightness", "canny edges"], seed=0)
    assert r.clean_accuracy == evaluate(trained_mlp.model, x, y).accuracy
    assert set(r.accuracy) == {"brightness", "canny edges"}
    assert r.accuracy["canny edges"] < r.clean_accuracy - 0.3
    again = corruption_accuracy(trained_mlp.model, x, y, ["brightness", "canny edges"], seed=0)
    assert again == r
