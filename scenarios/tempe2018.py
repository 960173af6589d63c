"""The NTSB record of the Tempe crash (18 March 2018) as data: each fact with source and certainty.

Certainty letters, as in the project's facts sheets:
  Q  NTSB wording seen in a faithful copy
  P  a secondary source paraphrasing the NTSB
  D  derived by arithmetic from other facts
  S  a secondary source only (press reporting of an official act or of a company's claim)
  U  recalled or assumed, unconfirmed

Scenario files cite these facts by id (`{ value = 6.5, fact = "emergency-threshold" }`) so that
every number in a run can be traced to the record or is marked as an assumption. Times are
seconds before impact in the record; the simulation clock runs the other way (t = -5.6 s is
5.6 s before the record's moment of impact).
"""

from __future__ import annotations

from dataclasses import dataclass

CERTAINTY = {
    "Q": "NTSB wording seen in a faithful copy",
    "P": "secondary source paraphrasing the NTSB",
    "D": "derived by arithmetic",
    "S": "secondary source only, e.g. press reporting",
    "U": "recalled or assumed, unconfirmed",
}

FINAL = "NTSB/HAR-19/03, Highway Accident Report (2019)"
VAR = "NTSB docket HWY18MH010, Vehicle Automation Report (2019)"
PRELIM = "NTSB Preliminary Report, Highway HWY18MH010 (May 2018)"
SECONDARY = "secondary accounts of the NTSB reports"
DERIVED = "derived by arithmetic"
ASSUMPTION = "assumption of this simulation"
MPH = 0.44704  # m/s per mph, exact by definition


@dataclass(frozen=True)
class Fact:
    id: str
    text: str  # the fact in one sentence
    certainty: str  # Q, P, D or U
    source: str
    value: float | None = None  # the number, where the fact is one (SI units unless named)
    unit: str = ""

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "certainty": self.certainty,
            "source": self.source,
            "value": self.value,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class TimelineRow:
    """One row of the record's timeline of the ADS's view (t_before_s seconds before impact)."""

    t_before_s: float
    sensor: str  # "radar", "lidar" or "-"
    classification: str  # "vehicle", "other", "bicycle", "-" ...
    prediction: str  # goal and predicted path, in the record's words
    history: str  # "none yet", "reset", "kept", "-"
    certainty: str
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "t_before_s": self.t_before_s,
            "sensor": self.sensor,
            "classification": self.classification,
            "prediction": self.prediction,
            "history": self.history,
            "certainty": self.certainty,
            "note": self.note,
        }


TIMELINE: tuple[TimelineRow, ...] = (
    TimelineRow(
        5.6,
        "radar",
        "vehicle",
        "first detection",
        "none yet",
        "P",
        "final report: first classified as a vehicle; the preliminary report said about 6 s",
    ),
    TimelineRow(
        5.2, "lidar", "other", "static; 'other' objects get no goal; not on path", "reset", "P"
    ),
    TimelineRow(4.2, "lidar", "vehicle", "static; not on path", "reset", "P"),
    TimelineRow(
        3.8,
        "lidar",
        "vehicle / other",
        "alternates several times between vehicle and other until 2.7 s; static; not on path",
        "reset at each change",
        "P",
    ),
    TimelineRow(2.6, "lidar", "bicycle", "static; not on path", "reset", "P"),
    TimelineRow(
        2.5, "lidar", "bicycle", "travelling, in the left through lane; not on path", "kept", "U"
    ),
    TimelineRow(
        1.5,
        "lidar",
        "other",
        "static; partly in the SUV's lane; planner plans to steer around it",
        "reset",
        "P",
        "steer-around: U",
    ),
    TimelineRow(
        1.2,
        "lidar",
        "bicycle",
        "on the SUV's path: collision judged imminent; 1 s of action suppression begins",
        "reset",
        "P",
        "the preliminary report put this at 1.3 s",
    ),
    TimelineRow(
        0.2,
        "-",
        "-",
        "suppression ends; audible alert to the operator; controlled slowdown begins",
        "-",
        "P",
    ),
    TimelineRow(0.02, "-", "-", "operator takes the steering wheel, disengaging the ADS", "-", "P"),
    TimelineRow(0.0, "-", "-", "impact: the SUV's right front strikes the pedestrian", "-", "Q"),
    TimelineRow(
        -0.7,
        "-",
        "-",
        "operator brakes, less than 1 s after impact (about 0.7 s)",
        "-",
        "P",
        "less than 1 s: Q; about 0.7 s: P",
    ),
)


