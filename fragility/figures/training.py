"""Figures of trained models: training curves and the confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fragility._fmt import model_name
from fragility.figures import COLUMN_IN, new_figure, styled
from fragility.figures.style import GREY, model_colour
from fragility.train import TrainResult


@styled
def training_curves(results: Mapping[str, TrainResult]) -> Figure:
    """Loss (top; solid: training images, dashed: test images) and test accuracy (bottom) per
    epoch, one colour per model."""
    fig = new_figure(COLUMN_IN, 4.4)
    ax_loss, ax_acc = fig.subplots(2, 1, sharex=True)
    for name, r in results.items():
        colour = model_colour(name)
        epochs = [e.epoch for e in r.history]
        ax_loss.plot(epochs, [e.train_loss for e in r.history], color=colour)
        ax_loss.plot(epochs, [e.test_loss for e in r.history], "--", color=colour)
        if r.test_accuracy is not None:
            acc = [100 * (e.test_accuracy or 0) for e in r.history]
            ax_acc.plot(epochs, acc, color=colour)
            ax_acc.annotate(
                model_name(name),
                (epochs[-1], acc[-1]),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                color=colour,
                weight="bold",
            )
    ax_loss.set(ylabel="cross-entropy (log scale)", title="Loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    ax_acc.grid(alpha=0.5)
    handles = [Line2D([], [], color=model_colour(n), label=model_name(n)) for n in results]
    handles += [
        Line2D([], [], color=GREY, label="training images"),
        Line2D([], [], color=GREY, ls="--", label="test images"),
    ]
    ax_loss.legend(handles=handles, loc="upper right", ncol=2)
    return fig


@styled
def confusion_matrices(matrices: Mapping[str, np.ndarray], class_names: Sequence[str]) -> Figure:
    """Counts of true class (rows) against the answer (columns), one panel per model: side by
    side while short class names and up to ten classes let the counts fit, else stacked."""
    k = len(class_names)
    n = len(matrices)
    short = max(map(len, class_names)) <= 2
    across = n if short and k <= 10 and n <= 2 else 1
    down = -(-n // across)
    rotate = 0 if short else 90
    label_room = 0.0 if short else 0.075 * max(map(len, class_names))
    panel_h = (COLUMN_IN / across - 0.3) + 0.55 + label_room
    fig = new_figure(COLUMN_IN, panel_h * down + 0.05)
    axes = fig.subplots(down, across, squeeze=False).flat
    peak = max((int(m.max()) for m in matrices.values() if m.size), default=1)
    for i, (ax, (title, matrix)) in enumerate(zip(axes, matrices.items(), strict=True)):
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=peak)
        for r in range(k):
            for c in range(k):
                v = int(matrix[r, c])
                if v:
                    colour = "white" if v > peak / 2 else "black"
                    ax.text(c, r, str(v), ha="center", va="center", color=colour)
        ax.set_xticks(range(k), class_names, rotation=rotate)
        ax.set_yticks(range(k), class_names)
        ax.tick_params(length=0, pad=2)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_xlabel("its answer")
        if i % across == 0:
            ax.set_ylabel("true class")
        ax.set_title(model_name(title), color=model_colour(title))
    return fig
