"""The people and institutions: for each, what they knew, what they decided, what they could
have done, each fact with its mark and source.

"Could have done" lists options for discussion, drawn from the record and the NTSB's
recommendations; they are not findings, and they carry no certainty mark of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from fragility.report.section import Bullets, Heading, Note, Paragraph, Section
from scenarios.case_study import cite


@dataclass(frozen=True)
class Party:
    name: str
    role: str  # one plain sentence, may cite facts with {f:..} / {r:..}
    knew: tuple[str, ...]
    decided: tuple[str, ...]
    could: tuple[str, ...]


PARTIES: tuple[Party, ...] = (
    Party(
        "Elaine Herzberg, the pedestrian",
        "{f:herzberg}",
        (
            "What she could see of the car coming towards her is not in the record. {r:lighting} "
            "{r:direction}",
        ),
        ("To cross where many people crossed. {f:entered-from-median} {f:median-site}",),
        (
            "Cross at the crosswalk. {r:crosswalk}",
            "Be easier to see, with light clothing or side reflectors.",
            "Her family's view: the place invited crossing. {f:family-claim}",
        ),
    ),
    Party(
        "The operator at the wheel",
        "{f:relies-on-operator} {f:operator-duties} {f:one-operator}",
        (
            "{r:no-emergency-alert} {r:alert}",
            "What she was looking at is disputed: see the section on attention.",
        ),
        ("{r:takeover} {r:operator-brake}",),
        (
            "Watch the road throughout, as the job required. {f:police-avoidable}",
            "Refuse, or report, a job set up so that one person had to watch the road and a "
            "screen at once.",
        ),
    ),
    Party(
        "Uber ATG's engineers",
        "They designed and tested the self-driving software.",
        (
            "How the design behaved: {r:reclassification-drops-history} {r:no-jaywalkers} "
            "{r:action-suppression} {f:erratic-behavior}",
        ),
        ("The switches traced in the chain section: each was chosen, tested, or left as it was.",),
        (
            "Keep an object's history when its class changes; predict that people may cross "
            "anywhere; allow hard braking to lessen a crash; alert the operator when braking is "
            "needed. Each is a one-line counterfactual in this toolkit.",
            "Raise the risk in writing, as the ACM's code asks (see the frameworks section).",
        ),
    ),
    Party(
        "Uber ATG's management",
        "They set the test programme's staffing, targets and safety process.",
        ("{f:one-operator} {f:miles-doubled} {f:no-attention-monitor}",),
        (
            "To test on public roads at night with one operator and no attention monitoring. "
            "{f:volvo-functions-off}",
        ),
        (
            "Keep two people in the car, monitor attention, and run a safety management system: "
            "what the NTSB later recommended. {f:rec-uber}",
        ),
    ),
    Party(
        "Volvo Cars",
        "Volvo built the car and its own safety functions.",
        ("{f:volvo-functions-off}",),
        ("{f:volvo-motive-unknown}",),
        (
            "Insist that its emergency braking stay on in any car it supplies for testing, or "
            "share in a safety case for the combination.",
        ),
    ),
    Party(
        "Tempe police",
        "They investigated the crash as a possible crime.",
        ("{f:police-hulu} {f:police-looking-down} {f:police-glance}",),
        ("{f:police-video} {f:police-avoidable}",),
        (
            "Commission an analysis of what the operator could have seen at night, as the county "
            "attorney later asked. {f:yavapai-no-basis}",
        ),
    ),
    Party(
        "The county attorneys",
        "Prosecutors decide whom to charge, and with what.",
        ("{f:maricopa-conflict}",),
        ("{f:yavapai-no-basis} {f:charged} {f:plea}",),
        (
            "Treat the company and the person at the wheel alike, or differently, and explain "
            "why: the law asks about individual intent and care; the NTSB asked about a system.",
        ),
    ),
    Party(
        "Arizona's government",
        "The governor and the Department of Transportation (ADOT) decide who may test on "
        "Arizona's roads.",
        ("That Uber had come to test in Arizona after California stopped it. {f:arizona-welcome}",),
        ("{f:ducey-suspends}",),
        ("Set conditions for testing before it starts. {f:contributing-adot} {f:rec-nhtsa}",),
    ),
    Party(
        "NHTSA, the federal road-safety regulator",
        "NHTSA sets vehicle safety standards in the United States.",
        ("Only what companies chose to report. {f:nhtsa-voluntary}",),
        ("To rely on voluntary guidance rather than rules for testing.",),
        ("Require and check safety self-assessments, as the NTSB recommended. {f:rec-nhtsa}",),
    ),
    Party(
        "The NTSB",
        "The NTSB investigates transport accidents to prevent the next one. "
        "{f:ntsb-recommends-only}",
        ("Everything on this page from the NTSB's reports, and more in its docket.",),
        ("{f:ntsb-vote} {f:probable-cause}",),
        (
            "Name the company's safety culture, not the operator, as the probable cause: the "
            "board's own chairman called her distraction a symptom of a deeper problem. "
            "{f:chair-deeper-problem}",
        ),
    ),
    Party(
        "The public",
        "Everyone who walked, cycled or drove on Mill Avenue shared the road with a test they "
        "had not been asked about.",
        ("Almost nothing about the test's design until the investigations were published.",),
        ("Through their government: to allow testing on public roads.",),
        ("Ask for testing rules, reports and a say in where testing happens.",),
    ),
)


def _party_blocks(p: Party) -> list:
    return [
        Heading(p.name),
        Paragraph(cite.expand(p.role)),
        Bullets(
            (
                "**Knew:** " + " ".join(cite.expand(k) for k in p.knew),
                "**Decided or did:** " + " ".join(cite.expand(d) for d in p.decided),
                "**Could have (options to discuss):** " + " ".join(cite.expand(c) for c in p.could),
            )
        ),
    ]


def section(*, instructor: bool = False) -> Section:
    blocks: list = [
        Note(
            "Elaine Herzberg was a person, not a test case, and the operator was a person doing "
            "a job that others designed. Discuss their choices as you would want yours "
            "discussed: with the evidence, and with both accounts where they differ.",
            kind="plain",
        )
    ]
    for p in PARTIES:
        blocks += _party_blocks(p)
    if instructor:
        blocks.append(
            Note(
                "Naming: the page names the operator once, where the court records do (in What "
                'followed). In class, refer to roles ("the operator"), not to the person, and do '
                "not show the in-car video: it adds nothing the record does not say, and it has "
                "been used to shame a person rather than to understand a system.",
                kind="instructor",
            )
        )
    return Section(
        slug="people",
        title="The people and their roles",
        intro=(
            "Many people and institutions had a part in this crash and in what followed. For each, "
            "here is what they knew, what they decided or did, and what they could have done "
            "differently: the last are options to discuss, not findings."
        ),
        blocks=tuple(blocks),
        metrics={"parties": len(PARTIES)},
    )
