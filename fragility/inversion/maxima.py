"""Activation maximisation (Erhan et al. 2009; Simonyan, Vedaldi & Zisserman 2013): gradient
ascent on the input for one unit (an output class's score, a hidden unit, a CNN channel),
objective ``a(x) - lambda ||x||_2^2`` or Erhan's fixed-norm version, with the usual
regularisers (jitter, Gaussian blur, total variation) and several seeded restarts, the image
kept in [0, 1]. Many units and restarts are optimised together as one batch."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility._progress import progress_bar
from fragility.contract import analysing, check_shape
from fragility.errors import ConfigError
from fragility.inversion.regularisers import gaussian_blur, total_variation
from fragility.inversion.units import LOGITS, Unit, activations, training_maxima

STARTS = ("zero", "mean", "noise")


@dataclass(frozen=True)
class MaximizeConfig:
    """Settings of activation maximisation.

    Objective per image: ``a(x) - l2 ||x||^2 - tv TV2(x)`` (Simonyan et al. 2013 use the class
    score and the L2 term from the zero image). With `fixed_norm` set, the penalties are
    dropped and after each step x is rescaled to that L2 norm (Erhan et al. 2009), then
    clamped to [0, 1], so its norm ends at most `fixed_norm`. `probability` maximises the
    softmax posterior instead of the raw score, which Simonyan et al. show gives poorer images:
    the posterior also rises when the other classes' scores fall.
    """

    steps: int = 100
    lr: float = 0.1  # Adam step size, in grey levels per step
    l2: float = 0.001
    tv: float = 0.0
    fixed_norm: float | None = None
    probability: bool = False
    jitter: int = 0  # each step, roll the image by up to this many pixels (Mordvintsev 2015)
    blur_sigma: float = 0.0  # Gaussian blur of this width ...
    blur_every: int = 4  # ... every this many steps
    start: str = "zero"  # "zero" | "mean" (the training mean image) | "noise" (uniform [0, 1])
    restarts: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ConfigError(f"steps must be at least 1, not {self.steps}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"the step size must be positive, not {self.lr}")
        if self.l2 < 0 or self.tv < 0 or self.blur_sigma < 0 or self.jitter < 0:
            raise ConfigError("l2, tv, blur sigma and jitter must be non-negative")
        if self.fixed_norm is not None and not self.fixed_norm > 0:
            raise ConfigError(f"the fixed norm must be positive, not {self.fixed_norm}")
        if self.blur_every < 1 or self.restarts < 1:
            raise ConfigError("blur_every and restarts must be at least 1")
        if self.start not in STARTS:
            raise ConfigError(f"unknown start {self.start!r}; choose one of {', '.join(STARTS)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def objective(
    model: nn.Module,
    x: torch.Tensor,
    units: Sequence[Unit],
    *,
    l2: float = 0.0,
    tv: float = 0.0,
    probability: bool = False,
    shift: tuple[int, int] = (0, 0),
) -> torch.Tensor:
    """Per-image objective, (N,): ``a_i(roll(x_i, shift)) - l2 ||x_i||^2 - tv TV2(x_i)``
    with a_i the activation of `units[i]`.

    Rows do not interact (the model runs in eval mode), so the gradient of the sum gives each
    image its own gradient: that is what lets many units and restarts share one batch.
    """
    seen = torch.roll(x, shifts=shift, dims=(-2, -1)) if shift != (0, 0) else x
    value = activations(model, seen, units, probability=probability)
    if l2:
        value = value - l2 * x.pow(2).flatten(1).sum(1)
    if tv:
        value = value - tv * total_variation(x)
    return value


@dataclass(frozen=True, eq=False)
class Maxima:
    """Optimised inputs for a list of units, with the activation each reached and the bar set
    by the training data."""

    units: tuple[Unit, ...]
    images: torch.Tensor  # (U, R, C, H, W): R restarts per unit
    activation: torch.Tensor  # (U, R): the unit's activation (no penalties) at each image
    training_max: torch.Tensor  # (U,): the best training image's activation, or NaN
    training_argmax: torch.Tensor  # (U,): that image's index in the training set, or -1
    config: MaximizeConfig

    @property
    def best(self) -> torch.Tensor:
        """The restart with the highest activation for each unit, (U, C, H, W)."""
        pick = self.activation.argmax(1)
        return self.images[torch.arange(len(self.units)), pick]

    @property
    def best_activation(self) -> torch.Tensor:
        return self.activation.max(1).values

    @property
    def beats_training(self) -> torch.Tensor:
        """(U,) bool: the optimised input activates the unit more than every training image."""
        return self.best_activation > self.training_max

    @property
    def diversity(self) -> torch.Tensor:
        """Mean RMS pixel distance between the restarts of each unit, (U,); 0 if one restart.
        It says how different the maxima of one unit are (0: one picture; 0.5: unrelated)."""
        u, r = self.images.shape[:2]
        if r < 2:
            return torch.zeros(u)
        flat = self.images.flatten(2)  # (U, R, D)
        d = torch.cdist(flat, flat) / math.sqrt(flat.shape[-1])  # (U, R, R)
        return d.sum((1, 2)) / (r * (r - 1))

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, u in enumerate(self.units):
            rows.append(
                {
                    **u.to_dict(),
                    "name": u.name,
                    "activation": [float(v) for v in self.activation[i]],
                    "best_activation": float(self.best_activation[i]),
                    "best_training_activation": _num(self.training_max[i]),
                    "best_training_index": int(self.training_argmax[i]),
                    "beats_training": bool(self.beats_training[i]),
                    "restart_diversity": float(self.diversity[i]),
                }
            )
        return {
            "config": self.config.to_dict(),
            "layers": list(dict.fromkeys(u.layer for u in self.units)),
            "units": rows,
            "beats_training": int(self.beats_training.sum()),
            "n_units": len(self.units),
            "mean_best_activation": float(self.best_activation.mean()),
            "mean_training_activation": _num(self.training_max.mean()),
            "mean_restart_diversity": float(self.diversity.mean()),
        }


def _num(v: torch.Tensor | float) -> float | None:
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


def _start_images(
    n: int, shape: Sequence[int], cfg: MaximizeConfig, mean_image: torch.Tensor | None, gen
) -> torch.Tensor:
    if cfg.start == "noise":
        return torch.rand((n, *shape), generator=gen)
    if cfg.start == "mean":
        if mean_image is None:
            raise ConfigError("start 'mean' needs the training mean image (pass mean_image)")
        return mean_image.reshape(1, *shape).expand(n, *shape).clone()
    return torch.zeros((n, *shape))


def _project(x: torch.Tensor, fixed_norm: float | None) -> torch.Tensor:
    if fixed_norm is not None:
        norms = x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
        x = x * (fixed_norm / norms)
    return x.clamp(0.0, 1.0)


def maximize(
    model: nn.Module,
    units: Sequence[Unit],
    input_shape: Sequence[int],
    config: MaximizeConfig = MaximizeConfig(),
    *,
    mean_image: torch.Tensor | None = None,
    training_images: torch.Tensor | None = None,
    progress: bool = False,
) -> Maxima:
    """Find, for each unit, `config.restarts` inputs in [0, 1] that maximise its objective.

    All units and restarts, whatever their layers, form one batch of U x R images optimised
    together with Adam (elementwise, so the rows stay independent). Each step:
    draw a jitter shift, ascend the objective, blur every `blur_every` steps, then project
    (fixed norm if asked, clamp to [0, 1]). With `training_images`, the best training
    activation of each unit is reported beside the optimised one.
    """
    if not units:
        raise ConfigError("no units to maximise")
    cfg = config
    shape = check_shape(input_shape)
    gen = torch.Generator().manual_seed(cfg.seed)
    n_units, r = len(units), cfg.restarts
    bar = progress_bar(cfg.steps, progress, unit="step", desc="maximise")
    rows = [u for u in units for _ in range(r)]  # (U * R,) restarts of a unit side by side
    penalties = {"l2": 0.0, "tv": 0.0} if cfg.fixed_norm else {"l2": cfg.l2, "tv": cfg.tv}
    with analysing(model, (len(rows), *shape)) as dev:
        x = _start_images(len(rows), shape, cfg, mean_image, gen).to(dev)
        x = _project(x, cfg.fixed_norm).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=cfg.lr)
        for step in range(cfg.steps):
            shift = (0, 0)
            if cfg.jitter:
                s = torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=gen)
                shift = (int(s[0]), int(s[1]))
            value = objective(model, x, rows, probability=cfg.probability, shift=shift, **penalties)
            # Gradient for x only: the model's parameters must not collect .grad.
            (x.grad,) = torch.autograd.grad(-value.sum(), x)
            opt.step()
            with torch.no_grad():
                y = x
                if cfg.blur_sigma and (step + 1) % cfg.blur_every == 0:
                    y = gaussian_blur(y, cfg.blur_sigma)
                x.copy_(_project(y, cfg.fixed_norm))
            if bar is not None:
                bar.update(1)
        with torch.no_grad():
            final = x.detach()
            reached = activations(model, final, rows, probability=cfg.probability)
    images = final.cpu().view(n_units, r, *shape)
    reached = reached.float().cpu().view(n_units, r)
    if bar is not None:
        bar.close()
    if training_images is not None:
        best = training_maxima(model, training_images, units, probability=cfg.probability)
    else:
        best = (torch.full((n_units,), math.nan), torch.full((n_units,), -1, dtype=torch.long))
    return Maxima(tuple(units), images, reached, best[0], best[1], cfg)


def class_units(num_classes: int) -> tuple[Unit, ...]:
    """The logits of every class, as units."""
    return tuple(Unit(LOGITS, c) for c in range(num_classes))
