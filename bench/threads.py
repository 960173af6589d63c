"""Threads under load: the measurement behind fragility.threads, and whole commands on a machine
that is doing other work.

    python bench/threads.py [--parts steps,commands] [--repeat 5] [--limit-factor 3]

Part 1, steps: the time of one training step (forward, backward, SGD update) of the lecture's
MLP (digits 8x8 and 28x28), the lecture's CNN (28x28), a CIFAR-sized CNN (3x32x32, 32-64-128
channels) and torchvision's ResNet-18 (3x32x32), at small and large batches, with 1 and 2
intra-op threads, on a quiet machine and with one and two competing busy processes (pure-Python
loops this script starts and stops). Median of `--repeat` timed steps after two warm-up steps.

Part 2, commands: whole commands as a user runs them, timed with time.perf_counter around
subprocess.run, on a quiet machine and with two competing busy processes:

- `fragility report` on digits, cold (a fresh FRAGILITY_CACHE, so it trains its three networks)
  and warm (the same cache again);
- `fragility train --dataset digits --model mlp --no-cache`.

Each under fragility's thread policy and with `--threads 2` (torch's old default on two cores:
one thread per core) beside it. Goal: under load no more than 2x the quiet time, and quiet no
slower than with the old default. A loaded run that exceeds `--limit-factor` times its quiet
time (at least 120 s) is stopped and reported as "> limit"; quiet runs are never stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from _harness import markdown_table, write_part

from fragility import models, threads

LOADS = {"quiet": 0, "1 busy process": 1, "2 busy processes": 2}
BUSY = "while True:\n    pass\n"


@contextlib.contextmanager
def busy(n: int) -> Iterator[None]:
    """n competing processes, each spinning one core, started here and stopped on exit."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(n)]
    try:
        time.sleep(0.5 if n else 0.0)  # let them get going
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


# ---------------------------------------------------------------------------------------------
# Part 1: training steps


def networks() -> list[tuple[str, torch.nn.Module, tuple[int, int, int], tuple[int, ...]]]:
    """(name, model, input shape, batch sizes)."""
    from torchvision.models import resnet18

    def spec(kind: str, shape: tuple[int, int, int], **kw) -> torch.nn.Module:
        s = models.default_spec(kind, shape)
        return models.build(models.ModelSpec(**{**s.to_dict(), **kw}))

    return [
        ("lecture MLP 64-16-16-10", spec("mlp", (1, 8, 8)), (1, 8, 8), (32, 256)),
        ("lecture MLP 784-16-16-10", spec("mlp", (1, 28, 28)), (1, 28, 28), (64, 256)),
        ("lecture CNN 16-32, 28x28", spec("cnn", (1, 28, 28)), (1, 28, 28), (64, 256)),
        (
            "CIFAR-sized CNN 32-64-128, 3x32x32",
            spec("cnn", (3, 32, 32), channels=(32, 64, 128), dense=256),
            (3, 32, 32),
            (32, 128),
        ),
        ("ResNet-18, 3x32x32", resnet18(num_classes=10), (3, 32, 32), (32, 128)),
    ]


