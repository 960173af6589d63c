"""A worst-of ensemble: an image resists only if it resists every member attack."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fragility.attacks.core import Attack, AttackResult, FirstFooled, margin
from fragility.errors import ConfigError


@dataclass(frozen=True)
class WorstOf(Attack):
    """Run every member; keep, per image, the strongest adversarial found: a fooling one
    before any other, and among those the most confidently wrong (the lowest `margin`).

    All members must share a norm, the threat model the ensemble's epsilon is measured in.
    """

    members: tuple[Attack, ...]
    label: str = ""

    def __post_init__(self) -> None:
        if not self.members:
            raise ConfigError("an ensemble needs at least one attack")
        norms = {a.norm for a in self.members}
        if len(norms) > 1:
            raise ConfigError(f"ensemble members must share one norm, not {sorted(norms)}")

    @property
    def norm(self) -> str:  # type: ignore[override]
        return self.members[0].norm

    @property
    def targetable(self) -> bool:  # type: ignore[override]
        return all(a.targetable for a in self.members)

    @property
    def name(self) -> str:
        return self.label or "worst of " + ", ".join(a.name for a in self.members)

    def budget(self) -> int:
        return sum(a.budget() for a in self.members)

    def _attack(self, model, x, y, target, epsilon, *, seed, m, early_stop, progress):
        targeted = target is not None
        labels = target if targeted else y
        results = [
            a._attack(
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
            for a in self.members
        ]
        success = torch.stack([r.success for r in results])  # (A, N)
        gaps = torch.stack([margin(r.logits, labels, targeted) for r in results])  # (A, N)
        any_success = success.any(0)
        pick = torch.where(
            any_success,
            torch.where(success, gaps, torch.full_like(gaps, float("inf"))).argmin(0),
            gaps.argmin(0),
        )
        rows = torch.arange(len(x))
        adversarial = torch.stack([r.adversarial for r in results])[pick, rows]
        logits = torch.stack([r.logits for r in results])[pick, rows]
        steps = torch.stack([r.steps for r in results]).sum(0)
        info = (self.name, self.norm, epsilon, targeted)
        return AttackResult.build(info, x, adversarial, logits, any_success, steps)

    def _first_fooled(
        self, model, x, labels, targeted, epsilons, limit, *, seed, m, priority, progress
    ):
        n = len(x)
        fooled_at = torch.full((n,), -1, dtype=torch.long)
        l2 = torch.full((n,), float("nan"))
        linf = torch.full((n,), float("nan"))
        steps = torch.zeros(n, dtype=torch.long)
        limit = limit.clone()
        for a in self.members:
            # Each member only tries the epsilons below the smallest one already broken.
            out = a._first_fooled(
                model,
                x,
                labels,
                targeted,
                epsilons,
                limit,
                seed=seed,
                m=m,
                priority=priority,
                progress=progress,
            )
            won = out.fooled_at >= 0
            fooled_at = torch.where(won, out.fooled_at, fooled_at)
            l2 = torch.where(won, out.l2, l2)
            linf = torch.where(won, out.linf, linf)
            limit = torch.where(won, out.fooled_at, limit)
            steps += out.steps
        return FirstFooled(fooled_at, l2, linf, steps)
