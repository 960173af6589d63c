"""Scenario files: TOML -> frozen dataclasses, validated strictly.

A scenario file gives every parameter of a run. A value is either plain (`suppression_s = 1.0`)
or annotated with where it comes from, so that a reader can tell a record from an assumption:

    suppression_s = { value = 1.0, fact = "action-suppression" }      # certainty from the record
    speed_mps = { value = 1.4, certainty = "U", source = "assumption: walking pace" }

A counterfactual extends another file and changes one line:

    extends = "tempe-2018"
    [planner]
    suppression_s = 0.0

Unknown keys, wrong types, negative speeds and impossible geometry raise `ScenarioError` with the
file, the key and its line (HighwayEnv's `configure` accepts typos silently; this does not).
A `[sweep]` table turns a scenario into a sweep: a grid over any parameters and Monte Carlo
draws over numeric ones (see `SweepSpec`).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fragility import tomlfile
from fragility.errors import FragilityError
from fragility.tomlfile import SCALAR_KINDS, choice, flag, num, records, table, text, whole
from fragility.tomlfile import did_you_mean as _did_you_mean
from fragility.tomlfile import meta as _meta
from fragility.tomlfile import type_name as _type_name
from scenarios import tempe2018
from scenarios.render import LIGHTING

# The classes perception gives an object. The first four are what the networks are trained to
# tell apart (`NETWORK_CLASSES`: the rendered training sets' labels); "unknown" is perception
# saying it does not know what the object is (an out-of-distribution detector flagged it), and
# the planner then assumes the worst plausible mover: a pedestrian who may cross anywhere.
NETWORK_CLASSES = ("vehicle", "bicycle", "pedestrian", "other")
CLASSES = (*NETWORK_CLASSES, "unknown")
SENSORS = ("radar", "lidar", "camera")
CERTAINTIES = ("Q", "P", "D", "S", "U")
MPH = tempe2018.MPH
MAX_STEPS = 20_000  # one run; keeps a malformed file from asking for hours of simulation
MAX_EXTENDS = 8


class ScenarioError(FragilityError):
    """A scenario file is missing, malformed or describes something impossible."""


# ---------------------------------------------------------------------------------------------
# The schema: dataclasses whose fields say what each key accepts (fragility.tomlfile's `num`,
# `whole`, `flag`, `choice`, ...)


@dataclass(frozen=True)
class SpeedKnot:
    """One point of the SUV's recorded cruise speed profile, with its certainty."""

    t_s: float = num("clock time in s (0 is the record's moment of impact)", -60, 60)
    speed_mph: float = num("cruise speed at that time (mph)", 0, 100)
    certainty: str = choice("Q, P, D or U", *CERTAINTIES)
    source: str = _meta("text", "where the number comes from")


@dataclass(frozen=True)
class ReplayEvent:
    """From t_s on, detections come from `sensor` with class `cls` (until the next event)."""

    t_s: float = num("clock time of the event (s)", -60, 60)
    sensor: str = choice("which sensor", *SENSORS)
    cls: str = choice("the class perception gave her", *CLASSES)
    certainty: str = choice("Q, P, D or U", *CERTAINTIES)
    source: str = _meta("text", "where the event comes from")


@dataclass(frozen=True)
class WorldSpec:
    """The road (x northbound along the lanes, y to the left, y = 0 at the right edge of the
    right through lane) and the simulation clock (t = 0 is the record's moment of impact)."""

    step_s: float = num("simulation step (s)", 0.001, 0.1, default=0.02)
    start_s: float = num("clock time at which the run starts (s)", -60, 0, sample=False)
    end_s: float = num("clock time at which the run stops at the latest (s)", -60, 60, sample=False)
    left_turn_lanes: int = whole("left-turn lanes, left of the through lanes", 0, 4)
    through_lanes: int = whole("through lanes; the SUV drives in the rightmost", 1, 4)
    lane_width_m: float = num("width of every lane (m)", 2.0, 5.0)
    bike_lane_width_m: float = num("width of the bike lane right of the through lanes (m)", 0, 3)
    crosswalk_distance_m: float = num(
        "distance from her path to the nearest crosswalk (m)", 0, 5000
    )
    start_gap_m: float = num(
        "distance from the SUV's front to her path at start_s (m)", 0, 3000, lo_open=True
    )


@dataclass(frozen=True)
class SuvSpec:
    """The test vehicle: size, cruise speed (a recorded profile or held constant), limits."""

    length_m: float = num("length (m)", 1.0, 20.0)
    width_m: float = num("width (m)", 0.5, 4.0)
    initial_speed_mph: float = num("speed at start_s in mph (it scales the profile)", 0, 100)
    cruise: str = choice(
        "'profile': follow [[suv.profile]] scaled to initial_speed_mph; "
        "'constant': hold initial_speed_mph",
        "profile",
        "constant",
    )
    profile: tuple[SpeedKnot, ...] = records(
        "the recorded cruise profile", SpeedKnot, required=False
    )
    jerk_mps3: float = num("how fast deceleration can build (m/s^3)", 1.0, 1000.0)
    max_decel_mps2: float = num("what the tyres give at most (m/s^2)", 1.0, 12.0)
    resume_accel_mps2: float = num("acceleration back to cruise after a stop (m/s^2)", 0.1, 5.0)


@dataclass(frozen=True)
class PedestrianSpec:
    """Her and the bicycle, walking across the lanes from the SUV's left to its right."""

    speed_mps: float = num("walking speed across the road (m/s)", 0, 10)
    lateral_at_impact_m: float = num("y of her centre at t = 0 (m)", -10, 40)
    length_m: float = num(
        "extent across the road, her and the bicycle (m)", 0.1, 4.0, lo_open=False
    )
    width_m: float = num("extent along the road (m)", 0.1, 4.0)


@dataclass(frozen=True)
class FlickerSpec:
    """Markov class switching: each frame, with probability 1 - exp(-rate_hz * period_s), the
    class is redrawn from `confusion` (the distribution of classes given to her)."""

    first_detection_s: float = num("clock time of the first detection (s)", -60, 60, sample=False)
    rate_hz: float = num("redraws per second", 0, 100)
    confusion: tuple[tuple[str, float], ...] = _meta(
        "confusion", "probability of each class for her (a row of the confusion matrix)"
    )


CLASSIFIER_KINDS = ("mlp", "cnn")  # the lecture's classifiers fragility trains
OOD_DETECTORS = ("none", "max-softmax", "autoencoder")


