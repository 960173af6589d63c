"""The replay, and the chain from each technical choice to the decision behind it and its cost.

Each 2018 design choice is a switch in the scenario file (`Link.key`); the record says what it
was, the sources say who decided it and, where they can, why; the counterfactual that flips it
says what it cost in this model. Counterfactual outcomes enter only through `Outcome` (see
`scenarios.case_study.outcomes`), so the same prose reads right for one run or for a probability
over the unconfirmed inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fragility._fmt import pct
from fragility.figures import to_png
from fragility.report.section import (
    Bullets,
    FigureBlock,
    Heading,
    Note,
    Paragraph,
    Section,
    Table,
)
from scenarios import counterfactuals, explain, figures, spec, sweep, tempe2018
from scenarios.case_study import cite, evidence
from scenarios.case_study.outcomes import Outcome, level, wilson
from scenarios.case_study.record import YEAR
from scenarios.simulate import RunResult
from scenarios.spec import MPH


@dataclass(frozen=True)
class Link:
    """One technical choice of the 2018 design, traced to a decision and to its counterfactual."""

    choice: str  # in plain words
    key: str  # the scenario file's key that holds it
    record: tuple[str, ...]  # facts (scenarios.tempe2018) that record the 2018 setting
    who: str  # who decided
    why: tuple[str, ...]  # facts ({f:..} or {r:..}) that give the reason; () if the record does
    counterfactuals: tuple[str, ...]  # packaged scenarios that flip it


LINKS: tuple[Link, ...] = (
    Link(
        "Wait before braking: a period of action suppression after a hazard is recognised",
        "planner.suppression_s",
        ("action-suppression",),
        "Uber ATG's engineers and managers",
        (),
        ("no-suppression",),
    ),
    Link(
        "No hard braking by the computer, not even to lessen a crash it cannot avoid",
        "planner.emergency_braking",
        ("emergency-threshold", "no-mitigation-braking"),
        "Uber ATG's engineers and managers",
        ("{f:erratic-behavior}",),
        ("emergency-braking", "no-suppression-emergency-braking"),
    ),
    Link(
        "A takeover ends the computer's braking; no alert that asks the operator to brake",
        "operator.takeover_disengages",
        ("takeover", "no-emergency-alert"),
        "Uber ATG's engineers and managers",
        ("{f:relies-on-operator}",),
        ("all-braking-fixes",),
    ),
    Link(
        "The Volvo's own emergency braking switched off while the software drove",
        "aeb.enabled",
        ("volvo-aeb-off",),
        "Uber ATG, on a car Volvo built",
        ("{f:volvo-functions-off}", "{f:volvo-motive-unknown}"),
        ("volvo-aeb",),
    ),
    Link(
        "Forget an object's path whenever its class changes",
        "tracking.policy",
        ("reclassification-drops-history",),
        "Uber ATG's engineers",
        ("{f:motive-not-recorded}",),
        ("persistent-tracking",),
    ),
    Link(
        "Expect pedestrians to cross only at crosswalks",
        "planner.jaywalkers",
        ("no-jaywalkers",),
        "Uber ATG's engineers",
        ("{f:no-jaywalking-consideration}", "{f:motive-not-recorded}"),
        ("jaywalker-aware", "recognised-pedestrian", "recognised-pedestrian-jaywalkers"),
    ),
    Link(
        "One operator, doing two jobs, with no system watching her attention",
        "operator.attentive",
        ("operator-glance",),
        "Uber ATG's managers",
        ("{f:one-operator}", "{f:miles-doubled}", "{f:no-attention-monitor}"),
        ("attentive-operator",),
    ),
)


def try_it(name: str) -> str:
    return f"`fragility scenario run {name} --out out/{name}`"


def reused_operator_delays(base: spec.ScenarioSpec, attentive: spec.ScenarioSpec) -> bool:
    """Whether the attentive operator still has the distracted operator's reaction delays."""
    keys = ("operator.takeover_s", "operator.reaction_s")
    try:
        return all(base.value(k) == attentive.value(k) for k in keys)
    except AttributeError:
        return False


