"""Outcomes as probabilities over the plausible worlds, and which unconfirmed input moves them.

Every unconfirmed input (U) of a scenario has a distribution in the scenario's [uncertainty]
table, with its reason. `run` draws all of them at once, runs every world through the one
simulator, and reports for each scenario:

- which worlds are plausible: those in which the as-it-happened design (the root of the
  scenario's `extends` chain, tempe-2018) reproduces the record: a collision at 39 mph (Q,
  within 1 mph) with the conflict judged 1.2 s before impact (P, within one 0.1 s frame). The
  record constrains the assumptions; a world that contradicts it is set aside, not counted
  (`RecordCheck`). Every scenario is judged on the same worlds: each input is drawn from its
  own random stream (common random numbers), so a counterfactual and the 2018 design meet the
  same pedestrian, road and operator.
- the probability of avoiding the crash over the plausible worlds, with a 95 % Wilson score
  interval (scipy.stats.binomtest); the interval is the Monte Carlo error of that probability
  under the stated distributions, which more runs shrink: the spread over worlds is the
  probability itself, and a different distribution would give a different probability.
- the impact-speed distribution where she is still hit (quantiles and a histogram).
- each input's importance: the share of the outcome's variance that the input explains on its
  own (the first-order variance-based index, Sobol's S1), estimated from the same runs as the
  correlation ratio eta^2 over 20 equal-count classes of the input, less the value an input
  with no effect gets by chance, (B - 1) / (N - 1); see Borgonovo & Plischke (2016),
  "Sensitivity analysis: a review of recent advances", European Journal of Operational
  Research 248, for estimating global sensitivity measures from a Monte Carlo sample. The
  outcome is the impact speed, 0 mph where the crash is avoided (avoidance and severity in
  one number); the index for avoidance alone is reported too. The tornado data are the
  outcome in the lowest and the highest fifth of each input's draws.
- the outside record beside the numbers: Volvo's own simulation (S), the Tempe police (S) and
  the NTSB (P), where the scenarios they speak to were run.

Pure: specs in, a frozen `SensitivityResult` out; the command line writes the files.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scenarios import perception, tempe2018
from scenarios import spec as spec_mod
from scenarios.counterfactuals import change_text
from scenarios.simulate import empty_results, run_batch, simulate
from scenarios.spec import MPH, Distribution, ScenarioSpec
from scenarios.stats import CLASSES_PER_INPUT, Proportion, first_order_index, index_noise

BLOCK = 4096  # runs are drawn block by block: run i is the same whatever the number asked for
CHUNK = 4 * BLOCK  # runs per simulator call
TAIL = 0.2  # the tornado's lowest and highest fifth
MPH_EDGES = tuple(float(x) for x in range(0, 50, 2))  # the impact-speed histogram (mph)
SAME_MPH = 1.0  # "mitigated": at least this much lower than the 2018 design in the same world
MAX_RUNS = 1_000_000


@dataclass(frozen=True)
class RecordCheck:
    """Which worlds are plausible: the as-it-happened design reproduces the record there."""

    impact_mph: tuple[float, float] = (38.0, 40.0)  # 39 mph at impact (Q), within 1 mph
    hazard_before_s: tuple[float, float] = (1.1, 1.3)  # judged 1.2 s before impact (P), a frame

    def accepts(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        speed = arrays["impact_speed_mps"] / MPH
        before = arrays["impact_time_s"] - arrays["first_hazard_s"]
        with np.errstate(invalid="ignore"):
            return (
                arrays["collision"]
                & (speed >= self.impact_mph[0])
                & (speed <= self.impact_mph[1])
                & (before >= self.hazard_before_s[0] - 1e-9)
                & (before <= self.hazard_before_s[1] + 1e-9)
            )

    def to_dict(self) -> dict:
        return {
            "rule": "the as-it-happened design, in that world, hits her at "
            f"{self.impact_mph[0]:g}-{self.impact_mph[1]:g} mph (record: 39 mph, Q) with the "
            f"conflict first judged {self.hazard_before_s[0]:g}-{self.hazard_before_s[1]:g} s "
            "before impact (record: 1.2 s, P)",
            "impact_mph": list(self.impact_mph),
            "hazard_before_s": list(self.hazard_before_s),
        }


@dataclass(frozen=True)
class Importance:
    """One input's importance for one scenario, and its tornado bar."""

    key: str
    index: float  # first-order variance share of the impact speed (0 mph if avoided)
    index_avoided: float | None  # the same for avoidance alone (None: avoidance never varies)
    low: float  # the tornado's outcome in the input's lowest fifth ...
    high: float  # ... and in its highest fifth
    low_value: float | str  # the input's median in those fifths (a class name for a class)
    high_value: float | str

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class ScenarioSensitivity:
    name: str
    title: str
    change: str  # the changed line(s)
    base: str  # the as-it-happened scenario whose runs decide which worlds are plausible
    single: dict | None  # the single run with every input at its value: collision, outcome, mph
    avoided: Proportion  # over the plausible worlds
    avoided_all_draws: Proportion  # over every world run, plausible or not (a classifier
    # in the loop runs only the plausible ones: see `perception.costly`)
    avoided_or_mitigated: Proportion  # avoided, or hit >= SAME_MPH slower than the 2018 design
    below_10_mph: Proportion  # of the plausible worlds in which she is hit: under 10 mph
    impact_mph: dict  # quantiles where she is hit
    histogram: dict  # impact speeds (mph) in bins, and the avoided count
    tornado_outcome: str  # what the tornado bars show
    importance: tuple[Importance, ...]  # most important first
    index_noise: float  # the index's standard deviation for an input with no effect
    arrays: dict = field(default_factory=dict, repr=False, compare=False)

    def headline(self) -> str:
        """'avoided in 83 % (79-87 %) of 1,204 plausible worlds'."""
        return f"avoided in {self.avoided.text()} of {self.avoided.n:,} plausible worlds"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "change": self.change,
            "base": self.base,
            "single_run": self.single,
            "avoided": self.avoided.to_dict(),
            "headline": self.headline(),
            "avoided_all_draws": self.avoided_all_draws.to_dict(),
            "avoided_or_mitigated": self.avoided_or_mitigated.to_dict(),
            "hit_below_10_mph": self.below_10_mph.to_dict(),
            "impact_speed_mph": self.impact_mph,
            "histogram": self.histogram,
            "tornado_outcome": self.tornado_outcome,
            "importance": [i.to_dict() for i in self.importance],
            "importance_noise_sd": self.index_noise,
        }


