"""Where the case meets the frameworks a course holds it against: ISO 21448 (SOTIF), UL 4600,
SAE J3016 and the ACM Code of Ethics, principle 2.5. One cited paragraph each, applied to this
crash; the frameworks' words are quoted facts, the application is this page's reading.
"""

from __future__ import annotations

from fragility.report.section import Heading, Note, Paragraph, Section
from scenarios import tempe2018
from scenarios.case_study import cite
from scenarios.case_study.record import YEAR


def section(*, instructor: bool = False) -> Section:
    first = tempe2018.fact("first-detection").value
    judged = tempe2018.fact("conflict-judged").value
    blocks = [
        Heading("ISO 21448: safety of the intended functionality (SOTIF)"),
        Paragraph(
            cite.fact("sotif")
            + " Nothing in Uber's system was broken that night: it did what it was built to do. "
            "That is SOTIF's territory. The standard asks developers to find the *triggering "
            "conditions* under which a working system's perception falls short, and to show the "
            "remaining risk is acceptable. Here they were on the record: "
            + cite.expand("{r:lighting} {r:direction} {r:crosswalk}")
            + " A SOTIF analysis asks whether a person walking a bicycle across an unlit road "
            "away from a crosswalk had been identified as a triggering condition, and what the "
            "system was meant to do when its class for an object kept changing."
        ),
        Heading("UL 4600: a safety case"),
        Paragraph(
            cite.fact("ul4600")
            + " Try writing the top claim for the test that night: *driving this car on Mill "
            "Avenue at night, with one operator, is acceptably safe.* Its argument leaned on the "
            "operator: "
            + cite.fact("relies-on-operator")
            + " The evidence for that claim would have had to show that a lone operator stays "
            "attentive for a whole shift. Against it stand human-factors research, "
            + cite.fact("bainbridge-vigilance")
            + " and the company's own practice: "
            + cite.fact("no-attention-monitor")
            + " A safety case makes such gaps visible before a crash rather than after it."
        ),
        Heading("SAE J3016: levels of driving automation"),
        Paragraph(
            cite.fact("j3016")
            + " The question it helps a class ask is: who was the fallback when the software "
            "failed? In Uber's test the answer was the operator. But: "
            + cite.record("no-emergency-alert")
            + " "
            + cite.fact("chair-not-self-driving")
            + " A system that needs a person as its fallback has to tell that person, in time, "
            "that they are needed."
        ),
        Heading("ACM Code of Ethics, principle 2.5"),
        Paragraph(
            cite.fact("acm-2-5")
            + f" The software had her on its sensors {first:g} s before impact and judged a "
            f"crash imminent {judged:g} s before it; the braking rules that followed were chosen "
            "to avoid false alarms. The NTSB found Uber's safety risk assessment procedures "
            "inadequate. Principle 2.5 asks the people who build such a system to analyse what "
            "happens in the worst case of each rule, and to report a major risk. It applies to "
            "this toolkit too: every number here says how sure it is, and a single run is "
            "never presented as a probability."
        ),
        Note(
            cite.fact("frameworks-dates")
            + " Use them as lenses on the case, and ask what engineers could reasonably have "
            f"known in early {YEAR}.",
            kind="caution",
        ),
    ]
    if instructor:
        blocks.append(
            Note(
                "A good answer applies a framework to a specific decision (for example the wait "
                "before braking, or the single operator) and names the evidence the framework "
                'would have asked for; a weak one only says the framework was "violated". Several '
                "of these documents post-date the crash: reward students who notice.",
                kind="instructor",
            )
        )
    return Section(
        slug="frameworks",
        title="Frameworks: SOTIF, UL 4600, SAE J3016, ACM Code",
        intro=(
            "Engineers and ethicists have written down what building a safe automated system "
            "asks of the people who build it. Four such documents, each in one paragraph: what it "
            "says, in its own words, and where this crash meets it."
        ),
        blocks=tuple(blocks),
        metrics={"frameworks": 4},
    )
