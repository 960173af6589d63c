"""The sensitivity and trade-off figures in the house style: 9 pt labels or more, colours from
the palette with one meaning each, value labels that do not overlap."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from fragility.figures import FONT_PT, smallest_font_pt, style
from scenarios import figures, sensitivity, tradeoff
from scenarios.stats import Proportion

PALETTE = {
    to_hex(c)
    for c in (
        style.BLUE,
        style.VERMILLION,
        style.GREEN,
        style.PURPLE,
        style.SKY,
        style.ORANGE,
        style.YELLOW,
        style.BLACK,
        style.GREY,
        style.LIGHT_GREY,
        *style.RAMP,
        *figures.RUNS,
        "white",
        *(style.STYLE[k] for k in ("grid.color", "axes.edgecolor", "axes.labelcolor")),
        style.STYLE["xtick.color"],
    )
}


@cache
def result() -> sensitivity.SensitivityResult:
    return sensitivity.run(["persistent-tracking", "no-suppression"], runs=512, seed=0)


def _point(label, axis, values, avoided_k, hard_k) -> tradeoff.DesignPoint:
    kinds = (tradeoff.Nuisance("bag", 20.0, Proportion(hard_k, 100), Proportion(hard_k, 100)),)
    return tradeoff.DesignPoint(label, axis, values, Proportion(avoided_k, 50), kinds)


def tradeoff_result() -> tradeoff.TradeoffResult:
    """Two settings around a design: the values of one crowd together, as in the real sweep."""
    key, other = "planner.suppression_s", "tracking.class_confirm_frames"
    points = [_point("as written", None, {}, 36, 50)]
    points += [_point(f"{key} = {v:g}", key, {key: v}, 49, 50) for v in (0.0, 0.25, 0.5, 0.75)]
    points += [_point(f"{other} = {v}", other, {other: v}, 36, 50) for v in (2, 3)]
    points.append(_point("the 2018 design", None, {"tracking.policy": "reset"}, 0, 50))
    return tradeoff.TradeoffResult(
        "toy", 50, 0, 4.0, {}, tuple(points), {key: 1.0, other: 1}, Proportion(50, 500)
    )


def _draw(fig: Figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _colours(fig: Figure) -> set[str]:
    """Every colour a visible artist draws with (transparent ones left out)."""
    _draw(fig)
    out = set()
    for artist in fig.findobj(lambda a: a.get_visible()):
        if isinstance(artist, FancyBboxPatch):
            continue  # the legend's frame: the house draws none
        for getter in ("get_facecolor", "get_edgecolor", "get_color"):
            if not hasattr(artist, getter):
                continue
            value = getattr(artist, getter)()
            for c in [value] if isinstance(value, str) else np.atleast_2d(value):
                rgba = to_rgba(c)
                if rgba[3] > 0:
                    out.add(to_hex(rgba))
    return out


@pytest.mark.parametrize("draw", ["tornado", "outcomes", "tradeoff"])
def test_labels_are_nine_points_and_colours_come_from_the_palette(draw):
    fig = {
        "tornado": lambda: figures.tornado(result()),
        "outcomes": lambda: figures.outcome_histograms(result()),
        "tradeoff": lambda: figures.tradeoff_curves(tradeoff_result()),
    }[draw]()
    assert smallest_font_pt(fig) >= FONT_PT
    stray = _colours(fig) - PALETTE
    assert not stray, f"colours outside the palette: {sorted(stray)}"


def test_avoided_is_green_and_hit_vermillion_in_the_outcome_histogram():
    fig = figures.outcome_histograms(result(), ["persistent-tracking"])
    bars = [p for p in fig.axes[0].patches if p.get_height() > 0]
    colours = {to_hex(p.get_facecolor()) for p in bars}
    assert colours == {to_hex(style.GREEN), to_hex(style.VERMILLION)}
    avoided = [p for p in bars if to_hex(p.get_facecolor()) == to_hex(style.GREEN)]
    s = result().get("persistent-tracking")
    assert avoided[0].get_height() == pytest.approx(100 * s.avoided.p)


def test_the_tornado_names_inputs_in_words_where_given():
    words = {"planner.motion_trust_s": "time to trust motion"}
    fig = figures.tornado(result(), ["persistent-tracking"], labels=words, show_index=False)
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "time to trust motion" in names and not any("(" in n for n in names)


def test_trade_off_value_labels_never_overlap_and_a_setting_that_moves_nothing_is_named():
    fig = figures.tradeoff_curves(tradeoff_result())
    renderer = _draw(fig)
    ax = fig.axes[0]
    labels = [t for t in ax.texts if isinstance(t, Text) and t.get_text()]
    assert labels, "no value written by any point"
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), "two value labels overlap"
    key = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("class_confirm_frames" in k and "every value" in k for k in key)