def link_blocks(
    link: Link, outcomes: Mapping[str, Outcome], ranges: Mapping[str, str] | None = None
) -> list:
    """One link: the record, who decided and why, and what each counterfactual that flips it
    does, with what that outcome hangs on (`ranges`: scenario name -> a clause, from the
    sensitivity analysis)."""
    record = " ".join(cite.record(r) for r in link.record)
    why = " ".join(cite.expand(w) for w in link.why) if link.why else "the record above."
    costs = []
    for name in link.counterfactuals:
        o, hangs = outcomes[name], (ranges or {}).get(name, "")
        text = f"*{o.title}*: {o.phrase()}"
        if hangs:
            text += f". In these worlds {hangs}"
        costs.append(text + ".")
    return [
        Heading(link.choice),
        Paragraph(f"**In {YEAR}:** {record}"),
        Paragraph(f"**Decided by** {link.who}. **Why, as far as the sources say:** {why}"),
        Paragraph("**What flipping it does in this model:**"),
        Bullets(tuple(costs)),
    ]


def _capital(text: str) -> str:
    """'the lane width' -> 'The lane width'."""
    return text[:1].upper() + text[1:]


def replay(base: RunResult, walking: Mapping[float, RunResult]) -> Section:
    """The as-it-happened run against the record, and how much its unconfirmed inputs matter."""
    s = base.summary
    assumed = [r for r in explain.parameters(base.spec) if r[2] == "U"]
    record_impact = tempe2018.fact("speed-at-impact").value / MPH
    judged = tempe2018.fact("conflict-judged").value
    sens = "; ".join(
        f"at {v:g} m/s the first predicted conflict comes "
        f"{r.summary.before_impact(r.summary.first_hazard_s):.1f} s before impact and she is hit "
        f"at {r.summary.impact_speed_mph:.1f} mph"
        if r.summary.collision
        else f"at {v:g} m/s the crash is avoided"
        for v, r in walking.items()
    )
    pl = base.spec.planner
    return Section(
        slug="replay",
        title=f"The replay: the {YEAR} outcome from the {YEAR} design",
        intro=(
            "The simulation is not an animation of the record. It places the car and the "
            "pedestrian on the road, feeds the record's sequence of classifications to a tracker "
            "that forgets an object's history whenever its class changes, predicts her path from "
            "her class's goal unless a history is long enough to show otherwise, and runs the "
            f"{YEAR} planner: wait {pl.suppression_s:g} s after judging a crash imminent, no hard "
            "braking, a gentle slowdown and an alert if the crash cannot be avoided. Out of that "
            f"comes what the record says: first detection "
            f"{s.before_impact(s.first_detection_s):.1f} s before impact, no predicted conflict "
            f"until {s.before_impact(s.first_hazard_s):.1f} s (record: {judged:g} s), slowdown "
            f"and alert at {s.before_impact(s.alert_s):.1f} s, impact at "
            f"{s.impact_speed_mph:.1f} mph (record: {record_impact:.0f} mph)."
        ),
        blocks=(
            FigureBlock(
                "case-timeline",
                to_png(figures.timeline_strip(base)),
                "What the software saw and decided, against time. Each class change (x) erased "
                "the track's history, so its predicted path fell back to the class's goal: static "
                "for 'other', along the lane for 'vehicle' and 'bicycle'. Dotted lines are the "
                "record's events with their certainty.",
                "Four stacked bands against time: the detected class flickers between vehicle, "
                "other and bicycle; the tracking history keeps dropping to zero; the predicted "
                f"path is static or along the lane and turns red only "
                f"{s.before_impact(s.first_hazard_s):.1f} s before impact; the planner cruises, "
                "then suppresses action, then slows down.",
            ),
            FigureBlock(
                "case-birdseye",
                to_png(figures.birdseye(base)),
                "The scene from above at the record's moments. Dashed box: the tracked object "
                "and its class; arrow: the path the software predicted; cyan: the SUV's path.",
                "Views of the road from above at the record's moments: the SUV approaches in the "
                "right through lane while the pedestrian crosses from its left; the predicted path "
                "of the tracked object points along the lanes, never across them.",
            ),
            Paragraph(
                "The speed profile is the record's, with the unconfirmed speed at the moment the "
                "crash was judged imminent (see What happened). The SUV was first registered at "
                f"{s.speed_at_first_detection_mps / MPH:.0f} mph, "
                f"{s.distance_at_first_detection_m:.0f} m from her path. The record's "
                "estimate: " + cite.record("distance-at-detection")
            ),
            Note(
                f"This replay rests on {len(assumed)} unconfirmed inputs (U), each listed "
                "with its value and the reason for it. The "
                "moment of the first predicted conflict depends on them: with the design as it "
                "was, the planner only sees a conflict once she is physically in the SUV's lane, "
                "so it "
                f"moves with her walking speed ({cite.record('walking-speed')}): {sens}.",
                kind="caution",
            ),
            Table(
                "Unconfirmed inputs (U) of the replay: each in words, its value, its line in "
                "the scenario file and why that value",
                ("the input", "value", "in the scenario file", "why this value"),
                tuple(
                    (
                        _capital(evidence.words(k)),
                        evidence.value_text(k, base.spec.value(k), exact=True),
                        f"`{k}`",
                        src,
                    )
                    for k, _, _, src in assumed
                ),
            ),
        ),
        metrics={
            "impact_speed_mph": round(s.impact_speed_mph, 6),
            "first_hazard_before_s": s.before_impact(s.first_hazard_s),
            "first_detection_before_s": s.before_impact(s.first_detection_s),
            "alert_before_s": s.before_impact(s.alert_s),
            "track_resets": s.continuity.resets,
            "unconfirmed_inputs": len(assumed),
            "unconfirmed_values": {k: base.spec.value(k) for k, *_ in assumed},
            "speed_at_first_detection_mph": round(s.speed_at_first_detection_mps / MPH, 6),
            "distance_at_first_detection_m": round(s.distance_at_first_detection_m, 6),
            "walking_speed": {
                f"{v:g}": {
                    "first_hazard_before_s": r.summary.before_impact(r.summary.first_hazard_s),
                    "impact_speed_mph": round(r.summary.impact_speed_mph, 6)
                    if r.summary.collision
                    else None,
                }
                for v, r in walking.items()
            },
        },
    )


