from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fragility.corruptions import (
    COLOUR_CORRUPTIONS,
    CORRUPTIONS,
    cifar_c,
    corrupt,
    corrupt_all,
    corruption_accuracy,
    family_for,
)
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


def test_unknown_corruption_names_the_family():
    with pytest.raises(ConfigError, match=r"unknown MNIST-C corruption 'snow' .*CIFAR-10-C"):
        corrupt(torch.zeros(1, 1, 8, 8), "snow")
    with pytest.raises(ConfigError, match="unknown CIFAR-10-C corruption 'zigzag'"):
        corrupt(torch.zeros(1, 3, 8, 8), "zigzag")
    with pytest.raises(ConfigError, match="1 or 3 channels"):
        corrupt(torch.zeros(1, 2, 8, 8), "fog")
    with pytest.raises(ConfigError, match="severities are 1, 2, 3, 4, 5, not 6"):
        corrupt(torch.zeros(1, 3, 8, 8), "fog", severity=6)


def test_accuracy_under_corruption(trained_mlp, digits):
    x, y = digits.x_test, digits.y_test
    r = corruption_accuracy(trained_mlp.model, x, y, ["brightness", "canny edges"], seed=0)
    assert r.clean_accuracy == evaluate(trained_mlp.model, x, y).accuracy
    assert set(r.accuracy) == {"brightness", "canny edges"}
    assert r.accuracy["canny edges"] < r.clean_accuracy - 0.3
    again = corruption_accuracy(trained_mlp.model, x, y, ["brightness", "canny edges"], seed=0)
    assert again == r


def test_accuracy_result_has_one_severity_for_grey(trained_mlp, digits):
    r = corruption_accuracy(trained_mlp.model, digits.x_test[:50], digits.y_test[:50], ["zigzag"])
    d = r.to_dict()
    assert d["family"] == "MNIST-C" and d["severities"] == [1]
    assert d["accuracy_by_severity"]["zigzag"] == [d["accuracy"]["zigzag"]]


# --- colour: CIFAR-10-C -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos():
    """Smooth colour fields with a few sharp edges, in [0, 1]: (6, 3, 32, 32)."""
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(
        torch.rand(6, 3, 4, 4, generator=g), size=(32, 32), mode="bilinear"
    )
    x[:, :, 8:24, 14:17] = 0.05
    return x.clamp(0, 1)


def test_family_follows_the_channels(photos, images):
    assert family_for(photos).name == "CIFAR-10-C" and family_for(images).name == "MNIST-C"
    assert len(COLOUR_CORRUPTIONS) == 15 and family_for(photos).severities == (1, 2, 3, 4, 5)


@pytest.mark.parametrize("name", list(COLOUR_CORRUPTIONS))
def test_colour_shape_range_seed_and_severity(photos, name):
    outs = [corrupt(photos, name, seed=3, severity=s) for s in range(1, 6)]
    for a in outs:
        assert a.shape == photos.shape and a.dtype == torch.float32
        assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(outs[2], corrupt(photos, name, seed=3))  # severity 3 by default
    assert torch.equal(outs[4], corrupt(photos, name, seed=3, severity=5))
    assert not torch.equal(outs[0], outs[4])
    if name not in (
        "defocus blur",
        "zoom blur",
        "brightness",
        "contrast",
        "pixelate",
        "jpeg compression",
    ):
        assert not torch.equal(outs[2], corrupt(photos, name, seed=4))


@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (2, 3, 24, 40), (2, 3, 8, 8)])
def test_colour_other_sizes(shape):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
    for name in COLOUR_CORRUPTIONS:
        assert corrupt(x, name, severity=5).shape == x.shape, name


def test_gaussian_noise_has_cifar_c_standard_deviations():
    grey = torch.full((20, 3, 32, 32), 0.5)
    for s, c in enumerate(cifar_c.GAUSSIAN_NOISE, start=1):
        noise = corrupt(grey, "gaussian noise", severity=s).double() - 0.5
        assert float(noise.std()) == pytest.approx(c, rel=0.03)
    assert cifar_c.GAUSSIAN_NOISE == (0.04, 0.06, 0.08, 0.09, 0.10)  # not ImageNet-C's 0.08..0.38


def test_brightness_is_hsv_value_plus_c():
    import colorsys

    x = torch.rand(3, 3, 4, 4, generator=torch.Generator().manual_seed(2))
    x[0, :, 0, 0] = 0.0  # black turns grey
    out = corrupt(x, "brightness", severity=4)  # + 0.2
    for n, i, j in ((0, 0, 0), (1, 2, 3), (2, 1, 1)):
        h, s, v = colorsys.rgb_to_hsv(*x[n, :, i, j].tolist())
        expected = colorsys.hsv_to_rgb(h, s, min(v + 0.2, 1.0))
        assert out[n, :, i, j].tolist() == pytest.approx(expected, abs=1e-6)


