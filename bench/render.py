"""Renderer benchmark: rendered crops per second, batched, beside rendering one at a time.

    python bench/render.py [--crops 8000] [--peer-crops 300]

The crops are the training sets' mix (every kind and view, every light, ranges 6-110 m,
crossings, occlusion, box jitter) at 32 x 32 grey, then 32 x 32 colour, then the Tempe
sequence (one object, 54 frames a run). Target: a few thousand crops a second on one core.
The peer is the obvious unbatched way, `render` called once per crop with the same random
numbers; each crop draws its own row of them, so both give the same crops, which is checked.
CPU seconds are given beside wall seconds: on a shared machine the wall time includes waiting.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _harness import markdown_table, timed, write_part

# This folder holds scenarios.py, a benchmark named like the package it measures: take the
# folder off the path so that `import scenarios` finds the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from scenarios import crops, render, spec, sprites  # noqa: E402

TARGET = 2000.0  # crops per second on one core


def training_mix(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    objects = sprites.draw_objects(np.arange(n) % len(sprites.KINDS), rng)
    views, _ = crops.draw_views(objects, rng.random(n) < 0.3, rng)
    return objects, views


def measure(fn) -> tuple[np.ndarray, float, float]:
    """(result, wall seconds, CPU seconds) of one call."""
    cpu0 = time.process_time()
    result, seconds = timed(fn)
    return result, seconds, time.process_time() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crops", type=int, default=8000)
    ap.add_argument("--peer-crops", type=int, default=300)
    args = ap.parse_args()
    objects, views = training_mix(args.crops)
    render.render(objects.take(slice(0, 500)), views.take(slice(0, 500)), np.random.default_rng(0))

    def batched(channels: int, n: int = args.crops):
        return lambda: render.render(
            objects.take(slice(0, n)),
            views.take(slice(0, n)),
            np.random.default_rng(1),
            channels=channels,
            box_jitter=0.05,
        )

    def one_at_a_time():
        rng = np.random.default_rng(1)
        return np.concatenate(
            [
                render.render(objects.take([i]), views.take([i]), rng, box_jitter=0.05)
                for i in range(args.peer_crops)
            ]
        )

    rows = []
    grey, wall, cpu = measure(batched(1))
    rate = args.crops / cpu
    verdict = f"> {TARGET:.0f}/s on one core: {'met' if rate > TARGET else 'NOT met'}"
    rows.append(["render, batched: training mix, 32x32 grey", args.crops, wall, cpu, 1.0, verdict])
    _, wall_c, cpu_c = measure(batched(3))
    rows.append(
        ["render, batched: training mix, 32x32 colour", args.crops, wall_c, cpu_c, None, ""]
    )
    s = spec.load("tempe-2018")
    runs = max(1, args.crops // len(crops.tempe_times()))
    tempe, wall_t, cpu_t = measure(lambda: crops.tempe_crops(s, runs=runs, seed=1))
    n_tempe = tempe.crops.shape[0] * tempe.crops.shape[1]
    rows.append(
        [
            f"tempe_crops: {runs} runs x {tempe.crops.shape[1]} frames, 32x32 grey",
            n_tempe,
            wall_t,
            cpu_t,
            None,
            "",
        ]
    )
    peer, wall_p, cpu_p = measure(one_at_a_time)
    same = np.array_equal(peer, grey[: args.peer_crops])
    slower = (cpu_p / args.peer_crops) / (cpu / args.crops)
    rows.append(
        [
            "peer: render called once per crop",
            args.peer_crops,
            wall_p,
            cpu_p,
            slower,
            f"same crops: {'yes' if same else 'NO'}",
        ]
    )
    table = markdown_table(
        ["implementation", "crops", "wall s", "CPU s", "crops/s (CPU)", "ratio", "note"],
        [
            [
                name,
                f"{n:,}",
                f"{w:.2f}",
                f"{c:.2f}",
                f"{n / c:,.0f}",
                "" if r is None else ("1.0" if r == 1.0 else f"{r:.0f}x slower"),
                note,
            ]
            for name, n, w, c, r, note in rows
        ],
    )
    print(table)
    write_part("render", "Renderer: crops per second", table)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"(total {time.perf_counter() - t0:.1f} s)")
