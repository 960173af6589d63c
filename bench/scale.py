"""Scale benchmark: fragility on a user's CIFAR-10-sized models, brought with --model-factory.

    python bench/scale.py [--folder DIR] [--parts pgd,report] [--models resnet18,small_cnn]

1. One PGD step on the CIFAR-10 ResNet-18 (bench/cifar_models.py) against one bare forward
   and backward pass to the input, with torchattacks' PGD beside it in the same run: the same
   batch of 32 images, the same thread count, each timed at 2 and at 10 steps without early
   stopping, so that the difference over 8 steps is the cost of a step with the fixed costs
   (start, checks, last evaluation) taken out. The median of 5 rounds, the three interleaved
   in each. Target: <= 1.05x.
2. `fragility report --quick` on each model, a fresh process with a cold model cache (the
   helper networks, the autoencoder and the shortcut lesson's CNN, are trained in the run),
   on images in CIFAR-10's shape that bench/cifar_like.py generates (50,000 training and
   1,000 test images; the real set cannot be fetched here). Targets on 2 cores: ResNet-18
   under 10 minutes, the small CNN under 3.

The models' weights are trained here briefly, on the first 4,000 generated training images
for two epochs (ResNet-18) or 10,000 for four (the small CNN), and saved with safetensors in
--folder, as a user would.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cifar_like
import cifar_models
import torch
import torch.nn.functional as F
from _harness import markdown_table, write_part

from fragility import data, threads
from fragility.attacks import PGD
from fragility.attacks.core import attack_mode

HERE = Path(__file__).resolve().parent
TRAINING = {"resnet18": (4_000, 2), "small_cnn": (10_000, 4)}  # images, epochs
TARGETS = {"resnet18": 600, "small_cnn": 180}  # seconds
EPS, STEP, BATCH = 8 / 255, 2 / 255, 32


def prepare(folder: Path, names: list[str]) -> dict[str, Path]:
    """The generated data and each model's briefly trained weights, made once per folder."""
    npz = folder / "cifar_like.npz"
    if not npz.exists():
        cifar_like.write(npz)
    bundle = data.load(data.DataSource("npz", folder=str(npz)))
    paths = {"data": npz}
    for name in names:
        path = folder / f"{name}.safetensors"
        if not path.exists():
            model = getattr(cifar_models, name)()
            n, epochs = TRAINING[name]
            t0 = time.perf_counter()
            accuracy = train_briefly(model, bundle.x_train[:n], bundle.y_train[:n], epochs, bundle)
            print(f"{name}: trained in {time.perf_counter() - t0:.0f} s, test {accuracy:.3f}")
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
        paths[name] = path
    return paths


def train_briefly(model, x, y, epochs: int, bundle) -> float:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with threads.for_model(model, (32, *x.shape[1:])):
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(x))
            for i in range(0, len(x), 32):
                idx = order[i : i + 32]
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            pred = torch.cat(
                [model(bundle.x_test[i : i + 250]).argmax(1) for i in range(0, 1000, 250)]
            )
    return float((pred == bundle.y_test[:1000]).float().mean())


def pgd_step(model, x, y, repeat: int = 5) -> dict[str, tuple[float, float]]:
    """Seconds per step (the difference between 10 and 2 steps, over 8) of fragility's PGD,
    a bare forward + backward to the input, and torchattacks' PGD, as (CPU seconds of this
    process, wall seconds): the median over `repeat` rounds, each round running the three in
    turn (in a rotated order). With one thread, CPU time barely depends on what else the
    machine runs; wall time does."""
    import torchattacks

    def ours(steps: int) -> None:
        PGD(steps=steps, step=STEP).run(model, x, y, EPS, batch_size=len(x), early_stop=False)

    def bare(steps: int) -> None:
        with attack_mode(model, x, y):  # eval mode, parameters frozen, as the attack has them
            for _ in range(steps):
                xg = x.detach().requires_grad_(True)
                loss = F.cross_entropy(model(xg), y, reduction="sum")
                torch.autograd.grad(loss, xg)

    def peer(steps: int) -> None:
        torchattacks.PGD(model, eps=EPS, alpha=STEP, steps=steps, random_start=True)(x, y)

    runs = {"fragility PGD": ours, "bare forward+backward": bare, "torchattacks PGD": peer}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    with threads.for_model(model, tuple(x.shape)):  # the fixed count, for torchattacks too
        for fn in runs.values():
            fn(1)  # warm up
        for r in range(repeat):
            for name in names[r % 3 :] + names[: r % 3]:
                c, w = {}, {}
                for steps in (2, 10):
                    c0, w0 = time.process_time(), time.perf_counter()
                    runs[name](steps)
                    c[steps], w[steps] = time.process_time() - c0, time.perf_counter() - w0
                cpu[name].append((c[10] - c[2]) / 8)
                wall[name].append((w[10] - w[2]) / 8)
    return {n: (statistics.median(cpu[n]), statistics.median(wall[n])) for n in runs}


