"""Figures of inverse images: unit maxima, first-layer weights, saliency, representation
inversion and the weight-removal curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from fragility.figures import as_image, new_figure
from fragility.inversion import (
    EdgeScores,
    InverseImages,
    Inversion,
    Maxima,
    PruneCurve,
    Saliency,
)


def _rgb(a: np.ndarray, cmap: str = "gray", vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """(H, W) values -> (H, W, 3) colours in [0, 1] through a matplotlib colour map."""
    from matplotlib import colormaps

    span = (vmax - vmin) or 1.0
    return colormaps[cmap](np.clip((a - vmin) / span, 0.0, 1.0))[..., :3]


def _grey(x: torch.Tensor) -> np.ndarray:
    a = as_image(x)
    return np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a


def mosaic(
    cells: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    columns: int,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
    title_lines: int = 2,
    cell_inches: float = 0.9,
) -> Figure:
    """Cells (H, W, 3) in a grid drawn as ONE framed image, each titled above.

    One image with text costs a fraction of a grid of subplots to lay out and render (a
    gallery of a hundred units renders in about 0.2 s instead of 2 s). The geometry is fixed
    in inches, so the title bands keep their room whatever the cell size in pixels."""
    from matplotlib.collections import LineCollection

    h, w = cells[0].shape[:2]
    n = len(cells)
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    px = cell_inches / w  # inches per pixel
    lines = title_lines if titles is not None else 0
    band = int(np.ceil((0.11 * lines + 0.04) / px))  # title room above each row, in pixels
    gap = int(np.ceil(0.06 / px))
    step_y, step_x = h + band, w + gap
    canvas = np.ones((rows * step_y, cols * step_x - gap, 3))
    left = 1.0 if row_labels is not None else 0.05
    top = 0.35 if title else 0.05
    width_in = left + canvas.shape[1] * px + 0.05
    height_in = top + canvas.shape[0] * px + 0.05
    fig = new_figure(width_in, height_in)
    fig.set_layout_engine("none")
    ax = fig.add_axes(
        (
            left / width_in,
            0.05 / height_in,
            1 - (left + 0.05) / width_in,
            1 - (top + 0.05) / height_in,
        )
    )
    ax.axis("off")
    frames = []
    for i, cell in enumerate(cells):
        r, c = divmod(i, cols)
        x0, y0 = c * step_x, r * step_y + band
        canvas[y0 : y0 + h, x0 : x0 + w] = cell
        # Pixel edges sit at half-integers in imshow's coordinates.
        fx, fy = x0 - 0.5, y0 - 0.5
        frames.append([(fx, fy), (fx + w, fy), (fx + w, fy + h), (fx, fy + h), (fx, fy)])
        if titles is not None and titles[i]:
            ax.text(
                fx + w / 2,
                fy - 0.02 / px,
                titles[i],
                ha="center",
                va="bottom",
                fontsize=6,
                linespacing=1.05,
            )
    ax.imshow(canvas, interpolation="nearest", aspect="auto")
    ax.add_collection(LineCollection(frames, colors="0.6", linewidths=0.4))
    for r, label in enumerate(row_labels or ()):
        ax.text(-0.5 - gap, r * step_y + band + h / 2, label, ha="right", va="center", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9, y=1 - 0.05 / height_in, va="top")
    return fig


def maxima_gallery(
    maxima: Maxima,
    labels: Sequence[str] | None = None,
    *,
    training_images: torch.Tensor | None = None,
    title: str | None = None,
    columns: int = 10,
) -> Figure:
    """One column per unit (`columns` units per block of rows): its restarts, one per row,
    then (when `training_images` is given) the training image that activates it most. Titles
    give the best activation reached over the restarts and, in brackets, the best training
    image's."""
    n_units, restarts = maxima.images.shape[:2]
    labels = list(labels) if labels is not None else [u.name for u in maxima.units]
    blank = np.ones((*maxima.images.shape[-2:], 3))
    cells, titles, row_labels = [], [], []
    for first in range(0, n_units, columns):
        block = range(first, first + columns)
        for r in range(restarts):
            row_labels.append(f"restart {r + 1}")
            for u in block:
                if u >= n_units:
                    cells.append(blank)
                    titles.append("")
                    continue
                best = maxima.training_max[u]
                bar = "" if torch.isnan(best) else f" ({float(best):.3g})"
                reached = f"{float(maxima.best_activation[u]):.3g}"
                cells.append(_grey(maxima.images[u, r]))
                titles.append(f"{labels[u]}\n{reached}{bar}" if r == 0 else "")
        if training_images is not None:
            row_labels.append("best training")
            for u in block:
                k = int(maxima.training_argmax[u]) if u < n_units else -1
                cells.append(_grey(training_images[k]) if k >= 0 else blank)
                titles.append("")
    return mosaic(
        cells,
        titles,
        columns=min(columns, n_units),
        row_labels=row_labels,
        title=title,
        cell_inches=0.75,
    )


