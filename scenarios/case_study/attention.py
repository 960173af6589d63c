"""The operator's attention over the trip, beside the system's timeline, and what human-factors
research says about asking a person to watch automation.

Every span of the figure comes from a fact (the record's times, the police report's times as
the press reported them); nothing here is a number of its own.
"""

from __future__ import annotations

import dataclasses

from fragility.figures import to_png
from fragility.report.section import FigureBlock, Heading, Note, Paragraph, Section
from scenarios import tempe2018
from scenarios import tempe2018_responsibility as resp
from scenarios.case_study import cite
from scenarios.case_study.figures import Span, attention_timeline

SLUG = "attention"
TITLE = "The operator's attention, beside the system's"


def clock(minute_of_day: float) -> str:
    """9:58 pm style, for a time of day in minutes after midnight."""
    h, m = divmod(round(minute_of_day), 60)
    return f"{(h - 1) % 12 + 1}:{m:02d} {'am' if h < 12 else 'pm'}"


def _record(fact_id: str) -> tuple[float, str]:
    f = tempe2018.fact(fact_id)
    return f.value, f.certainty


def _class_spans() -> list[Span]:
    """The record's classes over time (scenarios.tempe2018.TIMELINE), one span per class."""
    rows = [r for r in tempe2018.TIMELINE if r.classification != "-"]
    out = []
    for i, r in enumerate(rows):
        end = -rows[i + 1].t_before_s if i + 1 < len(rows) else 0.0
        if out and out[-1].label == r.classification:
            out[-1] = dataclasses.replace(out[-1], end=end)
            continue
        out.append(Span("", r.classification, -r.t_before_s, end, r.classification, r.certainty))
    marks = {s.mark for s in out}
    lane = CLASS_LANE + (f" [{next(iter(marks))}]" if len(marks) == 1 else "")
    return [dataclasses.replace(s, lane=lane, show_mark=len(marks) > 1) for s in out]


def spans() -> tuple[list[Span], list[Span]]:
    """(trip spans in minutes, last-seconds spans in seconds), from the facts."""
    start, _ = _record("first-detection")
    judged, judged_mark = _record("conflict-judged")
    alert, alert_mark = _record("alert")
    takeover, takeover_mark = _record("takeover")
    brake, brake_mark = _record("operator-brake")
    glance, glance_mark = _record("operator-glance")
    police_glance = resp.fact("police-glance")
    down_share = resp.fact("police-looking-down")
    stream = resp.fact("police-hulu")
    cause = resp.fact("probable-cause")

    last = _class_spans()
    last += [
        Span("system: did", "drives on", -start, -judged, "cruising", judged_mark),
        Span("system: did", "waits (suppression)", -judged, -alert, "waits", judged_mark),
        Span("system: did", "alert, slows", -alert, -takeover, "alert", alert_mark),
        Span("eyes (NTSB)", "looking down", -start, -glance, "down", glance_mark),
        Span("eyes (NTSB)", "road", -glance, 0.0, "road", glance_mark),
        Span("eyes (police)", "looking down", -start, -police_glance.values[0], "down", "S"),
        Span("eyes (police)", "road", -police_glance.values[0], 0.0, "road", "S"),
        Span("hands", "takes the wheel", -takeover, -takeover, "disengaged", takeover_mark),
        Span("hands", "brakes", brake, brake, "alert", brake_mark),
    ]
    minute = 60.0
    s0, s1 = (resp.minute_of_day_to_s(m) / minute for m in stream.values)
    share, window = down_share.values
    left = s0 - TRIP_MARGIN * (s1 - s0)
    trip = [
        Span("phone (police)", "streaming a TV show", s0, s1, "stream", stream.certainty),
        Span(
            "eyes (police)",
            f"looking down {share:.0%} of this time",
            -window,
            0.0,
            "down",
            down_share.certainty,
        ),
        Span(
            "eyes (NTSB)",
            "visually distracted throughout the trip (its start is off the chart)",
            left,
            0.0,
            "distracted",
            cause.certainty,
        ),
    ]
    return trip, last


CLASS_LANE = "system: class"
TRIP_MARGIN = 0.1  # share of the stream's length shown before it starts
TRIP_LANES = ("eyes (NTSB)", "eyes (police)", "phone (police)")
LAST_LANES = ("system: did", "eyes (NTSB)", "eyes (police)", "hands")


