"""The crosswalk lesson: a spurious cue correlated with the label, and a model that learns it.

Uber's system had learned to find pedestrians in crosswalks, a feature correlated with
pedestrians in its training data; the woman it killed in Tempe was not in one. Here the same
failure is planted on purpose (Geirhos et al. 2020 call it shortcut learning): a class-specific
mark (a striped "crosswalk" patch, a square, a background texture or a tint) is painted on a
chosen share of each class's training images, the `correlation`. A model trained on that data
is then tested four ways:

- clean: the test images as they are;
- matching: every test image carries the cue of its own class;
- wrong: every test image carries the cue of another class (seeded): does the model follow
  the cue or the digit?
- blank: the cue alone on an empty image: which class does the mark alone mean?

The remedy breaks the correlation: the same images carry a cue whose class is drawn at
random (`randomise`), or cycled so that every class's cue appears equally often on every
class (`balance`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility import inversion
from fragility.contract import predict
from fragility.data import DataBundle, content_hash
from fragility.errors import ConfigError
from fragility.metrics import accuracy
from fragility.models import default_spec
from fragility.train import Trained, default_config, train

CUES = ("stripes", "square", "texture", "tint")
REMEDIES = ("randomise", "balance")
CORRELATIONS = (0.0, 0.5, 0.9, 0.99, 1.0)


@dataclass(frozen=True)
class Cue:
    """A class-specific mark for images of `shape` (C, H, W) in `num_classes` classes.

    stripes: a p x p patch of horizontal bars (1, 0, 1, ...: a zebra crossing), p = 3/8 of the
      side, at one of `num_classes` positions spaced evenly around the image's border;
    square: a solid p x p square at the same positions;
    texture: a faint grating (amplitude 0.4) filling the background, one orientation and
      wavelength per class;
    tint: the whole background lifted to a class-specific grey (0.05 to 0.35).

    On colour images (3 channels) there is no dark background to paint under: texture and tint
    are laid over the whole picture instead, a grating added around zero (amplitude 0.2 either
    way) and a wash of a class-specific hue (hues evenly spaced around the colour wheel, 30 %
    opacity), so the photo stays visible through the cue. Patches are the same in colour.
    """

    kind: str
    shape: tuple[int, int, int]
    num_classes: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if self.kind not in CUES:
            raise ConfigError(f"unknown cue {self.kind!r}; choose one of {', '.join(CUES)}")
        if min(self.shape[1:]) < 6:
            raise ConfigError(f"images of {self.shape[1]}x{self.shape[2]} are too small for a cue")
        if self.num_classes < 2:
            raise ConfigError("a cue needs at least 2 classes")

    @property
    def patch(self) -> int:
        return max(2, round(3 * min(self.shape[1:]) / 8))

    def positions(self) -> list[tuple[int, int]]:
        """Top-left corner of each class's patch, evenly spaced clockwise around the border."""
        _, h, w = self.shape
        p = self.patch
        ring = [(0, c) for c in range(w - p + 1)]
        ring += [(r, w - p) for r in range(1, h - p + 1)]
        ring += [(h - p, c) for c in range(w - p - 1, -1, -1)]
        ring += [(r, 0) for r in range(h - p - 1, 0, -1)]
        step = len(ring) / self.num_classes
        return [ring[int(k * step)] for k in range(self.num_classes)]

    def pattern(self, cls: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The cue of class `cls`: its values (C, H, W) and where it is painted (H, W) in
        {0, 1} (texture and tint: everywhere; `apply` keeps the digit on top)."""
        c, h, w = self.shape
        values = torch.zeros(h, w)
        mask = torch.zeros(h, w)
        if self.kind in ("stripes", "square"):
            r0, c0 = self.positions()[cls]
            p = self.patch
            mask[r0 : r0 + p, c0 : c0 + p] = 1.0
            bars = (torch.arange(p) % 2 == 0).float().view(-1, 1).expand(p, p)
            values[r0 : r0 + p, c0 : c0 + p] = bars if self.kind == "stripes" else 1.0
        elif self.kind == "texture":
            half = (self.num_classes + 1) // 2
            theta = math.pi * (cls % half) / half
            wavelength = min(h, w) * (3 / 8 if cls < half else 6 / 8)
            yy, xx = torch.meshgrid(
                torch.arange(h, dtype=torch.float32),
                torch.arange(w, dtype=torch.float32),
                indexing="ij",
            )
            u = xx * math.cos(theta) + yy * math.sin(theta)
            values = 0.4 * (0.5 + 0.5 * torch.cos(2 * math.pi * u / wavelength))
            mask[:] = 1.0
        else:  # tint
            values[:] = 0.05 + 0.3 * cls / (self.num_classes - 1)
            mask[:] = 1.0
            if c == 3:
                return _hue(cls / self.num_classes).view(3, 1, 1).expand(c, h, w).clone(), mask
        return values.expand(c, h, w).clone(), mask

    @property
    def overlay(self) -> bool:
        """Texture and tint on colour images: laid over the whole picture (see the class)."""
        return self.shape[0] == 3 and self.kind in ("texture", "tint")

    def apply(self, images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Paint cue `classes[i]` on `images[i]`; a class of -1 leaves the image as it is.

        Patches replace the pixels under them; texture and tint go under the digit
        (max(image, texture) and tint + (1 - tint) * image), so the ink stays visible."""
        out = images.clone()
        for cls in torch.unique(classes).tolist():
            if cls < 0:
                continue
            rows = classes == cls
            values, mask = self.pattern(int(cls))
            x = out[rows]
            if self.kind in ("stripes", "square"):
                x = x * (1 - mask) + values * mask
            elif self.overlay and self.kind == "texture":
                x = x + values - 0.2
            elif self.overlay:
                x = 0.7 * x + 0.3 * values
            elif self.kind == "texture":
                x = torch.maximum(x, values)
            else:
                x = values + (1 - values) * x
            out[rows] = x.clamp(0.0, 1.0)
        return out

    def region(self, cls: int, image: torch.Tensor | None = None) -> torch.Tensor:
        """Where the cue is, (H, W) bool: the patch, or for texture and tint the background
        of `image` (pixels below 0.1 before the cue), where the cue is what one sees; on colour
        images, where texture and tint cover everything, the whole image."""
        if self.kind in ("stripes", "square"):
            return self.pattern(cls)[1] > 0
        if image is None or self.overlay:
            return torch.ones(self.shape[1:], dtype=torch.bool)
        return image.amax(0) < 0.1

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "num_classes": self.num_classes}


