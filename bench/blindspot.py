"""The 2018 blind spot in fragility's own networks, at full size.

    python bench/blindspot.py [--n-train 12000] [--n-test 3000] [--runs 50] [--json FILE]

Trains the lecture's MLP (16-16 sigmoid) and CNN on the blind-spot and the fixed training
sets of rendered crops (`scenarios.crops`), with fragility's default settings for sets of
that size, and shows each the Tempe encounter (a pedestrian walking a bicycle away from a
crossing, at night, 105 m to 8 m, 10 frames a second) `--runs` times with fresh sensor
noise. Reports each network's accuracy on its own test split and, on her crops, the share
of frames with each top class, the share called pedestrian by range, how often the top class
changes from one frame to the next, and how often it is wrong with 90 % or more confidence.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _harness import markdown_table, write_part

_HERE = Path(__file__).resolve().parent  # see bench/render.py: keep `scenarios` the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from fragility._fmt import pct  # noqa: E402
from scenarios import classifier, crops, spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-train", type=int, default=12_000)
    ap.add_argument("--n-test", type=int, default=3_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--json", type=Path, help="also write every number here")
    args = ap.parse_args()
    cpu0, t0 = time.process_time(), time.perf_counter()
    probes = classifier.blind_spot(
        spec.load("tempe-2018"), n_train=args.n_train, n_test=args.n_test, runs=args.runs
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    bands = [b for b in probes[0].tempe.truth_by_range]
    rows = []
    for p in probes:
        t = p.tempe
        rows.append(
            [
                p.training_set,
                p.model,
                f"{p.train_seconds:.0f}",
                pct(p.test_accuracy),
                pct(p.class_accuracy["pedestrian"]),
                " / ".join(pct(t.top_share[c]) for c in crops.CLASSES),
                " / ".join(pct(t.truth_by_range[b]) for b in bands),
                f"{t.changes_per_run:.1f} ({t.change_rate_hz:.1f}/s)",
                pct(t.confident_wrong),
            ]
        )
    header = [
        "training set",
        "model",
        "train s",
        "test accuracy",
        "pedestrians found (test)",
        "Tempe top class: " + " / ".join(crops.CLASSES),
        "Tempe called pedestrian: " + " / ".join(bands),
        "class changes per run",
        "confidently wrong",
    ]
    frames = probes[0].tempe.frames
    body = (
        markdown_table(header, rows)
        + f"\n\n{args.n_train:,} training and {args.n_test:,} test crops per set (32x32 grey);"
        f" the Tempe encounter rendered {args.runs} times, {frames} frames each (5.6 to 0.3 s"
        f" before impact at 10 Hz). 'Confidently wrong': top class not pedestrian with"
        f" probability >= 90 %. Whole run: {wall:.0f} s wall, {cpu:.0f} s CPU."
    )
    print(body)
    write_part("blindspot", "The 2018 blind spot in fragility's networks", body)
    if args.json:
        args.json.write_text(json.dumps([p.to_dict() for p in probes], indent=2) + "\n")


if __name__ == "__main__":
    main()
