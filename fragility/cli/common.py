"""Arguments and helpers shared by the subcommands.

The number parsers here (`whole`, `real`, `seed`, `float_list`, ...) refuse words, nan, inf and
absurd magnitudes while the command line is read, so a bad number costs one line and no work.
This module must stay light to import (no torch): `fragility --help` and the scenario commands
load it.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from typing import TYPE_CHECKING, Any

from fragility.errors import ConfigError

if TYPE_CHECKING:  # the data package imports torch: only the commands that use it pay for it
    from fragility.data import DataBundle, DataSource


def add_data_args(p: argparse.ArgumentParser, *, dataset: bool = True) -> None:
    """The options of a DataSource. Without `dataset` (commands that take --checkpoint), only
    where to find the files: the rest is recorded in the checkpoint."""
    if dataset:
        from fragility.data import DATASETS, DEFAULT_DATASET

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
            type=seed_number,
            default=0,
            metavar="S",
            help="seed of the train/test split where fragility makes one (digits, an "
            "imagefolder without train/ and test/); --seed never changes it (default: 0)",
        )
        p.add_argument(
            "--test-fraction",
            type=real(0.0, 1.0, "a share strictly between 0 and 1", lo_open=True, hi_open=True),
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
        p.add_argument("--seed", type=seed_number, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where to compute (default: auto)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--threads",
        type=whole(1, _cores(), "a thread count (at most the cores here)"),
        default=None,
        metavar="N",
        help="intra-op threads for torch (default: chosen for the work, one for small networks; "
        "FRAGILITY_THREADS or OMP_NUM_THREADS also set it)",
    )


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def show_progress(args: argparse.Namespace) -> bool:
    """Progress unless --quiet: a bar on a terminal, a line every few seconds elsewhere."""
    return not getattr(args, "quiet", False)


def data_source(args: argparse.Namespace, name: str | None = None) -> DataSource:
    """The DataSource the data options of `args` name (see add_data_args)."""
    from fragility.data import DataSource

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

    return data.load(prepare_data(data_source(args, name)))


def prepare_data(source: DataSource) -> DataSource:
    """Render a rendered dataset (tempe-crops) into the data folder if it is not there yet.

    The data package reads such a set as an ordinary .npz file and never imports `scenarios`,
    whose renderer draws it; the command line may, lazily, and does so here, once per set."""
    from fragility.data import catalog

    if catalog.dataset_info(source.name).loader != catalog.RENDERED:
        return source
    path = catalog.rendered_path(
        source.name,
        source.folder,
        size=source.size,
        channels=source.channels,
        split_seed=source.split_seed,
    )
    if not path.is_file():
        from scenarios import crops

        print(f"fragility: rendering {source.name} into {path} (once)", file=sys.stderr)
        crops.write_dataset(
            source.name,
            source.folder,
            size=source.size,
            channels=source.channels,
            split_seed=source.split_seed,
        )
    return source


def finite_number(text: str) -> float:
    """A finite number; ValueError for words, nan and inf (they would fail far later, in the
    JSON written after all the work)."""
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def whole_number(text: str) -> int:
    """A whole number; '1e6' and '2.0' are accepted, '2.5' and 'inf' are not."""
    try:
        return int(text)
    except ValueError:
        v = finite_number(text)
        if not v.is_integer():
            raise
        return int(v)


def checked(parse: Any, ok: Any, what: str, kind: str = "a number") -> Any:
    """An argparse `type=` that parses with `parse` and accepts only values where `ok`.

    `what` names the accepted values and says what is sensible ("a seed from 0 to 2^32 - 1");
    argparse prints the error on one line, prefixed with the option's name.
    """

    def check(text: str) -> Any:
        try:
            v = parse(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {kind}, not {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {what}, not {text}")
        return v

    check.accepts = ok  # type: ignore[attr-defined]  # for the tests: which values pass
    return check


def whole(lo: int, hi: int, what: str) -> Any:
    """Whole numbers in [lo, hi]: `what` says what the number counts ("ascent steps")."""
    return checked(
        whole_number, lambda v: lo <= v <= hi, f"{what} from {lo:,} to {hi:,}", "a whole number"
    )


def real(lo: float, hi: float, what: str, *, lo_open: bool = False, hi_open: bool = False) -> Any:
    """Finite numbers from lo to hi (either end open on request): `what` says what is sensible."""

    def ok(v: float) -> bool:
        return (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)

    return checked(finite_number, ok, what, "a finite number")


def float_list(text: str) -> tuple[float, ...]:
    """'0.05,0.1' -> (0.05, 0.1), finite, for argparse `type=`."""
    try:
        values = tuple(finite_number(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected finite numbers separated by commas, not {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, not {text!r}")
    return values


def share_list(text: str) -> tuple[float, ...]:
    """'0,0.5,1' -> (0.0, 0.5, 1.0): shares, each from 0 to 1."""
    values = float_list(text)
    if not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"expected shares from 0 to 1, not {text}")
    return values


float_list.accepts = lambda v: all(math.isfinite(x) for x in v)  # type: ignore[attr-defined]
share_list.accepts = lambda v: all(0.0 <= x <= 1.0 for x in v)  # type: ignore[attr-defined]


SEED_LIMIT = 2**32  # numpy's and scikit-learn's seeds: 0 <= seed < 2^32

seed_number = whole(0, SEED_LIMIT - 1, "a seed")
positive_int = whole(1, 2**31 - 1, "a positive whole number")
non_negative_int = whole(0, 2**31 - 1, "a whole number >= 0")
positive_float = real(0.0, 1e300, "a positive number", lo_open=True)
non_negative_float = real(0.0, 1e300, "a number >= 0")
probability = real(0.0, 1.0, "a probability strictly between 0 and 1", lo_open=True, hi_open=True)
share = real(0.0, 1.0, "a share from 0 to 1")
# Monte Carlo runs: the caps of a scenario file's [sweep] (10 million runs per cell, 100 million
# in all: about 8 minutes and 80 minutes of work on one core of the reference machine).
MAX_RUNS = 10_000_000
MAX_TOTAL_RUNS = 100_000_000
runs = whole(1, MAX_RUNS, "a number of runs")


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
    bundle = data.load(prepare_data(source))
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