MONTE_CARLO = "tempe-2018-monte-carlo"


def walking_speeds() -> tuple[float, ...]:
    """The ends of the walking-speed range the Monte Carlo draws from (an assumption, U), or
    the replay's own value where the file draws none."""
    mc = spec.load(MONTE_CARLO)
    for key, d in mc.sweep.sample if mc.sweep else ():
        if key == "pedestrian.speed_mps" and d.kind == "uniform":
            return tuple(float(v) for v in d.params)
    return (float(mc.value("pedestrian.speed_mps")),)


@dataclass(frozen=True)
class MonteCarlo:
    """Collision rates over random class flicker, for the 2018 design and persistent tracking."""

    runs: int
    hits_design: int  # the design as it was
    hits_persistent: int
    mean_impact_design_mph: float | None

    def rate(self, label: str) -> tuple[float, float, float]:
        k = self.hits_design if label == "design" else self.hits_persistent
        lo, hi = wilson(k, self.runs)
        return k / self.runs, lo, hi

    def to_dict(self) -> dict:
        out = {"runs": self.runs, "mean_impact_design_mph": self.mean_impact_design_mph}
        for label in ("design", "persistent"):
            p, lo, hi = self.rate(label)
            out[f"p_collision_{label}"] = {"p": p, "low": round(lo, 9), "high": round(hi, 9)}
        return out


def monte_carlo(runs: int, seed: int) -> MonteCarlo:
    mc = spec.load(MONTE_CARLO)
    hits, mean = {}, None
    for label, s in (
        ("design", mc),
        ("persistent", mc.with_values({"tracking.policy": "persistent"}, why="what-if")),
    ):
        arr = sweep.run_cell(s, runs, seed)
        hit = arr["collision"]
        hits[label] = int(hit.sum())
        if label == "design" and hit.any():
            mean = round(float(np.mean(arr["impact_speed_mps"][hit]) / MPH), 6)
    return MonteCarlo(runs, hits["design"], hits["persistent"], mean)


def _rate_text(mc: MonteCarlo, label: str) -> str:
    p, lo, hi = mc.rate(label)
    return f"{pct(p)} ({level()} interval {pct(lo)} to {pct(hi)})"


