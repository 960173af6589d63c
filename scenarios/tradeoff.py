"""The cost of false alarms: collisions avoided against nuisance hard braking, design by design.

Action suppression and the missing emergency braking were chosen to avoid nuisance braking (P).
To weigh that choice, each design (the 2018 one, each setting of [tradeoff.axes] varied alone,
and each named combination in [tradeoff.designs]) is run twice over:

- her crossing, over the plausible worlds (`sensitivity`): the probability that the crash is
  avoided, with its 95 % Wilson interval;
- encounters with objects that are no hazard but that perception reports ([[tradeoff.objects]]:
  a plastic bag, an overhead sign, a parked car at the kerb, road debris), each kind drawn from
  its own distributions of position, drift, size, range and how long it is seen, with its own
  class flicker: the share of encounters in which the ADS brakes at hard_brake_mps2 or more
  (a nuisance hard-braking event), times how many such objects are met per 1,000 km.

Encounters run in the same simulator as her crossing: the object takes her place (its
centre's lateral path y(t) = y0 + drift * t, its box), the SUV holds speed_mph, the operator
never takes over (the measure is the ADS's own braking), the design's unconfirmed inputs are
drawn from their distributions (the planner's margins, the tracker's noise ...), and the
object's classes come from a perception source of its own. Braking "before it reaches the
object" is what counts; the object is harmless, so whether the SUV then drives through it is
not scored.

Events per 1,000 km sum over the kinds; their 95 % interval adds the kinds' binomial variances
(normal approximation). The rates themselves are assumptions (U) and scale the nuisance side
of every design alike: the interval is the Monte Carlo error only.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenarios import perception, sensitivity
from scenarios.perception import ArraySource
from scenarios.simulate import run_batch
from scenarios.spec import CLASSES, MPH, SENSORS, FalsePositiveSpec, ScenarioError, ScenarioSpec
from scenarios.stats import Proportion

BLOCK = sensitivity.BLOCK
AFTER_S = 2.0  # an encounter lasts until the SUV would reach the object at speed, and this long
MAX_RUNS = 100_000  # per design and kind of object: a large file has 20 designs x 5 kinds
# A design's unconfirmed inputs drawn in the encounters too, except those that describe her
# crossing (the object takes her place) or the recorded speed profile (the SUV holds speed).
NOT_IN_ENCOUNTERS = ("pedestrian.", "suv.profile.", "perception.", "world.start_gap_m")


@dataclass(frozen=True)
class Nuisance:
    """One kind of object under one design."""

    kind: str
    per_1000_km: float  # how many are met (U)
    hard: Proportion  # encounters with hard braking
    braking: Proportion  # encounters with any braking by the ADS

    @property
    def hard_per_1000_km(self) -> float:
        return self.per_1000_km * self.hard.p

    def to_dict(self) -> dict:
        lo, hi = self.hard.interval
        return {
            "kind": self.kind,
            "met_per_1000_km": self.per_1000_km,
            "hard_braking": self.hard.to_dict(),
            "any_braking": self.braking.to_dict(),
            "hard_braking_per_1000_km": self.hard_per_1000_km,
            "hard_braking_per_1000_km_interval": [self.per_1000_km * lo, self.per_1000_km * hi],
        }


@dataclass(frozen=True)
class DesignPoint:
    label: str  # "2018 design", "planner.suppression_s = 0.5", or a named design
    axis: str | None  # the setting varied alone, if this point is on an axis
    values: dict  # the settings that differ from the scenario's own
    avoided: Proportion  # her crossing, over the plausible worlds
    nuisance: tuple[Nuisance, ...]

    @property
    def hard_per_1000_km(self) -> float:
        return sum(n.hard_per_1000_km for n in self.nuisance)

    @property
    def hard_interval(self) -> tuple[float, float]:
        """95 %: the kinds' binomial variances added (normal approximation), clipped at 0."""
        var = sum(n.per_1000_km**2 * n.hard.p * (1 - n.hard.p) / n.hard.n for n in self.nuisance)
        half = 1.959963984540054 * math.sqrt(var)
        return max(0.0, self.hard_per_1000_km - half), self.hard_per_1000_km + half

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "axis": self.axis,
            "values": self.values,
            "avoided": self.avoided.to_dict(),
            "nuisance_hard_braking_per_1000_km": self.hard_per_1000_km,
            "nuisance_interval": list(self.hard_interval),
            "by_kind": [n.to_dict() for n in self.nuisance],
        }


