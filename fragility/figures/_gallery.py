"""One gallery for every picture made of small images: adversarial examples, fooling images,
unit maxima, weights, saliency maps, corruptions.

The geometry is worked out in inches before anything is drawn: each caption's width is
measured, and the gallery takes as many images per row as fit the column with captions at
full size (`FONT_PT`), wrapping the rest into further blocks. Small images are drawn with
nearest-neighbour upscaling, each in a thin frame so white and black images show. All cells
sit in one axes: a gallery of a hundred images renders in a fraction of the time a grid of
subplots takes.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from matplotlib.figure import Figure

from fragility.figures.style import COLUMN_IN, DPI, FONT_PT, TITLE_PT

GAP_IN = 0.07  # between images in a row
ROW_GAP_IN = 0.09  # between the rows of one block: a caption sits nearer its own image
BLOCK_GAP_IN = 0.16  # between blocks
MARGIN_IN = 0.04
LINE_IN = FONT_PT * 1.25 / 72


@dataclass(frozen=True)
class ColourBar:
    """A colour bar under the gallery: what the colours of the cells mean."""

    cmap: str
    vmin: float
    vmax: float
    label: str
    ticks: tuple[float, ...] | None = None
    tick_labels: tuple[str, ...] | None = None


@cache
def _measure():
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    return TextToPath(), FontProperties(size=FONT_PT), FontProperties(size=TITLE_PT, weight="bold")


def text_width_in(text: str, *, title: bool = False) -> float:
    """The drawn width of `text` (its longest line) in inches, at the gallery's font size."""
    measure, normal, bold = _measure()
    prop = bold if title else normal
    widths = [
        measure.get_text_width_height_descent(line, prop, ismath=False)[0]
        for line in text.split("\n")
        if line
    ]
    return max(widths, default=0.0) / 72


def _lines(text: str) -> int:
    return len(text.split("\n")) if text else 0


