"""DeepFool (Moosavi-Dezfooli et al., CVPR 2016): walk to the nearest linearised boundary.

At x_i, for each candidate class k (the most likely ones after the true class y),
f_k = z_k - z_y and w_k = grad f_k. The nearest boundary of the linearised model is at
distance |f_k| / ||w_k||_q (q the dual norm: 2 for L2, 1 for Linf); step onto the nearest:

    L2:   r_i = (|f_l| + 1e-4) / ||w_l||_2^2 * w_l
    Linf: r_i = (|f_l| + 1e-4) / ||w_l||_1 * sign(w_l)

and set x_{i+1} = clip(x + (1 + overshoot) * sum r_i) until the label flips.

Images walk in fixed batch slots, like PGD's (`fragility.attacks.gradient`): as soon as one is
fooled or has spent its steps, the next image takes its slot, so a batch never waits for its
slowest image. Each image's walk is the same bits either way (rule 2 of
`fragility.attacks.core`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from fragility._progress import progress_bar
from fragility.attacks.core import (
    NORMS,
    Minimal,
    MinimalAttack,
    check_choice,
    is_adversarial,
)
from fragility.contract import model_device
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

    def _minimal(self, model, x, labels, targeted, *, m, progress, refill=True):
        """Walk every image in m fixed slots; as an image is fooled or spends its steps, the
        next one takes its slot (`refill=False`: only once the whole batch is done, the
        reference the tests compare with). Rows do not interact, so both give the same bits."""
        return _Walk(self, model, x, labels, m).run(refill=refill, progress=progress)

    def step(self, logits: torch.Tensor, xg: torch.Tensor, lab: torch.Tensor, cand: torch.Tensor):
        """r_i for every row (module docstring), from the logits at xg (the graph kept)."""
        m = len(xg)
        rows = torch.arange(m, device=xg.device)
        view = (-1, *[1] * (xg.dim() - 1))
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
            return ((f_l.abs() + 1e-4) / (dual_l**2 + 1e-8)).view(view) * w_l
        return ((f_l.abs() + 1e-4) / (dual_l + 1e-8)).view(view) * w_l.sign()


class _Walk:
    """DeepFool over m fixed batch slots. Per slot: which image, its clean point x0 and label,
    the sum of its steps so far (total), its current point, its candidate classes and how
    many steps it has taken (i)."""

    def __init__(
        self, attack: DeepFool, model: nn.Module, x: torch.Tensor, labels: torch.Tensor, m: int
    ) -> None:
        self.attack, self.model, self.x, self.labels, self.m = attack, model, x, labels, m
        dev = model_device(model)
        n = len(x)
        self.x0 = torch.zeros(m, *x.shape[1:], device=dev)
        self.total = torch.zeros_like(self.x0)
        self.xa = torch.zeros_like(self.x0)
        self.lab = torch.zeros(m, dtype=torch.long, device=dev)
        self.cand: torch.Tensor | None = None  # (m, c) made once the number of classes is known
        self.i = torch.zeros(m, dtype=torch.long)
        self.img = torch.full((m,), -1, dtype=torch.long)
        self.adv = x.clone()
        self.logits: torch.Tensor | None = None  # (N, K) at `adv`
        self.clean: torch.Tensor | None = None  # (N, K) at the images
        self.success = torch.zeros(n, dtype=torch.bool)
        self.steps = torch.zeros(n, dtype=torch.long)

    def run(self, *, refill: bool, progress: bool) -> Minimal:
        bar = progress_bar(len(self.x), progress, unit="image", desc=self.attack.name)
        queue = list(range(len(self.x)))
        while True:
            free = (self.img < 0).nonzero().flatten().tolist()
            if refill or len(free) == self.m:
                take, queue = queue[: len(free)], queue[len(free) :]
                if take:
                    self._fill(free[: len(take)], take)
            if not bool((self.img >= 0).any()):
                break
            done = self._iterate()
            if bar is not None and done:
                bar.update(done)
        if bar is not None:
            bar.close()
        assert self.logits is not None and self.clean is not None
        return Minimal(self.adv, self.logits, self.clean, self.success, self.steps)

    def _fill(self, slots: list[int], images: list[int]) -> None:
        rows, imgs = torch.tensor(slots), torch.tensor(images)
        dev_rows = rows.to(self.x0.device)
        self.img[rows] = imgs
        self.x0[dev_rows] = self.x[imgs].to(self.x0.device)
        self.xa[dev_rows] = self.x0[dev_rows]
        self.total[dev_rows] = 0.0
        self.lab[dev_rows] = self.labels[imgs].to(self.lab.device)
        self.i[rows] = 0

    def _iterate(self) -> int:
        """Evaluate every slot; record the images fooled or out of steps; step the rest."""
        a, steps = self.attack, self.attack.steps
        xg = self.xa.detach().requires_grad_(True)
        logits = self.model(xg)
        z = logits.detach().float()
        if self.logits is None:
            k = z.shape[1]
            self.logits = torch.zeros(len(self.x), k)
            self.clean = torch.zeros(len(self.x), k)
            self.cand = torch.zeros(self.m, min(a.candidates, k) - 1, dtype=torch.long)
            self.cand = self.cand.to(z.device)
        active = self.img >= 0
        fresh = (active & (self.i == 0)).nonzero().flatten()
        if len(fresh):  # the clean logits, and the candidates: the most likely other classes
            dev_fresh = fresh.to(z.device)
            self.clean[self.img[fresh]] = z[dev_fresh].cpu()
            others = z[dev_fresh].scatter(1, self.lab[dev_fresh, None], float("-inf"))
            self.cand[dev_fresh] = others.topk(self.cand.shape[1], dim=1).indices
        fooled = is_adversarial(z, self.lab, False).cpu() & active
        ends = fooled | (active & (self.i == steps))
        rows = ends.nonzero().flatten()
        if len(rows):
            imgs, dev_rows = self.img[rows], rows.to(z.device)
            self.adv[imgs] = self.xa[dev_rows].cpu()
            self.logits[imgs] = z[dev_rows].cpu()
            self.success[imgs] = fooled[rows]
            self.steps[imgs] = self.i[rows]
            self.img[rows] = -1
        going = active & ~ends
        if bool(going.any()):
            view = (-1, *[1] * (xg.dim() - 1))
            r = a.step(logits, xg, self.lab, self.cand)
            keep = going.to(r.device).view(view)
            self.total = torch.where(keep, self.total + r, self.total)
            self.xa = torch.where(
                keep, (self.x0 + (1 + a.overshoot) * self.total).clamp(0.0, 1.0), self.xa
            )
            self.i[going] += 1
        return len(rows)
