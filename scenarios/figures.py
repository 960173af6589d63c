"""Figures of scenario runs: results in, `matplotlib.figure.Figure` (or GIF bytes) out.

No pyplot and no backend choice: figures come from `fragility.figures.new_figure`, and the GIF's
frames are drawn on an Agg canvas created for each figure. The x axis of time plots reads as
the record does: seconds before the record's moment of impact.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from fragility.figures import new_figure
from scenarios import planner, tempe2018
from scenarios.simulate import RunResult, TraceRow
from scenarios.spec import CLASSES, MPH
from scenarios.sweep import SweepResult
from scenarios.world import Road

CLASS_COLOURS = dict(zip(CLASSES, ("tab:blue", "tab:green", "tab:purple", "0.55"), strict=True))
KIND_COLOURS = {
    "none": "white",
    "static": "0.6",
    "lane": "tab:blue",
    "motion": "tab:green",
    "reach": "tab:purple",
}
MODE_COLOURS = {
    "cruise": "0.85",
    "suppress": "gold",
    "avoid": "tab:green",
    "slowdown": "tab:orange",
    "mitigate": "tab:red",
    "disengaged": "0.2",
}
_BEFORE = FuncFormatter(lambda x, _: f"{-x:g}")


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


def _band(ax, times, labels, colours, end, y=0.0, h=1.0, text=True) -> None:
    for start, width, lab in _segments(times, labels, end):
        ax.broken_barh(
            [(start, width)], (y, h), facecolors=colours[lab], edgecolor="white", linewidth=0.3
        )
        if text and width > 0.25:
            ax.text(
                start + width / 2,
                y + h / 2,
                lab,
                ha="center",
                va="center",
                fontsize=6.5,
                color="black" if lab not in ("disengaged",) else "white",
            )


def _record_marks(axes, top, lo, hi) -> None:
    for r in tempe2018.TIMELINE:
        t = -r.t_before_s
        if not lo <= t <= hi:
            continue
        for ax in axes:
            ax.axvline(t, color="0.3", lw=0.6, ls=":", zorder=0)
        top.annotate(
            f"{r.t_before_s:g} [{r.certainty}]",
            (t, 1.02),
            xycoords=("data", "axes fraction"),
            fontsize=6,
            rotation=60,
            ha="left",
            va="bottom",
        )


def timeline_strip(result: RunResult) -> Figure:
    """Class, track history, predicted path and planner state against time, with the record's
    events marked (dotted, with their certainty)."""
    rows, s = result.trace, result.summary
    det = [r for r in rows if r.detection is not None]
    lo = (det[0].t_s if det else rows[0].t_s) - 0.3
    hi = rows[-1].t_s + 0.1
    fig = new_figure(9.0, 4.6)
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.4, 1, 1]})
    ax_cls, ax_hist, ax_path, ax_plan = axes
    ts = [r.t_s for r in det]
    _band(ax_cls, ts, [r.detection.cls for r in det], CLASS_COLOURS, hi)
    ax_cls.set_yticks([])
    ax_cls.set_ylabel("class", rotation=0, ha="right", va="center", fontsize=8)
    # History: the current history's length, resets marked, velocity-known shaded.
    hist = [(r.t_s - r.track.history_start_s) if r.track.id else 0.0 for r in rows]
    t_all = [r.t_s for r in rows]
    ax_hist.plot(t_all, hist, color="black", lw=1)
    for r in det:
        if r.track.reset_now:
            ax_hist.plot(r.t_s, 0, "x", color="tab:red", ms=5)
    known = np.array([r.velocity_known for r in rows])
    ax_hist.fill_between(
        t_all,
        0,
        max(max(hist), 0.5),
        where=known,
        color="tab:green",
        alpha=0.15,
        step="post",
        label="velocity known",
    )
    ax_hist.set_ylabel("history (s)\nx = reset", rotation=0, ha="right", va="center", fontsize=8)
    ax_hist.legend(fontsize=6, loc="upper left")
    kinds = [planner.KINDS[r.prediction.kind] for r in det]
    _band(ax_path, ts, kinds, KIND_COLOURS, hi)
    on = [not math.isinf(r.plan.conflict_in_s) for r in det]
    for start, width, lab in _segments(ts, on, hi):
        if lab:
            ax_path.broken_barh([(start, width)], (0, 0.25), facecolors="tab:red")
    ax_path.set_yticks([])
    ax_path.set_ylabel(
        "predicted\npath\n(red: on\nSUV's path)", rotation=0, ha="right", va="center", fontsize=7
    )
    _band(ax_plan, t_all, [planner.MODES[r.plan.mode] for r in rows], MODE_COLOURS, hi)
    if s.alert_s is not None:
        ax_plan.plot(s.alert_s, 0.5, "*", color="tab:red", ms=9)
    ax_plan.set_yticks([])
    ax_plan.set_ylabel("planner", rotation=0, ha="right", va="center", fontsize=8)
    ax_plan.set_xlim(lo, hi)
    ax_plan.xaxis.set_major_formatter(_BEFORE)
    ax_plan.set_xlabel(
        "seconds before the record's moment of impact (dotted: the record's "
        "events, with certainty)",
        fontsize=8,
    )
    if s.collision:
        for ax in axes:
            ax.axvline(s.impact_time_s, color="tab:red", lw=1.2)
    _record_marks(axes, ax_cls, lo, hi)
    fig.suptitle(f"{result.spec.title}: {s.outcome}", fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------
# Bird's-eye views


def _draw_road(ax, road: Road, x0: float, x1: float) -> None:
    ax.add_patch(
        Rectangle(
            (x0, road.right_edge_m),
            x1 - x0,
            road.left_edge_m - road.right_edge_m,
            color="0.25",
            zorder=0,
        )
    )
    for name, lo, hi in road.lanes():
        style = dict(color="white", lw=0.6, ls=(0, (4, 6)))
        if name == "bike lane":
            ax.add_patch(Rectangle((x0, lo), x1 - x0, hi - lo, color="0.35", zorder=0))
        ax.plot([x0, x1], [hi, hi], **style, zorder=1)
    ax.plot([x0, x1], [road.right_edge_m] * 2, color="white", lw=1.2, zorder=1)
    ax.plot([x0, x1], [road.left_edge_m] * 2, color="gold", lw=1.2, zorder=1)


def draw_scene(
    ax, result: RunResult, row: TraceRow, x0: float, x1: float, horizon_s: float = 3.0
) -> None:
    """Road, SUV, pedestrian with bicycle, the detected box and both predicted paths."""
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
            color="tab:cyan",
            alpha=0.18,
            zorder=2,
        )
    )
    ax.add_patch(
        Rectangle(
            (row.suv_x - suv.length_m, c - suv.width_m / 2),
            suv.length_m,
            suv.width_m,
            color="white",
            ec="black",
            zorder=4,
        )
    )
    ax.add_patch(
        Rectangle(
            (row.ped_x - ped.width_m / 2, row.ped_y - ped.length_m / 2),
            ped.width_m,
            ped.length_m,
            color="tab:orange",
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
        ax.text(
            p.x + 1,
            p.y + p.half_y + 0.4,
            f"{row.track.cls} ({kind})",
            color=colour,
            fontsize=6.5,
            zorder=8,
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(road.right_edge_m - 0.5, road.left_edge_m + 0.5)
    ax.set_yticks([])
    mode = planner.MODES[row.plan.mode]
    ax.set_title(
        f"{0.0 if abs(row.t_s) < 0.05 else -row.t_s:.1f} s before the record's impact: "
        f"{row.suv_v / MPH:.0f} mph, "
        f"{max(row.gap_m, 0):.0f} m to her; planner {mode}",
        fontsize=7.5,
        loc="left",
    )


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


def birdseye(result: RunResult, moments: Sequence[float] | None = None) -> Figure:
    """The scene from above at key moments (top to bottom), with the predicted paths."""
    moments = list(moments) if moments is not None else key_moments(result)
    fig = new_figure(8.0, 1.45 * len(moments) + 0.4)
    axes = fig.subplots(len(moments), 1, squeeze=False)[:, 0]
    for ax, t in zip(axes, moments, strict=True):
        row = _row_at(result, t)
        x0 = min(-25.0, row.suv_x - result.spec.suv.length_m - 3)
        draw_scene(ax, result, row, x0, 8.0)
    axes[-1].set_xlabel(
        "metres north of her path (SUV drives right; dashed box: what the ADS "
        "tracks; arrow: its predicted path; cyan: the SUV's path)",
        fontsize=7,
    )
    fig.suptitle(f"{result.spec.title}: bird's-eye view", fontsize=10)
    return fig


def speed_distance(results: Mapping[str, RunResult]) -> Figure:
    """Speed and distance to her path against time, one line per run."""
    fig = new_figure(9.0, 3.4)
    ax_v, ax_d = fig.subplots(1, 2, sharex=True)
    for name, r in results.items():
        t = [row.t_s for row in r.trace]
        (line,) = ax_v.plot(
            t, [row.suv_v / MPH for row in r.trace], lw=1.2, label=f"{name}: {r.summary.outcome}"
        )
        ax_d.plot(t, [row.gap_m for row in r.trace], lw=1.2, color=line.get_color())
        if r.summary.collision:
            ax_v.plot(
                r.summary.impact_time_s, r.summary.impact_speed_mph, "x", color=line.get_color()
            )
    ax_v.set(ylabel="speed (mph)", title="Speed")
    ax_d.set(ylabel="m from the SUV's front to her path", title="Distance", ylim=(-5, None))
    ax_d.axhline(0, color="black", lw=0.6)
    for ax in (ax_v, ax_d):
        ax.xaxis.set_major_formatter(_BEFORE)
        ax.set_xlabel("seconds before the record's moment of impact", fontsize=8)
        ax.grid(alpha=0.3)
    ax_v.legend(fontsize=6, loc="lower left")
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
        draw_scene(ax, result, row, x0, x0 + 60.0)
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


def sweep_figure(result: SweepResult) -> Figure:
    """Collision probability and mean impact speed over the grid (heatmaps for two axes, lines
    for one); without a grid, the distribution of impact speeds and hazard times."""
    grid = result.grid
    if len(grid) == 2:
        return _heatmaps(result)
    fig = new_figure(9.0, 3.2)
    ax1, ax2 = fig.subplots(1, 2)
    if len(grid) == 1:
        key, values = grid[0]
        x = np.arange(len(values))
        p = np.array([100 * c.collision_probability for c in result.cells])
        ci = np.array([c.collision.interval for c in result.cells]) * 100
        ax1.errorbar(x, p, yerr=[p - ci[:, 0], ci[:, 1] - p], fmt="o-", capsize=3)
        ax2.plot(
            x,
            [
                np.nan if c.mean_impact_speed_mph is None else c.mean_impact_speed_mph
                for c in result.cells
            ],
            "o-",
            color="tab:red",
        )
        for ax in (ax1, ax2):
            ax.set_xticks(x, [_label(v) for v in values])
            ax.set_xlabel(key)
            ax.grid(alpha=0.3)
        ax1.set(ylabel="collision probability (%, 95 % Wilson interval)", ylim=(-3, 103))
        ax2.set(ylabel="mean impact speed (mph)")
    else:
        arr = result.cells[0].arrays
        speeds = arr["impact_speed_mps"][arr["collision"]] / MPH
        ax1.hist(speeds, bins=40, color="tab:red")
        ax1.set(
            xlabel="impact speed (mph)",
            ylabel="runs",
            title=f"{result.cells[0].collision.text()} of {result.runs_per_cell:,} runs "
            "collide (95 % Wilson interval)",
        )
        hz = -arr["first_hazard_s"][~np.isnan(arr["first_hazard_s"])]
        ax2.hist(hz, bins=40, color="tab:orange")
        ax2.set(xlabel="first predicted conflict, s before the record's impact", ylabel="runs")
    fig.suptitle(f"{result.scenario}", fontsize=10)
    return fig


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
    fig = new_figure(10.0, 0.35 * len(v0) + 2.6)
    axes = fig.subplots(1, 2)
    for ax, data, title, cmap, fmt in (
        (axes[0], 100 * prob, "collision probability (%)", "Reds", "{:.0f}"),
        (axes[1], speed, "mean impact speed (mph)", "magma_r", "{:.1f}"),
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
                        fontsize=6.5,
                        color="white" if dark else "black",
                    )
        ax.set_xticks(range(shape[1]), [_label(v) for v in v1], fontsize=7)
        ax.set_yticks(range(shape[0]), [_label(v) for v in v0], fontsize=7)
        ax.set(xlabel=k1, ylabel=k0, title=title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    widest = max((c.collision.interval[1] - c.collision.interval[0]) / 2 for c in result.cells)
    fig.suptitle(
        f"{result.scenario}: {result.runs_per_cell:,} runs per cell; collision probabilities "
        f"within +-{100 * widest:.0f} points (95 % Wilson interval, widest cell)",
        fontsize=10,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Sensitivity: tornado charts and outcome histograms over the plausible worlds


def _short(key: str) -> str:
    """'planner.motion_trust_s' -> 'motion_trust_s'; an item keeps its list: 'events.4.t_s'."""
    parts = key.split(".")
    return ".".join(parts[1:]) if len(parts) > 2 else parts[-1]


def _panels(n: int, width: float, height: float):
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = new_figure(width, height * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes[:n]


def tornado(result, names: Sequence[str] | None = None, top: int = 6) -> Figure:
    """For each scenario, its most important inputs: the outcome in each input's lowest and
    highest fifth of draws (bars from one to the other), ranked by the first-order index."""
    rows = [s for s in result.scenarios if names is None or s.name in names]
    fig, axes = _panels(len(rows), 12.0, 2.6)
    for ax, s in zip(axes, rows, strict=True):
        imp = [i for i in s.importance if i.index > 2 * s.index_noise][:top] or list(
            s.importance[:top]
        )
        imp = imp[::-1]
        scale = 100.0 if s.tornado_outcome.startswith("probability") else 1.0
        centre = (
            100 * s.avoided.p
            if scale == 100.0
            else float(np.mean(s.arrays["impact_mph"][s.arrays["plausible"]]))
            if s.avoided.n
            else 0.0
        )
        for y, i in enumerate(imp):
            lo, hi = scale * i.low, scale * i.high
            ax.barh(y, hi - lo, left=lo, color="tab:blue" if hi >= lo else "tab:red", alpha=0.7)
            ax.plot([lo], [y], "|", color="black", ms=7)
            ax.text(max(lo, hi), y, f"  S1 {i.index:.2f}", va="center", fontsize=6, color="0.3")
        ax.axvline(centre, color="black", lw=0.8)
        ax.set_yticks(range(len(imp)), [_short(i.key) for i in imp], fontsize=6.5)
        unit = "P(avoid), %" if scale == 100.0 else "impact speed, mph (0 if avoided)"
        ax.set_xlabel(f"{unit}: lowest fifth (|) to highest fifth of the input", fontsize=6.5)
        ax.tick_params(axis="x", labelsize=6.5)
        ax.set_title(f"{s.name}\n{s.headline()}", fontsize=7)
        ax.margins(x=0.3)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"What moves each outcome: {result.runs:,} worlds drawn, seed {result.seed}; "
        "S1 = first-order variance share (impact speed, 0 if avoided)",
        fontsize=9,
    )
    return fig


def outcome_histograms(result, names: Sequence[str] | None = None) -> Figure:
    """For each scenario, the share of plausible worlds in which the crash is avoided and the
    impact speeds where it is not."""
    rows = [s for s in result.scenarios if names is None or s.name in names]
    fig, axes = _panels(len(rows), 12.0, 2.4)
    for ax, s in zip(axes, rows, strict=True):
        h = s.histogram
        n = max(s.avoided.n, 1)
        edges = h["edges_mph"]
        width = edges[1] - edges[0]
        ax.bar(
            [e + width / 2 for e in edges],
            [100 * c / n for c in h["counts"]],
            width=width * 0.9,
            color="tab:red",
            label="hit",
        )
        ax.bar([-3.0], [100 * h["avoided"] / n], width=2.5, color="tab:green", label="avoided")
        if s.single and s.single["collision"]:
            ax.axvline(s.single["impact_speed_mph"], color="black", ls="--", lw=0.8)
        ax.set_xlim(-5, edges[-1] + 2 * width)
        ticks = [0, 10, 20, 30, 40]
        ax.set_xticks([-3.0, *ticks], ["avoided", *map(str, ticks)], fontsize=6.5)
        ax.tick_params(axis="y", labelsize=6.5)
        ax.set_ylabel("% of plausible worlds", fontsize=6.5)
        ax.set_xlabel("impact speed (mph); dashed: the single run", fontsize=6.5)
        ax.set_title(f"{s.name}\n{s.headline()}", fontsize=7)
    fig.suptitle(
        f"Outcomes over the plausible worlds ({result.runs:,} drawn, seed {result.seed}; "
        "95 % Wilson intervals in the titles)",
        fontsize=9,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# The trade-off: collisions avoided against nuisance hard braking


def tradeoff_curves(result) -> Figure:
    """Each design as a point: nuisance hard-braking events per 1,000 km (x) against the
    probability of avoiding her crash over the plausible worlds (y), both with 95 % intervals;
    the designs of one setting joined in the order of its values."""
    fig = new_figure(9.0, 5.5)
    ax = fig.subplots()
    own = result.points[0]
    axes: dict[str, list] = {}
    for p in result.points[1:]:
        if p.axis:
            axes.setdefault(p.axis, []).append(p)

    def xy(p):
        lo, hi = p.hard_interval
        alo, ahi = p.avoided.interval or (0.0, 0.0)
        x, y = p.hard_per_1000_km, 100 * (p.avoided.p or 0.0)
        return x, y, [[x - lo], [hi - x]], [[y - 100 * alo], [100 * ahi - y]]

    colours = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink")
    for (axis, pts), colour in zip(axes.items(), colours, strict=False):
        own_value = result.own_values[axis]
        if all(_sort_key(p.values[axis]) != _sort_key(own_value) for p in pts):
            pts = [*pts, own]  # the own design is this axis's point at its own value
        line = sorted(pts, key=lambda p: _sort_key(p.values.get(axis, own_value)))
        ax.plot(
            [xy(p)[0] for p in line], [xy(p)[1] for p in line], "-", color=colour, lw=1, alpha=0.7
        )
        for p in line:
            x, y, xe, ye = xy(p)
            ax.errorbar(x, y, xerr=xe, yerr=ye, fmt="o", color=colour, ms=4, capsize=2, lw=0.8)
            if p is not own:
                ax.annotate(
                    p.label.split(" = ")[-1],
                    (x, y),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                    color=colour,
                )
        ax.plot([], [], "o-", color=colour, label=f"{axis} alone")
    for p in result.points[1:]:
        if p.axis is None:
            x, y, xe, ye = xy(p)
            ax.errorbar(x, y, xerr=xe, yerr=ye, fmt="*", color="black", ms=9, capsize=2, lw=0.8)
            ax.annotate(p.label, (x, y), fontsize=6.5, xytext=(4, -9), textcoords="offset points")
    x, y, xe, ye = xy(own)
    ax.errorbar(x, y, xerr=xe, yerr=ye, fmt="s", color="black", ms=7, capsize=2, label=own.label)
    ax.set_xlabel(
        f"nuisance hard braking (>= {result.hard_brake_mps2:g} m/s^2) per 1,000 km; "
        "rates of harmless objects assumed (U)"
    )
    ax.set_ylabel("her crash avoided, % of plausible worlds")
    ax.set_ylim(-5, 105)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    ax.set_title(
        f"{result.scenario}: {result.runs:,} worlds and {result.runs:,} encounters per kind, "
        f"seed {result.seed}; bars: 95 % intervals (Monte Carlo)",
        fontsize=8,
    )
    return fig


def _sort_key(v):
    return float(v) if not isinstance(v, str) else v
