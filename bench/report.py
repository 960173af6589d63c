"""Report benchmark: wall time of the whole `fragility report` command.

    python bench/report.py [--skip-fashion]

Digits with a cold model cache (a fresh, empty cache folder: every model is trained) and warm
(the same folder again: every model comes from the cache), and Fashion-MNIST cold. Each run is
a separate process timed with time.perf_counter around it, so start-up and imports count, as
they do for a user. Targets on 2 cores: digits under 60 s cold and 20 s warm; Fashion-MNIST
under 5 minutes cold.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _harness import markdown_table, write_part

TARGETS = {("digits", "cold"): 60, ("digits", "warm"): 20, ("fashion-mnist", "cold"): 300}


def run_report(dataset: str, cache: str, out: str) -> float:
    env = {**os.environ, "FRAGILITY_CACHE": cache}
    cmd = [
        sys.executable,
        "-m",
        "fragility",
        "report",
        "--dataset",
        dataset,
        "--quiet",
        "--out",
        out,
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-fashion", action="store_true")
    args = ap.parse_args()
    rows = []
    plan = [("digits", "cold"), ("digits", "warm")]
    if not args.skip_fashion:
        plan.append(("fashion-mnist", "cold"))
    with tempfile.TemporaryDirectory() as tmp:
        caches = {}
        for dataset, state in plan:
            if state == "cold":
                caches[dataset] = tempfile.mkdtemp(dir=tmp)
            seconds = run_report(dataset, caches[dataset], os.path.join(tmp, f"{dataset}-{state}"))
            target = TARGETS[(dataset, state)]
            verdict = "met" if seconds < target else "NOT met"
            rows.append([dataset, f"{state} cache", f"{seconds:.1f}", f"< {target} s: {verdict}"])
            print(rows[-1], flush=True)
    table = markdown_table(["dataset", "model cache", "wall seconds", "target"], rows)
    print(table)
    write_part("report", "fragility report, whole command", table)


if __name__ == "__main__":
    main()
