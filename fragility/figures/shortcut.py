"""Figures of the shortcut lesson: cued images, the four tests, the sweep, where models look."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fragility._fmt import model_name
from fragility.figures import COLUMN_IN, colour_map, gallery, new_figure, rgb, styled
from fragility.figures.inversion import HEAT, HEAT_BAR
from fragility.figures.style import BLACK, GREY, SERIES, model_colour
from fragility.shortcut import Cue, CueTest, ShortcutRun, ShortcutStudy


@styled
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
    items = [[rgb(a), rgb(b), rgb(c)] for a, b, c in zip(own, wrong, blank, strict=True)]
    captions = [
        [class_names[int(y)], f"cue {class_names[int(o)]}", ""]
        for y, o in zip(labels, other, strict=True)
    ]
    return gallery(
        items,
        captions=captions,
        row_labels=("own cue", "wrong cue", "cue alone"),
        title=f"The {cue.kind} cue: one mark per class",
        max_cell_in=0.6,
    )


_BARS = (
    ("clean_accuracy", "clean: right"),
    ("matching_accuracy", "own cue: right"),
    ("wrong_accuracy", "wrong cue: right"),
    ("wrong_follows_cue", "wrong cue: follows cue"),
    ("blank_follows_cue", "cue alone: follows cue"),
)


@styled
def four_tests(tests: Mapping[str, CueTest], *, title: str = "The four test sets") -> Figure:
    """Grouped horizontal bars: each test's accuracy and cue-following rate, one colour per
    training variant (these are versions of one model, so they take non-model colours)."""
    n = len(tests)
    fig = new_figure(COLUMN_IN, 0.42 * len(_BARS) * n**0.5 + 1.3)
    ax = fig.subplots()
    height = 0.8 / n
    y = np.arange(len(_BARS))
    colours = (GREY, SERIES[1], BLACK, *SERIES[2:])
    for i, (name, t) in enumerate(tests.items()):
        values = [100 * getattr(t, key) for key, _ in _BARS]
        bars = ax.barh(
            y + (i - (n - 1) / 2) * height,
            values,
            height,
            label=name,
            color=colours[i % len(colours)],
        )
        ax.bar_label(bars, fmt="%.0f", padding=2)
    chance = 100 / next(iter(tests.values())).num_classes
    ax.axvline(chance, color=BLACK, lw=0.6, ls=":", label="chance")
    ax.set_yticks(y, [label for _, label in _BARS])
    ax.tick_params(axis="y", length=0)
    ax.invert_yaxis()
    ax.set(xlabel="% of test images", xlim=(0, 112), title=title)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=n + 1, title="trained")
    return fig


@styled
def sweep_curve(runs: Sequence[ShortcutRun]) -> Figure:
    """Clean accuracy (solid) and the wrong-cue following rate (dashed) against the
    correlation in training, one colour per model; correlations are evenly spaced on the axis
    (0.9, 0.99 and 1 apart)."""
    fig = new_figure(COLUMN_IN, 3.6)
    ax = fig.subplots()
    corrs = sorted({r.correlation for r in runs})
    pos = {c: i for i, c in enumerate(corrs)}
    kinds = list(dict.fromkeys(r.kind for r in runs))
    for kind in kinds:
        mine = sorted((r for r in runs if r.kind == kind), key=lambda r: r.correlation)
        xs = [pos[r.correlation] for r in mine]
        colour = model_colour(kind)
        ax.plot(xs, [100 * r.test.clean_accuracy for r in mine], "o-", color=colour)
        ax.plot(xs, [100 * r.test.wrong_follows_cue for r in mine], "s--", color=colour)
    if runs:
        ax.axhline(100 / runs[0].test.num_classes, color=BLACK, lw=0.6, ls=":")
    ax.set_xticks(range(len(corrs)), [f"{c:g}" for c in corrs])
    ax.set(
        xlabel="share of each class's training images with its cue",
        ylabel="% of test images",
        ylim=(0, 102),
        title="Learning the shortcut",
    )
    ax.grid(alpha=0.5)
    handles = [Line2D([], [], color=model_colour(k), label=model_name(k)) for k in kinds]
    handles += [
        Line2D([], [], color=GREY, marker="o", label="clean accuracy"),
        Line2D([], [], color=GREY, marker="s", ls="--", label="follows a wrong cue"),
        Line2D([], [], color=BLACK, lw=0.6, ls=":", label="chance"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    return fig


@styled
def saliency_rows(s: ShortcutStudy, kind: str, class_names: Sequence[str]) -> Figure:
    """Test images carrying another class's cue, and |gradient| of the answer's score for the
    clean, the cued and the remedied `kind` model (each map on its own scale), each captioned
    with the answer."""
    lesson = s.lessons[kind]
    first = next(iter(lesson.saliency_examples.values()))
    maps = {name: sal.map("gradient").numpy() for name, sal in lesson.saliency_examples.items()}
    items, captions = [], []
    for i in range(len(first.images)):
        y, c = int(s.example_labels[i]), int(s.example_cues[i])
        column, caps = [rgb(first.images[i])], [f"{class_names[y]}\ncue {class_names[c]}"]
        for name, sal in lesson.saliency_examples.items():
            m = maps[name][i]
            column.append(colour_map(m, HEAT, 0.0, float(m.max()) or 1.0))
            caps.append(f"says {class_names[int(sal.target[i])]}")
        items.append(column)
        captions.append(caps)
    return gallery(
        items,
        captions=captions,
        row_labels=["image", *(f"{name}\nmodel" for name in lesson.saliency_examples)],
        title=f"Where the {model_name(kind)} looks (|gradient|) when the cue points the wrong way",
        colour_bar=HEAT_BAR,
        max_cell_in=0.6,
    )
