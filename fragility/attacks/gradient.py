"""Gradient attacks: PGD in Linf and L2 (Madry et al. 2018), and FGSM as its one-step case.

One loop, in the shape of foolbox 3's gradient descent: value and gradient of the objective,
normalise the gradient (sign for Linf, unit length for L2), step, project back into the
epsilon ball, clip to [0, 1]. What differs between norms are pure helpers: `normalize_linf`
or `normalize_l2`, and the projection (`linf_box`, the Linf ball cut to [0, 1], or
`project_l2`); targeted or not is an argument.

The loop runs over a fixed number of batch rows ("slots"). An image leaves its slot as soon
as it is fooled (an adversarial found is final) or its budget is spent, and the next image
takes the slot, so no gradient is spent on a settled image and the batch stays full. The
same loop serves a single epsilon and a sweep over an ascending grid: an image that survives
epsilon k moves on to epsilon k + 1 in the same slot, and one fooled at k is done for every
larger epsilon, whose ball holds its adversarial too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from fragility._progress import progress_bar
from fragility.attacks.core import (
    LOSSES,
    NORMALIZE,
    NORMS,
    Attack,
    AttackResult,
    FirstFooled,
    batched_logits,
    check_choice,
    image_seed,
    is_adversarial,
    linf_box,
    margin,
    objective,
    perturbation_norms,
    project_l2,
    random_start,
)
from fragility.contract import model_device
from fragility.errors import ConfigError


@dataclass(frozen=True)
class PGD(Attack):
    """Projected gradient descent (Madry et al. 2018), Linf or L2.

    x_{t+1} = clip_[0,1]( project_eps( x_t + alpha * normalize(grad objective(x_t)) ) ),
    from x_0 = x + eps * u (u uniform in the unit ball) with `random_start`, else x_0 = x.
    The step alpha is `step` if given, else `rel_step` * eps, else 2.5 * eps / steps (Madry
    et al.'s rule of thumb). Each restart draws a new start; an image counts as fooled at the
    first point of any restart that the model gets wrong.
    """

    norm: str = "linf"
    steps: int = 40
    step: float | None = None  # absolute step size
    rel_step: float | None = None  # step size as a fraction of epsilon
    random_start: bool = True
    restarts: int = 1
    loss: str = "ce"  # "ce" (cross-entropy) or "margin" (Carlini-Wagner's logit margin)
    label: str = ""  # a display name instead of "PGD-40 Linf" (fgsm() uses "FGSM")

    def __post_init__(self) -> None:
        check_choice(self.norm, NORMS, "norm")
        check_choice(self.loss, LOSSES, "loss")
        if self.steps < 1 or self.restarts < 1:
            raise ConfigError("steps and restarts must be at least 1")
        if self.step is not None and self.rel_step is not None:
            raise ConfigError("give step or rel_step, not both")
        for value in (self.step, self.rel_step):
            if value is not None and not value > 0:
                raise ConfigError(f"step sizes must be positive, not {value}")

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        restarts = f" x{self.restarts}" if self.restarts > 1 else ""
        return f"PGD-{self.steps} {self.norm.capitalize()}{restarts}"

    def step_size(self, epsilon: float) -> float:
        if self.step is not None:
            return self.step
        rel = self.rel_step if self.rel_step is not None else 2.5 / self.steps
        return rel * epsilon

    def budget(self) -> int:
        return self.steps * self.restarts

    def _attack(self, model, x, y, target, epsilon, *, seed, m, early_stop, progress):
        targeted = target is not None
        labels = target if targeted else y
        clean = batched_logits(model, x, m)
        already = is_adversarial(clean, labels, targeted)
        limit = (~already).long() if epsilon > 0 else torch.zeros(len(x), dtype=torch.long)
        trace = _Descent(
            self, model, x, labels, targeted, (epsilon,), limit, seed=seed, m=m, keep=clean
        ).run(margin(clean, labels, targeted), early_stop=early_stop, progress=progress)
        return AttackResult.build(
            (self.name, self.norm, epsilon, targeted),
            x,
            trace.adversarial,
            trace.logits,
            already | (trace.fooled_at >= 0),
            trace.steps,
        )

    def _first_fooled(
        self, model, x, labels, targeted, epsilons, limit, *, seed, m, priority, progress
    ):
        trace = _Descent(self, model, x, labels, targeted, epsilons, limit, seed=seed, m=m).run(
            priority, early_stop=True, progress=progress
        )
        return FirstFooled(trace.fooled_at, trace.l2, trace.linf, trace.steps)


def fgsm(norm: str = "linf") -> PGD:
    """The fast gradient sign method (Goodfellow et al. 2015): one step of size epsilon from
    the image itself, x + eps * sign(grad CE). With norm="l2", the fast gradient method:
    x + eps * grad / ||grad||_2."""
    return PGD(
        norm=norm,
        steps=1,
        rel_step=1.0,
        random_start=False,
        label="FGSM" if norm == "linf" else "FGM L2",
    )


@dataclass(frozen=True, eq=False)
class _Trace:
    fooled_at: torch.Tensor  # (N,) schedule index of the first fooling epsilon, -1 never
    steps: torch.Tensor  # (N,) gradient steps
    l2: torch.Tensor  # (N,) norms of the kept point (NaN where nothing was kept)
    linf: torch.Tensor
    adversarial: torch.Tensor | None  # (N, C, H, W) kept points, when asked to keep them
    logits: torch.Tensor | None


class _Descent:
    """The PGD loop over m fixed batch slots. Per slot: which image, which epsilon of the
    schedule (k), which restart (r) and which step (t) it is at."""

    def __init__(
        self,
        attack: PGD,
        model: nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        targeted: bool,
        epsilons: tuple[float, ...],
        limit: torch.Tensor,
        *,
        seed: int,
        m: int,
        keep: torch.Tensor | None = None,
    ) -> None:
        self.attack, self.model, self.x, self.labels = attack, model, x, labels
        self.targeted, self.epsilons, self.limit, self.seed = targeted, epsilons, limit, seed
        self.dev = model_device(model)
        n, shape = len(x), tuple(x.shape[1:])
        self.cur = torch.zeros(m, *shape, device=self.dev)  # (m, C, H, W) current iterates
        self.orig = torch.zeros_like(self.cur)  # (m, C, H, W) the images themselves
        self.lab = torch.zeros(m, dtype=torch.long, device=self.dev)
        self.eps = torch.zeros(m, device=self.dev)
        self.alpha = torch.zeros(m, math.prod(shape), device=self.dev)  # (m, D) step sizes
        if attack.norm == "linf":  # (m, C, H, W) the ball cut to [0, 1]
            self.lo, self.hi = torch.zeros_like(self.cur), torch.ones_like(self.cur)
        self.img = torch.full((m,), -1, dtype=torch.long)  # -1: an empty slot
        self.k = torch.zeros(m, dtype=torch.long)
        self.r = torch.zeros(m, dtype=torch.long)
        self.t = torch.zeros(m, dtype=torch.long)
        self.hit = torch.zeros(m, dtype=torch.bool)
        self.fooled_at = torch.full((n,), -1, dtype=torch.long)
        self.steps = torch.zeros(n, dtype=torch.long)
        self.l2 = torch.full((n,), float("nan"))
        self.linf = torch.full((n,), float("nan"))
        self.adversarial = x.clone() if keep is not None else None
        self.logits = keep.clone() if keep is not None else None
        self.generator = torch.Generator()

    def run(self, priority: torch.Tensor, *, early_stop: bool, progress: bool) -> _Trace:
        order = torch.argsort(priority, descending=True, stable=True)
        queue = [int(i) for i in order if self.limit[i] > 0]
        bar = progress_bar(len(queue), progress, unit="image", desc=self.attack.name)
        pos = 0
        while True:
            free = (self.img < 0).nonzero().flatten().tolist()
            take = queue[pos : pos + len(free)]
            pos += len(take)
            if take:
                rows = torch.tensor(free[: len(take)])
                self.img[rows] = torch.tensor(take)
                self.k[rows] = 0
                self.r[rows] = 0
                self.hit[rows] = False
                self._start(rows)
            if not bool((self.img >= 0).any()):
                break
            done = self._iterate(early_stop)
            if bar is not None:
                bar.update(done)
        if bar is not None:
            bar.close()
        return _Trace(self.fooled_at, self.steps, self.l2, self.linf, self.adversarial, self.logits)

    def _start(self, rows: torch.Tensor) -> None:
        """(Re)start the runs of these slots at their image, epsilon k and restart r."""
        imgs = self.img[rows]
        eps_values = [self.epsilons[int(k)] for k in self.k[rows]]
        dev_rows = rows.to(self.dev)
        orig = self.x[imgs].to(self.dev)
        eps = torch.tensor(eps_values, dtype=torch.float32, device=self.dev)
        alpha = torch.tensor(
            [self.attack.step_size(e) for e in eps_values], dtype=torch.float32, device=self.dev
        )
        self.orig[dev_rows] = orig
        self.lab[dev_rows] = self.labels[imgs].to(self.dev)
        self.eps[dev_rows] = eps
        # Per-slot constants spelt out per pixel: same-shape arithmetic in the step is several
        # times faster than broadcasting an (m, 1, 1, 1) column.
        self.alpha[dev_rows] = alpha[:, None].expand(-1, self.alpha.shape[1]).contiguous()
        if self.attack.norm == "linf":
            self.lo[dev_rows], self.hi[dev_rows] = linf_box(orig, eps)
        start = orig
        if self.attack.random_start:
            seeds = [
                image_seed(self.seed, i, r, e)
                for i, r, e in zip(imgs.tolist(), self.r[rows].tolist(), eps_values, strict=True)
            ]
            u = random_start(tuple(orig.shape[1:]), self.attack.norm, seeds, self.generator)
            scaled = (u.to(self.dev).flatten(1) * eps[:, None]).view_as(orig)
            start = (orig + scaled).clamp(0.0, 1.0)
        self.cur[dev_rows] = start
        self.t[rows] = 0

    def _step(self, grad: torch.Tensor) -> None:
        """x <- x + alpha * normalize(grad), projected into the ball and [0, 1], for every slot.
        In place: a new (m, D) tensor per operation costs more than the arithmetic here."""
        direction = NORMALIZE[self.attack.norm](grad).flatten(1)
        self.cur.flatten(1).addcmul_(self.alpha, direction)
        if self.attack.norm == "linf":
            self.cur.clamp_(self.lo, self.hi)
        else:
            self.cur = project_l2(self.cur, self.orig, self.eps).clamp_(0.0, 1.0)

    def _iterate(self, early_stop: bool) -> int:
        """One evaluation of all slots and one step of the runs that go on. Returns how many
        images left for good."""
        a = self.attack
        x = self.cur.detach().requires_grad_(True)
        logits = self.model(x)
        obj = objective(logits, self.lab, self.targeted, a.loss)
        (grad,) = torch.autograd.grad(obj.sum(), x)
        logits = logits.detach()
        active = self.img >= 0
        new_hit = active & ~self.hit & is_adversarial(logits, self.lab, self.targeted).cpu()
        self._keep(new_hit, logits, fooled=True)
        self.hit |= new_hit
        ends = active & ((self.t == a.steps) | (self.hit & early_stop))
        going = active & ~ends
        # Where each ended run goes next: another restart, the next epsilon, or out.
        restart = ends & (self.r + 1 < a.restarts) & ~(self.hit & early_stop)
        limit = self.limit[self.img.clamp(min=0)]
        next_eps = ends & ~restart & ~self.hit & (self.k + 1 < limit)
        leave = ends & ~restart & ~next_eps
        self._keep(leave & ~self.hit, logits, fooled=False)
        # Rows are independent, so every slot takes the step: those whose run ended are
        # restarted below or emptied, and an empty slot's content reaches no other row.
        self._step(grad)
        self.t[going] += 1
        self.steps.index_add_(0, self.img[going], torch.ones(int(going.sum()), dtype=torch.long))
        self.r[restart] += 1
        self.k[next_eps] += 1
        self.r[next_eps] = 0
        again = (restart | next_eps).nonzero().flatten()
        if len(again):
            self._start(again)
        self.img[leave] = -1
        return int(leave.sum())

    def _keep(self, rows_mask: torch.Tensor, logits: torch.Tensor, *, fooled: bool) -> None:
        """Record the current point of these slots as their image's result."""
        rows = rows_mask.nonzero().flatten()
        if not len(rows):
            return
        imgs = self.img[rows]
        dev_rows = rows.to(self.dev)
        if fooled:
            self.fooled_at[imgs] = self.k[rows]
        l2, linf = perturbation_norms(self.cur[dev_rows] - self.orig[dev_rows])
        self.l2[imgs], self.linf[imgs] = l2.cpu(), linf.cpu()
        if self.adversarial is not None:
            self.adversarial[imgs] = self.cur[dev_rows].to(self.adversarial.device)
            self.logits[imgs] = logits[dev_rows].float().cpu()
