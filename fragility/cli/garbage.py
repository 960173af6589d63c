"""fragility garbage: images no human would call a digit, labelled with 99.99 % confidence."""

from __future__ import annotations

import argparse
from typing import Any

from fragility._fmt import pct
from fragility.cli.common import (
    add_model_args,
    add_run_args,
    load_model_and_data,
    probability,
    real,
    show_progress,
    table,
    whole,
    write_outputs,
)

METHOD_HELP = "survey, ascent, evolve-direct, evolve-cppn, retrain or all; several with commas"

HELP = "confident garbage: noise survey, gradient ascent, evolved fooling images"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "garbage",
        help=HELP,
        description="Show that the model is confident about garbage: how it labels noise, "
        "blanks, strokes and shuffled pixels; fooling images for every class by gradient "
        "ascent and by evolution (direct and CPPN encodings, Nguyen et al. 2015); how far "
        "they are from real data; and whether max-softmax or an autoencoder detects them.",
    )
    add_model_args(p)
    p.add_argument("--method", default="all", metavar="NAME", help=METHOD_HELP + " (default: all)")
    p.add_argument(
        "--target",
        type=probability,
        default=0.9999,
        metavar="P",
        help="confidence to reach (default: 0.9999)",
    )
    p.add_argument(
        "--generations",
        type=whole(0, 100_000, "generations"),
        default=200,
        metavar="N",
        help="evolution: generations at most (default: 200)",
    )
    p.add_argument(
        "--population",
        type=whole(1, 100_000, "children per generation"),
        default=200,
        metavar="N",
        help="evolution: children per generation (default: 200, as Nguyen et al.'s MNIST runs)",
    )
    p.add_argument(
        "--evolve-start",
        default="uniform",
        choices=("uniform", "black"),
        help="direct evolution: start from uniform noise (the paper's) or black images "
        "(default: uniform)",
    )
    p.add_argument(
        "--start",
        default="noise",
        choices=("noise", "blank", "grey"),
        help="ascent: the start image (default: noise)",
    )
    p.add_argument(
        "--steps",
        type=whole(0, 100_000, "ascent steps"),
        default=1000,
        metavar="N",
        help="ascent: steps at most (default: 1000)",
    )
    p.add_argument(
        "--eps",
        type=real(
            0.0,
            1.0,
            "a max-norm bound above 0 and at most 1 (images are in [0, 1]: 0.1 is 25.5 grey "
            "levels, 1 leaves every pixel free)",
            lo_open=True,
        ),
        default=None,
        help="ascent: max-norm bound from the start",
    )
    p.add_argument(
        "--recon-weight",
        type=real(
            -1000.0,
            1000.0,
            "a weight from -1000 to 1000 (log p and the reconstruction error are of order 1)",
        ),
        default=0.0,
        metavar="W",
        help="ascent: reward (W > 0) or penalise (W < 0) the autoencoder's reconstruction error",
    )
    p.add_argument(
        "--samples",
        type=whole(1, 1_000_000, "images per family"),
        default=1000,
        metavar="N",
        help="survey: images per family (default: 1000)",
    )
    p.add_argument(
        "--autoencoder",
        default=None,
        metavar="DIR",
        help="autoencoder checkpoint (default: train the default one on the same data, cached)",
    )
    p.add_argument(
        "--transfer", default=None, metavar="DIR", help="another classifier to test transfer on"
    )
    p.add_argument(
        "--other-dataset",
        default="auto",
        metavar="NAME",
        help="dataset for the other-data family, of a different task from the model's: a name, "
        "none, or auto (fashion-mnist or kmnist for digit models where found, digits otherwise)",
    )
    add_run_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fragility._timing import Timings
    from fragility.garbage.study import StudyConfig, parse_methods, run_study

    config = StudyConfig(
        methods=parse_methods(args.method),
        target=args.target,
        samples=args.samples,
        ascent_start=args.start,
        ascent_steps=args.steps,
        eps=args.eps,
        recon_weight=args.recon_weight,
        generations=args.generations,
        population=args.population,
        evolve_start=args.evolve_start,
        seed=args.seed,
    )
    if args.other_dataset not in ("auto", "none"):
        from fragility.data import dataset_info

        dataset_info(args.other_dataset)  # an unknown name fails now, not after the training
    loaded, data = load_model_and_data(args)
    spec = loaded.checkpoint.spec if loaded.checkpoint is not None else None
    config = _without_retrain(config, spec, args.method)
    progress = show_progress(args)
    other_model = _other_classifier(args, data)  # before the autoencoder, which may train
    other, other_note = _other_data(args, data)  # a same-task choice fails before it, too
    autoencoder = _autoencoder(args, data, progress)
    timings = Timings()
    result = run_study(
        loaded.model,
        data,
        config,
        autoencoder=autoencoder,
        other_model=other_model,
        other_images=None if other is None else other.x_test,
        other_note=other_note,
        spec=spec,
        progress=progress,
        timings=timings,
    )
    payload = {
        "model": loaded.label,
        "model_source": loaded.to_dict(),
        "dataset": data.to_dict(),
        "autoencoder": args.autoencoder or "default (trained on the same data, cached)",
        "transfer_model": args.transfer,
        "other_data": {"dataset": None if other is None else other.name, "note": other_note},
        "seconds": timings.to_dict(),
        **result.to_dict(),
    }
    write_outputs(args.out, "garbage.json", payload, _figures(result, loaded.label))
    print(summary(result, loaded.label, data.name, args.out, timings.to_dict()))
    return 0


