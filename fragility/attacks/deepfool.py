"""DeepFool (Moosavi-Dezfooli et al., CVPR 2016): walk to the nearest linearised boundary.

At x_i, for each candidate class k (the most likely ones after the true class y),
f_k = z_k - z_y and w_k = grad f_k. The nearest boundary of the linearised model is at
distance |f_k| / ||w_k||_q (q the dual norm: 2 for L2, 1 for Linf); step onto the nearest:

    L2:   r_i = (|f_l| + 1e-4) / ||w_l||_2^2 * w_l
    Linf: r_i = (|f_l| + 1e-4) / ||w_l||_1 * sign(w_l)

and set x_{i+1} = clip(x + (1 + overshoot) * sum r_i) until the label flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from fragility.attacks.core import (
    NORMS,
    MinimalAttack,
    check_choice,
    is_adversarial,
)
from fragility.errors import ConfigError


@dataclass(frozen=True)
class DeepFool(MinimalAttack):
    """DeepFool in L2 or Linf, untargeted, over the `candidates` most likely classes."""

    norm: str = "l2"
    steps: int = 50
    overshoot: float = 0.02
    candidates: int = 10
    targetable: ClassVar[bool] = False

    def __post_init__(self) -> None:
        check_choice(self.norm, NORMS, "norm")
        if self.steps < 1 or self.candidates < 2 or self.overshoot < 0:
            raise ConfigError("DeepFool needs steps >= 1, candidates >= 2 and overshoot >= 0")

    @property
    def name(self) -> str:
        return f"DeepFool {self.norm.capitalize()}"

    def budget(self) -> int:
        return self.steps

    def _chunk(
        self, model: nn.Module, x0: torch.Tensor, lab: torch.Tensor, targeted: bool = False
    ) -> tuple[torch.Tensor, ...]:
        m = len(x0)
        rows = torch.arange(m, device=x0.device)
        view = (-1, *[1] * (x0.dim() - 1))
        total = torch.zeros_like(x0)  # sum of the steps r_i
        xa = x0
        done = torch.zeros(m, dtype=torch.bool, device=x0.device)
        steps = torch.zeros(m, dtype=torch.long, device=x0.device)
        adv, adv_logits, clean = x0.clone(), None, None
        for i in range(self.steps + 1):
            xg = xa.detach().requires_grad_(True)
            logits = model(xg)
            z = logits.detach().float()
            if clean is None:
                clean, adv_logits = z.clone(), z.clone()
                others = z.scatter(1, lab[:, None], float("-inf"))
                cand = others.topk(min(self.candidates, z.shape[1]) - 1, dim=1).indices  # (m, c)
            new = is_adversarial(z, lab, False) & ~done
            adv = torch.where(new.view(view), xa.detach(), adv)
            adv_logits = torch.where(new[:, None], z, adv_logits)
            done |= new
            if bool(done.all()) or i == self.steps:
                break
            own = logits.gather(1, lab[:, None])
            f, w = [], []
            for j in range(cand.shape[1]):
                fj = logits.gather(1, cand[:, j : j + 1]) - own  # (m, 1)
                (gj,) = torch.autograd.grad(fj.sum(), xg, retain_graph=j < cand.shape[1] - 1)
                f.append(fj.detach().squeeze(1))
                w.append(gj)
            f_all, w_all = torch.stack(f, 1), torch.stack(w, 1)  # (m, c), (m, c, C, H, W)
            flat = w_all.flatten(2)
            dual = flat.norm(dim=2) if self.norm == "l2" else flat.abs().sum(2)  # (m, c)
            nearest = (f_all.abs() / (dual + 1e-8)).argmin(1)
            f_l, w_l, dual_l = f_all[rows, nearest], w_all[rows, nearest], dual[rows, nearest]
            if self.norm == "l2":
                r = ((f_l.abs() + 1e-4) / (dual_l**2 + 1e-8)).view(view) * w_l
            else:
                r = ((f_l.abs() + 1e-4) / (dual_l + 1e-8)).view(view) * w_l.sign()
            total = torch.where(done.view(view), total, total + r)
            steps += ~done
            xa = (x0 + (1 + self.overshoot) * total).clamp(0.0, 1.0)
        adv = torch.where(done.view(view), adv, xa.detach())
        adv_logits = torch.where(done[:, None], adv_logits, z)
        return adv, adv_logits, clean, done, steps
