"""Inputs that are not digits, and how sure the model is about them (the noise survey).

Families, each (N, C, H, W) in [0, 1]:

- uniform: every pixel U(0, 1) (Hendrycks & Gimpel 2017's "Uniform").
- gaussian: every pixel N(0, 1), clipped to [0, 1], so half the pixels are black, 16 % white
  and the rest spread between (Goodfellow et al. 2015's rubbish class draws N(0, I); the
  contract of this toolkit is images in [0, 1]). The survey also reports the unclipped draw,
  which models accept though it breaks the contract: `gaussian-unclipped`. That unclipped
  draw is exactly Hendrycks & Gimpel 2017's "Gaussian" out-of-distribution set: their code
  (hendrycks/error-detection, Vision/MNIST_Softmax_Stats.ipynb) feeds
  np.random.normal(size=(10000, 784)) (mean 0, variance 1, no clipping) to an MLP trained on
  MNIST pixels in [0, 1], and their "Uniform" is np.random.uniform on [0, 1], our `uniform`.
  Their AUROC puts all 10,000 test images (right and wrong) against the noise, as
  `detect.ood_baseline` does; only the counts differ (here `n` noise images against the test
  set), which leaves the AUROC's expectation unchanged.
- black, white: one blank image each (their shares are 0 or 1).
- salt-and-pepper: a mid-grey image with each pixel set to black or white (equally likely)
  with probability `density` (0.5).
- strokes: 1 to 4 random straight pen strokes, anti-aliased, on black: the raw material of
  handwriting, in no order a human would write.
- shuffled: test images with their pixels randomly permuted, one permutation per image:
  the same grey levels as real data, no shape.
- other-data: test images of a dataset of a *different task*, resized to the model's input:
  clothing (Fashion-MNIST) or Japanese characters (KMNIST) for a digit model, digits for a
  clothing or a colour model. Never the same task: an MNIST model labels scikit-learn's digits
  correctly most of the time, and counting them as garbage would blame it for being right.
  `other_dataset` chooses one by task (TASKS); with none of a different task at hand the family
  is left out, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fragility import data as datasets
from fragility.contract import check_images, check_shape, predict
from fragility.data import DataBundle, resize
from fragility.data.catalog import EMBEDDED
from fragility.errors import ConfigError, DataError
from fragility.garbage._model import class_name
from fragility.metrics import THRESHOLDS, ConfidenceStats, confidence_stats

FAMILIES = (
    "uniform",
    "gaussian",
    "black",
    "white",
    "salt-and-pepper",
    "strokes",
    "shuffled",
    "other-data",
)
DESCRIPTIONS = {
    "test": "real test images (reference)",
    "uniform": "pixels uniform on [0, 1]",
    "gaussian": "pixels N(0, 1) clipped to [0, 1]",
    "gaussian-unclipped": "pixels N(0, 1), not clipped (outside [0, 1]; Hendrycks & Gimpel's)",
    "black": "one all-black image",
    "white": "one all-white image",
    "salt-and-pepper": "grey with half the pixels set black or white",
    "strokes": "1 to 4 random pen strokes on black",
    "shuffled": "test images with their pixels shuffled",
    "other-data": "another task's images, resized",
}


# What each known dataset's images show. Datasets of the same task are never each other's
# other-data family.
TASKS = {
    "digits": "handwritten digits",
    "mnist": "handwritten digits",
    "emnist-digits": "handwritten digits",
    "usps": "handwritten digits",
    "svhn": "handwritten digits",  # printed house numbers: still the ten digits
    "fashion-mnist": "clothing",
    "kmnist": "Japanese characters",
    "cifar10": "objects and animals",
    "gtsrb": "traffic signs",
}
TASK_NAMES = {"handwritten digits": "digits"}  # the short word for a task in prose
# Tried in this order; the embedded digits first, as it is always at hand.
OTHER_DATA_ORDER = ("digits", "fashion-mnist", "kmnist", "cifar10", "gtsrb", "mnist", "svhn")


def other_dataset(dataset: str, available: Callable[[str], bool]) -> tuple[str | None, str]:
    """(name, why): the other-data family's dataset for a model trained on `dataset`, the first
    of OTHER_DATA_ORDER of a different task that `available(name)` says is at hand, or
    (None, why not)."""
    task = TASKS.get(dataset)
    if task is None:
        return None, (
            f"left out: the task of {dataset} is not known, so no dataset can be guaranteed to "
            "be a different one (choose one with --other-dataset)"
        )
    tried = [n for n in OTHER_DATA_ORDER if TASKS[n] != task]
    for name in tried:
        if available(name):
            return name, other_data_note(dataset, name)
    return None, (
        f"left out: no dataset of a task other than {task} is at hand (tried "
        f"{', '.join(tried)}); install one or pass --data-dir"
    )


def other_data_note(dataset: str, other: str) -> str:
    """One line for the page and garbage.json: which dataset, and its task beside the model's."""
    return (
        f"{other} test images ({TASKS.get(other, 'task not known')}), a different task from "
        f"{dataset} ({TASKS.get(dataset, 'task not known')})"
    )


