"""Figures of confident garbage: galleries, the noise survey, evolution curves, detectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fragility._fmt import confidence, model_name
from fragility.figures import COLUMN_IN, gallery, new_figure, rgb, styled
from fragility.figures.style import BLACK, GREEN, GREY, RAMP, SERIES, model_colour


def confidence_label(p: float) -> str:
    """A confidence as the report prints it (`fragility._fmt.confidence`: rounded down, so
    99.99 % means it reached 99.99 %)."""
    return confidence(p)


def _grey_rows(rows: Mapping[str, Sequence[torch.Tensor]]) -> dict[str, list[np.ndarray]]:
    return {
        name: [rgb(img.mean(0) if img.dim() == 3 else img) for img in images]
        for name, images in rows.items()
    }


@styled
def mosaic(
    rows: Mapping[str, Sequence[torch.Tensor]],
    captions: Mapping[str, Sequence[str]] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Named rows of images (a label per row, a caption above each image), wrapped to fit the
    column."""
    cells = _grey_rows(rows)
    names = list(cells)
    width = max(len(v) for v in cells.values())
    blank = np.ones_like(next(iter(cells.values()))[0])
    items = [[cells[n][c] if c < len(cells[n]) else blank for n in names] for c in range(width)]
    caps = None
    if captions:
        caps = [
            [captions[n][c] if n in captions and c < len(captions[n]) else "" for n in names]
            for c in range(width)
        ]
    return gallery(items, captions=caps, row_labels=names, title=title, max_cell_in=0.6)


@styled
def fooling_gallery(
    rows: Mapping[str, tuple[torch.Tensor, Sequence[int], Sequence[float]]],
    class_names: Sequence[str],
    title: str | None = None,
) -> Figure:
    """One column per method (and model), one row per class: the fooling image for that
    class, captioned with the probability the model gives it."""
    names = list(rows)
    classes = sorted({int(k) for _, ks, _ in rows.values() for k in ks})
    blank = None
    items, captions = [], []
    for name in names:
        x, ks, conf = rows[name]
        by_class = {int(k): (img, float(p)) for img, k, p in zip(x, ks, conf, strict=True)}
        column, caps = [], []
        for k in classes:
            if k in by_class:
                img, p = by_class[k]
                column.append(rgb(img.mean(0) if img.dim() == 3 else img))
                caps.append(confidence(p))
            else:
                blank = blank if blank is not None else np.ones_like(rgb(x[0]))
                column.append(blank)
                caps.append("")
        items.append(column)
        captions.append(caps)
    headers = [n.replace(": ", "\n") for n in names]
    return gallery(
        items,
        captions=captions,
        row_labels=[class_names[k] for k in classes],
        column_labels=headers,
        title=title,
        max_cell_in=0.55,
        columns=len(items),
    )


@styled
def family_samples(families: Mapping[str, torch.Tensor], per_family: int = 6) -> Figure:
    """A few images of each survey family, one row each."""
    return mosaic({name: list(x[:per_family].clamp(0.0, 1.0)) for name, x in families.items()})


@styled
def survey_chart(shares: Mapping[str, Mapping[float, float]], title: str) -> Figure:
    """Share of each family labelled with max probability above each threshold (darker:
    higher threshold)."""
    families = list(shares)
    thresholds = sorted({t for s in shares.values() for t in s})
    fig = new_figure(COLUMN_IN, 0.32 * len(families) * len(thresholds) ** 0.5 + 1.4)
    ax = fig.subplots()
    height = 0.8 / max(1, len(thresholds))
    y = np.arange(len(families))
    ramp = RAMP[-len(thresholds) :] if len(thresholds) <= len(RAMP) else None
    for i, t in enumerate(thresholds):
        ax.barh(
            y + (i - (len(thresholds) - 1) / 2) * height,
            [100 * shares[f].get(t, 0.0) for f in families],
            height,
            color=ramp[i] if ramp else None,
            label=f"> {100 * t:g} %",
        )
    ax.set_yticks(y, families)
    ax.tick_params(axis="y", length=0)
    ax.invert_yaxis()
    ax.set(xlabel="share of images (%) labelled with confidence", xlim=(0, 100), title=title)
    ax.legend(loc="lower right", title="confidence")
    ax.grid(axis="x", alpha=0.5)
    return fig


@styled
def evolution_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], target: float, title: str
) -> Figure:
    """Worst (solid) and median (thin) elite per generation, as 1 - p on a log axis so 99 %,
    99.99 % and 99.9999 % are evenly spaced; the target is a dotted line. One colour per model,
    the direct encoding drawn solid and the CPPN encoding dashed. curves: "model encoding" ->
    (worst, median)."""
    fig = new_figure(COLUMN_IN, 3.8)
    ax = fig.subplots()
    floor = 1e-9
    encodings: dict[str, str] = {}
    for name, (worst, median) in curves.items():
        model, _, encoding = name.partition(" ")
        style = encodings.setdefault(encoding or name, ("-", "--", ":")[len(encodings) % 3])
        colour = model_colour(model)
        gens = np.arange(len(worst))
        ax.plot(gens, np.maximum(1 - worst, floor), style, color=colour, lw=1.8)
        ax.plot(gens, np.maximum(1 - median, floor), style, color=colour, lw=0.8, alpha=0.7)
    ax.axhline(1 - target, color=BLACK, lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.invert_yaxis()
    ticks = [1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
    ax.set_yticks(ticks, ["0 %", "90 %", "99 %", "99.9 %", "99.99 %", "99.999 %", "99.9999 %"])
    ax.minorticks_off()
    ax.set(xlabel="generation", ylabel="probability of the class", title=title)
    models = list(dict.fromkeys(n.partition(" ")[0] for n in curves))
    handles = [Line2D([], [], color=model_colour(m), label=model_name(m)) for m in models]
    handles += [Line2D([], [], color=GREY, ls=s, label=e) for e, s in encodings.items()]
    handles += [
        Line2D([], [], color=GREY, lw=1.8, label="worst class"),
        Line2D([], [], color=GREY, lw=0.8, label="median class"),
        Line2D([], [], color=BLACK, lw=0.8, ls=":", label=f"target {confidence(target)}"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    ax.grid(alpha=0.5)
    return fig


@styled
def detector_chart(aurocs: Mapping[str, Mapping[str, float | None]], title: str) -> Figure:
    """AUROC per garbage family for each detector (0.5 is chance): aurocs[family][detector].
    The autoencoder's detector is drawn in the autoencoder's colour."""
    families = list(aurocs)
    detectors = sorted({d for a in aurocs.values() for d, v in a.items() if v is not None})
    fig = new_figure(COLUMN_IN, 0.32 * len(families) * max(1, len(detectors)) ** 0.5 + 1.4)
    ax = fig.subplots()
    y = np.arange(len(families))
    height = 0.8 / max(1, len(detectors))
    others = iter(SERIES)
    for i, d in enumerate(detectors):
        vals = [aurocs[f].get(d) for f in families]
        colour = GREEN if "autoencoder" in d else next(others)
        ax.barh(
            y + (i - (len(detectors) - 1) / 2) * height,
            [np.nan if v is None else v for v in vals],
            height,
            label=d,
            color=colour,
        )
    ax.axvline(0.5, color=BLACK, lw=0.8, ls=":", label="chance")
    ax.set_yticks(y, families)
    ax.tick_params(axis="y", length=0)
    ax.invert_yaxis()
    ax.set(xlabel="AUROC, test images against the family", xlim=(0, 1.02), title=title)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
    return fig
