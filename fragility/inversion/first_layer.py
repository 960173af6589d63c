"""First-layer weights as images, with a measure of how edge-like (stroke-like) they are."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.errors import ConfigError, InputError


def first_layer_weights(model: nn.Module, input_shape: Sequence[int]) -> tuple[str, torch.Tensor]:
    """The first Linear or Conv2d module (registration order) and its weights as images:
    a dense layer's rows over the input grid, (U, C, H, W), or a convolution's kernels,
    (K, C, kh, kw)."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            return name, m.weight.detach().float().cpu().clone()
        if isinstance(m, nn.Linear):
            shape = tuple(int(s) for s in input_shape)
            if m.in_features != math.prod(shape):
                raise ConfigError(
                    f"the first dense layer {name!r} takes {m.in_features} inputs, not the "
                    f"{math.prod(shape)} pixels of a {shape} image; it cannot be drawn as one"
                )
            return name, m.weight.detach().float().cpu().reshape(-1, *shape).clone()
    raise ConfigError("the model has no Linear or Conv2d layer to draw")


def gabor_bank(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-mean, unit-norm Gabor filters the size of a weight image, (G, H, W), and for each
    its (orientation in degrees, wavelength in pixels, phase), (G, 3).

    g(u, v) = exp(-(u^2 + v^2) / (2 sigma^2)) cos(2 pi u / wavelength + phase), with u across
    the stripes at 12 orientations (every 15 degrees), wavelengths from 2 pixels to the image
    side, sigma = wavelength / 2, phase 0 (a bar: a stroke) or 90 degrees (an edge), centred
    at the middle and, for images wider than 5 pixels, at the quarter points too."""
    filters, params = _gabor_bank(int(height), int(width))
    return filters.clone(), params.clone()


@functools.lru_cache(maxsize=8)
def _gabor_bank(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Depends only on the size: built once per size and copied out.
    side = max(height, width)
    wavelengths = [w for w in (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0) if w <= max(side, 4)]
    fracs = (0.5,) if side <= 5 else (0.25, 0.5, 0.75)
    yy, xx = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    filters, params = [], []
    for fy in fracs:
        for fx in fracs:
            cy, cx = fy * (height - 1), fx * (width - 1)
            for deg in range(0, 180, 15):
                th = math.radians(deg)
                u = (xx - cx) * math.cos(th) + (yy - cy) * math.sin(th)
                v = -(xx - cx) * math.sin(th) + (yy - cy) * math.cos(th)
                for lam in wavelengths:
                    env = torch.exp(-(u**2 + v**2) / (2 * (lam / 2) ** 2))
                    for phase in (0.0, math.pi / 2):
                        g = env * torch.cos(2 * math.pi * u / lam + phase)
                        g = g - g.mean()
                        if float(g.norm()) > 1e-6:
                            filters.append(g / g.norm())
                            params.append((float(deg), lam, math.degrees(phase)))
    return torch.stack(filters).float(), torch.tensor(params)


def neighbour_correlation(images: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between horizontally and vertically adjacent pixels, per image,
    (U,). About 0 for salt-and-pepper noise, near 1 for smooth blobs and strokes."""
    a = images.mean(1) if images.dim() == 4 else images  # (U, H, W): channels averaged
    pairs_a = torch.cat([a[:, :, :-1].flatten(1), a[:, :-1, :].flatten(1)], 1)
    pairs_b = torch.cat([a[:, :, 1:].flatten(1), a[:, 1:, :].flatten(1)], 1)
    pa = pairs_a - pairs_a.mean(1, keepdim=True)
    pb = pairs_b - pairs_b.mean(1, keepdim=True)
    return (pa * pb).sum(1) / (pa.norm(dim=1) * pb.norm(dim=1)).clamp_min(1e-12)


@dataclass(frozen=True, eq=False)
class EdgeScores:
    """How edge-like each first-layer weight image is.

    gabor: the best |cosine similarity| between the (mean-removed) weight image and a Gabor
    filter of the bank (`gabor_bank`): 1 means the weights are exactly an oriented bar or edge.
    A bigger bank fits noise better too, so each image is also scored after shuffling its own
    pixels (`shuffles` times, seeded): chance and chance95 are the mean and 95th percentile of
    those scores, and an image counts as edge-like when its score beats its own chance95.
    neighbour_correlation (see that function) is the plainer smoothness measure.
    """

    layer: str
    weights: torch.Tensor  # (U, C, H, W)
    gabor: torch.Tensor  # (U,)
    orientation_deg: torch.Tensor  # (U,) of the best-fitting filter
    wavelength: torch.Tensor  # (U,)
    chance: torch.Tensor  # (U,)
    chance95: torch.Tensor  # (U,)
    neighbour_correlation: torch.Tensor  # (U,)

    @property
    def edge_like(self) -> torch.Tensor:
        return self.gabor > self.chance95

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "shape": list(self.weights.shape),
            "gabor": [float(v) for v in self.gabor],
            "orientation_deg": [float(v) for v in self.orientation_deg],
            "wavelength": [float(v) for v in self.wavelength],
            "chance": [float(v) for v in self.chance],
            "chance95": [float(v) for v in self.chance95],
            "neighbour_correlation": [float(v) for v in self.neighbour_correlation],
            "edge_like": [bool(v) for v in self.edge_like],
            "n_units": len(self.gabor),
            "n_edge_like": int(self.edge_like.sum()),
            "mean_gabor": float(self.gabor.mean()),
            "mean_chance": float(self.chance.mean()),
            # the share of a pattern the best-matching stroke explains, on average
            "mean_gabor_variance_explained": float(self.gabor.pow(2).mean()),
            "mean_neighbour_correlation": float(self.neighbour_correlation.mean()),
        }


def _best_gabor(images: torch.Tensor, bank: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a = images.mean(1).flatten(1) if images.dim() == 4 else images.flatten(1)  # (U, D)
    a = a - a.mean(1, keepdim=True)
    a = a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = (a @ bank.flatten(1).T).abs()  # (U, G)
    return sims.max(1)


def edge_scores(
    weights: torch.Tensor, *, layer: str = "", shuffles: int = 50, seed: int = 0
) -> EdgeScores:
    """Score weight images (U, C, H, W) for edge-likeness against their own shuffled pixels."""
    if weights.dim() != 4:
        raise InputError("weight images must be (U, C, H, W)")
    w = weights.float()
    bank, params = gabor_bank(w.shape[-2], w.shape[-1])
    best, which = _best_gabor(w, bank)
    gen = torch.Generator().manual_seed(seed)
    flat = w.mean(1).flatten(1)  # (U, D)
    shuffled = torch.stack(
        [flat[:, torch.randperm(flat.shape[1], generator=gen)] for _ in range(shuffles)], 1
    )  # (U, S, D)
    chance_scores, _ = _best_gabor(shuffled.flatten(0, 1), bank)
    chance_scores = chance_scores.view(len(w), shuffles)
    return EdgeScores(
        layer=layer,
        weights=weights,
        gabor=best,
        orientation_deg=params[which, 0].float(),
        wavelength=params[which, 1].float(),
        chance=chance_scores.mean(1),
        chance95=torch.quantile(chance_scores, 0.95, dim=1),
        neighbour_correlation=neighbour_correlation(w),
    )