def test_contrast_pulls_each_channel_to_its_mean(photos):
    out = corrupt(photos, "contrast", severity=2).double()
    mean = photos.double().mean(dim=(2, 3), keepdim=True)
    assert torch.allclose(out, (photos - mean) * 0.5 + mean, atol=1e-6)


def test_defocus_kernel_is_an_antialiased_disk():
    k = cifar_c.disk_kernel(0.3, 0.4)  # the disk is the centre pixel; the 3x3 Gaussian softens it
    g = np.exp(-(np.arange(-1, 2) ** 2) / (2 * 0.4**2))
    g /= g.sum()
    assert np.allclose(k, np.outer(g, g))
    big = cifar_c.disk_kernel(1.5, 0.1)
    assert big.shape == (5, 5) and big.sum() == pytest.approx(1.0) and np.allclose(big, big.T)


def test_glass_blur_at_severity_1_only_moves_pixels(photos):
    # sigma 0.05 is below one pixel's Gaussian support: what is left are the swaps.
    out = corrupt(photos, "glass blur", severity=1)
    for a, b in zip(photos, out, strict=True):
        pa = sorted(map(tuple, a.flatten(1).T.tolist()))
        pb = sorted(map(tuple, b.flatten(1).T.tolist()))
        assert pa == pb and not torch.equal(a, b)


def test_pixelate_is_pillows_box_filter_down_and_up():
    from PIL import Image

    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    out = corrupt(x, "pixelate", severity=4)  # 32 -> 24 -> 32
    channel = Image.fromarray(x[0, 1].numpy())
    expected = channel.resize((24, 24), Image.Resampling.BOX).resize((32, 32), Image.Resampling.BOX)
    assert np.allclose(out[0, 1].numpy(), np.asarray(expected), atol=1e-5)


def test_motion_blur_smears_a_dot_within_45_degrees_of_horizontal():
    x = torch.zeros(40, 3, 32, 32)
    x[..., 16, 16] = 1.0
    out = corrupt(x, "motion blur", severity=5)[:, 0]
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    for img in out:
        m = img.sum()
        dy, dx = float((img * ys).sum() / m - 16), float((img * xs).sum() / m - 16)
        assert abs(dx) >= abs(dy) - 0.3 and math.hypot(dx, dy) > 1.0


def test_zoom_and_affine_keep_a_flat_image_flat():
    flat = torch.full((2, 3, 32, 32), 0.3)
    for name in ("zoom blur", "elastic transform", "defocus blur", "pixelate"):
        assert torch.allclose(corrupt(flat, name, severity=5), flat, atol=1e-6), name
    assert np.array_equal(cifar_c.clipped_zoom(flat.numpy(), 1.0), flat.numpy())


def test_fog_fractal_spans_zero_to_one():
    m = cifar_c.plasma_fractal(3, 32, 2.0, np.random.default_rng(0))
    assert m.shape == (3, 32, 32)
    assert np.allclose(m.min(axis=(1, 2)), 0) and np.allclose(m.max(axis=(1, 2)), 1)


def test_colour_accuracy_averages_the_severities():
    # Flat grey images labelled 1; the model says 1 when the mean pixel exceeds 0.4. Brightness
    # lifts 0.32 by 0.05, 0.1, 0.15, 0.2, 0.3: right from severity 2 on; 0.45 is always right.
    p = 3 * 8 * 8
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(p, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.stack([torch.zeros(p), torch.ones(p)]))
        model[1].bias.copy_(torch.tensor([0.0, -0.4 * p]))
    x = torch.stack([torch.full((3, 8, 8), 0.32), torch.full((3, 8, 8), 0.45)])
    y = torch.ones(2, dtype=torch.long)
    made = corrupt_all(x, ["contrast", "brightness"], seed=0)
    assert set(made) == {(n, s) for n in ("contrast", "brightness") for s in range(1, 6)}
    r = corruption_accuracy(model, x, y, ["contrast", "brightness"], corrupted=made)
    assert r.family == "CIFAR-10-C" and r.severities == (1, 2, 3, 4, 5)
    assert r.clean_accuracy == 0.5
    assert r.by_severity["brightness"] == (0.5, 1.0, 1.0, 1.0, 1.0)
    assert r.accuracy["brightness"] == pytest.approx(0.9)
    assert r.to_dict()["accuracy_by_severity"]["contrast"] == [0.5] * 5  # flat: unchanged