@dataclass(frozen=True)
class ClassifierSpec:
    """The classifier in the loop (perception.mode = 'classifier'): each frame the camera's
    crop of her is rendered from the simulator's own positions (`scenarios.camera`) and a
    network trained by fragility on rendered crops classifies it. The frame period is
    perception.period_s; the first frame is perception.flicker.first_detection_s."""

    model: str = text(
        "'mlp' or 'cnn' (the lecture's networks, trained by fragility on training_set and "
        "cached), or the folder of a `fragility train` checkpoint trained on tempe-crops",
        default="cnn",
    )
    training_set: str = choice(
        "'blind-spot' (pedestrians only on crossings, none walking a bicycle: the 2018 gap) "
        "or 'fixed' (with jaywalkers and pedestrians walking bicycles)",
        "blind-spot",
        "fixed",
        default="blind-spot",
    )
    train_crops: int = whole(
        "training crops rendered (a quarter as many test crops); 12000 is the tempe-crops "
        "dataset that `fragility train` and `fragility report` use",
        400,
        200_000,
        default=12_000,
    )
    epochs: int = whole(
        "training epochs (0: fragility's default for a set that size)", 0, 1000, default=0
    )
    train_seed: int = whole("seed of the network's training", 0, 2**31 - 1, default=0)
    crop_size: int = whole("crop side in pixels", 8, 128, default=32)
    channels: int = whole("1 (grey) or 3 (colour) crops", 1, 3, default=1)
    lighting: str = choice(
        "the light she is seen in (the record: night, a stretch not directly lit)",
        *LIGHTING,
        default="night-unlit",
    )
    box_jitter: float = num(
        "standard deviation of the detector box's error (shares of its size)",
        0,
        0.3,
        sample=False,
        default=0.05,
    )
    ood: str = choice(
        "out-of-distribution detector whose flag makes the class 'unknown': 'none' (2018), "
        "'max-softmax' (a low top probability) or 'autoencoder' (a high reconstruction error)",
        *OOD_DETECTORS,
        default="none",
    )
    ood_false_alarm: float = num(
        "share of the training set's own test crops the detector flags (its threshold is "
        "calibrated to this)",
        0.001,
        0.5,
        sample=False,
        default=0.05,
    )


# A file may leave [perception.classifier] out: every key takes its default.
CLASSIFIER_DEFAULTS = ClassifierSpec(
    **{f.name: f.metadata["default"] for f in dataclasses.fields(ClassifierSpec)}
)


@dataclass(frozen=True)
class PerceptionSpec:
    """The detections: the record's timeline replayed, Markov class flicker, or a trained
    classifier looking at rendered camera crops."""

    mode: str = choice(
        "'replay' the events, draw 'flicker', or run a 'classifier' on camera crops",
        "replay",
        "flicker",
        "classifier",
    )
    period_s: float = num("time between detections (s)", 0.001, 1.0, sample=False)
    position_noise_m: float = num("standard deviation of detected positions (m)", 0, 5)
    classify_as: str = choice(
        "'' or a class that replaces every class (a perfect classifier)", "", *CLASSES
    )
    events: tuple[ReplayEvent, ...] = records("the replayed timeline", ReplayEvent)
    flicker: FlickerSpec = table("the flicker model", FlickerSpec)  # noqa: RUF009
    classifier: ClassifierSpec = table(  # noqa: RUF009
        "the classifier in the loop", ClassifierSpec, default=CLASSIFIER_DEFAULTS
    )


@dataclass(frozen=True)
class TrackingSpec:
    """Track policy and the constant-velocity Kalman filter."""

    policy: str = choice(
        "'reset-on-reclassify' (2018) or 'persistent'", "reset-on-reclassify", "persistent"
    )
    measurement_std_m: float = num("position noise the filter assumes (m)", 0.001, 10)
    accel_std_mps2: float = num("white-acceleration process noise (m/s^2)", 0.0, 20)
    initial_velocity_std_mps: float = num("velocity uncertainty of a new track (m/s)", 0.01, 100)
    velocity_known_std_mps: float = num("velocity counts as known below this std (m/s)", 0.01, 100)
    class_confirm_frames: int = whole(
        "a new class must be seen in this many frames in a row before the track takes it "
        "(1: at once, the 2018 design; more: a class filter against flicker)",
        1,
        50,
        default=1,
    )
    coast_s: float = num(
        "a track with no detection for longer than this is dropped (s)", 0, 10, default=0.5
    )
    class_fusion_s: float = num(
        "class fusion: the track's class is the top class of an exponential average, with "
        "this time constant, of the class probabilities of her detections (0: the latest "
        "detection's class, the 2018 design)",
        0,
        30,
        default=0.0,
    )


@dataclass(frozen=True)
class PlannerSpec:
    """Goals by class, the collision check, suppression and the braking rules."""

    jaywalkers: bool = flag("predict that pedestrians may cross anywhere, not only at crosswalks")
    suppression_s: float = num("action suppression after a hazard is judged (s)", 0, 10)
    emergency_braking: bool = flag(
        "may brake harder than emergency_threshold_mps2, also to mitigate an unavoidable crash"
    )
    emergency_threshold_mps2: float = num(
        "deceleration above which braking is 'emergency'", 0.5, 12
    )
    emergency_decel_mps2: float = num("emergency braking deceleration when allowed", 0.5, 12)
    comfort_decel_mps2: float = num("least deceleration used to stop for a hazard", 0.1, 12)
    slowdown_decel_mps2: float = num("the gradual slowdown when a crash is unavoidable", 0, 12)
    alert: bool = flag("sound an alert when a crash is judged unavoidable")
    horizon_s: float = num("how far ahead paths are checked (s)", 0.1, 30)
    lateral_margin_m: float = num("clearance wanted beside an object (m)", 0, 3)
    standoff_m: float = num("where to stop, short of the conflict (m)", 0, 50)
    motion_trust_s: float = num(
        "uninterrupted history needed before motion that contradicts the class's goal is "
        "trusted (s)",
        0,
        30,
    )
    pedestrian_speed_mps: float = num(
        "speed a jaywalking pedestrian is assumed to reach (m/s)", 0, 10
    )
    crosswalk_halfwidth_m: float = num(
        "how near a crosswalk a pedestrian is taken to cross (m)", 0, 100
    )


@dataclass(frozen=True)
class OperatorSpec:
    """The safety operator: attention, sighting, reaction and takeover."""

    attentive: bool = flag(
        "watching the road throughout: she brakes attentive_reaction_s after she can see her, "
        "and braking is her takeover (the ADS's braking is not released before hers)"
    )
    attentive_reaction_s: float = num(
        "an attentive operator's perception-brake time for a surprise obstacle (s)",
        0,
        10,
        default=1.5,
    )
    glance_at_s: float = num("clock time an inattentive operator looks at the road (s)", -60, 60)
    sight_distance_m: float = num("how far ahead she can be seen at night (m)", 0, 1000)
    takes_over_on: str = choice(
        "what makes the operator act", "alert-or-hazard", "alert", "hazard", "never"
    )
    takeover_s: float = num("inattentive: from noticing to taking the wheel (s)", 0, 10)
    takeover_disengages: bool = flag("taking the wheel disengages the ADS, its braking included")
    reaction_s: float = num("inattentive: from noticing to braking (s)", 0, 10)
    brake_decel_mps2: float = num("the operator's braking (m/s^2)", 0, 12)


@dataclass(frozen=True)
class AebSpec:
    """The Volvo's own automatic emergency braking (City Safety): its own view of the path."""

    enabled: bool = flag("on while the ADS drives")
    trigger_ttc_s: float = num("brakes when time to collision falls to this (s)", 0, 10)
    latency_s: float = num("from trigger to braking (s)", 0, 5)
    decel_mps2: float = num("braking (m/s^2)", 0.5, 12)


