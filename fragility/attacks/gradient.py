"""Gradient attacks: PGD in Linf and L2 (Madry et al. 2018), and FGSM as its one-step case.

One loop (`climb`), in the shape of foolbox 3's gradient descent: value and gradient of the
objective, normalise the gradient (sign for Linf, unit length for L2), step, project back into
the epsilon ball, clip to [0, 1]. What differs between norms are pure helpers: `normalize_linf`
or `normalize_l2`, and the projection (`linf_box`, the Linf ball cut to [0, 1], or
`project_l2`); targeted or not is an argument. What differs between uses of the loop are a
few small hooks (`Climb`): the objective, the success test, where each run starts, and whether
a run that stops rising counts as stuck. PGD is one set of hooks; gradient ascent towards a
class (`fragility.garbage.ascent`) is another.

The loop runs over a fixed number of batch rows ("slots"). An image leaves its slot as soon
as it succeeds (an adversarial found is final) or its budget is spent, and the next image
takes the slot, so no gradient is spent on a settled image and the batch stays full. The
same loop serves a single epsilon and a sweep over an ascending grid: an image that survives
epsilon k moves on to epsilon k + 1 in the same slot, and one fooled at k is done for every
larger epsilon, whose ball holds its adversarial too.

Bookkeeping is kept off the common path: an iteration in which no slot succeeds, stalls or
spends its budget does the forward and backward pass, one success test and the step, and
nothing else; who goes where is worked out only in the iterations where something happens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

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
    image_seeds,
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
        trace = climb(
            _PGDClimb(self, x, targeted, seed),
            model,
            labels,
            (epsilon,),
            limit,
            m=m,
            priority=margin(clean, labels, targeted),
            keep=(x, clean),
            early_stop=early_stop,
            progress=progress,
        )
        return AttackResult.build(
            (self.name, self.norm, epsilon, targeted),
            x,
            trace.points,
            trace.logits,
            already | (trace.fooled_at >= 0),
            trace.steps,
        )

    def _first_fooled(
        self, model, x, labels, targeted, epsilons, limit, *, seed, m, priority, progress
    ):
        trace = climb(
            _PGDClimb(self, x, targeted, seed),
            model,
            labels,
            epsilons,
            limit,
            m=m,
            priority=priority,
            progress=progress,
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


# ---------------------------------------------------------------------------------------------
# The loop and its hooks


class Climb(Protocol):
    """What one use of the loop decides; the loop does the rest.

    A run climbs `objective` from the point `begin` gives, by steps of `step_size(eps)` along
    the normalised gradient, projected into the `norm` ball of radius eps around the run's
    centre and into [0, 1]. It ends when `success` holds (the point is kept as the image's
    result), when its `steps` are spent, or, with a `patience`, when `progress` has not risen
    for that many steps (stuck at a local maximum): then it takes the step it was found stuck
    at and ends there, at a point not evaluated again (as gradient ascent has always reported
    a stuck image; a climb with a patience keeps no logits). A run that ends without success is
    followed by another (up to `restarts` runs per image and epsilon); with `shared_budget` the
    runs of an image share one budget of `steps`, otherwise each run has its own.
    """

    name: str  # for the progress bar
    norm: str  # "linf" or "l2"
    steps: int
    restarts: int
    patience: int | None
    shared_budget: bool

    def step_size(self, epsilon: float) -> float: ...

    def begin(
        self, images: torch.Tensor, runs: list[int], epsilons: list[float], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """For these images (k,) at these runs and epsilons (k each): the centre of each run's
        ball and its first point, each (k, C, H, W) on `device`."""
        ...

    def objective(
        self, x: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """(m,) what the run climbs, from the points x and the model's logits at them."""
        ...

    def success(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(m,) bool: the point is a result (fooled, or at the target)."""
        ...

    def progress(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(m,) float64 that must keep rising (used only with a patience)."""
        ...


@dataclass(frozen=True, eq=False)
class Trace:
    """What the loop learnt of each image (N rows, on the CPU)."""

    fooled_at: torch.Tensor  # (N,) int64 epsilon index of the first success, -1 never
    steps: torch.Tensor  # (N,) int64 gradient steps spent on the image
    runs: torch.Tensor  # (N,) int64 runs started at its last epsilon (restarts + 1)
    stalled: torch.Tensor  # (N,) bool: its last run ended stuck, without success
    l2: torch.Tensor  # (N,) distance of the kept point from its run's centre (NaN: none kept)
    linf: torch.Tensor
    points: torch.Tensor | None  # (N, C, H, W) kept points, when asked to keep them
    logits: torch.Tensor | None  # (N, K) the logits there


def climb(
    hooks: Climb,
    model: nn.Module,
    labels: torch.Tensor,
    epsilons: tuple[float, ...],
    limit: torch.Tensor,
    *,
    m: int,
    priority: torch.Tensor | None = None,
    keep: tuple[torch.Tensor, torch.Tensor | None] | None = None,
    early_stop: bool = True,
    progress: bool = False,
) -> Trace:
    """Run the loop over N images (`labels` (N,) are what `objective` and `success` read) in m
    fixed batch slots. Image i is tried at epsilons[0], then the next ones while it has not
    succeeded, up to limit[i] of them (0: skipped). Images with a larger `priority` go first
    (the order changes no result). `keep` = (points, logits) (N, ...): what each image keeps
    unless the loop finds better (an image that enters keeps its first success, else the last
    point of its last run; logits None: points only). `early_stop=False` keeps climbing after
    success, as far as the budget goes (the brute-force reference of the tests)."""
    order = priority if priority is not None else torch.zeros(len(labels))
    loop = _Loop(hooks, model, labels, epsilons, limit, m, keep)
    return loop.run(order, early_stop=early_stop, progress=progress)


class _PGDClimb:
    """PGD's hooks: start at the image or a random point of the ball (per-image seeds, see
    `fragility.attacks.core`), climb the loss, succeed when the model is fooled."""

    patience = None
    shared_budget = False

    def __init__(self, attack: PGD, x: torch.Tensor, targeted: bool, seed: int) -> None:
        self.attack, self.x, self.targeted, self.seed = attack, x, targeted, seed
        self.name, self.norm = attack.name, attack.norm
        self.steps, self.restarts = attack.steps, attack.restarts
        self.step_size = attack.step_size
        self.generator = torch.Generator()

    def begin(
        self, images: torch.Tensor, runs: list[int], epsilons: list[float], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        orig = self.x[images].to(device)
        if not self.attack.random_start:
            return orig, orig
        seeds = image_seeds(self.seed, images.tolist(), runs, epsilons)
        u = random_start(tuple(orig.shape[1:]), self.norm, seeds, self.generator)
        eps = torch.tensor(epsilons, dtype=torch.float32, device=device)
        scaled = (u.to(device).flatten(1) * eps[:, None]).view_as(orig)
        return orig, (orig + scaled).clamp(0.0, 1.0)

    def objective(
        self, x: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        return objective(logits, labels, self.targeted, self.attack.loss)

    def success(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return is_adversarial(logits, labels, self.targeted)

    def progress(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError  # PGD has no patience


class _Loop:
    """The loop over m fixed batch slots. Per slot: which image, which epsilon of the schedule
    (k), which run (r), the iteration its step count started from (t0: it has taken it - t0
    steps) and the iteration its budget ends at."""

    def __init__(
        self,
        hooks: Climb,
        model: nn.Module,
        labels: torch.Tensor,
        epsilons: tuple[float, ...],
        limit: torch.Tensor,
        m: int,
        keep: tuple[torch.Tensor, torch.Tensor | None] | None,
    ) -> None:
        self.hooks, self.model, self.labels = hooks, model, labels
        self.epsilons, self.limit = epsilons, limit
        self.dev = model_device(model)
        n = len(labels)
        self.m, self.it = m, 0  # it: the loop's iteration counter
        self.cur: torch.Tensor | None = None  # (m, C, H, W) current points, made on first use
        self.lab = torch.zeros(m, dtype=labels.dtype, device=self.dev)
        self.img = torch.full((m,), -1, dtype=torch.long)  # -1: an empty slot
        self.free = list(range(m))
        self.k = torch.zeros(m, dtype=torch.long)
        self.r = torch.zeros(m, dtype=torch.long)
        self.t0 = torch.zeros(m, dtype=torch.long)
        self.end = torch.zeros(m, dtype=torch.long)
        self.next_end = -1  # the first iteration at which some run spends its budget
        self.hit = torch.zeros(m, dtype=torch.bool)
        self.live = torch.zeros(m, dtype=torch.bool)  # a run is going and has not succeeded
        if hooks.patience is not None:
            self.best = torch.full((m,), -math.inf, dtype=torch.float64, device=self.dev)
            self.gain = torch.zeros(m, dtype=torch.long, device=self.dev)
        self.fooled_at = torch.full((n,), -1, dtype=torch.long)
        self.steps = torch.zeros(n, dtype=torch.long)
        self.runs = torch.zeros(n, dtype=torch.long)
        self.stalled = torch.zeros(n, dtype=torch.bool)
        self.l2 = torch.full((n,), float("nan"))
        self.linf = torch.full((n,), float("nan"))
        self.points = keep[0].clone() if keep is not None else None
        self.logits = keep[1].clone() if keep is not None and keep[1] is not None else None

    def run(self, priority: torch.Tensor, *, early_stop: bool, progress: bool) -> Trace:
        order = torch.argsort(priority, descending=True, stable=True)
        queue = order[self.limit[order] > 0].tolist()
        bar = progress_bar(len(queue), progress, unit="image", desc=self.hooks.name)
        pos = 0
        while True:
            take = queue[pos : pos + len(self.free)]
            pos += len(take)
            if take:
                self._fill(take)
            if len(self.free) == self.m:
                break
            done = self._iterate(early_stop)
            if bar is not None and done:
                bar.update(done)
        if bar is not None:
            bar.close()
        return Trace(
            self.fooled_at,
            self.steps,
            self.runs,
            self.stalled,
            self.l2,
            self.linf,
            self.points,
            self.logits,
        )

    def _fill(self, images: list[int]) -> None:
        """Start these images, at their first epsilon, in free slots."""
        rows = torch.tensor(self.free[: len(images)])
        del self.free[: len(images)]
        self.img[rows] = torch.tensor(images)
        self.k[rows] = 0
        self.r[rows] = 0
        self.hit[rows] = False
        self._begin(rows)
        self.next_end = int(self.end[self.img >= 0].min())

    def _begin(self, rows: torch.Tensor) -> None:
        """(Re)start the runs of these slots at their image, epsilon k and run r; the first
        point is evaluated at iteration `it`. Run 0 (a new image or epsilon) starts the step
        count and the budget, as does every run without a shared budget."""
        imgs, runs = self.img[rows], self.r[rows]
        self.runs[imgs] = runs + 1
        eps_values = [self.epsilons[k] for k in self.k[rows].tolist()]
        eps = torch.tensor(eps_values, dtype=torch.float32, device=self.dev)
        centre, start = self.hooks.begin(imgs, runs.tolist(), eps_values, self.dev)
        if self.cur is None:
            self._allocate(tuple(start.shape[1:]))
        dev_rows = rows.to(self.dev)
        self.orig[dev_rows] = centre
        self.lab[dev_rows] = self.labels[imgs].to(self.dev)
        self.eps[dev_rows] = eps
        # Per-slot constants spelt out per pixel: same-shape arithmetic in the step is several
        # times faster than broadcasting an (m, 1, 1, 1) column.
        alpha = torch.tensor(
            [self.hooks.step_size(e) for e in eps_values], dtype=torch.float32, device=self.dev
        )
        self.alpha[dev_rows] = alpha[:, None].expand(-1, self.alpha.shape[1])
        if self.hooks.norm == "linf":
            self.lo[dev_rows], self.hi[dev_rows] = linf_box(centre, eps)
        self.cur[dev_rows] = start
        self.live[rows] = ~self.hit[rows]
        if self.hooks.patience is not None:
            self.best[dev_rows] = -math.inf
            self.gain[dev_rows] = self.it
        clock = rows if not self.hooks.shared_budget else rows[runs == 0]
        self.t0[clock] = self.it
        self.end[clock] = self.it + self.hooks.steps

    def _allocate(self, shape: tuple[int, ...]) -> None:
        m, d = self.m, math.prod(shape)
        self.cur = torch.zeros(m, *shape, device=self.dev)  # (m, C, H, W) current points
        self.orig = torch.zeros_like(self.cur)  # (m, C, H, W) the runs' centres
        self.eps = torch.zeros(m, device=self.dev)
        self.alpha = torch.zeros(m, d, device=self.dev)  # (m, D) step sizes
        if self.hooks.norm == "linf":  # (m, C, H, W) the ball cut to [0, 1]
            self.lo, self.hi = torch.zeros_like(self.cur), torch.ones_like(self.cur)

    def _step(self, grad: torch.Tensor) -> None:
        """x <- x + alpha * normalize(grad), projected into the ball and [0, 1], for every slot.
        In place: a new (m, D) tensor per operation costs more than the arithmetic here."""
        # sign in place for Linf (the gradient is ours): one (m, D) tensor fewer per step
        norm = self.hooks.norm
        direction = (grad.sign_() if norm == "linf" else NORMALIZE[norm](grad)).flatten(1)
        self.cur.flatten(1).addcmul_(self.alpha, direction)
        if self.hooks.norm == "linf":
            self.cur.clamp_(self.lo, self.hi)
        else:
            self.cur = project_l2(self.cur, self.orig, self.eps).clamp_(0.0, 1.0)

    def _iterate(self, early_stop: bool) -> int:
        """One evaluation of every slot and one step. Returns how many images left for good."""
        hooks = self.hooks
        x = self.cur.detach().requires_grad_(True)
        logits = self.model(x)
        (grad,) = torch.autograd.grad(hooks.objective(x, logits, self.lab).sum(), x)
        logits = logits.detach()
        won = hooks.success(logits, self.lab).cpu() & self.live
        stuck = self._stuck(logits) & ~won if hooks.patience is not None else None
        if (
            self.it != self.next_end
            and not bool(won.any())
            and (stuck is None or not bool(stuck.any()))
        ):
            # The common case: nothing ends, every slot steps on.
            self._step(grad)
            self.it += 1
            return 0
        return self._settle(grad, logits, won, stuck, early_stop)

    def _stuck(self, logits: torch.Tensor) -> torch.Tensor:
        """Track each run's best `progress`; (m,) bool: live runs without a rise for
        `patience` iterations."""
        value = self.hooks.progress(logits, self.lab)
        better = value > self.best + 1e-9
        self.best = torch.where(better, value, self.best)
        self.gain = torch.where(better, self.it, self.gain)
        return (self.it - self.gain >= self.hooks.patience).cpu() & self.live

    def _settle(
        self,
        grad: torch.Tensor,
        logits: torch.Tensor,
        won: torch.Tensor,
        stuck: torch.Tensor | None,
        early_stop: bool,
    ) -> int:
        """The iteration in which some run succeeds, stalls or spends its budget: keep what
        is final, step, and send each ended run on (another run, the next epsilon) or out."""
        hooks, it = self.hooks, self.it
        active = self.img >= 0
        self._keep(won, logits, fooled=True)
        self.hit |= won
        self.live &= ~won
        spent = active & (self.end == it)
        stuck = torch.zeros_like(active) if stuck is None else stuck & ~spent
        done = self.hit & early_stop
        ends = active & (spent | done | stuck)
        # Where each ended run goes next: another run, the next epsilon, or out.
        again = ends & ~done & (self.r + 1 < hooks.restarts)
        if hooks.shared_budget:
            again &= ~spent
        limit = self.limit[self.img.clamp(min=0)]
        next_eps = ends & ~again & ~self.hit & (self.k + 1 < limit)
        leave = ends & ~again & ~next_eps
        stalled = leave & stuck
        self._keep(leave & ~self.hit & ~stalled, logits, fooled=False)
        self.stalled[self.img[stalled]] = True
        # The steps of a run that ended count for its image (with a shared budget, once all
        # its runs have); a stuck run also takes the step it is found stuck at (below).
        counted = ends & ~again if hooks.shared_budget else ends
        self.steps[self.img[counted]] += it - self.t0[counted] + stalled[counted].long()
        # Rows are independent, so every slot takes the step: those whose run ended are
        # restarted below or emptied, and an empty slot's content reaches no other row.
        self._step(grad)
        self._keep(stalled, None, fooled=False)
        self.it += 1
        self.r[again] += 1
        self.k[next_eps] += 1
        self.r[next_eps] = 0
        rows = (again | next_eps).nonzero().flatten()
        if len(rows):
            self._begin(rows)
        self.img[leave] = -1
        self.live[leave] = False
        self.free += leave.nonzero().flatten().tolist()
        if len(self.free) < self.m:
            self.next_end = int(self.end[self.img >= 0].min())
        return int(leave.sum())

    def _keep(self, rows_mask: torch.Tensor, logits: torch.Tensor | None, *, fooled: bool) -> None:
        """Record the current point of these slots as their image's result (and the logits
        there, where they are known)."""
        rows = rows_mask.nonzero().flatten()
        if not len(rows):
            return
        imgs = self.img[rows]
        dev_rows = rows.to(self.dev)
        if fooled:
            self.fooled_at[imgs] = self.k[rows]
        l2, linf = perturbation_norms(self.cur[dev_rows] - self.orig[dev_rows])
        self.l2[imgs], self.linf[imgs] = l2.cpu(), linf.cpu()
        if self.points is not None:
            self.points[imgs] = self.cur[dev_rows].to(self.points.device)
        if self.logits is not None and logits is not None:
            self.logits[imgs] = logits[dev_rows].float().cpu()
