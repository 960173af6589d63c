"""Figures of the shortcut lesson: cued images, the four tests, the sweep, where models look."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from fragility.figures import new_figure
from fragility.figures.inversion import _grey, _rgb, mosaic
from fragility.shortcut import Cue, CueTest, ShortcutRun, ShortcutStudy


def cued_examples(
    images: torch.Tensor, labels: torch.Tensor, cue: Cue, class_names: Sequence[str]
) -> Figure:
    """One image per class three ways: with its own class's cue (as in training), with the
    next class's cue (the wrong-cue test), and the cue alone on a blank image."""
    k = cue.num_classes
    own = cue.apply(images, labels)
    other = (labels + 1) % k
    wrong = cue.apply(images, other)
    blank = cue.apply(torch.zeros_like(images), labels)
    cells = [_grey(x) for x in (*own, *wrong, *blank)]
    titles = [f"{class_names[int(y)]}" for y in labels]
    titles += [
        f"{class_names[int(y)]}, cue {class_names[int(o)]}"
        for y, o in zip(labels, other, strict=True)
    ]
    titles += [f"cue {class_names[int(y)]}" for y in labels]
    return mosaic(
        cells,
        titles,
        columns=len(images),
        row_labels=("own cue", "wrong cue", "cue alone"),
        title=f"The {cue.kind} cue: one mark per class",
        title_lines=1,
    )


_BARS = (
    ("clean_accuracy", "clean: right"),
    ("matching_accuracy", "own cue: right"),
    ("wrong_accuracy", "wrong cue: right"),
    ("wrong_follows_cue", "wrong cue: follows cue"),
    ("blank_follows_cue", "cue alone: follows cue"),
)


def four_tests(tests: Mapping[str, CueTest], *, title: str = "The four test sets") -> Figure:
    """Grouped bars: each test's accuracy and cue-following rate, one colour per model."""
    fig = new_figure(8.5, 3.2)
    ax = fig.subplots()
    n = len(tests)
    width = 0.8 / n
    x = np.arange(len(_BARS))
    for i, (name, t) in enumerate(tests.items()):
        values = [100 * getattr(t, key) for key, _ in _BARS]
        bars = ax.bar(x + (i - (n - 1) / 2) * width, values, width, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=6, padding=1)
    chance = 100 / next(iter(tests.values())).num_classes
    ax.axhline(chance, color="k", lw=0.6, ls=":", label="chance")
    ax.set_xticks(x, [label for _, label in _BARS], fontsize=7)
    ax.set(ylabel="% of test images", ylim=(0, 108), title=title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def sweep_curve(runs: Sequence[ShortcutRun]) -> Figure:
    """Clean accuracy and the wrong-cue following rate against the correlation in training,
    one line per model; correlations are evenly spaced on the axis (0.9, 0.99 and 1 apart)."""
    fig = new_figure(6.0, 3.2)
    ax = fig.subplots()
    corrs = sorted({r.correlation for r in runs})
    pos = {c: i for i, c in enumerate(corrs)}
    for kind in dict.fromkeys(r.kind for r in runs):
        mine = sorted((r for r in runs if r.kind == kind), key=lambda r: r.correlation)
        xs = [pos[r.correlation] for r in mine]
        (line,) = ax.plot(
            xs, [100 * r.test.clean_accuracy for r in mine], "o-", label=f"{kind}: clean accuracy"
        )
        ax.plot(
            xs,
            [100 * r.test.wrong_follows_cue for r in mine],
            "s--",
            color=line.get_color(),
            label=f"{kind}: follows a wrong cue",
        )
    if runs:
        ax.axhline(100 / runs[0].test.num_classes, color="k", lw=0.6, ls=":", label="chance")
    ax.set_xticks(range(len(corrs)), [f"{c:g}" for c in corrs])
    ax.set(
        xlabel="share of each class's training images with its cue",
        ylabel="% of test images",
        ylim=(0, 102),
        title="Learning the shortcut",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def saliency_rows(s: ShortcutStudy, kind: str, class_names: Sequence[str]) -> Figure:
    """Test images carrying another class's cue, and |gradient| of the answer's score for the
    clean, the cued and the remedied `kind` model (each map on its own scale), titled with the
    answer."""
    lesson = s.lessons[kind]
    first = next(iter(lesson.saliency_examples.values()))
    n = len(first.images)
    cells = [_grey(x) for x in first.images]
    titles = [
        f"{class_names[int(y)]}, cue {class_names[int(c)]}"
        for y, c in zip(s.example_labels, s.example_cues, strict=True)
    ]
    labels = ["image"]
    for name, sal in lesson.saliency_examples.items():
        maps = sal.map("gradient").numpy()
        cells += [_rgb(maps[i], "hot", 0.0, float(maps[i].max()) or 1.0) for i in range(n)]
        titles += [f"says {class_names[int(t)]}" for t in sal.target]
        labels.append(f"{name} model")
    return mosaic(
        cells,
        titles,
        columns=n,
        row_labels=labels,
        title=f"Where the {kind} looks (|gradient|) when the cue points the wrong way",
        title_lines=1,
    )
