"""What every attack shares: norms, projections, losses, per-image randomness, fixed-shape
batches, the preflight checks, the result type and the base class.

Two design rules make the fast robust-accuracy sweep give exactly the numbers of attacking
every image at every epsilon:

1. Randomness is per image: the random start of image ``i`` in restart ``r`` comes from a
   generator seeded with ``mix(seed, i, r)``, never from a generator shared by the batch, so
   taking an image out of a batch does not move another image's random numbers.
2. The model always sees batches of the same number of rows ``m``. Matrix and convolution
   kernels may round a row differently when the batch size changes (cuBLAS and oneDNN pick
   their algorithm by shape), but at a fixed shape a row's result depends only on that row.
   Empty rows are padded, never dropped, so an image's whole trajectory is the same bits
   whichever images share its batch. One caveat, measured on the CPU: a matrix kernel may
   also round the rows of a trailing partial block of its own differently (with 37 rows, the
   37th row's input gradient through the digits MLP differs in the last bit), so an image's
   bits can depend on its slot when m is not a multiple of the kernel's block; at m a
   multiple of 4 (the tests use 32; the default is 256) no slot was seen to differ.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fragility import contract
from fragility._progress import progress_bar
from fragility.batches import gradient_batch
from fragility.contract import model_device
from fragility.errors import ConfigError, InputError

NORMS = ("linf", "l2")
LOSSES = ("ce", "margin")
DEFAULT_BATCH = 256
_MASK64 = (1 << 64) - 1


class AttackWarning(UserWarning):
    """A preflight check found something that makes an attack's numbers suspect."""


# ---------------------------------------------------------------------------------------------
# Epsilon for readers


def grey_levels(epsilon: float) -> float:
    """An Linf budget in grey levels of an 8-bit image: 0.1 is 25.5 of 255."""
    return 255.0 * float(epsilon)


def describe_epsilon(epsilon: float, norm: str = "linf") -> str:
    """'0.1 (25.5 of 255 grey levels per pixel)' for Linf; L2 budgets have no per-pixel reading."""
    text = f"{epsilon:g}"
    if norm == "linf":
        levels = f"{grey_levels(epsilon):.1f}".rstrip("0").rstrip(".")
        text += f" ({levels} of 255 grey levels per pixel)"
    return text


# ---------------------------------------------------------------------------------------------
# Pure helpers: norms, projections, gradient normalisation


def _column(value: float | torch.Tensor) -> float | torch.Tensor:
    """A scalar stays a scalar; an (N,) tensor becomes (N, 1) to broadcast over flat images.
    (Broadcasting over (N, D) is several times faster on the CPU than over (N, 1, 1, 1).)"""
    return value.reshape(-1, 1) if isinstance(value, torch.Tensor) else value


def perturbation_norms(delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L2, Linf) norm of each image's perturbation, each (N,)."""
    flat = delta.flatten(1)
    return flat.norm(dim=1), flat.abs().amax(dim=1)