def check_other_dataset(dataset: str, other: str) -> None:
    """Raise ConfigError when `other` is `dataset` or a dataset of the same task."""
    if other == dataset or (
        TASKS.get(other) is not None and TASKS.get(other) == TASKS.get(dataset)
    ):
        raise ConfigError(
            f"{other} and {dataset} are both {TASKS.get(dataset, 'the same data')}: the "
            "other-data family must come from a different task (for example "
            f"{other_dataset(dataset, lambda n: True)[0] or 'fashion-mnist'})"
        )


def load_other_data(
    dataset: str, data_dir: str | None = None, choice: str = "auto"
) -> tuple[DataBundle | None, str]:
    """Load the other-data family's dataset for a model trained on `dataset`: `choice` "auto"
    (`other_dataset`, looking in data_dir and the default places), "none", or a name
    (checked with `check_other_dataset`). Returns (bundle or None, the note saying which)."""
    if choice == "none":
        return None, "left out (--other-dataset none)"

    def found(name: str) -> bool:
        return datasets.dataset_info(name).loader == EMBEDDED or any(
            datasets.locate(name, root) is not None for root in (data_dir, None)
        )

    if choice == "auto":
        name, note = other_dataset(dataset, lambda n: n in datasets.DATASETS and found(n))
        if name is None:
            return None, note
    else:
        check_other_dataset(dataset, choice)
        name, note = choice, other_data_note(dataset, choice)
    root = data_dir if datasets.locate(name, data_dir) is not None else None
    try:
        return datasets.load(name, folder=root), note
    except DataError:
        if choice != "auto":
            raise
        return None, f"left out: {name} could not be read"


def uniform_noise(n: int, shape: tuple[int, int, int], gen: torch.Generator) -> torch.Tensor:
    return torch.rand((n, *shape), generator=gen)


def gaussian_noise(
    n: int, shape: tuple[int, int, int], gen: torch.Generator, *, clip: bool = True
) -> torch.Tensor:
    """N(0, 1) pixels as in Goodfellow et al.'s rubbish-class test; clipped to [0, 1] unless
    clip=False (then the images break the [0, 1] contract, as the paper's did)."""
    x = torch.randn((n, *shape), generator=gen)
    return x.clamp(0.0, 1.0) if clip else x


def blank(value: float, shape: tuple[int, int, int]) -> torch.Tensor:
    return torch.full((1, *shape), float(value))


def salt_and_pepper(
    n: int, shape: tuple[int, int, int], gen: torch.Generator, density: float = 0.5
) -> torch.Tensor:
    if not 0.0 <= density <= 1.0:
        raise ConfigError(f"salt-and-pepper density must lie in [0, 1], not {density}")
    hit = torch.rand((n, *shape), generator=gen) < density
    salt = torch.rand((n, *shape), generator=gen) < 0.5
    return torch.where(hit, salt.float(), torch.full((n, *shape), 0.5))


def random_strokes(
    n: int,
    shape: tuple[int, int, int],
    gen: torch.Generator,
    max_strokes: int = 4,
    width: float | None = None,
) -> torch.Tensor:
    """1 to max_strokes straight segments per image with random end points, drawn white on
    black with a soft edge: intensity max over strokes of clip(1 - (dist - w/2) / 1px, 0, 1).
    width: the pen in pixels (default: an eighth of the image side, at least 1)."""
    c, h, w = shape
    width = max(1.0, w / 8.0) if width is None else float(width)
    ends = torch.rand((n, max_strokes, 2, 2), generator=gen) * torch.tensor([w, h])  # (x, y)
    count = torch.randint(1, max_strokes + 1, (n,), generator=gen)
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    pix = torch.stack([xs, ys], -1).reshape(1, 1, h * w, 2)  # (1, 1, HW, 2) pixel centres
    a, b = ends[:, :, None, 0], ends[:, :, None, 1]  # (N, S, 1, 2)
    ab = b - a
    t = (((pix - a) * ab).sum(-1) / ab.pow(2).sum(-1).clamp_min(1e-9)).clamp(0.0, 1.0)
    dist = (pix - (a + t[..., None] * ab)).norm(dim=-1)  # (N, S, HW) distance to the segment
    ink = (1.0 - (dist - width / 2.0)).clamp(0.0, 1.0)
    ink = ink * (torch.arange(max_strokes)[None, :, None] < count[:, None, None])
    img = ink.amax(1).reshape(n, 1, h, w)
    return img.expand(n, c, h, w).contiguous()


