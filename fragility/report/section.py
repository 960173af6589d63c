"""What a report section is: a title, a plain-language opening, blocks, and its numbers.

Each analysis contributes one Section, built by a function in `fragility.report.sections`
that takes the shared ReportContext. Sections are pure data; `fragility.report.writer` turns
them into index.html, metrics.json and figures/*.png.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the blocks are plain data; the scenario pages use them without torch
    import torch

    from fragility.data import DataBundle
    from fragility.models import ModelSpec
    from fragility.sources import ModelSource
    from fragility.train import Trained


@dataclass(frozen=True)
class Paragraph:
    """Text with a small inline markup, rendered safely (`fragility.report.html.inline`):
    `code`, **strong**, *emphasis* and [a link](https://...); everything else is escaped."""

    text: str


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A list; each item takes the same inline markup as a Paragraph."""

    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Note:
    """A boxed aside: `kind` is "plain" (a plain-language explanation), "caution" (a limit of
    the evidence) or "instructor" (guidance for a teacher). Inline markup as a Paragraph."""

    text: str
    kind: str = "plain"


@dataclass(frozen=True)
class PageBreak:
    """Where a printed page ends (one role-play brief per sheet); nothing shows on screen."""


@dataclass(frozen=True)
class FigureBlock:
    name: str  # file stem under figures/, unique in the report: "adversarial-curve-mlp"
    png: bytes
    caption: str
    alt: str  # what the picture shows, for screen readers


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Paragraph | Heading | Bullets | Note | PageBreak | FigureBlock | Table


@dataclass(frozen=True)
class Comparison:
    """One of our numbers beside a published one, for the report's last section."""

    quantity: str  # "FGSM error at eps 0.25, seed MLP"
    ours: str  # "97.1 %"
    published: str  # "99.9 % (shallow softmax)"
    source: str  # "Goodfellow et al. 2015, MNIST"


@dataclass(frozen=True)
class Section:
    slug: str  # anchor and metrics.json key: "models", "adversarial", ...
    title: str
    intro: str  # the plain-language opening for a reader with no ML background
    blocks: tuple[Block, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)  # every number shown, stable keys
    seconds: float = 0.0  # how long it took to build: set by the builder, never in `metrics`
    findings: tuple[str, ...] = ()  # one-line headline findings for the summary
    comparisons: tuple[Comparison, ...] = ()  # our numbers beside the published ones

    @property
    def figures(self) -> tuple[FigureBlock, ...]:
        return tuple(b for b in self.blocks if isinstance(b, FigureBlock))


@dataclass(frozen=True, eq=False)
class Classifier:
    """A classifier the report studies: one fragility trained (`trained`: its spec, training
    settings and history, here or in a train folder), or one brought from outside (`source`:
    where it came from; None for a module handed to `fragility.report.build` directly)."""

    name: str
    model: torch.nn.Module
    trained: Trained | None = None
    source: ModelSource | None = None
    weights_hash: str | None = None

    @property
    def spec(self) -> ModelSpec | None:
        """The lecture architecture, for a model fragility trained; None otherwise."""
        return self.trained.spec if self.trained is not None else None

    @property
    def brought(self) -> bool:
        """True for a model fragility did not train here (a user's, or a train folder's)."""
        return self.source is not None or self.trained is None

    def origin(self) -> str:
        """One line for a reader: where the model came from."""
        if self.source is not None:
            return self.source.describe()
        if self.trained is not None:
            return f"trained here by fragility ({self.trained.spec.name})"
        return f"a {type(self.model).__name__} handed to fragility.report.build"

    def initial_model(self, seed: int = 0) -> torch.nn.Module:
        """The same architecture before training (fragility.sources.initial_model)."""
        if self.trained is not None:
            from fragility.models import build

            return build(self.trained.spec, seed=self.trained.config.seed)
        from fragility.sources import initial_model

        return initial_model(self.source, self.model, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        from fragility.models import parameter_counts

        d: dict[str, Any] = {
            "description": self.origin(),
            "parameters": parameter_counts(self.model)["total"],
        }
        if self.source is not None:
            d["source"] = self.source.to_dict()
        elif self.trained is None:
            d["source"] = {"kind": "python", "class": type(self.model).__name__}
        if self.weights_hash is not None:
            d["weights_hash"] = self.weights_hash
        if self.trained is not None:
            d["spec"] = self.trained.spec.to_dict()
        return d


def as_classifier(name: str, value: Classifier | Trained) -> Classifier:
    """A Classifier from itself or from a model fragility trained (train.Trained)."""
    if isinstance(value, Classifier):
        return value
    return Classifier(name=name, model=value.model, trained=value)


# In a quick report, one pass of the models over a set of images (a scan of the training
# images, a corruption sweep, an accuracy curve) costs at most this many multiply-adds: about
# 1,800 images of a CIFAR-10 ResNet-18 (0.56 G each), while the lecture's networks (a few
# million each) see every image they see in a full-size quick report.
QUICK_PASS_MACS = 1e12


@dataclass(frozen=True, eq=False)
class ReportContext:
    """What every section builder gets: the data, the classifiers and the run's settings.

    Section builders are `build(ctx: ReportContext) -> Section` functions in
    `fragility.report.sections.<slug>`; they call the analyses and `fragility.figures`, and
    never write files. Their `metrics` must be the same for the same seed (no timings there:
    the report's manifest records how long each section took). `classifiers` may be given as
    train.Trained values; they are held as Classifiers.
    """

    data: DataBundle
    classifiers: Mapping[str, Classifier]  # "mlp", "cnn", "resnet18", ... in report order
    autoencoder: Trained | None
    seed: int = 0
    quick: bool = False  # smaller budgets: a smoke run of the whole report in seconds
    device: torch.device = field(default_factory=lambda: _cpu())
    progress: bool = False
    other_data: DataBundle | None = None  # another dataset at hand (out-of-distribution tests)

    def __post_init__(self) -> None:
        held = {k: as_classifier(k, v) for k, v in self.classifiers.items()}
        object.__setattr__(self, "classifiers", held)

    @property
    def macs(self) -> int:
        """Multiply-adds of one forward pass of one image through the costliest classifier."""
        from fragility import threads

        shape = tuple(self.data.input_shape)
        return max(
            (threads.model_macs(c.model, shape) for c in self.classifiers.values()), default=0
        )

    def within(self, n: int, passes: int = 1, least: int = 100) -> int:
        """How many of `n` images an analysis that makes `passes` passes over them may use: all
        of them, except in a quick report on large models, where a pass costs at most
        QUICK_PASS_MACS multiply-adds (and at least `least` images are kept)."""
        if not self.quick or self.macs == 0:
            return n
        return min(n, max(least, int(QUICK_PASS_MACS / (passes * self.macs))))

    @property
    def trained_here(self) -> list[str]:
        """The classifiers fragility trained for this report (the lecture's networks)."""
        return [n for n, c in self.classifiers.items() if not c.brought]


def _cpu() -> torch.device:
    import torch

    return torch.device("cpu")
