"""Figures of the classifier in the loop: what the network saw, and what it made of it.

- `film_strip`: her crops as the network saw them, at their moments on the run's timeline,
  with its top class and probability under each; beneath, the class it gave every frame, the
  track's class and each reset of the track's history.
- `class_probabilities`: the network's probability of each class, frame by frame.
- `fixes`: the same timeline for each fix, one row each, with the run's outcome.

Results in, `matplotlib.figure.Figure` out, in the house style (`fragility.figures`): 9 pt
text, one colour per class (`scenarios.figures.CLASS_COLOURS`), crops drawn pixel for pixel
(nearest neighbour) in a thin frame. The x axis reads as the record does: seconds before the
record's moment of impact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from fragility.figures import FONT_PT, new_figure, styled
from fragility.figures._gallery import text_width_in
from fragility.figures.style import VERMILLION
from scenarios import spec as spec_mod
from scenarios.camera import Seen
from scenarios.figures import _BEFORE, CLASS_COLOURS, _band
from scenarios.simulate import RunResult
from scenarios.spec import CLASSES, MPH, NETWORK_CLASSES, ScenarioSpec

if TYPE_CHECKING:
    from fragility.report.section import FigureBlock

WIDTH_IN = 6.5  # a page's text column, as the case study's wide figures
LEFT_IN, RIGHT_IN = 0.95, 0.15  # the time axes' margins, shared by every panel
CROP_IN = 0.52
RESET_STYLE = {"marker": "x", "color": VERMILLION, "ms": 6, "mew": 1.5, "ls": ""}


AFTER_S = 0.5  # the time axes end this long after the record's moment of impact


def _span(seen: Seen, result: RunResult) -> tuple[float, float]:
    """The time axis: from her first frame to the impact, or to just after the record's moment
    of impact where she is not hit (the SUV has stopped; nothing more happens)."""
    s = result.summary
    end = s.impact_time_s if s.collision else min(float(seen.times_s[-1]) + 0.1, AFTER_S)
    return float(seen.times_s[0]) - 0.05, end + 0.05


def _time_axes(fig: Figure, bottom_in: float, height_in: float):
    w, h = fig.get_size_inches()
    return fig.add_axes((LEFT_IN / w, bottom_in / h, (w - LEFT_IN - RIGHT_IN) / w, height_in / h))


def _picked(seen: Seen, lo: float, hi: float) -> np.ndarray:
    """Evenly spaced frames whose crops and captions fit side by side on the time axis."""
    inches_per_s = (WIDTH_IN - LEFT_IN - RIGHT_IN) / (hi - lo)
    caption = max(text_width_in(c) for c in CLASSES) + 0.08
    cell_s = max(CROP_IN, caption) / inches_per_s
    frame_s = float(np.median(np.diff(seen.times_s))) if len(seen.times_s) > 1 else 1.0
    every = max(1, int(np.ceil(cell_s / frame_s)))
    return np.arange(0, int(np.sum(seen.times_s <= hi)), every)


def _caption(seen: Seen, i: int) -> tuple[str, str]:
    cls = CLASSES[int(seen.cls[i])]
    p = float(seen.probs[i].max())
    return cls, f"{100 * p:.0f} %" if not seen.flagged[i] else f"{100 * p:.0f} %, flagged"


BAND_IN = 0.22  # each class row's height
BANDS_IN = 2 * BAND_IN + 0.04


def _bands(fig: Figure, bottom_in: float, seen: Seen, lo: float, hi: float):
    """Two rows on the time axis: the class the network gave (top) and the track's class
    (bottom), with an x under each reset of the track's history. Returns (top, bottom axes,
    the classes whose runs were too short to name in place)."""
    track = _time_axes(fig, bottom_in, BAND_IN)
    given = _time_axes(fig, bottom_in + BAND_IN + 0.04, BAND_IN)
    inches_per_s = (fig.get_size_inches()[0] - LEFT_IN - RIGHT_IN) / (hi - lo)
    colours = {**CLASS_COLOURS, "none": "white"}
    missing = _band(
        given, seen.times_s, [CLASSES[int(c)] for c in seen.cls], colours, hi, inches_per_s
    )
    missing |= _band(
        track, seen.times_s, [c or "none" for c in seen.track_cls], colours, hi, inches_per_s
    )
    resets = seen.times_s[seen.resets]
    track.plot(resets, [-0.3] * len(resets), clip_on=False, **RESET_STYLE)
    for ax, label in ((given, "network"), (track, "track")):
        ax.set_xlim(lo, hi)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", labelpad=6)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    given.tick_params(labelbottom=False)
    track.xaxis.set_major_formatter(_BEFORE)
    return given, track, missing


def _outcome(result: RunResult) -> str:
    s = result.summary
    if s.collision:
        return f"hit at {s.impact_speed_mps / MPH:.0f} mph"
    if s.stopping_margin_m is None:
        return "avoided"
    return f"stops, {s.stopping_margin_m:.1f} m to spare"


def _legend(fig: Figure, classes: set[str], y: float) -> None:
    handles = [Patch(color=CLASS_COLOURS[c], label=c) for c in CLASSES if c in classes]
    handles.append(Line2D([], [], label="track history reset", **RESET_STYLE))
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, y),
        ncol=len(handles),
        frameon=False,
        handlelength=1.2,
        columnspacing=0.9,
    )


@styled
def film_strip(seen: Seen, result: RunResult, title: str | None = None) -> Figure:
    """Her crops at their moments, the network's top class and probability under each, and the
    run's classes and resets beneath, on one time axis."""
    lo, hi = _span(seen, result)
    picked = _picked(seen, lo, hi)
    caption_in = 2 * FONT_PT * 1.3 / 72
    height = 0.75 + BANDS_IN + 0.25 + caption_in + CROP_IN + 0.35
    fig = Figure(figsize=(WIDTH_IN, height), dpi=new_figure().dpi)
    given, track, missing = _bands(fig, 0.75, seen, lo, hi)
    track.set_xlabel("seconds before impact")
    if result.summary.collision:
        for ax in (given, track):
            ax.axvline(result.summary.impact_time_s, color=VERMILLION, lw=1.4)
    inches_per_s = (WIDTH_IN - LEFT_IN - RIGHT_IN) / (hi - lo)
    crop_bottom = 0.75 + BANDS_IN + 0.25 + caption_in
    for i in picked:
        x_in = LEFT_IN + (seen.times_s[i] - lo) * inches_per_s
        x_in = min(x_in, WIDTH_IN - CROP_IN / 2 - 0.02)  # the last may sit a little early
        ax = fig.add_axes(
            (
                (x_in - CROP_IN / 2) / WIDTH_IN,
                crop_bottom / height,
                CROP_IN / WIDTH_IN,
                CROP_IN / height,
            )
        )
        img = seen.crops[i]
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
        ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_linewidth(0.6)
            side.set_color("#555555")
        cls, p = _caption(seen, i)
        ax.text(0.5, -0.06, f"{cls}\n{p}", transform=ax.transAxes, ha="center", va="top")
    fig.text(
        0.01,
        (crop_bottom + CROP_IN / 2) / height,
        "her crop\nas seen",
        ha="left",
        va="center",
    )
    title = title or f"{result.spec.title} ({_outcome(result)})"
    if text_width_in(title, title=True) > WIDTH_IN - 0.1:
        title = f"What the network saw ({_outcome(result)})"
    fig.suptitle(
        title,
        x=0.01,
        y=1 - 0.08 / height,
        ha="left",
        va="top",
    )
    _legend(fig, missing | {CLASSES[int(c)] for c in seen.cls}, 0.0)
    return fig