def project_linf(x: torch.Tensor, x0: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    """Nearest point to `x` in the Linf ball of radius eps (a number or one per image) around
    x0: each pixel clipped to [x0 - eps, x0 + eps]."""
    e = _column(eps)
    flat, flat0 = x.flatten(1), x0.flatten(1)
    return torch.clamp(flat, flat0 - e, flat0 + e).view_as(x)


def linf_box(x0: torch.Tensor, eps: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The Linf ball around x0 cut to [0, 1], as per-pixel bounds (lo, hi), each shaped like x0.

    Clamping to them is `project_linf` followed by clipping to [0, 1] (the ball and the unit
    cube are both boxes), in one pass instead of four.
    """
    e = _column(eps)
    flat0 = x0.flatten(1)
    return (flat0 - e).clamp(min=0.0).view_as(x0), (flat0 + e).clamp(max=1.0).view_as(x0)


def project_l2(x: torch.Tensor, x0: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    """Nearest point to `x` in the L2 ball around x0: scale x - x0 by min(1, eps / ||x - x0||)."""
    delta = (x - x0).flatten(1)
    norms = delta.norm(dim=1, keepdim=True).clamp_min(1e-12)
    factor = (_column(eps) / norms).clamp(max=1.0)
    return x0 + (delta * factor).view_as(x)


def normalize_linf(g: torch.Tensor) -> torch.Tensor:
    """The steepest-ascent direction under Linf: sign(g) (Goodfellow et al. 2015)."""
    return g.sign()


def normalize_l2(g: torch.Tensor) -> torch.Tensor:
    """The steepest-ascent direction under L2: g / ||g||_2 per image (0 stays 0)."""
    flat = g.flatten(1)
    return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).view_as(g)


NORMALIZE = {"linf": normalize_linf, "l2": normalize_l2}


# ---------------------------------------------------------------------------------------------
# Losses and the success test


def margin(logits: torch.Tensor, labels: torch.Tensor, targeted: bool) -> torch.Tensor:
    """How far each image is from success, (N,); negative once the attack has won.

    Untargeted: z_y - max_{j != y} z_j. Targeted at t: max_{j != t} z_j - z_t.
    """
    own = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
    return others - own if targeted else own - others


def objective(
    logits: torch.Tensor, labels: torch.Tensor, targeted: bool, loss: str
) -> torch.Tensor:
    """What the gradient attacks climb, per image (N,).

    ``ce``: the cross-entropy of the true class (untargeted) or minus that of the target.
    ``margin``: minus `margin`, the loss of Carlini & Wagner (2017), which does not saturate
    when the softmax does.
    """
    if loss == "margin":
        return -margin(logits, labels, targeted)
    ce = F.cross_entropy(logits, labels, reduction="none")
    return -ce if targeted else ce


def is_adversarial(logits: torch.Tensor, labels: torch.Tensor, targeted: bool) -> torch.Tensor:
    """(N,) bool: the prediction is not the label (untargeted) or is the target (targeted)."""
    pred = logits.argmax(dim=1)
    return pred == labels if targeted else pred != labels


# ---------------------------------------------------------------------------------------------
# Per-image randomness


def _splitmix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def image_seed(seed: int, image: int, restart: int = 0, epsilon: float = 0.0) -> int:
    """A seed for one image's random numbers in one run (restart, epsilon): the same whatever
    else is in its batch, and whether the run is part of a sweep or not."""
    h = 0
    bits = int.from_bytes(struct.pack("<d", float(epsilon)), "little")
    for part in (seed, image, restart, bits):
        h = _splitmix64(h ^ (part & _MASK64))
    return h >> 1  # torch seeds are taken below 2**63 here to stay clear of sign issues


def _splitmix64_array(z: np.ndarray) -> np.ndarray:
    """`_splitmix64` over a uint64 array (numpy's uint64 arithmetic wraps modulo 2**64)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def image_seeds(
    seed: int, images: list[int], restarts: list[int], epsilons: list[float]
) -> list[int]:
    """`image_seed` for many images at once: the same numbers, computed over arrays."""
    bits = np.array(epsilons, dtype="<f8").view("<u8")
    parts = (
        np.full(len(images), seed & _MASK64, dtype=np.uint64),
        np.array(images, dtype=np.uint64),
        np.array(restarts, dtype=np.uint64),
        bits.astype(np.uint64),
    )
    h = np.zeros(len(images), dtype=np.uint64)
    for part in parts:
        h = _splitmix64_array(h ^ part)
    return (h >> np.uint64(1)).tolist()


def random_start(
    shape: tuple[int, ...], norm: str, seeds: list[int], generator: torch.Generator | None = None
) -> torch.Tensor:
    """One point uniformly drawn from the unit ball of `norm` per seed, (len(seeds), *shape).

    Linf: uniform in [-1, 1]^D (as Madry et al. 2018). L2: a Gaussian direction with radius
    U^(1/D), uniform in the ball.
    """
    gen = generator or torch.Generator()
    d = math.prod(shape)
    out = torch.empty(len(seeds), d)
    if norm == "linf":
        for row, s in zip(out, seeds, strict=True):
            torch.rand(d, generator=gen.manual_seed(s), out=row)
        return out.mul_(2).sub_(1).reshape(len(seeds), *shape)  # elementwise: as per row
    for row, s in zip(out, seeds, strict=True):
        gen.manual_seed(s)
        direction = torch.randn(d, generator=gen)
        radius = torch.rand(1, generator=gen).pow(1.0 / d)
        row.copy_(direction * (radius / direction.norm().clamp_min(1e-12)))
    return out.reshape(len(seeds), *shape)


# ---------------------------------------------------------------------------------------------
# Fixed-shape batches


def padded(rows: torch.Tensor, m: int) -> torch.Tensor:
    """`rows` (k <= m, ...) extended to m rows by repeating its first row."""
    k = rows.shape[0]
    if k == m:
        return rows
    return torch.cat([rows, rows[:1].expand(m - k, *rows.shape[1:])])


def chunks(n: int, m: int) -> Iterator[slice]:
    for start in range(0, n, m):
        yield slice(start, min(start + m, n))


@torch.no_grad()
def batched_logits(model: nn.Module, x: torch.Tensor, m: int) -> torch.Tensor:
    """Logits of every image (N, K) on the CPU, computed in batches of exactly m rows."""
    dev = model_device(model)
    outs = []
    for part in chunks(len(x), m):
        k = part.stop - part.start
        outs.append(model(padded(x[part].to(dev), m))[:k].float().cpu())
    return torch.cat(outs) if outs else torch.empty(0, 0)


# ---------------------------------------------------------------------------------------------
# Preflight checks


def check_inputs(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None = None
) -> None:
    """The contract's checks for an attack: x float NCHW in [0, 1] of a shape the model takes,
    y (and target) class indices of its outputs, and no target equal to the true label."""
    contract.check_images(x, "images to attack", nonempty=True)
    k = contract.num_classes(model, x.shape[1:], "images to attack")
    contract.check_labels(y, len(x), k)
    if target is not None:
        contract.check_labels(target, len(x), k, "targets")
        if bool((target == y).any()):
            n = int((target == y).sum())
            raise InputError(
                f"{n} targets equal the true label; choose a different class to aim for"
            )


def _check_outputs(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """Warn about softmax outputs and zero or NaN gradients, on a few images."""
    xs = contract.to_model(model, x[:16]).detach().requires_grad_(True)
    out = model(xs)
    probs_like = bool((out >= 0).all()) and bool(((out.sum(1) - 1).abs() < 1e-3).all())
    if probs_like:
        warnings.warn(
            "the model's outputs already sum to 1: it seems to end in a softmax. Attacks need "
            "logits (a softmax flattens the gradients); remove the softmax from the model",
            AttackWarning,
            stacklevel=5,
        )
    loss = F.cross_entropy(out, contract.to_model(model, y[:16]), reduction="sum")
    (grad,) = torch.autograd.grad(loss, xs)
    flat = grad.flatten(1)
    nan = int((~torch.isfinite(flat)).any(1).sum())
    zero = int((flat == 0).all(1).sum())
    if nan or zero:
        warnings.warn(
            f"gradient masking suspected: the input gradient is NaN for {nan} and exactly zero "
            f"for {zero} of {len(xs)} images checked, so gradient attacks cannot see where to "
            "go and robust accuracy will look better than it is (try loss='margin', or a "
            "gradient-free attack)",
            AttackWarning,
            stacklevel=5,
        )


@contextlib.contextmanager
def attack_mode(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Iterator[None]:
    """Attack under the contract (`fragility.contract.analysing`: eval mode, frozen
    parameters, the thread count for the batches), after the output checks.

    Warns when the model was in training mode (dropout and batch-norm would change the
    predictions under attack); every module's mode and parameter's requires_grad are restored
    afterwards.
    """
    if model.training:
        warnings.warn(
            "the model was in training mode (dropout or batch-norm active); attacking it in "
            "eval mode and restoring training mode afterwards",
            AttackWarning,
            stacklevel=4,
        )
    with contract.analysing(model, (min(len(x), DEFAULT_BATCH), *x.shape[1:])):
        _check_outputs(model, x, y)
        yield


# ---------------------------------------------------------------------------------------------
# Results


def mean_and_median(values: torch.Tensor) -> dict[str, float | None]:
    """Mean and median of (N,) values in float64; both None when there are none."""
    if len(values) == 0:
        return {"mean": None, "median": None}
    v = values.double()
    return {"mean": float(v.mean()), "median": float(v.median())}


@dataclass(frozen=True, eq=False)
class AttackResult:
    """The outcome of one attack on N images.

    For an image the attack fooled, `adversarial` is the first fooling point found (for a
    minimal-perturbation attack, the smallest); otherwise the last point tried. It always lies
    in [0, 1] and, for a budget `epsilon`, inside the epsilon ball (up to float rounding).
    """

    attack: str  # "PGD-40 Linf", "FGSM", ...
    norm: str
    epsilon: float | None  # None: a minimal-perturbation attack without a budget
    targeted: bool
    adversarial: torch.Tensor  # (N, C, H, W) in [0, 1]
    success: torch.Tensor  # (N,) bool: misclassified (or at the target) at `adversarial`
    logits: torch.Tensor  # (N, K) at `adversarial`
    l2: torch.Tensor  # (N,) ||adversarial - x||_2
    linf: torch.Tensor  # (N,) ||adversarial - x||_inf
    steps: torch.Tensor  # (N,) int64 gradient steps spent on each image

    @classmethod
    def build(
        cls,
        info: tuple[str, str, float | None, bool],
        x: torch.Tensor,
        adversarial: torch.Tensor,
        logits: torch.Tensor,
        success: torch.Tensor,
        steps: torch.Tensor,
    ) -> AttackResult:
        l2, linf = perturbation_norms(adversarial - x)
        name, norm, epsilon, targeted = info
        return cls(name, norm, epsilon, targeted, adversarial, success, logits, l2, linf, steps)

    @property
    def success_rate(self) -> float:
        return float(self.success.float().mean())

    def to_dict(self) -> dict[str, Any]:
        won = self.success
        return {
            "attack": self.attack,
            "norm": self.norm,
            "epsilon": self.epsilon,
            "grey_levels": None
            if self.epsilon is None or self.norm != "linf"
            else grey_levels(self.epsilon),
            "targeted": self.targeted,
            "n": len(self.success),
            "success_rate": self.success_rate,
            "l2_of_successes": mean_and_median(self.l2[won]),
            "linf_of_successes": mean_and_median(self.linf[won]),
            "mean_steps": float(self.steps.double().mean()),
        }


@dataclass(frozen=True, eq=False)
class FirstFooled:
    """What a sweep over an epsilon grid needs to know of each image (N,), on the CPU.

    `fooled_at` indexes the grid: the first epsilon at which the image was fooled, -1 if at
    none tried. The norms are those of that first adversarial (NaN where none).
    """

    fooled_at: torch.Tensor  # (N,) int64
    l2: torch.Tensor  # (N,)
    linf: torch.Tensor  # (N,)
    steps: torch.Tensor  # (N,) int64


# ---------------------------------------------------------------------------------------------
# The base of every attack


class Attack:
    """Public entry point shared by the attack configs (frozen dataclasses).

    Subclasses implement `_attack` (one budget, or none for a minimal-perturbation attack)
    and `_first_fooled` (a sweep over an ascending grid, with a per-image limit on how many of
    its epsilons to try). Both receive the fixed batch row count `m`.
    """

    norm: str
    minimal: ClassVar[bool] = False  # True: finds the smallest perturbation, needs no budget
    targetable: ClassVar[bool] = True

    @property
    def name(self) -> str:
        raise NotImplementedError

    def budget(self) -> int:
        """Gradient steps one image costs at one epsilon when nothing stops the attack early."""
        raise NotImplementedError

    def run(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        epsilon: float | None = None,
        *,
        target: torch.Tensor | None = None,
        seed: int = 0,
        batch_size: int = DEFAULT_BATCH,
        early_stop: bool = True,
        progress: bool = False,
    ) -> AttackResult:
        """Attack the images x (N, C, H, W) in [0, 1] with true labels y (N,).

        `epsilon` bounds the perturbation in this attack's norm (a minimal-perturbation attack
        without one returns the smallest perturbation it found). `target` (N,) makes the attack
        targeted. `early_stop=False` keeps attacking an image after it is fooled; the result is
        the same, it only costs more (the brute-force reference of the tests).
        """
        check_inputs(model, x, y, target)
        self._check_epsilon(epsilon)
        epsilon = None if epsilon is None else float(epsilon)
        if target is not None and not self.targetable:
            raise ConfigError(f"{self.name} is an untargeted attack; drop the target")
        m = check_batch_size(batch_size, len(x), model, tuple(x.shape[1:]))
        with attack_mode(model, x, y):
            return self._attack(
                model,
                x,
                y,
                target,
                epsilon,
                seed=seed,
                m=m,
                early_stop=early_stop,
                progress=progress,
            )

    def _check_epsilon(self, epsilon: float | None) -> None:
        if epsilon is None:
            if not self.minimal:
                raise ConfigError(f"{self.name} needs a budget: pass epsilon")
            return
        if not (math.isfinite(epsilon) and epsilon >= 0):
            raise ConfigError(f"epsilon must be a non-negative number, not {epsilon}")

    def _attack(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        target: torch.Tensor | None,
        epsilon: float | None,
        *,
        seed: int,
        m: int,
        early_stop: bool,
        progress: bool,
    ) -> AttackResult:
        raise NotImplementedError

    def _first_fooled(
        self,
        model: nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        targeted: bool,
        epsilons: tuple[float, ...],
        limit: torch.Tensor,
        *,
        seed: int,
        m: int,
        priority: torch.Tensor,
        progress: bool,
    ) -> FirstFooled:
        """`limit` (N,): how many of the epsilons to try per image (0: skip the image).
        `priority` (N,): images with larger values go first (the order changes no result)."""
        raise NotImplementedError


def check_batch_size(
    batch_size: int, n: int, model: nn.Module | None = None, shape: tuple[int, ...] = ()
) -> int:
    """The fixed row count of every batch: batch_size, or n when there are fewer images, or
    fewer where a forward and backward pass of `model` on images of `shape` would not fit in
    memory (fragility.batches: the lecture's networks always get batch_size)."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, not {batch_size}")
    if model is not None:
        batch_size = gradient_batch(model, tuple(shape), batch_size)
    return min(batch_size, n)


def check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose {' or '.join(choices)}")


@dataclass(frozen=True, eq=False)
class Minimal:
    """What a minimal-perturbation attack found for each image (N rows, on the CPU)."""

    adversarial: torch.Tensor  # (N, C, H, W): the smallest adversarial found, else the last try
    logits: torch.Tensor  # (N, K) at `adversarial`
    clean_logits: torch.Tensor  # (N, K) at the images themselves
    success: torch.Tensor  # (N,) bool
    steps: torch.Tensor  # (N,) int64


class MinimalAttack(Attack):
    """An attack that looks for the smallest perturbation that fools (CW, DeepFool).

    Under a budget epsilon it counts as fooling an image when the perturbation it found is no
    larger than epsilon; otherwise the image itself is returned. The result does not depend on
    epsilon, so a sweep runs the attack once and reads every epsilon off the norms.
    """

    minimal: ClassVar[bool] = True

    def _minimal(
        self,
        model: nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        targeted: bool,
        *,
        m: int,
        progress: bool,
    ) -> Minimal:
        """Run `_chunk` over batches of m images (the last padded to m, so every batch has the
        same shape) and stitch the results."""
        dev = model_device(model)
        bar = progress_bar(len(x), progress, unit="image", desc=self.name)
        parts = []
        for part in chunks(len(x), m):
            k = part.stop - part.start
            x0 = padded(x[part].to(dev), m)
            lab = padded(labels[part].to(dev), m)
            parts.append([t[:k].cpu() for t in self._chunk(model, x0, lab, targeted)])
            if bar is not None:
                bar.update(k)
        if bar is not None:
            bar.close()
        adv, logits, clean, success, steps = (torch.cat(col) for col in zip(*parts, strict=True))
        return Minimal(adv, logits, clean, success, steps)

    def _chunk(
        self, model: nn.Module, x0: torch.Tensor, lab: torch.Tensor, targeted: bool
    ) -> tuple[torch.Tensor, ...]:
        """One batch: (adversarial, adversarial logits, clean logits, success, steps)."""
        raise NotImplementedError

    def _attack(self, model, x, y, target, epsilon, *, seed, m, early_stop, progress):
        targeted = target is not None
        labels = target if targeted else y
        found = self._minimal(model, x, labels, targeted, m=m, progress=progress)
        # An image the model already gets wrong is its own adversarial, at distance 0.
        already = is_adversarial(found.clean_logits, labels, targeted)
        found = dataclasses.replace(
            found,
            adversarial=torch.where(already.view(-1, 1, 1, 1), x, found.adversarial),
            logits=torch.where(already[:, None], found.clean_logits, found.logits),
            success=found.success | already,
        )
        info = (self.name, self.norm, epsilon, targeted)
        result = AttackResult.build(
            info, x, found.adversarial, found.logits, found.success, found.steps
        )
        if epsilon is None:
            return result
        size = result.l2 if self.norm == "l2" else result.linf
        within = (found.success & (size.double() <= epsilon)).view(-1, 1)
        return AttackResult.build(
            info,
            x,
            torch.where(within.view(-1, 1, 1, 1), found.adversarial, x),
            torch.where(within, found.logits, found.clean_logits),
            within.flatten(),
            found.steps,
        )

    def _first_fooled(
        self, model, x, labels, targeted, epsilons, limit, *, seed, m, priority, progress
    ):
        rows = (limit > 0).nonzero().flatten()
        n = len(x)
        fooled_at = torch.full((n,), -1, dtype=torch.long)
        l2 = torch.full((n,), float("nan"))
        linf = torch.full((n,), float("nan"))
        steps = torch.zeros(n, dtype=torch.long)
        if len(rows):
            found = self._minimal(model, x[rows], labels[rows], targeted, m=m, progress=progress)
            sub_l2, sub_linf = perturbation_norms(found.adversarial - x[rows])
            size = sub_l2 if self.norm == "l2" else sub_linf
            grid = torch.tensor(epsilons, dtype=torch.float64)
            # The first epsilon of the grid that the perturbation fits in, within the limit;
            # compared in float64 as `_attack` compares it.
            first = torch.searchsorted(grid, size.double().contiguous(), side="left")
            ok = found.success & (first < limit[rows])
            fooled_at[rows] = torch.where(ok, first, torch.full_like(first, -1))
            l2[rows] = torch.where(ok, sub_l2, torch.full_like(sub_l2, float("nan")))
            linf[rows] = torch.where(ok, sub_linf, torch.full_like(sub_linf, float("nan")))
            steps[rows] = found.steps
        return FirstFooled(fooled_at, l2, linf, steps)