def step_seconds(model: torch.nn.Module, shape, batch: int, n_threads: int, repeat: int) -> float:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((batch, *shape), generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    times = []
    with threads.for_work(0, fixed=n_threads):
        for i in range(repeat + 2):
            t0 = time.perf_counter()
            step()
            if i >= 2:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def part_steps(args: argparse.Namespace) -> str:
    rows = []
    nets = networks()
    for load, n_busy in LOADS.items():
        with busy(n_busy):
            for name, model, shape, batches in nets:
                for b in batches:
                    one = step_seconds(model, shape, b, 1, args.repeat)
                    two = step_seconds(model, shape, b, 2, args.repeat)
                    macs = 3 * b * threads.model_macs(model, shape)
                    rows.append(
                        [
                            name,
                            str(b),
                            f"{macs / 1e6:,.0f}",
                            load,
                            f"{1e3 * one:.2f}",
                            f"{1e3 * two:.2f}",
                            f"{two / one:.2f}",
                        ]
                    )
                    print(" | ".join(rows[-1]), flush=True)
    header = [
        "network",
        "batch",
        "M multiply-adds per step",
        "load",
        "ms, 1 thread",
        "ms, 2 threads",
        "2 threads / 1",
    ]
    return (
        "One training step (forward, backward, SGD update), median of "
        f"{args.repeat} after two warm-up steps. Busy processes are pure-Python loops started by "
        "the script. fragility.threads uses one thread below "
        f"{threads.LARGE_WORK_MACS / 1e6:.0f} M multiply-adds per step, and above it every core "
        "only while the rest of the machine is idle.\n\n" + markdown_table(header, rows)
    )


# ---------------------------------------------------------------------------------------------
# Part 2: whole commands


def run_command(argv: list[str], env: dict[str, str], limit_s: float | None) -> float | None:
    """Wall seconds of the command, or None if it ran past limit_s (then it is stopped)."""
    t0 = time.perf_counter()
    try:
        subprocess.run(
            argv, env=env, check=True, timeout=limit_s, stdout=subprocess.DEVNULL, stderr=None
        )
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - t0


def part_commands(args: argparse.Namespace) -> str:
    base = [sys.executable, "-m", "fragility"]
    work = Path(tempfile.mkdtemp(prefix="fragility-bench-threads-"))
    env = {k: v for k, v in os.environ.items() if k not in threads.ENV_VARS}
    commands = {
        "report, digits, cold cache": ("report", ["report", "--quiet", "--out"], True),
        "report, digits, warm cache": ("report", ["report", "--quiet", "--out"], False),
        "train --dataset digits --model mlp --no-cache": (
            "train",
            ["train", "--dataset", "digits", "--model", "mlp", "--no-cache", "--quiet", "--out"],
            False,
        ),
    }
    settings = {"fragility's policy": [], "--threads 2 (torch's old default)": ["--threads", "2"]}
    quiet: dict[tuple[str, str], float] = {}
    rows = []
    try:
        for load in ("quiet", "2 busy processes"):
            with busy(LOADS[load]):
                for setting, extra in settings.items():
                    cache = work / "cache"  # the cold run empties it, the warm run reuses it
                    for what, (_, argv, cold) in commands.items():
                        if cold and cache.exists():
                            shutil.rmtree(cache)
                        run_env = {**env, "FRAGILITY_CACHE": str(cache)}
                        out = work / "out"
                        quiet_s = quiet.get((what, setting), 60.0)  # quiet runs: no limit
                        limit = None if load == "quiet" else max(120.0, args.limit_factor * quiet_s)
                        seconds = run_command([*base, *argv, str(out), *extra], run_env, limit)
                        shutil.rmtree(out, ignore_errors=True)
                        if load == "quiet" and seconds is not None:
                            quiet[(what, setting)] = seconds
                        rows.append((what, setting, load, seconds, limit))
                        shown = f"> {limit:.0f} (stopped)" if seconds is None else f"{seconds:.1f}"
                        print(f"{what} | {setting} | {load} | {shown} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _commands_table(rows, quiet)


def _commands_table(rows, quiet) -> str:
    table, verdicts = [], []
    for what, setting, load, seconds, limit in rows:
        base = quiet.get((what, setting))
        shown = f"> {limit:.0f} (stopped)" if seconds is None else f"{seconds:.1f}"
        if load == "quiet" or base is None:
            ratio = "1.0" if load == "quiet" else ""
        else:
            ratio = f"> {limit / base:.1f}" if seconds is None else f"{seconds / base:.2f}"
        table.append([what, setting, load, shown, ratio])
        if load != "quiet" and setting.startswith("fragility") and base is not None:
            ok = seconds is not None and seconds <= 2 * base
            verdicts.append(
                f"- {what}: under load {shown} s against {base:.1f} s quiet: "
                f"{'met' if ok else 'NOT met'} (goal: no more than 2x)"
            )
    for what in {w for w, *_ in rows}:
        ours, old = (
            quiet.get((what, "fragility's policy")),
            [v for (w, s), v in quiet.items() if w == what and s.startswith("--threads")],
        )
        if ours is not None and old:
            verdicts.append(
                f"- {what}: quiet {ours:.1f} s under the policy against {old[0]:.1f} s with "
                f"--threads 2: {'no slower' if ours <= 1.1 * old[0] else 'SLOWER'}"
            )
    header = ["command", "threads", "load", "wall seconds", "x its quiet time"]
    text = "\n".join(sorted(verdicts))
    print(text)
    return (
        "Whole commands (subprocess, time.perf_counter), each in a fresh process. Two busy "
        "processes are two pure-Python loops, one per core on the reference machine.\n\n"
        + markdown_table(header, table)
        + "\n\n"
        + text
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="steps,commands")
    ap.add_argument("--repeat", type=int, default=5, help="timed steps per cell (median)")
    ap.add_argument(
        "--limit-factor", type=float, default=3.0, help="stop a loaded run past this x quiet"
    )
    args = ap.parse_args()
    parts = args.parts.split(",")
    body = []
    if "steps" in parts:
        body.append("### Training steps\n\n" + part_steps(args))
    if "commands" in parts:
        body.append("### Whole commands\n\n" + part_commands(args))
    write_part("threads", "Threads on a busy machine", "\n\n".join(body))


if __name__ == "__main__":
    main()
