"""How sure the case's outcomes are: every counterfactual over the plausible worlds
(`scenarios.sensitivity`) and the cost of false alarms (`scenarios.tradeoff`), run once for all
the pages, and the plain words the pages use for the inputs and settings they vary.

    ev = evidence.gather(runs=4096, seed=0)
    case_study.build(evidence=ev)        # every outcome on every page from these worlds

Both analyses draw the same worlds (the same seed and number of runs, and each input from its
own random stream), so a design that appears in both, such as tracking that keeps its history,
has the same probability in the chain and on the trade-off figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fragility._fmt import share
from scenarios import counterfactuals, sensitivity, tradeoff
from scenarios import spec as spec_mod
from scenarios.case_study.record import YEAR
from scenarios.sensitivity import ScenarioSensitivity, SensitivityResult
from scenarios.tradeoff import TradeoffResult

WORLDS = 4096  # the worlds behind every probability, as `scenario compare` draws by default
TRADEOFF = "nuisance-tradeoff"
MOVES = 0.1  # an input "decides" an outcome when it explains this share of its variance alone

# The unconfirmed inputs (U) of the Tempe scenario in a few plain words each, for the figures'
# labels and the prose; a key not named here is shown as it is written in the scenario file.
INPUT_WORDS = {
    "world.lane_width_m": "the lane width",
    "world.bike_lane_width_m": "the bike-lane width",
    "suv.length_m": "the SUV's length",
    "suv.width_m": "the SUV's width",
    "suv.profile.1.speed_mph": "the SUV's speed in the last seconds",
    "suv.jerk_mps3": "how fast the brakes bite",
    "suv.max_decel_mps2": "the tyres' grip",
    "suv.resume_accel_mps2": "speeding up after a stop",
    "pedestrian.speed_mps": "her walking speed",
    "pedestrian.lateral_at_impact_m": "where the SUV struck her",
    "pedestrian.length_m": "her and the bicycle's length",
    "pedestrian.width_m": "her and the bicycle's width",
    "perception.period_s": "the sensor's frame time",
    "perception.events.4.t_s": "the first assumed class switch",
    "perception.events.5.t_s": "the second assumed class switch",
    "perception.events.6.t_s": "the third assumed class switch",
    "perception.events.7.class": "the class the flicker ended on",
    "perception.flicker.rate_hz": "the flicker rate",
    "tracking.measurement_std_m": "the tracker's position noise",
    "tracking.accel_std_mps2": "the tracker's motion noise",
    "tracking.initial_velocity_std_mps": "the tracker's first guess",
    "tracking.velocity_known_std_mps": "when motion counts as known",
    "planner.emergency_decel_mps2": "the emergency braking strength",
    "planner.comfort_decel_mps2": "the ordinary braking strength",
    "planner.slowdown_decel_mps2": "the gentle slowdown's strength",
    "planner.horizon_s": "how far ahead it plans",
    "planner.lateral_margin_m": "the clearance it wants",
    "planner.standoff_m": "where it means to stop",
    "planner.motion_trust_s": "the time to trust her motion",
    "planner.pedestrian_speed_mps": "the walking speed it assumes",
    "planner.crosswalk_halfwidth_m": "the crosswalk zone's width",
    "operator.sight_distance_m": "the operator's sight distance",
    "operator.brake_decel_mps2": "the operator's braking strength",
    "operator.attentive_reaction_s": "the operator's reaction time",
    "aeb.trigger_ttc_s": "the AEB's trigger time",
    "aeb.latency_s": "the AEB's delay",
    "aeb.decel_mps2": "the AEB's braking strength",
}

# The trade-off's settings in words; its named designs are worded from their values
# (`design_words`).
SETTING_WORDS = {
    "planner.suppression_s": "wait before braking (s)",
    "planner.emergency_braking": "emergency braking",
    "planner.motion_trust_s": "time to trust motion (s)",
    "tracking.class_confirm_frames": "frames to confirm a class",
}

_UNITS = (  # key suffix -> unit, longest first
    ("_mps3", "m/s³"),
    ("_mps2", "m/s²"),
    ("_mps", "m/s"),
    ("_mph", "mph"),
    ("_hz", "per s"),
    ("_s", "s"),
    ("_m", "m"),
)


@dataclass(frozen=True)
class Evidence:
    """The case's Monte Carlo: every counterfactual over the plausible worlds, and the
    trade-off between collisions avoided and nuisance hard braking, on the same worlds."""

    sensitivity: SensitivityResult
    tradeoff: TradeoffResult

    def probabilities(self) -> dict[str, dict]:
        """The shape `build(probabilities=...)` reads (`SensitivityResult.probabilities`)."""
        return self.sensitivity.probabilities()

    def get(self, name: str) -> ScenarioSensitivity | None:
        return next((s for s in self.sensitivity.scenarios if s.name == name), None)

    @property
    def plausible(self):
        """The worlds that reproduce the record, of those drawn (a Proportion)."""
        return next(iter(self.sensitivity.plausible.values()))


def gather(
    runs: int = WORLDS,
    seed: int = 0,
    *,
    names: Sequence[str] = counterfactuals.COUNTERFACTUALS,
    singles: Mapping | None = None,
) -> Evidence:
    """Every counterfactual over `runs` drawn worlds and the trade-off on the same worlds;
    singles: scenario name -> its single run, where the caller has it already."""
    sens = sensitivity.run(list(names), runs=runs, seed=seed, singles=singles)
    t = spec_mod.load(TRADEOFF)
    trade = tradeoff.run(t, runs=min(runs, tradeoff.MAX_RUNS), seed=seed)
    return Evidence(sens, trade)


def words(key: str) -> str:
    """An input or a setting in plain words, or the key as written where none are given."""
    return INPUT_WORDS.get(key) or SETTING_WORDS.get(key) or key


def label(key: str) -> str:
    """An input's name for a figure's label: its words without a leading article."""
    w = words(key)
    return w[4:] if w.startswith("the ") else w


def input_labels() -> dict[str, str]:
    return {k: label(k) for k in INPUT_WORDS}


def value_text(key: str, value: float | str, *, exact: bool = False) -> str:
    """A value of an input with its unit (from the key's suffix), to two significant digits
    ('1.3 s', '74 m', '8 m/s²'), or as written in the scenario file (`exact`: '4.95 m')."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    unit = next((u for suffix, u in _UNITS if key.endswith(suffix)), "")
    return f"{value:{'g' if exact else '.2g'}} {unit}".strip()


def what_decides(s: ScenarioSensitivity) -> str:
    """The unconfirmed input that moves an outcome most, and how far, in one clause: the
    outcome in the worlds where the input is in its lowest fifth of draws and in its highest
    (the tornado's bars); "" where no input explains MOVES of the outcome's variance alone."""
    top = s.importance[0] if s.importance else None
    if top is None or top.index < max(MOVES, 2 * s.index_noise):
        return ""
    low, high = value_text(top.key, top.low_value), value_text(top.key, top.high_value)
    if s.tornado_outcome.startswith("probability"):
        return (
            f"it hangs most on {words(top.key)}: where that is lowest (about {low}) the crash is "
            f"avoided in {share(top.low)} of the worlds, where it is highest (about {high}) in "
            f"{share(top.high)}"
        )
    return (
        f"the impact speed hangs most on {words(top.key)}: about {top.low:.0f} mph where that "
        f"is lowest (about {low}), about {top.high:.0f} mph where it is highest (about {high})"
    )


def design_words(values: Mapping[str, object], trade: TradeoffResult) -> str:
    """A design of the trade-off in words, from the settings it changes: "the 2018 design, no
    wait, emergency braking"; the sweep's own design (no changes) is "tracking that keeps its
    history" where that is what the file it extends does."""
    base = spec_mod.load(counterfactuals.BASE)
    own = spec_mod.load(TRADEOFF)
    policy = values.get("tracking.policy", own.value("tracking.policy"))
    parts = [
        f"the {YEAR} design"
        if policy == base.value("tracking.policy")
        else "tracking that keeps its history"
    ]
    wait = values.get("planner.suppression_s")
    if wait is not None and wait != base.value("planner.suppression_s"):
        parts.append("no wait" if not wait else f"a wait of {wait:g} s")
    if values.get("planner.emergency_braking"):
        parts.append("emergency braking")
    return ", ".join(parts)


def trade_labels(trade: TradeoffResult) -> dict[str, str]:
    """Every label of the trade-off figure in words: its settings, its own design and its
    named designs."""
    out = dict(SETTING_WORDS)
    for p in trade.points:
        if p.axis is None:
            out[p.label] = design_words(p.values, trade)
    return out