def shuffle_pixels(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image's pixels (per channel position) permuted by its own random permutation."""
    flat = images.flatten(2)  # (N, C, HW)
    order = torch.rand(flat.shape[0], flat.shape[2], generator=gen).argsort(1)
    out = torch.gather(flat, 2, order[:, None, :].expand_as(flat))
    return out.reshape(images.shape)


def fit_to_shape(images: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Another dataset's images at the model's (C, H, W): resized, channels averaged or
    repeated."""
    c, h, w = shape
    if h != w:
        raise ConfigError(f"other-data images can only be fitted to square inputs, not {h}x{w}")
    x = resize(images, h)
    if x.shape[1] != c:
        x = x.mean(1, keepdim=True).expand(-1, c, -1, -1).contiguous()
    return x


def noise_families(
    n: int,
    shape: tuple[int, int, int],
    *,
    seed: int = 0,
    test_images: torch.Tensor | None = None,
    other_images: torch.Tensor | None = None,
    unclipped: bool = False,
) -> dict[str, torch.Tensor]:
    """The survey's families (module docstring), n images each (one for black and white).

    `shuffled` needs test_images, `other-data` needs other_images (the first n are used);
    without them those families are left out. unclipped=True adds `gaussian-unclipped`,
    the only family outside [0, 1].
    """
    shape = check_shape(shape)
    if n < 1:
        raise ConfigError(f"need at least one image per family, not {n}")
    gen = torch.Generator().manual_seed(seed)
    fams = {
        "uniform": uniform_noise(n, shape, gen),
        "gaussian": gaussian_noise(n, shape, gen),
        "black": blank(0.0, shape),
        "white": blank(1.0, shape),
        "salt-and-pepper": salt_and_pepper(n, shape, gen),
        "strokes": random_strokes(n, shape, gen),
    }
    if test_images is not None:
        check_images(test_images, "test images")
        pick = torch.randperm(len(test_images), generator=gen)[:n]
        fams["shuffled"] = shuffle_pixels(test_images[pick], gen)
    if other_images is not None:
        check_images(other_images, "other-data images")
        fams["other-data"] = fit_to_shape(other_images[:n], shape)
    if unclipped:
        fams["gaussian-unclipped"] = gaussian_noise(n, shape, gen, clip=False)
    return fams


@dataclass(frozen=True)
class FamilyConfidence:
    """How the model labels one family: shares above thresholds, mean confidence, classes."""

    family: str
    description: str
    in_range: bool  # all images in [0, 1]
    stats: ConfidenceStats

    def top_classes(self, k: int = 3) -> tuple[tuple[int, float], ...]:
        """The k classes that took most of the family, as (class, share), largest first."""
        counts = np.asarray(self.stats.class_counts)
        order = np.argsort(-counts, kind="stable")[:k]
        return tuple((int(c), float(counts[c] / self.stats.n)) for c in order if counts[c] > 0)

    def to_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        return {
            "description": self.description,
            "in_range": self.in_range,
            **self.stats.to_dict(),
            "top_classes": [
                {"class": c, "name": class_name(class_names, c), "share": s}
                for c, s in self.top_classes()
            ],
        }


@dataclass(frozen=True)
class Survey:
    rows: tuple[FamilyConfidence, ...]
    thresholds: tuple[float, ...]

    def row(self, family: str) -> FamilyConfidence:
        for r in self.rows:
            if r.family == family:
                return r
        raise KeyError(family)

    def to_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        return {
            "thresholds": list(self.thresholds),
            "families": {r.family: r.to_dict(class_names) for r in self.rows},
        }


def survey(
    model: nn.Module,
    families: Mapping[str, torch.Tensor],
    *,
    thresholds: Sequence[float] = THRESHOLDS,
    descriptions: Mapping[str, str] | None = None,
) -> Survey:
    """Confidence statistics (fragility.metrics.confidence_stats) of `model` on each family."""
    rows = []
    for name, x in families.items():
        check_images(x, f"family {name!r}", in_range=False)
        logits = predict(model, x)
        in_range = bool(x.numel() == 0 or (x.min() >= 0 and x.max() <= 1))
        desc = (descriptions or DESCRIPTIONS).get(name, name)
        rows.append(FamilyConfidence(name, desc, in_range, confidence_stats(logits, thresholds)))
    return Survey(tuple(rows), tuple(float(t) for t in thresholds))
