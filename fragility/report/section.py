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
class ReportContext:
    """What every section builder gets: the data, the trained models and the run's settings.

    Section builders are `build(ctx: ReportContext) -> Section` functions in
    `fragility.report.sections.<slug>`; they call the analyses and `fragility.figures`, and
    never write files. Their `metrics` must be the same for the same seed (no timings there:
    the report's manifest records how long each section took).
    """

    data: DataBundle
    classifiers: Mapping[str, Trained]  # "mlp", "cnn", ... in the order asked for
    autoencoder: Trained | None
    seed: int = 0
    quick: bool = False  # smaller budgets: a smoke run of the whole report in seconds
    device: torch.device = field(default_factory=lambda: _cpu())
    progress: bool = False
    other_data: DataBundle | None = None  # another dataset at hand (out-of-distribution tests)


def _cpu() -> torch.device:
    import torch

    return torch.device("cpu")
