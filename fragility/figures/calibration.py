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
    """Per model (stacked): accuracy in each confidence bin as a bar, the gap up to the bin's
    mean confidence hatched, the diagonal for perfect calibration; the number of test images
    in each bin is written above it."""
    n = len(calibrations)
    fig = new_figure(COLUMN_IN, 3.3 * n)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, (name, cal) in zip(axes, calibrations.items(), strict=True):
        colour = model_colour(name)
        lo, hi = cal.bin_edges[:-1], cal.bin_edges[1:]
        mids = [(a + b) / 2 for a, b in zip(lo, hi, strict=True)]
        width = 0.92 / cal.n_bins
        acc = [a if a is not None else 0.0 for a in cal.bin_accuracy]
        ax.bar(mids, acc, width=width, color=colour, label="accuracy")
        for m, a, c in zip(mids, cal.bin_accuracy, cal.bin_confidence, strict=True):
            if a is not None and c is not None and c > a:
                ax.bar(
                    m,
                    c - a,
                    bottom=a,
                    width=width,
                    color="white",
                    edgecolor=GREY,
                    hatch="////",
                    linewidth=0.5,
                )
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":")
        for m, count in zip(mids, cal.bin_counts, strict=True):
            if count:
                ax.text(
                    m,
                    1.03,
                    f"{count}",
                    ha="center",
                    va="bottom",
                    rotation=90,
                    transform=ax.get_xaxis_transform(),
                )
        ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy in the bin")
        ax.set_title(f"{model_name(name)}: ECE {pct(cal.ece)}", pad=30)
        ax.set_xlabel("confidence (largest softmax probability)")
        ax.legend(
            handles=[
                Patch(color=colour, label="accuracy"),
                Patch(facecolor="white", edgecolor=GREY, hatch="////", label="overconfidence"),
                Line2D([], [], color="black", lw=0.8, ls=":", label="perfect"),
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.25),
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