@dataclass(frozen=True)
class Distribution:
    """A Monte Carlo draw: uniform(lo, hi); normal(mean, std) or lognormal(median, log-std)
    clipped to [min, max]; or choice among values (numbers, or class names for a record item).
    """

    kind: str  # "uniform", "normal", "lognormal", "choice"
    params: tuple[Any, ...]
    lo: float = -math.inf
    hi: float = math.inf

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n values, each from one call of `rng` in a fixed order (so a draw is reproducible)."""
        a, b = (*self.params, 0.0, 0.0)[:2]
        if self.kind == "uniform":
            x = rng.uniform(a, b, n)
        elif self.kind == "normal":
            x = rng.normal(a, b, n)
        elif self.kind == "lognormal":
            x = a * np.exp(b * rng.standard_normal(n))
        else:
            x = np.asarray(self.params)[rng.integers(0, len(self.params), n)]
            if x.dtype.kind in "US":  # class names
                return x
        return np.clip(x, self.lo, self.hi)

    @property
    def support(self) -> tuple[Any, ...]:
        """The extreme values a draw can take (every value, for a choice)."""
        if self.kind == "choice":
            return self.params
        if self.kind == "uniform":
            return (
                min(max(self.params[0], self.lo), self.hi),
                min(max(self.params[1], self.lo), self.hi),
            )
        if self.params[1] == 0:
            return (min(max(self.params[0], self.lo), self.hi),)
        return (self.lo, self.hi)

    def contains(self, value: Any) -> bool:
        if self.kind == "choice":
            return value in self.params
        lo, hi = min(self.support), max(self.support)
        return lo - 1e-12 <= value <= hi + 1e-12

    def describe(self) -> str:
        """In words, e.g. 'uniform 3 to 3.7' or 'lognormal, median 1.45, log-sd 0.24, 0.7 to 3'."""
        p = self.params
        if self.kind == "choice":
            return "one of " + ", ".join(_g(v) for v in p)
        if self.kind == "uniform":
            return f"uniform {_g(p[0])} to {_g(p[1])}"
        what = "mean" if self.kind == "normal" else "median"
        spread = "sd" if self.kind == "normal" else "log-sd"
        return (
            f"{self.kind}, {what} {_g(p[0])}, {spread} {_g(p[1])}, {_g(self.lo)} to {_g(self.hi)}"
        )

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "params": list(self.params),
            "min": _finite(self.lo),
            "max": _finite(self.hi),
        }


def _g(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class Uncertainty:
    """What is known about one input: a distribution over plausible values and why, or `None`
    with the reason it is held at its value (for an input that sets the clock, say)."""

    key: str
    distribution: Distribution | None
    why: str
    origin: str = ""  # file:line

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "distribution": self.distribution.to_dict() if self.distribution else None,
            "in_words": self.distribution.describe() if self.distribution else "held at its value",
            "why": self.why,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class SweepSpec:
    """Grid axes (any parameter, each a list of values) x Monte Carlo runs per cell."""

    runs: int
    seed: int
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    sample: tuple[tuple[str, Distribution], ...]

    @property
    def cells(self) -> int:
        return math.prod(len(v) for _, v in self.grid) if self.grid else 1

    def to_dict(self) -> dict:
        return {
            "runs": self.runs,
            "seed": self.seed,
            "grid": {k: list(v) for k, v in self.grid},
            "sample": {k: d.to_dict() for k, d in self.sample},
        }


def spread(doc: str, lo: float, hi: float) -> Any:
    """A distribution (or a plain number for a constant) whose every value is in [lo, hi]."""
    return _meta("distribution", doc, lo=lo, hi=hi)


@dataclass(frozen=True)
class FalsePositiveSpec:
    """A kind of object that perception reports though it is no hazard (the design's false
    alarms): how often one is met, and how it looks to perception."""

    name: str = _meta("text", "what it is, e.g. 'plastic bag'")
    per_1000_km: float = num("how many are met per 1,000 km driven", 0, 1e6)
    certainty: str = choice("Q, P, D, S or U (of the rate)", *CERTAINTIES)
    source: str = _meta("text", "where the rate comes from, or why it was assumed")
    confusion: tuple[tuple[str, float], ...] = _meta(
        "confusion", "probability of each class perception gives it"
    )
    flicker_hz: float = num("class redraws per second (the Markov flicker model)", 0, 100)
    # The spreads below are field metadata (a schema), not shared mutable defaults.
    lateral_m: Distribution = spread(  # noqa: RUF009
        "y of its centre when first seen (m; 0 = the right edge of the SUV's lane)", -20, 30
    )
    lateral_speed_mps: Distribution = spread(  # noqa: RUF009
        "its drift across the road (m/s; + to the left)", -20, 20
    )
    length_m: Distribution = spread("its extent across the road (m)", 0.05, 10)  # noqa: RUF009
    width_m: Distribution = spread("its extent along the road (m)", 0.05, 30)  # noqa: RUF009
    range_m: Distribution = spread("how far ahead when first seen (m)", 5, 300)  # noqa: RUF009
    seen_s: Distribution = spread("how long perception reports it (s)", 0.05, 30)  # noqa: RUF009


@dataclass(frozen=True)
class TradeoffSpec:
    """The cost side: designs varied one setting at a time (and named combinations), each run
    over her crossing's plausible worlds and over encounters with false-positive objects."""

    runs: int
    seed: int
    hard_brake_mps2: float  # the ADS asks for at least this: a hard-braking event
    speed_mph: float  # cruising speed in the encounters
    position_noise_m: float  # detection noise in the encounters
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    designs: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]
    objects: tuple[FalsePositiveSpec, ...]

    def to_dict(self) -> dict:
        return {
            "runs": self.runs,
            "seed": self.seed,
            "hard_brake_mps2": self.hard_brake_mps2,
            "speed_mph": self.speed_mph,
            "position_noise_m": self.position_noise_m,
            "axes": {k: list(v) for k, v in self.axes},
            "designs": {name: dict(v) for name, v in self.designs},
            "objects": [
                {
                    f.name: v.to_dict() if isinstance(v, Distribution) else jsonable(v)
                    for f in dataclasses.fields(o)
                    for v in [getattr(o, f.name)]
                }
                for o in self.objects
            ],
        }


@dataclass(frozen=True)
class Provenance:
    """Where a value comes from: Q/P/D/U from the record or an assumption; 'what-if' for a
    counterfactual change; 'setting' for a modelling choice that claims no fact."""

    certainty: str
    source: str
    origin: str  # "file:line"

    def to_dict(self) -> dict:
        return {"certainty": self.certainty, "source": self.source, "origin": self.origin}