def _without_retrain(config: Any, spec: Any, method: str) -> Any:
    """The retraining experiment rebuilds the model from its spec: only a train folder has
    one. Asked for by name on another model, an error; within 'all', left out with a note."""
    import dataclasses

    from fragility.errors import ConfigError

    if spec is not None or "retrain" not in config.methods:
        return config
    if "all" not in [m.strip() for m in method.split(",")]:
        raise ConfigError(
            "--method retrain retrains the model from its architecture spec, which only a "
            "--checkpoint from fragility train has; choose the other methods"
        )
    print("note: retrain left out: it needs a --checkpoint from fragility train")
    return dataclasses.replace(config, methods=tuple(m for m in config.methods if m != "retrain"))


def _autoencoder(args: argparse.Namespace, data: Any, progress: bool) -> Any:
    from fragility import train
    from fragility.errors import CheckpointError
    from fragility.models import default_spec, is_classifier

    device = train.resolve_device(args.device)
    if args.autoencoder is not None:
        ck = train.load(args.autoencoder, device=device)
        if is_classifier(ck.spec) or tuple(ck.spec.input_shape) != data.input_shape:
            raise CheckpointError(
                f"{args.autoencoder} is not an autoencoder for {data.input_shape} images; "
                f"train one with: fragility train --model autoencoder --dataset {data.name}"
            )
        return ck.model
    spec = default_spec("autoencoder", data.input_shape)
    config = train.default_config(spec, data, seed=args.seed)
    return train.train(spec, data, config, device=device, progress=progress).model


def _other_classifier(args: argparse.Namespace, data: Any) -> Any:
    from fragility import train
    from fragility.errors import CheckpointError
    from fragility.models import is_classifier

    if args.transfer is None:
        return None
    ck = train.load(args.transfer, device=train.resolve_device(args.device))
    if tuple(ck.spec.input_shape) != data.input_shape or not is_classifier(ck.spec):
        raise CheckpointError(
            f"{args.transfer} is not a classifier of {data.input_shape} images; --transfer "
            "needs a model trained on the same data"
        )
    return ck.model


def _other_data(args: argparse.Namespace, data: Any) -> tuple[Any, str]:
    """The other-data family's dataset (a different task from the model's) and the note
    saying which, or why it is left out."""
    from fragility.garbage.noise import load_other_data

    return load_other_data(data.name, args.data_dir, args.other_dataset)


def _figures(result: Any, model_name: str) -> dict[str, Any]:
    from fragility.figures import garbage as fg

    names = result.class_names
    figs: dict[str, Any] = {}
    fooling = result.fooling()
    if fooling:
        figs["fooling"] = fg.fooling_gallery(
            fooling, names, f"{model_name}: fooling images and the model's confidence"
        )
    if result.cppn is not None:
        from fragility.garbage.cppn import render

        big = render(result.cppn.genomes, 64)
        figs["cppn-64px"] = fg.fooling_gallery(
            {"cppn, 64x64": (big, result.cppn.classes, result.cppn.confidence)},
            names,
            "the evolved CPPNs rendered at 64x64 (confidence at the model's size)",
        )
    curves = {
        name: (r.curve("worst"), r.curve("median"))
        for name, r in (("direct", result.direct), ("cppn", result.cppn))
        if r is not None
    }
    if curves:
        figs["evolution"] = fg.evolution_curves(
            curves, result.config.target, f"{model_name}: evolution (MAP-Elites)"
        )
    if result.survey is not None:
        shares = {r.family: r.stats.share_above for r in result.survey.rows}
        figs["survey"] = fg.survey_chart(shares, f"{model_name}: confidence on non-digits")
    if result.ood:
        aurocs = {
            r.family: {"max-softmax": r.auroc_max_softmax, "autoencoder": r.auroc_autoencoder}
            for r in result.ood
        }
        figs["detectors"] = fg.detector_chart(aurocs, f"{model_name}: out-of-distribution AUROC")
    return figs


