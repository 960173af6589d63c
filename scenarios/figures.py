"""Figures of scenario runs: results in, `matplotlib.figure.Figure` (or GIF bytes) out.

No pyplot and no backend choice: figures come from `fragility.figures.new_figure`, and the GIF's
frames are drawn on an Agg canvas created for each figure. The x axis of time plots reads as
the record does: seconds before the record's moment of impact.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from fragility.figures import COLUMN_IN, FONT_PT, new_figure, styled
from fragility.figures.style import (
    BLUE,
    GREEN,
    GREY,
    LIGHT_GREY,
    ORANGE,
    PURPLE,
    RAMP,
    SKY,
    VERMILLION,
    YELLOW,
)
from scenarios import planner, tempe2018
from scenarios.simulate import RunResult, TraceRow
from scenarios.spec import CLASSES, MPH
from scenarios.sweep import SweepResult
from scenarios.world import Road

# One colour per meaning, from the colour-blind-safe palette of the report's figures.
# (vehicle, bicycle, pedestrian, other, unknown); green is kept for the good states (eyes on
# the road, avoiding), so no class wears it.
CLASS_COLOURS = dict(zip(CLASSES, (SKY, PURPLE, BLUE, LIGHT_GREY, YELLOW), strict=True))
# Predicted-path kinds take Tol's muted colours, none of which a class or a mode uses.
KIND_COLOURS = {
    "none": "white",
    "static": "#DDDDDD",
    "lane": "#332288",
    "motion": "#117733",
    "reach": "#882255",
}
MODE_COLOURS = {
    "cruise": "#E4E4E4",
    "suppress": YELLOW,
    "avoid": GREEN,
    "slowdown": ORANGE,
    "mitigate": VERMILLION,
    "disengaged": "#333333",
}
CONFLICT = VERMILLION  # the ADS predicts her on the SUV's path
SUV_PATH = "#8FD3F5"  # where the SUV will be in the next seconds
# Runs compared in one chart: black for the first, then Tol's muted colours (colour-blind safe,
# and distinct from each other up to nine lines).
RUNS = (
    "#000000",
    "#CC6677",
    "#88CCEE",
    "#117733",
    "#DDCC77",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
)
# The main counterfactuals keep their colour in every figure (the speed plots, the trade-off's
# settings); others take the colours left, in order.
RUN_COLOURS = {
    "no-suppression": RUNS[1],
    "emergency-braking": RUNS[2],
    "persistent-tracking": RUNS[3],
    "attentive-operator": RUNS[4],
    "volvo-aeb": RUNS[5],
    "all-braking-fixes": RUNS[6],
}
RECORD_STYLES = {"Q": "-", "P": ":", "D": "--", "U": "-."}  # the record's events by certainty
LABEL_PT = 9.0


def _before(x: float, _pos: object = None) -> str:
    """An axis of time read as the record does: seconds before impact, 0 at impact (never
    '-0'), negative after it."""
    v = -x
    return "0" if abs(v) < 1e-9 else f"{v:g}".replace("-", "\u2212")


_BEFORE = FuncFormatter(_before)


def _segments(times: Sequence[float], labels: Sequence[str], end: float):
    """Runs of equal labels -> (start, width, label)."""
    out = []
    for i, (t, lab) in enumerate(zip(times, labels, strict=True)):
        if i and lab == labels[i - 1]:
            continue
        j = i
        while j + 1 < len(labels) and labels[j + 1] == lab:
            j += 1
        stop = times[j + 1] if j + 1 < len(times) else end
        out.append((t, stop - t, lab))
    return out


def _band(ax, times, labels, colours, end, inches_per_s: float) -> set[str]:
    """A strip of coloured runs; a run is labelled in place where its name fits. Returns the
    labels that did not fit (the legend names them)."""
    from fragility.figures._gallery import text_width_in

    unlabelled = set()
    for start, width, lab in _segments(times, labels, end):
        ax.broken_barh(
            [(start, width)], (0, 1), facecolors=colours[lab], edgecolor="white", linewidth=0.5
        )
        if text_width_in(lab) + 0.06 < width * inches_per_s:
            r, g, b = to_rgb(colours[lab])
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(
                start + width / 2,
                0.5,
                lab,
                ha="center",
                va="center",
                color="white" if dark else "black",
            )
        elif lab != "none":
            unlabelled.add(lab)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    return unlabelled


def _record_marks(axes, top, lo: float, hi: float, inches_per_s: float) -> None:
    """The record's events as vertical lines (solid: NTSB wording, dotted: paraphrase,
    dash-dot: unconfirmed), labelled above the top strip; events closer together than a label
    share one label ('2.6/2.5')."""
    events = sorted((-r.t_before_s, r) for r in tempe2018.TIMELINE if lo <= -r.t_before_s <= hi)
    groups: list[list[float]] = []
    for t, r in events:
        for ax in axes:
            ax.axvline(t, color="0.35", lw=0.7, ls=RECORD_STYLES.get(r.certainty, ":"), zorder=0)
        if groups and (t - groups[-1][0]) * inches_per_s < 0.17:
            groups[-1].append(t)
        else:
            groups.append([t])
    for g in groups:
        text = "/".join(_before(t) for t in g)
        top.annotate(
            text,
            (g[0], 1.04),
            xycoords=("data", "axes fraction"),
            rotation=90,
            ha="center",
            va="bottom",
            fontsize=LABEL_PT,
        )


@styled
def timeline_strip(result: RunResult) -> Figure:
    """Class, track history, predicted path and planner state against time (seconds before
    impact), with the record's events marked by certainty. Strips are labelled in place where
    a name fits; the key under the plot names every colour."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows, s = result.trace, result.summary
    det = [r for r in rows if r.detection is not None]
    lo = (det[0].t_s if det else rows[0].t_s) - 0.3
    hi = rows[-1].t_s + 0.1
    # Laid out by hand, in inches: the key below has as many rows as the run needs, which a
    # layout engine squeezing four strips around it does not always survive.
    fig = new_figure(COLUMN_IN, 1.0)
    fig.set_layout_engine("none")
    strips = (("class", 0.42), ("history (s)", 0.85), ("predicted\npath", 0.42), ("planner", 0.42))
    top_in, gap_in, left_in, right_in = 1.1, 0.1, 1.25, 0.15
    axes, y = [], top_in
    for _, height in strips:
        axes.append((y, height))
        y += height + gap_in
    axis_bottom = y - gap_in
    inches_per_s = (COLUMN_IN - left_in - right_in) / (hi - lo)
    ts = [r.t_s for r in det]
    t_all = [r.t_s for r in rows]
    ax_cls, ax_hist, ax_path, ax_plan = (fig.add_axes((0, 0, 1, 1)) for _ in strips)
    for ax in (ax_hist, ax_path, ax_plan):
        ax.sharex(ax_cls)
    missing = _band(ax_cls, ts, [r.detection.cls for r in det], CLASS_COLOURS, hi, inches_per_s)
    hist = [(r.t_s - r.track.history_start_s) if r.track.id else 0.0 for r in rows]
    known = np.array([r.velocity_known for r in rows])
    ax_hist.fill_between(
        t_all, 0, max(max(hist), 0.5), where=known, color=GREEN, alpha=0.18, step="post", lw=0
    )
    ax_hist.plot(t_all, hist, color="black", lw=1.2)
    ax_hist.set_ylabel("history (s)")
    resets = [r.t_s for r in det if r.track.reset_now]
    ax_hist.plot(resets, [0] * len(resets), "x", color=VERMILLION, ms=6, mew=1.5, clip_on=False)
    ax_hist.set_ylim(bottom=0)
    kinds = [planner.KINDS[r.prediction.kind] for r in det]
    missing |= _band(ax_path, ts, kinds, KIND_COLOURS, hi, inches_per_s)
    on = [not math.isinf(r.plan.conflict_in_s) for r in det]
    for start, width, lab in _segments(ts, on, hi):
        if lab:
            ax_path.broken_barh([(start, width)], (0, 0.28), facecolors=CONFLICT)
    modes = [planner.MODES[r.plan.mode] for r in rows]
    missing |= _band(ax_plan, t_all, modes, MODE_COLOURS, hi, inches_per_s)
    if s.alert_s is not None:
        ax_plan.plot(s.alert_s, 0.5, "*", color=VERMILLION, ms=10, mec="black", mew=0.5)
    for ax, label in (
        (ax_cls, "class"),
        (ax_hist, "history (s)"),
        (ax_path, "predicted\npath"),
        (ax_plan, "planner"),
    ):
        ax.set_ylabel(label, rotation=0, ha="right", va="center", labelpad=6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if ax is not ax_plan:
            ax.tick_params(labelbottom=False)
    ax_plan.set_xlim(lo, hi)
    ax_plan.xaxis.set_major_formatter(_BEFORE)
    ax_plan.set_xlabel("seconds before impact")
    if s.collision:
        for ax in (ax_cls, ax_hist, ax_path, ax_plan):
            ax.axvline(s.impact_time_s, color=VERMILLION, lw=1.4)
    _record_marks((ax_cls, ax_hist, ax_path, ax_plan), ax_cls, lo, hi, inches_per_s)
    handles = [Patch(color=CLASS_COLOURS[c], label=c) for c in CLASSES if c in missing]
    handles += [
        Patch(color=KIND_COLOURS[k], label=f"path: {k}") for k in planner.KINDS if k in missing
    ]
    handles += [Patch(color=MODE_COLOURS[m], label=m) for m in planner.MODES if m in missing]
    handles += [
        Patch(color=CONFLICT, label="on the SUV's path"),
        Patch(color=GREEN, alpha=0.3, label="velocity known"),
        Line2D([], [], color=VERMILLION, marker="x", ls="", ms=6, mew=1.5, label="history reset"),
        Line2D([], [], color="0.35", ls=":", label="the record's events"),
    ]
    if s.alert_s is not None:
        handles.append(
            Line2D(
                [],
                [],
                color=VERMILLION,
                marker="*",
                ls="",
                ms=9,
                mec="black",
                mew=0.5,
                label="alert",
            )
        )
    key_top = axis_bottom + 0.52  # below the time axis and its label
    height = key_top + 0.2 * math.ceil(len(handles) / 2) + 0.06
    fig.set_size_inches(COLUMN_IN, height)
    for ax, (y0, h) in zip((ax_cls, ax_hist, ax_path, ax_plan), axes, strict=True):
        ax.set_position(
            (
                left_in / COLUMN_IN,
                1 - (y0 + h) / height,
                (COLUMN_IN - left_in - right_in) / COLUMN_IN,
                h / height,
            )
        )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.03, 1 - key_top / height),
        ncol=2,
        frameon=False,
        handlelength=1.3,
        columnspacing=0.8,
        labelspacing=0.35,
        borderaxespad=0,
    )
    fig.suptitle(
        f"{result.spec.title}: {s.outcome}", x=0.02, y=1 - 0.06 / height, ha="left", va="top"
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Bird's-eye views


def _draw_road(ax, road: Road, x0: float, x1: float) -> None:
    ax.add_patch(
        Rectangle(
            (x0, road.right_edge_m),
            x1 - x0,
            road.left_edge_m - road.right_edge_m,
            color="0.28",
            zorder=0,
        )
    )
    for name, lo, hi in road.lanes():
        if name == "bike lane":
            ax.add_patch(Rectangle((x0, lo), x1 - x0, hi - lo, color="0.4", zorder=0))
        ax.plot([x0, x1], [hi, hi], color="white", lw=0.5, ls=(0, (4, 6)), zorder=1)
    ax.plot([x0, x1], [road.right_edge_m] * 2, color="white", lw=1.0, zorder=1)
    ax.plot([x0, x1], [road.left_edge_m] * 2, color=YELLOW, lw=1.0, zorder=1)


def draw_scene(
    ax,
    result: RunResult,
    row: TraceRow,
    x0: float,
    x1: float,
    horizon_s: float = 3.0,
    *,
    label: bool = False,
) -> None:
    """Road, SUV, pedestrian with bicycle, the detected box and both predicted paths, to scale
    (x: metres along the road, north of her path; y: metres across it). `label` names the
    tracked class and its predicted path beside the box (the animation, drawn large, has room
    for it)."""
    spec = result.spec
    road = Road.from_spec(spec)
    suv, ped = spec.suv, spec.pedestrian
    _draw_road(ax, road, x0, x1)
    c = road.lane_width_m / 2
    v_check = max(row.suv_v, 0.0)
    ax.add_patch(
        Rectangle(
            (row.suv_x, c - suv.width_m / 2),
            v_check * horizon_s,
            suv.width_m,
            color=SUV_PATH,
            alpha=0.45,
            zorder=2,
            lw=0,
        )
    )
    ax.add_patch(
        Rectangle(
            (row.suv_x - suv.length_m, c - suv.width_m / 2),
            suv.length_m,
            suv.width_m,
            color="white",
            ec="black",
            lw=0.6,
            zorder=4,
        )
    )
    ax.add_patch(
        Rectangle(
            (row.ped_x - ped.width_m / 2, row.ped_y - ped.length_m / 2),
            ped.width_m,
            ped.length_m,
            color=ORANGE,
            ec="black",
            lw=0.4,
            zorder=5,
        )
    )
    p = row.prediction
    kind = planner.KINDS[p.kind]
    if kind != "none":
        colour = CLASS_COLOURS.get(row.track.cls, "white")
        ax.add_patch(
            Rectangle(
                (p.x - p.half_x, p.y - p.half_y),
                2 * p.half_x,
                2 * p.half_y,
                fill=False,
                ec=colour,
                lw=1.2,
                ls="--",
                zorder=6,
            )
        )
        if kind in ("lane", "motion") and (p.vx or p.vy):
            ax.annotate(
                "",
                (p.x + p.vx * horizon_s, p.y + p.vy * horizon_s),
                (p.x, p.y),
                arrowprops=dict(arrowstyle="->", color=colour, lw=1.4),
                zorder=7,
            )
        if kind == "reach":
            g = p.grow * horizon_s
            ax.add_patch(
                Rectangle(
                    (p.x - p.half_x, p.y - p.half_y - g),
                    2 * p.half_x,
                    2 * (p.half_y + g),
                    color=colour,
                    alpha=0.3,
                    zorder=3,
                )
            )
        if label:
            ax.text(
                p.x + 1,
                p.y + p.half_y + 0.4,
                f"{row.track.cls} ({kind})",
                color=colour,
                fontsize=LABEL_PT,
                zorder=8,
            )
    ax.set_xlim(x0, x1)
    ax.set_ylim(road.right_edge_m - 0.5, road.left_edge_m + 0.5)


def _moment(row: TraceRow) -> str:
    gap = f", {row.gap_m:.0f} m to her" if row.gap_m >= 0.5 else ""
    mode = planner.MODES[row.plan.mode]
    return f"{_before(row.t_s)} s before impact: {row.suv_v / MPH:.0f} mph{gap}; planner {mode}"


def key_moments(result: RunResult) -> list[float]:
    """The record's moments where they fall inside the run, else the run's own events."""
    s = result.summary
    end = result.trace[-1].t_s
    times = [s.first_detection_s, -2.6, -1.5, -1.2, -0.2]
    times = [t for t in times if t <= end]
    last = s.impact_time_s if s.collision else end
    return [*times, last]


def _row_at(result: RunResult, t: float) -> TraceRow:
    return min(result.trace, key=lambda r: abs(r.t_s - t))


@styled
def birdseye(result: RunResult, moments: Sequence[float] | None = None) -> Figure:
    """The scene from above at key moments, two to a row, every panel the same 60 m of road to
    the same scale (equal metres across and along), titled with the time, the SUV's speed,
    the planner's state and the SUV's distance to her path (m). Dashed box: what the ADS tracks
    (in its class's colour); arrow: its predicted path; pale blue: where the SUV will be in
    the next 3 s."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    moments = list(moments) if moments is not None else key_moments(result)
    across = 2 if len(moments) > 1 else 1
    down = -(-len(moments) // across)
    fig = new_figure(COLUMN_IN, 0.98 * down + 1.15)
    axes = fig.subplots(down, across, squeeze=False, sharex=True, sharey=True)
    x0, x1 = -52.0, 8.0
    for i, ax in enumerate(axes.flat):
        if i >= len(moments):
            ax.axis("off")
            continue
        row = _row_at(result, moments[i])
        draw_scene(ax, result, row, x0, x1)
        ax.set_aspect("equal")  # metres across to the same scale as metres along
        mode = planner.MODES[row.plan.mode]
        gap = f" · {row.gap_m:.0f} m" if row.gap_m >= 0.5 else ""
        ax.set_title(
            f"{_before(row.t_s)} s before impact\n{row.suv_v / MPH:.0f} mph · {mode}{gap}",
            fontsize=LABEL_PT,
            loc="left",
            weight="normal",
            pad=3,
        )
        ax.tick_params(labelleft=False, left=False)
        ax.set_xticks([-50, -25, 0])
        for side in ax.spines.values():
            side.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("m north of her path")
    classes = [c for c in CLASSES if c != "pedestrian"]
    handles = [
        Line2D([], [], color=CLASS_COLOURS[c], ls="--", lw=1.2, label=f"tracked: {c}")
        for c in classes
    ]
    handles += [
        Patch(color=ORANGE, label="her, with bicycle"),
        Patch(color=SUV_PATH, alpha=0.6, label="SUV's next 3 s"),
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=2,
        frameon=False,
        handlelength=1.5,
        columnspacing=0.8,
        labelspacing=0.3,
    )
    fig.suptitle(f"{result.spec.title}: from above, to scale", x=0.02, ha="left")
    return fig


@styled
def speed_distance(results: Mapping[str, RunResult]) -> Figure:
    """Speed (top) and distance to her path (bottom) against time, one line per run."""
    fig = new_figure(COLUMN_IN, 4.8 + 0.17 * len(results))
    ax_v, ax_d = fig.subplots(2, 1, sharex=True)
    spare = iter(c for c in RUNS[1:] if c not in RUN_COLOURS.values())
    for i, (name, r) in enumerate(results.items()):
        t = [row.t_s for row in r.trace]
        colour = RUNS[0] if i == 0 else RUN_COLOURS.get(name) or next(spare, GREY)
        width = 2.2 if i == 0 else 1.3  # the first run is the one the others change
        (line,) = ax_v.plot(
            t,
            [row.suv_v / MPH for row in r.trace],
            lw=width,
            color=colour,
            label=f"{name}: {r.summary.outcome}",
            zorder=3 if i == 0 else 2,
        )
        ax_d.plot(t, [row.gap_m for row in r.trace], lw=width, color=colour)
        if r.summary.collision:
            ax_v.plot(
                r.summary.impact_time_s, r.summary.impact_speed_mph, "x", color=line.get_color()
            )
    ax_v.set(ylabel="speed (mph)", title="Speed")
    ax_d.set(ylabel="m from the SUV's front\nto her path", title="Distance", ylim=(-5, None))
    ax_d.axhline(0, color="black", lw=0.6)
    for ax in (ax_v, ax_d):
        ax.xaxis.set_major_formatter(_BEFORE)
        ax.grid(alpha=0.5)
    ax_d.set_xlabel("seconds before the record's moment of impact")
    ax_d.legend(
        *ax_v.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=1
    )
    return fig


def animation_gif(result: RunResult, every_s: float = 0.1, dpi: int = 60) -> bytes:
    """An animated GIF of the bird's-eye view (one frame per `every_s`), as bytes.

    One figure is redrawn for every frame (building a figure per frame costs most of the time).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    step = max(1, round(every_s / result.spec.world.step_s))
    fig = Figure(figsize=(7.0, 2.0), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.12, 0.96, 0.76))
    frames = []
    for row in result.trace[::step]:
        ax.clear()
        x0 = min(row.suv_x - 12.0, -52.0)
        draw_scene(ax, result, row, x0, x0 + 60.0, label=True)
        ax.set_title(_moment(row), fontsize=LABEL_PT, loc="left")
        ax.set_axis_off()  # ticks would cost most of each frame's drawing
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]
        frames.append(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    buf = io.BytesIO()
    frames[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=round(1000 * step * result.spec.world.step_s),
        loop=0,
    )
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Sweeps


def _label(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@styled
def sweep_figure(result: SweepResult) -> Figure:
    """Collision probability and mean impact speed over the grid (heat maps for two axes, lines
    for one, stacked); without a grid, the distribution of impact speeds and hazard times."""
    grid = result.grid
    if len(grid) == 2:
        return _heatmaps(result)
    fig = new_figure(COLUMN_IN, 5.4)
    ax1, ax2 = fig.subplots(2, 1)
    if len(grid) == 1:
        key, values = grid[0]
        x = np.arange(len(values))
        p = np.array([100 * c.collision_probability for c in result.cells])
        ci = np.array([c.collision.interval for c in result.cells]) * 100
        ax1.errorbar(x, p, yerr=[p - ci[:, 0], ci[:, 1] - p], fmt="o-", capsize=3, color=GREY)
        speeds = [
            np.nan if c.mean_impact_speed_mph is None else c.mean_impact_speed_mph
            for c in result.cells
        ]
        ax2.plot(x, speeds, "o-", color=VERMILLION)
        for ax in (ax1, ax2):
            ax.set_xticks(x, [_label(v) for v in values])
            ax.set_xlabel(key)
            ax.grid(alpha=0.5)
        ax1.set(ylabel="collision probability (%, 95 % interval)", ylim=(-3, 103))
        ax2.set(ylabel="mean impact speed (mph)")
    else:
        arr = result.cells[0].arrays
        speeds = arr["impact_speed_mps"][arr["collision"]] / MPH
        ax1.hist(speeds, bins=40, color=VERMILLION)
        ax1.set(
            xlabel="impact speed (mph)",
            ylabel="runs",
            title=f"{result.cells[0].collision.text()} of {result.runs_per_cell:,} runs "
            "collide (95 % Wilson interval)",
        )
        hz = -arr["first_hazard_s"][~np.isnan(arr["first_hazard_s"])]
        ax2.hist(hz, bins=40, color=ORANGE)
        ax2.set(xlabel="first predicted conflict, s before the record's impact", ylabel="runs")
    fig.suptitle(f"{result.scenario}", x=0.02, ha="left")
    return fig


@styled
def _heatmaps(result: SweepResult) -> Figure:
    (k0, v0), (k1, v1) = result.grid
    shape = (len(v0), len(v1))
    prob = np.array([c.collision_probability for c in result.cells]).reshape(shape)
    speed = np.array(
        [
            np.nan if c.mean_impact_speed_mph is None else c.mean_impact_speed_mph
            for c in result.cells
        ]
    ).reshape(shape)
    fig = new_figure(COLUMN_IN, 2 * (0.3 * len(v0) + 1.3) + 0.3)
    axes = fig.subplots(2, 1)
    for ax, data, title, cmap, fmt in (
        (axes[0], 100 * prob, "collision probability (%)", "cividis", "{:.0f}"),
        (axes[1], speed, "mean impact speed (mph)", "magma_r", "{:.0f}"),
    ):
        im = ax.imshow(data, cmap=cmap, aspect="auto", origin="lower")
        for i in range(shape[0]):
            for j in range(shape[1]):
                if not np.isnan(data[i, j]):
                    r, g, b, _ = im.cmap(im.norm(data[i, j]))
                    dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                    ax.text(
                        j,
                        i,
                        fmt.format(data[i, j]),
                        ha="center",
                        va="center",
                        color="white" if dark else "black",
                    )
        ax.set_xticks(range(shape[1]), [_label(v) for v in v1])
        ax.set_yticks(range(shape[0]), [_label(v) for v in v0])
        ax.set(xlabel=k1, ylabel=k0, title=title)
        bar = fig.colorbar(im, ax=ax, shrink=0.9, pad=0.03)
        bar.outline.set_linewidth(0.5)
    widest = max((c.collision.interval[1] - c.collision.interval[0]) / 2 for c in result.cells)
    fig.suptitle(
        f"{result.scenario}: {result.runs_per_cell:,} runs per cell; collision probabilities "
        f"within ±{100 * widest:.0f} points (95 % Wilson interval, widest cell)",
        x=0.02,
        ha="left",
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Sensitivity: tornado charts and outcome histograms over the plausible worlds
#
# Drawn in the house style (9 pt labels, the colour-blind-safe palette): one scenario a panel,
# two panels a row at WIDE_IN (the width of a laptop's and a printed page's text column; a
# phone shows it in a frame that scrolls sideways), one panel at COLUMN_IN. Colours keep one
# meaning across the scenario figures: green avoided, vermillion hit; an input's lowest and
# highest fifth of draws are the light and the dark end of one ramp.

WIDE_IN = 6.5
AVOIDED = GREEN  # the good state, as in the timeline and the attention figures
HIT = VERMILLION
LOW_FIFTH, HIGH_FIFTH = RAMP[1], RAMP[3]
ROW_IN = 0.3  # one input's pair of bars
SPAN_MPH = 6.0  # the narrowest range of impact speeds a tornado panel shows
AVOIDED_AT = -8.0  # mph axis: where the avoided bar stands, clear of the 0 tick


def _short(key: str) -> str:
    """'planner.motion_trust_s' -> 'motion_trust_s'; an item keeps its list: 'events.4.t_s'."""
    parts = key.split(".")
    return ".".join(parts[1:]) if len(parts) > 2 else parts[-1]


def _panels(n: int, width_in: float | None, panel_in: float, below_in: float):
    """A figure of n panels, two a row where the width allows; `below_in` under them for a
    key."""
    width = width_in or (COLUMN_IN if n == 1 else WIDE_IN)
    cols = 1 if n == 1 or width < 5.0 else 2
    rows = math.ceil(n / cols)
    fig = new_figure(width, panel_in * rows + below_in)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes[:n]


def _titles_from_column_edge(fig: Figure, axes) -> None:
    """Start each panel's title at the left edge of its column, over the input names, so a
    title as wide as the column fits. Called last: the figure is laid out once, here, and kept
    so (a layout run again would move the axes under their titles)."""
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")
    width = fig.get_figwidth()
    cols = 2 if len(axes) > 1 and width >= 5.0 else 1
    for k, ax in enumerate(axes):
        box = ax.get_position()
        edge_in = (k % cols) * width / cols + 0.04
        ax.set_title(
            ax.get_title(loc="left"),
            loc="left",
            x=(edge_in - box.x0 * width) / (box.width * width),
        )


def _headline(s) -> str:
    return "no plausible worlds" if not s.avoided.n else f"avoided in {s.avoided.text()}"


@styled
def tornado(
    result,
    names: Sequence[str] | None = None,
    top: int = 6,
    *,
    labels: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
    show_index: bool = True,
    width_in: float | None = None,
    title: str | None = "",
) -> Figure:
    """For each scenario, its most important inputs (ranked by the first-order index): the
    outcome where the input is in its lowest fifth of draws (light bar) and in its highest
    fifth (dark bar), each drawn from the outcome over all plausible worlds (black line).

    labels: input key -> its name in words (default: the key); titles: scenario name -> its
    panel title; show_index: each input's S1 after its name; title: the figure's heading
    ("" a default naming the runs and seed, None none)."""
    from matplotlib.patches import Patch

    rows = [s for s in result.scenarios if names is None or s.name in names]
    shown = {
        s.name: (
            [i for i in s.importance if i.index > 2 * s.index_noise][:top]
            or list(s.importance[:top])
        )[::-1]
        for s in rows
    }
    most = max((len(v) for v in shown.values()), default=1)
    fig, axes = _panels(len(rows), width_in, 1.05 + ROW_IN * most, 0.35)
    for ax, s in zip(axes, rows, strict=True):
        imp = shown[s.name]
        share = s.tornado_outcome.startswith("probability")
        scale = 100.0 if share else 1.0
        plausible = s.arrays["plausible"]
        centre = (
            100 * (s.avoided.p or 0.0)
            if share
            else float(np.mean(s.arrays["impact_mph"][plausible]))
            if s.avoided.n
            else 0.0
        )
        for y, i in enumerate(imp):
            for value, colour, dy in ((i.low, LOW_FIFTH, 0.19), (i.high, HIGH_FIFTH, -0.19)):
                ax.barh(y + dy, scale * value - centre, left=centre, height=0.36, color=colour)
        ax.axvline(centre, color="black", lw=1.0)
        ax.set_yticks(
            range(len(imp)),
            [
                (labels or {}).get(i.key, _short(i.key))
                + (f" ({i.index:.2f})" if show_index else "")
                for i in imp
            ],
        )
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(-0.6, len(imp) - 0.4)
        if share:
            ax.set_xlim(0, 100)
            ax.set_xlabel("avoided (% of worlds)")
        else:  # the speeds' own range, at least SPAN_MPH wide
            ends = [centre, *(scale * v for i in imp for v in (i.low, i.high))]
            mid, half = (min(ends) + max(ends)) / 2, max(max(ends) - min(ends), SPAN_MPH) / 2
            ax.set_xlim(max(0.0, mid - 1.2 * half), mid + 1.2 * half)
            ax.set_xlabel("impact speed (mph)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
        ax.grid(axis="x")
        ax.set_axisbelow(True)
        ax.set_title(f"{(titles or {}).get(s.name, s.name)}\n{_headline(s)}", loc="left")
    fig.legend(
        handles=[
            Patch(color=LOW_FIFTH, label="input in its lowest fifth of draws"),
            Patch(color=HIGH_FIFTH, label="input in its highest fifth"),
        ],
        loc="outside lower center",
        ncols=2,
    )
    if title == "":
        title = f"What moves each outcome: {result.runs:,} worlds drawn, seed {result.seed}" + (
            "\nin brackets: each input's S1 (first-order variance share)" if show_index else ""
        )
    if title:
        fig.suptitle(title, x=0.02, ha="left")
    _titles_from_column_edge(fig, axes)
    return fig


@styled
def outcome_histograms(
    result,
    names: Sequence[str] | None = None,
    *,
    titles: Mapping[str, str] | None = None,
    width_in: float | None = None,
    title: str | None = "",
) -> Figure:
    """For each scenario, the share of plausible worlds in which the crash is avoided (green)
    and the impact speeds where it is not (vermillion), as % of the plausible worlds; dashed:
    the single run with every input at its value. titles: scenario name -> panel title; title:
    the figure's heading ("" a default naming the runs and seed, None none)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = [s for s in result.scenarios if names is None or s.name in names]
    fig, axes = _panels(len(rows), width_in, 1.7, 0.35)
    ticks = [0, 10, 20, 30, 40]
    top = 0.0
    for ax, s in zip(axes, rows, strict=True):
        h = s.histogram
        n = max(s.avoided.n, 1)
        edges = h["edges_mph"]
        width = edges[1] - edges[0]
        shares = [100 * c / n for c in h["counts"]]
        ax.bar([e + width / 2 for e in edges], shares, width=width * 0.9, color=HIT)
        ax.bar([AVOIDED_AT], [100 * h["avoided"] / n], width=4.0, color=AVOIDED)
        if s.single and s.single["collision"]:
            ax.axvline(s.single["impact_speed_mph"], color="black", ls="--", lw=1.0)
        top = max(top, *shares, 100 * h["avoided"] / n)
        ax.set_xlim(AVOIDED_AT - 3.0, edges[-1] + 2 * width)
        ax.set_xticks([AVOIDED_AT, *ticks], ["avoided", *map(str, ticks)])
        ax.set_xlabel("impact speed (mph)")
        ax.grid(axis="y")
        ax.set_axisbelow(True)
        ax.set_title(f"{(titles or {}).get(s.name, s.name)}\n{_headline(s)}", loc="left")
    for ax in axes:
        ax.set_ylim(0, max(5.0, 1.05 * top))  # one scale: panels compare at a glance
    for ax in axes[:: 2 if len(axes) > 1 and fig.get_figwidth() >= 5.0 else 1]:
        ax.set_ylabel("% of plausible worlds")
    fig.legend(
        handles=[
            Patch(color=AVOIDED, label="avoided"),
            Patch(color=HIT, label="hit, by impact speed"),
            Line2D([], [], color="black", ls="--", lw=1.0, label="the one run, where it hits"),
        ],
        loc="outside lower center",
        ncols=3,
    )
    if title == "":
        title = (
            f"Outcomes over the plausible worlds: {result.runs:,} drawn, seed {result.seed}\n"
            "95 % Wilson intervals in the panels' titles"
        )
    if title:
        fig.suptitle(title, x=0.02, ha="left")
    return fig


# ---------------------------------------------------------------------------------------------
# The trade-off: collisions avoided against nuisance hard braking

# One colour per setting, the same as the counterfactual that changes it has in the speed
# figures; the named designs are black, each with its own marker.
SETTING_COLOURS = {
    "planner.suppression_s": RUN_COLOURS["no-suppression"],
    "planner.emergency_braking": RUN_COLOURS["emergency-braking"],
    "tracking.policy": RUN_COLOURS["persistent-tracking"],
    "planner.motion_trust_s": RUNS[7],
    "tracking.class_confirm_frames": RUNS[8],
}
DESIGN_MARKERS = ("*", "D", "^", "v", "P", "X")
KEY_CHARS = 26  # the trade-off's key wraps at this many characters


@styled
def tradeoff_curves(
    result,
    *,
    labels: Mapping[str, str] | None = None,
    width_in: float = WIDE_IN,
    title: str | None = "",
) -> Figure:
    """Each design as a point: nuisance hard-braking events per 1,000 km (x) against the share
    of plausible worlds in which her crash is avoided (y), both with 95 % intervals; the
    designs of one setting joined in the order of its values, each value written by its point
    where there is room. A setting whose every value lands on the scenario's own design is
    named in the key, not drawn.

    labels: a setting's key (or a named design's label) -> its name in words (default: as
    written); title: the figure's heading ("" a default naming the runs and seed, None none)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    words = labels or {}
    fig = new_figure(width_in, 3.6)
    ax = fig.subplots()
    own = result.points[0]
    by_axis: dict[str, list] = {}
    for p in result.points[1:]:
        if p.axis:
            by_axis.setdefault(p.axis, []).append(p)

    def xy(p):
        lo, hi = p.hard_interval
        alo, ahi = p.avoided.interval or (0.0, 0.0)
        x, y = p.hard_per_1000_km, 100 * (p.avoided.p or 0.0)
        return x, y, [[x - lo], [hi - x]], [[y - 100 * alo], [100 * ahi - y]]

    def bars(p, fmt, colour, **kw):
        x, y, xe, ye = xy(p)
        ax.errorbar(x, y, xerr=xe, yerr=ye, fmt=fmt, color=colour, capsize=2, lw=0.8, **kw)

    handles, values = [], []
    spare = iter(c for c in RUNS[1:] if c not in SETTING_COLOURS.values())
    for axis, pts in by_axis.items():
        name = words.get(axis, axis)
        if all(_same_point(p, own) for p in pts):
            handles.append(Patch(fill=False, lw=0, label=f"{name}: every value at the square"))
            continue
        colour = SETTING_COLOURS.get(axis) or next(spare)
        own_value = result.own_values[axis]
        if all(_sort_key(p.values[axis]) != _sort_key(own_value) for p in pts):
            pts = [*pts, own]  # the own design is this axis's point at its own value
        line = sorted(pts, key=lambda p: _sort_key(p.values.get(axis, own_value)))
        ax.plot([xy(p)[0] for p in line], [xy(p)[1] for p in line], "-", color=colour, lw=1.2)
        for p in line:
            bars(p, "o", colour, ms=4)
            if p is not own:
                values.append((*xy(p)[:2], _fmt_value(p.values[axis])))
        handles.append(Line2D([], [], color=colour, marker="o", label=name))
    named = [p for p in result.points[1:] if p.axis is None]
    for p, marker in zip(named, DESIGN_MARKERS, strict=False):
        bars(p, marker, "black", ms=7)
        handles.append(
            Line2D([], [], color="black", marker=marker, ls="", label=words.get(p.label, p.label))
        )
    bars(own, "s", "black", ms=7, mfc="white")
    handles.insert(
        0,
        Line2D(
            [],
            [],
            color="black",
            marker="s",
            mfc="white",
            ls="",
            label=words.get(own.label, own.label),
        ),
    )
    ax.set_xlabel(f"nuisance hard braking (≥ {result.hard_brake_mps2:g} m/s²) per 1,000 km")
    ax.set_ylabel("her crash avoided,\n% of plausible worlds")
    ax.set_ylim(-5, 105)
    ax.set_xlim(0, 1.08 * max(xy(p)[0] + xy(p)[2][1][0] for p in result.points))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    ax.grid(True)
    ax.set_axisbelow(True)
    for h in handles:  # a key of short lines leaves the plot its width
        h.set_label(textwrap.fill(h.get_label(), KEY_CHARS, break_long_words=False))
    fig.legend(handles=handles, loc="outside right center", handlelength=1.2, labelspacing=0.6)
    if title == "":
        title = (
            f"{result.scenario}: {result.runs:,} worlds and encounters per kind, seed "
            f"{result.seed}\nbars: 95 % intervals"
        )
    if title:
        fig.suptitle(title, x=0.02, ha="left")
    _label_points(fig, ax, values)
    return fig


def _same_point(p, q) -> bool:
    """The same share avoided, and nuisance braking within 1 % (a few encounters of one kind)."""
    return p.avoided.k == q.avoided.k and abs(p.hard_per_1000_km - q.hard_per_1000_km) <= 0.01 * (
        q.hard_per_1000_km
    )


def _label_points(fig: Figure, ax, points: Sequence[tuple[float, float, str]]) -> None:
    """Write each label beside its point, in the first of a few places around it that overlaps
    no label written before and no other point; a label with no free place is left out."""
    from fragility.figures._gallery import text_width_in

    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")  # the places are worked out in inches on this layout
    dpi = fig.dpi

    def inches(x: float, y: float) -> tuple[float, float]:
        px = ax.transData.transform((x, y))
        return px[0] / dpi, px[1] / dpi

    marks = [inches(x, y) for x, y, _ in points]
    taken = [(cx - 0.04, cy - 0.04, cx + 0.04, cy + 0.04) for cx, cy in marks]
    h = FONT_PT / 72
    for (x, y, text), (cx, cy) in zip(points, marks, strict=True):
        w = text_width_in(text)
        for dx, dy in (
            (0.05, 0.02),
            (0.05, -h - 0.02),
            (-w - 0.05, 0.02),
            (-w - 0.05, -h - 0.02),
            (-w / 2, 0.06),
            (-w / 2, -h - 0.06),
        ):
            box = (cx + dx, cy + dy, cx + dx + w, cy + dy + h)
            if not any(
                box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken
            ):
                taken.append(box)
                ax.annotate(
                    text,
                    (x, y),
                    xytext=(72 * dx, 72 * dy),
                    textcoords="offset points",
                    ha="left",
                    va="bottom",
                )
                break


def _fmt_value(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _sort_key(v):
    return float(v) if not isinstance(v, str) else v
