"""matplotlib figures: results in, `matplotlib.figure.Figure` out.

Nothing here touches pyplot or picks a backend (importing this package changes no global
state); `to_png` renders a figure to bytes with the Agg canvas. Area modules
(`fragility.figures.training`, ...) hold the figures of one analysis each.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:  # tensors are read through .detach(): the scenario figures need no torch
    import torch

DPI = 110


def new_figure(width: float = 6.0, height: float = 4.0) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def to_png(fig: Figure) -> bytes:
    """Render `fig` to PNG bytes (Agg). Deterministic for the same figure and versions."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def as_image(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) in [0, 1] -> (H, W) or (H, W, 3) numpy for imshow."""
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))
    return np.clip(a, 0.0, 1.0)


def image_grid(
    images: torch.Tensor | Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    columns: int = 10,
    cell: float = 1.1,
    cmap: str = "gray",
    suptitle: str | None = None,
    row_labels: Sequence[str] | None = None,
) -> Figure:
    """Images (N, C, H, W) in a grid with optional titles under each and labels per row."""
    n = len(images)
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    fig = new_figure(columns * cell, rows * (cell + 0.25) + (0.3 if suptitle else 0))
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(as_image(images[i]), cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    if row_labels is not None:
        for r, label in enumerate(row_labels[:rows]):
            axes[r][0].set_ylabel(label, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig
