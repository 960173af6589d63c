"""Adversarial benchmark: the PGD-40 Linf robust-accuracy curve on Fashion-MNIST, side by side
with torchattacks 3.5.1 and foolbox 3.3.4.

    python bench/attacks.py [--n 10000] [--models cnn,mlp] [--peers torchattacks,foolbox]
                            [--batch-size 256] [--threads N]

Install the peers into the same environment first. torchattacks pins an old `requests`, so it
goes in without its dependencies (which pip extras cannot say; the `bench` extra lists both):

    pip install --no-deps torchattacks==3.5.1
    pip install foolbox==3.3.4      # pulls eagerpy, GitPython, requests; leaves torch alone

Same model (the default CNN trained on Fashion-MNIST by fragility.train, from the cache),
same test images and settings for everyone: PGD with 40 steps of 0.01 from a uniform random
start in the Linf ball, at epsilon 0, 0.05, ..., 0.3 (7 values). The peers attack every image
at every epsilon, as their documentation shows; fragility stops on an image once it is fooled
and carries it to the larger epsilons. Targets: at least 3x faster than torchattacks with a
robust accuracy no more than 0.5 points above its at any epsilon; one PGD step within 10 % of
one bare forward and backward pass of the model (the floor).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from _harness import markdown_table, timed, write_part

from fragility import data, models, train
from fragility.attacks import PGD, DeepFool, RobustAccuracy, robust_accuracy
from fragility.attacks.core import attack_mode
from fragility.attacks.gradient import _PGDClimb, climb
from fragility.contract import predict

GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
STEPS, STEP = 40, 0.01


def ours(model, x, y, batch_size: int) -> RobustAccuracy:
    return robust_accuracy(
        model, x, y, PGD(steps=STEPS, step=STEP), GRID, batch_size=batch_size, seed=0
    )


def torchattacks_curve(model, x, y, batch_size: int) -> list[float]:
    import torchattacks

    right = torch.zeros(len(GRID))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for k, eps in enumerate(GRID):
            attack = torchattacks.PGD(model, eps=eps, alpha=STEP, steps=STEPS, random_start=True)
            for i in range(0, len(x), batch_size):
                xb, yb = x[i : i + batch_size], y[i : i + batch_size]
                adv = attack(xb, yb)
                with torch.no_grad():
                    right[k] += (model(adv).argmax(1) == yb).sum()
    return (right / len(x)).tolist()


def foolbox_curve(model, x, y, batch_size: int) -> list[float]:
    import foolbox

    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    attack = foolbox.attacks.LinfPGD(abs_stepsize=STEP, steps=STEPS, random_start=True)
    fooled = torch.zeros(len(GRID))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for i in range(0, len(x), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            _, _, success = attack(fmodel, xb, yb, epsilons=list(GRID))
            fooled += success.float().sum(1)
    return (1 - fooled / len(x)).tolist()


def step_against_floor(model, x, y, batch_size: int, repeat: int = 7) -> tuple[float, float]:
    """Seconds of one PGD iteration on a full batch, and of one bare forward + backward to the
    input (parameters frozen, as the attack has them). Interleaved, best of `repeat`."""
    right = (predict(model, x).argmax(1) == y).nonzero().flatten()[:batch_size]
    xb, yb = x[right], y[right]
    attack = PGD(steps=20, step=STEP)
    limit = torch.ones(len(xb), dtype=torch.long)

    def pgd_run():
        # epsilon 1e-6 fools nobody, so every slot runs all 20 steps plus the last evaluation.
        climb(_PGDClimb(attack, xb, False, 0), model, yb, (1e-6,), limit, m=len(xb))

    def bare():
        for _ in range(21):
            xg = xb.detach().requires_grad_(True)
            loss = F.cross_entropy(model(xg), yb, reduction="sum")
            torch.autograd.grad(loss, xg)

    pgd_s, bare_s = [], []
    with attack_mode(model, xb, yb):
        pgd_run()
        bare()
        for _ in range(repeat):
            pgd_s.append(timed(pgd_run)[1])
            bare_s.append(timed(bare)[1])
    return min(pgd_s) / 21, min(bare_s) / 21


def deepfool_refill(model, x, y, batch_size: int, repeat: int = 3) -> tuple[float, float, bool]:
    """Seconds of DeepFool L2 (50 steps) over the images, waiting for each batch's slowest
    image against refilling slots as images are fooled, and whether both give the same bits."""
    attack = DeepFool()
    found, seconds = {}, {}
    with attack_mode(model, x, y):
        for refill in (False, True):
            found[refill], seconds[refill] = timed(
                lambda r=refill: attack._minimal(
                    model, x, y, False, m=batch_size, progress=False, refill=r
                ),
                repeat,
            )
    fields = ("adversarial", "logits", "clean_logits", "success", "steps")
    same = all(torch.equal(getattr(found[True], f), getattr(found[False], f)) for f in fields)
    return seconds[False], seconds[True], same


def bench_model(kind: str, bundle, args) -> list[list[str]]:
    spec = models.default_spec(kind, bundle.input_shape, bundle.num_classes)
    trained = train.train(spec, bundle, train.default_config(spec, bundle))
    model = trained.model.eval()
    x, y = bundle.x_test[: args.n], bundle.y_test[: args.n]
    result, seconds = timed(lambda: ours(model, x, y, args.batch_size))
    curve = list(result.accuracy)
    print(
        f"{kind} fragility {seconds:.1f} s, {int(result.steps.sum()):,} of "
        f"{result.brute_force_steps:,} steps",
        [f"{a:.4f}" for a in curve],
    )
    rows = [[spec.name, "fragility", f"{seconds:.1f}", "1.0", *(f"{100 * a:.2f}" for a in curve)]]
    peers = {"torchattacks": torchattacks_curve, "foolbox": foolbox_curve}
    for name in args.peers:
        peer_curve, peer_s = timed(lambda fn=peers[name]: fn(model, x, y, args.batch_size))
        worst = max(100 * (a - b) for a, b in zip(curve, peer_curve, strict=True))
        print(f"{kind} {name} {peer_s:.1f} s", [f"{a:.4f}" for a in peer_curve])
        rows.append(
            [
                spec.name,
                f"{name} (ours {peer_s / seconds:.1f}x faster; ours at most {worst:+.2f} points)",
                f"{peer_s:.1f}",
                f"{peer_s / seconds:.1f}",
                *(f"{100 * a:.2f}" for a in peer_curve),
            ]
        )
    step_s, floor_s = step_against_floor(model, x, y, min(args.batch_size, len(x)))
    print(f"{kind} one PGD step {1e3 * step_s:.2f} ms, bare fwd+bwd {1e3 * floor_s:.2f} ms")
    rows.append(
        [
            spec.name,
            f"one PGD step / bare forward+backward, batch {min(args.batch_size, len(x))}",
            f"{1e3 * step_s:.2f} ms / {1e3 * floor_s:.2f} ms",
            f"{step_s / floor_s:.2f}",
            *[""] * len(GRID),
        ]
    )
    if args.deepfool_n:
        xd, yd = x[: args.deepfool_n], y[: args.deepfool_n]
        wait_s, refill_s, same = deepfool_refill(model, xd, yd, args.batch_size)
        print(
            f"{kind} DeepFool {len(xd)} images: {wait_s:.2f} s waiting, {refill_s:.2f} s refilling"
        )
        rows.append(
            [
                spec.name,
                f"DeepFool L2, {len(xd):,} images: batches wait for their slowest image / slots "
                f"refilled as images are fooled ({'same' if same else 'NOT the same'} bits)",
                f"{wait_s:.2f} / {refill_s:.2f}",
                f"{wait_s / refill_s:.2f}",
                *[""] * len(GRID),
            ]
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="test images (default: all 10,000)")
    ap.add_argument("--models", default="cnn", help="comma-separated: cnn, mlp (default: cnn)")
    ap.add_argument("--peers", default="torchattacks,foolbox")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument(
        "--deepfool-n", type=int, default=2000, help="images for the DeepFool rows (0: none)"
    )
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    args.peers = [p for p in args.peers.split(",") if p]
    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = data.load("fashion-mnist")
    start = time.perf_counter()
    rows = []
    for kind in args.models.split(","):
        rows += bench_model(kind, bundle, args)
    header = ["model", "run", "seconds", "time ratio", *(f"acc % @ {e:g}" for e in GRID)]
    table = markdown_table(header, rows)
    print(table)
    write_part(
        "attacks",
        "Adversarial: PGD-40 Linf robust accuracy on Fashion-MNIST",
        f"{len(bundle.x_test[: args.n]):,} test images, PGD 40 steps of {STEP}, random start, "
        f"batch {args.batch_size}; total {time.perf_counter() - start:.0f} s.\n\n{table}",
    )


if __name__ == "__main__":
    main()
