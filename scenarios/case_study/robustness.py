"""How sure the outcomes are: every counterfactual over the plausible worlds, what moves each
(the tornado), how each fails when it fails (the outcome histogram), and the outside record
(Volvo's reported simulations, the Tempe police, the NTSB) beside the model's numbers.

Every number here comes from `evidence.Evidence` and goes into the section's metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

from fragility.figures import to_png
from fragility.report.section import FigureBlock, Heading, Note, Paragraph, Section, Table
from scenarios import figures
from scenarios.case_study import cite, evidence
from scenarios.case_study.outcomes import Outcome, level
from scenarios.case_study.record import YEAR

SLUG = "how-sure"
# The fixes the figures show: each avoids the crash in some plausible worlds and not in others.
FEATURED = ("persistent-tracking", "attentive-operator", "volvo-aeb", "all-braking-fixes")


def plausible_text(ev: evidence.Evidence) -> str:
    """How many worlds were drawn and kept, and the rule that keeps them, in one sentence."""
    sens, kept = ev.sensitivity, ev.plausible
    rule = sens.record_check
    lo_mph, hi_mph = rule.impact_mph
    lo_s, hi_s = rule.hazard_before_s
    return (
        f"Of {sens.runs:,} worlds drawn (seed {sens.seed}), {kept.k:,} reproduce the record: in "
        f"them the {YEAR} design hits her at {lo_mph:g} to {hi_mph:g} mph, with the crash first "
        f"judged imminent {lo_s:g} to {hi_s:g} s before impact. The record: "
        f"{cite.record('speed-at-impact')} {cite.record('conflict-judged')}"
    )


def _table(outcomes: Mapping[str, Outcome]) -> Table:
    rows = tuple(
        (
            o.title + (" (an input about the world, not a design choice)" if o.data_change else ""),
            o.share(),
            o.median(),
            o.one_run or "-",
        )
        for o in outcomes.values()
    )
    return Table(
        f"Every counterfactual over the plausible worlds: the share in which the crash is "
        f"avoided ({level()} interval), the median impact speed where she is still hit, and the "
        "single run with every input at its value in the scenario file (an illustration)",
        ("what changes", "crash avoided", "where hit: median impact", "one run, illustration"),
        rows,
    )


def outside_table(ev: evidence.Evidence, outcomes: Mapping[str, Outcome]) -> Table:
    rows, seen = [], set()
    for o in ev.sensitivity.outside_record:
        # an account asked two questions is quoted once, its second row refers back to it
        claim = "The same account." if o["fact"] in seen else cite.outside(o["fact"])
        seen.add(o["fact"])
        if "claim_as_proportion" in o:
            claim += f" As a share: {o['claim_as_proportion']['text']}."
        title = outcomes[o["scenario"]].title if o["scenario"] in outcomes else o["scenario"]
        rows.append((claim, f"{title}: {o['question']}", o["ours"]["text"]))
    return Table(
        "What others concluded, beside the same question asked of this model",
        ("the outside record", "in this model", "share of plausible worlds"),
        tuple(rows),
    )


def _discussion(ev: evidence.Evidence, outcomes: Mapping[str, Outcome]) -> list:
    """A paragraph for each outside claim the worlds answer, computed from the comparison."""
    out = []
    by = {}
    for o in ev.sensitivity.outside_record:
        by.setdefault(o["fact"], []).append(o)
    volvo, attentive = ev.get("volvo-aeb"), ev.get("attentive-operator")
    if "volvo-simulation" in by and volvo is not None:
        first = by["volvo-simulation"][0]
        agree = first.get("intervals_overlap")
        decides = evidence.what_decides(volvo)
        out.append(
            Paragraph(
                "**Volvo.** "
                + (
                    "The model's braking and Volvo's reported simulations agree within their "
                    "intervals. "
                    if agree
                    else "The model's braking and Volvo's reported simulations disagree: their "
                    "intervals do not overlap. "
                )
                + "The model's version of Volvo's braking sees only an object already ahead of "
                "the SUV, with no prediction of where it goes, and every one of its settings is "
                "an assumption"
                + (f"; {decides}" if decides else "")
                + ". Volvo's own system is not described in the record, and its figure is known "
                "only from secondary accounts. Which is more likely to be wrong is a question "
                "for the class, not one this page settles."
            )
        )
    if attentive is not None and "police-avoidable" in by:
        ours = by["police-avoidable"][0]["ours"]["text"]
        decides = evidence.what_decides(attentive)
        why = next(
            (u.why for u in ev.sensitivity.inputs if u.key == "operator.sight_distance_m"), ""
        )
        out.append(
            Paragraph(
                f'**The police and the NTSB.** The police\'s "entirely avoidable" gives no '
                f"number; in this model an operator who watched the road avoids the crash in "
                f"{ours} of the plausible worlds"
                + (f", and {decides}" if decides else "")
                + (f". How far she could have seen: {why}" if why else "")
                + ". The NTSB's finding, that she could have avoided the crash or lessened it, "
                "claims less; the table gives the model's share for that too."
            )
        )
    return out


def section(
    ev: evidence.Evidence, outcomes: Mapping[str, Outcome], *, instructor: bool = False
) -> Section:
    sens = ev.sensitivity
    featured = [n for n in FEATURED if ev.get(n) is not None and ev.get(n).avoided.n]
    titles = {name: o.title for name, o in outcomes.items()}
    blocks: list = [
        Paragraph(plausible_text(ev)),
        Note(
            "A share of plausible worlds says how robust an outcome is to what the record does "
            "not tell us, under the ranges this project chose for each unknown (each with its "
            "reason in the scenario file); other ranges would give other shares. The interval "
            "is the uncertainty of drawing a limited number of worlds, which more worlds "
            "shrink. It is not how often such a crash happens on real roads.",
            kind="caution",
        ),
        _table(outcomes),
    ]
    if featured:
        named = ", ".join(titles.get(n, n) for n in featured)
        blocks += [
            FigureBlock(
                "case-tornado",
                to_png(
                    figures.tornado(
                        sens,
                        featured,
                        top=3,
                        labels=evidence.input_labels(),
                        titles=titles,
                        show_index=False,
                        width_in=figures.WIDE_IN,
                        title=None,
                    )
                ),
                "What each fix hangs on: for each, the three unknowns that explain most of its "
                "outcome. The light bar is the share of worlds in which the crash is avoided "
                "when the unknown is in the lowest fifth of its plausible values, the dark bar "
                "when it is in the highest fifth; the black line is the share over all the "
                "plausible worlds.",
                f"Panels of horizontal bars, one per fix ({named}): for each, the shares "
                "avoided when each of its three most important unknowns is low and when it is "
                "high, around a line at the overall share.",
            ),
            FigureBlock(
                "case-outcomes",
                to_png(
                    figures.outcome_histograms(
                        sens, featured, titles=titles, width_in=figures.WIDE_IN, title=None
                    )
                ),
                "How each fix fails when it fails: the share of plausible worlds in which the "
                "crash is avoided (green) and the impact speeds where she is still hit "
                "(vermillion); the dashed line is the one run with every unknown at its value "
                "in the scenario file.",
                f"Histograms, one per fix ({named}): a green bar for the worlds in which the "
                "crash is avoided and vermillion bars for the impact speeds in the others, with "
                "a dashed line at the single run's impact speed where it hits.",
            ),
        ]
    blocks += [Heading("Beside the outside record"), outside_table(ev, outcomes)]
    blocks += _discussion(ev, outcomes)
    if instructor:
        blocks.append(
            Note(
                "Ask students to read a share as an answer to a question about assumptions: "
                '"if the unknowns lie anywhere in these ranges, how often does the fix work?" '
                "The tornado shows which unknown to argue about first; the outside record shows "
                "that serious people reached other conclusions, and why a model and a press "
                "report can both be wrong.",
                kind="instructor",
            )
        )
    return Section(
        slug=SLUG,
        title="How sure: the outcomes over the plausible worlds",
        intro=(
            "Many inputs of the simulation are not in the record: how fast she walked, how far "
            "the operator could have seen her at night, how hard the brakes could grip. Each "
            "has a range of plausible values, with its reason, in the scenario file. A "
            "plausible world is one draw of all of them at once, kept only if the design as "
            f"it was in {YEAR}, run in that world, reproduces what the record says happened. "
            "Every outcome on these pages is the share of those worlds in which the crash is "
            "avoided."
        ),
        blocks=tuple(blocks),
        metrics={
            "worlds_drawn": sens.runs,
            "seed": sens.seed,
            "plausible": ev.plausible.to_dict(),
            "record_check": sens.record_check.to_dict(),
            "featured": featured,
            "scenarios": {s.name: s.to_dict() for s in sens.scenarios},
            "outside_record": list(sens.outside_record),
        },
    )
