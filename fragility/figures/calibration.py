"""Reliability diagrams (Guo et al. 2017) and galleries of confident mistakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from matplotlib.figure import Figure

from fragility.figures import image_grid, new_figure
from fragility.metrics import Calibration


def reliability_diagram(calibrations: Mapping[str, Calibration]) -> Figure:
    """Per model: accuracy against confidence in each bin, the diagonal is perfect calibration;
    the bar under each point shows how many test images fell in the bin."""
    n = len(calibrations)
    fig = new_figure(3.4 * n, 3.6)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (name, cal) in zip(axes, calibrations.items(), strict=True):
        lo, hi = cal.bin_edges[:-1], cal.bin_edges[1:]
        mids = [(a + b) / 2 for a, b in zip(lo, hi, strict=True)]
        width = 1.0 / cal.n_bins
        acc = [a if a is not None else 0.0 for a in cal.bin_accuracy]
        ax.bar(mids, acc, width=width * 0.95, color="#4c72b0", label="accuracy in bin")
        gaps = [
            (m, c - a)
            for m, a, c in zip(mids, cal.bin_accuracy, cal.bin_confidence, strict=True)
            if a is not None and c is not None
        ]
        ax.bar(
            [m for m, _ in gaps],
            [g for _, g in gaps],
            bottom=[a for a in cal.bin_accuracy if a is not None],
            width=width * 0.95,
            color="#dd8452",
            alpha=0.6,
            label="gap to confidence",
        )
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="confidence (max softmax)",
            ylabel="accuracy",
            title=f"{name}: ECE {100 * cal.ece:.1f} %",
        )
        ax.legend(fontsize=7, loc="upper left")
    return fig


def confident_mistakes(
    images: torch.Tensor,
    true: Sequence[str],
    predicted: Sequence[str],
    confidences: Sequence[float],
    title: str,
) -> Figure:
    """The most confident wrong answers: each image titled 'said X (p %), is Y'."""
    titles = [
        f"said {p} {100 * c:.1f}%\nis {t}"
        for t, p, c in zip(true, predicted, confidences, strict=True)
    ]
    return image_grid(
        images, titles, columns=min(10, max(1, len(titles))), cell=1.2, suptitle=title
    )