@dataclass(frozen=True)
class SensitivityResult:
    runs: int
    seed: int
    record_check: RecordCheck
    plausible: dict[str, Proportion]  # per base scenario: worlds that reproduce the record
    inputs: tuple  # the Uncertainty entries drawn (and held)
    scenarios: tuple[ScenarioSensitivity, ...]
    outside_record: tuple[dict, ...]

    def get(self, name: str) -> ScenarioSensitivity:
        return next(s for s in self.scenarios if s.name == name)

    def probabilities(self) -> dict[str, dict]:
        """Per scenario {"p_avoid", "low", "high", "runs", "median_impact_mph"}: the avoidance
        probability over the plausible worlds, its 95 % Wilson interval, how many plausible
        worlds it rests on, and the median impact speed where she is hit (None if never);
        the shape the case study takes (`case_study.build(probabilities=...)`)."""
        out = {}
        for s in self.scenarios:
            if not s.avoided.n:
                continue
            lo, hi = s.avoided.interval
            out[s.name] = {
                "p_avoid": s.avoided.p,
                "low": lo,
                "high": hi,
                "runs": s.avoided.n,
                "median_impact_mph": s.impact_mph.get("p50"),
            }
        return out

    def to_dict(self) -> dict:
        return {
            "runs": self.runs,
            "seed": self.seed,
            "method": {
                "worlds": "every input in the scenarios' [uncertainty] tables drawn at once, "
                "each from its own stream numpy.random.default_rng([seed, crc32(key), block]) "
                f"in blocks of {BLOCK} runs (common random numbers across scenarios)",
                "plausible": self.record_check.to_dict(),
                "probability": "share of the plausible worlds, with a 95 % Wilson score "
                "interval (Monte Carlo error under the stated distributions)",
                "importance": "first-order variance-based index (Sobol S1) from the same runs: "
                f"correlation ratio eta^2 over {CLASSES_PER_INPUT} equal-count classes, less "
                "(B - 1) / (N - 1), of the impact speed with 0 mph where avoided "
                "(Borgonovo & Plischke 2016, EJOR 248)",
                "tornado": f"the outcome in the lowest and highest {TAIL:.0%} of each input",
                "mitigated": f"hit at least {SAME_MPH:g} mph slower than the as-it-happened "
                "design in the same world",
            },
            "plausible_worlds": {k: v.to_dict() for k, v in self.plausible.items()},
            "inputs": [u.to_dict() for u in self.inputs],
            "scenarios": [s.to_dict() for s in self.scenarios],
            "outside_record": list(self.outside_record),
        }


