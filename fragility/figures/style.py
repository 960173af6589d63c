"""The house style of every figure: sizes, fonts and one colour per model.

Read with `fragility.figures` (which re-exports all of it); kept apart so the gallery and the
area modules import it without importing each other.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from cycler import cycler

DISPLAY_DPI = 112  # CSS pixels per inch of figure on a wide screen
PNG_SCALE = 2  # PNG pixels per CSS pixel
DPI = DISPLAY_DPI  # the figures' own dpi (layout only: text and lines are sized in points)
COLUMN_IN = 4.0  # the width of a figure in the text column
FONT_PT = 9.0  # the smallest text any figure draws
TITLE_PT = 10.0

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
# vision deficiency, and in greyscale by lightness for the first pairs.
BLUE, VERMILLION, GREEN, PURPLE = "#0072B2", "#D55E00", "#009E73", "#CC79A7"
SKY, ORANGE, YELLOW, BLACK = "#56B4E9", "#E69F00", "#F0E442", "#000000"
GREY, LIGHT_GREY = "#6E6E6E", "#BBBBBB"
MODEL_COLOURS = {"mlp": BLUE, "cnn": VERMILLION, "autoencoder": GREEN}
_SPARE_MODEL_COLOURS = (PURPLE, "#332288", "#882255", "#117733")
SERIES = (GREY, SKY, ORANGE, BLACK, YELLOW)  # categories that are not models
RAMP = ("#C6DBEF", "#6BAED6", "#2171B5", "#08306B")  # ordered categories, light to dark
STYLES = ("-", "--", ":", "-.")  # the second dimension of a line chart (attack, split, ...)

STYLE: dict[str, Any] = {
    "font.size": FONT_PT,
    "axes.titlesize": TITLE_PT,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 6.0,
    "axes.labelsize": FONT_PT,
    "axes.labelcolor": "#222222",
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=SERIES),
    "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.fontsize": FONT_PT,
    "legend.title_fontsize": FONT_PT,
    "legend.frameon": False,
    "legend.handlelength": 1.8,
    "figure.titlesize": TITLE_PT,
    "figure.titleweight": "bold",
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.0,
    "image.interpolation": "nearest",
    "savefig.facecolor": "white",
}

F = TypeVar("F", bound=Callable[..., Any])


def styled(fn: F) -> F:
    """Build the figure under the house style (fonts, colours, spines). matplotlib reads most
    of these when an artist is created, so the style wraps the drawing function itself."""
    import matplotlib

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def model_colour(name: str) -> str:
    """The colour of a model in every figure: 'mlp' blue, 'cnn' vermillion, 'autoencoder'
    green; any other name a fixed spare colour chosen by the name (not by drawing order)."""
    key = name.split()[0].lower() if name else name
    if key in MODEL_COLOURS:
        return MODEL_COLOURS[key]
    return _SPARE_MODEL_COLOURS[zlib.crc32(key.encode()) % len(_SPARE_MODEL_COLOURS)]
