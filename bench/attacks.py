"""Adversarial benchmark: PGD Linf robust-accuracy curves on Fashion-MNIST, on the epsilon grids
fragility actually uses, side by side with torchattacks 3.5.1 and foolbox 3.3.4.

    python bench/attacks.py [--datasets fashion-mnist,digits] [--n 10000] [--models cnn,mlp]
                            [--grids report,cli,two] [--peers torchattacks,foolbox]
                            [--batch-size 256] [--threads 1]

Install the peers into the same environment first. torchattacks pins an old `requests`, so it
goes in without its dependencies (which pip extras cannot say; the `bench` extra lists both):

    pip install --no-deps torchattacks==3.5.1
    pip install foolbox==3.3.4      # pulls eagerpy, GitPython, requests; leaves torch alone

The grids, read from the code that uses them:

- report: the failure report's adversarial section, PGD-20 at epsilon 0.05, 0.1, ..., 0.3;
- cli: `fragility attack`'s default, PGD-40 at 0.05, 0.1, 0.2, 0.3;
- two: PGD-40 at 0.1 and 0.3 only.

Every run uses PGD's default step of 2.5 epsilon / steps (Madry et al.'s rule) from a uniform
random start in the Linf ball, the same model (the default CNN or MLP trained on the dataset by
fragility.train, from the cache) and the same test images, on the same thread count. Epsilon
0 needs no attack (the clean accuracy), so nobody is timed on it. The peers attack every image
at every epsilon, as their documentation shows; fragility stops on an image once it is fooled
and carries it to the larger epsilons. So the speed-up is two factors, both in the table: the
cost of one gradient step on one image (time per image-step), and the share of the image-steps
that stopping on fooled images saves. The second grows with the number of epsilons and with how
fast images fall; with two epsilons there is little to save. The notes under the table time one
PGD step of fragility's loop against one bare forward and backward pass of the model (the
floor), and DeepFool with its batch slots refilled as images are fooled against waiting for each
batch's slowest image (`--deepfool-n` images).

Fashion-MNIST (10,000 test images; it ships as a Debian package, dataset-fashion-mnist) is the
large run; its networks fall fast (the CNN keeps under 10 % at epsilon 0.05), so most image-steps
are saved. The digits CNN holds out longer (about 60 % at 0.1), which shows the other regime.
MNIST cannot be downloaded on the reference machine.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from _harness import markdown_table, timed, write_part

from fragility import data, models, threads, train
from fragility.attacks import PGD, DeepFool, RobustAccuracy, robust_accuracy
from fragility.attacks.core import attack_mode
from fragility.attacks.gradient import _PGDClimb, climb
from fragility.cli.attack import DEFAULT_EPS
from fragility.contract import predict
from fragility.report.sections.adversarial import GRID, _budget

GRIDS = {
    "report": (_budget(False, 10_000)["pgd_steps"], tuple(e for e in GRID if e > 0)),
    "cli": (40, DEFAULT_EPS["linf"]),  # `fragility attack --attack pgd` builds PGD(steps=40)
    "two": (40, (0.1, 0.3)),
}


def ours(model, x, y, steps: int, grid, batch_size: int) -> RobustAccuracy:
    return robust_accuracy(model, x, y, PGD(steps=steps), (0.0, *grid), batch_size=batch_size)


def torchattacks_curve(model, x, y, steps: int, grid, batch_size: int) -> list[float]:
    import torchattacks

    right = torch.zeros(len(grid))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for k, eps in enumerate(grid):
            attack = torchattacks.PGD(
                model, eps=eps, alpha=2.5 * eps / steps, steps=steps, random_start=True
            )
            for i in range(0, len(x), batch_size):
                xb, yb = x[i : i + batch_size], y[i : i + batch_size]
                adv = attack(xb, yb)
                with torch.no_grad():
                    right[k] += (model(adv).argmax(1) == yb).sum()
    return (right / len(x)).tolist()


def foolbox_curve(model, x, y, steps: int, grid, batch_size: int) -> list[float]:
    import foolbox

    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    attack = foolbox.attacks.LinfPGD(rel_stepsize=2.5 / steps, steps=steps, random_start=True)
    fooled = torch.zeros(len(grid))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for i in range(0, len(x), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            _, _, success = attack(fmodel, xb, yb, epsilons=list(grid))
            fooled += success.float().sum(1)
    return (1 - fooled / len(x)).tolist()


PEERS = {"torchattacks": torchattacks_curve, "foolbox": foolbox_curve}


def step_against_floor(model, x, y, batch_size: int, repeat: int = 7) -> tuple[float, float]:
    """Seconds of one PGD iteration on a full batch, and of one bare forward + backward to the
    input (parameters frozen, as the attack has them). Interleaved, best of `repeat`."""
    right = (predict(model, x).argmax(1) == y).nonzero().flatten()[:batch_size]
    xb, yb = x[right], y[right]
    attack = PGD(steps=20, step=0.01)
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


def _us(seconds: float, image_steps: int) -> str:
    return f"{1e6 * seconds / max(image_steps, 1):.1f}"


def bench_grid(name: str, dataset: str, model, spec, x, y, args) -> list[list[str]]:
    steps, grid = GRIDS[name]
    brute = len(x) * len(grid) * steps
    result, seconds = timed(lambda: ours(model, x, y, steps, grid, args.batch_size))
    done = int(result.steps.sum())
    curve = [result.at(e) for e in grid]
    label = f"{name}: PGD-{steps} at {', '.join(f'{e:g}' for e in grid)}"
    print(f"{spec.name} {label}: fragility {seconds:.1f} s, {done:,} of {brute:,} image-steps")
    rows = [
        [
            f"{dataset} {spec.name}",
            label,
            "fragility",
            f"{seconds:.1f}",
            f"{done:,} ({100 * done / brute:.0f} %)",
            _us(seconds, done),
            "",
            "",
            " / ".join(f"{100 * a:.2f}" for a in curve),
        ]
    ]
    for peer in args.peers:
        fn = PEERS[peer]
        peer_curve, peer_s = timed(lambda fn=fn: fn(model, x, y, steps, grid, args.batch_size))
        worst = max(100 * (a - b) for a, b in zip(curve, peer_curve, strict=True))
        per_step = (peer_s / brute) / (seconds / max(done, 1))
        print(f"  {peer} {peer_s:.1f} s: ours {peer_s / seconds:.2f}x faster")
        rows.append(
            [
                f"{dataset} {spec.name}",
                label,
                f"{peer} (ours at most {worst:+.2f} points)",
                f"{peer_s:.1f}",
                f"{brute:,} (100 %)",
                _us(peer_s, brute),
                f"{per_step:.2f}x",
                f"{peer_s / seconds:.2f}x",
                " / ".join(f"{100 * a:.2f}" for a in peer_curve),
            ]
        )
    return rows


def bench_model(kind: str, bundle, args) -> tuple[list[list[str]], list[str]]:
    """The rows of every grid for one model, and a note on one step against the floor."""
    spec = models.default_spec(kind, bundle.input_shape, bundle.num_classes)
    trained = train.train(spec, bundle, train.default_config(spec, bundle))
    model = trained.model.eval()
    x, y = bundle.x_test[: args.n], bundle.y_test[: args.n]
    for fn in PEERS.values():  # imports and first calls outside the timings
        if fn.__name__.split("_")[0] in args.peers:
            fn(model, x[:2], y[:2], 1, (0.1,), 2)
    ours(model, x[:2], y[:2], 1, (0.1,), 2)
    rows = []
    for name in args.grids:
        rows += bench_grid(name, bundle.name, model, spec, x, y, args)
    b = min(args.batch_size, len(x))
    step_s, floor_s = step_against_floor(model, x, y, b)
    print(f"{kind} one PGD step {1e3 * step_s:.2f} ms, bare fwd+bwd {1e3 * floor_s:.2f} ms")
    floor = (
        f"{bundle.name} {spec.name}: one PGD step of a full batch of {b} takes "
        f"{1e3 * step_s:.2f} ms, one bare forward and backward pass {1e3 * floor_s:.2f} ms "
        f"({step_s / floor_s:.2f}x)."
    )
    notes = [floor]
    if args.deepfool_n:
        xd, yd = x[: args.deepfool_n], y[: args.deepfool_n]
        wait_s, refill_s, same = deepfool_refill(model, xd, yd, args.batch_size)
        print(
            f"{kind} DeepFool {len(xd)} images: {wait_s:.2f} s waiting, {refill_s:.2f} s refilling"
        )
        notes.append(
            f"{bundle.name} {spec.name}: DeepFool L2 on {len(xd):,} images, batches waiting for "
            f"their slowest image {wait_s:.2f} s, slots refilled as images are fooled "
            f"{refill_s:.2f} s ({wait_s / refill_s:.2f}x; {'same' if same else 'NOT the same'} "
            "bits)."
        )
    return rows, notes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="fashion-mnist,digits")
    ap.add_argument("--n", type=int, default=10_000, help="test images per dataset (max)")
    ap.add_argument("--models", default="cnn,mlp", help="comma-separated: cnn, mlp")
    ap.add_argument("--grids", default="report,cli,two", help=f"of {', '.join(GRIDS)}")
    ap.add_argument("--peers", default="torchattacks,foolbox")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument(
        "--deepfool-n", type=int, default=2000, help="images for the DeepFool notes (0: none)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads for all (default 1)")
    args = ap.parse_args()
    args.peers = [p for p in args.peers.split(",") if p]
    args.grids = [g for g in args.grids.split(",") if g]
    threads.configure(args.threads)  # fragility and the peers on the same count
    start = time.perf_counter()
    rows, notes, sizes = [], [], []
    for name in args.datasets.split(","):
        bundle = data.load(name)
        sizes.append(f"{name} {len(bundle.x_test[: args.n]):,}")
        for kind in args.models.split(","):
            r, n = bench_model(kind, bundle, args)
            rows, notes = rows + r, notes + n
    header = [
        "model",
        "grid",
        "run",
        "seconds",
        "image-steps",
        "us per image-step",
        "peer's per-step cost / ours",
        "speed-up (ours faster)",
        "accuracy % per epsilon",
    ]
    table = markdown_table(header, rows)
    print(table)
    write_part(
        "attacks",
        "Adversarial: PGD Linf robust accuracy on fragility's own grids, beside the peers",
        f"Test images: {', '.join(sizes)}. PGD step 2.5 epsilon / steps, random "
        f"start, batch {args.batch_size}, {args.threads} thread(s) for every run; total "
        f"{time.perf_counter() - start:.0f} s. The speed-up is the per-step cost ratio times "
        "the share of image-steps fragility skips by stopping on fooled images (its "
        "image-steps column); the peers attack every image at every epsilon.\n\n"
        f"{table}\n\n" + "\n".join(notes),
    )


if __name__ == "__main__":
    main()
