"""Figures of the appendix: loss curves, paths against backprop's cost, and their timing."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from fragility.figures import new_figure
from fragility.neurons import CostTable, GradientTiming, LossCurve, Walkthrough


def loss_curves(curves: Sequence[LossCurve]) -> Figure:
    """Loss against step of gradient descent, one line per net (log scale)."""
    fig = new_figure(5.5, 3.4)
    ax = fig.subplots()
    for c in curves:
        ax.plot(range(len(c.losses)), c.losses, label=f"{c.name} (r = {c.learning_rate:g})")
    ax.set(
        xlabel="step of gradient descent",
        ylabel="loss L = 1/2 (d - z)^2",
        yscale="log",
        title="Hand-derived gradients train both nets",
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def path_costs(cost: CostTable, widths: Sequence[int] = (2, 4, 8)) -> Figure:
    """Left: paths and both gradients' multiply-adds against depth for a few widths.
    Right: the same against width at the greatest depth. Log scale: a straight rising line
    on the left is exponential growth."""
    fig = new_figure(9.0, 3.6)
    ax_depth, ax_width = fig.subplots(1, 2)
    series = (
        (cost.paths, "-", "paths"),
        (cost.path_sum, "--", "path-sum multiply-adds"),
        (cost.backprop, ":", "backprop multiply-adds"),
    )
    for i, w in enumerate(widths):
        col = cost.widths.index(w)
        for grid, style, what in series:
            ax_depth.plot(
                cost.depths,
                [row[col] for row in grid],
                style,
                color=f"C{i}",
                marker="o",
                markersize=3,
                label=f"W = {w}: {what}",
            )
    ax_depth.set(xlabel="depth D (layers)", ylabel="count", yscale="log", title="Against depth")
    last = len(cost.depths) - 1
    for grid, style, what in series:
        ax_width.plot(
            cost.widths, grid[last], style, color="k", marker="o", markersize=3, label=what
        )
    ax_width.set(
        xlabel="width W (neurons per layer)",
        ylabel="count",
        yscale="log",
        title=f"Against width, D = {cost.depths[last]}",
    )
    for ax in (ax_depth, ax_width):
        ax.grid(alpha=0.3, which="major")
    ax_depth.legend(fontsize=6, ncol=1)
    ax_width.legend(fontsize=7)
    return fig


def gradient_timing(rows: Sequence[GradientTiming]) -> Figure:
    """Seconds per gradient against depth: the naive path sum and backprop, both pure Python."""
    fig = new_figure(5.5, 3.4)
    ax = fig.subplots()
    for i, w in enumerate(sorted({r.width for r in rows})):
        mine = [r for r in rows if r.width == w]
        depths = [r.depth for r in mine]
        ax.plot(depths, [r.path_sum_s for r in mine], "-o", color=f"C{i}", markersize=3,
                label=f"W = {w}: path sum")  # fmt: skip
        ax.plot(depths, [r.backprop_s for r in mine], ":o", color=f"C{i}", markersize=3,
                label=f"W = {w}: backprop")  # fmt: skip
    ax.set(
        xlabel="depth D (layers)",
        ylabel="seconds per gradient",
        yscale="log",
        title="Timing, where the path sum still finishes",
    )
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=7)
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