def _facts(*facts: Fact) -> dict[str, Fact]:
    return {f.id: f for f in facts}


FACTS: dict[str, Fact] = _facts(
    # The crash
    Fact(
        "crash",
        "On 18 March 2018, about 9:58 pm, an Uber ATG test vehicle (a 2017 Volvo XC90 "
        "driven by Uber's developmental automated driving system, with an operator aboard) "
        "struck and killed a pedestrian pushing a bicycle across northbound N. Mill Avenue in "
        "Tempe, Arizona.",
        "Q",
        FINAL,
    ),
    # Timeline anchors
    Fact(
        "first-detection",
        "The ADS first registered her 5.6 s before impact (radar, classed as "
        "a vehicle); the preliminary report rounded this to about 6 s.",
        "P",
        FINAL,
        5.6,
        "s",
    ),
    Fact(
        "conflict-judged",
        "A collision was judged imminent 1.2 s before impact (the preliminary report: 1.3 s).",
        "P",
        FINAL,
        1.2,
        "s",
    ),
    Fact(
        "alert",
        "Suppression ended 0.2 s before impact: audible alert, controlled slowdown begins.",
        "P",
        FINAL,
        0.2,
        "s",
    ),
    Fact(
        "takeover",
        "The operator took the steering wheel 0.02 s before impact, disengaging the ADS.",
        "P",
        FINAL,
        0.02,
        "s",
    ),
    Fact(
        "operator-brake",
        "The operator braked less than 1 s after impact (Q), about 0.7 s (P).",
        "P",
        FINAL,
        0.7,
        "s",
    ),
    Fact(
        "operator-glance",
        "The operator was glancing away from the road for an extended period "
        "and redirected her gaze to the road about 1 s before impact.",
        "P",
        "secondary summary of the NTSB board meeting (19 Nov 2019)",
        1.0,
        "s",
    ),
    # Design
    Fact(
        "reclassification-drops-history",
        "When perception changed an object's class, its "
        "tracking history was no longer used to predict its trajectory; the new path depended on "
        "the class's goal alone. An object classed 'other' was given no goal (static).",
        "Q",
        VAR,
    ),
    Fact(
        "no-jaywalkers",
        "The design had no notion of a pedestrian crossing away from a "
        "crosswalk; the system never classified her as a pedestrian. (One secondary account "
        "attributes more to the bicycle: P.)",
        "Q",
        f"{VAR}; {FINAL}",
    ),
    Fact(
        "action-suppression",
        "A 1 s period of action suppression, in which planned braking was "
        "suppressed while the system verified the hazard or the operator took over; motive: "
        "fear of false alarms and erratic braking (P).",
        "Q",
        FINAL,
        1.0,
        "s",
    ),
    Fact(
        "emergency-threshold",
        "'Emergency braking' meant deceleration above 6.5 m/s²; such "
        "manoeuvres were not enabled under computer control.",
        "Q",
        PRELIM,
        6.5,
        "m/s^2",
    ),
    Fact(
        "no-mitigation-braking",
        "The design precluded braking for crash mitigation alone.",
        "Q",
        FINAL,
    ),
    Fact(
        "gradual-slowdown",
        "If a collision could not be avoided, the design sounded an alert "
        "while starting a gradual slowdown.",
        "P",
        FINAL,
    ),
    Fact(
        "no-emergency-alert",
        "The system was not designed to alert the operator of a need for emergency braking.",
        "Q",
        PRELIM,
    ),
    Fact(
        "volvo-aeb-off",
        "The Volvo's own collision avoidance with automatic emergency braking "
        "(City Safety) was disabled whenever the ADS drove. How Volvo's own simulations "
        "turned out is known only from secondary accounts (S).",
        "Q",
        FINAL,
    ),
    # Scene
    Fact(
        "lanes",
        "Northbound N. Mill Avenue has two left-turn lanes, two through lanes and one "
        "bike lane; the SUV was in the right through lane.",
        "Q",
        FINAL,
    ),
    Fact("speed-limit", "Posted limit 45 mph.", "Q", FINAL, 45 * MPH, "m/s"),
    Fact(
        "lighting",
        "Night; street lighting present, but she crossed in a stretch not directly "
        "lit; dark clothing; no side reflectors on the bicycle.",
        "Q",
        FINAL,
    ),
    Fact("direction", "She walked the bicycle east, from the SUV's left to its right.", "Q", FINAL),
    Fact("lanes-crossed", "She had crossed about three lanes by impact.", "D", DERIVED),
    Fact(
        "crosswalk", "The nearest crosswalk was about 360 ft (110 m) away.", "Q", FINAL, 110.0, "m"
    ),
    Fact("struck-right-front", "The SUV's right front struck her.", "Q", FINAL),
    Fact("speed-at-detection", "43 mph at first registration.", "Q", PRELIM, 43 * MPH, "m/s"),
    Fact("speed-at-impact", "39 mph at impact.", "Q", FINAL, 39 * MPH, "m/s"),
    Fact(
        "speed-at-1.2",
        "The speed at 1.2 s is not confirmed: 43 mph and '40 mph (65 km/h)' both "
        "circulate (the lecture notes give 65 km/h).",
        "U",
        SECONDARY,
        40 * MPH,
        "m/s",
    ),
    Fact(
        "slowdown-43-39",
        "A slowdown from 43 to 39 mph inside 0.2 s would need about 9 m/s², "
        "which is no gradual slowdown.",
        "D",
        DERIVED,
        8.9,
        "m/s^2",
    ),
    Fact(
        "distance-at-detection",
        "About 105 to 110 m at first detection (about 19.5 m/s x 5.6 s).",
        "D",
        DERIVED,
        107.5,
        "m",
    ),
    Fact(
        "walking-speed",
        "Her walking speed is not in the sources; 1.2 to 1.5 m/s with a bicycle is an assumption.",
        "U",
        ASSUMPTION,
        1.4,
        "m/s",
    ),
    # Derived checks
    Fact(
        "stop-from-1.2",
        "From 1.2 s at about 18-19 m/s there are about 21-23 m left; stopping "
        "from 18 m/s at 6.5 m/s² takes about 25 m: braking at 1.2 s could mitigate but not "
        "avoid.",
        "D",
        DERIVED,
        24.9,
        "m",
    ),
    Fact(
        "stop-from-43",
        "Braking at 6.5 m/s² from 19.2 m/s (43 mph) needs about 28 m and 3 s: a "
        "hazard recognised 4 s or more ahead (75+ m) leaves room to stop.",
        "D",
        DERIVED,
        28.4,
        "m",
    ),
    # Where the lecture notes differ
    Fact(
        "notes-phoenix",
        "The lecture notes say Phoenix; the crash was in Tempe, in the Phoenix area.",
        "Q",
        FINAL,
    ),
)


