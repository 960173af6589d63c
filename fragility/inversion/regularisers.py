"""Regularisers of inverse images: pure functions of the image batch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Squared total variation per image, (N,): sum of squared differences between
    neighbouring pixels, i.e. Mahendran & Vedaldi's (2015) TV^beta with beta = 2, which unlike
    beta = 1 is differentiable everywhere."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).sum(1)
    dw = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).sum(1)
    return dh + dw


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel with a Gaussian of `sigma` pixels (reflect padding), as Yosinski et al.
    (2015) do every few steps to suppress high frequencies."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(2 * sigma))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
