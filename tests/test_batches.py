"""Batches that follow the memory at hand: the bytes a backward pass keeps per image, and the
batch that fits in a share of what is free."""

from __future__ import annotations

import pytest
from torch import nn

from fragility import batches, models


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10)
    )


def test_activation_bytes_count_every_layer_output():
    # conv 4x8x8, relu 4x8x8, flatten 256, linear 10: 778 float32 values
    assert batches.activation_bytes(_net(), (1, 8, 8)) == 4 * (256 + 256 + 256 + 10)


def test_a_batch_fits_in_a_share_of_the_free_memory(monkeypatch):
    net = _net()
    per_image = 2 * 4 * 778
    monkeypatch.setattr(batches, "available_bytes", lambda device="cpu": 40 * per_image)
    assert batches.gradient_batch(net, (1, 8, 8), limit=256) == 10  # a quarter of 40 images
    assert batches.gradient_batch(net, (1, 8, 8), limit=7) == 7  # never above the usual batch
    monkeypatch.setattr(batches, "available_bytes", lambda device="cpu": 1)
    assert batches.gradient_batch(net, (1, 8, 8), limit=256) == 1  # at least one image
    weights = 4 * 9 + 256 * 10
    monkeypatch.setattr(
        batches, "available_bytes", lambda device="cpu": 4 * (per_image + 12 * weights) * 3
    )
    assert batches.per_example_batch(net, (1, 8, 8), weights, limit=256) == 3


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_the_lecture_networks_keep_their_batches(kind):
    spec = models.default_spec(kind, (1, 28, 28))
    net = models.build(spec)
    assert batches.gradient_batch(net, (1, 28, 28), limit=256) == 256
    assert batches.available_bytes() > 0