def gallery(
    items: Sequence[Sequence[np.ndarray]],
    *,
    captions: Sequence[Sequence[str]] | None = None,
    row_labels: Sequence[str] | None = None,
    column_labels: Sequence[str] | None = None,
    columns: int | None = None,
    title: str | None = None,
    width_in: float = COLUMN_IN,
    max_cell_in: float = 0.85,
    min_cell_in: float = 0.32,
    colour_bar: ColourBar | None = None,
) -> Figure:
    """Items side by side, each a column of k images (H, W, 3) in [0, 1], wrapped into blocks
    of at most `columns` items (default: as many as fit `width_in`).

    captions[i][r]: text above image r of item i (may be ""; "\\n" starts a line);
    row_labels[r]: left of image r in every block; column_labels[i]: above item i."""
    n = len(items)
    k = len(items[0])
    h, w = items[0][0].shape[:2]
    caps = [list(c) for c in captions] if captions is not None else [[""] * k for _ in items]
    band_lines = [max(_lines(caps[i][r]) for i in range(n)) for r in range(k)]
    head_lines = max((_lines(c) for c in column_labels or ()), default=0)
    need = max(
        (text_width_in(t) for t in [*(c for cs in caps for c in cs), *(column_labels or ())]),
        default=0.0,
    )
    label_w = max((text_width_in(t) for t in row_labels or ()), default=0.0)
    left = MARGIN_IN + (label_w + 0.08 if row_labels else 0.0)
    avail = width_in - left - MARGIN_IN
    fit = max(1, int((avail + GAP_IN) // (max(need, min_cell_in) + GAP_IN)))
    columns = max(1, min(n, fit, columns or n))
    columns = math.ceil(n / math.ceil(n / columns))  # blocks as even as they can be
    cell_w = min(max_cell_in, (avail + GAP_IN) / columns - GAP_IN)
    cell_w = max(cell_w, need)
    cell_h = cell_w * h / w
    bands = [lines * LINE_IN + (0.03 if lines else 0.0) for lines in band_lines]
    head = head_lines * LINE_IN + (0.05 if head_lines else 0.0)
    block_h = head + sum(bands) + k * cell_h + (k - 1) * ROW_GAP_IN
    blocks = math.ceil(n / columns)
    content_w = left + columns * (cell_w + GAP_IN) - GAP_IN + MARGIN_IN
    fig_w = min(width_in, max(content_w, 1.0))
    title_lines = []
    if title:
        room = (fig_w - 2 * MARGIN_IN) / text_width_in(title, title=True)
        chars = max(10, int(len(title) * room))
        title_lines = textwrap.wrap(title, chars)
    top = MARGIN_IN + (len(title_lines) * TITLE_PT * 1.3 / 72 + 0.08 if title_lines else 0.0)
    bar_h = 0.62 if colour_bar else 0.0
    fig_h = top + blocks * block_h + (blocks - 1) * BLOCK_GAP_IN + bar_h + MARGIN_IN
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    frames = []
    for b in range(blocks):
        y = top + b * (block_h + BLOCK_GAP_IN)
        members = range(b * columns, min(n, (b + 1) * columns))
        for c, i in enumerate(members):
            x = left + c * (cell_w + GAP_IN)
            if column_labels is not None and column_labels[i]:
                ax.text(
                    x + cell_w / 2,
                    y + head - 0.03,
                    column_labels[i],
                    ha="center",
                    va="bottom",
                    fontsize=FONT_PT,
                    weight="bold",
                    linespacing=1.1,
                )
        yr = y + head
        for r in range(k):
            yr += bands[r]
            if row_labels is not None and row_labels[r]:
                ax.text(
                    left - 0.08,
                    yr + cell_h / 2,
                    row_labels[r],
                    ha="right",
                    va="center",
                    fontsize=FONT_PT,
                    linespacing=1.1,
                )
            for c, i in enumerate(members):
                x = left + c * (cell_w + GAP_IN)
                ax.imshow(
                    items[i][r],
                    extent=(x, x + cell_w, yr + cell_h, yr),
                    interpolation="nearest",
                    aspect="auto",
                    vmin=0.0,
                    vmax=1.0,
                )
                frames.append(
                    [
                        (x, yr),
                        (x + cell_w, yr),
                        (x + cell_w, yr + cell_h),
                        (x, yr + cell_h),
                        (x, yr),
                    ]
                )
                if caps[i][r]:
                    ax.text(
                        x + cell_w / 2,
                        yr - 0.025,
                        caps[i][r],
                        ha="center",
                        va="bottom",
                        fontsize=FONT_PT,
                        linespacing=1.1,
                    )
            yr += cell_h + ROW_GAP_IN
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(frames, colors="0.65", linewidths=0.5))
    for j, line in enumerate(title_lines):
        ax.text(
            MARGIN_IN,
            MARGIN_IN + j * TITLE_PT * 1.3 / 72,
            line,
            ha="left",
            va="top",
            fontsize=TITLE_PT,
            weight="bold",
        )
    ax.set_xlim(0, fig_w)
    ax.set_ylim(fig_h, 0)
    if colour_bar is not None:
        _draw_colour_bar(fig, colour_bar, left, fig_w, fig_h)
    return fig


def _draw_colour_bar(fig: Figure, bar: ColourBar, left: float, fig_w: float, fig_h: float):
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    x0 = max(left, 0.25)
    width = min(2.6, fig_w - x0 - 0.25)
    cax = fig.add_axes((x0 / fig_w, 0.36 / fig_h, width / fig_w, 0.11 / fig_h))
    mappable = ScalarMappable(Normalize(bar.vmin, bar.vmax), colormaps[bar.cmap])
    cb = fig.colorbar(mappable, cax=cax, orientation="horizontal")
    cb.outline.set_linewidth(0.5)
    cb.ax.tick_params(labelsize=FONT_PT, length=2, pad=1)
    if bar.ticks is not None:
        cb.set_ticks(list(bar.ticks), labels=list(bar.tick_labels) if bar.tick_labels else None)
    cb.ax.set_title(bar.label, fontsize=FONT_PT, loc="left", pad=3, weight="normal")
