"""The case study's own figure: the operator's attention beside the system's timeline.

Results in, `matplotlib.figure.Figure` out (no pyplot, no backend choice). Spans carry their
certainty mark; what only the press reported (S) is hatched, so the record and the accounts of
it can be told apart at a glance and in print.

Drawn in the house style (`fragility.figures.styled`: 9 pt text, the colour-blind-safe palette,
the scenario figures' colour for each class and planner state) at 6.5 inches: the width of a
laptop's or a printed page's text column; a phone shows it in a frame that scrolls sideways
rather than shrinking its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from fragility.figures import new_figure, styled
from fragility.figures._gallery import text_width_in
from fragility.figures.style import GREEN, VERMILLION
from scenarios.figures import CLASS_COLOURS, MODE_COLOURS

PRESS_ONLY = "S"
WIDTH_IN = 6.5
AXIS_IN = 4.9  # the width of each panel's time axis, inside the lane names
_BEFORE = FuncFormatter(lambda x, _: f"{abs(x):g}" if x <= 0 else f"+{x:g}")
COLOURS = {
    "vehicle": CLASS_COLOURS["vehicle"],
    "other": CLASS_COLOURS["other"],
    "bicycle": CLASS_COLOURS["bicycle"],
    "vehicle / other": "#A9D6F1",  # between the two, lighter than either
    "cruising": MODE_COLOURS["cruise"],
    "waits": MODE_COLOURS["suppress"],
    "alert": MODE_COLOURS["slowdown"],
    "disengaged": MODE_COLOURS["disengaged"],
    "down": VERMILLION,
    "road": GREEN,
    "stream": VERMILLION,
    "distracted": VERMILLION,
}


@dataclass(frozen=True)
class Span:
    """Something seen or done over an interval (start == end: a moment).

    Times in the unit of the panel it belongs to, relative to the record's moment of impact
    (negative before it). `kind` picks the colour; `mark` is the fact's certainty.
    """

    lane: str
    label: str
    start: float
    end: float
    kind: str
    mark: str
    show_mark: bool = True  # False where the lane's name carries the mark


def _draw(
    ax, spans: Sequence[Span], lanes: Sequence[str], lo: float, hi: float
) -> dict[str, tuple[str, bool]]:
    """Draw the lanes; a label goes inside its bar, or just after it where the lane is free,
    or else into the key under the figure. Returns the key's entries: text -> (colour,
    hatched)."""
    key: dict[str, tuple[str, bool]] = {}
    per_in = (hi - lo) / AXIS_IN  # time units per inch of axis
    for row, lane in enumerate(lanes):
        y = len(lanes) - 1 - row
        mine = sorted((s for s in spans if s.lane == lane), key=lambda s: s.start)
        for i, s in enumerate(mine):
            hatch = "////" if s.mark == PRESS_ONLY else None
            colour = COLOURS.get(s.kind, "0.7")
            text = f"{s.label} [{s.mark}]" if s.show_mark else s.label
            need = (text_width_in(text) + 0.06) * per_in
            if s.end > s.start:
                a, b = max(s.start, lo), min(s.end, hi)
                ax.broken_barh(
                    [(a, b - a)],
                    (y + 0.15, 0.7),
                    facecolors=colour,
                    edgecolor="black" if hatch else "white",
                    hatch=hatch,
                    linewidth=0.4,
                    alpha=0.55 if hatch else 0.9,
                )
                free = (mine[i + 1].start if i + 1 < len(mine) else hi) - b
                dark = colour == MODE_COLOURS["disengaged"]
                if b - a >= need:
                    ax.text(
                        (a + b) / 2,
                        y + 0.5,
                        text,
                        ha="center",
                        va="center",
                        color="white" if dark else "black",
                    )
                elif free >= need:
                    ax.text(b, y + 0.5, " " + text, ha="left", va="center")
                else:
                    key.setdefault(text, (colour, hatch is not None))
            else:
                after = s.start > 0
                ax.plot([s.start], [y + 0.5], marker="v", color=colour, ms=7)
                ax.annotate(
                    text,
                    (s.start, y + 0.5),
                    xytext=(5 if after else -5, 0),
                    textcoords="offset points",
                    ha="left" if after else "right",
                    va="center",
                )
    ax.set_yticks([len(lanes) - 1 - i + 0.5 for i in range(len(lanes))])
    ax.set_yticklabels(lanes)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(0, len(lanes))
    ax.set_xlim(lo, hi)
    ax.axvline(0.0, color="black", lw=1.2)
    ax.xaxis.set_major_formatter(_BEFORE)
    ax.grid(axis="x", alpha=0.5)
    return key


@styled
def attention_timeline(
    trip: Sequence[Span],
    trip_lanes: Sequence[str],
    trip_range: tuple[float, float],
    last: Sequence[Span],
    last_lanes: Sequence[str],
    last_range: tuple[float, float],
    trip_xlabel: str,
) -> Figure:
    """Two panels: the trip in minutes, the last seconds in seconds; the crash at 0 in both."""
    fig = new_figure(WIDTH_IN, 4.9)
    top, bottom = fig.subplots(
        2, 1, gridspec_kw={"height_ratios": [len(trip_lanes), len(last_lanes)]}
    )
    top.set_title("The trip: the operator's attention, from the record and from the press")
    key = _draw(top, trip, trip_lanes, *trip_range)
    top.set_xlabel(trip_xlabel)
    bottom.set_title("The last seconds: what the system saw and did, beside the operator")
    key |= _draw(bottom, last, last_lanes, *last_range)
    bottom.set_xlabel("seconds before impact (the record's clock)")
    # Each panel's title starts over the lane names, at the figure's edge: laid out once to
    # know where the axes begin.
    fig.get_layout_engine().execute(fig)
    for ax in (top, bottom):
        box = ax.get_position()
        ax.set_title(
            ax.get_title(loc="left"),
            loc="left",
            x=(0.04 - box.x0 * WIDTH_IN) / (box.width * WIDTH_IN),
        )
    fig.legend(
        handles=[
            *(
                Patch(
                    facecolor=colour,
                    edgecolor="black" if hatched else "white",
                    hatch="////" if hatched else None,
                    label=text,
                )
                for text, (colour, hatched) in key.items()
            ),
            Patch(facecolor="0.8", edgecolor="white", label="the NTSB record [Q, P]"),
            Patch(
                facecolor="0.8",
                edgecolor="black",
                hatch="////",
                label="reported by the press only [S]",
            ),
        ],
        loc="outside lower center",
        ncols=2,
        frameon=False,
    )
    return fig
