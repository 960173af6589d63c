"""Run what the case study shows and assemble its pages.

`build` runs the as-it-happened scenario, the counterfactuals, every counterfactual over the
plausible worlds and the false-alarm trade-off on the same worlds (`evidence.gather`, or an
`evidence` given), and a Monte Carlo of random flicker, and returns a CaseStudy: four pages (the
case, the student handout, the role-play briefs, the instructor notes), each a list of report
Sections. Pure: no files are written here (`scenarios.case_study.writer` does that).

Counterfactual outcomes enter through one place, `outcomes.from_probability`: the share of
plausible worlds in which the crash is avoided, with its interval, per scenario name (p_avoid,
low, high, runs and optionally median_impact_mph: the shape `SensitivityResult.probabilities`
gives). By default they come from the evidence; `probabilities` replaces them (a caller's own
analysis). A scenario with no plausible world keeps its single run, which says it is one run.
The single runs otherwise appear only as illustrations, labelled. The film strip of what a
network saw enters through `film_strip`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from fragility import __version__
from fragility.report.html import render
from fragility.report.overview import Overview
from fragility.report.section import (
    Bullets,
    FigureBlock,
    Note,
    Paragraph,
    Section,
    Table,
)
from scenarios import counterfactuals, tempe2018
from scenarios import tempe2018_responsibility as resp
from scenarios.case_study import (
    attention,
    chain,
    cite,
    false_alarms,
    frameworks,
    ml,
    people,
    record,
    robustness,
    sources,
    teaching,
)
from scenarios.case_study import (
    evidence as evidence_mod,
)
from scenarios.case_study import (
    outcomes as outcomes_mod,
)
from scenarios.case_study.outcomes import Outcome
from scenarios.simulate import simulate
from scenarios.spec import MPH

AUDIENCES = ("students", "instructor")
TITLE = "When the classifier flickers: the Tempe crash, a case study"


KICKER = "fragility · a case study for an ethics course"
OVERVIEW = "The case at a glance"


@dataclass(frozen=True)
class Page:
    name: str  # file stem: "index", "handout", "roles", "instructor"
    title: str
    subtitle: str
    summary: tuple[str, ...]
    sections: tuple[Section, ...]
    footer: str
    meta: str = ""  # the masthead's line under the subtitle: the crash, the worlds, the version

    def html(self) -> str:
        overview = (
            Overview(OVERVIEW, self.summary, models=(), tests=(), cells=())
            if self.summary
            else None
        )
        return render(
            self.title,
            self.sections,
            subtitle=self.subtitle,
            overview=overview,
            footer=self.footer,
            kicker=KICKER,
            meta=self.meta,
        )

    @property
    def figures(self) -> tuple[FigureBlock, ...]:
        return tuple(f for s in self.sections for f in s.figures)


@dataclass(frozen=True)
class CaseStudy:
    audience: str
    pages: tuple[Page, ...]
    metrics: dict = field(default_factory=dict)

    def page(self, name: str) -> Page:
        for p in self.pages:
            if p.name == name:
                return p
        raise KeyError(f"no page {name!r}; pages: {', '.join(p.name for p in self.pages)}")

    @property
    def figures(self) -> tuple[FigureBlock, ...]:
        """Every figure once, by name."""
        seen = {}
        for p in self.pages:
            for f in p.figures:
                seen.setdefault(f.name, f)
        return tuple(seen.values())


def _texts(sections) -> list[str]:
    """Every string a list of sections shows in prose or in a table."""
    out = []
    for s in sections:
        out.append(s.intro)
        for b in s.blocks:
            if isinstance(b, (Paragraph, Note)):
                out.append(b.text)
            elif isinstance(b, Bullets):
                out.extend(b.items)
            elif isinstance(b, Table):
                out.extend(cell for row in b.rows for cell in row)
    return out


def summary(base, outs: Mapping[str, Outcome]) -> tuple[str, ...]:
    """The overview: five plain sentences, each opening with a link to the section it sums
    up."""
    s = base.summary
    judged = tempe2018.fact("conflict-judged").value
    impact = tempe2018.fact("speed-at-impact").value / MPH
    return (
        "[What the NTSB found](#ntsb): the probable cause was the operator's failure to monitor "
        "the road and the automated system, because she was visually distracted by her phone; "
        "Uber ATG's inadequate safety culture, the pedestrian's crossing outside a crosswalk and "
        "Arizona's insufficient oversight of testing contributed.",
        f"[The replay](#replay): with the {record.YEAR} design, the simulation hits her at "
        f"{s.impact_speed_mph:.1f} mph (record: {impact:.0f} mph), with the crash first "
        f"predicted {s.before_impact(s.first_hazard_s):.1f} s before impact (record: "
        f"{judged:g} s).",
        f"[The chain](#chain): in this model, with the tracking history kept, "
        f"{outs['persistent-tracking'].phrase()}. With Volvo's own braking on, "
        f"{outs['volvo-aeb'].phrase()}.",
        "[How sure](#how-sure): each outcome is a share of plausible worlds (draws of what the "
        f"record does not say, kept only where the {record.YEAR} design reproduces the record), "
        "set beside what Volvo, the Tempe police and the NTSB concluded, and beside [its cost "
        "in false alarms](#false-alarms).",
        "[Sources and certainty](#sources): every fact carries a mark (Q quoted from the "
        "record, P the record paraphrased, D derived, S press only, U an assumption); where "
        "accounts differ, as on what the operator was looking at, the page shows each with its "
        "source and does not choose between them.",
    )


RERUN = "Made with the fragility toolkit: rerun with `fragility scenario case-study --out DIR`."


def _footer() -> str:
    primary = [s for s in resp.SOURCES.values() if s.primary and s.id.startswith("ntsb")]
    return (
        "Primary sources: "
        + "; ".join(f"{s.title} ({s.publisher}, {s.date})" for s in primary)
        + f". Press sources are listed, with links, under Sources and certainty. {RERUN}"
    )


def _handout_footer() -> str:
    """The printed handout's footer: its own Sources section lists every source it cites."""
    return RERUN


