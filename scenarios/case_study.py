"""The case study page for an ethics course, built with the failure report's machinery.

`build` runs the as-it-happened scenario, the counterfactuals and a small Monte Carlo, and
returns report Sections (fragility.report.section); `html` renders them with
fragility.report.html.render. Every fact on the page carries its certainty letter; every number
comes from a run on the page, never typed in.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from fragility._fmt import pct
from fragility.figures import to_png
from fragility.report.html import render
from fragility.report.section import FigureBlock, Paragraph, Section, Table
from scenarios import counterfactuals, explain, figures, spec, sweep, tempe2018
from scenarios.simulate import RunResult, simulate
from scenarios.spec import MPH

TITLE = "When the classifier flickers: the Tempe crash of 2018, replayed"


@dataclass(frozen=True)
class CaseStudy:
    title: str
    subtitle: str
    summary: tuple[str, ...]
    sections: tuple[Section, ...]
    metrics: dict = field(default_factory=dict)


def _f(fact_id: str) -> str:
    f = tempe2018.FACTS[fact_id]
    return f"{f.text} [{f.certainty}]"


def _join(items: list[str]) -> str:
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _mph(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} mph"


def _s(x: float | None) -> str:
    return "never" if x is None else f"{x:.1f} s"


def _what_happened(base: RunResult) -> Section:
    rows = tuple(
        (f"{r.t_before_s:g}", r.sensor, r.classification, r.prediction, r.history, r.certainty)
        for r in tempe2018.TIMELINE
    )
    return Section(
        slug="what-happened",
        title="What happened",
        intro=(
            "At about 9:58 pm on 18 March 2018 a self-driving test car, an Uber ATG Volvo XC90 "
            "with a safety operator aboard, struck and killed a woman who was walking her bicycle "
            "across a wide road in Tempe, Arizona. The car's software had noticed her 5.6 seconds "
            "earlier, but kept changing its mind about what she was (a vehicle, 'other', a "
            "bicycle), and each change made it forget where she had been going. It decided that "
            "a crash was coming only 1.2 seconds before impact, then waited another second by "
            "design. Letters in brackets say how sure each fact is: Q is the NTSB's own wording, "
            "P a secondary account of it, D worked out by arithmetic, U unconfirmed."
        ),
        blocks=(
            Paragraph(_f("crash")),
            Paragraph(" ".join(_f(k) for k in ("lanes", "direction", "lighting", "crosswalk"))),
            Paragraph(
                " ".join(
                    _f(k)
                    for k in (
                        "speed-at-detection",
                        "speed-at-impact",
                        "speed-at-1.2",
                        "slowdown-43-39",
                    )
                )
            ),
            Table(
                "The ADS's view, seconds before impact (NTSB/HAR-19/03; the preliminary report "
                "said about 6 s and 1.3 s)",
                (
                    "s before impact",
                    "sensor",
                    "class",
                    "goal / predicted path",
                    "history",
                    "certainty",
                ),
                rows,
            ),
            Paragraph(
                " ".join(
                    _f(k)
                    for k in (
                        "reclassification-drops-history",
                        "no-jaywalkers",
                        "action-suppression",
                        "emergency-threshold",
                        "no-mitigation-braking",
                        "gradual-slowdown",
                        "no-emergency-alert",
                        "volvo-aeb-off",
                    )
                )
            ),
        ),
        metrics={"record_rows": len(rows)},
    )


def _replay(base: RunResult, sensitivity: dict[float, RunResult]) -> Section:
    s = base.summary
    assumed = [r for r in explain.parameters(base.spec) if r[2] == "U"]
    sens = "; ".join(
        f"at {v:g} m/s the first predicted conflict comes "
        f"{_s(r.summary.before_impact(r.summary.first_hazard_s))} "
        f"before impact and she is hit at {_mph(r.summary.impact_speed_mph)}"
        for v, r in sensitivity.items()
    )
    return Section(
        slug="replay",
        title="The replay: the 2018 outcome from the 2018 design",
        intro=(
            "The simulation is not an animation of the record. It places the car and the "
            "pedestrian on the road, feeds the record's sequence of classifications to a tracker "
            "that forgets an object's history whenever its class changes, predicts her path from "
            "her class's goal unless a history is long enough to show otherwise (1.5 s, an "
            "assumption), and runs the 2018 planner: wait 1 s after judging a crash imminent, "
            "no hard braking, a gentle slowdown and an alert if the crash cannot be avoided. "
            "Out of that comes what the record says: first detection "
            f"{s.before_impact(s.first_detection_s):.1f} s "
            f"before impact, no predicted conflict until "
            f"{s.before_impact(s.first_hazard_s):.1f} s, "
            f"slowdown and alert at {s.before_impact(s.alert_s):.1f} s, impact at "
            f"{s.impact_speed_mph:.1f} mph (record: 39 mph)."
        ),
        blocks=(
            FigureBlock(
                "case-timeline",
                to_png(figures.timeline_strip(base)),
                "What the software saw and decided, against time. Each class change (x) erased "
                "the track's history, so its predicted path fell back to the class's goal: static "
                "for 'other', along the lane for 'vehicle' and 'bicycle'. Dotted lines are the "
                "record's events with their certainty.",
                "Four stacked bands over six seconds: the detected class flickers between "
                "vehicle, other and bicycle; the tracking history keeps dropping to zero; the "
                "predicted path is static or along the lane and turns red only 1.2 s before "
                "impact; the planner cruises, then suppresses action, then slows down.",
            ),
            FigureBlock(
                "case-birdseye",
                to_png(figures.birdseye(base)),
                "The scene from above at the record's moments. Dashed box: the tracked object "
                "and its class; arrow: the path the software predicted; cyan: the SUV's path.",
                "Six views of a five-lane road from above: the SUV approaches from the left in "
                "the right through lane while the pedestrian crosses from the top; the predicted "
                "path of the tracked object points along the lanes, never across them.",
            ),
            Paragraph(
                f"Speed profile used: {s.speed_profile}. The SUV was first registered at "
                f"{s.speed_at_first_detection_mps / MPH:.0f} mph, "
                f"{s.distance_at_first_detection_m:.0f} m from her path (record: about "
                "105 to 110 m, D)."
            ),
            Paragraph(
                f"This replay rests on {len(assumed)} unconfirmed inputs (U), listed below. The "
                "moment of the first predicted conflict depends on them: with the 2018 design "
                "the planner only sees a conflict once she is physically in the SUV's lane, so "
                f"it moves with her walking speed (assumed 1.4 m/s): {sens}."
            ),
            Table(
                "Unconfirmed inputs (U) of the replay",
                ("parameter", "value", "source"),
                tuple((k, v, src) for k, v, _, src in assumed),
            ),
        ),
        metrics={
            "impact_speed_mph": round(s.impact_speed_mph, 6),
            "first_hazard_before_s": s.before_impact(s.first_hazard_s),
            "first_detection_before_s": s.before_impact(s.first_detection_s),
            "alert_before_s": s.before_impact(s.alert_s),
            "track_resets": s.continuity.resets,
            "unconfirmed_inputs": len(assumed),
        },
    )


def _decisions(base: RunResult, runs: list[RunResult], rows: list, mc: dict) -> Section:
    by = {r.name: r for r in rows}
    avoided = [r.title for r in rows if not r.collision and r.parent == counterfactuals.BASE]
    table = tuple(
        (
            r.title,
            r.change,
            r.verdict,
            _s(r.hazard_before_s),
            _s(r.brake_before_s),
            r.brake_by or "-",
        )
        for r in rows
    )
    keep = (
        "tempe-2018",
        "no-suppression",
        "emergency-braking",
        "persistent-tracking",
        "attentive-operator",
        "volvo-aeb",
        "all-braking-fixes",
    )
    plotted = {base.spec.name: base, **{r.spec.name: r for r in runs}}
    plotted = {k: plotted[k] for k in keep if k in plotted}
    base_hazard = base.summary.before_impact(base.summary.first_hazard_s)
    both = by["no-suppression-emergency-braking"].impact_speed_mph
    held = by["all-braking-fixes"].impact_speed_mph
    return Section(
        slug="decisions",
        title="Which design decisions mattered, and by how much",
        intro=(
            "Each 2018 design decision is a switch in the scenario file, so each counterfactual "
            "below changes one line and runs the same world again. Of the single changes, "
            f"{_join(avoided)} avoid the crash in this model; the braking rules "
            "alone only lower the impact speed, because by 1.2 s there was no longer room to "
            "stop. What made the difference was seeing her path early: keeping the tracking "
            f"history gives a predicted conflict {by['persistent-tracking'].hazard_before_s:.1f} s "
            f"before impact instead of {base_hazard:.1f} s."
        ),
        blocks=(
            Table(
                "Counterfactuals against the as-it-happened run (times: seconds before the "
                "record's moment of impact; 'to spare': the closest gap between the SUV's front "
                "and her while she was in its path)",
                (
                    "counterfactual",
                    "the changed line",
                    "outcome",
                    "first conflict",
                    "first braking",
                    "who braked",
                ),
                table,
            ),
            FigureBlock(
                "case-speed",
                to_png(figures.speed_distance(plotted)),
                "Speed and distance to her path for the main counterfactuals.",
                "Two line charts against time: speed falls early and to zero when tracking "
                "history is kept or Volvo's emergency braking is on, late and only a little under "
                "the 2018 design; the distance reaches zero (impact) in the runs that crash.",
            ),
            Paragraph(
                "Two results are easy to miss. First, what the classifier got wrong mattered "
                "less than how often it changed its mind: a stable class, any class, lets the "
                "tracker's history grow until her motion overrules the class's goal. Recognised "
                "as a pedestrian throughout, the SUV misses her by "
                f"{by['recognised-pedestrian'].margin_m:.1f} m even though the design "
                "assumed pedestrians cross only at crosswalks; with jaywalker-aware goals her "
                "crossing is believed as soon as it is measured and the margin grows to "
                f"{by['recognised-pedestrian-jaywalkers'].margin_m:.1f} m. "
                "Second, the takeover that the record describes (taking the wheel disengaged the "
                "ADS) also releases any braking the ADS was doing: lifting both braking "
                f"restrictions gives {both:.1f} mph "
                "because the alert makes the operator take the wheel 1 s later, and keeping the "
                f"braking through the takeover gives {held:.1f} mph."
            ),
            Paragraph(
                f"Under random class flicker at the record's rate ({mc['runs']:,} Monte Carlo runs "
                "with detection noise, walking speeds of 1.2 to 1.5 m/s and varied operator "
                f"reactions), the 2018 design collides in {pct(mc['p_2018'])} of runs "
                f"(mean impact {mc['speed_2018']:.1f} mph); the same runs with persistent "
                f"tracking collide in {pct(mc['p_persistent'])}."
            ),
            Paragraph(
                "The constant-43 row is not a design change: it checks the speed profile, an "
                "input about the world. Holding 43 mph to the end, as a reading of the "
                "preliminary report would, gives an impact at "
                f"{by['constant-43'].impact_speed_mph:.1f} mph, not the recorded 39: the record's "
                "39 mph needs the car to have been slowing before the hazard was recognised."
            ),
        ),
        metrics={
            "counterfactuals": {
                r.name: {
                    "collision": r.collision,
                    "impact_speed_mph": r.impact_speed_mph,
                    "margin_m": r.margin_m,
                }
                for r in rows
            },
            "monte_carlo": mc,
        },
    )


def _people() -> tuple[Section, Section]:
    affected = Section(
        slug="affected",
        title="Who was affected",
        intro=(
            "A crash report is about machines, but a case study is about people: the woman who "
            "died, the operator in the driver's seat, the engineers and managers who set the "
            "switches this page flips, the carmaker whose safety system was turned off, and "
            "everyone who shares a road with a test vehicle without having been asked."
        ),
        blocks=(
            Table(
                "The parties",
                ("party", "their part", "certainty"),
                (
                    (
                        "The pedestrian",
                        "Killed while walking her bicycle across N. Mill Avenue, "
                        "about 110 m from the nearest crosswalk.",
                        "Q",
                    ),
                    (
                        "The operator",
                        "Aboard to supervise the automation; looking away from the "
                        "road for an extended period; took the wheel 0.02 s before impact.",
                        "P",
                    ),
                    (
                        "Uber ATG",
                        "Designed and tested the ADS: history dropped on "
                        "reclassification, no jaywalkers, 1 s suppression, no emergency "
                        "braking, no "
                        "alert for emergency braking.",
                        "Q",
                    ),
                    (
                        "Volvo",
                        "Built the car; its City Safety emergency braking was disabled "
                        "whenever the ADS drove.",
                        "Q",
                    ),
                    (
                        "Road users and the public",
                        "Shared public roads with a developmental "
                        "system; the NTSB's recommendations went to federal and state regulators "
                        "as well as to Uber ATG.",
                        "P",
                    ),
                ),
            ),
        ),
    )
    knew = Section(
        slug="knowledge",
        title="What each party knew, and when",
        intro=(
            "Responsibility depends on what each party could know. The software had her on its "
            "sensors for 5.6 seconds; the operator was told 0.2 seconds before impact; the "
            "engineers knew their design choices long before that night."
        ),
        blocks=(
            Table(
                "Knowledge by party",
                ("party", "what they knew", "when", "certainty"),
                (
                    (
                        "The ADS",
                        "An object ahead, classed vehicle, other, bicycle in turn; "
                        "never a pedestrian; no predicted path across the lanes.",
                        "from 5.6 s",
                        "P / Q",
                    ),
                    ("The ADS", "That a collision was imminent.", "from 1.2 s", "P"),
                    ("The operator", "Nothing from the system until the alert.", "0.2 s", "P"),
                    ("The operator", "What she could see on looking up.", "about 1 s", "P"),
                    (
                        "The pedestrian",
                        "She crossed in a stretch not directly lit, in dark "
                        "clothing; what she saw of the approaching car is not in the record.",
                        "-",
                        "Q / U",
                    ),
                    (
                        "Uber's engineers",
                        "That suppression, disabled emergency braking, the "
                        "missing jaywalker case and the disabled Volvo system were in the design; "
                        "the motive was fear of false alarms and erratic braking.",
                        "before the test",
                        "Q / P",
                    ),
                    (
                        "Volvo",
                        "That City Safety was off whenever the ADS drove. What its own "
                        "simulations showed is unconfirmed.",
                        "before the test",
                        "Q / U",
                    ),
                ),
            ),
        ),
    )
    return affected, knew


def _questions(by: dict, base: RunResult) -> Section:
    b = base.summary.impact_speed_mph
    qs = (
        "Action suppression was there to avoid false alarms and erratic braking. Who pays for a "
        "false alarm, who pays for a missed one, and who chose between them? Here removing "
        f"suppression alone lowers the impact from {b:.0f} to "
        f"{by['no-suppression'].impact_speed_mph:.0f} mph.",
        "Every change of class erased the track's history. Keeping it avoids the crash in this "
        f"model ({by['persistent-tracking'].verdict}). Is that a bug or a design decision, and "
        "whose job was it to notice?",
        "The goals assumed that pedestrians cross only at crosswalks, yet she was never classed "
        "as a pedestrian, and any stable class would have let the tracker see her crossing. "
        "Was the missing jaywalker a cause, or the flicker? Which assumptions about people are "
        "built into a system's goals, and whom do they fail?",
        "The system relied on the operator but was not designed to alert her for emergency "
        "braking, and alerted her 0.2 s before impact. What can we fairly expect from a person "
        "who supervises automation for hours? An attentive operator in this model hits at "
        f"{by['attentive-operator'].impact_speed_mph:.0f} mph.",
        "Volvo's own emergency braking, switched off for the test, stops the car in this model "
        f"({by['volvo-aeb'].verdict}, with assumed parameters). Who may switch off a safety "
        "system in order to test another one?",
        "Taking the wheel disengaged the ADS, braking included. How should a handover between "
        "machine and human work when seconds matter?",
        "Several inputs here are unconfirmed (U): her walking speed, the lane widths, what the "
        "operator could see at night. Which conclusions survive if they are wrong, and which do "
        "not? Try them: every one is a line in the scenario file.",
        "People on a public road did not agree to take part in a test. What would consent, or "
        "its substitute, look like?",
    )
    return Section(
        slug="questions",
        title="Questions for discussion",
        intro=(
            "These questions have no single right answer. The numbers come from the runs above "
            "and change if you change the scenario files; the facts keep their certainty."
        ),
        blocks=tuple(Paragraph(f"{i}. {q}") for i, q in enumerate(qs, start=1)),
    )


def _certainty() -> Section:
    rows = tuple((f.id, f.text, f.certainty, f.source) for f in tempe2018.FACTS.values())
    letters = "; ".join(f"{k}: {v}" for k, v in tempe2018.CERTAINTY.items())
    return Section(
        slug="certainty",
        title="The record, fact by fact",
        intro=(
            "Every fact used on this page, with how sure we are of it and where it comes from. "
            f"{letters}. Where the lecture notes differ from the record, the record wins: the "
            "crash was in Tempe (in the Phoenix area), and the NTSB gives 43 mph at detection and "
            "39 mph at impact, not 40 mph at 1.2 s."
        ),
        blocks=(Table("Facts", ("id", "fact", "certainty", "source"), rows),),
        metrics={
            "facts": len(rows),
            "by_certainty": {c: sum(r[2] == c for r in rows) for c in "QPDU"},
        },
    )


def _monte_carlo(runs: int, seed: int) -> dict:
    mc = spec.load("tempe-2018-monte-carlo")
    out = {"runs": runs}
    for label, s in (
        ("2018", mc),
        ("persistent", mc.with_values({"tracking.policy": "persistent"}, why="what-if")),
    ):
        arr = sweep.run_cell(s, runs, seed)
        out[f"p_{label}"] = round(float(arr["collision"].mean()), 9)
        hit = arr["collision"]
        out[f"speed_{label}"] = (
            round(float(np.mean(arr["impact_speed_mps"][hit]) / MPH), 6) if hit.any() else 0.0
        )
    return out


def build(*, runs: int = 4096, seed: int = 0) -> CaseStudy:
    """Run everything the page shows and assemble its sections."""
    t0 = time.perf_counter()
    base, others = counterfactuals.run_all(seed=seed)
    rows = counterfactuals.compare(base, others)
    by = {r.name: r for r in rows}
    sensitivity = {
        v: simulate(base.spec.with_values({"pedestrian.speed_mps": v}, why="what-if"), seed=seed)
        for v in (1.2, 1.5)
    }
    mc = _monte_carlo(runs, seed)
    sections = [
        _what_happened(base),
        _replay(base, sensitivity),
        _decisions(base, others, rows, mc),
        *_people(),
        _questions(by, base),
        _certainty(),
    ]
    s = base.summary
    summary = (
        f"Replayed with the 2018 design, the simulation hits her at {s.impact_speed_mph:.1f} mph "
        f"(record: 39 mph), with the conflict first predicted "
        f"{s.before_impact(s.first_hazard_s):.1f} s before impact (record: 1.2 s).",
        "Keeping the tracking history across class changes avoids the crash, with "
        f"{by['persistent-tracking'].margin_m:.1f} m to spare; so does Volvo's own emergency "
        f"braking, {by['volvo-aeb'].margin_m:.1f} m to spare (with assumed parameters).",
        "Lifting the braking restrictions alone only lowers the impact speed: "
        f"{by['no-suppression'].impact_speed_mph:.1f} mph without suppression, "
        f"{by['all-braking-fixes'].impact_speed_mph:.1f} mph with every braking fix.",
        "Every fact carries its certainty: Q NTSB wording, P paraphrase, D derived, U unconfirmed.",
    )
    seconds = time.perf_counter() - t0
    sections = tuple(dataclasses.replace(x, seconds=seconds) for x in sections)
    metrics = {x.slug: x.metrics for x in sections}
    return CaseStudy(
        TITLE,
        "A case study for an ethics course, from the NTSB record and a simulation you can change",
        summary,
        sections,
        metrics,
    )


def html(case: CaseStudy) -> str:
    """The self-contained page (images embedded)."""
    return render(
        case.title,
        case.sections,
        subtitle=case.subtitle,
        summary=case.summary,
        footer=(
            "Sources: NTSB/HAR-19/03, Collision Between Vehicle Controlled by Developmental "
            "Automated Driving System and Pedestrian, Tempe, Arizona, March 18, 2018 (2019); NTSB "
            "docket HWY18MH010, Vehicle Automation Report (2019); NTSB Preliminary Report, Highway "
            "HWY18MH010 (2018). Simulation: the fragility toolkit's scenarios package; rerun with "
            "`fragility scenario case-study --out DIR`."
        ),
    )
