"""Saliency (Simonyan et al. 2013): the gradient of a class score with respect to the input,
and gradient x input (Shrikumar et al. 2016)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.contract import analysing, check_images
from fragility.errors import ConfigError, InputError


@dataclass(frozen=True, eq=False)
class Saliency:
    """Gradient of the class score (pre-softmax) with respect to the input (Simonyan et al.
    2013), and gradient x input (Shrikumar et al. 2016), for each image and its target class."""

    images: torch.Tensor  # (N, C, H, W)
    target: torch.Tensor  # (N,)
    score: torch.Tensor  # (N,) the target's logit
    gradient: torch.Tensor  # (N, C, H, W) d score / d x

    @property
    def grad_x_input(self) -> torch.Tensor:
        return self.gradient * self.images

    def map(self, kind: str = "gradient") -> torch.Tensor:
        """|values| maximised over channels, (N, H, W), as Simonyan et al. draw them."""
        if kind not in ("gradient", "grad_x_input"):
            raise ConfigError(f"saliency kind must be gradient or grad_x_input, not {kind!r}")
        v = self.gradient if kind == "gradient" else self.grad_x_input
        return v.abs().amax(1)


def saliency(
    model: nn.Module, images: torch.Tensor, target: torch.Tensor | None = None
) -> Saliency:
    """Saliency of each image for `target` (default: the predicted class).

    The scores of different images do not interact in eval mode, so one backward pass of their
    sum gives every image's gradient."""
    check_images(images, nonempty=True)
    with analysing(model, images.shape) as dev:
        x = images.to(dev).clone().requires_grad_(True)
        logits = model(x)
        tgt = logits.argmax(1) if target is None else target.to(dev).view(-1)
        if len(tgt) != len(x):
            raise InputError(f"{len(tgt)} targets for {len(x)} images")
        score = logits.gather(1, tgt.view(-1, 1)).squeeze(1)
        (grad,) = torch.autograd.grad(score.sum(), x)
    return Saliency(images.detach().cpu(), tgt.cpu(), score.detach().cpu(), grad.cpu())


def saliency_mass(maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share of each saliency map's total inside `mask`, (N,). maps (N, H, W) non-negative;
    mask (H, W) or (N, H, W) bool. Compare it with the mask's share of the image (its area)."""
    m = mask.to(maps.device).expand_as(maps).float()
    total = maps.flatten(1).sum(1).clamp_min(1e-30)
    return (maps * m).flatten(1).sum(1) / total


def saliency_summary(sal: Saliency, labels: torch.Tensor | None = None) -> dict[str, Any]:
    """Per image: class, score, and the share of |gradient| on the ink (pixels above 0.1)
    against the ink's share of the image: a network that looked only at the strokes would put
    all of its gradient there."""
    ink = sal.images.amax(1) > 0.1  # (N, H, W)
    on_ink = saliency_mass(sal.map("gradient"), ink)
    d: dict[str, Any] = {
        "target": [int(v) for v in sal.target],
        "score": [float(v) for v in sal.score],
        "gradient_on_ink": [float(v) for v in on_ink],
        "ink_area": [float(v) for v in ink.float().flatten(1).mean(1)],
        "mean_gradient_on_ink": float(on_ink.mean()),
        "mean_ink_area": float(ink.float().mean()),
    }
    if labels is not None:
        d["label"] = [int(v) for v in labels]
    return d