# ---------------------------------------------------------------------------------------------
# Drawing worlds


def _stream(seed: int, key: str, block: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode()), block])


def draw_worlds(
    dists: Mapping[str, Distribution], first: int, n: int, seed: int
) -> dict[str, np.ndarray]:
    """Runs first .. first + n - 1 of the worlds: key -> (n,) values. Each key has its own
    stream, block by block, so a world does not depend on which other keys are drawn or on
    how many runs are asked for."""
    b0, b1 = first // BLOCK, (first + n - 1) // BLOCK
    out = {}
    for key, d in dists.items():
        parts = [d.draw(_stream(seed, key, b), BLOCK) for b in range(b0, b1 + 1)]
        values = np.concatenate(parts)
        out[key] = values[first - b0 * BLOCK : first - b0 * BLOCK + n]
    return out


def _perception(s: ScenarioSpec, values: dict, idx: np.ndarray, seed: int):
    """The scenario's own perception source and noise for the worlds `idx` (flicker and noise
    drawn from their own stream, like the inputs; a classifier's crops from the render seed
    seed * 2^32 + world)."""
    b0, b1 = int(idx[0]) // BLOCK, int(idx[-1]) // BLOCK
    draws = [perception.draw(s, _stream(seed, "perception", b), BLOCK) for b in range(b0, b1 + 1)]
    at = idx - b0 * BLOCK
    flicker = np.concatenate([d.flicker_u for d in draws])[at]
    noise = np.concatenate([d.noise for d in draws])[at]
    batch = s.with_arrays(values) if values else s
    seeds = np.uint64(seed) * np.uint64(2**32) + idx.astype(np.uint64)
    return perception.source(batch, perception.Draws(flicker, noise), len(idx), seeds), noise