def fact(fact_id: str) -> Fact:
    """The fact with this id (KeyError names the known ids)."""
    try:
        return FACTS[fact_id]
    except KeyError:
        raise KeyError(f"no fact {fact_id!r}; known: {', '.join(sorted(FACTS))}") from None


# The outside record: what others concluded about the outcome, set beside the simulation's
# probabilities by the sensitivity analysis. Conclusions, not facts of the crash: kept apart
# from FACTS (the technical record).
OUTSIDE: dict[str, Fact] = _facts(
    Fact(
        "volvo-simulation",
        "Volvo's own simulations of the crash with its automatic emergency braking (City "
        "Safety) on: the collision avoided in 17 of 20 variations, and the speed brought under "
        "10 mph in the other 3.",
        "U",  # the project's facts: claims about Volvo's simulations are unconfirmed
        "secondary accounts of Volvo's simulations (not seen in a primary source by this project)",
        17 / 20,
        "share of variations avoided",
    ),
    Fact(
        "police-avoidable",
        "The Tempe police called the crash 'entirely avoidable' had the operator been watching "
        "the road.",
        "S",
        "GeekWire and The Daily Beast on the Tempe police report, June 2018",
    ),
    Fact(
        "ntsb-attentive",
        "An attentive operator could have avoided the crash or mitigated the impact.",
        "P",
        FINAL,
    ),
)
