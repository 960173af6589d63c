"""Which weights matter: rank weights by |dC/dw| summed over the training set and zero the
top, a random or the bottom share of them."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fragility.batches import per_example_batch
from fragility.contract import analysing, check_images, model_device
from fragility.errors import ConfigError
from fragility.train import evaluate


def weight_sensitivity(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    times_weight: bool = False,
    batch_size: int = 256,
) -> dict[str, torch.Tensor]:
    """For each weight tensor (parameters with 2 or more dimensions, as the lecture counts
    weights: the matrices and convolution kernels of any module; biases and normalisation
    scales are not weights), sum over the examples of |dC_n/dw|, C_n the cross-entropy of
    example n.

    Summing per-example magnitudes, not the batch gradient, matters at a trained minimum: there
    the batch gradient is near 0 for every weight, while per-example gradients still say which
    weights each decision leans on. `times_weight` multiplies by |w| (a first-order Taylor
    estimate of the loss change when w is zeroed, Molchanov et al. 2017)."""
    from torch.func import functional_call, grad, vmap

    check_images(images)
    dev = model_device(model)
    params = {k: v.detach() for k, v in model.named_parameters()}
    weights = {k: v for k, v in params.items() if v.dim() > 1}
    others = {k: v for k, v in params.items() if v.dim() <= 1}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_one(w: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, {**w, **others, **buffers}, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))
    totals = {k: torch.zeros_like(v) for k, v in weights.items()}
    # Each image holds a gradient of every weight: the batch follows the memory at hand.
    count = sum(w.numel() for w in weights.values())
    batch_size = per_example_batch(model, tuple(images.shape[1:]), count, batch_size)
    with analysing(model, (min(len(images), batch_size), *images.shape[1:])):
        for i in range(0, len(images), batch_size):
            g = per_example(
                weights, images[i : i + batch_size].to(dev), labels[i : i + batch_size].to(dev)
            )
            for k in totals:
                totals[k] += g[k].abs().sum(0)
    if times_weight:
        totals = {k: v * weights[k].abs() for k, v in totals.items()}
    return {k: v.cpu() for k, v in totals.items()}


@dataclass(frozen=True)
class PruneCurve:
    """Test accuracy after zeroing a share of the weights, chosen three ways: the highest
    ranked (top), a seeded random draw, the lowest ranked (bottom). Cuts are nested: the top
    10 % contains the top 5 %."""

    fractions: tuple[float, ...]
    top: tuple[float, ...]
    random: tuple[float, ...]
    bottom: tuple[float, ...]
    n_weights: int
    ranking: str  # "gradient" | "gradient x weight"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prune_curve(
    model: nn.Module,
    scores: dict[str, torch.Tensor],
    images: torch.Tensor,
    labels: torch.Tensor,
    fractions: Sequence[float] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    *,
    seed: int = 0,
    ranking: str = "gradient",
) -> PruneCurve:
    """Rank all weights in `scores` (one global ranking across layers; ties broken by position),
    zero the top / a random / the bottom round(k * n) for each k in `fractions` on a copy of
    `model`, and measure the accuracy on (images, labels). The model itself is not changed."""
    if any(not 0.0 <= f <= 1.0 for f in fractions):
        raise ConfigError(f"fractions must lie in [0, 1], not {list(fractions)}")
    names = list(scores)
    flat = torch.cat([scores[k].flatten() for k in names])
    n = len(flat)
    order = {
        "top": torch.sort(flat, descending=True, stable=True).indices,
        "bottom": torch.sort(flat, stable=True).indices,
        "random": torch.randperm(n, generator=torch.Generator().manual_seed(seed)),
    }
    net = copy.deepcopy(model).eval()
    params = dict(net.named_parameters())
    original = {k: params[k].detach().clone() for k in names}
    sizes = [original[k].numel() for k in names]
    acc: dict[str, list[float]] = {key: [] for key in order}
    for f in fractions:
        cut = round(f * n)
        for key, idx in order.items():
            keep = torch.ones(n)
            keep[idx[:cut]] = 0.0
            with torch.no_grad():
                for k, part in zip(names, keep.split(sizes), strict=True):
                    params[k].copy_(original[k] * part.view_as(original[k]).to(original[k]))
            acc[key].append(evaluate(net, images, labels).accuracy)
    return PruneCurve(
        tuple(float(f) for f in fractions),
        tuple(acc["top"]),
        tuple(acc["random"]),
        tuple(acc["bottom"]),
        n,
        ranking,
    )
