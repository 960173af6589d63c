"""From the lecture's networks to the crash: the classifier's flicker and the crosswalk
assumption are the failures the failure report shows on digits.

`section(film_strip=...)` takes the film strip of what a network saw (the classifier in the
perception loop, when the toolkit has one) and places it here, after the flicker paragraph.
The report's sections are named from `fragility.report.sections.TITLES`, so building this
section imports neither the analyses nor torch.
"""

from __future__ import annotations

from collections.abc import Mapping

from fragility.report.section import Bullets, FigureBlock, Heading, Note, Paragraph, Section
from fragility.report.sections import TITLES
from scenarios.case_study import cite
from scenarios.case_study.outcomes import Outcome
from scenarios.simulate import RunResult

SLUG = "ml"


def _report_link(slug: str) -> str:
    """A section of the failure report, named as its heading reads."""
    return f"*{TITLES[slug]}*"


def section(
    base: RunResult,
    outcomes: Mapping[str, Outcome],
    *,
    film_strip: FigureBlock | None = None,
    instructor: bool = False,
) -> Section:
    s = base.summary
    changes = len(s.class_changes)
    blocks: list = [
        Heading("The flicker: a network changing its mind"),
        Paragraph(
            f"In the replay the class of the object in front of the car changes {changes} times "
            f"and the tracker starts over {s.continuity.resets} times. A classifier that is "
            "confident, wrong and unstable from one frame to the next is what the failure report "
            "(`fragility report --out out/report`) shows on the lecture's digits, in its sections "
            + _report_link("mistakes")
            + ": confident mistakes on real images; "
            + _report_link("adversarial")
            + ": a change too small to see flips the answer; and "
            + _report_link("garbage")
            + ": near-certain answers for inputs like nothing in training."
        ),
        Paragraph(
            "What made the flicker dangerous was the design around it as much as any one wrong "
            "class. In this model, with her classed as a pedestrian in every frame, "
            f"{outcomes['recognised-pedestrian'].phrase()}. With the history kept across class "
            f"changes, {outcomes['persistent-tracking'].phrase()}. A stable class and a memory "
            "that survives a change of class are two routes to the same thing: the software "
            "seeing that she was crossing."
        ),
    ]
    if film_strip is not None:
        blocks.append(film_strip)
    blocks += [
        Heading("The crosswalk: a shortcut, learned or designed"),
        Paragraph(
            cite.fact("notes-learned-crosswalk")
            + " "
            + cite.record("no-jaywalkers")
            + " "
            + cite.fact("no-jaywalking-consideration")
        ),
        Paragraph(
            "Either way the lesson is the same. A network trained on pedestrians who are always "
            "in crosswalks can learn the crosswalk as part of what a pedestrian is; a planner "
            "written for pedestrians who always use crosswalks has the same blind spot by "
            "design. The failure report's section "
            + _report_link("shortcut")
            + " plants such a cue in the digits and shows a network following it. Run it:"
        ),
        Bullets(
            (
                "`fragility shortcut --model mlp,cnn --out out/shortcut`: train with and without "
                "the cue and see how often the network follows a wrong cue.",
                "`fragility report --out out/report`: the whole failure report, including the "
                "sections named above.",
                "`fragility scenario explain tempe-2018`: the replay second by second, each "
                "input with its certainty.",
            )
        ),
    ]
    if instructor:
        blocks.append(
            Note(
                "For a machine-learning class: run the shortcut lesson first (a few minutes on a "
                "laptop), then show the timeline figure of the replay. Ask which of the lecture's "
                "failures a test set drawn from the same streets would catch, and which it "
                "would not.",
                kind="instructor",
            )
        )
    return Section(
        slug=SLUG,
        title="From the lecture's networks to the crash",
        intro=(
            "The software's trouble that night is the trouble the lecture's small networks show: "
            "confident answers that change with small changes to the input, and rules learned "
            "(or written) from data that did not include the case that mattered."
        ),
        blocks=tuple(blocks),
        metrics={"class_changes": changes, "film_strip": film_strip is not None},
    )
