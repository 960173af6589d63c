"""Figures of trained models: training curves and the confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from fragility.figures import new_figure
from fragility.train import TrainResult


def training_curves(results: Mapping[str, TrainResult]) -> Figure:
    """Loss (left) and test accuracy (right) per epoch for each named classifier."""
    fig = new_figure(8.0, 3.2)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for name, r in results.items():
        epochs = [e.epoch for e in r.history]
        ax_loss.plot(epochs, [e.train_loss for e in r.history], label=f"{name} train")
        ax_loss.plot(epochs, [e.test_loss for e in r.history], "--", label=f"{name} test")
        if r.test_accuracy is not None:
            ax_acc.plot(epochs, [100 * (e.test_accuracy or 0) for e in r.history], label=name)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="Loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    ax_loss.legend(fontsize=7)
    ax_acc.legend(fontsize=7)
    ax_acc.grid(alpha=0.3)
    return fig


def confusion_matrices(matrices: Mapping[str, np.ndarray], class_names: Sequence[str]) -> Figure:
    """Counts of true class (rows) against predicted class (columns), one panel per model."""
    k = len(class_names)
    n = len(matrices)
    side = 0.28 * k + 1.2
    fig = new_figure(side * n, side)
    axes = fig.subplots(1, n, squeeze=False)[0]
    rotate = 90 if max(map(len, class_names)) > 2 else 0
    for ax, (title, matrix) in zip(axes, matrices.items(), strict=True):
        ax.imshow(matrix, cmap="Blues")
        peak = matrix.max() if matrix.size else 0
        for i in range(k):
            for j in range(k):
                v = int(matrix[i, j])
                if v:
                    colour = "white" if v > peak / 2 else "black"
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=6, color=colour)
        ax.set_xticks(range(k), class_names, rotation=rotate, fontsize=7)
        ax.set_yticks(range(k), class_names, fontsize=7)
        ax.set(xlabel="predicted", ylabel="true", title=title)
    return fig
