"""The case study's own figure: the operator's attention beside the system's timeline.

Results in, `matplotlib.figure.Figure` out (no pyplot, no backend choice). Spans carry their
certainty mark; what only the press reported (S) is hatched, so the record and the accounts of
it can be told apart at a glance and in print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from fragility.figures import new_figure

PRESS_ONLY = "S"
CHAR = 0.0058  # a 6.5 pt character's width as a share of the axis (9 inch figure)
_BEFORE = FuncFormatter(lambda x, _: f"{abs(x):g}" if x <= 0 else f"+{x:g}")
COLOURS = {
    "vehicle": "tab:blue",
    "other": "0.6",
    "bicycle": "tab:purple",
    "vehicle / other": "tab:cyan",
    "cruising": "0.85",
    "waits": "gold",
    "alert": "tab:orange",
    "disengaged": "0.3",
    "down": "tab:red",
    "road": "tab:green",
    "stream": "tab:red",
    "distracted": "tab:red",
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


def _draw(ax, spans: Sequence[Span], lanes: Sequence[str], lo: float, hi: float) -> None:
    for row, lane in enumerate(lanes):
        y = len(lanes) - 1 - row
        for s in (s for s in spans if s.lane == lane):
            hatch = "////" if s.mark == PRESS_ONLY else None
            colour = COLOURS.get(s.kind, "0.7")
            text = f"{s.label} [{s.mark}]" if s.show_mark else s.label
            if s.end > s.start:
                a, b = max(s.start, lo), min(s.end, hi)
                narrow = (b - a) / (hi - lo) < (len(text) + 1) * CHAR
                ax.broken_barh(
                    [(a, b - a)],
                    (y + 0.15, 0.7),
                    facecolors=colour,
                    edgecolor="black" if hatch else "white",
                    hatch=hatch,
                    linewidth=0.4,
                    alpha=0.55 if hatch else 0.9,
                )
                # A label too long for its bar goes just after the bar's end.
                ax.text(
                    b if narrow else (a + b) / 2,
                    y + 0.5,
                    (" " + text) if narrow else text,
                    ha="left" if narrow else "center",
                    va="center",
                    fontsize=6.5,
                    clip_on=True,
                )
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
                    fontsize=6.5,
                )
    ax.set_yticks([len(lanes) - 1 - i + 0.5 for i in range(len(lanes))])
    ax.set_yticklabels(lanes, fontsize=7.5)
    ax.set_ylim(0, len(lanes))
    ax.set_xlim(lo, hi)
    ax.axvline(0.0, color="black", lw=1.2)
    ax.xaxis.set_major_formatter(_BEFORE)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="x", labelsize=7.5)


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
    fig = new_figure(9.0, 5.4)
    top, bottom = fig.subplots(
        2, 1, gridspec_kw={"height_ratios": [len(trip_lanes), len(last_lanes)]}
    )
    _draw(top, trip, trip_lanes, *trip_range)
    top.set_xlabel(trip_xlabel, fontsize=8)
    top.set_title(
        "The trip: the operator's attention, from the record and from the press", fontsize=9
    )
    _draw(bottom, last, last_lanes, *last_range)
    bottom.set_xlabel("seconds before impact (the record's clock)", fontsize=8)
    bottom.set_title(
        "The last seconds: what the system saw and did, beside the operator", fontsize=9
    )
    fig.legend(
        handles=[
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
        fontsize=7,
        frameon=False,
    )
    return fig
