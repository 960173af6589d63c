"""Outcomes over the plausible worlds: intervals, the importance index, the record check, and
perception as a pluggable source."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from functools import cache

import numpy as np
import pytest

from scenarios import perception, sensitivity, spec
from scenarios.perception import ArraySource, Labels
from scenarios.simulate import run_batch, simulate
from scenarios.spec import CLASSES, MPH
from scenarios.stats import Proportion, first_order_index, index_noise

RUNS = 2048


@cache
def result() -> sensitivity.SensitivityResult:
    names = ["persistent-tracking", "attentive-operator", "volvo-aeb", "no-suppression"]
    return sensitivity.run(names, runs=RUNS, seed=0)


def test_the_wilson_interval_is_the_closed_form():
    k, n, z = 17, 20, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = Proportion(k, n).interval
    assert (lo, hi) == pytest.approx((centre - half, centre + half), abs=1e-9)
    assert Proportion(17, 20).text() == "85 % (64-95 %)"  # Volvo's 17 of 20
    assert Proportion(0, 10).text() == "0 % (0-28 %)"
    assert Proportion(0, 0).text() == "no plausible worlds"


def test_the_first_order_index_recovers_a_known_variance_share():
    rng = np.random.default_rng(0)
    n = 20_000
    x1, x2 = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    y = x1 + rng.normal(0, math.sqrt(1 / 12), n)  # Var(x1) = 1/12 = Var(noise): S1 = 0.5
    assert first_order_index(x1, y) == pytest.approx(0.5, abs=0.02)
    assert first_order_index(x2, y) < 3 * index_noise(n)  # no effect: noise level only
    # a step function: all its variance is x1's (less a little where a class straddles the step)
    assert first_order_index(x1, x1 > 0.5) == pytest.approx(1.0, abs=0.02)
    assert first_order_index(x1, np.ones(n)) == 0.0  # nothing varies: nothing to explain


def test_worlds_are_the_same_whatever_else_is_drawn_and_however_many():
    d = spec.load("tempe-2018").distributions()
    one = sensitivity.draw_worlds({"planner.motion_trust_s": d["planner.motion_trust_s"]}, 0, 10, 3)
    many = sensitivity.draw_worlds(d, 0, 5000, 3)
    part = sensitivity.draw_worlds(d, 4090, 10, 3)  # across a block boundary
    np.testing.assert_array_equal(
        one["planner.motion_trust_s"], many["planner.motion_trust_s"][:10]
    )
    for k in d:
        np.testing.assert_array_equal(part[k], many[k][4090:4100])
        lo, hi = min(d[k].support), max(d[k].support)
        if isinstance(lo, float):
            assert lo <= many[k].min() and many[k].max() <= hi
    assert set(many["perception.events.7.class"]) == {"other", "vehicle"}


def test_a_world_run_in_a_batch_is_the_same_world_run_alone():
    # Joint draws may break a single file's cross-checks (emergency braking above what the
    # tyres give: the tyres then limit it), so the world alone is a batch of one too.
    s = spec.load("persistent-tracking")
    arrays = sensitivity.worlds(s, 40, seed=1)
    d = s.distributions()
    for i in (0, 17, 39):
        values = {k: arrays[k][i : i + 1] for k in d}
        none = perception.Draws(np.zeros((1, 0)), np.zeros((1, 0, 2)))  # replay: no draws
        source = perception.source(s.with_arrays(values), none, 1)
        alone = run_batch(s, 1, source, values=values)
        for k in ("collision", "impact_speed_mps", "stopping_margin_m", "first_hazard_s"):
            np.testing.assert_array_equal(alone[k], arrays[k][i : i + 1])


def test_plausible_worlds_reproduce_the_record():
    r = result()
    base = spec.load("tempe-2018")
    arrays = sensitivity.worlds(base, RUNS, seed=0)
    keep = sensitivity.RecordCheck().accepts(arrays)
    assert r.plausible["tempe-2018"].k == keep.sum() > 100  # enough worlds to say something
    mph = arrays["impact_speed_mps"][keep] / MPH
    before = (arrays["impact_time_s"] - arrays["first_hazard_s"])[keep]
    assert mph.min() >= 38.0 and mph.max() <= 40.0
    assert before.min() >= 1.1 - 1e-9 and before.max() <= 1.3 + 1e-9
    # the record constrains the assumptions: worlds whose speed at 1.2 s is far from what
    # 39 mph at impact allows are set aside
    knot = arrays["suv.profile.1.speed_mph"]
    assert knot[keep].mean() < knot.mean() - 0.3
    # the single run with every input at its value is itself a plausible world
    assert sensitivity.RecordCheck().accepts(
        {k: np.array([v]) for k, v in _single_arrays("tempe-2018").items()}
    )[0]


def _single_arrays(name: str) -> dict:
    s = simulate(spec.load(name)).summary
    return {
        "collision": s.collision,
        "impact_speed_mps": s.impact_speed_mps,
        "impact_time_s": s.impact_time_s,
        "first_hazard_s": s.first_hazard_s,
    }


def test_each_headline_has_its_probability_and_the_inputs_that_move_it():
    r = result()
    tracked = r.get("persistent-tracking")
    assert tracked.single["outcome"] == "avoided, 4.6 m to spare"  # the single run says: saved
    p, (lo, hi) = tracked.avoided.p, tracked.avoided.interval
    assert 0.5 < p < 0.95 and lo < p < hi and hi - lo < 0.2  # the worlds say: often, not always
    assert tracked.importance[0].key == "planner.motion_trust_s"  # the finding
    trust = tracked.importance[0]
    assert trust.low > 0.9 and trust.high < 0.5  # short trust saves her, long trust does not
    attentive = r.get("attentive-operator")
    assert attentive.importance[0].key == "operator.sight_distance_m"
    assert attentive.importance[0].high > attentive.importance[0].low  # farther sight helps
    aeb = r.get("volvo-aeb")
    assert aeb.importance[0].key.startswith("aeb.")
    assert r.get("no-suppression").avoided.k == 0  # it only lowers the speed, in every world
    # an input that moves nothing in the model ranks near the noise level
    bike = next(i for i in tracked.importance if i.key == "world.bike_lane_width_m")
    assert bike.index < 4 * tracked.index_noise


def test_the_outside_record_stands_beside_the_numbers():
    r = result()
    rows = {(o["fact"], o["question"]): o for o in r.outside_record}
    volvo = rows[("volvo-simulation", "avoided")]
    assert volvo["certainty"] == "U"
    assert volvo["claim_as_proportion"]["text"] == "85 % (64-95 %)"
    assert volvo["ours"] == r.get("volvo-aeb").avoided.to_dict()
    assert ("police-avoidable", "avoided") in rows
    ntsb = next(o for o in r.outside_record if o["fact"] == "ntsb-attentive")
    attentive = r.get("attentive-operator")
    assert attentive.avoided.p <= ntsb["ours"]["p"]  # "avoid or mitigate" is the wider claim


def test_same_seed_same_numbers_and_json():
    a = sensitivity.run(["persistent-tracking"], runs=512, seed=5).to_dict()
    b = sensitivity.run(["persistent-tracking"], runs=512, seed=5).to_dict()
    assert a == b
    c = sensitivity.run(["persistent-tracking"], runs=512, seed=6).to_dict()
    assert a["scenarios"][0]["avoided"] != c["scenarios"][0]["avoided"]
    text = json.dumps(a)
    assert '"interval": "Wilson score, 95 %"' in text and "Sobol" in text


# ---------------------------------------------------------------------------------------------
# Perception is a pluggable source: tracking and the planner never see where labels come from


class AlwaysPedestrian:
    """A stand-in for a classifier in the loop: labels and probabilities from what it sees."""

    def __init__(self) -> None:
        self.rows_seen: list[int] = []

    def frame(self, view: perception.View) -> Labels:
        self.rows_seen.append(len(view.rows))
        assert view.range_m.shape == view.lateral_m.shape == view.rows.shape
        m = len(view.rows)
        probs = np.tile(np.array([0.05, 0.05, 0.85, 0.05]), (m, 1))
        cls = np.full(m, CLASSES.index("pedestrian"), np.int8)
        return Labels(cls, np.full(m, 1, np.int8), probs)


def test_a_plugged_in_source_feeds_tracking_and_the_planner_unchanged():
    s = spec.load("tempe-2018")
    expected = simulate(spec.load("recognised-pedestrian")).summary
    src = AlwaysPedestrian()
    out = run_batch(s, 1, src)
    assert bool(out["collision"][0]) == expected.collision
    assert out["stopping_margin_m"][0] == pytest.approx(expected.stopping_margin_m, rel=1e-12)
    # Precomputed (runs, frames) labels do the same: the form a trained classifier's outputs take
    _, _, frames = perception.frame_steps(s)
    labels = np.full((1, frames), CLASSES.index("pedestrian"), np.int8)
    out2 = run_batch(s, 1, ArraySource(labels, np.ones((1, frames), np.int8)))
    assert out2["stopping_margin_m"][0] == out["stopping_margin_m"][0]


def test_a_source_sees_only_the_runs_still_going():
    s = spec.load("tempe-2018")
    n = 64
    speeds = np.linspace(25.0, 45.0, n)  # slower SUVs pass behind her and end early
    src = AlwaysPedestrian()
    run_batch(s, n, src, values={"suv.initial_speed_mph": speeds})
    assert src.rows_seen[0] == n and min(src.rows_seen) < n  # ended runs' rows were dropped


def test_the_scenarios_package_does_not_import_torch():
    code = (
        "import sys; import scenarios.simulate, scenarios.sweep, scenarios.sensitivity, "
        "scenarios.explain, scenarios.counterfactuals, scenarios.figures, scenarios.tradeoff; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_probabilities_come_in_the_shape_the_case_study_reads():
    from scenarios.case_study import outcomes

    probs = result().probabilities()
    tracked = result().get("persistent-tracking")
    assert probs["persistent-tracking"]["p_avoid"] == tracked.avoided.p
    assert probs["persistent-tracking"]["runs"] == tracked.avoided.n
    read = outcomes.from_probability({}, probs)  # the case study's own reader
    assert read["persistent-tracking"].p_avoid == pytest.approx(tracked.avoided.p)
    lo, hi = tracked.avoided.interval
    assert (read["persistent-tracking"].low, read["persistent-tracking"].high) == (lo, hi)


def test_worlds_in_parts_and_a_run_from_them_equal_the_whole():
    s = spec.load("volvo-aeb")
    whole = sensitivity.worlds(s, 700, 5)
    parts = [sensitivity.worlds(s, 700, 5, part=range(a, b)) for a, b in ((0, 300), (300, 700))]
    assert len(parts[0]["collision"]) == 300
    for k, v in whole.items():
        np.testing.assert_array_equal(np.concatenate([p[k] for p in parts]), v, err_msg=k)
    names = ["volvo-aeb", "no-suppression"]
    specs = sensitivity.simulated_specs(names)
    assert [x.name for x in specs] == ["tempe-2018", "volvo-aeb", "no-suppression"]
    given = {x.path: sensitivity.worlds(x, 700, 5) for x in specs}
    from_parts = sensitivity.run(names, runs=700, seed=5, simulated=given, single_runs=False)
    assert (
        from_parts.to_dict()
        == sensitivity.run(names, runs=700, seed=5, single_runs=False).to_dict()
    )