def _hue(h: float) -> torch.Tensor:
    """The fully saturated colour of hue h in [0, 1) (HSV with S = V = 1), as RGB (3,)."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + 6 * h) % 6
    return 1 - torch.clamp(torch.minimum(k, 4 - k), 0, 1)


# ---------------------------------------------------------------------------------------------
# Planting the cue in the training set


def cue_classes(
    labels: torch.Tensor,
    num_classes: int,
    correlation: float,
    *,
    seed: int = 0,
    remedy: str | None = None,
) -> torch.Tensor:
    """Which cue each training image gets, (N,), -1 for none.

    In each class, round(correlation * n_class) images, chosen by a seeded permutation, get a
    cue: their own class's, or with `remedy` 'randomise' a uniformly random class's, or with
    'balance' every class's cue in turn (so each cue is equally common in every class)."""
    if not 0.0 <= correlation <= 1.0:
        raise ConfigError(f"the correlation must lie in [0, 1], not {correlation}")
    if remedy is not None and remedy not in REMEDIES:
        raise ConfigError(f"unknown remedy {remedy!r}; choose one of {', '.join(REMEDIES)}")
    gen = torch.Generator().manual_seed(seed)
    out = torch.full_like(labels, -1)
    for cls in range(num_classes):
        members = torch.nonzero(labels == cls).flatten()
        chosen = members[torch.randperm(len(members), generator=gen)]
        chosen = chosen[: round(correlation * len(members))]
        if remedy == "randomise":
            out[chosen] = torch.randint(0, num_classes, (len(chosen),), generator=gen)
        elif remedy == "balance":
            start = int(torch.randint(0, num_classes, (1,), generator=gen))
            out[chosen] = (torch.arange(len(chosen)) + start) % num_classes
        else:
            out[chosen] = cls
    return out