@dataclass(frozen=True)
class TradeoffResult:
    scenario: str
    runs: int
    seed: int
    hard_brake_mps2: float
    settings: dict  # the [tradeoff] table, as data
    points: tuple[DesignPoint, ...]
    own_values: dict  # each axis's setting in the scenario's own design
    plausible: Proportion = field(default_factory=lambda: Proportion(0, 0))

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "runs": self.runs,
            "seed": self.seed,
            "method": {
                "avoided": "her crossing over the plausible worlds (see sensitivity.json's "
                "method), 95 % Wilson interval",
                "nuisance": f"share of encounters in which the engaged ADS asks for >= "
                f"{self.hard_brake_mps2:g} m/s² before reaching a harmless object, times how "
                "many are met per 1,000 km (an assumption, U); interval: the kinds' binomial "
                "variances added (normal approximation), Monte Carlo error only",
            },
            "plausible_worlds": self.plausible.to_dict(),
            "settings": self.settings,
            "own_values": self.own_values,
            "points": [p.to_dict() for p in self.points],
        }


def designs(s: ScenarioSpec) -> list[tuple[str, str | None, dict]]:
    """(label, axis, values): the scenario's own design, each axis value alone, each named
    design. An axis value equal to the scenario's own is the own design, unless the setting is
    an unconfirmed input: then it is drawn in the own design, and held on the axis."""
    t = s.tradeoff
    # a trade-off file that changes nothing: its design is the one it extends
    mine = s.changes or not s.extends
    own = f"{s.name} as written" if mine else f"as {Path(s.extends[0]).stem}"
    out: list[tuple[str, str | None, dict]] = [(own, None, {})]
    drawn = s.distributions()
    for key, values in t.axes:
        for v in values:
            if v != s.value(key) or key in drawn:
                out.append((f"{key} = {_fmt(v)}", key, {key: v}))
    out += [(name, None, dict(values)) for name, values in t.designs]
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}" if isinstance(v, float) else str(v)


def design_spec(s: ScenarioSpec, values: dict) -> ScenarioSpec:
    """The scenario with a design's settings, held (not drawn) in every world."""
    if not values:
        return s
    d = s.with_values(values, why="what-if")
    kept = tuple(u for u in d.uncertainty if u.key not in values)
    return dataclasses.replace(d, uncertainty=kept)


def encounter_spec(d: ScenarioSpec, objects: tuple[FalsePositiveSpec, ...]) -> ScenarioSpec:
    """The design driving at a constant speed toward an object, first seen at the start; it
    lasts until the SUV would reach the farthest object at speed, and AFTER_S more."""
    t = d.tradeoff
    first = d.perception.events[0].t_s
    reach_s = max(max(o.range_m.support) for o in objects) / (t.speed_mph * MPH)
    return d.with_values(
        {
            "world.start_s": first,
            "world.end_s": min(first + reach_s + AFTER_S, 60.0),
            "suv.cruise": "constant",
            "suv.initial_speed_mph": t.speed_mph,
            "operator.takes_over_on": "never",
            "perception.position_noise_m": t.position_noise_m,
        },
        why="encounter",
    )


def _blocks(name: str, first: int, n: int, seed: int, draw) -> np.ndarray:
    """Runs first .. first + n - 1 of a stream keyed by name, drawn block by block."""
    b0, b1 = first // BLOCK, (first + n - 1) // BLOCK
    key = zlib.crc32(name.encode())
    parts = [draw(np.random.default_rng([seed, key, b])) for b in range(b0, b1 + 1)]
    return np.concatenate(parts)[first - b0 * BLOCK : first - b0 * BLOCK + n]


