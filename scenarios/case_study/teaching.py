"""Teaching material: objectives, two lesson plans, questions by theme with notes on good
answers, a stakeholder role-play, an exercise, and a glossary.

Questions may quote a counterfactual's outcome through `{o:name}` (the Outcome's phrase, so a
question never states an outcome more firmly than the evidence); facts enter through `{f:..}`
and `{r:..}` (scenarios.case_study.cite). Durations are whole minutes kept as numbers, so each
plan's length is their sum.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fragility.report.section import Bullets, Heading, Note, PageBreak, Paragraph, Section, Table
from scenarios.case_study import cite
from scenarios.case_study.outcomes import Outcome, level
from scenarios.case_study.record import YEAR

_OUTCOME = re.compile(r"\{o:(?P<name>[a-z0-9\-]+)\}")


def expand(text: str, outcomes: Mapping[str, Outcome]) -> str:
    """Facts and outcomes put into a text."""
    return cite.expand(_OUTCOME.sub(lambda m: outcomes[m["name"]].phrase(), text))


OBJECTIVES = (
    "explain in plain words how the software's changing classification and forgotten tracking "
    "history delayed its recognition of a hazard;",
    "trace a technical choice to the decision behind it, the reason given for it, and who bore "
    "its cost;",
    "tell a record from an account from an assumption, and say how sure a claim is and why;",
    "apply SOTIF, UL 4600, SAE J3016 and the ACM Code to a specific decision in a real case;",
    "argue a position on how responsibility is shared between a person and an organisation, and "
    "answer the strongest argument against it;",
    "change an assumption in a simulation, run it, and defend the change with evidence.",
)


@dataclass(frozen=True)
class Step:
    minutes: int
    activity: str
    material: str


PLAN_SHORT = (
    Step(
        5,
        "Opening: each student writes one sentence: who or what caused this crash?",
        "handout, first page",
    ),
    Step(
        10,
        "What happened: walk through the story, the NTSB's finding and the attention figure.",
        "handout; the page's first sections",
    ),
    Step(
        10,
        "The chain: two links in detail (the one-second wait, the forgotten history); run one "
        "counterfactual live or show the table.",
        "`fragility scenario compare`; the chain section",
    ),
    Step(
        15,
        "Groups of three to five, one theme each from the questions; one person reports.",
        "handout, questions",
    ),
    Step(7, "Report back; set the groups' answers beside the NTSB's finding.", "board"),
    Step(
        3,
        "Close: repeat the opening sentence; what changed? Set the exercise.",
        "handout, exercise",
    ),
)

PLAN_LONG = (
    Step(5, "Opening sentence, as in the short plan.", "handout, first page"),
    Step(
        15,
        "What happened, the NTSB's finding, and the two accounts of the operator's attention.",
        "handout; attention figure",
    ),
    Step(
        15,
        "The chain, with one counterfactual run live and one unconfirmed input changed live.",
        "`fragility scenario run`; the chain section",
    ),
    Step(10, "Role-play preparation: each group reads one brief and drafts its rule.", "roles"),
    Step(15, "The hearing: each role proposes and defends one rule; the chair decides.", "roles"),
    Step(5, "Out of role: what surprised you about the other side's case?", "board"),
    Step(
        15,
        "In pairs: apply one framework (SOTIF, UL 4600, J3016, ACM principle 2.5) to one "
        "decision in the chain.",
        "frameworks section",
    ),
    Step(7, "Whole class: two questions from different themes.", "handout, questions"),
    Step(
        3,
        "Close: repeat the opening sentence; set the exercise.",
        "handout, exercise",
    ),
)


def plan_table(plan: tuple[Step, ...]) -> Table:
    total = sum(s.minutes for s in plan)
    rows, start = [], 0
    for s in plan:
        rows.append((f"{start} to {start + s.minutes}", s.activity, s.material))
        start += s.minutes
    return Table(f"A {total}-minute class", ("minutes", "activity", "material"), tuple(rows))


@dataclass(frozen=True)
class Question:
    theme: str
    text: str
    good: str  # what good answers contain (instructor notes)


THEMES = (
    "Engineering trade-offs",
    "Organisational responsibility",
    "Regulation",
    "Individual responsibility",
    "Data and machine learning",
)

QUESTIONS = (
    Question(
        THEMES[0],
        "The wait before braking was there to stop the car braking for things that were not "
        "there. A false alarm costs something, and so does a missed hazard, and not to the same "
        "people. How would you decide how long, if at all, a system should wait, and what "
        "evidence would you want first? In this model, without the wait, {o:no-suppression}.",
        "Names both kinds of error and who bears each (passengers and following drivers, or "
        "people on the road); asks for rates (false alarms per distance against missed hazards); "
        "considers options between braking and waiting (alerting, slowing gently at once); "
        "quotes the model's outcome as a share of plausible worlds and says what it hangs on; "
        "uses the false-alarm trade-off, and questions its assumed rates.",
    ),
    Question(
        THEMES[0],
        "Forgetting an object's history when its class changes is simple; keeping it is harder "
        "when the object really is a different one. What would you need to know to choose? In "
        "this model, with the history kept, {o:persistent-tracking}.",
        "Sees the trade-off between wrong merges and lost continuity; asks how often classes "
        "flicker on real roads; notes that the record gives no reason for the design; treats "
        "the model's result as a hypothesis to test, not a verdict.",
    ),
    Question(
        THEMES[0],
        "Two braking systems in one car can interfere. Who should decide which stays on during "
        "a test, and on what evidence? In this model, with Volvo's own braking on, {o:volvo-aeb}.",
        "Separates the engineering question (interference, testing one's own system) from the "
        "safety one (a backstop for people on the road); asks who knew; notes that the model's "
        "Volvo braking uses assumed parameters, and weighs it against Volvo's own simulations, "
        "known only from secondary accounts.",
    ),
    Question(
        THEMES[1],
        "Moving from two people per car to one, employees said, let the company drive more test "
        "miles with the same staff. How should an organisation weigh its progress against risk "
        "to people "
        "outside it, and who inside it should be able to stop a test?",
        "Identifies who benefits and who bears the risk; proposes a mechanism (a safety officer "
        "with authority, a documented risk assessment, a stop rule) rather than only a value; "
        "uses the NTSB's recommendation of a safety management system.",
    ),
    Question(
        THEMES[1],
        "The NTSB named the operator's distraction the probable cause and the company's safety "
        "culture a contributing factor; its chairman called the operator's actions a symptom of "
        "a deeper problem. How would you divide responsibility between a person and the "
        "organisation that designed her job?",
        "Distinguishes causal, moral and legal responsibility; uses both the distraction and the "
        "job's design as evidence; considers that responsibility need not add up to one.",
    ),
    Question(
        THEMES[2],
        "Arizona welcomed testing, and the NTSB found its oversight insufficient; the federal "
        "regulator asked only for voluntary reports. What, if anything, should a government "
        "require before a "
        "developmental system drives on public roads, and who should check it?",
        "Proposes specific requirements (a safety case, operator rules, reporting of "
        "disengagements and near misses) and who reviews them; weighs innovation and the cost "
        "of rules; notes state and federal roles.",
    ),
    Question(
        THEMES[2],
        "People on Mill Avenue did not agree to take part in a test. What would consent, or "
        "something in its place, look like for testing on public roads?",
        "Recognises that individual consent is impossible on a public road and looks for "
        "substitutes (public notice, local approval, limits on where and when, compensation, "
        "published results); asks who speaks for pedestrians.",
    ),
    Question(
        THEMES[3],
        "The operator's job included watching the road and watching a screen in the centre of "
        "the dashboard. Accounts differ on what she was looking at. Would it change your view "
        "if it was a TV show, or a work chat? Why?",
        "Uses both accounts without choosing a side on thin evidence; separates the individual's "
        "duty from the job's design; notes that either way her eyes were off the road.",
    ),
    Question(
        THEMES[3],
        "Prosecutors found no basis to charge the company; the operator pleaded guilty to "
        "endangerment. Is the legal outcome the same as a fair share of moral responsibility?",
        "Explains why criminal law looks for individual intent and care; contrasts with the "
        "NTSB's system view; considers what accountability for an organisation could look like.",
    ),
    Question(
        THEMES[3],
        "Elaine Herzberg crossed away from a crosswalk, where the median's paths invited people "
        "to cross. How should a system, and the people who design roads, plan for people who do "
        "not follow the rules?",
        "Treats rule-breaking by road users as foreseeable (SOTIF's reasonably foreseeable "
        "misuse); includes road design; avoids blaming the person who died while still "
        "engaging with the NTSB's contributing factor.",
    ),
    Question(
        THEMES[4],
        "The software never classed her as a pedestrian. Was the problem what it got wrong, or "
        "how often it changed its mind? In this model, classed as a pedestrian throughout, "
        "{o:recognised-pedestrian}.",
        "Separates accuracy from stability; links the flicker to the lecture's adversarial and "
        "garbage examples; sees that the planner's use of the class mattered as much as the "
        "class.",
    ),
    Question(
        THEMES[4],
        "Many inputs of the simulation are assumptions (U). Which conclusions on this page would "
        "change if they were wrong? Test one: every assumption is a line in the scenario file.",
        "Names specific inputs (walking speed, when she could be seen, the attentive "
        "operator's reaction time) and says which outcomes they touch; changes one and reports "
        "what happened, with its basis.",
    ),
    Question(
        THEMES[4],
        "A network trained only on pedestrians in crosswalks can learn the crosswalk as part of "
        '"pedestrian". Where else could a shortcut in training data meet a rule written into '
        "a planner?",
        "Gives a concrete example (children, wheelchairs, people carrying things, unusual "
        "lighting); proposes a test that would catch it; connects to the shortcut lesson.",
    ),
)


def questions_section(outcomes: Mapping[str, Outcome], *, instructor: bool = False) -> Section:
    blocks: list = []
    for theme in THEMES:
        blocks.append(Heading(theme))
        qs = [q for q in QUESTIONS if q.theme == theme]
        if instructor:
            for q in qs:
                blocks.append(Paragraph(expand(q.text, outcomes)))
                blocks.append(Note("What good answers contain: " + q.good, kind="instructor"))
        else:
            blocks.append(Bullets(tuple(expand(q.text, outcomes) for q in qs)))
    return Section(
        slug="questions",
        title="Questions for discussion",
        intro=(
            "These questions have no single right answer; they are grouped by theme. Where a "
            "question quotes the simulation, the outcome says what it rests on."
        ),
        blocks=tuple(blocks),
        metrics={"questions": len(QUESTIONS), "themes": len(THEMES)},
    )


# --- The role-play ---------------------------------------------------------------------------

SPEAK_MINUTES = 3  # each role's time to propose and defend its rule


@dataclass(frozen=True)
class Role:
    slug: str
    name: str
    who: str
    know: tuple[str, ...]  # facts ({f:..}, {r:..}) and outcomes ({o:..})
    want: str
    hard: str  # the question the panel will ask


ROLES = (
    Role(
        "chair",
        "Chair: an official of Arizona's Department of Transportation",
        "You run the hearing and decide, at the end, which rules Arizona will adopt. You speak "
        "last.",
        ("{f:arizona-welcome}", "{f:ducey-suspends}", "{f:contributing-adot}", "{f:rec-nhtsa}"),
        "Testing that continues, safely, with rules your department can actually check.",
        "Why did Arizona require nothing before the crash?",
    ),
    Role(
        "uber-safety",
        "Uber ATG's new head of safety",
        "You joined after the crash to rebuild the safety programme and want to resume testing.",
        ("{f:contributing-uber}", "{f:rec-uber}", "{f:uber-hart}", "{f:one-operator}"),
        "Permission to test again, under rules your company can meet.",
        "Why should anyone believe the culture has changed?",
    ),
    Role(
        "perception-engineer",
        "An engineer on Uber ATG's perception team",
        "You worked on the software that classified and tracked objects.",
        (
            "{r:reclassification-drops-history}",
            "{r:action-suppression}",
            "{f:erratic-behavior}",
            "In the simulation, with the history kept: {o:persistent-tracking}.",
        ),
        "To fix the design without making the car brake for shadows.",
        "Did you, or anyone, raise these risks before the crash?",
    ),
    Role(
        "operators",
        "A representative of safety operators",
        "You speak for the people employed to sit at the wheel of test cars.",
        ("{f:operator-duties}", "{f:one-operator}", "{f:bainbridge-vigilance}", "{f:charged}"),
        "A job that a person can actually do safely, and not to carry the blame for a system.",
        "Doesn't a professional driver owe full attention, however the job is designed?",
    ),
    Role(
        "pedestrians",
        "A pedestrian and cyclist advocate from Tempe",
        "You speak for people who walk and cycle on Tempe's streets.",
        ("{f:herzberg}", "{f:median-site}", "{f:family-claim}", "{r:crosswalk}"),
        "Streets where people on foot are planned for, including those who cross mid-block.",
        "Shouldn't pedestrians simply use the crosswalk?",
    ),
    Role(
        "nhtsa",
        "An official of NHTSA, the federal road-safety regulator",
        "You write federal guidance on automated vehicles.",
        ("{f:nhtsa-voluntary}", "{f:rec-nhtsa}", "{f:ntsb-recommends-only}"),
        "Safety without freezing a technology that may one day save many lives.",
        "Why were safety reports voluntary?",
    ),
    Role(
        "volvo",
        "A safety engineer at Volvo Cars",
        "Your company built the car and its emergency braking.",
        (
            "{f:volvo-functions-off}",
            "{f:volvo-motive-unknown}",
            "In the simulation, with Volvo's braking on: {o:volvo-aeb}.",
        ),
        "That your safety systems are not switched off on public roads.",
        "Did Volvo know, or agree, that its braking was off?",
    ),
    Role(
        "ntsb",
        "An NTSB investigator (expert witness)",
        "You worked on the investigation; you answer questions and take no side.",
        (
            "{f:probable-cause}",
            "{f:contributing-uber}",
            "{f:chair-chain}",
            "{f:ntsb-recommends-only}",
        ),
        "That the recommendations are adopted.",
        "If the company's culture was the deeper problem, why is the operator the probable cause?",
    ),
)

SETTING = (
    "A month after the NTSB's finding, Arizona's Department of Transportation holds a hearing "
    "on the rules for automated-vehicle testing on public roads. Each role has "
    f"{SPEAK_MINUTES} minutes to propose one rule and defend it, then answers one question from "
    "the panel. Argue from the facts in your brief; where you go beyond them, say so."
)


def role_section(role: Role, outcomes: Mapping[str, Outcome]) -> Section:
    return Section(
        slug=f"role-{role.slug}",
        title=role.name,
        intro=SETTING,
        blocks=(
            Paragraph(f"**Who you are.** {role.who}"),
            Heading("What you know"),
            Bullets(tuple(expand(k, outcomes) for k in role.know)),
            Paragraph(f"**What you want.** {role.want}"),
            Paragraph(
                "**Your task.** Propose one rule for testing in Arizona and the evidence for it; "
                "say who would bear its cost."
            ),
            Paragraph(f"**The panel will ask you.** {role.hard}"),
            PageBreak(),
        ),
    )


def roleplay_instructor() -> Section:
    return Section(
        slug="roleplay",
        title="Running the role-play",
        intro=SETTING,
        blocks=(
            Bullets(
                (
                    f"Print the role briefs (roles.pdf, one page each); {len(ROLES)} roles. With "
                    "a large class, give each role to a group; with a small one, drop the Volvo "
                    "and NHTSA roles first.",
                    "The chair speaks last and must decide: adopt, change or reject each rule, "
                    "with a reason.",
                    "Debrief out of role: which argument from the other side was strongest? "
                    "Which facts did each side leave out? Where did anyone claim more than the "
                    "sources support?",
                ),
                ordered=True,
            ),
            Note(
                "Good contributions propose a rule someone could check (two operators and a "
                "driver-attention monitor; a published safety case; no testing at night until a "
                "given test is passed), state its cost and who bears it, and stay within the "
                "brief's facts. Watch for the pedestrian being blamed for her own death, and for "
                "the operator being treated as the whole story: both happen, and both are worth "
                "naming when they do.",
                kind="instructor",
            ),
        ),
        metrics={"roles": len(ROLES)},
    )


# --- The exercise ----------------------------------------------------------------------------

EXAMPLE_LINES = (
    'extends = "tempe-2018"',
    'title = "Jaywalker-aware, my version"',
    "[planner]",
    "jaywalkers = true",
)


def exercise_section(*, instructor: bool = False) -> Section:
    blocks: list = [
        Bullets(
            (
                "Choose one line of the scenario that you think matters: a design switch or an "
                "unconfirmed input (U). `fragility scenario explain tempe-2018` lists every input "
                "with its certainty; the file is `scenarios/tempe-2018.toml`.",
                "Write a file of a few lines, for example `mine.toml`, that extends the scenario "
                "and changes your line. The lines of an example follow this list.",
                "Run it: `fragility scenario run mine.toml --out out/mine`, then `fragility "
                "scenario explain mine.toml` to read what happened second by second.",
                "Defend your change in half a page: what you changed and why; what it did in the "
                "model and how sure that is (the share of plausible worlds the command prints "
                "beside its one run, and which assumptions it rests on); who would bear the cost "
                "of your change, and who should decide; which framework supports you.",
            ),
            ordered=True,
        ),
        Paragraph("An example file, line by line:"),
        Bullets(tuple(f"`{line}`" for line in EXAMPLE_LINES), ordered=True),
        Paragraph(
            "Numbers can change too: the wait before braking (`planner.suppression_s`), her "
            "walking speed (`pedestrian.speed_mps`), how far the operator could see at night "
            "(`operator.sight_distance_m`). A misspelt key is an error that says which key you "
            "meant."
        ),
    ]
    if instructor:
        blocks.append(
            Note(
                "What good answers contain: a change tied to a decision or an assumption in the "
                "record; the outcome as the share of plausible worlds with its interval, not the "
                "one run as a verdict; a second run with one other range of an input it depends "
                "on; "
                "the cost side (more false alarms, slower tests, more staff) and who pays it; a "
                "framework used to argue, not just named. Marking: a third for the change and "
                "the run, a third for the honesty of the claim, a third for the argument.",
                kind="instructor",
            )
        )
    return Section(
        slug="exercise",
        title="Exercise: change the scenario and defend it",
        intro=(
            f"Every {YEAR} design choice and every assumption of the simulation is a line in a "
            "text file. Change one, run it, and argue for your change as an engineer would have "
            "to: with evidence, and with its costs."
        ),
        blocks=tuple(blocks),
        metrics={"example_lines": len(EXAMPLE_LINES)},
    )


# --- Glossary --------------------------------------------------------------------------------

GLOSSARY = (
    ("ADS", "automated driving system: the software and sensors that drove the car."),
    ("Operator (safety driver)", "the person at the wheel whose job was to watch and take over."),
    ("Radar, lidar", "sensors that find objects with radio waves and with laser light."),
    ("Classification", "the software's label for an object: vehicle, bicycle, pedestrian, other."),
    (
        "Tracking history",
        "the record of where an object has been, used to predict where it will go.",
    ),
    (
        "Action suppression",
        "a built-in wait after the software judged a crash imminent, before it acted.",
    ),
    (
        "Automatic emergency braking (AEB)",
        "a system that brakes hard by itself when a collision is close; Volvo's is City Safety.",
    ),
    ("Counterfactual", "the same simulated night with one thing changed."),
    (
        "Monte Carlo runs",
        "many runs of a simulation, each with random values drawn for what is uncertain.",
    ),
    (
        "Plausible world",
        "one draw of everything the record does not say (her walking speed, how far the "
        f"operator could see), kept only if the {YEAR} design in it reproduces what happened.",
    ),
    (
        "Share of plausible worlds",
        "how often an outcome happens over those draws, with an interval (here "
        f"{level()}) for the uncertainty of drawing a limited number: a statement about what "
        "we do not know, not about how often such crashes happen.",
    ),
    (
        "Nuisance braking",
        "hard braking for something that is no danger (a plastic bag, a sign overhead): the "
        "false alarm the wait before braking was meant to prevent.",
    ),
    (
        "Probable cause, contributing factor",
        "the NTSB's words for the main cause of a crash and for other causes that added to it.",
    ),
    (
        "Certainty marks",
        "Q quoted from the record, P the record paraphrased, D worked out by arithmetic, S "
        "press or other secondary source only, U an assumption or unconfirmed.",
    ),
    (
        "Automation complacency",
        "trusting an automated system so much that one stops watching it.",
    ),
    (
        "Triggering condition",
        "in SOTIF, a situation in which a working system's limits can lead to harm.",
    ),
    ("Safety case", "a written argument, with evidence, that a system is safe enough to use."),
    (
        "Shortcut learning",
        "a network learning a feature that goes with the right answer in training (a crosswalk) "
        "instead of the thing itself (a person).",
    ),
    ("NTSB", "National Transportation Safety Board: investigates, recommends, cannot enforce."),
    ("NHTSA", "National Highway Traffic Safety Administration: the federal vehicle regulator."),
    ("ADOT", "Arizona Department of Transportation."),
)


def term_names(term: str) -> tuple[str, ...]:
    """The names a glossary term goes by: "Operator (safety driver)" -> ("Operator", "safety
    driver"); "Radar, lidar" -> ("Radar", "lidar")."""
    return tuple(n.strip() for n in re.split(r"[,()]", term) if n.strip())


def used(term: str, texts: Iterable[str]) -> bool:
    """Whether a page's `texts` use a glossary term under any of its names (as a word or the
    start of one, in any case: "Classification" is used by "classifications")."""
    joined = "\n".join(texts)
    return any(
        re.search(r"(?<![\w])" + re.escape(n), joined, flags=re.IGNORECASE)
        for n in term_names(term)
    )


def glossary_section(texts: Iterable[str] | None = None) -> Section:
    """The glossary; with `texts` (what the rest of a page says), only the terms it uses, so a
    printed handout carries no definition its reader will not need."""
    texts = None if texts is None else list(texts)
    terms = [(t, x) for t, x in GLOSSARY if texts is None or used(t, texts)]
    return Section(
        slug="glossary",
        title="Glossary",
        intro="The few technical words this case cannot do without, in plain language.",
        blocks=(Bullets(tuple(f"**{term}**: {text}" for term, text in terms)),),
        metrics={"terms": len(terms)},
    )


def objectives_section() -> Section:
    return Section(
        slug="objectives",
        title="Learning objectives",
        intro="By the end of the class, students can:",
        blocks=(Bullets(OBJECTIVES, ordered=True),),
    )


def plans_section() -> Section:
    return Section(
        slug="plans",
        title="Lesson plans",
        intro=(
            "Two plans from the same material: a short one for a single class, a long one with "
            "the role-play. Both open and close with the same one-sentence exercise, so students "
            "can see their own view change."
        ),
        blocks=(plan_table(PLAN_SHORT), plan_table(PLAN_LONG)),
        metrics={
            "short_minutes": sum(s.minutes for s in PLAN_SHORT),
            "long_minutes": sum(s.minutes for s in PLAN_LONG),
        },
    )
