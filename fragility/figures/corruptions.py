"""Figures for the corruption analysis: an example strip and accuracy per corruption."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib.figure import Figure

from fragility._fmt import model_name
from fragility.corruptions import CorruptionResult
from fragility.figures import COLUMN_IN, gallery, new_figure, rgb, styled
from fragility.figures.style import model_colour


@styled
def example_strip(clean: torch.Tensor, corrupted: Mapping[str, torch.Tensor]) -> Figure:
    """The same example images (one per row) clean and under each corruption (one per
    column, wrapped to fit), each column titled with its corruption."""
    names = ["clean", *corrupted]
    stacks = [clean, *(corrupted[n] for n in corrupted)]  # each (M, C, H, W)
    items = [[rgb(x) for x in s] for s in stacks]
    captions = [
        [n.replace(" ", "\n"), *([""] * (len(s) - 1))] for n, s in zip(names, stacks, strict=True)
    ]
    return gallery(items, captions=captions, max_cell_in=0.6)


@styled
def accuracy_bars(results: Mapping[str, CorruptionResult]) -> Figure:
    """Accuracy under each corruption (horizontal bars, one colour per model), clean accuracy
    as a dashed line in the model's colour."""
    names = list(next(iter(results.values())).accuracy)
    fig = new_figure(COLUMN_IN, 0.3 * len(names) * max(1, len(results)) ** 0.5 + 1.3)
    ax = fig.subplots()
    k = len(results)
    height = 0.8 / k
    y = np.arange(len(names))
    for i, (model, r) in enumerate(results.items()):
        colour = model_colour(model)
        ax.barh(
            y + i * height,
            [100 * r.accuracy[n] for n in names],
            height=height,
            color=colour,
            label=model_name(model),
        )
        ax.axvline(100 * r.clean_accuracy, color=colour, ls="--", lw=1)
    ax.set_yticks(y + height * (k - 1) / 2, names)
    ax.tick_params(axis="y", length=0)
    ax.invert_yaxis()
    ax.set(xlabel="test accuracy (%); dashed: clean", xlim=(0, 100))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=max(1, k), frameon=False)
    ax.grid(axis="x", alpha=0.5)
    return fig