def weights_gallery(scores: EdgeScores, *, title: str | None = None, columns: int = 8) -> Figure:
    """First-layer weight images on a diverging scale (red positive, blue negative, each image
    on its own symmetric range), titled with the Gabor similarity and its shuffled chance."""
    w = scores.weights.float().mean(1).numpy()  # (U, H, W)
    cells, titles = [], []
    for i in range(len(w)):
        lim = float(np.abs(w[i]).max()) or 1.0
        cells.append(_rgb(w[i], "RdBu_r", -lim, lim))
        mark = "*" if bool(scores.edge_like[i]) else ""
        titles.append(
            f"#{i} g {float(scores.gabor[i]):.2f}{mark}\nchance {float(scores.chance[i]):.2f}"
        )
    return mosaic(cells, titles, columns=columns, title=title)


def saliency_figure(
    sal: Saliency,
    class_names: Sequence[str],
    *,
    labels: torch.Tensor | None = None,
    title: str | None = None,
) -> Figure:
    """Rows: the image, |gradient|, |gradient x input| of the target class's score; one column
    per image, titled with the true class (when `labels` is given) and the target."""
    n = len(sal.images)
    cells, titles = [], []
    for i in range(n):
        said = class_names[int(sal.target[i])]
        titles.append(f"{class_names[int(labels[i])]}\nsays {said}" if labels is not None else said)
        cells.append(_grey(sal.images[i]))
    for key in ("gradient", "grad_x_input"):
        maps = sal.map(key).numpy()
        for i in range(n):
            cells.append(_rgb(maps[i], "hot", 0.0, float(maps[i].max()) or 1.0))
            titles.append("")
    return mosaic(
        cells,
        titles,
        columns=n,
        row_labels=("image", "|grad|", "|grad*x|"),
        title=title,
    )


def inversion_figure(
    inv: Inversion, class_names: Sequence[str], *, title: str | None = None
) -> Figure:
    """Top: real images with the predicted class; bottom: inputs found from noise whose code
    at the layer matches, with their prediction and the pixel (RMS) distance to the original."""
    n = len(inv.originals)
    cells = [_grey(x) for x in inv.originals] + [_grey(x) for x in inv.inverted]
    titles = [f"\nsays {class_names[int(p)]}" for p in inv.original_prediction] + [
        f"says {class_names[int(p)]}\nd {float(d):.2f}"
        for p, d in zip(inv.inverted_prediction, inv.pixel_distance, strict=True)
    ]
    return mosaic(
        cells,
        titles,
        columns=n,
        row_labels=("original", "same code"),
        title=title or f"Same {inv.layer or 'logits'} code, different pixels",
    )


def prune_figure(curves: Mapping[str, PruneCurve], *, chance: float | None = None) -> Figure:
    """Test accuracy against the share of weights zeroed, top / random / bottom ranked, one
    panel per model."""
    n = len(curves)
    fig = new_figure(3.4 * n + 0.4, 3.0)
    axes = np.atleast_1d(fig.subplots(1, n))
    styles = (("top", "tab:red", "highest |dC/dw| first"), ("random", "tab:gray", "random"))
    styles += (("bottom", "tab:blue", "lowest |dC/dw| first"),)
    for ax, (name, c) in zip(axes, curves.items(), strict=True):
        pct = [100 * f for f in c.fractions]
        for key, colour, label in styles:
            ax.plot(pct, [100 * a for a in getattr(c, key)], "o-", ms=3, color=colour, label=label)
        if chance is not None:
            ax.axhline(100 * chance, color="k", lw=0.6, ls=":", label="chance")
        ax.set(
            xlabel="weights zeroed (%)",
            ylabel="test accuracy (%)",
            title=f"{name} ({c.n_weights:,} weights)",
            ylim=(0, 102),
        )
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return fig


def all_figures(
    result: InverseImages, class_names: Sequence[str], training_images: torch.Tensor
) -> dict[str, Figure]:
    """Every figure of an `analyse` result, by file stem."""
    figs: dict[str, Figure] = {}
    if result.classes is not None:
        figs["classes"] = maxima_gallery(
            result.classes,
            class_names,
            training_images=training_images,
            title="Class maxima: activation reached (best training image's)",
        )
    if result.hidden is not None:
        figs["hidden"] = maxima_gallery(
            result.hidden,
            training_images=training_images,
            columns=16,
            title="Hidden-unit maxima: pre-activation reached (best training image's)",
        )
    if result.first_layer is not None:
        figs["weights"] = weights_gallery(
            result.first_layer,
            title=f"First-layer weights ({result.first_layer.layer}); * edge-like",
        )
    if result.pruning is not None:
        figs["pruning"] = prune_figure({"model": result.pruning}, chance=1 / len(class_names))
    if result.saliency is not None:
        figs["saliency"] = saliency_figure(
            result.saliency, class_names, labels=result.saliency_labels
        )
    if result.inversion is not None:
        figs["inversion"] = inversion_figure(result.inversion, class_names)
    return figs