def worlds(
    s: ScenarioSpec,
    runs: int,
    seed: int,
    *,
    part: range | None = None,
    only: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every run of a scenario over the worlds: RESULT_FIELDS and the drawn inputs -> arrays,
    and "ran". `part` limits it to those runs (a chunk): every run is drawn and simulated on
    its own, so the parts' arrays, joined in order, are the arrays of all the runs. `only`: a
    mask (runs,) of the worlds to run (the others hold no collision and NaN)."""
    dists = s.distributions()
    part = part if part is not None else range(runs)
    parts = []
    for first in range(part.start, part.stop, CHUNK):
        n = min(CHUNK, part.stop - first)
        values = draw_worlds(dists, first, n, seed)
        keep = np.ones(n, bool) if only is None else only[first : first + n]
        idx = first + np.flatnonzero(keep)
        sub = {k: v[keep] for k, v in values.items()}
        if len(idx):
            source, noise = _perception(s, sub, idx, seed)
            got = run_batch(s, len(idx), source, values=sub, noise=noise)
        out = got if keep.all() else empty_results(n)
        if not keep.all():
            for k in out if len(idx) else ():
                out[k][keep] = got[k]
        out.update(values)
        out["ran"] = keep
        parts.append(out)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# ---------------------------------------------------------------------------------------------
# Statistics


def _tails(x: np.ndarray, y: np.ndarray) -> tuple[float, float, object, object]:
    """Mean of y in x's lowest and highest fifth, and x's median there (classes: by value)."""
    if x.dtype.kind in "US":
        values = sorted(set(x.tolist()))
        lo, hi = values[0], values[-1]
        return float(y[x == lo].mean()), float(y[x == hi].mean()), lo, hi
    order = np.argsort(x, kind="stable")
    m = max(1, int(TAIL * len(x)))
    low, high = order[:m], order[-m:]
    return (
        float(y[low].mean()),
        float(y[high].mean()),
        float(np.median(x[low])),
        float(np.median(x[high])),
    )


def _histogram(mph: np.ndarray, avoided: int) -> dict:
    edges = [*MPH_EDGES, math.inf]
    counts, _ = np.histogram(mph, bins=edges)
    return {"edges_mph": list(MPH_EDGES), "counts": counts.tolist(), "avoided": avoided}


def _quantiles(mph: np.ndarray) -> dict:
    if not len(mph):
        return {"runs": 0}
    q = np.percentile(mph, [5, 25, 50, 75, 95])
    return {
        "runs": len(mph),
        "mean": round(float(mph.mean()), 3),
        **{f"p{p}": round(float(v), 3) for p, v in zip((5, 25, 50, 75, 95), q, strict=True)},
    }


def _single(run) -> dict | None:
    """The single run with every input at its value, in brief (None: not run)."""
    if run is None:
        return None
    sm = run.summary
    return {
        "collision": sm.collision,
        "impact_speed_mph": None if not sm.collision else round(sm.impact_speed_mph, 6),
        "stopping_margin_m": sm.stopping_margin_m,
        "outcome": sm.outcome,
    }


def summarise(
    s: ScenarioSpec, arrays: dict, base_arrays: dict, plausible: np.ndarray, single
) -> ScenarioSensitivity:
    """One scenario's numbers over the worlds (plausible: the record check's mask)."""
    hit = arrays["collision"].astype(bool)
    ran = arrays.get("ran", np.ones(len(hit), bool))
    mph = np.where(hit, arrays["impact_speed_mps"] / MPH, 0.0)
    base_mph = np.where(base_arrays["collision"], base_arrays["impact_speed_mps"] / MPH, 0.0)
    mitigated = ~hit | (base_mph - mph >= SAME_MPH)
    p_hit = hit[plausible]
    y, avoided = mph[plausible], (~hit[plausible]).astype(float)
    p_avoid = float(avoided.mean()) if len(avoided) else 0.0
    use_avoidance = 0.02 < p_avoid < 0.98
    importance = []
    for key in s.distributions():
        x = arrays[key][plausible]
        low, high, lo_v, hi_v = _tails(x, avoided if use_avoidance else y)
        idx_avoid = first_order_index(x, avoided) if np.var(avoided) > 0 else None
        importance.append(
            Importance(key, first_order_index(x, y), idx_avoid, low, high, lo_v, hi_v)
        )
    importance.sort(key=lambda i: -i.index)
    return ScenarioSensitivity(
        name=s.name,
        title=s.title,
        change=change_text(s),
        base=Path(s.extends[-1]).stem if s.extends else s.name,
        single=_single(single),
        avoided=Proportion(int((~p_hit).sum()), int(plausible.sum())),
        avoided_all_draws=Proportion(int((~hit & ran).sum()), int(ran.sum())),
        avoided_or_mitigated=Proportion(int(mitigated[plausible].sum()), int(plausible.sum())),
        below_10_mph=Proportion(int((y[p_hit] < 10).sum()), int(p_hit.sum())),
        impact_mph=_quantiles(y[p_hit]),
        histogram=_histogram(y[p_hit], int((~p_hit).sum())),
        tornado_outcome="probability of avoiding the crash"
        if use_avoidance
        else "impact speed (mph; 0 where avoided)",
        importance=tuple(importance),
        index_noise=index_noise(int(plausible.sum())),
        arrays={"collision": hit, "impact_mph": mph, "plausible": plausible},
    )


# ---------------------------------------------------------------------------------------------
# The outside record


def outside_record(results: Mapping[str, ScenarioSensitivity]) -> tuple[dict, ...]:
    """What others concluded, beside this model's probability for the same question."""
    out = []

    def entry(
        fact_id: str, scenario: str, ours: Proportion, question: str, claim: Proportion | None
    ) -> dict:
        f = tempe2018.OUTSIDE[fact_id]
        row = {
            "fact": fact_id,
            "claim": f.text,
            "certainty": f.certainty,
            "source": f.source,
            "scenario": scenario,
            "question": question,
            "ours": ours.to_dict(),
        }
        if claim is not None:
            row["claim_as_proportion"] = claim.to_dict()
            lo, hi = ours.interval or (0.0, 0.0)
            clo, chi = claim.interval
            row["intervals_overlap"] = bool(lo <= chi and clo <= hi)
        return row

    if "volvo-aeb" in results:
        r = results["volvo-aeb"]
        out.append(entry("volvo-simulation", r.name, r.avoided, "avoided", Proportion(17, 20)))
        hit_slow = Proportion(
            r.avoided.k + r.below_10_mph.k, r.avoided.n
        )  # avoided, or hit under 10 mph
        out.append(
            entry(
                "volvo-simulation",
                r.name,
                hit_slow,
                "avoided, or hit at under 10 mph",
                Proportion(20, 20),
            )
        )
    if "attentive-operator" in results:
        r = results["attentive-operator"]
        out.append(entry("police-avoidable", r.name, r.avoided, "avoided", None))
        out.append(
            entry(
                "ntsb-attentive",
                r.name,
                r.avoided_or_mitigated,
                f"avoided, or hit at least {SAME_MPH:g} mph slower than the 2018 design",
                None,
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Running it


def _root(s: ScenarioSpec) -> ScenarioSpec:
    """The as-it-happened design a scenario changes (the root of its `extends` chain)."""
    return spec_mod.load(s.extends[-1]) if s.extends else s


def simulated_specs(scenarios: Sequence[str | ScenarioSpec]) -> list[ScenarioSpec]:
    """The specs whose worlds `run` simulates for `scenarios`: each one's root, then each one
    that changes its root; every path once."""
    out: dict[str, ScenarioSpec] = {}
    for s in (spec_mod.load(x) if not isinstance(x, ScenarioSpec) else x for x in scenarios):
        root = _root(s)
        out.setdefault(root.path, root)
        if s.path != root.path or s.changes:
            out.setdefault(s.path, s)
    return list(out.values())


def simulate_part(
    scenarios: Sequence[str | ScenarioSpec],
    runs: int,
    seed: int,
    part: range,
    check: RecordCheck | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """`worlds` of every spec of `simulated_specs(scenarios)` over the runs in `part` (a chunk),
    by path: what `run(simulated=...)` takes once the chunks are joined in order. A costly
    spec (the classifier in the loop) runs only in its root's plausible worlds, as in `run`;
    a world's plausibility depends on that world alone, so a chunk decides it for its runs."""
    check = check or RecordCheck()
    out: dict[str, dict[str, np.ndarray]] = {}
    plausible: dict[str, np.ndarray] = {}
    for s in simulated_specs(scenarios):  # each root comes before the specs that change it
        root = _root(s)
        only = None
        if perception.costly(s) and root.path in plausible:
            only = np.zeros(runs, bool)
            only[part.start : part.stop] = plausible[root.path]
        out[s.path] = worlds(s, runs, seed, part=part, only=only)
        if s.path == root.path:
            plausible[root.path] = check.accepts(out[s.path])
    return out


def check_runs(runs: int, seed: int, most: int) -> None:
    """Runs and seed a user asked for, or a one-line error."""
    if not 1 <= runs <= most:
        raise spec_mod.ScenarioError(f"runs: {runs:,} is outside 1..{most:,}; ask for fewer")
    if not 0 <= seed < 2**32:
        raise spec_mod.ScenarioError(f"seed: {seed} is outside 0..{2**32 - 1}; give another")


def run(
    scenarios: Sequence[str | ScenarioSpec],
    *,
    runs: int = 4096,
    seed: int = 0,
    check: RecordCheck | None = None,
    singles: Mapping | None = None,
    single_runs: bool = True,
    progress: bool = False,
    simulated: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> SensitivityResult:
    """Each scenario (a packaged name, a path or a spec) over `runs` drawn worlds; singles:
    scenario name -> its single run (RunResult) where the caller has it already; single_runs:
    False to leave the single runs out (a caller that reports only the worlds); simulated:
    `worlds(s, runs, seed)` of every spec of `simulated_specs(scenarios)`, by its path, where
    the caller ran them already (in chunks, say)."""
    check_runs(runs, seed, MAX_RUNS)
    check = check or RecordCheck()
    specs = [spec_mod.load(s) if not isinstance(s, ScenarioSpec) else s for s in scenarios]
    bases: dict[str, tuple[ScenarioSpec, dict, np.ndarray]] = {}
    results: dict[str, ScenarioSensitivity] = {}
    from tqdm import tqdm

    def arrays_of(s: ScenarioSpec, only: np.ndarray | None = None) -> dict[str, np.ndarray]:
        return dict(simulated[s.path]) if simulated else worlds(s, runs, seed, only=only)

    for s in tqdm(specs, disable=not progress, desc="scenarios"):
        root = _root(s)
        if root.path not in bases:
            root_arrays = arrays_of(root)
            bases[root.path] = (root, root_arrays, check.accepts(root_arrays))
        _, base_arrays, plausible = bases[root.path]
        if s.path == root.path and not s.changes:
            arrays = base_arrays
        else:
            arrays = arrays_of(s, plausible if perception.costly(s) else None)
        single = (singles or {}).get(s.name) or (simulate(s) if single_runs else None)
        results[s.name] = summarise(s, arrays, base_arrays, plausible, single)
    inputs = {}
    for s in specs:
        for u in s.uncertainty:
            inputs.setdefault(u.key, u)
    return SensitivityResult(
        runs=runs,
        seed=seed,
        record_check=check,
        plausible={b.name: Proportion(int(mask.sum()), len(mask)) for b, _, mask in bases.values()},
        inputs=tuple(inputs.values()),
        scenarios=tuple(results.values()),
        outside_record=outside_record(results),
    )
