"""A batch of many runs gives exactly the single runs' results for the same draws.

One simulator runs both (a single run is a batch of one), so what this checks is the batch's
own machinery: per-run values (with_arrays) against a spec with those values written in,
rows dropped as runs end, the block-by-block draws and their chunking.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios import spec, sweep
from scenarios.simulate import simulate

FLOATS = (
    "impact_time_s",
    "impact_speed_mps",
    "first_hazard_s",
    "brake_onset_s",
    "alert_s",
    "takeover_s",
    "operator_brake_s",
    "aeb_trigger_s",
    "stopping_margin_m",
    "longest_history_s",
    "velocity_known_s",
    "end_s",
    "peak_ads_decel_mps2",
)


def test_the_comparison_covers_every_result_field():
    assert set(FLOATS) | {"collision", "resets", "tracks", "brake_by"} == set(sweep.RESULT_FIELDS)


def single_as_arrays(s, draws) -> dict:
    """The single run's summary under the names of the sweep's arrays."""
    run = simulate(s, draws=draws)
    r = run.summary
    out = {k: getattr(r, k) for k in FLOATS if hasattr(r, k)}
    out["peak_ads_decel_mps2"] = max(
        (row.plan.decel for row in run.trace if row.ads_engaged), default=0.0
    )
    out.update(
        collision=r.collision,
        brake_by=r.brake_by,
        resets=r.continuity.resets,
        tracks=r.continuity.tracks,
        longest_history_s=r.continuity.longest_history_s,
        velocity_known_s=r.continuity.velocity_known_s,
    )
    return out


def assert_same(arrays: dict, i: int, single: dict) -> None:
    assert bool(arrays["collision"][i]) == single["collision"]
    assert int(arrays["resets"][i]) == single["resets"]
    assert int(arrays["tracks"][i]) == single["tracks"]
    assert sweep.brake_by_names(int(arrays["brake_by"][i])) == single["brake_by"]
    for k in FLOATS:
        a, b = float(arrays[k][i]), single[k]
        if b is None:
            assert math.isnan(a), (k, a)
        else:
            assert a == pytest.approx(b, rel=1e-12, abs=1e-12), (k, a, b)


def test_monte_carlo_runs_equal_single_runs_with_the_same_draws():
    s = spec.load("tempe-2018-monte-carlo")  # flicker, noise and three sampled inputs
    arrays = sweep.run_cell(s, 24, s.sweep.seed)
    assert len(set(np.round(arrays["impact_speed_mps"], 9))) > 10  # the runs do differ
    for i in range(24):
        si, di = sweep.run_inputs(s, i)
        assert si.pedestrian.speed_mps == arrays["pedestrian.speed_mps"][i]
        assert_same(arrays, i, single_as_arrays(si, di))


def test_a_grid_cell_and_a_run_past_the_first_block_equal_their_single_runs():
    s = spec.load("flicker-vs-suppression")
    c = 5 * 5 + 3  # rates x suppressions, the last axis fastest: rate 4.3, suppression 1.0
    values, cell_spec = sweep.cells(s)[c]
    assert values == {"perception.flicker.rate_hz": 4.3, "planner.suppression_s": 1.0}
    arrays = sweep.run_cell(cell_spec, 6, s.sweep.seed, c)
    for i in range(6):
        si, di = sweep.run_inputs(cell_spec, i, c)
        assert_same(arrays, i, single_as_arrays(si, di))
    mc = spec.load("tempe-2018-monte-carlo")
    far = sweep.BLOCK + 3  # run 3 of the second block of seed 7
    arrays = sweep.run_cell(mc, far + 1, 7)
    samples, draws = sweep.draw_block(mc, 7, 0, 1)
    si = mc.with_values({k: float(v[3]) for k, v in samples.items()})
    assert_same(arrays, far, single_as_arrays(si, draws.row(3)))


def test_results_do_not_depend_on_how_many_runs_are_asked_for():
    s = spec.load("tempe-2018-monte-carlo")
    small = sweep.run_cell(s, 50, 3)
    large = sweep.run_cell(s, sweep.BLOCK + 100, 3)
    for k in small:
        np.testing.assert_array_equal(small[k], large[k][:50])
    again = sweep.run_cell(s, 50, 3)
    np.testing.assert_array_equal(small["impact_speed_mps"], again["impact_speed_mps"])
    other = sweep.run_cell(s, 50, 4)
    assert not np.array_equal(small["impact_speed_mps"], other["impact_speed_mps"])


def test_every_deterministic_counterfactual_agrees_with_its_single_run():
    for name in (
        "tempe-2018",
        "persistent-tracking",
        "volvo-aeb",
        "attentive-operator",
        "all-braking-fixes",
        "recognised-pedestrian-jaywalkers",
    ):
        s = spec.load(name)
        arrays = sweep.run_cell(s, 2, 0)
        single = single_as_arrays(s, None)
        assert_same(arrays, 0, single)
        assert_same(arrays, 1, single)


def test_a_grid_sweep_aggregates_its_cells():
    result = sweep.sweep(spec.load("speed-vs-walking"))
    assert len(result.cells) == 7 * 8 and result.runs_per_cell == 1
    cell = next(
        c
        for c in result.cells
        if c.values == {"suv.initial_speed_mph": 43.0, "pedestrian.speed_mps": 1.4}
    )
    assert cell.collision_probability == 1.0
    assert cell.mean_impact_speed_mph == pytest.approx(39.12, abs=0.01)
    slow = next(
        c
        for c in result.cells
        if c.values == {"suv.initial_speed_mph": 30.0, "pedestrian.speed_mps": 1.4}
    )
    assert slow.collision_probability == 0.0  # slower, she is across before it arrives
    assert result.to_dict()["cells"][0]["values"] == {
        "suv.initial_speed_mph": 30.0,
        "pedestrian.speed_mps": 1.0,
    }


def test_a_cell_run_in_chunks_of_blocks_equals_the_whole_cell():
    s = spec.load("tempe-2018-monte-carlo")
    runs = 2 * sweep.BLOCK + 57  # three blocks, the last one short
    whole = sweep.run_cell(s, runs, 11)
    chunks = [sweep.run_cell(s, runs, 11, blocks=r) for r in (range(0, 1), range(1, 3))]
    assert len(chunks[0]["collision"]) == sweep.BLOCK
    assert len(chunks[1]["collision"]) == sweep.BLOCK + 57
    for k, v in whole.items():
        joined = np.concatenate([c[k] for c in chunks])
        np.testing.assert_array_equal(joined, v, err_msg=k)
    cell = sweep.summarise_cell({}, runs, whole)
    assert cell.collision_probability == round(float(whole["collision"].mean()), 9)
