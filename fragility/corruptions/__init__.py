"""Common corruptions, and the accuracy a model keeps under each.

Two families, chosen by the images' channel count (`family_for`):

- grey images (1 channel): the 15 MNIST-C corruptions (Mu & Gilmer 2019) at their one
  severity (`mnist_c`);
- colour images (3 channels): the 15 CIFAR-10-C corruptions (Hendrycks & Dietterich 2019) at
  5 severities, with CIFAR-10-C's parameters (`cifar_c`).

Every corruption maps images (N, C, H, W) in [0, 1] to the same shape in [0, 1] and draws its
randomness from a numpy Generator seeded by (seed, corruption, severity): same seed, same
images, whichever corruptions ran before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fragility import threads
from fragility.corruptions import cifar_c, mnist_c
from fragility.errors import ConfigError

CORRUPTIONS = mnist_c.CORRUPTIONS  # the grey family, by name (kept for scripts)
COLOUR_CORRUPTIONS = cifar_c.CORRUPTIONS

Fn = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Family:
    """A set of corruptions for one kind of image."""

    name: str  # "MNIST-C" or "CIFAR-10-C"
    channels: int
    corruptions: dict[str, Fn]
    severities: tuple[int, ...]
    default_severity: int
    citation: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.corruptions)


def _one_level(fn: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Fn:
    return lambda x, severity, rng: fn(x, rng)


MNIST_C = Family(
    "MNIST-C",
    1,
    {name: _one_level(fn) for name, fn in mnist_c.CORRUPTIONS.items()},
    (1,),
    1,
    "Mu & Gilmer 2019, MNIST-C",
)
CIFAR_10_C = Family(
    "CIFAR-10-C",
    3,
    dict(cifar_c.CORRUPTIONS),
    cifar_c.SEVERITIES,
    3,
    "Hendrycks & Dietterich 2019, CIFAR-10-C",
)
FAMILIES = {f.name: f for f in (MNIST_C, CIFAR_10_C)}


def family_for(images: torch.Tensor) -> Family:
    """MNIST-C for grey images (1 channel), CIFAR-10-C for colour (3 channels)."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(
            f"corruptions take images (N, C, H, W) with 1 or 3 channels, not {tuple(images.shape)}"
        )
    return MNIST_C if images.shape[1] == 1 else CIFAR_10_C


def corrupt(
    images: torch.Tensor, name: str, seed: int = 0, severity: int | None = None
) -> torch.Tensor:
    """Apply corruption `name` of the images' family at `severity` (default: MNIST-C's one
    level; CIFAR-10-C's middle level, 3) to images (N, C, H, W) in [0, 1]; seeded, in [0, 1]."""
    family = family_for(images)
    if name not in family.corruptions:
        other = next(f for f in FAMILIES.values() if f is not family)
        hint = (
            f" ({name!r} is a {other.name} corruption, for {other.channels}-channel images)"
            if name in other.corruptions
            else ""
        )
        raise ConfigError(
            f"unknown {family.name} corruption {name!r}{hint}; choose from "
            f"{', '.join(family.names)}"
        )
    level = family.default_severity if severity is None else severity
    if level not in family.severities:
        raise ConfigError(
            f"{family.name} severities are {', '.join(map(str, family.severities))}, not {level}"
        )
    # One generator per corruption and severity, so the images of one do not depend on which
    # ran before; the grey family keeps the two-part seed of earlier versions.
    index = family.names.index(name)
    key = [seed, index] if family is MNIST_C else [seed, index, level]
    rng = np.random.default_rng(key)
    x = images.detach().cpu().numpy().astype(np.float64)
    with threads.for_work(0):  # small resampling calls: one thread (see fragility.threads)
        out = np.clip(family.corruptions[name](x, level, rng), 0.0, 1.0)
    return torch.from_numpy(out.astype(np.float32))


def corrupt_all(
    images: torch.Tensor, names: Sequence[str] | None = None, seed: int = 0
) -> dict[tuple[str, int], torch.Tensor]:
    """Every corruption of the images' family (or `names`) at every severity, keyed by
    (name, severity): made once, to evaluate several models on the same images."""
    family = family_for(images)
    return {
        (name, s): corrupt(images, name, seed, s)
        for name in (names or family.names)
        for s in family.severities
    }


@dataclass(frozen=True)
class CorruptionResult:
    """Accuracy under each corruption, beside the clean accuracy on the same images.

    accuracy: per corruption, the mean over severities (CIFAR-10-C's convention);
    by_severity: per corruption, one accuracy per severity in `severities`."""

    clean_accuracy: float
    accuracy: dict[str, float]
    n: int
    family: str = MNIST_C.name
    severities: tuple[int, ...] = (1,)
    by_severity: dict[str, tuple[float, ...]] | None = None

    @property
    def mean_accuracy(self) -> float:
        return float(np.mean(list(self.accuracy.values())))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "family": self.family,
            "severities": list(self.severities),
            "clean_accuracy": self.clean_accuracy,
            "mean_corrupted_accuracy": self.mean_accuracy,
            "accuracy": dict(self.accuracy),
            "accuracy_by_severity": {k: list(v) for k, v in (self.by_severity or {}).items()},
        }


def corruption_accuracy(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    names: Sequence[str] | None = None,
    *,
    seed: int = 0,
    corrupted: dict[tuple[str, int], torch.Tensor] | None = None,
) -> CorruptionResult:
    """Accuracy of `model` on `images` and on each corrupted copy, at every severity of the
    images' family. Pass `corrupted` (from `corrupt_all`) to reuse images already made."""
    from fragility.train import evaluate

    family = family_for(images)
    names = list(names or family.names)
    by_severity = {}
    for name in names:
        accs = []
        for s in family.severities:
            key = (name, s)
            x = corrupted[key] if corrupted and key in corrupted else corrupt(images, name, seed, s)
            accs.append(evaluate(model, x, labels).accuracy)
        by_severity[name] = tuple(accs)
    return CorruptionResult(
        clean_accuracy=evaluate(model, images, labels).accuracy,
        accuracy={k: float(np.mean(v)) for k, v in by_severity.items()},
        n=len(images),
        family=family.name,
        severities=family.severities,
        by_severity=by_severity,
    )
