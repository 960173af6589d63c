"""Robust accuracy over an epsilon grid, done fast, and transfer between models.

An image counts as robust at epsilon when the model classifies it correctly and no
adversarial was found inside its epsilon ball: not by the attack at epsilon, and not by the
attack at a smaller epsilon of the grid, whose adversarial lies inside the larger ball too.
That is what attacking every image at every epsilon and keeping every adversarial found
gives. The sweep computes exactly that with less work:

- an image is attacked only until it is fooled (its adversarial is final), and
- an image fooled at one epsilon is not attacked again at the larger ones.

Exactly, not approximately: per-image random starts and fixed-shape batches (see
`fragility.attacks.core`) make each image's attack the same bits whatever else is batched.
That holds bitwise on the CPU; on a GPU it also needs deterministic kernels
(`torch.use_deterministic_algorithms(True)`), since some cuDNN backward passes are not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.attacks.core import (
    DEFAULT_BATCH,
    Attack,
    attack_mode,
    batched_logits,
    check_batch_size,
    check_inputs,
    grey_levels,
    margin,
    mean_and_median,
)
from fragility.contract import predict
from fragility.errors import ConfigError


@dataclass(frozen=True, eq=False)
class RobustAccuracy:
    """Accuracy under attack at each epsilon of a grid, with what the sweep learnt per image."""

    attack: str
    norm: str
    targeted: bool
    epsilons: tuple[float, ...]  # ascending
    accuracy: tuple[float, ...]  # per epsilon; at 0 the clean accuracy
    clean_accuracy: float
    broken_at: torch.Tensor  # (N,) float64: smallest grid epsilon fooling it; 0 clean mistakes
    l2: torch.Tensor  # (N,) norms of the first adversarial found (NaN where none)
    linf: torch.Tensor  # (N,)
    steps: torch.Tensor  # (N,) int64 gradient steps spent on each image
    brute_force_steps: int  # steps of attacking every image at every epsilon in full

    @property
    def n(self) -> int:
        return len(self.broken_at)

    def at(self, epsilon: float) -> float:
        """Robust accuracy at one epsilon of the grid."""
        return self.accuracy[self.epsilons.index(epsilon)]

    def to_dict(self) -> dict[str, Any]:
        fooled = torch.isfinite(self.broken_at) & (self.broken_at > 0)
        correct = int((self.broken_at > 0).sum())
        steps = int(self.steps.sum())
        return {
            "attack": self.attack,
            "norm": self.norm,
            "targeted": self.targeted,
            "n": self.n,
            "epsilons": list(self.epsilons),
            "grey_levels": [grey_levels(e) for e in self.epsilons] if self.norm == "linf" else None,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": list(self.accuracy),
            "success_rate": [
                (float(((self.broken_at <= e) & (self.broken_at > 0)).sum()) / correct)
                if correct
                else None
                for e in self.epsilons
            ],
            "l2_of_first_adversarial": mean_and_median(self.l2[fooled]),
            "linf_of_first_adversarial": mean_and_median(self.linf[fooled]),
            "gradient_steps": steps,
            "brute_force_steps": self.brute_force_steps,
            "work_fraction": steps / self.brute_force_steps if self.brute_force_steps else None,
        }


def epsilon_grid(epsilons: Sequence[float]) -> tuple[float, ...]:
    """Sorted, without repeats; each a finite number >= 0."""
    values = [float(e) for e in epsilons]
    if not values:
        raise ConfigError("give at least one epsilon")
    bad = [e for e in values if not (math.isfinite(e) and e >= 0)]
    if bad:
        raise ConfigError(f"epsilons must be non-negative numbers, not {bad[0]}")
    return tuple(sorted(set(values)))


def robust_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attack: Attack,
    epsilons: Sequence[float],
    *,
    target: torch.Tensor | None = None,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
) -> RobustAccuracy:
    """The accuracy of `model` on x (N, C, H, W) in [0, 1], labels y, under `attack` at each
    epsilon. With `target` (N,), an image is broken when pushed to its target class.

    Memory holds `batch_size` images in flight (plus a few numbers per image), fewer where a
    large model's batch would not fit (fragility.batches). Images are attacked in batches of
    exactly that many rows (fewer only when N is smaller).
    """
    check_inputs(model, x, y, target)
    grid = epsilon_grid(epsilons)
    m = check_batch_size(batch_size, len(x), model, tuple(x.shape[1:]))
    targeted = target is not None
    labels = target if targeted else y
    positive = tuple(e for e in grid if e > 0)  # at 0 the only point in the ball is the image
    with attack_mode(model, x, y):
        clean = batched_logits(model, x, m)
        correct = clean.argmax(1) == y
        limit = torch.where(correct, len(positive), 0)
        out = attack._first_fooled(
            model,
            x,
            labels,
            targeted,
            positive,
            limit,
            seed=seed,
            m=m,
            priority=margin(clean, labels, targeted),
            progress=progress,
        )
    broken_at = torch.full((len(x),), math.inf, dtype=torch.float64)
    broken_at[~correct] = 0.0
    fooled = out.fooled_at >= 0
    broken_at[fooled] = torch.tensor(positive, dtype=torch.float64)[out.fooled_at[fooled]]
    return RobustAccuracy(
        attack=attack.name,
        norm=attack.norm,
        targeted=targeted,
        epsilons=grid,
        accuracy=tuple(float((broken_at > e).double().mean()) for e in grid),
        clean_accuracy=float(correct.double().mean()),
        broken_at=broken_at,
        l2=out.l2,
        linf=out.linf,
        steps=out.steps,
        brute_force_steps=len(x) * len(positive) * attack.budget(),
    )


@dataclass(frozen=True, eq=False)
class Transfer:
    """Accuracy of each model (columns) on the adversarials made on each model (rows).

    The diagonal is the white-box robust accuracy; off the diagonal, how well adversarials
    made on one network fool another that the attacker never saw (Szegedy et al. 2014).
    """

    attack: str
    epsilon: float
    names: tuple[str, ...]
    clean_accuracy: tuple[float, ...]  # per model
    accuracy: tuple[tuple[float, ...], ...]  # [source][target]

    def to_dict(self) -> dict[str, Any]:
        return {
            "attack": self.attack,
            "epsilon": self.epsilon,
            "models": list(self.names),
            "clean_accuracy": dict(zip(self.names, self.clean_accuracy, strict=True)),
            "accuracy": {
                src: dict(zip(self.names, row, strict=True))
                for src, row in zip(self.names, self.accuracy, strict=True)
            },
        }


def transfer_matrix(
    models: Mapping[str, nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    attack: Attack,
    epsilon: float,
    *,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH,
) -> Transfer:
    """Attack each model at `epsilon`, then score every model on each set of adversarials."""
    if not models:
        raise ConfigError("give at least one model")
    names = tuple(models)
    clean = tuple(_accuracy(models[n], x, y) for n in names)
    rows = []
    for source in names:
        adv = attack.run(models[source], x, y, epsilon, seed=seed, batch_size=batch_size)
        rows.append(tuple(_accuracy(models[t], adv.adversarial, y) for t in names))
    return Transfer(attack.name, float(epsilon), names, clean, tuple(rows))


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((predict(model, x).argmax(1) == y).double().mean())