def plant(
    data: DataBundle,
    cue: Cue,
    correlation: float,
    *,
    seed: int = 0,
    remedy: str | None = None,
) -> DataBundle:
    """`data` with the cue painted on a share of its training images (the test set is left
    clean). With correlation 0 and no remedy the bundle is unchanged, hash included, so its
    models are the clean ones in the cache."""
    classes = cue_classes(data.y_train, data.num_classes, correlation, seed=seed, remedy=remedy)
    x_train = cue.apply(data.x_train, classes)
    what = f"{cue.kind} cue on {100 * correlation:g} % of each class"
    if remedy:
        what += f", {remedy}d"
    return dataclasses.replace(
        data,
        x_train=x_train,
        description=f"{data.description}; {what}",
        hash=content_hash(x_train, data.y_train, data.x_test, data.y_test, extra=data.name),
    )


# ---------------------------------------------------------------------------------------------
# The four test sets


@dataclass(frozen=True)
class CueTest:
    """Accuracy on the four test sets, and how often the answer follows the cue.

    Chance for a follow rate is 1 / num_classes."""

    clean_accuracy: float
    matching_accuracy: float
    wrong_accuracy: float  # the digit's class despite another class's cue
    wrong_follows_cue: float  # the cue's class instead of the digit's
    blank_follows_cue: float  # the cue alone on an empty image read as the cue's class
    num_classes: int
    n_test: int

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "chance": 1 / self.num_classes}


def wrong_cue_classes(labels: torch.Tensor, num_classes: int, seed: int = 0) -> torch.Tensor:
    """A seeded cue class different from each label: (label + k) mod K, k in 1..K-1."""
    gen = torch.Generator().manual_seed(seed)
    return (labels + torch.randint(1, num_classes, labels.shape, generator=gen)) % num_classes


def test_sets(data: DataBundle, cue: Cue, seed: int = 0) -> dict[str, Any]:
    """The four test sets: images, labels and cue classes."""
    x, y, k = data.x_test, data.y_test, data.num_classes
    wrong = wrong_cue_classes(y, k, seed)
    blank_classes = torch.arange(k)
    return {
        "clean": x,
        "matching": cue.apply(x, y),
        "wrong": cue.apply(x, wrong),
        "wrong_classes": wrong,
        "blank": cue.apply(torch.zeros(k, *data.input_shape), blank_classes),
        "blank_classes": blank_classes,
    }


def evaluate_cue(model: nn.Module, data: DataBundle, cue: Cue, seed: int = 0) -> CueTest:
    """Run `model` on the four test sets of `data`'s (clean) test images."""
    sets = test_sets(data, cue, seed)
    y = data.y_test
    wrong = predict(model, sets["wrong"])
    return CueTest(
        clean_accuracy=accuracy(predict(model, sets["clean"]), y),
        matching_accuracy=accuracy(predict(model, sets["matching"]), y),
        wrong_accuracy=accuracy(wrong, y),
        wrong_follows_cue=accuracy(wrong, sets["wrong_classes"]),
        blank_follows_cue=accuracy(predict(model, sets["blank"]), sets["blank_classes"]),
        num_classes=data.num_classes,
        n_test=len(y),
    )


# ---------------------------------------------------------------------------------------------
# Training on cued data, and the sweep