def _object_inputs(e: ScenarioSpec, obj: FalsePositiveSpec, first: int, n: int, seed: int):
    """(values, classes, noise) of encounters first .. first + n - 1 with one kind of object."""
    _, _, frames = perception.frame_steps(e)

    def draw(name: str) -> np.ndarray:
        return _blocks(
            f"{obj.name}.{name}", first, n, seed, lambda g: getattr(obj, name).draw(g, BLOCK)
        )

    drift = draw("lateral_speed_mps")
    values = {
        "world.start_gap_m": draw("range_m"),
        "pedestrian.speed_mps": -drift,  # y(t) = y0 + drift (t - start)
        "pedestrian.lateral_at_impact_m": draw("lateral_m") + drift * e.world.start_s,
        "pedestrian.length_m": draw("length_m"),
        "pedestrian.width_m": draw("width_m"),
    }
    u = _blocks(f"{obj.name}.flicker", first, n, seed, lambda g: g.random((BLOCK, frames)))
    row = np.array([dict(obj.confusion).get(c, 0.0) for c in CLASSES])
    cls = perception.flicker_classes(
        u, row, 1.0 - math.exp(-obj.flicker_hz * e.perception.period_s)
    )
    times = np.array([perception.frame_time(e, k) for k in range(frames)]) - e.world.start_s
    seen = times[None, :] <= draw("seen_s")[:, None] + 1e-9
    cls = np.where(seen, cls, perception.NO_DETECTION).astype(np.int8)
    noise = _blocks(
        f"{obj.name}.noise", first, n, seed, lambda g: g.standard_normal((BLOCK, frames, 2))
    )
    return values, cls, noise


def encounters(
    d: ScenarioSpec, objects: tuple[FalsePositiveSpec, ...], runs: int, seed: int
) -> list[dict]:
    """Every encounter of the design with each kind of object (one batch for all kinds):
    per kind, RESULT_FIELDS -> arrays."""
    e = encounter_spec(d, objects)
    dists = {k: v for k, v in e.distributions().items() if not k.startswith(NOT_IN_ENCOUNTERS)}
    per_chunk = max(1, sensitivity.CHUNK // len(objects))
    parts: list[list[dict]] = [[] for _ in objects]
    for first in range(0, runs, per_chunk):
        n = min(per_chunk, runs - first)
        design = sensitivity.draw_worlds(dists, first, n, seed)  # the same for every kind
        inputs = [_object_inputs(e, obj, first, n, seed) for obj in objects]
        values = {k: np.tile(v, len(objects)) for k, v in design.items()}
        for k in inputs[0][0]:
            values[k] = np.concatenate([inp[0][k] for inp in inputs])
        cls = np.concatenate([inp[1] for inp in inputs])
        noise = np.concatenate([inp[2] for inp in inputs])
        sensor = np.full(cls.shape, SENSORS.index("lidar"), np.int8)
        out = run_batch(e, len(cls), ArraySource(cls, sensor), values=values, noise=noise)
        for i in range(len(objects)):
            parts[i].append({k: v[i * n : (i + 1) * n] for k, v in out.items()})
    return [{k: np.concatenate([p[k] for p in kind]) for k in kind[0]} for kind in parts]


def run(s: ScenarioSpec, *, runs: int | None = None, seed: int | None = None) -> TradeoffResult:
    """Every design of a scenario's [tradeoff]: avoided over plausible worlds, and nuisance."""
    t = s.tradeoff
    if t is None:
        raise ScenarioError(f"{s.name} has no [tradeoff] table; add one (see nuisance-tradeoff)")
    runs = t.runs if runs is None else runs
    seed = t.seed if seed is None else seed
    sensitivity.check_runs(runs, seed, MAX_RUNS)
    points = designs(s)
    specs = [
        dataclasses.replace(design_spec(s, values), name=f"{s.name}: {label}")
        for label, _, values in points
    ]
    # one base run for every design; no single runs: the trade-off reports only the worlds
    worlds = sensitivity.run(specs, runs=runs, seed=seed, single_runs=False)
    out = []
    for (label, axis, values), d in zip(points, specs, strict=True):
        nuisance = []
        for obj, arrays in zip(t.objects, encounters(d, t.objects, runs, seed), strict=True):
            peak = arrays["peak_ads_decel_mps2"]
            hard = Proportion(int((peak >= t.hard_brake_mps2 - 1e-9).sum()), runs)
            braking = Proportion(int((peak > 0).sum()), runs)
            nuisance.append(Nuisance(obj.name, obj.per_1000_km, hard, braking))
        avoided = worlds.get(d.name).avoided
        out.append(DesignPoint(label, axis, values, avoided, tuple(nuisance)))
    plausible = next(iter(worlds.plausible.values()))
    own = {key: s.value(key) for key, _ in t.axes}
    return TradeoffResult(
        s.name, runs, seed, t.hard_brake_mps2, t.to_dict(), tuple(out), own, plausible
    )