def figure() -> FigureBlock:
    trip, last = spans()
    stream = resp.fact("police-hulu")
    lo = min(s.start for s in trip)
    hi = resp.minute_of_day_to_s(stream.values[1]) / 60.0
    start, _ = _record("first-detection")
    brake, _ = _record("operator-brake")
    crash = clock(resp.CRASH_MINUTE_OF_DAY)
    class_lane = next(s.lane for s in last if s.lane.startswith(CLASS_LANE))
    fig = attention_timeline(
        trip,
        TRIP_LANES,
        (lo, hi + 1.0),
        last,
        (class_lane, *LAST_LANES),
        (-start - 0.2, brake + 0.5),
        f"minutes before the crash (about {crash})",
    )
    return FigureBlock(
        "case-attention",
        to_png(fig),
        "The operator's attention over the trip (top, minutes) and in the last seconds "
        "(bottom, seconds), beside what the system saw and did. Solid bars are the NTSB record; "
        "hatched bars were reported by the press from the police report (marked S). Two "
        "accounts of when she looked up are both shown.",
        alt_text(),
    )


def alt_text() -> str:
    """The figure in words, every number from the facts."""
    stream = resp.fact("police-hulu")
    share, window = resp.fact("police-looking-down").values
    start, _ = _record("first-detection")
    judged, _ = _record("conflict-judged")
    alert, _ = _record("alert")
    glance, _ = _record("operator-glance")
    police = resp.fact("police-glance").values[0]
    brake, _ = _record("operator-brake")
    return (
        f"Two timelines. Top, in minutes: a TV stream runs on the operator's phone from "
        f"{clock(stream.values[0])} to {clock(stream.values[1])}; police say she looked down "
        f"{share:.0%} of the last {window:g} minutes; the NTSB found her distracted throughout "
        f"the trip. Bottom, in seconds: from {start:g} s before impact the system's class for the "
        f"pedestrian changes between vehicle, other and bicycle; at {judged:g} s it judges a "
        f"crash imminent and waits; at {alert:g} s it alerts and slows; the operator looks up "
        f"{glance:g} s before impact by the NTSB's account or {police:g} s by the police's, "
        f"takes the wheel just before impact and brakes {brake:g} s after it."
    )


def section(fig: FigureBlock, *, instructor: bool = False) -> Section:
    """The attention section around `fig` (this module's `figure()`, drawn once per build)."""
    start, _ = _record("first-detection")
    alert, _ = _record("alert")
    blocks = [
        fig,
        Heading("Where the accounts differ: what was she looking at?"),
        Note(
            "This page does not choose between these accounts; a court and an investigation "
            "reached their conclusions, and the people involved disagree with parts of them. "
            + cite.expand(
                "The NTSB: {f:probable-cause} The police: {f:police-hulu} {f:police-looking-down} "
                "{f:police-glance} The record: {r:operator-glance} The operator, to the NTSB: "
                "{f:operator-to-ntsb} Her lawyers: {f:defence-2022} {f:defence-2023} Her job, as "
                "Uber described it to the NTSB: {f:operator-duties}"
            ),
            kind="caution",
        ),
        Heading("What human-factors research says about watching automation"),
        Paragraph(
            f"In {resp.SOURCES['bainbridge-1983'].date} Lisanne Bainbridge described the "
            '"ironies of automation": the more a '
            "machine does, the more its designers rely on a person to catch what it gets wrong, "
            "and the worse people are placed to do it. "
            + cite.expand("{f:bainbridge-irony} {f:bainbridge-vigilance}")
        ),
        Paragraph(
            "Read the case with that in mind. "
            + cite.expand(
                "{f:relies-on-operator} {r:no-emergency-alert} {f:one-operator} "
                "{f:no-attention-monitor} {f:volvo-functions-off}"
            )
            + f" The system had her on its sensors {start:g} s before impact; it told the "
            f"operator {alert:g} s before impact. None of this excuses looking at a phone, and the "
            "phone does not excuse any of it: the NTSB named both (see "
            "[What the NTSB found](#ntsb))."
        ),
    ]
    if instructor:
        blocks.append(
            Note(
                'Students often split into "she should have watched" and "nobody can watch for '
                "that long\". Both are supported by the sources; push each side to use the other's "
                "evidence. Ask what a design that expects inattention would look like (driver "
                "monitoring, a second person, alerts that ask for action, shorter shifts).",
                kind="instructor",
            )
        )
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=(
            "A test car with a person at the wheel is only as safe as that person's attention. "
            "The figure puts what the operator was doing beside what the software was doing. "
            "Some of it is in the NTSB's record; some only in press reports of the police "
            "investigation, which are hatched and marked S."
        ),
        blocks=tuple(blocks),
        metrics={"spans": sum(len(s) for s in spans())},
    )
