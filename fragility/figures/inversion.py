"""Figures of inverse images: unit maxima, first-layer weights, saliency, representation
inversion and the weight-removal curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fragility._fmt import model_name
from fragility.figures import COLUMN_IN, ColourBar, colour_map, gallery, new_figure, rgb, styled
from fragility.figures.style import BLACK, GREY, model_colour
from fragility.inversion import (
    EdgeScores,
    InverseImages,
    Inversion,
    Maxima,
    PruneCurve,
    Saliency,
)

# Saliency maps: a perceptually even, colour-blind-safe scale from black to pale yellow.
HEAT = "inferno"
HEAT_BAR = ColourBar(
    HEAT,
    0.0,
    1.0,
    "sensitivity, each map scaled to its own largest value",
    (0.0, 1.0),
    ("0", "largest"),
)


def _g(v: float) -> str:
    return f"{v:.3g}"


@styled
def maxima_gallery(
    maxima: Maxima,
    labels: Sequence[str] | None = None,
    *,
    training_images: torch.Tensor | None = None,
    title: str | None = None,
    columns: int | None = None,
    restarts: int | None = None,
) -> Figure:
    """One column per unit: its maxima from each restart (one per row, the first `restarts`),
    then (when `training_images` is given) the training image that activates it most. Above
    the first image, the unit and the best activation reached; above the training image, that
    image's activation."""
    n_units, n_restarts = maxima.images.shape[:2]
    shown = min(n_restarts, restarts or n_restarts)
    labels = list(labels) if labels is not None else [u.name for u in maxima.units]
    items, captions = [], []
    for u in range(n_units):
        column = [rgb(maxima.images[u, r]) for r in range(shown)]
        caps = [f"{labels[u]}\n{_g(float(maxima.best_activation[u]))}", *([""] * (shown - 1))]
        if training_images is not None:
            k = int(maxima.training_argmax[u])
            column.append(rgb(training_images[k]))
            best = maxima.training_max[u]
            caps.append("" if torch.isnan(best) else _g(float(best)))
        items.append(column)
        captions.append(caps)
    rows = [f"restart {r + 1}" if shown > 1 else "maximum" for r in range(shown)]
    if training_images is not None:
        rows.append("best\ntraining")
    return gallery(
        items, captions=captions, row_labels=rows, title=title, columns=columns, max_cell_in=0.6
    )


@styled
def filter_image(w: torch.Tensor) -> np.ndarray:
    """One first-layer filter (C, H, W) as a picture (H, W, 3) in [0, 1], scaled by its own
    largest |w|: RGB filters as 0.5 + 0.5 w / max|w| per channel, grey ones on the diverging
    red-blue scale."""
    lim = float(w.abs().max()) or 1.0
    if w.shape[0] == 3:
        return (0.5 + 0.5 * w / lim).permute(1, 2, 0).numpy()
    return colour_map(w.mean(0).numpy(), "RdBu_r", -lim, lim)


def weights_gallery(
    scores: EdgeScores, *, title: str | None = None, columns: int | None = None
) -> Figure:
    """First-layer weight images, captioned with the Gabor similarity g (* when above 95 % of
    shuffles) and its shuffled chance. Grey models: a diverging scale (red positive, blue
    negative, each image on its own symmetric range). Colour models: each filter as an RGB
    patch, 0.5 + 0.5 w / max|w| per channel (each filter scaled by its own largest |w|), so
    zero is mid-grey and a filter that weighs red up and blue down looks red."""
    weights = scores.weights.float()  # (U, C, H, W)
    rgb = weights.shape[1] == 3
    items, captions = [], []
    for i in range(len(weights)):
        items.append([filter_image(weights[i])])
        mark = "*" if bool(scores.edge_like[i]) else ""
        captions.append(
            [f"#{i}\ng {float(scores.gabor[i]):.2f}{mark}\nch. {float(scores.chance[i]):.2f}"]
        )
    bar = None
    if not rgb:
        bar = ColourBar(
            "RdBu_r",
            -1.0,
            1.0,
            "weight, each image scaled to its own largest |w|",
            (-1.0, 0.0, 1.0),
            ("-max", "0", "+max"),
        )
    return gallery(
        items, captions=captions, title=title, columns=columns, colour_bar=bar, max_cell_in=0.6
    )


