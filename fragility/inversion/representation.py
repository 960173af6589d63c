"""Representation inversion (Mahendran & Vedaldi 2015): from noise, an input whose code at a
chosen layer matches a real image's."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility._progress import progress_bar
from fragility.contract import analysing, check_images
from fragility.errors import ConfigError
from fragility.inversion.regularisers import total_variation
from fragility.inversion.units import layer_output


@dataclass(frozen=True, eq=False)
class Inversion:
    """Inputs found from noise whose code at `layer` matches that of real images.

    pixel_distance: RMS difference in grey levels between the original and the inverted image
    (0: identical, about 0.4 and up: unrelated images). code_distance: ||phi(x) - phi(x0)|| /
    ||phi(x0)||. prediction_agrees: the classifier gives both the same class.
    """

    layer: str
    originals: torch.Tensor  # (N, C, H, W)
    inverted: torch.Tensor  # (N, C, H, W)
    pixel_distance: torch.Tensor  # (N,)
    code_distance: torch.Tensor  # (N,)
    original_prediction: torch.Tensor  # (N,)
    inverted_prediction: torch.Tensor  # (N,)
    typical_pixel_distance: float  # mean RMS distance between two originals, for scale
    steps: int

    @property
    def prediction_agrees(self) -> torch.Tensor:
        return self.original_prediction == self.inverted_prediction

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer or "logits",
            "steps": self.steps,
            "pixel_distance": [float(v) for v in self.pixel_distance],
            "code_distance": [float(v) for v in self.code_distance],
            "original_prediction": [int(v) for v in self.original_prediction],
            "inverted_prediction": [int(v) for v in self.inverted_prediction],
            "mean_pixel_distance": float(self.pixel_distance.mean()),
            "mean_code_distance": float(self.code_distance.mean()),
            "prediction_agreement": float(self.prediction_agrees.float().mean()),
            "typical_pixel_distance": self.typical_pixel_distance,
        }


def invert_representation(
    model: nn.Module,
    originals: torch.Tensor,
    layer: str,
    *,
    steps: int = 150,
    lr: float = 0.1,
    tv: float = 0.0,
    seed: int = 0,
    progress: bool = False,
) -> Inversion:
    """Mahendran & Vedaldi (2015): from uniform noise, minimise
    ``||phi(x) - phi(x0)||^2 / ||phi(x0)||^2 + tv TV2(x)`` over x in [0, 1] with Adam, where
    phi is the output of `layer`. Nothing pulls x towards x0 except the code, so what is left
    of the noise shows what the layer ignores."""
    check_images(originals, "originals", nonempty=True)
    if steps < 1:
        raise ConfigError(f"steps must be at least 1, not {steps}")
    gen = torch.Generator().manual_seed(seed)
    bar = progress_bar(steps, progress, unit="step", desc="invert")
    with analysing(model, originals.shape) as dev:
        x0 = originals.to(dev)
        with torch.no_grad():
            target = layer_output(model, x0, layer).flatten(1)
        scale = target.pow(2).sum(1).clamp_min(1e-12)
        x = torch.rand(originals.shape, generator=gen).to(dev).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr)
        for _ in range(steps):
            code = layer_output(model, x, layer).flatten(1)
            loss = (code - target).pow(2).sum(1) / scale
            if tv:
                loss = loss + tv * total_variation(x)
            (x.grad,) = torch.autograd.grad(loss.sum(), x)
            opt.step()
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
            if bar is not None:
                bar.update(1)
        with torch.no_grad():
            inv = x.detach()
            code = layer_output(model, inv, layer).flatten(1)
            code_dist = (code - target).norm(dim=1) / scale.sqrt()
            pred0 = model(x0).argmax(1).cpu()
            pred1 = model(inv).argmax(1).cpu()
    if bar is not None:
        bar.close()
    inv, x0 = inv.cpu(), x0.cpu()
    flat = x0.flatten(1)
    pair = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])
    n = len(flat)
    typical = float(pair.sum() / (n * (n - 1))) if n > 1 else float("nan")
    return Inversion(
        layer=layer,
        originals=x0,
        inverted=inv,
        pixel_distance=(inv - x0).flatten(1).pow(2).mean(1).sqrt(),
        code_distance=code_dist.float().cpu(),
        original_prediction=pred0,
        inverted_prediction=pred1,
        typical_pixel_distance=typical,
        steps=steps,
    )