def report_seconds(
    name: str, paths: dict[str, Path], out: Path
) -> tuple[float, float, float, dict]:
    """Wall time and CPU time of `fragility report --quick` on one model, in a fresh process
    with a cold cache; the peak resident memory of the processes run so far; and the
    manifest's seconds per step."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "FRAGILITY_CACHE": cache}
        cmd = [sys.executable, "-m", "fragility", "report", "--quick", "--quiet"]
        cmd += ["--model-factory", f"{HERE / 'cifar_models.py'}:{name}", "--weights"]
        cmd += [str(paths[name]), "--name", name, "--dataset", "npz", "--data-dir"]
        cmd += [str(paths["data"]), "--out", str(out)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peak_gb = after.ru_maxrss / 1024**2  # the largest child so far, in GB (ru_maxrss is KB)
    manifest = json.loads((out / "manifest.json").read_text())
    return seconds, cpu, peak_gb, manifest["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "fragility-scale"))
    ap.add_argument("--parts", default="pgd,report")
    ap.add_argument("--models", default="resnet18,small_cnn")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for the PGD timings, fixed for all three runs (default: 1)",
    )
    args = ap.parse_args()
    folder = Path(args.folder)
    names = [m for m in args.models.split(",") if m]
    parts = set(args.parts.split(","))
    paths = prepare(folder, names)
    if "pgd" in parts:
        body = [_load_line()]
        bundle = data.load(data.DataSource("npz", folder=str(paths["data"])))
        model = cifar_models.resnet18()
        from fragility.sources import apply_weights, load_weights

        apply_weights(model, load_weights(paths["resnet18"]), "resnet18")
        model.eval()
        x, y = bundle.x_test[:BATCH], bundle.y_test[:BATCH]
        threads.configure(args.threads)  # one fixed count: the same for all three runs
        step = pgd_step(model, x, y)
        threads.configure(None)
        floor_cpu, floor_wall = step["bare forward+backward"]
        rows = [
            [k, f"{1e3 * c:.0f}", f"{c / floor_cpu:.3f}", f"{1e3 * w:.0f}", f"{w / floor_wall:.3f}"]
            for k, (c, w) in step.items()
        ]
        for row in rows:
            print(row)
        body.append(
            f"### One PGD step, CIFAR-10 ResNet-18 (batch {BATCH}, Linf eps 8/255, step 2/255)"
            "\n\nSeconds per step as the difference between runs of 10 and 2 steps, over 8; the "
            f"median of 5 rounds, interleaved; {args.threads} torch thread(s) for all three. CPU "
            "time (`time.process_time`) is the measure that holds on a busy machine; wall time "
            "(`time.perf_counter`) is given beside it. Target: fragility's step <= 1.05x the "
            "bare pass.\n\n"
            + markdown_table(
                ["run", "CPU ms per step", "ratio to bare", "wall ms per step", "ratio to bare"],
                rows,
            )
        )
        write_part(
            "scale-pgd", "Scale: one PGD step on a user's CIFAR-10 ResNet-18", "\n\n".join(body)
        )
    if "report" in parts:
        body = [_load_line()]
        rows = []
        for name in names:
            seconds, cpu, peak, steps = report_seconds(name, paths, folder / f"report-{name}")
            met = "met" if seconds < TARGETS[name] else "MISSED"
            slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:5]
            slow = ", ".join(f"{k} {v:.0f}" for k, v in slowest)
            print(name, f"{seconds:.0f} s wall, {cpu:.0f} s CPU, {peak:.1f} GB", slow)
            rows.append(
                [
                    name,
                    f"{seconds:.0f}",
                    f"{cpu:.0f}",
                    f"{peak:.1f}",
                    f"< {TARGETS[name]} s: {met}",
                    slow,
                ]
            )
        body.append(
            "### fragility report --quick, cold cache\n\n"
            "50,000 training and 1,000 test images in CIFAR-10's shape from bench/cifar_like.py; "
            "weights trained briefly here (ResNet-18: 4,000 images, two epochs; small CNN: "
            "10,000 images, four epochs); test accuracy in the report's first section. CPU "
            "time is the process's user and system time (`getrusage`); on a busy machine wall "
            "time is the larger.\n\n"
            + markdown_table(
                [
                    "model",
                    "wall seconds",
                    "CPU seconds",
                    "peak memory so far (GB)",
                    "target (wall)",
                    "slowest steps (s)",
                ],
                rows,
            )
        )
        body.append(f"Load average when the run ended: {os.getloadavg()[0]:.1f}.")
        write_part(
            "scale-report",
            "Scale: fragility report --quick on a user's CIFAR-10 models",
            "\n\n".join(body),
        )


def _load_line() -> str:
    return (
        f"Load average when the run started: {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
        "cores. No GPU was available to this run; the GPU numbers are not measured."
    )


if __name__ == "__main__":
    main()
