"""Reliability diagrams (Guo et al. 2017) and galleries of confident mistakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from fragility._fmt import confidence, model_name, pct
from fragility.figures import COLUMN_IN, gallery, new_figure, rgb, styled
from fragility.figures.style import GREY, model_colour
from fragility.metrics import Calibration


@styled
def reliability_diagram(calibrations: Mapping[str, Calibration]) -> Figure:
    """Accuracy in each confidence bin as a bar per model (side by side in the bin, in the
    model's colour), the gap up to the bin's mean confidence hatched, and the diagonal of
    perfect calibration. Above the plot, one row per model: the test images in each bin."""
    n = len(calibrations)
    fig = new_figure(COLUMN_IN, 3.5 + 0.25 * n)
    ax = fig.subplots()
    first = next(iter(calibrations.values()))
    width = 0.9 / first.n_bins / n
    for i, (name, cal) in enumerate(calibrations.items()):
        colour = model_colour(name)
        lo, hi = cal.bin_edges[:-1], cal.bin_edges[1:]
        mids = [(a + b) / 2 + (i - (n - 1) / 2) * width for a, b in zip(lo, hi, strict=True)]
        acc = [a if a is not None else 0.0 for a in cal.bin_accuracy]
        ax.bar(mids, acc, width=width, color=colour)
        for m, a, c in zip(mids, cal.bin_accuracy, cal.bin_confidence, strict=True):
            if a is not None and c is not None and c > a:
                ax.bar(
                    m,
                    c - a,
                    bottom=a,
                    width=width,
                    color="white",
                    edgecolor=colour,
                    hatch="////",
                    linewidth=0.6,
                )
        row = 1.02 + 0.085 * (n - 1 - i)
        ax.text(
            -0.01,
            row,
            model_name(name),
            ha="right",
            va="bottom",
            color=colour,
            weight="bold",
            transform=ax.transAxes,
        )
        for (a, b), count in zip(zip(lo, hi, strict=True), cal.bin_counts, strict=True):
            if count:
                ax.text(
                    (a + b) / 2,
                    row,
                    f"{count}",
                    ha="center",
                    va="bottom",
                    color=colour,
                    transform=ax.get_xaxis_transform(),
                )
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":")
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy in the bin")
    ece = ", ".join(f"{model_name(k)} {pct(c.ece)}" for k, c in calibrations.items())
    ax.set_title(f"ECE: {ece}", pad=8 + 13 * n)
    ax.set_xlabel("confidence (largest softmax probability)")
    ax.legend(
        handles=[
            Patch(color=GREY, label="accuracy"),
            Patch(facecolor="white", edgecolor=GREY, hatch="////", label="overconfidence"),
            Line2D([], [], color="black", lw=0.8, ls=":", label="perfect"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=3,
        handlelength=1.4,
        columnspacing=1.0,
    )
    return fig


@styled
def confident_mistakes(
    images: torch.Tensor,
    true: Sequence[str],
    predicted: Sequence[str],
    confidences: Sequence[float],
    title: str,
) -> Figure:
    """The most confident wrong answers: each image captioned with the answer and its
    confidence, then the true class."""
    captions = [
        [f"said {p}\n{confidence(c)}\nis {t}"]
        for t, p, c in zip(true, predicted, confidences, strict=True)
    ]
    return gallery([[rgb(x)] for x in images], captions=captions, title=title)