@dataclass(frozen=True, eq=False)
class ShortcutRun:
    """One model trained on cued data and its four tests."""

    kind: str
    cue: Cue
    correlation: float
    remedy: str | None
    trained: Trained
    test: CueTest

    def to_dict(self) -> dict[str, Any]:
        """The run's numbers; how its model was made (from the cache or not, in how long) is
        the caller's manifest, not part of the result."""
        return {
            "model": self.kind,
            "spec": self.trained.spec.name,
            "cue": self.cue.kind,
            "correlation": self.correlation,
            "remedy": self.remedy,
            **self.test.to_dict(),
        }


def train_cued(
    kind: str,
    data: DataBundle,
    cue: Cue,
    correlation: float,
    *,
    seed: int = 0,
    remedy: str | None = None,
    epochs: int | None = None,
    device: str | torch.device = "cpu",
    cache: bool = True,
    progress: bool = False,
) -> ShortcutRun:
    """Train the default `kind` network on `data` with the cue planted (train.train: seeded,
    through the model cache) and run the four tests on the clean test set."""
    cued = plant(data, cue, correlation, seed=seed, remedy=remedy)
    spec = default_spec(kind, data.input_shape, data.num_classes)
    config = default_config(spec, cued, seed=seed, epochs=epochs)
    trained = train(spec, cued, config, device=device, cache=cache, progress=progress)
    return ShortcutRun(
        kind, cue, correlation, remedy, trained, evaluate_cue(trained.model, data, cue, seed)
    )


def sweep(
    kinds: Sequence[str],
    data: DataBundle,
    cue: Cue,
    correlations: Sequence[float] = CORRELATIONS,
    **kwargs: Any,
) -> tuple[ShortcutRun, ...]:
    """`train_cued` for every model kind and correlation (keyword arguments passed on)."""
    return tuple(
        train_cued(kind, data, cue, corr, **kwargs) for kind in kinds for corr in correlations
    )


# ---------------------------------------------------------------------------------------------
# Where the model looks


def saliency_in_cue(
    model: nn.Module,
    images: torch.Tensor,
    cue_of: torch.Tensor,
    cue: Cue,
    originals: torch.Tensor,
) -> dict[str, float]:
    """Share of the saliency (inversion.saliency: |d score / d x| for the predicted class, and
    |gradient x input|) inside each image's cue region, against the region's share of the
    image. Equal shares: the model looks at the cue no more than anywhere else."""
    sal = inversion.saliency(model, images)
    regions = torch.stack(
        [cue.region(int(c), o) for c, o in zip(cue_of, originals, strict=True)]
    )  # (N, H, W)
    return {
        "gradient_in_cue": float(inversion.saliency_mass(sal.map("gradient"), regions).mean()),
        "grad_x_input_in_cue": float(
            inversion.saliency_mass(sal.map("grad_x_input"), regions).mean()
        ),
        "cue_area": float(regions.float().mean()),
    }


def maxima_cue_match(
    model: nn.Module, cue: Cue, *, steps: int = 100, seed: int = 0
) -> tuple[inversion.Maxima, float]:
    """Class maxima of `model` (inversion.maximize from the zero image) and how much each
    draws its own class's cue: the mean over the cue's region of 1 - |x - cue| (1: the cue
    exactly, 0: its negative), averaged over classes. Zero start, so any mark is the model's."""
    cfg = inversion.MaximizeConfig(steps=steps, l2=0.001, seed=seed)
    maxima = inversion.maximize(model, inversion.class_units(cue.num_classes), cue.shape, cfg)
    scores = []
    for cls, image in enumerate(maxima.best):
        values, _ = cue.pattern(cls)
        region = cue.region(cls).expand_as(image)
        scores.append(float((1 - (image - values).abs())[region].mean()))
    return maxima, sum(scores) / len(scores)


# ---------------------------------------------------------------------------------------------
# The whole lesson on one cue


