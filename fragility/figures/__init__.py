"""matplotlib figures: results in, `matplotlib.figure.Figure` out.

Nothing here touches pyplot or picks a backend (importing this package changes no global
state); `to_png` renders a figure to bytes with the Agg canvas. Area modules
(`fragility.figures.training`, ...) hold the figures of one analysis each.

Every figure is drawn for the column it sits in. Three numbers make that work on a laptop, a
phone and paper:

- `COLUMN_IN`: a figure is 4 inches wide (wider only where it must be), shown at
  `DISPLAY_DPI` CSS pixels per inch (448 px) on a wide screen and squeezed to the width of a
  phone (about 360 px of a 390 px screen).
- `FONT_PT`: no text in a figure is smaller than 9 pt, so on that phone it still renders at
  9 / 72 x 360 / 4 = 11.2 px.
- `to_png` renders at twice `DISPLAY_DPI` (sharp on high-density screens and in print) and
  writes the figure's width and its smallest font size into the PNG, where the report page
  (and its browser test) read them.

Colour carries one meaning everywhere: `model_colour(name)` gives each model the same colour
in every figure (Okabe & Ito's colour-blind-safe palette); other categories take `SERIES`
colours, which no model uses, and ordered ones a light-to-dark ramp.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from fragility.figures._gallery import ColourBar, gallery
from fragility.figures.style import (
    COLUMN_IN,
    DISPLAY_DPI,
    DPI,
    FONT_PT,
    MODEL_COLOURS,
    PNG_SCALE,
    SERIES,
    STYLE,
    model_colour,
    styled,
)

if TYPE_CHECKING:  # tensors are read through .detach(): the scenario figures need no torch
    import torch


def new_figure(width: float = COLUMN_IN, height: float = 3.0) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def smallest_font_pt(fig: Figure) -> float:
    """The smallest font size (points) of any visible, non-empty text in a drawn figure."""
    from matplotlib.text import Text

    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_alpha() != 0
    ]
    return float(min(sizes)) if sizes else FONT_PT


def _png_text_chunk(key: str, value: str) -> bytes:
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    return (
        struct.pack(">I", len(data))
        + b"tEXt"
        + data
        + struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF)
    )


def to_png(fig: Figure) -> bytes:
    """Render `fig` to PNG bytes (Agg) at twice the display resolution, in a 256-colour
    palette. The PNG carries the
    figure's width in inches and its smallest font in points (tEXt chunks
    `fragility:width-in` and `fragility:min-font-pt`): the page sizes the image from them and
    its browser test checks that no label renders below 11 px on a phone. Deterministic for
    the same figure and versions."""
    import matplotlib
    from PIL import Image  # matplotlib's own dependency

    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="png", dpi=DISPLAY_DPI * PNG_SCALE, metadata={"Software": None})
    # 256 colours are all a chart or a gallery of small images needs: a palette PNG is a third
    # of the size of the full-colour one, which keeps the one-file page small.
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        palette = img.convert("RGB").quantize(
            256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
    # The quantiser averages each bucket, which turns the white background faintly grey: the
    # figure would sit in a visible box on the white page. Its lightest colour is white.
    colours = palette.getpalette() or []
    lightest = max(range(len(colours) // 3), key=lambda i: sum(colours[3 * i : 3 * i + 3]))
    if min(colours[3 * lightest : 3 * lightest + 3]) >= 240:
        colours[3 * lightest : 3 * lightest + 3] = [255, 255, 255]
        palette.putpalette(colours)
    buf = io.BytesIO()
    dpi = DISPLAY_DPI * PNG_SCALE
    palette.save(buf, format="PNG", dpi=(dpi, dpi))
    png = buf.getvalue()
    chunks = _png_text_chunk("fragility:width-in", f"{fig.get_figwidth():.4f}")
    chunks += _png_text_chunk("fragility:min-font-pt", f"{smallest_font_pt(fig):.2f}")
    end = png.rindex(b"IEND") - 4  # the IEND chunk's length field
    return png[:end] + chunks + png[end:]


def as_image(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) in [0, 1] -> (H, W) or (H, W, 3) numpy for imshow."""
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))
    return np.clip(a, 0.0, 1.0)


def rgb(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """An image in [0, 1] (C, H, W) or (H, W) -> (H, W, 3) for a gallery cell."""
    a = as_image(x)
    return np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a


def colour_map(
    a: np.ndarray, cmap: str = "gray", vmin: float = 0.0, vmax: float = 1.0
) -> np.ndarray:
    """(H, W) values -> (H, W, 3) colours in [0, 1] through a matplotlib colour map."""
    from matplotlib import colormaps

    span = (vmax - vmin) or 1.0
    return colormaps[cmap](np.clip((a - vmin) / span, 0.0, 1.0))[..., :3]


@styled
def image_grid(
    images: torch.Tensor | Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    columns: int | None = None,
    suptitle: str | None = None,
) -> Figure:
    """Images (N, C, H, W) in a gallery that fits the column, each titled above."""
    cells = [[rgb(x)] for x in images]
    captions = [[t] for t in titles] if titles is not None else None
    return gallery(cells, captions=captions, columns=columns, title=suptitle)


__all__ = [
    "COLUMN_IN",
    "DISPLAY_DPI",
    "FONT_PT",
    "MODEL_COLOURS",
    "SERIES",
    "STYLE",
    "ColourBar",
    "as_image",
    "colour_map",
    "gallery",
    "image_grid",
    "model_colour",
    "new_figure",
    "rgb",
    "styled",
    "to_png",
]