@styled
def class_probabilities(seen: Seen, result: RunResult) -> Figure:
    """The network's probability of each class, frame by frame; flagged frames shaded."""
    lo, hi = _span(seen, result)
    fig = new_figure(WIDTH_IN, 2.9)
    ax = fig.add_subplot()
    for k, name in enumerate(NETWORK_CLASSES):
        ax.plot(seen.times_s, seen.probs[:, k], color=CLASS_COLOURS[name], label=name, lw=1.4)
    for t in seen.times_s[seen.flagged]:
        ax.axvspan(t - 0.05, t + 0.05, color=CLASS_COLOURS["unknown"], alpha=0.35, lw=0)
    resets = seen.times_s[seen.resets]
    ax.plot(resets, [1.06] * len(resets), **RESET_STYLE)
    if result.summary.collision:
        ax.axvline(result.summary.impact_time_s, color=VERMILLION, lw=1.4)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.12)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.xaxis.set_major_formatter(_BEFORE)
    ax.set_xlabel("seconds before impact")
    ax.set_ylabel("probability")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], label="reset", **RESET_STYLE))
    if seen.flagged.any():
        handles.append(Patch(color=CLASS_COLOURS["unknown"], alpha=0.35, label="flagged"))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=len(handles),
        frameon=False,
        handlelength=1.2,
        columnspacing=0.9,
    )
    short = seen.network.split()[0] + " on " + seen.network.rsplit(" on ", 1)[-1]
    fig.suptitle(f"Class probabilities per frame: {short}", x=0.01, ha="left")
    return fig


