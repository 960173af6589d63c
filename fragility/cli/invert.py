"""fragility invert: what each unit wants to see, what a layer's code keeps, which inputs and
which weights matter."""

from __future__ import annotations

import argparse

from fragility._fmt import pct
from fragility.cli.common import (
    add_model_args,
    add_run_args,
    load_model_and_data,
    real,
    share_list,
    show_progress,
    table,
    whole,
    write_outputs,
)

# Penalty weights: a class score is of order 10 and ||x||^2 of order 100, so weights beyond
# 1000 only return the zero image.
_WEIGHT = "a weight from 0 to 1000 (beyond that the penalty leaves only the zero image)"

WHAT = ("classes", "hidden", "weights", "saliency", "inversion", "all")

HELP = "inverse images: unit maxima, first-layer weights, saliency, which weights matter"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "invert",
        help=HELP,
        description="Activation maximisation (Simonyan et al. 2013: class score minus "
        "lambda ||x||^2) for every class and hidden unit, representation inversion, "
        "first-layer weights with an edge measure, saliency maps, and the accuracy after "
        "zeroing the weights ranked highest, at random and lowest by |dC/dw|. Writes "
        "OUT/inversion.json and PNG galleries.",
    )
    add_model_args(p)
    p.add_argument("--what", default="all", choices=WHAT, help="which analysis (default: all)")
    p.add_argument(
        "--steps",
        type=whole(1, 100_000, "ascent steps"),
        default=100,
        help="ascent steps (default: 100)",
    )
    p.add_argument(
        "--l2",
        type=real(0, 1000, _WEIGHT),
        default=0.001,
        metavar="LAMBDA",
        help="L2 penalty weight",
    )
    p.add_argument(
        "--restarts", type=whole(1, 100, "restarts"), default=3, help="seeded restarts per unit"
    )
    p.add_argument(
        "--start", default="noise", choices=("zero", "mean", "noise"), help="starting image"
    )
    p.add_argument(
        "--softmax", action="store_true", help="maximise class probabilities, not scores"
    )
    p.add_argument(
        "--fixed-norm",
        type=real(
            0,
            1000,
            "a norm from 0 to 1000 (an image of D pixels in [0, 1] has norm at most sqrt(D); 0 "
            "keeps the L2 penalty)",
        ),
        default=None,
        metavar="R",
        help="Erhan et al.'s version: keep ||x|| = R instead of the L2 penalty",
    )
    p.add_argument(
        "--jitter",
        type=whole(0, 64, "a shift in pixels"),
        default=0,
        metavar="PX",
        help="random shift per step",
    )
    p.add_argument(
        "--blur",
        type=real(0, 64, "a blur width from 0 to 64 pixels"),
        default=0.0,
        metavar="SIGMA",
        help="blur width",
    )
    p.add_argument("--tv", type=real(0, 1000, _WEIGHT), default=0.0, help="total-variation weight")
    p.add_argument(
        "--layer", default=None, help="layer whose code to invert (default: last hidden layer)"
    )
    p.add_argument(
        "--fractions",
        type=share_list,
        default=(0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
        metavar="K,K",
        help="shares of weights to zero (default: 0,0.01,0.02,0.05,0.1,0.2,0.5)",
    )
    add_run_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from fragility import inversion, sources
    from fragility.errors import ConfigError
    from fragility.figures.inversion import all_figures

    loaded, data = load_model_and_data(args)
    layers = [name for name, _ in loaded.model.named_modules() if name]
    if args.layer is not None and args.layer not in layers:
        raise ConfigError(
            f"--layer {args.layer!r} is not a layer of {loaded.label}; choose one of "
            f"{', '.join(layers)}"
        )
    initial = sources.initial_model(loaded.source, loaded.model, seed=args.seed)
    config = inversion.MaximizeConfig(
        steps=args.steps,
        l2=args.l2,
        restarts=args.restarts,
        start=args.start,
        probability=args.softmax,
        fixed_norm=args.fixed_norm or None,
        jitter=args.jitter,
        blur_sigma=args.blur,
        tv=args.tv,
        seed=args.seed,
    )
    what = inversion.ANALYSES if args.what == "all" else (args.what,)
    t0 = time.perf_counter()
    result = inversion.analyse(
        loaded.model,
        data,
        what,
        config,
        initial_model=initial,
        inversion_layer=args.layer,
        fractions=args.fractions,
        progress=show_progress(args),
    )
    seconds = time.perf_counter() - t0
    payload = {
        "model": loaded.label,
        "model_source": loaded.to_dict(),
        "dataset": data.to_dict(),
        "seed": args.seed,
        "steps": args.steps,
        "seconds": seconds,
        **result.to_dict(),
    }
    write_outputs(
        args.out, "inversion.json", payload, all_figures(result, data.class_names, data.x_train)
    )
    print("\n".join(_summary(result, data.class_names)))
    print(f"{loaded.label} on {data.name}: {seconds:.1f} s -> {args.out}")
    return 0


def _summary(result, class_names) -> list[str]:
    lines = []
    for name, m in (("classes", result.classes), ("hidden units", result.hidden)):
        if m is None:
            continue
        beat = int(m.beats_training.sum())
        lines.append(
            f"{name}: {beat} of {len(m.units)} optimised inputs activate their unit more than "
            f"every training image (mean {float(m.best_activation.mean()):.3g} against "
            f"{float(m.training_max.mean()):.3g}); restarts differ by "
            f"{float(m.diversity.mean()):.2f} RMS"
        )
    e = result.first_layer
    if e is not None:
        lines.append(
            f"first-layer weights ({e.layer}): {int(e.edge_like.sum())} of {len(e.gabor)} "
            f"edge-like; Gabor fit {float(e.gabor.mean()):.2f} (shuffled "
            f"{float(e.chance.mean()):.2f}), neighbour correlation "
            f"{float(e.neighbour_correlation.mean()):.2f}"
        )
    c = result.pruning
    if c is not None:
        rows = [
            [f"{100 * k:g} %", pct(t), pct(r), pct(b)]
            for k, t, r, b in zip(c.fractions, c.top, c.random, c.bottom, strict=True)
        ]
        lines.append(f"test accuracy after zeroing a share of the {c.n_weights:,} weights:")
        lines.append(table(rows, ["zeroed", "top |dC/dw|", "random", "bottom |dC/dw|"]))
    if result.saliency is not None:
        from fragility.inversion import saliency_summary

        s = saliency_summary(result.saliency)
        lines.append(
            f"saliency: {pct(s['mean_gradient_on_ink'], 0)} of |gradient| falls on the ink, "
            f"which covers {pct(s['mean_ink_area'], 0)} of the image"
        )
    v = result.inversion
    if v is not None:
        lines.append(
            f"inversion at {v.layer or 'logits'}: codes within "
            f"{pct(float(v.code_distance.mean()))}, same class for "
            f"{pct(float(v.prediction_agrees.float().mean()))}, yet "
            f"{float(v.pixel_distance.mean()):.2f} RMS from the originals (two different test "
            f"images: {v.typical_pixel_distance:.2f})"
        )
    return lines
