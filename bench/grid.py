"""Grids: how the workers scale, and what Ray costs over local worker processes.

1. The packaged digits-small grid (12 jobs: 4 networks trained, attacked, asked for garbage),
   run by the command a user types: first with --workers 1, where every job runs alone on one
   core (their times, summed, are the single-core work), then with --workers 2. Target: the
   2-worker wall time at most 1.1 x (sum of single-core job times) / 2.
2. A grid of long jobs (four trainings of about a minute each on 2 cores, and a short attack
   of each) with --workers 2 and with --ray auto (a local Ray instance, started by the command
   and counted in its time). Target: Ray adds under 10 %.

Every run gets an empty model cache, so trainings are done, not loaded. The times are of the
whole command (process start to exit), measured with time.perf_counter around it.

    python bench/grid.py                  # both parts, each rewriting its part of RESULTS.md
    python bench/grid.py --only workers   # or --only ray: one part
    python bench/grid.py --quick          # shorter jobs: a check that the script works
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import markdown_table, write_part

ROOT = Path(__file__).resolve().parents[1]

LONG = """\
name = "long-jobs"
seeds = [0, 1]
[[models]]
name = "cnn"
lecture = {{ kind = "cnn" }}
train = {{ epochs = {epochs} }}
[[models]]
name = "cnn-wide"
lecture = {{ kind = "cnn", channels = [24, 32] }}
train = {{ epochs = {epochs} }}
[[analyses]]
kind = "attack"
epsilons = [0.1]
steps = 10
"""


def run_grid(grid: str, out: Path, *extra: str) -> tuple[float, float, list[tuple[str, float]]]:
    """The command's wall time, the run's (from the store: the first job's start to the last
    one's end, as the coordinator saw them) and (job, seconds) of every job."""
    env = {**os.environ, "FRAGILITY_CACHE": str(out.parent / f"{out.name}-cache")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "fragility", "grid", grid, "--out", str(out), "--quiet", *extra]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    with sqlite3.connect(out / "grid.sqlite") as db:
        jobs = list(db.execute("SELECT id, seconds FROM jobs WHERE status = 'done'"))
        (span,) = db.execute("SELECT MAX(finished) - MIN(started) FROM jobs").fetchone()
    return wall, span, jobs


def scaling(tmp: Path) -> str:
    one, _, jobs = run_grid("digits-small", tmp / "w1", "--workers", "1")
    work = sum(s for _, s in jobs)
    two, span, jobs2 = run_grid("digits-small", tmp / "w2", "--workers", "2")
    bound = 1.1 * work / 2

    def verdict(t: float) -> str:
        return f"{t / (work / 2):.2f} x (sum / 2): {'met' if t <= bound else 'NOT met'}"

    rows = [
        ["sum of the 12 jobs' single-core times (--workers 1)", f"{work:.1f}", ""],
        ["whole command, --workers 1", f"{one:.1f}", f"{one / work:.2f} x the sum"],
        ["jobs running, --workers 2 (first start to last end)", f"{span:.1f}", verdict(span)],
        ["whole command, --workers 2", f"{two:.1f}", verdict(two)],
        ["sum of the jobs' times with 2 workers", f"{sum(s for _, s in jobs2):.1f}", ""],
        [
            "packing: the span over (that sum / 2)",
            "",
            f"{span / (sum(s for _, s in jobs2) / 2):.2f} (1.0: no worker ever idle)",
        ],
    ]
    slowest = sorted(jobs, key=lambda j: -j[1])[:4]
    slowdown = sum(s for _, s in jobs2) / work
    note = (
        f"Target: 1.1 x (sum / 2) = {bound:.1f} s. The whole command also starts Python and "
        "torch, loads the data and starts the workers; the jobs' span is what the executor "
        f"controls. With two workers each job took {slowdown:.2f} x its time alone (1.0 when "
        "the machine gives the grid both cores). Longest jobs alone on one core: "
        + ", ".join(f"{j} {s:.1f} s" for j, s in slowest)
    )
    return markdown_table(["run", "seconds", "ratio"], rows) + "\n\n" + note + "."


def ray_overhead(tmp: Path, epochs: int) -> str:
    path = tmp / "long.toml"
    path.write_text(LONG.format(epochs=epochs))
    local, _, jobs_l = run_grid(str(path), tmp / "local", "--workers", "2")
    on_ray, _, jobs_r = run_grid(str(path), tmp / "ray", "--ray", "auto")
    trains = [s for j, s in jobs_l if j.endswith("/train")]
    rows = [
        ["local, --workers 2", f"{local:.1f}", f"{sum(s for _, s in jobs_l):.1f}", "1.00", ""],
        [
            "Ray, --ray auto (local instance, 2 CPUs)",
            f"{on_ray:.1f}",
            f"{sum(s for _, s in jobs_r):.1f}",
            f"{on_ray / local:.2f}",
            f"< 1.10: {'met' if on_ray < 1.1 * local else 'NOT met'}",
        ],
    ]
    table = markdown_table(
        ["executor", "wall seconds", "sum of job seconds", "ratio to local", "target"], rows
    )
    note = (
        f"Four trainings of {min(trains):.0f}-{max(trains):.0f} s each (two CNNs x two seeds, "
        f"{epochs} epochs on the digits) and four short attacks; the Ray time includes starting "
        "the local Ray instance."
    )
    return table + "\n\n" + note


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short jobs; results not written")
    p.add_argument("--only", choices=("workers", "ray"), help="run one part")
    args = p.parse_args()
    parts = {
        "workers": ("Grids: workers on the digits-small grid", lambda tmp: scaling(tmp)),
        "ray": (
            "Grids: Ray beside local worker processes, jobs of a minute or more",
            lambda tmp: ray_overhead(tmp, 20 if args.quick else 600),
        ),
    }
    for name, (title, measure) in parts.items():
        if args.only not in (None, name):
            continue
        start = _load()
        with tempfile.TemporaryDirectory(prefix="fragility-bench-grid-") as tmp:
            table = measure(Path(tmp))
        body = (
            f"{table}\n\nLoad average (1 min) at the start: {start}, at the end: {_load()}, "
            f"on {os.cpu_count()} cores: other processes slow every number above."
        )
        print(f"## {title}\n\n{body}\n")
        if not args.quick:
            write_part(f"grid-{name}", title, body)


if __name__ == "__main__":
    main()
