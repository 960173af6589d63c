"""Figures for the corruption analysis: an example strip and accuracy per corruption."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib.figure import Figure

from fragility.corruptions import CorruptionResult
from fragility.figures import image_grid, new_figure


def example_strip(clean: torch.Tensor, corrupted: Mapping[str, torch.Tensor]) -> Figure:
    """One row per example image: the clean image, then each corruption of it."""
    names = ["clean", *corrupted]
    rows = [clean] + [corrupted[n] for n in corrupted]  # each (M, C, H, W)
    m = len(clean)
    images = torch.stack([rows[j][i] for i in range(m) for j in range(len(rows))])
    titles = [n.replace(" ", "\n") if i == 0 else "" for i in range(m) for n in names]
    return image_grid(images, titles, columns=len(names), cell=0.75)


def accuracy_bars(results: Mapping[str, CorruptionResult]) -> Figure:
    """Accuracy under each corruption (horizontal bars), clean accuracy as a dashed line."""
    names = list(next(iter(results.values())).accuracy)
    fig = new_figure(7.0, 0.32 * len(names) + 1.4)
    ax = fig.subplots()
    k = len(results)
    height = 0.8 / k
    y = np.arange(len(names))
    for i, (model, r) in enumerate(results.items()):
        ax.barh(y + i * height, [100 * r.accuracy[n] for n in names], height=height, label=model)
        ax.axvline(100 * r.clean_accuracy, color=f"C{i}", ls="--", lw=1)
    ax.set_yticks(y + height * (k - 1) / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="test accuracy (%), dashed: clean", xlim=(0, 100))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig
