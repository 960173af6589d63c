"""fragility train: fit one of the lecture's networks and write a checkpoint folder."""

from __future__ import annotations

import argparse

from fragility._fmt import pct
from fragility.cli.common import (
    add_data_args,
    add_run_args,
    load_data,
    show_progress,
    whole,
    whole_number,
)

MAX_EPOCHS = 10_000

HELP = "train a network and write model.safetensors, spec.json, metrics.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help=HELP,
        description="Train mlp (the seed 16-16 sigmoid net), cnn or autoencoder; reuses the model "
        "cache when the same data, spec, settings and seed were trained before.",
    )
    from fragility.models import KINDS

    add_data_args(p)
    p.add_argument("--model", default="mlp", choices=KINDS, help="which network (default: mlp)")
    p.add_argument(
        "--epochs",
        type=whole(1, MAX_EPOCHS, "epochs"),
        default=None,
        help="epochs (default: per model and data)",
    )
    p.add_argument(
        "--hidden",
        type=widths,
        default=None,
        metavar="W,W",
        help="mlp hidden widths (default: 16,16)",
    )
    p.add_argument(
        "--activation", default=None, choices=("sigmoid", "relu", "tanh"), help="mlp activation"
    )
    p.add_argument(
        "--no-cache", action="store_true", help="train even if the cache holds this model"
    )
    add_run_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="checkpoint folder to write")
    p.set_defaults(func=run)


def widths(text: str) -> tuple[int, ...]:
    """'16,16' -> (16, 16): the hidden widths of an MLP, within the spec's bounds."""
    from fragility.models import MAX_LAYERS, MAX_WIDTH

    try:
        values = tuple(whole_number(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not 1 <= len(values) <= MAX_LAYERS or not all(1 <= v <= MAX_WIDTH for v in values):
        raise argparse.ArgumentTypeError(
            f"expected 1 to {MAX_LAYERS} widths from 1 to {MAX_WIDTH:,} like 16,16, not {text!r}"
        )
    return values


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from fragility import train
    from fragility.models import default_spec

    data = load_data(args)
    spec = default_spec(args.model, data.input_shape, data.num_classes)
    if args.hidden is not None:
        spec = dataclasses.replace(spec, hidden=args.hidden)
    if args.activation is not None:
        spec = dataclasses.replace(spec, activation=args.activation)
    config = train.default_config(spec, data, seed=args.seed, epochs=args.epochs)
    device = train.resolve_device(args.device)
    trained = train.train(
        spec, data, config, device=device, cache=not args.no_cache, progress=show_progress(args)
    )
    train.save(args.out, trained.model, spec, trained.metrics)
    r = trained.result
    how = "from the cache" if trained.from_cache else f"trained in {r.seconds:.1f} s"
    score = (
        f"test accuracy {pct(r.test_accuracy)}"
        if r.test_accuracy is not None
        else f"test reconstruction error {r.test_loss:.4f}"
    )
    print(
        f"{spec.name} on {data.name} ({len(data.x_test)} test images): {score}, {how} -> {args.out}"
    )
    return 0
