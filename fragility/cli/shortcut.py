"""fragility shortcut: plant a class-specific cue in the training data, watch a model learn it
and lose its way when the cue points elsewhere (the crosswalk lesson of Tempe 2018)."""

from __future__ import annotations

import argparse

from fragility._fmt import pct
from fragility.cli.common import (
    add_data_args,
    add_run_args,
    load_data,
    share,
    share_list,
    show_progress,
    table,
    whole,
    write_outputs,
)
from fragility.cli.train import MAX_EPOCHS


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in ("mlp", "cnn")]
    if bad or not kinds or len(set(kinds)) != len(kinds):
        raise argparse.ArgumentTypeError(f"expected mlp, cnn or mlp,cnn, not {text!r}")
    return kinds


HELP = "plant a spurious cue in the training data and test what the model learned"


def register(sub: argparse._SubParsersAction) -> None:
    from fragility.shortcut import CORRELATIONS, CUES, REMEDIES

    p = sub.add_parser(
        "shortcut",
        help=HELP,
        description="Paint a class-specific mark (a striped 'crosswalk' patch, a square, a "
        "background texture or a tint) on a share of each class's training images, train, "
        "and test on clean images, images with their own class's mark, with another class's "
        "mark, and the mark alone; then train again with the mark's class drawn at random. "
        "Writes OUT/shortcut.json and figures.",
    )
    add_data_args(p)
    p.add_argument(
        "--model",
        type=_kinds,
        default=("mlp",),
        metavar="mlp|cnn|mlp,cnn",
        help="network(s); the sweep covers each (default: mlp)",
    )
    p.add_argument("--cue", default="stripes", choices=CUES, help="the mark (default: stripes)")
    p.add_argument(
        "--correlation",
        type=share,
        default=0.9,
        help="share of each class's training images with its mark (default: 0.9)",
    )
    p.add_argument(
        "--sweep",
        action="store_true",
        help="also train at each of --correlations and plot the curve",
    )
    p.add_argument(
        "--correlations",
        type=share_list,
        default=CORRELATIONS,
        metavar="C,C",
        help=f"the sweep's shares (default: {','.join(f'{c:g}' for c in CORRELATIONS)})",
    )
    p.add_argument(
        "--remedy", default="randomise", choices=REMEDIES, help="how to break the correlation"
    )
    p.add_argument(
        "--epochs",
        type=whole(1, MAX_EPOCHS, "epochs"),
        default=None,
        help="epochs (default: per model)",
    )
    p.add_argument("--no-cache", action="store_true", help="train even if the cache holds it")
    add_run_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from fragility import shortcut, train
    from fragility.figures import shortcut as figs
    from fragility.figures.inversion import maxima_gallery

    data = load_data(args)
    cue = shortcut.Cue(args.cue, data.input_shape, data.num_classes)
    t0 = time.perf_counter()
    result = shortcut.study(
        args.model,
        data,
        cue,
        args.correlation,
        sweep_correlations=args.correlations if args.sweep else (),
        remedy=args.remedy,
        seed=args.seed,
        epochs=args.epochs,
        device=train.resolve_device(args.device),
        cache=not args.no_cache,
        progress=show_progress(args),
    )
    seconds = time.perf_counter() - t0
    names = data.class_names
    figures = {
        "examples": figs.cued_examples(result.example_images, result.example_labels, cue, names),
    }
    for kind, lesson in result.lessons.items():
        figures[f"tests-{kind}"] = figs.four_tests(
            {k: r.test for k, r in lesson.runs.items()}, title=f"The four test sets: {kind}"
        )
        figures[f"saliency-{kind}"] = figs.saliency_rows(result, kind, names)
        figures[f"maxima-{kind}"] = maxima_gallery(
            lesson.maxima["cued"], names, title=f"Class maxima of the cued {kind}"
        )
    if result.sweep:
        figures["sweep"] = figs.sweep_curve(result.sweep)
    payload = {
        "dataset": data.to_dict(),
        "seed": args.seed,
        "seconds": seconds,
        "training": _training(result),
    }
    write_outputs(args.out, "shortcut.json", {**payload, **result.to_dict()}, figures)
    print(_summary(result))
    print(f"{cue.kind} cue on {data.name}: {seconds:.1f} s -> {args.out}")
    return 0


def _training(result) -> list[dict]:
    """How each model of the study was made: from the cache or trained, and in how long."""
    runs = [r for lesson in result.lessons.values() for r in lesson.runs.values()]
    seen, out = set(), []
    for r in [*runs, *result.sweep]:
        key = (r.kind, r.correlation, r.remedy)
        if key not in seen:
            seen.add(key)
            out.append(
                {
                    "model": r.kind,
                    "correlation": r.correlation,
                    "remedy": r.remedy,
                    "from_cache": r.trained.from_cache,
                    "train_seconds": r.trained.result.seconds,
                }
            )
    return out


def _summary(result) -> str:
    rows = []
    for kind, lesson in result.lessons.items():
        for name, r in lesson.runs.items():
            t = r.test
            rows.append(
                [
                    kind,
                    f"{name} ({r.correlation:g}{', ' + r.remedy if r.remedy else ''})",
                    pct(t.clean_accuracy),
                    pct(t.matching_accuracy),
                    pct(t.wrong_accuracy),
                    pct(t.wrong_follows_cue),
                    pct(t.blank_follows_cue),
                    pct(lesson.saliency[name]["gradient_in_cue"]),
                ]
            )
    header = [
        "model",
        "trained (correlation)",
        "clean",
        "own cue",
        "wrong cue",
        "follows wrong cue",
        "cue alone followed",
        "|grad| in cue",
    ]
    lines = [table(rows, header)]
    area = next(iter(result.lessons.values())).saliency["clean"]["cue_area"]
    lines.append(
        f"(the cue covers {pct(area)} of the image; chance is {pct(1 / result.cue.num_classes)})"
    )
    for kind, lesson in result.lessons.items():
        m = lesson.maxima_cue_match
        lines.append(
            f"{kind} class maxima match their cue (1: drawn exactly, 0.5: unrelated): "
            + ", ".join(f"{name} {v:.2f}" for name, v in m.items())
        )
    if result.sweep:
        sweep_rows = [
            [
                r.kind,
                f"{r.correlation:g}",
                pct(r.test.clean_accuracy),
                pct(r.test.wrong_follows_cue),
            ]
            for r in result.sweep
        ]
        lines.append(table(sweep_rows, ["model", "correlation", "clean", "follows wrong cue"]))
    return "\n".join(lines)
