"""The cost of false alarms: the wait before braking and the ban on hard braking were chosen to
avoid braking for things that were not there. `scenarios.tradeoff` counts both sides, design by
design: her crash avoided over the plausible worlds, and hard braking for harmless objects per
1,000 km. Every number comes from `evidence.Evidence.tradeoff` and goes into the metrics.
"""

from __future__ import annotations

from fragility.figures import to_png
from fragility.report.section import FigureBlock, Note, Paragraph, Section, Table
from scenarios import counterfactuals, figures
from scenarios import spec as spec_mod
from scenarios.case_study import cite, evidence
from scenarios.case_study.outcomes import level
from scenarios.case_study.record import YEAR

SLUG = "false-alarms"
PER_KM = 1_000  # the trade-off's unit of distance (scenarios.tradeoff: events per 1,000 km)
WAIT = "planner.suppression_s"


def _value(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)


def point_words(p, trade) -> str:
    """A design of the trade-off in words: its setting and value, or its named design."""
    if p.axis:
        return f"{evidence.words(p.axis)}: {_value(p.values[p.axis])}"
    return evidence.design_words(p.values, trade)


def _nuisance(p) -> str:
    lo, hi = p.hard_interval
    return f"{p.hard_per_1000_km:.1f} ({lo:.1f}-{hi:.1f})"


def _waits(trade) -> str:
    """Each wait before braking, in order, with both sides of its cost."""
    own = trade.points[0]
    points = [p for p in trade.points if p.axis == WAIT]
    if not any(p.values[WAIT] == trade.own_values[WAIT] for p in points):
        points.append(own)  # the sweep's own design is the wait's point at its own value
    base = spec_mod.load(counterfactuals.BASE).value(WAIT)
    parts = []
    for p in sorted(points, key=lambda p: p.values.get(WAIT, trade.own_values[WAIT])):
        wait = p.values.get(WAIT, trade.own_values[WAIT])
        mark = f" (the {YEAR} wait)" if wait == base else ""
        parts.append(
            f"a wait of {wait:g} s{mark}: avoided in {p.avoided.text()}, "
            f"{p.hard_per_1000_km:.1f} hard brakings for nothing per {PER_KM:,} km"
        )
    return "; ".join(parts)


def section(ev: evidence.Evidence, *, instructor: bool = False) -> Section:
    trade = ev.tradeoff
    own = trade.points[0]
    kinds = trade.settings["objects"]
    named = [p for p in trade.points[1:] if p.axis is None]
    blocks: list = [
        Paragraph(
            "Each design below drives her crossing over the plausible worlds, and meets "
            "harmless objects that the software nonetheless reports: "
            + ", ".join(k["name"] for k in kinds)
            + f". A nuisance event is the software braking at {trade.hard_brake_mps2:g} m/s² "
            "or more before such an object: a hard stop for nothing, which can hurt passengers "
            "or invite a crash from behind. The sweep changes one setting at a time around "
            f"{evidence.design_words(own.values, trade)}, which on its own avoids her crash in "
            f"{own.avoided.text()} of the plausible worlds and brakes hard for nothing "
            f"{own.hard_per_1000_km:.1f} times per {PER_KM:,} km."
        ),
        FigureBlock(
            "case-tradeoff",
            to_png(
                figures.tradeoff_curves(
                    trade, labels=evidence.trade_labels(trade), width_in=figures.WIDE_IN, title=None
                )
            ),
            f"Both sides of each design: hard braking for harmless objects per {PER_KM:,} km "
            "(across) against the share of plausible worlds in which her crash is avoided "
            f"(up), each with its {level()} interval. The points of one setting are joined in "
            "the order of its values, each value written beside its point where there is room.",
            "A scatter of designs: nuisance hard braking per distance across, her crash avoided "
            "up, each with error bars; the designs of each setting joined by a coloured line, "
            "the named designs as black markers, the sweep's own design as a white square.",
        ),
        Paragraph(f"In this model, around tracking that keeps its history: {_waits(trade)}."),
        Paragraph(
            "The named designs: "
            + "; ".join(
                f"{point_words(p, trade)}: avoided in {p.avoided.text()}, "
                f"{p.hard_per_1000_km:.1f} hard brakings for nothing per {PER_KM:,} km"
                for p in named
            )
            + "."
        ),
        Note(
            "How often each harmless object is met is an assumption (U): no public source gives "
            f"these rates for a {YEAR} test car. Here: "
            + "; ".join(f"{k['name']}, {k['per_1000_km']:,g} per {PER_KM:,} km" for k in kinds)
            + ". They set the scale of the nuisance side for every design; the intervals are "
            "the uncertainty of the simulation's draws only.",
            kind="caution",
        ),
        Table(
            f"Every design of the trade-off: her crash avoided over the plausible worlds and "
            f"hard braking for nothing per {PER_KM:,} km ({level()} intervals)",
            ("design", "crash avoided", f"hard brakings for nothing per {PER_KM:,} km"),
            tuple((point_words(p, trade), p.avoided.text(), _nuisance(p)) for p in trade.points),
        ),
    ]
    if instructor:
        blocks.append(
            Note(
                "No point on the curve is the right one, and the figure is built to be argued "
                "over. Ask who bears each cost: a hard stop for a plastic bag falls on "
                "passengers and the drivers behind; a missed pedestrian on people on the road. "
                "Then ask what rate of false alarms a company should accept while testing, who "
                "should decide, and whether the rates assumed here would change anyone's mind. "
                + cite.expand("{f:erratic-behavior}"),
                kind="instructor",
            )
        )
    return Section(
        slug=SLUG,
        title="The cost of false alarms",
        intro=(
            "The wait before braking and the ban on hard braking were chosen for a reason: to "
            "stop the car braking for things that were not there. "
            + cite.record("action-suppression")
            + " A false alarm has a cost too, and the simulation can count both sides."
        ),
        blocks=tuple(blocks),
        metrics={"tradeoff": trade.to_dict()},
    )