def ceiling_lines(result: Any) -> list[str]:
    """What the proved ceiling says per class: unreachable, reached, or open."""
    from fragility.figures.garbage import confidence_label as conf
    from fragility.garbage.ceiling import OPEN, UNREACHABLE

    c, names = result.ceiling, result.class_names
    if c is None:
        return []
    lines = []
    out_of_reach = c.classes(UNREACHABLE)
    if out_of_reach:
        hardest = min(out_of_reach, key=lambda k: c.bound[k])
        lines.append(
            f"  proved: no input reaches {conf(c.target)} for {len(out_of_reach)} of "
            f"{len(c.bound)} classes (ceilings from {conf(float(c.bound[hardest]))} for "
            f"{names[hardest]} up to {conf(float(c.bound[list(out_of_reach)].max()))})"
        )
    for k in c.classes(OPEN):
        best = c.witness_confidence[k]
        lines.append(
            f"  open: {names[k]}: the ceiling ({conf(float(c.bound[k]))}) allows "
            f"{conf(c.target)}, but the best input found gets "
            + ("n/a" if best != best else conf(float(best)))
        )
    return lines


def summary(
    result: Any, model_name: str, dataset: str, out: str, seconds: dict[str, float] | None = None
) -> str:
    """The lines the command prints: one table per part that ran (with its wall time, from
    `seconds` by method name, where given)."""

    def took(method: str) -> str:
        s = (seconds or {}).get(method)
        return "" if s is None else f"{s:.2f} s"

    from fragility.figures.garbage import confidence_label as conf

    lines = [f"{model_name} on {dataset}: confident garbage -> {out}"]
    lines += ceiling_lines(result)
    if result.survey is not None:
        rows = [
            [
                r.family,
                *(pct(r.stats.share_above[t]) for t in result.survey.thresholds),
                pct(r.stats.mean_confidence),
                ", ".join(f"{result.class_names[c]} {100 * s:.0f}%" for c, s in r.top_classes(2)),
            ]
            for r in result.survey.rows
        ]
        header = ["family", *(f"p>{t:g}" for t in result.survey.thresholds), "mean", "taken by"]
        lines += ["", table(rows, header)]
    made = []
    target = result.config.target
    if result.ascent is not None:
        a, (_, _, reached_conf) = result.ascent, result.fooling()["ascent"]
        finished = len(result.finished_by_witness)
        made.append(
            [
                "gradient ascent",
                f"{int((reached_conf >= target).sum())}/{len(a.reached)}",
                conf(float(reached_conf.min())),
                f"{max(a.steps)} steps"
                + (f", {sum(a.restarted)} restarted" if any(a.restarted) else "")
                + (f", {sum(a.stalled)} stuck" if any(a.stalled) else "")
                + (f", {finished} finished by the witness search" if finished else ""),
                took("ascent"),
            ]
        )
    evolved = (
        ("evolution, direct", "evolve-direct", result.direct),
        ("evolution, CPPN", "evolve-cppn", result.cppn),
    )
    for name, method, r in evolved:
        if r is not None:
            made.append(
                [
                    name,
                    f"{sum(g is not None for g in r.reached_generation)}/{len(r.classes)}",
                    conf(float(r.confidence.min())),
                    f"{r.generations_to_all or r.generations} generations",
                    took(method),
                ]
            )
    if made:
        header = ["method", f"classes >= {100 * target:g}%", "worst class", "took", "time"]
        lines += ["", table(made, header)]
    if result.ood:
        rows = [
            [
                r.family,
                f"{r.auroc_max_softmax:.3f}",
                "n/a" if r.auroc_autoencoder is None else f"{r.auroc_autoencoder:.3f}",
                ", ".join(r.evades) or "-",
            ]
            for r in result.ood
        ]
        lines += ["", table(rows, ["garbage", "AUROC max-softmax", "AUROC autoencoder", "evades"])]
    if result.retrain is not None:
        rt = result.retrain
        after = rt.after
        fooled = sum(g is not None for g in after.reached_generation)
        lines += [
            "",
            f"retrained with a garbage class ({rt.garbage_images} evolved images of "
            f"{rt.garbage_requested} asked for): real test "
            f"accuracy {pct(rt.real_test_accuracy)}, held-out garbage caught "
            f"{pct(rt.heldout_caught)}; evolved again: {fooled}/{len(after.classes)} classes "
            f">= {100 * target:g}% "
            + (
                f"in {after.generations_to_all} generations"
                if after.all_reached
                else f"within {after.generations} generations"
            )
            + (f" (before: {rt.before.generations_to_all})" if rt.before.all_reached else ""),
        ]
    return "\n".join(lines)