@dataclass(frozen=True, eq=False)
class Lesson:
    """One model kind three ways (trained clean, with the cue, with the remedy): its tests,
    where it looks on the wrong-cue test set and how much its class maxima draw the cue."""

    kind: str
    runs: dict[str, ShortcutRun]  # "clean", "cued", "remedy"
    saliency: dict[str, dict[str, float]]  # per run: `saliency_in_cue` on the wrong-cue set
    saliency_examples: dict[str, inversion.Saliency]  # per run: one image per class
    maxima: dict[str, inversion.Maxima]  # per run: the classes' maxima
    maxima_cue_match: dict[str, float]  # per run

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.kind,
            "runs": {k: r.to_dict() for k, r in self.runs.items()},
            "saliency_on_wrong_cue": self.saliency,
            "maxima_cue_match": self.maxima_cue_match,
        }


@dataclass(frozen=True, eq=False)
class ShortcutStudy:
    """The lesson for each model kind at one correlation, and the sweep."""

    cue: Cue
    correlation: float
    remedy: str
    lessons: dict[str, Lesson]
    example_images: torch.Tensor  # (K, C, H, W) one clean test image per class
    example_labels: torch.Tensor  # (K,)
    example_cues: torch.Tensor  # (K,) the wrong cue class each example carries
    sweep: tuple[ShortcutRun, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cue": self.cue.to_dict(),
            "correlation": self.correlation,
            "remedy": self.remedy,
            "models": {k: lesson.to_dict() for k, lesson in self.lessons.items()},
            "sweep": [r.to_dict() for r in self.sweep],
        }


def study(
    kinds: Sequence[str],
    data: DataBundle,
    cue: Cue,
    correlation: float = 0.9,
    *,
    sweep_correlations: Sequence[float] = (),
    remedy: str = "randomise",
    clean_models: dict[str, Trained] | None = None,
    seed: int = 0,
    maxima_steps: int = 100,
    **train_kwargs: Any,
) -> ShortcutStudy:
    """For each kind: train (through the cache) at correlation 0, at `correlation` and with
    the remedy at `correlation`, and test; then every kind at every `sweep_correlations`.
    `clean_models` (by kind) stand in for correlation 0 when already trained on `data`."""
    if not kinds:
        raise ConfigError("name at least one model kind")
    done: dict[tuple[str, float, str | None], ShortcutRun] = {}

    def run(kind: str, corr: float, rem: str | None = None) -> ShortcutRun:
        key = (kind, corr, rem)
        if key not in done:
            known = (clean_models or {}).get(kind)
            if corr == 0.0 and rem is None and known is not None:
                test = evaluate_cue(known.model, data, cue, seed)
                done[key] = ShortcutRun(kind, cue, corr, rem, known, test)
            else:
                done[key] = train_cued(kind, data, cue, corr, seed=seed, remedy=rem, **train_kwargs)
        return done[key]

    sets = test_sets(data, cue, seed)
    picks = inversion.one_per_class(data.y_test, data.num_classes)
    lessons = {}
    for kind in kinds:
        runs = {"clean": run(kind, 0.0), "cued": run(kind, correlation)}
        runs["remedy"] = run(kind, correlation, remedy)
        sal, examples, maxima, match = {}, {}, {}, {}
        for name, r in runs.items():
            model = r.trained.model
            sal[name] = saliency_in_cue(
                model, sets["wrong"], sets["wrong_classes"], cue, data.x_test
            )
            examples[name] = inversion.saliency(model, sets["wrong"][picks])
            maxima[name], match[name] = maxima_cue_match(model, cue, steps=maxima_steps, seed=seed)
        lessons[kind] = Lesson(kind, runs, sal, examples, maxima, match)
    swept = tuple(run(kind, corr) for kind in kinds for corr in sweep_correlations)
    return ShortcutStudy(
        cue=cue,
        correlation=correlation,
        remedy=remedy,
        lessons=lessons,
        example_images=data.x_test[picks],
        example_labels=data.y_test[picks],
        example_cues=sets["wrong_classes"][picks],
        sweep=swept,
    )