def chain(
    base: RunResult,
    plotted: Mapping[str, RunResult],
    outcomes: Mapping[str, Outcome],
    mc: MonteCarlo,
    *,
    ranges: Mapping[str, str] | None = None,
    instructor: bool = False,
) -> Section:
    """The chain section: every link with its counterfactuals' outcomes and what each hangs on
    (`ranges`), the speed figure of the single runs (an illustration), the Monte Carlo of
    random flicker."""
    single = all(o.single for o in outcomes.values())
    blocks: list = []
    if single:
        blocks.append(
            Note(
                "Each outcome below is one run with the scenario file's assumed values. It shows "
                "what this model does with those values, not how likely the outcome was: several "
                "inputs are unconfirmed (U), and a different plausible value can change an "
                'outcome. Read "avoided" as "avoided in this run".',
                kind="caution",
            )
        )
    else:
        blocks.append(
            Note(
                "Each outcome below is a share of plausible worlds: many runs, each drawing every "
                "unconfirmed input (U) from its documented range of plausible values and kept "
                f"only where the {YEAR} design reproduces the record. The interval is a "
                f"{level()} interval. A share says how robust an outcome is to what we do not "
                "know, not how often such a crash happens; the next section shows what each "
                "one hangs on.",
                kind="caution",
            )
        )
    attentive = spec.load("attentive-operator")
    for link in LINKS:
        blocks += link_blocks(link, outcomes, ranges)
        if link.key == "operator.attentive" and reused_operator_delays(base.spec, attentive):
            op = attentive.operator
            blocks.append(
                Note(
                    "The model's attentive operator still uses the delays derived for the "
                    f"distracted one ({op.takeover_s:g} s to take the wheel, {op.reaction_s:g} s "
                    "to brake), and taking the wheel releases the computer's braking. Published "
                    "reaction times for an alert driver are shorter, so this run likely "
                    "understates what attention could have done. " + cite.fact("police-avoidable"),
                    kind="caution",
                )
            )
    blocks += [
        Heading("One run of each, to see the mechanism"),
        FigureBlock(
            "case-speed",
            to_png(figures.speed_distance(plotted)),
            "Speed and distance to her path for the main counterfactuals: one run each, with "
            "every unknown at its value in the scenario file. An illustration of how each fix "
            "acts, not its outcome: the outcomes are the shares above.",
            "Two line charts against time, one line per counterfactual: speed, and the distance "
            "from the SUV's front to her path, which reaches zero in the runs that crash.",
        ),
        Paragraph(
            f"Under random class flicker at the record's rate ({mc.runs:,} Monte Carlo runs with "
            f"detection noise, varied walking speeds and operator reactions), the {YEAR} design "
            f"collides in {_rate_text(mc, 'design')} of runs; the same runs with persistent "
            f"tracking collide in {_rate_text(mc, 'persistent')}."
        ),
    ]
    if instructor:
        blocks.append(
            Note(
                "Students tend to read one number as a verdict. Ask which unknowns each share "
                "rests on (the clause after each outcome, and the tornado in the next section), "
                "and whether a fix that works in most worlds is good enough when no one can "
                "tell which world the car is in. The exercise lets them find out.",
                kind="instructor",
            )
        )
    return Section(
        slug="chain",
        title="From decision to outcome: the chain",
        intro=(
            f"Each part of the {YEAR} design that mattered is a switch in the scenario file "
            "(each switch's line is in the reference table The scenario lines). For each, this "
            "section gives the record, who decided it and why (where the sources say), and what "
            "flipping it does in this model. The NTSB's chairman called the crash "
            '"the last link of a long chain of actions and decisions"; these are some of the '
            "links that can be simulated."
        ),
        blocks=tuple(blocks),
        metrics={
            "links": len(LINKS),
            "outcomes": {k: o.to_dict() for k, o in outcomes.items()},
            "monte_carlo": mc.to_dict(),
        },
    )


PLOTTED = (
    counterfactuals.BASE,
    "no-suppression",
    "emergency-braking",
    "persistent-tracking",
    "attentive-operator",
    "volvo-aeb",
    "all-braking-fixes",
)


def plotted_runs(base: RunResult, runs: Sequence[RunResult]) -> dict[str, RunResult]:
    every = {base.spec.name: base, **{r.spec.name: r for r in runs}}
    return {k: every[k] for k in PLOTTED if k in every}


def scenario_lines(outcomes: Mapping[str, Outcome]) -> Section:
    """The reference table: each counterfactual's scenario file and the line it changes."""
    rows = tuple(
        (o.title, f"`{o.name}`", f"`{o.change}`", try_it(o.name)) for o in outcomes.values()
    )
    return Section(
        slug="scenario-lines",
        title="The scenario lines",
        intro=(
            f"Each counterfactual is a scenario file of a few lines that extends the {YEAR} one "
            "and changes one setting (or adds one to another counterfactual). For anyone who "
            "wants to run one or change it: its file, the line it changes, and the command."
        ),
        blocks=(
            Table(
                "The counterfactuals as scenario lines",
                ("counterfactual", "file", "the changed line", "run it"),
                rows,
            ),
        ),
        metrics={"counterfactuals": len(rows)},
    )