@styled
def saliency_figure(
    sal: Saliency,
    class_names: Sequence[str],
    *,
    labels: torch.Tensor | None = None,
    title: str | None = None,
) -> Figure:
    """Rows: the image, |gradient|, |gradient x input| of the target class's score; one column
    per image, titled with the true class (when `labels` is given) and the answer."""
    maps = {key: sal.map(key).numpy() for key in ("gradient", "grad_x_input")}
    items, captions = [], []
    for i in range(len(sal.images)):
        said = class_names[int(sal.target[i])]
        head = f"{class_names[int(labels[i])]}\nsays {said}" if labels is not None else said
        column = [rgb(sal.images[i])]
        column += [colour_map(m[i], HEAT, 0.0, float(m[i].max()) or 1.0) for m in maps.values()]
        items.append(column)
        captions.append([head, "", ""])
    return gallery(
        items,
        captions=captions,
        row_labels=("image", "|grad|", "|grad x\ninput|"),
        title=title,
        colour_bar=HEAT_BAR,
        max_cell_in=0.6,
    )


@styled
def inversion_figure(
    inv: Inversion, class_names: Sequence[str], *, title: str | None = None
) -> Figure:
    """Top: real images with the predicted class; bottom: inputs found from noise whose code
    at the layer matches, with their prediction and the pixel (RMS) distance d to the
    original."""
    items = [[rgb(a), rgb(b)] for a, b in zip(inv.originals, inv.inverted, strict=True)]
    captions = [
        [f"says {class_names[int(p)]}", f"says {class_names[int(q)]}\nd {float(d):.2f}"]
        for p, q, d in zip(
            inv.original_prediction, inv.inverted_prediction, inv.pixel_distance, strict=True
        )
    ]
    return gallery(
        items,
        captions=captions,
        row_labels=("original", "same\ncode"),
        title=title or f"Same {inv.layer or 'logits'} code, different pixels",
        max_cell_in=0.6,
    )


RANKINGS = (
    ("top", "-", "largest |dC/dw| first"),
    ("random", "--", "random"),
    ("bottom", ":", "smallest |dC/dw| first"),
)


@styled
def prune_figure(curves: Mapping[str, PruneCurve], *, chance: float | None = None) -> Figure:
    """Test accuracy against the share of weights zeroed: one colour per model, one line style
    per ranking (largest |dC/dw| first, random, smallest first)."""
    fig = new_figure(COLUMN_IN, 3.8)
    ax = fig.subplots()
    for name, c in curves.items():
        pct = [100 * f for f in c.fractions]
        for key, style, _ in RANKINGS:
            ax.plot(
                pct,
                [100 * a for a in getattr(c, key)],
                style,
                marker="o",
                ms=3,
                color=model_colour(name),
            )
    if chance is not None:
        ax.axhline(100 * chance, color=BLACK, lw=0.6, ls=":")
    ax.set(xlabel="weights zeroed (%)", ylabel="test accuracy (%)", ylim=(0, 102))
    ax.grid(alpha=0.5)
    handles = [
        Line2D([], [], color=model_colour(n), label=f"{model_name(n)} ({c.n_weights:,} weights)")
        for n, c in curves.items()
    ]
    handles += [Line2D([], [], color=GREY, ls=s, label=label) for _, s, label in RANKINGS]
    if chance is not None:
        handles.append(Line2D([], [], color=BLACK, lw=0.6, ls=":", label="chance"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
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
            title="Class maxima: score reached, and the best training image's",
        )
    if result.hidden is not None:
        figs["hidden"] = maxima_gallery(
            result.hidden,
            training_images=training_images,
            title="Hidden-unit maxima: pre-activation reached, and the best training image's",
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