SECTIONS: dict[str, type] = {
    "world": WorldSpec,
    "suv": SuvSpec,
    "pedestrian": PedestrianSpec,
    "perception": PerceptionSpec,
    "tracking": TrackingSpec,
    "planner": PlannerSpec,
    "operator": OperatorSpec,
    "aeb": AebSpec,
}
TOP_KEYS = (
    "name",
    "title",
    "description",
    "extends",
    "sweep",
    "uncertainty",
    "tradeoff",
    *SECTIONS,
)


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    title: str
    description: str
    world: WorldSpec
    suv: SuvSpec
    pedestrian: PedestrianSpec
    perception: PerceptionSpec
    tracking: TrackingSpec
    planner: PlannerSpec
    operator: OperatorSpec
    aeb: AebSpec
    path: str = ""
    extends: tuple[str, ...] = ()  # the chain of base files, nearest first
    changes: tuple[tuple[str, Any, Any], ...] = ()  # (key, base value, this value)
    provenance: Mapping[str, Provenance] = field(default_factory=dict)
    sweep: SweepSpec | None = None
    uncertainty: tuple[Uncertainty, ...] = ()  # what is known about each U input
    tradeoff: TradeoffSpec | None = None

    def value(self, key: str) -> Any:
        """The value at a dotted key: 'planner.suppression_s', or an item's field such as
        'perception.events.4.t_s'."""
        obj: Any = self
        for part in _key_path(key):
            obj = obj[part] if isinstance(obj, tuple) else getattr(obj, part)
        return obj

    def with_values(self, values: Mapping[str, Any], *, why: str = "swept") -> ScenarioSpec:
        """A copy with dotted keys replaced, validated as if written in the file."""
        spec = self
        prov = dict(self.provenance)
        ctx = _Ctx(self.path or "<values>")
        for key, v in values.items():
            kp = _key_path(key)
            f = _known_key(key, kp, ctx, spec)
            spec = _replace(spec, list(kp), _parse_field(f, v, kp, ctx))
            prov[key] = Provenance(why, f"{why} value", "")
        spec = _resolve_model(spec, Path(self.path).parent if self.path else None)
        _check_spec(spec, ctx)
        return dataclasses.replace(spec, provenance=prov)

    def with_arrays(self, values: Mapping[str, Any]) -> ScenarioSpec:
        """A copy in which each key holds an (n,) array: one value per run of a batch.

        For the simulator only: not validated here (a distribution's every value was checked
        when its file was loaded), and numbers that set the clock cannot vary per run.
        """
        tree: dict = {}  # key paths merged, so each dataclass is copied once
        ctx = _Ctx(self.path or "<values>")
        for key, v in values.items():
            kp = _key_path(key)
            _known_key(key, kp, ctx, self)
            node = tree
            for part in kp[:-1]:
                node = node.setdefault(part, {})
            node[kp[-1]] = v
        return _replace_tree(self, tree)

    def distributions(self) -> dict[str, Distribution]:
        """The inputs that vary across plausible worlds, with their distributions."""
        return {u.key: u.distribution for u in self.uncertainty if u.distribution is not None}

    @property
    def certainty(self) -> dict[str, str]:
        return {k: p.certainty for k, p in sorted(self.provenance.items())}

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "path": self.path,
            "extends": list(self.extends),
            "changes": [
                {"key": k, "base": jsonable(a), "value": jsonable(b)} for k, a, b in self.changes
            ],
            "provenance": {k: p.to_dict() for k, p in sorted(self.provenance.items())},
            "sweep": self.sweep.to_dict() if self.sweep else None,
            "uncertainty": [u.to_dict() for u in self.uncertainty],
        }
        for s in SECTIONS:
            out[s] = jsonable(getattr(self, s))
        return out


def jsonable(obj: Any) -> Any:
    """Spec values (dataclasses, tuples of pairs) as JSON-ready lists and dicts."""
    if dataclasses.is_dataclass(obj):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        if obj and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in obj):
            return {k: jsonable(v) for k, v in obj}
        return [jsonable(x) for x in obj]
    return obj


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# The scalar keys, walked once from the schema: "planner.suppression_s",
# "perception.flicker.rate_hz", ...


def _walk(cls: type, prefix: str) -> list[tuple[str, dataclasses.Field]]:
    out = []
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}"
        if f.metadata["kind"] == "table":
            out += _walk(f.metadata["cls"], key)
        else:
            out.append((key, f))
    return out


FIELDS: dict[str, dataclasses.Field] = {
    k: f for s, cls in SECTIONS.items() for k, f in _walk(cls, s)
}
# text: the classifier's model name, a key like the others
SCALARS = {k: f for k, f in FIELDS.items() if f.metadata["kind"] in (*SCALAR_KINDS, "text")}
# Keys whose value is a table but which a file replaces whole (a confusion row)
_TABLE_VALUES = {
    tuple(k.split(".")) for k, f in FIELDS.items() if f.metadata["kind"] == "confusion"
}


def _replace(obj: Any, parts: list, value: Any) -> Any:
    head = parts[0]
    if isinstance(obj, tuple):  # an item of a list of records
        new = value if len(parts) == 1 else _replace(obj[head], parts[1:], value)
        return (*obj[:head], new, *obj[head + 1 :])
    if len(parts) == 1:
        return dataclasses.replace(obj, **{head: value})
    return dataclasses.replace(obj, **{head: _replace(getattr(obj, head), parts[1:], value)})


def _replace_tree(obj: Any, tree: dict) -> Any:
    """obj with every path of a nested dict of replacements applied (leaves: new values)."""

    def sub(child: Any, node: Any) -> Any:
        return _replace_tree(child, node) if isinstance(node, dict) else node

    if isinstance(obj, tuple):
        return tuple(sub(item, tree[i]) if i in tree else item for i, item in enumerate(obj))
    return dataclasses.replace(obj, **{k: sub(getattr(obj, k), node) for k, node in tree.items()})


def _key_path(key: str) -> tuple:
    """'perception.events.4.class' -> ('perception', 'events', 4, 'cls'): attribute names."""
    attr = {v: k for k, v in _ALIASES.items()}
    return tuple(int(p) if p.isdigit() else attr.get(p, p) for p in key.split("."))


def _item_field(kp: tuple, spec: ScenarioSpec | None) -> dataclasses.Field | None:
    """The field of a record item's key (section.list.INDEX.field), if the key is one."""
    if len(kp) != 4 or not isinstance(kp[2], int):
        return None
    lst = FIELDS.get(f"{kp[0]}.{kp[1]}")
    if lst is None or lst.metadata["kind"] != "records":
        return None
    f = {f.name: f for f in dataclasses.fields(lst.metadata["cls"])}.get(kp[3])
    if f is None or f.metadata["kind"] not in ("float", "str"):
        return None
    if spec is not None and kp[2] >= len(spec.value(f"{kp[0]}.{kp[1]}")):
        return None
    return f


def _known_key(
    key: str, kp: tuple, ctx: _Ctx, spec: ScenarioSpec | None = None
) -> dataclasses.Field:
    if key in SCALARS:
        return SCALARS[key]
    f = _item_field(_key_path(key), spec)
    if f is not None:
        return f
    section = key.split(".")[0]
    near = [k for k in SCALARS if k.startswith(section + ".")] or list(SCALARS)[:6]
    raise ctx.error(
        kp,
        f'not a parameter; write "section.key", e.g. {near[0]!r} (or an item\'s field, '
        "e.g. 'perception.events.4.t_s')",
    )


# ---------------------------------------------------------------------------------------------
# Layers (a file and the files it extends) and where each key came from


@dataclass
class _Layer:
    path: str
    data: dict
    lines: dict[tuple, int]

    def line(self, key: tuple) -> int | None:
        return tomlfile.Where(self.path, self.lines).line(key)


class _Ctx(tomlfile.Where):
    """Error context: which layer set each key path, to name file and line in a message."""

    def __init__(self, path: str, origins: dict[tuple, _Layer] | None = None) -> None:
        super().__init__(path, error=ScenarioError)
        self.origins = origins or {}

    def where(self, key: tuple) -> str:
        for n in range(len(key), 0, -1):
            layer = self.origins.get(key[:n])
            if layer is not None:
                line = layer.line(key)
                return f"{layer.path}:{line}" if line else layer.path
        return self.path