def _handout_decisions(outs: Mapping[str, Outcome], ev: evidence_mod.Evidence) -> Section:
    rows = []
    for link in chain.LINKS:
        cells = "; ".join(f"{outs[n].title}: {outs[n].cell()}" for n in link.counterfactuals)
        rows.append((link.choice, link.who, cells))
    single = all(o.single for o in outs.values())
    blocks: list = [
        Table(
            "Each choice, who made it, and what flipping it does in the simulation: the share "
            f"of plausible worlds in which the crash is avoided ({outcomes_mod.level()} "
            "interval), and where she is still hit, the median impact speed",
            ("the choice", "decided by", "in this model"),
            tuple(rows),
        )
    ]
    if single:
        blocks.append(
            Note(
                '"One run" means one simulation with the scenario file\'s assumed values: what '
                "the model does, not how likely it was.",
                kind="caution",
            )
        )
    blocks.append(robustness.outside_table(ev, outs))
    return Section(
        slug="decisions",
        title="The decisions behind the design",
        intro=(
            "Each choice below was made by people, for reasons, and each is a switch in the "
            "simulation. The full page traces each to its sources, and shows what each outcome "
            "hangs on."
        ),
        blocks=tuple(blocks),
    )


def _brief() -> Section:
    return Section(
        slug="brief",
        title="The case in brief",
        intro=record.story(),
        blocks=(
            Paragraph(cite.fact(record.PROBABLE_CAUSE)),
            Bullets(tuple(cite.fact(f) for f in record.CONTRIBUTING)),
            Paragraph(cite.expand("{f:herzberg} {f:entered-from-median} {f:median-site}")),
            Note(
                "What was the operator looking at? "
                + cite.expand("{f:police-hulu} {f:operator-to-ntsb} {f:defence-2023}"),
                kind="caution",
            ),
        ),
    )


def _how_to(audience_files: tuple[str, ...]) -> Section:
    return Section(
        slug="how-to",
        title="How to use this case",
        intro=(
            "Everything here is ready to hand out. Read the case page once (about an hour), "
            "choose a lesson plan, print the handout and, for the long plan, the role briefs."
        ),
        blocks=(
            Bullets(audience_files),
            Note(
                "Every number on these pages comes from the NTSB record or from a simulation "
                "run when the pages were written; rerun the command and they are written again. "
                "Every outcome is a share of plausible worlds with its interval (more worlds, "
                "`--runs`, narrow it); a single run appears only as an illustration and says "
                "so. When students quote an outcome, ask for its share and what it hangs on.",
                kind="instructor",
            ),
        ),
    )


def _care() -> Section:
    return Section(
        slug="care",
        title="Handling the case with care",
        intro=(
            "A person died, and another was prosecuted. The case teaches best when it is "
            "treated as what it is."
        ),
        blocks=(
            Bullets(
                (
                    'Name Elaine Herzberg; do not reduce her to "the jaywalker" or to her '
                    "toxicology. The NTSB names her crossing as a contributing factor; discuss "
                    "it as that, beside the median that invited people to cross.",
                    "Refer to the operator by her role. Two accounts of what she was looking at "
                    "exist; neither is established beyond dispute, and both leave her eyes off "
                    "the road.",
                    "Do not show the in-car video; it adds nothing the record does not say.",
                    "Hold the simulation to its marks: a run is a model's outcome; an interval is "
                    "a statement about assumptions, not about what happened.",
                    "Several frameworks post-date the crash. Ask what was knowable then, not only "
                    "what is known now.",
                )
            ),
        ),
    )


FILES = {
    "index": "index.html: the full case, with every source",
    "handout": "handout.html / handout.pdf: the student handout, a few printed pages",
    "roles": "roles.html / roles.pdf: the role-play briefs, one printed page each",
    "instructor": "instructor.html / instructor.pdf: these notes",
    "figures": "figures/: every figure as a PNG file",
    "data": "facts.json and metrics.json: the facts with their sources, and every number",
}


