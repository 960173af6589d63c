"""Figures of confident garbage: galleries, the noise survey, evolution curves, detectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from fragility.figures import as_image, new_figure

FRAME = (0.62, 0.68, 0.78)  # the frame around each gallery image


def confidence_label(p: float) -> str:
    """99.99 % style, with enough digits to tell 99.99 % from 99.9 % and from 100 %."""
    if p >= 0.9999995:
        return "> 99.9999 %"
    if p < 0.999:
        return f"{100 * p:.2f} %"
    return f"{100 * p:.4f}".rstrip("0").rstrip(".") + " %"


def mosaic(
    rows: Mapping[str, Sequence[torch.Tensor]],
    captions: Mapping[str, Sequence[str]] | None = None,
    *,
    title: str | None = None,
    cell: float = 0.75,
) -> Figure:
    """Rows of images drawn as one picture with a caption under each image and a label per
    row. One imshow instead of an axes per image: a 60-image gallery renders in a fraction of
    the time `image_grid` needs."""
    names = list(rows)
    columns = max(len(v) for v in rows.values())
    first = next(iter(rows.values()))[0]
    h, w = int(first.shape[-2]), int(first.shape[-1])
    # Each image sits in a thin blue-grey frame, so all-white and all-black images show.
    pitch_x = w + 2 + max(1, w // 8)
    pitch_y = h + 2 + max(1, h // 8) + (h // 2 if captions else 0)
    canvas = np.ones((pitch_y * len(names), pitch_x * columns, 3))
    for r, name in enumerate(names):
        for c, img in enumerate(rows[name]):
            y, x = r * pitch_y, c * pitch_x
            canvas[y : y + h + 2, x : x + w + 2] = FRAME
            grey = as_image(img.mean(0) if img.dim() == 3 else img)
            canvas[y + 1 : y + h + 1, x + 1 : x + w + 1] = grey[..., None]
    width = cell * columns
    fig = new_figure(
        width + 0.8, width * canvas.shape[0] / canvas.shape[1] + (0.5 if title else 0.2)
    )
    ax = fig.subplots()
    ax.imshow(canvas, interpolation="nearest")
    ax.set_xticks([])
    ax.tick_params(length=0)
    ax.set_yticks([r * pitch_y + h / 2 + 0.5 for r in range(len(names))], names, fontsize=8)
    for side in ax.spines.values():
        side.set_visible(False)
    if captions:
        for r, name in enumerate(names):
            for c, text in enumerate(captions.get(name, ())):
                ax.text(
                    c * pitch_x + w / 2 + 0.5,
                    r * pitch_y + h + 2,
                    text,
                    ha="center",
                    va="top",
                    fontsize=6,
                )
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def fooling_gallery(
    rows: Mapping[str, tuple[torch.Tensor, Sequence[int], Sequence[float]]],
    class_names: Sequence[str],
    title: str | None = None,
) -> Figure:
    """One row per method: each class's fooling image captioned with class and confidence."""
    images = {name: list(x) for name, (x, _, _) in rows.items()}
    captions = {
        name: [
            f"{class_names[k]}: {confidence_label(float(p))}"
            for k, p in zip(classes, conf, strict=True)
        ]
        for name, (_, classes, conf) in rows.items()
    }
    return mosaic(images, captions, title=title, cell=0.95)


def family_samples(families: Mapping[str, torch.Tensor], per_family: int = 6) -> Figure:
    """A few images of each survey family, one row each."""
    return mosaic({name: list(x[:per_family].clamp(0.0, 1.0)) for name, x in families.items()})


def survey_chart(shares: Mapping[str, Mapping[float, float]], title: str) -> Figure:
    """Share of each family labelled with max probability above each threshold."""
    families = list(shares)
    thresholds = sorted({t for s in shares.values() for t in s})
    fig = new_figure(7.5, 3.2)
    ax = fig.subplots()
    width = 0.8 / max(1, len(thresholds))
    x = np.arange(len(families))
    for i, t in enumerate(thresholds):
        ax.bar(
            x + (i - (len(thresholds) - 1) / 2) * width,
            [100 * shares[f].get(t, 0.0) for f in families],
            width,
            label=f"max p > {t:g}",
        )
    ax.set_xticks(x, families, rotation=30, ha="right", fontsize=7)
    ax.set(ylabel="share of images (%)", ylim=(0, 100), title=title)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return fig


def evolution_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], target: float, title: str
) -> Figure:
    """Worst and median elite per generation, as 1 - p on a log axis so 99 %, 99.99 % and
    99.9999 % are evenly spaced; the target is a dashed line. curves: name -> (worst, median).
    """
    fig = new_figure(6.0, 3.2)
    ax = fig.subplots()
    floor = 1e-9
    for i, (name, (worst, median)) in enumerate(curves.items()):
        colour = f"C{i}"
        gens = np.arange(len(worst))
        ax.plot(gens, np.maximum(1 - worst, floor), color=colour, label=f"{name}: worst class")
        ax.plot(
            gens, np.maximum(1 - median, floor), "--", color=colour, label=f"{name}: median class"
        )
    ax.axhline(1 - target, color="k", lw=0.8, ls=":", label=f"target {confidence_label(target)}")
    ax.set_yscale("log")
    ax.invert_yaxis()
    ticks = [1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
    ax.set_yticks(ticks, ["0 %", "90 %", "99 %", "99.9 %", "99.99 %", "99.999 %", "99.9999 %"])
    ax.set(xlabel="generation", ylabel="probability of the class", title=title)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    return fig


def detector_chart(aurocs: Mapping[str, Mapping[str, float | None]], title: str) -> Figure:
    """AUROC per garbage family for each detector (0.5 is chance): aurocs[family][detector]."""
    families = list(aurocs)
    detectors = sorted({d for a in aurocs.values() for d, v in a.items() if v is not None})
    fig = new_figure(7.5, 3.2)
    ax = fig.subplots()
    x = np.arange(len(families))
    width = 0.8 / max(1, len(detectors))
    for i, d in enumerate(detectors):
        vals = [aurocs[f].get(d) for f in families]
        ax.bar(
            x + (i - (len(detectors) - 1) / 2) * width,
            [np.nan if v is None else v for v in vals],
            width,
            label=d,
        )
    ax.axhline(0.5, color="k", lw=0.8, ls=":", label="chance")
    ax.set_xticks(x, families, rotation=30, ha="right", fontsize=7)
    ax.set(ylabel="AUROC (test vs family)", ylim=(0, 1.02), title=title)
    ax.legend(fontsize=7)
    return fig
