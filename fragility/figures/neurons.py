"""Figures of the appendix: loss curves, paths against backprop's cost, and their timing."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fragility.figures import COLUMN_IN, new_figure, styled
from fragility.figures.style import BLACK, GREY, RAMP, SKY
from fragility.neurons import CostTable, GradientTiming, LossCurve, Walkthrough

# The nets here are the lecture's small examples, not the report's models: they take
# non-model colours, and widths an ordered ramp.
NETS = (BLACK, SKY, GREY)


@styled
def loss_curves(curves: Sequence[LossCurve]) -> Figure:
    """Loss against step of gradient descent, one line per net (log scale)."""
    fig = new_figure(COLUMN_IN, 3.2)
    ax = fig.subplots()
    for i, c in enumerate(curves):
        ax.plot(
            range(len(c.losses)),
            c.losses,
            color=NETS[i % len(NETS)],
            label=f"{c.name} (rate {c.learning_rate:g})",
        )
    ax.set(
        xlabel="step of gradient descent",
        ylabel="loss ½ (d − z)²",
        yscale="log",
        title="Hand-derived gradients train both nets",
    )
    ax.grid(alpha=0.5, which="major")
    ax.legend()
    return fig


def _ramp(i: int, n: int) -> str:
    return RAMP[min(len(RAMP) - 1, i + max(0, len(RAMP) - n))]


@styled
def path_costs(cost: CostTable, widths: Sequence[int] = (2, 4, 8)) -> Figure:
    """Top: paths and both gradients' multiply-adds against depth for a few widths (darker:
    wider). Bottom: the same against width at the greatest depth. Log scale: a straight rising
    line on top is exponential growth."""
    fig = new_figure(COLUMN_IN, 5.2)
    ax_depth, ax_width = fig.subplots(2, 1)
    series = (
        (cost.paths, "-", "paths"),
        (cost.path_sum, "--", "path-sum multiply-adds"),
        (cost.backprop, ":", "backprop multiply-adds"),
    )
    for i, w in enumerate(widths):
        col = cost.widths.index(w)
        for grid, style, _ in series:
            ax_depth.plot(
                cost.depths,
                [row[col] for row in grid],
                style,
                marker="o",
                markersize=3,
                color=_ramp(i, len(widths)),
            )
    ax_depth.set(xlabel="depth D (layers)", ylabel="count", yscale="log", title="Against depth")
    last = len(cost.depths) - 1
    for grid, style, _ in series:
        ax_width.plot(cost.widths, grid[last], style, color=BLACK, marker="o", markersize=3)
    ax_width.set(
        xlabel="width W (neurons per layer)",
        ylabel="count",
        yscale="log",
        title=f"Against width, D = {cost.depths[last]}",
    )
    for ax in (ax_depth, ax_width):
        ax.grid(alpha=0.5, which="major")
        ax.minorticks_off()
    ax_depth.legend(
        handles=[
            Line2D([], [], color=_ramp(i, len(widths)), label=f"W = {w}")
            for i, w in enumerate(widths)
        ],
        loc="upper left",
    )
    ax_width.legend(
        handles=[Line2D([], [], color=GREY, ls=s, label=what) for _, s, what in series],
        loc="upper left",
    )
    return fig


@styled
def gradient_timing(rows: Sequence[GradientTiming]) -> Figure:
    """Seconds per gradient against depth: the naive path sum (solid) and backprop (dotted),
    both pure Python, darker for wider nets."""
    fig = new_figure(COLUMN_IN, 3.4)
    ax = fig.subplots()
    widths = sorted({r.width for r in rows})
    for i, w in enumerate(widths):
        mine = [r for r in rows if r.width == w]
        depths = [r.depth for r in mine]
        colour = _ramp(i, len(widths))
        ax.plot(depths, [r.path_sum_s for r in mine], "-o", color=colour, markersize=3)
        ax.plot(depths, [r.backprop_s for r in mine], ":o", color=colour, markersize=3)
    ax.set(
        xlabel="depth D (layers)",
        ylabel="seconds per gradient",
        yscale="log",
        title="Timing, where the path sum still finishes",
    )
    ax.grid(alpha=0.5, which="major")
    ax.minorticks_off()
    handles = [
        Line2D([], [], color=_ramp(i, len(widths)), label=f"W = {w}") for i, w in enumerate(widths)
    ]
    handles += [
        Line2D([], [], color=GREY, label="path sum"),
        Line2D([], [], color=GREY, ls=":", label="backprop"),
    ]
    ax.legend(handles=handles, loc="upper left", ncol=2)
    return fig


def appendix_figures(
    walk: Walkthrough, timings: Sequence[GradientTiming] | None = None
) -> dict[str, Figure]:
    """The appendix's figures by file stem: loss curves, path counts, and timing if given."""
    figures = {
        "neurons-loss": loss_curves(walk.curves),
        "neurons-paths": path_costs(walk.cost),
    }
    if timings:
        figures["neurons-timing"] = gradient_timing(timings)
    return figures
