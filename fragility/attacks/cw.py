"""Carlini & Wagner's L2 attack (S&P 2017): the smallest L2 perturbation, found by Adam.

    minimise ||x' - x||_2^2 + c * max(margin(x') + kappa, 0),   x' = (tanh(w) + 1) / 2

The change of variables keeps x' inside (0, 1) without clipping, so Adam works on an
unconstrained w. The constant c trades size against success; a binary search per image finds
the smallest c that still fools (c times 10 until one does, then bisection).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from fragility.attacks.core import MinimalAttack, is_adversarial, margin
from fragility.errors import ConfigError

_ADAM = (0.9, 0.999, 1e-8)  # beta1, beta2, epsilon: Adam's defaults, as in the paper


@dataclass(frozen=True)
class CarliniWagnerL2(MinimalAttack):
    """CW-L2 with `binary_search_steps` values of c, each optimised for `steps` Adam steps.

    `confidence` (kappa) asks for a logit margin beyond the decision boundary. With
    `abort_early`, an image whose loss stopped falling (by less than 0.01 % over a tenth of
    the steps) stops there for this c, as in the authors' code.
    """

    steps: int = 100
    binary_search_steps: int = 5
    lr: float = 0.1
    initial_const: float = 1.0
    confidence: float = 0.0
    abort_early: bool = True
    norm: ClassVar[str] = "l2"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.binary_search_steps < 1:
            raise ConfigError("steps and binary_search_steps must be at least 1")
        if not (self.lr > 0 and self.initial_const > 0 and self.confidence >= 0):
            raise ConfigError("lr and initial_const must be positive, confidence non-negative")

    @property
    def name(self) -> str:
        return "CW-L2"

    def budget(self) -> int:
        return self.steps * self.binary_search_steps

    def _chunk(
        self, model: nn.Module, x0: torch.Tensor, lab: torch.Tensor, targeted: bool
    ) -> tuple[torch.Tensor, ...]:
        m = len(x0)
        w0 = torch.atanh((2 * x0 - 1) * (1 - 1e-6))  # 1 - 1e-6 keeps atanh finite at 0 and 1
        with torch.no_grad():
            clean = model(x0).float()
        const = torch.full((m,), self.initial_const, device=x0.device)
        lo = torch.zeros_like(const)
        hi = torch.full_like(const, math.inf)
        best = (x0.clone(), clean.clone(), torch.full_like(const, math.inf))  # point, logits, d2
        steps = torch.zeros(m, dtype=torch.long, device=x0.device)
        for _ in range(self.binary_search_steps):
            found = self._optimise(model, x0, lab, targeted, w0, const, best, steps)
            hi = torch.where(found, torch.minimum(hi, const), hi)
            lo = torch.where(found, lo, torch.maximum(lo, const))
            const = torch.where(torch.isinf(hi), const * 10, (lo + hi) / 2)
        success = torch.isfinite(best[2])
        return best[0], best[1], clean, success, steps

    def _optimise(self, model, x0, lab, targeted, w0, const, best, steps) -> torch.Tensor:
        """Adam on w for one value of c per image; updates `best` and `steps` in place and
        returns which images were fooled."""
        b1, b2, tiny = _ADAM
        w = w0.clone()
        mom, vel = torch.zeros_like(w), torch.zeros_like(w)
        found = torch.zeros(len(w), dtype=torch.bool, device=w.device)
        frozen = torch.zeros_like(found)
        previous = torch.full_like(const, math.inf)
        check = max(1, math.ceil(self.steps / 10))
        view = (-1, *[1] * (w.dim() - 1))
        for s in range(self.steps):
            wg = w.detach().requires_grad_(True)
            xa = (torch.tanh(wg) + 1) / 2
            logits = model(xa)
            d2 = (xa - x0).flatten(1).pow(2).sum(1)
            gap = margin(logits, lab, targeted)
            loss = d2 + const * (gap + self.confidence).clamp(min=0)
            (grad,) = torch.autograd.grad(loss.sum(), wg)
            with torch.no_grad():
                ok = is_adversarial(logits, lab, targeted) & (gap <= -self.confidence)
                better = ok & (d2 < best[2])
                best[0].copy_(torch.where(better.view(view), xa, best[0]))
                best[1].copy_(torch.where(better[:, None], logits.float(), best[1]))
                best[2].copy_(torch.where(better, d2, best[2]))
                found |= ok
                if self.abort_early and s % check == 0:
                    frozen |= ~(loss <= 0.9999 * previous)
                    previous = torch.where(frozen, previous, loss)
                    if bool(frozen.all()):
                        break
                live = ~frozen
                steps += live
                mom = b1 * mom + (1 - b1) * grad
                vel = b2 * vel + (1 - b2) * grad * grad
                t = s + 1
                update = self.lr * (mom / (1 - b1**t)) / ((vel / (1 - b2**t)).sqrt() + tiny)
                w = torch.where(live.view(view), w - update, w)
        return found
