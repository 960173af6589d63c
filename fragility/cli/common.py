"""Arguments and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from typing import Any

from fragility.data import DATASETS, DEFAULT_DATASET, DataBundle, DataSource
from fragility.errors import ConfigError


def add_data_args(p: argparse.ArgumentParser, *, dataset: bool = True) -> None:
    """The options of a DataSource. Without `dataset` (commands that take --checkpoint), only
    where to find the files: the rest is recorded in the checkpoint."""
    if dataset:
        p.add_argument(
            "--dataset",
            default=DEFAULT_DATASET,
            metavar="NAME",
            help=f"one of {', '.join(DATASETS)} (default: {DEFAULT_DATASET}, embedded)",
        )
        p.add_argument(
            "--size",
            type=int,
            default=None,
            metavar="N",
            help="resize images to N x N (default: as stored; mixed sizes go to 32 x 32)",
        )
        p.add_argument(
            "--split-seed",
            type=int,
            default=0,
            metavar="S",
            help="seed of the train/test split where fragility makes one (digits, an "
            "imagefolder without train/ and test/); --seed never changes it (default: 0)",
        )
        p.add_argument(
            "--test-fraction",
            type=float,
            default=None,
            metavar="F",
            help="test share of that split (default: 0.25)",
        )
        p.add_argument(
            "--channels",
            type=int,
            default=None,
            choices=(1, 3),
            help="convert images to grey (1) or RGB (3) (default: as stored)",
        )
    p.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="where the dataset's files are (a folder, or an .npz file for --dataset npz)",
    )
    p.add_argument("--download", action="store_true", help="let torchvision fetch the dataset")


def add_run_args(p: argparse.ArgumentParser, *, seed: bool = True) -> None:
    if seed:
        p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where to compute (default: auto)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="intra-op threads for torch (default: chosen for the work, one for small networks; "
        "FRAGILITY_THREADS or OMP_NUM_THREADS also set it)",
    )


def show_progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def data_source(args: argparse.Namespace, name: str | None = None) -> DataSource:
    """The DataSource the data options of `args` name (see add_data_args)."""
    return DataSource(
        name or args.dataset,
        folder=args.data_dir,
        download=args.download,
        size=getattr(args, "size", None),
        split_seed=getattr(args, "split_seed", 0),
        test_fraction=getattr(args, "test_fraction", None),
        channels=getattr(args, "channels", None),
    )


def load_data(args: argparse.Namespace, name: str | None = None) -> DataBundle:
    from fragility import data

    return data.load(data_source(args, name))


def float_list(text: str) -> tuple[float, ...]:
    """'0.05,0.1' -> (0.05, 0.1), for argparse `type=`."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, not {text!r}"
        ) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(
            f"expected finite numbers separated by commas, not {text!r}"
        )
    return values


def checked(parse: Any, ok: Any, what: str, kind: str = "a number") -> Any:
    """An argparse `type=` that parses with `parse` and accepts only values where `ok`."""

    def check(text: str) -> Any:
        try:
            v = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, not {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {what}, not {v}")
        return v

    return check


positive_int = checked(int, lambda v: v >= 1, "a positive number", "a whole number")
non_negative_int = checked(int, lambda v: v >= 0, "zero or more", "a whole number")
positive_float = checked(float, lambda v: v > 0, "a positive number")
non_negative_float = checked(float, lambda v: v >= 0, "a number >= 0")
probability = checked(
    float, lambda v: 0.0 < v < 1.0, "a probability strictly between 0 and 1", "a probability"
)


def table(rows: list[list[Any]], header: list[str]) -> str:
    """A plain aligned text table."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def require(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


def add_checkpoint_args(p: argparse.ArgumentParser) -> None:
    """--checkpoint DIR plus the data options to find the dataset it was trained on."""
    p.add_argument(
        "--checkpoint", required=True, metavar="DIR", help="a folder from fragility train"
    )
    add_data_args(p, dataset=False)


def load_checkpoint_and_data(args: argparse.Namespace) -> tuple[Any, DataBundle]:
    """Load --checkpoint and the data source recorded in its metrics.json (same dataset,
    folder, size and split); --data-dir and --download, when given, override the recorded
    folder and download. Warns on stderr if the data's content hash differs from the one the
    model was trained on.
    """
    from fragility import data, train

    device = train.resolve_device(getattr(args, "device", "cpu"))
    ck = train.load(args.checkpoint, device=device)
    source = ck.data_source
    if args.data_dir is not None:
        source = dataclasses.replace(source, folder=args.data_dir)
    if args.download:
        source = dataclasses.replace(source, download=True)
    bundle = data.load(source)
    recorded = ck.dataset.get("hash")
    if recorded and recorded != bundle.hash:
        print(
            f"fragility: warning: {bundle.name} here (hash {bundle.hash}) differs from the data "
            f"the model was trained on (hash {recorded})",
            file=sys.stderr,
        )
    return ck, bundle


def write_outputs(out: str, json_name: str, payload: Any, figures: dict[str, Any]) -> None:
    """Write OUT/json_name and OUT/<name>.png for each matplotlib figure, atomically."""
    from fragility._io import atomic_dir, to_json
    from fragility.figures import to_png

    with atomic_dir(out) as tmp:
        (tmp / json_name).write_text(to_json(payload))
        for name, fig in figures.items():
            (tmp / f"{name}.png").write_bytes(to_png(fig))