def build(
    *,
    runs: int = evidence_mod.WORLDS,
    seed: int = 0,
    audience: str = "instructor",
    evidence: evidence_mod.Evidence | None = None,
    probabilities: Mapping[str, Mapping[str, float]] | None = None,
    film_strip: FigureBlock | None = None,
) -> CaseStudy:
    """Run everything the pages show and assemble them.

    `runs`: the worlds drawn for every probability (and the runs of the flicker Monte Carlo);
    `evidence`: those worlds already run (`evidence.gather(runs, seed)`), else they are run
    here; `probabilities`: per counterfactual, the share avoided with its interval, in place of
    the evidence's (the shape `SensitivityResult.probabilities` gives); `film_strip`: the figure
    of what a network saw, for the machine-learning section.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
    instructor = audience == "instructor"
    base, others = counterfactuals.run_all(seed=seed)
    ev = evidence or evidence_mod.gather(runs, seed, singles={r.spec.name: r for r in others})
    rows = counterfactuals.compare(base, others)
    single = outcomes_mod.from_comparisons(
        rows, [r.spec.name for r in others if counterfactuals.is_data_change(r.spec)]
    )
    outs = outcomes_mod.from_probability(
        single, ev.probabilities() if probabilities is None else probabilities
    )
    ranges = {s.name: evidence_mod.what_decides(s) for s in ev.sensitivity.scenarios}
    walking = {
        v: simulate(base.spec.with_values({"pedestrian.speed_mps": v}, why="what-if"), seed=seed)
        for v in chain.walking_speeds()
    }
    mc = chain.monte_carlo(runs, seed)
    attention_figure = attention.figure()

    main = [
        record.what_happened(instructor=instructor),
        record.ntsb_finding(),
        people.section(instructor=instructor),
        attention.section(attention_figure, instructor=instructor),
        chain.replay(base, walking),
        chain.chain(
            base,
            chain.plotted_runs(base, others),
            outs,
            mc,
            ranges=ranges,
            instructor=instructor,
        ),
        robustness.section(ev, outs, instructor=instructor),
        false_alarms.section(ev, instructor=instructor),
        frameworks.section(instructor=instructor),
        ml.section(base, outs, film_strip=film_strip, instructor=instructor),
        record.what_followed(),
        teaching.questions_section(outs),
        teaching.exercise_section(),
        teaching.glossary_section(),
        chain.scenario_lines(outs),
    ]
    main.append(sources.section(_cited(main)))
    handout = [
        _brief(),
        dataclasses.replace(attention.section(attention_figure), blocks=(attention_figure,)),
        _handout_decisions(outs, ev),
        teaching.questions_section(outs),
        teaching.exercise_section(),
    ]
    handout.append(teaching.glossary_section(_texts(handout)))  # the terms the handout uses
    handout.append(sources.section(_cited(handout), full=False))
    roles = [teaching.role_section(r, outs) for r in teaching.ROLES]
    subtitle = (
        "A case study for an ethics course, from the NTSB record, the press and a simulation "
        "you can change"
    )
    meta = _meta(ev, given=probabilities is not None)
    pages = [
        Page("index", TITLE, subtitle, summary(base, outs), tuple(main), _footer(), meta),
        Page(
            "handout",
            f"{TITLE}: student handout",
            "Read before class; bring it to the discussion.",
            (),
            tuple(handout),
            _handout_footer(),
            meta,
        ),
        Page(
            "roles",
            f"{TITLE}: role-play briefs",
            "One brief per role; print one page each.",
            (),
            tuple(roles),
            "",
        ),
    ]
    if instructor:
        files = tuple(FILES.values())
        notes = [
            _how_to(files),
            teaching.objectives_section(),
            teaching.plans_section(),
            teaching.questions_section(outs, instructor=True),
            teaching.roleplay_instructor(),
            teaching.exercise_section(instructor=True),
            _care(),
        ]
        pages.append(
            Page(
                "instructor",
                f"{TITLE}: instructor notes",
                "For the person teaching the case: plans, what good answers contain, the "
                "role-play, the exercise.",
                (),
                tuple(notes),
                _footer(),
                meta,
            )
        )
    metrics = {p.name: {s.slug: s.metrics for s in p.sections if s.metrics} for p in pages}
    metrics["outcomes_basis"] = (
        "one run each"
        if all(o.single for o in outs.values())
        else ("probability over plausible values")
    )
    metrics["outcomes"] = {k: o.to_dict() for k, o in outs.items()}
    return CaseStudy(audience, tuple(pages), metrics)


def _meta(ev: evidence_mod.Evidence, given: bool) -> str:
    """The masthead's line: the crash, the worlds behind the outcomes (or, where the caller gave
    the outcomes, behind the figures only), the version."""
    kept = ev.plausible
    worlds = f"{kept.k:,} plausible worlds of {kept.n:,} drawn, seed {ev.sensitivity.seed}"
    basis = f"outcomes as given; figures over {worlds}" if given else f"outcomes over {worlds}"
    return f"The crash: Tempe, Arizona, {record.crash_month()} · {basis} · fragility {__version__}"


def _cited(sections) -> list[tuple[str, str]]:
    """The facts a list of sections cites, found by their cited text."""
    return sources.facts_in(_texts(sections))