@styled
def fixes(runs: Mapping[str, tuple[Seen, RunResult]]) -> Figure:
    """One row per scenario: the class the network gave each frame, the track's class, the
    resets, and the run's outcome; the same seed, so the same first crops in every row."""
    row_in = BANDS_IN + 0.3
    height = 0.45 + row_in * len(runs) + 0.75
    fig = Figure(figsize=(WIDTH_IN, height), dpi=new_figure().dpi)
    spans = [_span(s, r) for s, r in runs.values()]
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    missing: set[str] = set()
    track = None
    for i, (name, (seen, result)) in enumerate(runs.items()):
        bottom = 0.75 + row_in * (len(runs) - 1 - i)
        given, track, more = _bands(fig, bottom, seen, lo, hi)
        missing |= more
        if result.summary.collision:
            for ax in (given, track):
                ax.axvline(result.summary.impact_time_s, color=VERMILLION, lw=1.4)
        given.set_title(
            f"{name}: {_outcome(result)}", loc="left", fontsize=FONT_PT, weight="normal", pad=2
        )
        track.tick_params(labelbottom=False)
    if track is not None:
        track.tick_params(labelbottom=True)
        track.set_xlabel("seconds before impact")
    fig.suptitle(
        "The network's class, the track's class and its resets, with each fix",
        x=0.01,
        y=1 - 0.06 / height,
        ha="left",
        va="top",
    )
    _legend(fig, missing, 0.0)
    return fig


# ---------------------------------------------------------------------------------------------
# The case study's figure


def case_study_block(
    scenario: str | ScenarioSpec = "tempe-2018-classifier", seed: int = 0, *, progress: bool = False
) -> FigureBlock:
    """The film strip of a classifier run (`simulate(scenario, seed=seed)`) as the case
    study's figure (`case_study.build(film_strip=...)`), its caption stating the run's own
    numbers. Trains the scenario's network on first use (then it is cached)."""
    from fragility.figures import to_png
    from fragility.report.section import FigureBlock
    from scenarios import camera
    from scenarios.simulate import simulate

    s = spec_mod.load(scenario) if isinstance(scenario, str) else scenario
    if s.perception.mode != "classifier":
        raise spec_mod.ScenarioError(
            f"{s.name}: perception.mode is {s.perception.mode!r}; a film strip needs "
            "mode = 'classifier'"
        )
    if progress:  # train it (if not cached) with a progress bar; simulate then loads it
        from scenarios import classifier

        classifier.network(s.perception.classifier, progress=True)
    result = simulate(s, seed=seed)
    seen = camera.seen(result, seed)
    changes, resets = seen.class_changes, int(seen.resets.sum())
    trained_on = {
        "blind-spot": "crops in which every pedestrian stands on a crossing and none walks a "
        "bicycle",
        "fixed": "crops with jaywalkers and pedestrians walking bicycles",
    }[s.perception.classifier.training_set]
    caption = (
        f"What a network saw: fragility's {seen.network}, trained on {trained_on}, "
        f"classifies the camera's crop of her each frame (scenario `{s.name}`, render seed "
        f"{seed}). Its class changed {changes} times, and the tracker discarded her history "
        f"{resets} times; the run's outcome: {_outcome(result)}. Nothing in the run is "
        "scripted."
    )
    shown = len(_picked(seen, *_span(seen, result)))
    alt = (
        f"{shown} of her camera crops from {-seen.times_s[0]:.1f} seconds before impact, "
        "small and dark far away and larger near the car, each with the network's top class "
        f"and probability; beneath, the class it gave every frame, changing {changes} times, "
        f"with {resets} resets of the track marked."
    )
    return FigureBlock("case-film-strip", to_png(film_strip(seen, result)), caption, alt)
