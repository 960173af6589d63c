"""The numbers every packaged scenario gave before the simulator became one: a regression record.

`python tests/scenario_golden.py` rewrites tests/data/scenario_golden.json from the code as it
stands; tests/test_scenarios_golden.py checks the code against the file. Rewrite it only for a
change meant to move the numbers, and say which in the commit.

What is kept, per scenario without a [sweep]: the summary; the state machine's timeline (planner
mode, predicted path kind, track id, operator and AEB flags at every step, run-length encoded);
speed, acceleration, command and gap every 10th step and at the last step. Per sweep file: its
cells' aggregates for a fixed number of runs, and for the 100,000-run file every result of its
first 100 runs.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

GOLDEN = Path(__file__).with_name("data") / "scenario_golden.json"
MC_RUNS = 100
GRID_RUNS = 64
RECORDED_FIELDS = 16  # a Monte Carlo run's results when the record was written: the first 16


def _rle(values: list) -> list:
    out: list = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


def _num(x) -> float | None:
    """Ten significant digits: the test compares to 1e-8 relative."""
    x = float(x)
    return None if math.isnan(x) else float(f"{x:.10g}")


def run_record(result) -> dict:
    rows = result.trace
    return {
        "summary": result.summary.to_dict(),
        "timeline": {
            "mode": _rle([int(r.plan.mode) for r in rows]),
            "kind": _rle([int(r.prediction.kind) for r in rows]),
            "track": _rle([int(r.track.id) for r in rows]),
            "known": _rle([bool(r.velocity_known) for r in rows]),
            "engaged": _rle([bool(r.ads_engaged) for r in rows]),
            "operator": _rle(
                [
                    [r.operator.why, bool(r.operator.took_over), bool(r.operator.braking)]
                    for r in rows
                ]
            ),
            "aeb": _rle([bool(r.aeb.braking) for r in rows]),
        },
        "kinematics": [
            [
                _num(x)
                for x in (
                    r.t_s,
                    r.suv_x,
                    r.suv_v,
                    r.suv_a,
                    r.a_cmd,
                    r.gap_m,
                    r.plan.decel,
                    r.track.x,
                )
            ]
            for i, r in enumerate(rows)
            if i % 10 == 0 or i == len(rows) - 1
        ],
    }


def recorded(s) -> bool:
    """Whether the record keeps a scenario: not a trade-off (its designs are scenarios recorded
    here) and not a classifier in the loop (its numbers are those of a network trained on this
    machine; tests/test_scenarios_classifier.py checks them by seed)."""
    return s.tradeoff is None and s.perception.mode != "classifier"


def snapshot() -> dict:
    from scenarios import spec, sweep
    from scenarios.simulate import simulate

    runs, sweeps = {}, {}
    for name in spec.packaged_names():
        s = spec.load(name)
        if not recorded(s):
            continue
        if s.sweep is None:
            runs[name] = run_record(simulate(s, seed=0))
            continue
        if name == "tempe-2018-monte-carlo":
            arrays = sweep.run_cell(s, MC_RUNS, s.sweep.seed)
            keys = [*sweep.RESULT_FIELDS[:RECORDED_FIELDS], *(k for k, _ in s.sweep.sample)]
            sweeps[name] = {k: [_num(x) for x in arrays[k]] for k in sorted(keys)}
            continue
        runs_per_cell = min(GRID_RUNS, s.sweep.runs)
        result = sweep.sweep(s, runs=runs_per_cell)
        sweeps[name] = {  # numbers only: an interval's wording is presentation
            "runs_per_cell": runs_per_cell,
            "cells": [
                {k: v for k, v in c.to_dict().items() if k != "collision_interval"}
                for c in result.cells
            ],
        }
    return {"runs": runs, "sweeps": sweeps}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    GOLDEN.parent.mkdir(exist_ok=True)
    text = json.dumps(snapshot(), separators=(",", ":"), sort_keys=True)
    GOLDEN.write_text(text + "\n")
    print(f"{GOLDEN}: {len(text):,} bytes")