def packaged_names() -> list[str]:
    """Names of the scenario files shipped with the package, sorted."""
    root = resources.files("scenarios")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def resolve(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A file path, or a bare name such as 'tempe-2018' for a packaged scenario."""
    p = Path(name_or_path)
    candidates = []
    if relative_to is not None and not p.is_absolute():
        candidates.append(relative_to / p)
        if p.suffix != ".toml":
            candidates.append(relative_to / f"{name_or_path}.toml")
    candidates.append(p)
    if p.suffix != ".toml" and "/" not in name_or_path and "\\" not in name_or_path:
        candidates.append(Path(str(resources.files("scenarios").joinpath(f"{name_or_path}.toml"))))
    for c in candidates:
        try:
            if c.is_file():
                return c
        except OSError:  # a name too long or otherwise unusable as a path
            continue
    known = ", ".join(packaged_names())
    raise ScenarioError(
        f"{name_or_path}: no such scenario file; give a path to a .toml file or one of: {known}"
    )


def _parse_text(text: str, path: str) -> _Layer:
    return _Layer(path, *tomlfile.parse(text, path, ScenarioError))


def _read_layer(path: Path) -> _Layer:
    return _Layer(str(path), *tomlfile.read(path, ScenarioError))


def _layers(first: _Layer, folder: Path) -> list[_Layer]:
    """The file and the files it extends, base first."""
    chain = [first]
    seen = [Path(first.path).resolve()]
    while True:
        layer = chain[-1]
        base = layer.data.get("extends")
        if base is None:
            break
        where = f"{layer.path}:{layer.line(('extends',))}"
        if not isinstance(base, str) or not base.strip():
            raise ScenarioError(
                f"{where}: extends: expected a scenario name or path, got {_type_name(base)}"
            )
        if len(chain) > MAX_EXTENDS:
            raise ScenarioError(f"{where}: extends: more than {MAX_EXTENDS} levels deep")
        try:
            path = resolve(base, folder)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: extends: {exc}") from None
        if path.resolve() in seen:
            raise ScenarioError(f"{where}: extends: {base!r} makes a cycle; break it")
        seen.append(path.resolve())
        chain.append(_read_layer(path))
        folder = path.parent
    return chain[::-1]


def _is_leaf(v: Any) -> bool:
    return not isinstance(v, dict) or "value" in v


def _merge(layers: list[_Layer]) -> tuple[dict, dict[tuple, _Layer]]:
    """Deep-merge the parameter tables, base first; remember which layer set each key.

    Names, titles, descriptions and sweeps belong to their own file and are not inherited.
    """
    merged: dict = {}
    origins: dict[tuple, _Layer] = {}

    def mark(v: Any, path: tuple, layer: _Layer) -> None:
        origins[path] = layer
        if isinstance(v, dict):
            for k, sub in v.items():
                mark(sub, (*path, k), layer)

    def go(dst: dict, src: dict, key: tuple, layer: _Layer) -> None:
        for k, v in src.items():
            path = (*key, k)
            # an [uncertainty] entry is replaced whole, never merged with the base file's
            leaf = _is_leaf(v) or path in _TABLE_VALUES or path[:1] == ("uncertainty",)
            if leaf or not isinstance(dst.get(k), dict) or _is_leaf(dst[k]):
                dst[k] = copy.deepcopy(v)  # later layers merge into it; keep the layer intact
                mark(v, path, layer)
            else:
                origins.setdefault(path, layer)
                go(dst[k], v, path, layer)

    own = ("name", "title", "description", "sweep", "tradeoff", "extends")
    for layer in layers:
        go(merged, {k: v for k, v in layer.data.items() if k not in own}, (), layer)
    last = layers[-1]
    for k in own:
        if k in last.data:
            merged[k] = last.data[k]
            mark(last.data[k], (k,), last)
    return merged, origins


# ---------------------------------------------------------------------------------------------
# Parsing values


def _unwrap(v: Any, key: tuple, ctx: _Ctx, annotations: dict | None) -> Any:
    """An annotated value {value, certainty, source} or {value, fact} -> the value."""
    if not isinstance(v, dict) or "value" not in v:
        return v
    extra = sorted(set(v) - {"value", "certainty", "source", "fact"})
    if extra:
        raise ctx.error(
            (*key, extra[0]),
            "unknown key in an annotated value; use value, certainty, source or fact",
        )
    if "fact" in v:
        fid = v["fact"]
        if not isinstance(fid, str) or fid not in tempe2018.FACTS:
            raise ctx.error(
                (*key, "fact"),
                f"no fact {fid!r} in the record; known: {', '.join(sorted(tempe2018.FACTS))}",
            )
        if "certainty" in v:
            raise ctx.error((*key, "certainty"), "give either fact or certainty, not both")
        f = tempe2018.FACTS[fid]
        ann = (f.certainty, f"{f.source} ({f.id})")
    else:
        c = v.get("certainty")
        if c not in CERTAINTIES:
            raise ctx.error(
                (*key, "certainty"),
                f"expected one of {', '.join(CERTAINTIES)} (or a fact id), got {c!r}",
            )
        s = v.get("source", "")
        if not isinstance(s, str):
            raise ctx.error((*key, "source"), f"expected a string, got {_type_name(s)}")
        ann = (c, s)
    if annotations is not None:
        annotations[".".join(map(str, key))] = ann
    return v["value"]


def _parse_field(
    f: dataclasses.Field, v: Any, key: tuple, ctx: _Ctx, annotations: dict | None = None
) -> Any:
    kind = f.metadata["kind"]
    if kind in SCALAR_KINDS or kind == "text":
        return tomlfile.parse_value(f, _unwrap(v, key, ctx, annotations), key, ctx)
    if kind == "table":
        return _parse_table(f.metadata["cls"], v, key, ctx, annotations)
    if kind == "records":
        if not isinstance(v, list):
            raise ctx.error(
                key, f"expected a list of tables ({f.metadata['doc']}), got {_type_name(v)}"
            )
        if len(v) > tomlfile.MAX_ITEMS:
            raise ctx.error(key, f"more than {tomlfile.MAX_ITEMS} items")
        return tuple(
            _parse_record(f.metadata["cls"], item, (*key, i), ctx) for i, item in enumerate(v)
        )
    if kind == "confusion":
        return _parse_confusion(v, key, ctx)
    if kind == "distribution":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = {"choice": [v]}  # a plain number: the same in every run
        dist = _distribution(v, key, ctx)
        meta = f.metadata
        if any(not meta["lo"] <= x <= meta["hi"] for x in dist.support):
            raise ctx.error(key, f"can draw outside {meta['lo']:g}..{meta['hi']:g} ({meta['doc']})")
        return dist
    raise AssertionError(kind)  # pragma: no cover - the schema has no other kinds


_ALIASES = {"cls": "class"}  # field name -> key in the file, where the key is a Python keyword


def _parse_table(cls: type, v: Any, key: tuple, ctx: _Ctx, annotations: dict | None) -> Any:
    return tomlfile.parse_table(
        cls,
        v,
        key,
        ctx,
        parse=lambda f, value, k, c: _parse_field(f, value, k, c, annotations),
        aliases=_ALIASES,
        missing_hint=", or extend a scenario that has it",
    )


def _parse_record(cls: type, v: Any, key: tuple, ctx: _Ctx) -> Any:
    """An item of a list such as perception.events; `fact = "id"` gives certainty and source."""
    if not isinstance(v, dict):
        raise ctx.error(key, f"expected a table, got {_type_name(v)}")
    v = dict(v)
    if "fact" in v:
        fid = v.pop("fact")
        if not isinstance(fid, str) or fid not in tempe2018.FACTS:
            raise ctx.error((*key, "fact"), f"no fact {fid!r} in the record")
        f = tempe2018.FACTS[fid]
        v.setdefault("certainty", f.certainty)
        v.setdefault("source", f"{f.source} ({fid})")
    v.setdefault("source", "")
    return _parse_table(cls, v, key, ctx, None)


def _parse_confusion(v: Any, key: tuple, ctx: _Ctx) -> tuple[tuple[str, float], ...]:
    if not isinstance(v, dict) or not v or "value" in v:
        raise ctx.error(
            key,
            "expected a table of class = probability, e.g. "
            "{ vehicle = 0.4, other = 0.3, bicycle = 0.3 }",
        )
    out = []
    for cls, p in v.items():
        if cls not in CLASSES:
            raise ctx.error((*key, cls), f"unknown class; use {', '.join(CLASSES)}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ctx.error((*key, cls), f"expected a probability in [0, 1], got {p!r}")
        out.append((cls, float(p)))
    total = sum(p for _, p in out)
    if abs(total - 1.0) > 1e-6:
        raise ctx.error(key, f"probabilities add up to {total:g}, not 1")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Cross-field checks: what a single key cannot know


def _on_grid(t: float, start: float, step: float) -> bool:
    n = (t - start) / step
    return abs(n - round(n)) < 1e-6


def _resolve_model(spec: ScenarioSpec, folder: Path | None) -> ScenarioSpec:
    """The classifier's checkpoint folder as an absolute path (relative to the file that names
    it); a model kind stays as it is."""
    model = spec.perception.classifier.model
    if model in CLASSIFIER_KINDS or not model:
        return spec
    p = Path(model).expanduser()
    if not p.is_absolute() and folder is not None:
        p = folder / p
    return _replace(spec, ["perception", "classifier", "model"], str(p.resolve()))


def _check_classifier(spec: ScenarioSpec, ctx: _Ctx) -> None:
    c = spec.perception.classifier
    key = "perception.classifier"
    if c.model not in CLASSIFIER_KINDS:
        p = Path(c.model)
        if not (p / "spec.json").is_file() or not (p / "model.safetensors").is_file():
            raise ctx.error(
                f"{key}.model",
                f"{c.model or '(empty)'} is neither {' nor '.join(map(repr, CLASSIFIER_KINDS))} "
                "nor a `fragility train` checkpoint folder (spec.json, model.safetensors)",
            )
    if c.channels == 2:
        raise ctx.error(f"{key}.channels", "expected 1 (grey) or 3 (colour), got 2")
    if (c.train_crops + c.train_crops // 4) % len(NETWORK_CLASSES):
        raise ctx.error(
            f"{key}.train_crops",
            f"{c.train_crops} and its {c.train_crops // 4} test crops must make a multiple of "
            f"{len(NETWORK_CLASSES)} (one share per class); use a multiple of 16",
        )


def _check_spec(spec: ScenarioSpec, ctx: _Ctx) -> None:
    w, suv, ped, per, pl = spec.world, spec.suv, spec.pedestrian, spec.perception, spec.planner
    _check_classifier(spec, ctx)
    if w.end_s <= w.start_s:
        raise ctx.error("world.end_s", f"{w.end_s:g} s is not after start_s = {w.start_s:g} s")
    if (w.end_s - w.start_s) / w.step_s > MAX_STEPS:
        raise ctx.error(
            "world.step_s",
            f"{(w.end_s - w.start_s) / w.step_s:.0f} steps; at most "
            f"{MAX_STEPS}: use a larger step or a shorter run",
        )
    if suv.width_m > w.lane_width_m:
        raise ctx.error(
            "suv.width_m",
            f"the SUV ({suv.width_m:g} m) does not fit its lane ({w.lane_width_m:g} m)",
        )
    right = -w.bike_lane_width_m
    left = (w.through_lanes + w.left_turn_lanes) * w.lane_width_m
    if not right <= ped.lateral_at_impact_m <= left:
        raise ctx.error(
            "pedestrian.lateral_at_impact_m",
            f"{ped.lateral_at_impact_m:g} m is off "
            f"the road, which spans y = {right:g} to {left:g} m",
        )
    if suv.cruise == "profile":
        if not suv.profile:
            raise ctx.error("suv.profile", "cruise = 'profile' needs at least one knot")
        ts = [k.t_s for k in suv.profile]
        if any(b <= a for a, b in itertools.pairwise(ts)):
            raise ctx.error("suv.profile", "knot times must increase")
        if suv.profile[0].speed_mph <= 0:
            raise ctx.error(
                "suv.profile",
                "the first knot's speed must be > 0 (it scales the profile to initial_speed_mph)",
            )
    if not _on_grid(per.period_s, 0.0, w.step_s):
        raise ctx.error(
            "perception.period_s",
            f"{per.period_s:g} s is not a multiple of world.step_s = {w.step_s:g} s",
        )
    if per.mode == "replay":
        if not per.events:
            raise ctx.error("perception.events", "mode = 'replay' needs at least one event")
        ts = [e.t_s for e in per.events]
        if any(b <= a for a, b in itertools.pairwise(ts)):
            raise ctx.error("perception.events", "event times must increase")
        first, name = ts[0], "perception.events"
    else:
        first, name = per.flicker.first_detection_s, "perception.flicker.first_detection_s"
    if not w.start_s <= first < w.end_s:
        raise ctx.error(
            name,
            f"the first detection ({first:g} s) is outside the run "
            f"({w.start_s:g} to {w.end_s:g} s)",
        )
    if not _on_grid(first, w.start_s, w.step_s):
        raise ctx.error(
            name,
            f"the first detection ({first:g} s) is not on the step grid from "
            f"{w.start_s:g} s every {w.step_s:g} s",
        )
    for key in (
        "planner.emergency_decel_mps2",
        "operator.brake_decel_mps2",
        "aeb.decel_mps2",
        "planner.emergency_threshold_mps2",
        "planner.slowdown_decel_mps2",
    ):
        d = spec.value(key)
        if d > suv.max_decel_mps2:
            raise ctx.error(
                key,
                f"{d:g} m/s^2 is more than the tyres give "
                f"(suv.max_decel_mps2 = {suv.max_decel_mps2:g})",
            )
    if pl.comfort_decel_mps2 > pl.emergency_threshold_mps2:
        raise ctx.error(
            "planner.comfort_decel_mps2",
            "comfort braking above the emergency threshold makes every stop an emergency; lower it",
        )


# ---------------------------------------------------------------------------------------------
# Sweeps


def _parse_sweep(v: Any, spec: ScenarioSpec, ctx: _Ctx) -> SweepSpec:
    if not isinstance(v, dict) or "value" in v:
        raise ctx.error(("sweep",), f"expected a table, got {_type_name(v)}")
    for k in v:
        if k not in ("runs", "seed", "grid", "sample"):
            raise ctx.error(("sweep", k), "unknown key; [sweep] takes runs, seed, grid, sample")
    runs = v.get("runs", 1)
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= 10_000_000:
        raise ctx.error(
            ("sweep", "runs"), f"expected a whole number of runs in 1..10000000, got {runs!r}"
        )
    seed = v.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ctx.error(
            ("sweep", "seed"),
            f"expected a whole number from 0 to 4294967295 (2^32 - 1), got {seed!r}",
        )
    grid_raw = v.get("grid", {})
    if not isinstance(grid_raw, dict):
        raise ctx.error(("sweep", "grid"), 'expected a table of "section.key" = [values]')
    if len(grid_raw) > 2:
        raise ctx.error(("sweep", "grid"), "at most two grid axes (a heatmap); sample the rest")
    grid = []
    for key, values in grid_raw.items():
        kp = ("sweep", "grid", key)
        _known_key(key, kp, ctx, spec)
        if not isinstance(values, list) or not 1 <= len(values) <= 1000:
            raise ctx.error(kp, "expected a list of 1 to 1000 values")
        for i, val in enumerate(values):
            try:
                spec.with_values({key: val})
            except ScenarioError as exc:
                raise ctx.error((*kp, i), _detail(exc)) from None
        grid.append((key, tuple(values)))
    cells = math.prod(len(vals) for _, vals in grid) if grid else 1
    if cells * runs > 100_000_000:
        raise ctx.error(("sweep", "runs"), f"{cells} cells x {runs} runs is more than 1e8 runs")
    sample_raw = v.get("sample", {})
    if not isinstance(sample_raw, dict):
        raise ctx.error(
            ("sweep", "sample"), 'expected a table of "section.key" = { uniform = [lo, hi] }'
        )
    sample = []
    for key, d in sample_raw.items():
        kp = ("sweep", "sample", key)
        _check_sampleable(key, kp, ctx, spec)
        if key in grid_raw:
            raise ctx.error(kp, "is also a grid axis; choose one")
        sample.append((key, _parse_distribution(d, key, kp, spec, ctx)))
    return SweepSpec(runs=runs, seed=seed, grid=tuple(grid), sample=tuple(sample))


def _whole(v: Any, kp: tuple, ctx: _Ctx, lo: int, hi: int, default: int) -> int:
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ctx.error(kp, f"expected a whole number in {lo}..{hi}, got {v!r}")
    return v


def _number(v: Any, kp: tuple, ctx: _Ctx, lo: float, hi: float, default: float) -> float:
    if v is None:
        return default
    meta = {"doc": kp[-1], "lo": lo, "hi": hi, "lo_open": False}
    return tomlfile.parse_float(v, meta, kp, ctx)


def _parse_tradeoff(v: Any, spec: ScenarioSpec, ctx: _Ctx) -> TradeoffSpec:
    """[tradeoff]: runs, seed, hard_brake_mps2, speed_mph, position_noise_m; [tradeoff.axes]
    "section.key" = [values] (each varied alone from this scenario's design);
    [tradeoff.designs] name = { "section.key" = value, ... }; [[tradeoff.objects]]."""
    known = ("runs", "seed", "hard_brake_mps2", "speed_mph", "position_noise_m")
    known += ("axes", "designs", "objects")
    if not isinstance(v, dict) or "value" in v:
        raise ctx.error(("tradeoff",), f"expected a table, got {_type_name(v)}")
    for k in v:
        if k not in known:
            raise ctx.error(("tradeoff", k), f"unknown key; [tradeoff] takes {', '.join(known)}")
    axes = []
    for key, values in _table(v.get("axes", {}), ("tradeoff", "axes"), ctx).items():
        kp = ("tradeoff", "axes", key)
        _known_key(key, kp, ctx, spec)
        if not isinstance(values, list) or not 1 <= len(values) <= 100:
            raise ctx.error(kp, "expected a list of 1 to 100 values")
        for i, val in enumerate(values):
            try:
                spec.with_values({key: val})
            except ScenarioError as exc:
                raise ctx.error((*kp, i), _detail(exc)) from None
        axes.append((key, tuple(values)))
    designs = []
    for name, values in _table(v.get("designs", {}), ("tradeoff", "designs"), ctx).items():
        kp = ("tradeoff", "designs", name)
        values = _table(values, kp, ctx)
        for key in values:
            _known_key(key, (*kp, key), ctx, spec)
        try:
            spec.with_values(values)
        except ScenarioError as exc:
            raise ctx.error(kp, _detail(exc)) from None
        designs.append((name, tuple(values.items())))
    objects = v.get("objects", [])
    if not isinstance(objects, list) or not objects or len(objects) > 100:
        raise ctx.error(("tradeoff", "objects"), "expected [[tradeoff.objects]] tables (1 to 100)")
    kinds = tuple(
        _parse_record(FalsePositiveSpec, o, ("tradeoff", "objects", i), ctx)
        for i, o in enumerate(objects)
    )
    return TradeoffSpec(
        runs=_whole(v.get("runs"), ("tradeoff", "runs"), ctx, 1, 1_000_000, 2000),
        seed=_whole(v.get("seed"), ("tradeoff", "seed"), ctx, 0, 2**32 - 1, 0),
        hard_brake_mps2=_number(
            v.get("hard_brake_mps2"), ("tradeoff", "hard_brake_mps2"), ctx, 0.1, 12, 4.0
        ),
        speed_mph=_number(v.get("speed_mph"), ("tradeoff", "speed_mph"), ctx, 1, 100, 43.0),
        position_noise_m=_number(
            v.get("position_noise_m"), ("tradeoff", "position_noise_m"), ctx, 0, 5, 0.1
        ),
        axes=tuple(axes),
        designs=tuple(designs),
        objects=kinds,
    )


def _table(v: Any, kp: tuple, ctx: _Ctx) -> dict:
    if not isinstance(v, dict) or "value" in v:
        raise ctx.error(kp, f"expected a table, got {_type_name(v)}")
    return v


def _detail(exc: ScenarioError) -> str:
    """The message of an error without its 'file:line: key: ' prefix."""
    return str(exc).split(": ", 2)[-1]


def _check_sampleable(
    key: str, kp: tuple, ctx: _Ctx, spec: ScenarioSpec, hint: str = "put this one in sweep.grid"
) -> dataclasses.Field:
    f = _known_key(key, kp, ctx, spec)
    item = _item_field(_key_path(key), spec) is not None
    if not (f.metadata["kind"] == "float" and f.metadata["sample"]) and not (
        item and f.metadata["kind"] == "str"
    ):
        raise ctx.error(
            kp,
            f"only numbers that do not set the clock (or an item's class) can be sampled; {hint}",
        )
    return f


DISTRIBUTION_KINDS = ("uniform", "normal", "lognormal", "choice")


def _parse_distribution(
    d: Any, key: str, kp: tuple, spec: ScenarioSpec, ctx: _Ctx, extra: tuple = ()
) -> Distribution:
    """A distribution for a key of the spec: every value it can draw must be valid for the key
    (checked against the spec with the others at their values)."""
    dist = _distribution(d, kp, ctx, extra)
    for x in dist.support:
        try:
            spec.with_values({key: x})
        except ScenarioError as exc:
            shown = f"{x:g}" if isinstance(x, float) else repr(x)
            raise ctx.error(kp, f"can draw {shown}: {_detail(exc)}") from None
    return dist


def _distribution(d: Any, kp: tuple, ctx: _Ctx, extra: tuple = ()) -> Distribution:
    """{ uniform = [lo, hi] }, { normal = [mean, sd], min, max }, { lognormal = [median,
    log-sd], min, max } or { choice = [values] }."""
    if not isinstance(d, dict) or "value" in d:
        raise ctx.error(
            kp,
            "expected { uniform = [lo, hi] }, { normal = [mean, sd] }, "
            "{ lognormal = [median, log-sd] } or { choice = [values] }",
        )
    kinds = [k for k in DISTRIBUTION_KINDS if k in d]
    unknown = set(d) - {*DISTRIBUTION_KINDS, "min", "max", *extra}
    if len(kinds) != 1 or unknown:
        raise ctx.error(
            kp, "give exactly one of uniform, normal, lognormal, choice (and optional min, max)"
        )
    kind = kinds[0]
    raw = d[kind]
    words = (
        kind == "choice" and isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw)
    )
    numbers = isinstance(raw, list) and all(
        isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(float(p))
        for p in raw
    )
    if not (numbers or words):
        raise ctx.error((*kp, kind), "expected a list of finite numbers")
    params = tuple(raw) if words else tuple(float(p) for p in raw)
    if kind != "choice" and len(params) != 2:
        raise ctx.error((*kp, kind), "expected two numbers")
    if kind == "choice" and not 1 <= len(params) <= 1000:
        raise ctx.error((*kp, kind), "expected 1 to 1000 values")
    if kind == "uniform" and params[1] < params[0]:
        raise ctx.error((*kp, kind), "expected [lo, hi] with lo <= hi")
    if kind in ("normal", "lognormal") and params[1] < 0:
        raise ctx.error((*kp, kind), "the spread must be >= 0")
    if kind == "lognormal" and params[0] <= 0:
        raise ctx.error((*kp, kind), "the median must be > 0")
    bounds = {}
    for b in ("min", "max"):
        if b in d:
            x = d[b]
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ctx.error((*kp, b), "expected a finite number")
            bounds[b] = float(x)
    lo, hi = bounds.get("min", -math.inf), bounds.get("max", math.inf)
    if lo > hi:
        raise ctx.error(kp, "min is above max")
    unbounded = not (math.isfinite(lo) and math.isfinite(hi))
    if kind in ("normal", "lognormal") and params[1] > 0 and unbounded:
        raise ctx.error(kp, f"a {kind} draw is unbounded; add min and max")
    return Distribution(kind=kind, params=params, lo=lo, hi=hi)


def _parse_uncertainty(v: Any, spec: ScenarioSpec, ctx: _Ctx) -> tuple[Uncertainty, ...]:
    """[uncertainty]: "section.key" = { <distribution>, why = "..." } or { held = true, why }.

    The scenario's own value must be one the distribution can give (the single run is one of
    the plausible worlds). A key that a later file sets to a what-if value without giving it a
    new distribution is held at that value: see `_held_by_what_if`.
    """
    if not isinstance(v, dict) or "value" in v:
        raise ctx.error(("uncertainty",), f"expected a table, got {_type_name(v)}")
    out = []
    for key, d in v.items():
        kp = ("uncertainty", key)
        _known_key(key, kp, ctx, spec)
        if not isinstance(d, dict) or not isinstance(d.get("why"), str) or not d["why"].strip():
            raise ctx.error(kp, 'expected { uniform = [lo, hi], why = "the reason" }')
        if "held" in d:
            if d["held"] is not True or set(d) != {"held", "why"}:
                raise ctx.error(kp, 'a held input is { held = true, why = "the reason" }')
            out.append(Uncertainty(key, None, d["why"], ctx.where(kp)))
            continue
        _check_sampleable(key, kp, ctx, spec, 'hold it: { held = true, why = "..." }')
        dist = _parse_distribution(d, key, kp, spec, ctx, extra=("why",))
        value = spec.value(key)
        if not dist.contains(value):
            raise ctx.error(
                kp,
                f"the scenario's value {_g(value)} is not one this distribution gives "
                f"({dist.describe()}); widen it or change the value",
            )
        out.append(Uncertainty(key, dist, d["why"], ctx.where(kp)))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Loading


def _provenance(
    annotations: dict, origins: dict, layers: list[_Layer], ctx: _Ctx
) -> dict[str, Provenance]:
    root = layers[0]
    prov: dict[str, Provenance] = {}
    for key in FIELDS:
        kt = tuple(key.split("."))
        layer = origins.get(kt, root)
        where = ctx.where(kt)
        if key in annotations:  # annotated here or by a counterfactual about its own value
            c, s = annotations[key]
            prov[key] = Provenance(c, s, where)
        elif layer is not root:
            prov[key] = Provenance("what-if", f"counterfactual in {Path(layer.path).name}", where)
        elif FIELDS[key].metadata["kind"] in ("records", "confusion"):
            prov[key] = Provenance("per item", "each item carries its own certainty", where)
        else:
            prov[key] = Provenance("setting", "a modelling choice, not a fact", where)
    return prov


def _build(layers: list[_Layer], path: str) -> ScenarioSpec:
    merged, origins = _merge(layers)
    ctx = _Ctx(path, origins)
    for k in merged:
        if k not in TOP_KEYS:
            raise ctx.error(
                (k,),
                f"unknown key{_did_you_mean(k, TOP_KEYS)}; a scenario file has "
                f"{', '.join(TOP_KEYS)}",
            )
    stem = Path(path).stem
    texts = {"name": stem, "title": stem.replace("-", " "), "description": ""}
    for k in texts:
        if k in merged:
            if not isinstance(merged[k], str):
                raise ctx.error((k,), f"expected a string, got {_type_name(merged[k])}")
            texts[k] = merged[k]
    annotations: dict = {}
    sections = {}
    for section, cls in SECTIONS.items():
        if section not in merged:
            raise ctx.error(
                (section,),
                f"missing [{section}]; add it, or extend a scenario "
                'that has it (extends = "tempe-2018")',
            )
        sections[section] = _parse_table(cls, merged[section], (section,), ctx, annotations)
    spec = ScenarioSpec(
        **texts, **sections, path=path, extends=tuple(layer.path for layer in layers[-2::-1])
    )
    model_key = ("perception", "classifier", "model")
    spec = _resolve_model(
        spec, Path(origins[model_key].path).parent if model_key in origins else None
    )
    _check_spec(spec, ctx)
    spec = dataclasses.replace(
        spec,
        provenance=_provenance(annotations, origins, layers, ctx),
        changes=_changes(spec, layers),
    )
    if "uncertainty" in merged:
        entries = _parse_uncertainty(merged["uncertainty"], spec, ctx)
        kept = tuple(u for u in entries if not _held_by_what_if(u.key, origins, layers))
        spec = dataclasses.replace(spec, uncertainty=kept)
    if "sweep" in merged:
        spec = dataclasses.replace(spec, sweep=_parse_sweep(merged["sweep"], spec, ctx))
    if "tradeoff" in merged:
        spec = dataclasses.replace(spec, tradeoff=_parse_tradeoff(merged["tradeoff"], spec, ctx))
    return spec


def _held_by_what_if(key: str, origins: dict, layers: list[_Layer]) -> bool:
    """Whether a later file set this key's value than the file that gave its distribution:
    then the value is that file's what-if, held for every world."""

    def layer_of(path: tuple) -> int:
        for n in range(len(path), 0, -1):
            if path[:n] in origins:
                return next(i for i, la in enumerate(layers) if la is origins[path[:n]])
        return 0

    value_path = tuple(_ALIASES.get(p, p) if isinstance(p, str) else p for p in _key_path(key))
    return layer_of(value_path) > layer_of(("uncertainty", key))


def _changes(spec: ScenarioSpec, layers: list[_Layer]) -> tuple:
    """Keys whose value differs from the file this one extends: the counterfactual's lines."""
    if len(layers) < 2:
        return ()
    try:
        base = _build(layers[:-1], layers[-2].path)
    except ScenarioError:
        return ()
    out = []
    for key in FIELDS:
        a, b = base.value(key), spec.value(key)
        if a != b:
            out.append((key, jsonable(a), jsonable(b)))
    return tuple(out)


def load(name_or_path: str | Path) -> ScenarioSpec:
    """Read and validate a scenario file (a path, or the name of a packaged scenario)."""
    path = resolve(str(name_or_path))
    return _build(_layers(_read_layer(path), path.parent), str(path))


def loads(text: str, path: str = "<string>", folder: Path | None = None) -> ScenarioSpec:
    """Validate scenario text; `extends` resolves from `folder` (default: the packaged files)."""
    first = _parse_text(text, path)
    return _build(_layers(first, folder or Path(".")), path)
