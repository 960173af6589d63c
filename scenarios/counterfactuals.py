"""The counterfactual table: which one-line changes avoid the crash, which only lower the speed.

Each packaged counterfactual extends tempe-2018 (or another counterfactual) and changes one line.
`compare` runs them beside the as-it-happened run and says, for each, whether the SUV stopped
(with the distance to spare) or still hit her (with the impact speed and how much lower it is)
in the single run with every input at its value, and, given the sensitivity analysis, in what
share of the plausible worlds the crash is avoided: a single run's verdict rests on the
assumptions (U) it happens to take, and is never stated without that share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scenarios import spec as spec_mod
from scenarios.simulate import RunResult, simulate

BASE = "tempe-2018"
COUNTERFACTUALS = (
    "no-suppression",
    "emergency-braking",
    "persistent-tracking",
    "jaywalker-aware",
    "attentive-operator",
    "volvo-aeb",
    "no-suppression-emergency-braking",
    "all-braking-fixes",
    "recognised-pedestrian",
    "recognised-pedestrian-jaywalkers",
    "constant-43",
)
# The classifier in the loop (`scenarios.camera`): the 2018 design with a trained network
# classifying rendered camera crops, and fixes at the level of the network and the tracker.
CLASSIFIER_BASE = "tempe-2018-classifier"
CLASSIFIER_FIXES = (
    "classifier-fixed-training",
    "classifier-class-fusion",
    "classifier-unknown-max-softmax",
    "classifier-unknown-autoencoder",
    "classifier-fixed-fusion",
    "classifier-unknown-fusion",
    "classifier-persistent-tracking",
)
SAME_MPH = 1.0  # impact speeds closer than this count as "no real change"


@dataclass(frozen=True)
class Comparison:
    name: str
    title: str
    parent: str  # the scenario it changes (tempe-2018 for a single change)
    change: str  # the changed line(s) against the file it extends
    collision: bool
    impact_speed_mph: float | None
    reduction_mph: float | None  # against the as-it-happened impact speed
    margin_m: float | None  # when avoided: the closest gap while she was in the SUV's path
    hazard_before_s: float | None  # first predicted conflict, s before the record's impact
    brake_before_s: float | None  # first braking, s before the record's impact
    brake_by: str | None
    verdict: str  # the single run's
    plausible: dict | None = None  # avoided over the plausible worlds (sensitivity), if run
    renders: dict | None = None  # a classifier in the loop: avoided over fresh renders

    @property
    def plausible_text(self) -> str:
        return self.plausible["headline"] if self.plausible else "(not run)"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def change_text(spec: spec_mod.ScenarioSpec, base: str = BASE) -> str:
    """The changed line(s), with the file they change when that is not the base."""
    if not spec.changes:
        return "(as it happened)"
    text = "; ".join(f"{k} = {_fmt(b)} (was {_fmt(a)})" for k, a, b in spec.changes)
    parent = Path(spec.extends[0]).stem if spec.extends else base
    return text if parent == base else f"{parent} + {text}"


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return f"{v:g}" if isinstance(v, float) else str(v)


def _before(t: float | None) -> float | None:
    return None if t is None else round(-t, 6)


def is_data_change(spec: spec_mod.ScenarioSpec) -> bool:
    """Whether the change is to an input about the world (speed profile, her walk), not to a
    design decision."""
    return bool(spec.changes) and all(
        k.startswith(("suv.", "pedestrian.", "world.")) for k, _, _ in spec.changes
    )


def verdict(run: RunResult, base: RunResult) -> str:
    s, b = run.summary, base.summary
    note = " (an input about the world, not a design choice)" if is_data_change(run.spec) else ""
    if not s.collision:
        if s.stopping_margin_m is None:
            return f"avoids the crash: she is across before the SUV arrives{note}"
        return f"avoids the crash, {s.stopping_margin_m:.1f} m to spare{note}"
    if not b.collision:
        return f"hit at {s.impact_speed_mph:.1f} mph{note}"
    delta = b.impact_speed_mph - s.impact_speed_mph
    if delta >= SAME_MPH:
        return (
            f"only lowers the impact speed, to {s.impact_speed_mph:.1f} mph "
            f"({delta:.1f} mph lower){note}"
        )
    if delta <= -SAME_MPH:
        return f"a harder impact, {s.impact_speed_mph:.1f} mph ({-delta:.1f} mph higher){note}"
    how = (
        "the same speed"
        if abs(delta) < 0.05
        else f"{abs(delta):.1f} mph {'lower' if delta > 0 else 'higher'}"
    )
    return f"no real change: hit at {s.impact_speed_mph:.1f} mph ({how}){note}"


def compare(
    base: RunResult,
    runs: Sequence[RunResult],
    plausible: Mapping | None = None,
    renders: Mapping | None = None,
) -> list[Comparison]:
    """One row per run; plausible: scenario name -> its sensitivity (ScenarioSensitivity);
    renders: scenario name -> its runs over fresh renders (camera.RenderOutcomes)."""
    out = []
    for run in runs:
        s = run.summary
        red = None
        if s.collision and base.summary.collision:
            red = round(base.summary.impact_speed_mph - s.impact_speed_mph, 6)
        out.append(
            Comparison(
                name=run.spec.name,
                title=run.spec.title,
                parent=Path(run.spec.extends[0]).stem if run.spec.extends else "",
                change=change_text(run.spec, base.spec.name),
                collision=s.collision,
                impact_speed_mph=None if not s.collision else round(s.impact_speed_mph, 6),
                reduction_mph=red,
                margin_m=None
                if s.collision or s.stopping_margin_m is None
                else round(s.stopping_margin_m, 6),
                hazard_before_s=_before(s.first_hazard_s),
                brake_before_s=_before(s.brake_onset_s),
                brake_by=s.brake_by,
                verdict=verdict(run, base),
                plausible=_plausible(plausible, run.spec.name),
                renders=renders[run.spec.name].to_dict()
                if renders and run.spec.name in renders
                else None,
            )
        )
    return out


def _plausible(plausible: Mapping | None, name: str) -> dict | None:
    if not plausible or name not in plausible:
        return None
    r = plausible[name]
    return {
        "headline": r.headline(),
        "avoided": r.avoided.to_dict(),
        "impact_speed_mph": r.impact_mph,
    }


def run_all(
    names: Sequence[str] = COUNTERFACTUALS, *, seed: int = 0, base: str = BASE
) -> tuple[RunResult, list]:
    """The as-it-happened run (`base`) and each counterfactual's run (packaged names or
    paths)."""
    base_run = simulate(spec_mod.load(base), seed=seed)
    return base_run, [simulate(spec_mod.load(n), seed=seed) for n in names]
