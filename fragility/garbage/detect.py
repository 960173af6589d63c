"""How unlike the data the fooling images are, whether they transfer, and who detects them.

- Unrecognisability: each image's root-mean-square pixel distance to the nearest training
  image, sqrt(min_j mean((x - t_j)^2)), and the autoencoder's reconstruction error
  mean((A(x) - x)^2), beside the same numbers for real test images.
- Transfer: the other model's probability for the class the image was made for.
- The out-of-distribution baseline of Hendrycks & Gimpel (2017): AUROC of the max-softmax
  probability separating real test images (positives) from a garbage family, and the same with
  the autoencoder's negative reconstruction error as the score. 1.0 separates perfectly,
  0.5 is chance, below 0.5 the detector finds the garbage *more* normal than real data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fragility.contract import check_images, predict
from fragility.errors import InputError
from fragility.metrics import confidence, ood_auroc

DETECTORS = ("max-softmax", "autoencoder")
CHANCE = 0.5  # an AUROC at or below this: the detector does not flag the family at all


def nearest_rms_distance(
    images: torch.Tensor, reference: torch.Tensor, chunk: int = 4096
) -> np.ndarray:
    """For each image, sqrt(min_j mean_pixels (x - r_j)^2) over the reference images: (N,)."""
    check_images(images, "images", in_range=False)
    if len(reference) == 0:
        raise InputError("the reference set is empty")
    q = images.flatten(1).double()
    best = torch.full((len(q),), float("inf"), dtype=torch.float64)
    for i in range(0, len(reference), chunk):
        r = reference[i : i + chunk].flatten(1).double()
        d2 = torch.cdist(q, r).pow(2).amin(1)
        best = torch.minimum(best, d2)
    return (best / q.shape[1]).sqrt().numpy()


def reconstruction_error(autoencoder: nn.Module, images: torch.Tensor) -> np.ndarray:
    """mean((A(x) - x)^2) per image, (N,) float64."""
    if len(images) == 0:
        return np.empty(0)
    x = images.float().cpu()
    return (predict(autoencoder, x) - x).pow(2).flatten(1).mean(1).double().numpy()


@dataclass(frozen=True)
class Unrecognisability:
    """Distances of one set of images from the training data."""

    name: str
    nearest_train_rms: np.ndarray  # (N,)
    recon_error: np.ndarray | None  # (N,) or None without an autoencoder

    def to_dict(self) -> dict[str, Any]:
        def summary(a: np.ndarray | None) -> dict[str, float] | None:
            if a is None or len(a) == 0:
                return None
            return {"mean": float(a.mean()), "median": float(np.median(a)), "n": len(a)}

        return {
            "nearest_train_rms": summary(self.nearest_train_rms),
            "recon_error": summary(self.recon_error),
        }


def unrecognisability(
    name: str,
    images: torch.Tensor,
    train_images: torch.Tensor,
    autoencoder: nn.Module | None = None,
) -> Unrecognisability:
    return Unrecognisability(
        name,
        nearest_rms_distance(images, train_images),
        None if autoencoder is None else reconstruction_error(autoencoder, images),
    )


@dataclass(frozen=True)
class Transfer:
    """How another model labels images made to fool the first one."""

    classes: tuple[int, ...]
    confidence: np.ndarray  # (N,) the other model's probability for the intended class
    predicted: tuple[int, ...]  # (N,) the other model's label

    @property
    def same_class(self) -> float:
        """Share of images the other model gives the intended class."""
        return float(np.mean([p == c for p, c in zip(self.predicted, self.classes, strict=True)]))

    def share_above(self, threshold: float) -> float:
        return float(np.mean(self.confidence >= threshold))

    def to_dict(self) -> dict[str, Any]:
        return {
            "same_class": self.same_class,
            "mean_confidence": float(self.confidence.mean()),
            "share_above_0.9": self.share_above(0.9),
            "share_above_0.9999": self.share_above(0.9999),
            "confidence": self.confidence.tolist(),
            "predicted": list(self.predicted),
        }


def transfer(images: torch.Tensor, classes: Sequence[int], other: nn.Module) -> Transfer:
    check_images(images)
    cls = torch.as_tensor(list(classes), dtype=torch.int64)
    p = predict(other, images).double().softmax(1)
    if int(cls.max()) >= p.shape[1]:
        raise InputError("the other model has fewer classes than the images were made for")
    return Transfer(
        tuple(int(c) for c in cls),
        p.gather(1, cls[:, None]).squeeze(1).numpy(),
        tuple(int(c) for c in p.argmax(1)),
    )


@dataclass(frozen=True)
class OODRow:
    family: str
    n: int
    mean_confidence: float
    auroc_max_softmax: float
    auroc_autoencoder: float | None

    @property
    def better_detector(self) -> str | None:
        if self.auroc_autoencoder is None:
            return None
        if self.auroc_autoencoder == self.auroc_max_softmax:
            return "tie"
        return "autoencoder" if self.auroc_autoencoder > self.auroc_max_softmax else "max-softmax"

    @property
    def evades(self) -> tuple[str, ...]:
        """Detectors that do not flag this family at all (AUROC at or below chance)."""
        scores = {"max-softmax": self.auroc_max_softmax, "autoencoder": self.auroc_autoencoder}
        return tuple(d for d, s in scores.items() if s is not None and s <= CHANCE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean_confidence": self.mean_confidence,
            "auroc_max_softmax": self.auroc_max_softmax,
            "auroc_autoencoder": self.auroc_autoencoder,
            "better_detector": self.better_detector,
            "evades": list(self.evades),
        }


def ood_baseline(
    model: nn.Module,
    in_images: torch.Tensor,
    families: Mapping[str, torch.Tensor],
    autoencoder: nn.Module | None = None,
) -> tuple[OODRow, ...]:
    """Max-softmax (Hendrycks & Gimpel 2017) and autoencoder AUROCs, test set vs each family."""
    msp_in = confidence(predict(model, in_images))[0]
    rec_in = None if autoencoder is None else reconstruction_error(autoencoder, in_images)
    rows = []
    for name, x in families.items():
        if len(x) == 0:
            continue
        msp_out = confidence(predict(model, x))[0]
        ae = None
        if rec_in is not None and autoencoder is not None:
            ae = ood_auroc(-rec_in, -reconstruction_error(autoencoder, x))
        rows.append(
            OODRow(
                family=name,
                n=len(x),
                mean_confidence=float(msp_out.mean()),
                auroc_max_softmax=ood_auroc(msp_in, msp_out),
                auroc_autoencoder=ae,
            )
        )
    return tuple(rows)
