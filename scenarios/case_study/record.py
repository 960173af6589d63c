"""The record: what happened, what the NTSB found, and what followed.

Pure: Sections from the facts (scenarios.tempe2018 for the technical record,
scenarios.tempe2018_responsibility for the rest). Numbers come from the facts' values.
"""

from __future__ import annotations

from fragility.report.section import Bullets, Heading, Note, Paragraph, Section, Table
from scenarios import tempe2018
from scenarios import tempe2018_responsibility as resp
from scenarios.case_study import cite
from scenarios.spec import MPH

# The NTSB's finding, in the order the board gave it: the probable cause, then the contributing
# factors. The test of the page checks that every one of these is on it.
PROBABLE_CAUSE = "probable-cause"
CONTRIBUTING = ("contributing-uber", "contributing-pedestrian", "contributing-adot")


def _v(fact_id: str) -> float:
    return tempe2018.fact(fact_id).value


def story() -> str:
    """The crash in a few plain sentences, every number from the record."""
    return (
        f"At night in {crash_month()} a test car driven by Uber's self-driving software, with one "
        "safety operator at the wheel, struck and killed Elaine Herzberg as she walked her "
        f"bicycle across a wide road in Tempe, Arizona. The software first noticed her "
        f"{_v('first-detection'):g} seconds before impact, but kept changing its mind about what "
        'she was (a vehicle, "other", a bicycle), and each change made it forget where she had '
        f"been going. It decided that a crash was coming only {_v('conflict-judged'):g} seconds "
        f"before impact, then waited, by design, until {_v('alert'):g} seconds before impact to "
        "alert the operator, who was looking down. The car was travelling at "
        f"{_v('speed-at-impact') / MPH:.0f} mph when it hit her."
    )


def crash_month() -> str:
    """The month of the crash as the record gives it: "March 2018"."""
    # "On 18 March 2018, about 9:58 pm, ..." -> "March 2018"
    words = tempe2018.fact("crash").text.split(",")[0].split()
    return " ".join(words[-2:])


YEAR = crash_month().split()[-1]  # the crash's year, as the record gives it


def what_happened(*, instructor: bool = False) -> Section:
    rows = tuple(
        (f"{r.t_before_s:g}", r.sensor, r.classification, r.prediction, r.history, r.certainty)
        for r in tempe2018.TIMELINE
    )
    final = resp.SOURCES[resp.NTSB_FINAL]
    blocks = [
        Paragraph(cite.expand("{r:crash} {f:herzberg}")),
        Paragraph(cite.expand("{r:lanes} {r:direction} {r:lighting} {r:crosswalk}")),
        Paragraph(
            cite.expand(
                "{r:speed-at-detection} {r:speed-at-impact} {r:speed-at-1.2} {r:slowdown-43-39}"
            )
        ),
        Table(
            f"What the software saw and decided, seconds before impact ({final.label}; the "
            "certainty column uses the marks explained under Sources)",
            ("s before impact", "sensor", "class", "goal / predicted path", "history", "certainty"),
            rows,
        ),
        Paragraph(
            cite.expand(
                "{r:reclassification-drops-history} {r:no-jaywalkers} {r:action-suppression} "
                "{r:emergency-threshold} {r:no-mitigation-braking} {r:gradual-slowdown} "
                "{r:no-emergency-alert} {r:volvo-aeb-off}"
            )
        ),
        Note(
            "How sure is each fact? Every fact on this page carries a letter in brackets and its "
            "source. " + cite.legend(),
            kind="plain",
        ),
    ]
    if instructor:
        blocks.append(
            Note(
                "Before class, ask students to read only this section and the next, then write "
                "one sentence on who or what caused the crash. Keep the sentences: the same "
                "exercise at the end of class shows how their view changed.",
                kind="instructor",
            )
        )
    return Section(
        slug="what-happened",
        title="What happened",
        intro=story(),
        blocks=tuple(blocks),
        metrics={"record_rows": len(rows)},
    )


def ntsb_finding() -> Section:
    cause = resp.fact(PROBABLE_CAUSE)
    return Section(
        slug="ntsb",
        title="What the NTSB found",
        intro=(
            "The National Transportation Safety Board (NTSB) investigates crashes to prevent the "
            "next one; it does not assign legal blame or punish anyone. Its finding names one "
            "probable cause and several contributing factors: a person, a company, a pedestrian "
            "and a state agency all appear in it."
        ),
        blocks=(
            Heading("The probable cause"),
            Paragraph(cite.fact(PROBABLE_CAUSE)),
            Heading("The contributing factors"),
            Bullets(tuple(cite.fact(f) for f in CONTRIBUTING)),
            Heading("The board's wider criticism and recommendations"),
            Bullets(
                tuple(
                    cite.fact(f)
                    for f in (
                        "ntsb-vote",
                        "nhtsa-voluntary",
                        "rec-nhtsa",
                        "rec-uber",
                        "chair-deeper-problem",
                        "chair-chain",
                        "chair-not-self-driving",
                    )
                )
            ),
        ),
        metrics={"contributing_factors": len(CONTRIBUTING), "probable_cause": cause.id},
    )


AFTER = (
    "uber-suspends",
    "police-video",
    "ducey-suspends",
    "settlement",
    "uber-leaves-arizona",
    "uber-hart",
    "maricopa-conflict",
    "police-hulu",
    "yavapai-no-basis",
    "charged",
    "aurora",
    "plea",
    "defence-uber-share",
)


def what_followed() -> Section:
    return Section(
        slug="after",
        title="What followed",
        intro=(
            "The crash ended Uber's testing in Arizona, led to a settlement with Elaine "
            "Herzberg's family, a decision not to charge the company, a criminal case against "
            "the operator, and, in the end, the sale of Uber's self-driving unit. In order:"
        ),
        blocks=(Bullets(tuple(cite.fact(f) for f in AFTER), ordered=True),),
        metrics={"events": len(AFTER)},
    )
