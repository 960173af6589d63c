"""fragility attack: robust accuracy of a checkpoint under an attack, with a gallery."""

from __future__ import annotations

import argparse
import math
import time

from fragility._fmt import pct
from fragility.cli.common import (
    add_model_args,
    add_run_args,
    float_list,
    load_model_and_data,
    require,
    show_progress,
    table,
    whole,
    write_outputs,
)

# The names and defaults of fragility.attacks.named, spelt out so that registering the command
# does not import torch (a test holds the two to the same values).
ATTACKS = ("fgsm", "pgd", "cw", "deepfool", "ensemble")
DEFAULT_EPS = {"linf": (0.05, 0.1, 0.2, 0.3), "l2": (0.25, 0.5, 1.0, 2.0)}

HELP = "robust accuracy under FGSM, PGD, CW, DeepFool or all of them; writes attack.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "attack",
        help=HELP,
        description="Attack the first N test images of a model's dataset at each epsilon "
        "and write OUT/attack.json, OUT/accuracy.png and OUT/gallery.png. An image fooled at "
        "one epsilon counts as fooled at every larger one (its adversarial lies in the larger "
        "ball), and an image is no longer attacked once fooled.",
    )
    add_model_args(p)
    p.add_argument("--attack", default="pgd", choices=ATTACKS, help="which attack (default: pgd)")
    p.add_argument(
        "--eps",
        type=float_list,
        default=None,
        metavar="E,E",
        help="budgets; default 0.05,0.1,0.2,0.3 for linf (0.1 is 25.5 of 255 grey levels) "
        "and 0.25,0.5,1,2 for l2",
    )
    p.add_argument(
        "--steps",
        type=whole(1, 100_000, "iterations"),
        default=None,
        help="iterations (default: per attack)",
    )
    p.add_argument(
        "--norm", default=None, choices=("linf", "l2"), help="threat model (default: linf; cw: l2)"
    )
    p.add_argument("--targeted", action="store_true", help="aim each image at a random other class")
    p.add_argument(
        "--n",
        type=whole(1, 10_000_000, "test images"),
        default=1000,
        help="test images to attack (default: 1000)",
    )
    p.add_argument(
        "--batch-size",
        type=whole(1, 65_536, "images per batch"),
        default=256,
        help="images per batch (default: 256)",
    )
    add_run_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from fragility.attacks import robust_accuracy
    from fragility.attacks.named import build_attack
    from fragility.figures import attacks as figs

    norm = args.norm or ("l2" if args.attack == "cw" else "linf")
    attack = build_attack(args.attack, norm, args.steps, args.targeted)
    eps = args.eps or DEFAULT_EPS[norm]
    require(
        min(eps) >= 0 and (norm == "l2" or max(eps) <= 1),
        f"--eps {','.join(f'{e:g}' for e in eps)} is out of range: Linf budgets lie from 0 to 1 "
        "(images are in [0, 1]; 0.1 is 25.5 grey levels and 1 reaches any image)",
    )
    loaded, bundle = load_model_and_data(args)
    model, label = loaded.model, loaded.label
    widest = math.sqrt(math.prod(bundle.input_shape))
    require(
        norm == "linf" or max(eps) <= widest,
        f"--eps {max(eps):g} is out of range: an L2 budget lies from 0 to {widest:.1f} for "
        f"{'x'.join(map(str, bundle.input_shape))} images in [0, 1] (the distance from black "
        "to white)",
    )
    x, y = bundle.x_test[: args.n], bundle.y_test[: args.n]
    target = None
    if args.targeted:
        k = bundle.num_classes
        gen = torch.Generator().manual_seed(args.seed)
        target = (y + torch.randint(1, k, (len(y),), generator=gen)) % k
    grid = (0.0, *eps)
    start = time.perf_counter()
    curve = robust_accuracy(
        model,
        x,
        y,
        attack,
        grid,
        target=target,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=show_progress(args),
    )
    seconds = time.perf_counter() - start
    shown, labels, clean_logits, example = _gallery_run(model, x, y, target, attack, curve, args)
    summary = curve.to_dict()
    payload = {
        **summary,
        "model": label,
        "model_source": loaded.to_dict(),
        "dataset": bundle.to_dict(),  # with its "source", to reload the same images
        "seed": args.seed,
        "settings": dataclasses.asdict(attack),
        "seconds": seconds,
    }
    _print_summary(curve, summary, f"{label}, {curve.n} {bundle.name}", seconds, args.out)
    figures = {
        "accuracy": figs.accuracy_curves(
            {label: {curve.attack: curve}}, f"{label} on {bundle.name}"
        ),
        "gallery": figs.gallery(shown, clean_logits, example, labels, bundle.class_names),
    }
    write_outputs(args.out, "attack.json", payload, figures)
    return 0


def _print_summary(curve, summary: dict, what: str, seconds: float, out: str) -> None:
    from fragility.attacks import grey_levels

    linf = curve.norm == "linf"
    rows = [
        [f"{e:g}", f"{grey_levels(e):.1f}" if linf else "", pct(a), pct(s)]
        for e, a, s in zip(curve.epsilons, curve.accuracy, summary["success_rate"], strict=True)
    ]
    print(table(rows, ["epsilon", "grey levels of 255", "accuracy", "fooled (of correct)"]))
    median = summary[f"{curve.norm}_of_first_adversarial"]["median"]
    size = "n/a" if median is None else f"{median:.3f}"
    if median and linf:
        size += f" ({grey_levels(median):.1f} grey levels)"
    print(
        f"{curve.attack} on {what} test images: clean {pct(curve.clean_accuracy)}; median "
        f"{curve.norm} size of the first adversarial found {size}; "
        f"{int(curve.steps.sum()):,} gradient steps, {pct(summary['work_fraction'])} of "
        f"attacking every image at every epsilon; {seconds:.1f} s -> {out}"
    )


def _gallery_run(model, x, y, target, attack, curve, args):
    """Attack the first 8 correctly classified images at the smallest epsilon that fools at
    least half the images (the largest if none does); a minimal attack runs without a budget."""
    import torch

    from fragility.train import predict

    clean_logits = predict(model, x[:64])
    pick = (clean_logits.argmax(1) == y[:64]).nonzero().flatten()[:8]
    if len(pick) == 0:
        pick = torch.arange(min(8, len(x)))
    pairs = zip(curve.epsilons, curve.accuracy, strict=True)
    eps = next((e for e, a in pairs if e > 0 and a <= 0.5), curve.epsilons[-1])
    result = attack.run(
        model,
        x[pick],
        y[pick],
        None if attack.minimal else eps,
        target=None if target is None else target[pick],
        seed=args.seed,
        batch_size=args.batch_size,
    )
    return x[pick], y[pick], clean_logits[pick], result
