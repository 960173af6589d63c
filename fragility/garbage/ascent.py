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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fragility._progress import progress_bar
from fragility.errors import ConfigError, InputError
from fragility.garbage._model import (
    check_images,
    check_shape,
    class_name,
    eval_mode,
    log_probs,
    num_outputs,
)
from fragility.train import model_device

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
    start: torch.Tensor  # (N, C, H, W)
    images: torch.Tensor  # (N, C, H, W) in [0, 1]
    confidence: np.ndarray  # (N,) float64 p(class | image) at the end
    predicted: tuple[int, ...]  # (N,) argmax class at the end
    reached: tuple[bool, ...]
    steps: tuple[int, ...]  # steps taken (max_steps where it neither reached nor stalled)
    reached_seconds: tuple[float | None, ...]  # wall time from the start until reached
    stalled: tuple[bool, ...]  # stopped at a fixed point of the step (after any restart)
    restarted: tuple[bool, ...]  # stalled once and started again from `restart`
    target: float
    step_size: float
    eps: float | None
    recon_weight: float
    seconds: float

    @property
    def all_reached(self) -> bool:
        return all(self.reached)

    @property
    def seconds_to_all(self) -> float | None:
        return max(self.reached_seconds) if self.all_reached else None  # type: ignore[type-var]

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
                "seconds": t,
                "linf_from_start": float(d),
                "stalled": st,
                "restarted": rs,
            }
            for c, p, pred, r, s, t, d, st, rs in zip(
                self.classes,
                self.confidence,
                self.predicted,
                self.reached,
                self.steps,
                self.reached_seconds,
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
            "seconds_to_all": self.seconds_to_all,
            "seconds": self.seconds,
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
    (log p not higher for PATIENCE steps), after one restart from `restart` if given.
    """
    _check(target, step_size, max_steps, eps, recon_weight, autoencoder)
    if restart is not None and restart not in STARTS:
        raise ConfigError(f"restart must be one of {', '.join(STARTS)}, not {restart!r}")
    x0, cls = _starts(model, classes, start, shape, seed)
    device = model_device(model)
    n, log_target = len(cls), math.log(target)
    x0_dev = x0.to(device, copy=True)  # a restart rewrites it; the caller's start stays
    x = x0_dev.clone()
    cls_dev = cls.to(device)
    steps = np.full(n, max_steps)
    reached_s: list[float | None] = [None] * n
    stalled, restarted = [False] * n, [False] * n
    best = torch.full((n,), -math.inf, dtype=torch.float64, device=device)
    last_gain = torch.zeros(n, dtype=torch.int64, device=device)
    again = None if restart is None else start_images(restart, n, x0.shape[1:], seed + 1)
    active = torch.arange(n, device=device)
    bar = progress_bar(max_steps, progress, unit="step", desc="ascent")
    start_t = time.perf_counter()
    with eval_mode(model, autoencoder):
        for step in range(max_steps + 1):
            xa = x[active].requires_grad_(True)
            lp = model(xa).double().log_softmax(1).gather(1, cls_dev[active, None]).squeeze(1)
            done = lp.detach() >= log_target
            for i in active[done].tolist():
                steps[i], reached_s[i] = step, time.perf_counter() - start_t
            keep = ~done
            if step == max_steps or not bool(keep.any()):
                break
            objective = lp
            if autoencoder is not None and recon_weight:
                objective = objective + recon_weight * _recon_error(autoencoder, xa).double()
            (grad,) = torch.autograd.grad(objective[keep].sum(), xa)
            moved = xa.detach()[keep] + step_size * grad[keep].sign()
            x[active[keep]] = _project(moved, x0_dev[active[keep]], eps)
            lp_now = lp.detach()[keep]
            better = lp_now > best[active[keep]] + 1e-9
            best[active[keep]] = torch.where(better, lp_now, best[active[keep]])
            last_gain[active[keep][better]] = step
            still = (step - last_gain[active[keep]]) >= PATIENCE
            for j in still.nonzero().flatten().tolist():
                i = int(active[keep][j])
                if again is not None and not restarted[i]:
                    restarted[i] = True
                    x[i] = x0_dev[i] = again[i].to(device)
                    best[i], last_gain[i] = -math.inf, step
                    still[j] = False
                else:
                    stalled[i], steps[i] = True, step + 1
            active = active[keep][~still]
            if bar is not None:
                bar.update(1)
                bar.set_postfix(left=len(active))
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start_t
    images = x.detach().cpu()
    lp_all = log_probs(model, images)
    return AscentResult(
        classes=tuple(int(c) for c in cls),
        start=x0_dev.cpu(),
        images=images,
        confidence=lp_all.gather(1, cls[:, None]).squeeze(1).exp().numpy(),
        predicted=tuple(int(c) for c in lp_all.argmax(1)),
        reached=tuple(t is not None for t in reached_s),
        steps=tuple(int(s) for s in steps),
        reached_seconds=tuple(reached_s),
        stalled=tuple(stalled),
        restarted=tuple(restarted),
        target=target,
        step_size=step_size,
        eps=eps,
        recon_weight=recon_weight,
        seconds=seconds,
    )


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
    k = num_outputs(model, check_shape(shape))
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


def _project(x: torch.Tensor, x0: torch.Tensor, eps: float | None) -> torch.Tensor:
    """Back into the max-norm ball of radius eps around x0 (if any), then into [0, 1]."""
    if eps is not None:
        x = torch.maximum(torch.minimum(x, x0 + eps), x0 - eps)
    return x.clamp(0.0, 1.0)
