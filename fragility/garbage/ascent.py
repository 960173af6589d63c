"""Fooling images by gradient ascent: raise log p(class | x) from noise or a blank image.

Each image x_i climbs its own objective, all classes in one batch:

    J_i(x) = log p_{c_i}(x) + recon_weight * e(x),     e(x) = mean((A(x) - x)^2)

by signed steps x <- clip(x + step_size * sign(grad J_i), 0, 1) (steepest ascent in the max
norm, as in FGSM/PGD), until p_{c_i}(x_i) reaches the target (99.99 % by default). Optional
limits keep the image unlike a digit: `eps` bounds the distance from the start image in the
max norm (each step is projected back into the ball), and a positive `recon_weight` rewards
the autoencoder A's reconstruction error e (an image A reconstructs well looks like the
training data). A negative weight does the opposite and pulls the image towards what A
reconstructs well, an adaptive attack on the autoencoder detector; on the digits it drags the
image towards the data, so it may stop looking like garbage or miss the confidence target.

An image whose log p has not risen for PATIENCE steps is stuck (the signed step circles a
local maximum of p on the [0, 1] box, often where saturated sigmoids zero most of the
gradient), so it stops there and is reported as stalled. With `restart` ("blank",
"grey" or "noise"), a stalled image starts once more from that image before giving up; on the
Fashion-MNIST seed MLP, noise starts stall for most classes while blank starts climb.

Images the model cannot push to the target are reported as not reached with the best
confidence found; `fragility.garbage.ceiling` proves when no input can, and searches further
where its bound leaves room.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fragility.attacks.core import DEFAULT_BATCH
from fragility.attacks.gradient import climb
from fragility.contract import analysing, check_images, check_shape, num_classes
from fragility.errors import ConfigError, InputError
from fragility.garbage._model import class_name, fooling_summary, log_probs

STARTS = ("noise", "blank", "grey")
PATIENCE = 50  # steps without a higher log p before an image counts as stalled


def start_images(kind: str, n: int, shape: tuple[int, int, int], seed: int = 0) -> torch.Tensor:
    """n start images (N, C, H, W): uniform noise, black (blank) or mid-grey."""
    shape = check_shape(shape)
    if kind == "noise":
        gen = torch.Generator().manual_seed(seed)
        return torch.rand((n, *shape), generator=gen)
    if kind == "blank":
        return torch.zeros((n, *shape))
    if kind == "grey":
        return torch.full((n, *shape), 0.5)
    raise ConfigError(f"unknown start {kind!r}; choose one of {', '.join(STARTS)}")


@dataclass(frozen=True, eq=False)
class AscentResult:
    """One fooling image per requested class, with how it got there."""

    classes: tuple[int, ...]  # (N,) the class each image was pushed towards
    start: torch.Tensor  # (N, C, H, W) the start of each image's last run
    images: torch.Tensor  # (N, C, H, W) in [0, 1]
    confidence: np.ndarray  # (N,) float64 p(class | image) at the end
    predicted: tuple[int, ...]  # (N,) argmax class at the end
    reached: tuple[bool, ...]
    steps: tuple[int, ...]  # steps taken (max_steps where it neither reached nor stalled)
    stalled: tuple[bool, ...]  # stopped at a fixed point of the step (after any restart)
    restarted: tuple[bool, ...]  # stalled once and started again from `restart`
    target: float
    step_size: float
    eps: float | None
    recon_weight: float

    @property
    def all_reached(self) -> bool:
        return all(self.reached)

    @property
    def linf_from_start(self) -> np.ndarray:
        return (self.images - self.start).abs().flatten(1).amax(1).numpy()

    def to_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        per_class = [
            {
                "class": c,
                "name": class_name(class_names, c),
                "confidence": float(p),
                "predicted": pred,
                "reached": r,
                "steps": s,
                "linf_from_start": float(d),
                "stalled": st,
                "restarted": rs,
            }
            for c, p, pred, r, s, d, st, rs in zip(
                self.classes,
                self.confidence,
                self.predicted,
                self.reached,
                self.steps,
                self.linf_from_start,
                self.stalled,
                self.restarted,
                strict=True,
            )
        ]
        return {
            "target": self.target,
            "step_size": self.step_size,
            "eps": self.eps,
            "recon_weight": self.recon_weight,
            "all_reached": self.all_reached,
            **fooling_summary(self.confidence, self.target),
            "most_steps": max(self.steps),
            "n_restarted": sum(self.restarted),
            "n_stalled": sum(self.stalled),
            "per_class": per_class,
        }


def ascent(
    model: nn.Module,
    classes: Sequence[int] | torch.Tensor | None = None,
    *,
    start: str | torch.Tensor = "noise",
    shape: tuple[int, int, int] | None = None,
    target: float = 0.9999,
    step_size: float = 0.01,
    max_steps: int = 1000,
    eps: float | None = None,
    autoencoder: nn.Module | None = None,
    recon_weight: float = 0.0,
    restart: str | None = None,
    seed: int = 0,
    progress: bool = False,
) -> AscentResult:
    """Push image i towards class classes[i] until p >= target or max_steps (module docstring).

    start: a tensor (N, C, H, W) in [0, 1], or "noise" | "blank" | "grey" with `shape`
    (uniform noise drawn with `seed`). classes: default every class of the model, one image
    each. Images that reach the target stop moving; the rest keep climbing until they stall
    (log p not higher for PATIENCE steps), after one restart from `restart` if given. The steps
    are the attacks' loop (`fragility.attacks.gradient.climb`) with the hooks of `_Ascent`.
    """
    _check(target, step_size, max_steps, eps, recon_weight, autoencoder)
    if restart is not None and restart not in STARTS:
        raise ConfigError(f"restart must be one of {', '.join(STARTS)}, not {restart!r}")
    x0, cls = _starts(model, classes, start, shape, seed)
    n = len(cls)
    starts = [x0] if restart is None else [x0, start_images(restart, n, x0.shape[1:], seed + 1)]
    hooks = _Ascent(starts, target, step_size, max_steps, autoencoder, recon_weight)
    with analysing(model, x0.shape, autoencoder):
        trace = climb(
            hooks,
            model,
            cls,
            (math.inf if eps is None else eps,),
            torch.ones(n, dtype=torch.long),
            m=min(n, DEFAULT_BATCH),  # more images than that climb in refilled slots
            keep=(x0, None),
            progress=progress,
        )
    images, restarted = trace.points, trace.runs > 1
    lp = log_probs(model, images)
    return AscentResult(
        classes=tuple(int(c) for c in cls),
        start=torch.where(restarted.view(-1, 1, 1, 1), starts[-1], x0),
        images=images,
        confidence=lp.gather(1, cls[:, None]).squeeze(1).exp().numpy(),
        predicted=tuple(int(c) for c in lp.argmax(1)),
        reached=tuple(bool(f) for f in trace.fooled_at >= 0),
        steps=tuple(int(s) for s in trace.steps),
        stalled=tuple(bool(s) for s in trace.stalled),
        restarted=tuple(bool(r) for r in restarted),
        target=target,
        step_size=step_size,
        eps=eps,
        recon_weight=recon_weight,
    )


class _Ascent:
    """Gradient ascent's hooks for the attacks' loop: signed steps of `step_size` (the loop's
    Linf step; eps, if any, is the ball around the run's start), a run per start image (the
    second, with `restart`, only once the first stalls) sharing one budget of `max_steps`, the
    objective J of the module docstring in float64, success at log p >= log target, and stuck
    when log p has not risen for PATIENCE steps."""

    name = "ascent"
    norm = "linf"
    patience = PATIENCE
    shared_budget = True

    def __init__(
        self,
        starts: list[torch.Tensor],
        target: float,
        step_size: float,
        max_steps: int,
        autoencoder: nn.Module | None,
        recon_weight: float,
    ) -> None:
        self.starts, self.log_target, self.size = starts, math.log(target), step_size
        self.steps, self.restarts = max_steps, len(starts)
        self.autoencoder = autoencoder if recon_weight else None
        self.recon_weight = recon_weight

    def step_size(self, epsilon: float) -> float:
        return self.size

    def begin(
        self, images: torch.Tensor, runs: list[int], epsilons: list[float], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        first = torch.stack([self.starts[r][i] for i, r in zip(images.tolist(), runs, strict=True)])
        first = first.to(device)
        return first, first

    def progress(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """log p(class | x), (m,) float64."""
        return logits.double().log_softmax(1).gather(1, labels[:, None]).squeeze(1)

    def objective(
        self, x: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        value = self.progress(logits, labels)
        if self.autoencoder is not None:
            value = value + self.recon_weight * _recon_error(self.autoencoder, x).double()
        return value

    def success(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.progress(logits, labels) >= self.log_target


def _check(
    target: float,
    step_size: float,
    max_steps: int,
    eps: float | None,
    recon_weight: float,
    autoencoder: nn.Module | None,
) -> None:
    if not 0.0 < target < 1.0:
        raise ConfigError(f"target confidence must lie in (0, 1), not {target}")
    if not step_size > 0 or max_steps < 0:
        raise ConfigError("step_size must be positive and max_steps non-negative")
    if eps is not None and not eps > 0:
        raise ConfigError(f"eps must be positive, not {eps}")
    if recon_weight and autoencoder is None:
        raise ConfigError("recon_weight needs an autoencoder")


def _starts(
    model: nn.Module,
    classes: Sequence[int] | torch.Tensor | None,
    start: str | torch.Tensor,
    shape: tuple[int, int, int] | None,
    seed: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(start, torch.Tensor):
        check_images(start, "start images")
        shape = (int(start.shape[1]), int(start.shape[2]), int(start.shape[3]))
    elif shape is None:
        raise ConfigError("a start given by name needs the image shape (C, H, W)")
    k = num_classes(model, check_shape(shape))
    cls = torch.arange(k) if classes is None else torch.as_tensor(classes, dtype=torch.int64)
    if cls.dim() != 1 or len(cls) == 0 or int(cls.min()) < 0 or int(cls.max()) >= k:
        raise InputError(f"classes must be a list of outputs of the model (0 to {k - 1})")
    if isinstance(start, torch.Tensor):
        if len(start) != len(cls):
            raise InputError(f"{len(start)} start images for {len(cls)} classes; give one each")
        return start.float(), cls
    return start_images(start, len(cls), shape, seed), cls


def _recon_error(autoencoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return (autoencoder(x) - x).pow(2).flatten(1).mean(1)
