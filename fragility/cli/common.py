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


def add_data_args(
    p: argparse.ArgumentParser, *, dataset: bool = True, recorded: bool = False
) -> None:
    """The options of a DataSource. Without `dataset`, only where to find the files. With
    `recorded` (commands that study a model), --dataset left out means the data a --checkpoint
    was trained on, or the default dataset."""
    if dataset:
        from fragility.data import DATASETS, DEFAULT_DATASET

        p.add_argument(
            "--dataset",
            default=None if recorded else DEFAULT_DATASET,
            metavar="NAME",
            help=f"one of {', '.join(DATASETS)} (default: "
            + (
                f"what a --checkpoint was trained on, else {DEFAULT_DATASET})"
                if recorded
                else f"{DEFAULT_DATASET}, embedded)"
            ),
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


# ---------------------------------------------------------------------------------------------
# Which model: a train folder, a factory with weights, or a torchvision architecture

# The options that open a model, and those that describe the model opened last.
_OPENERS = {"--checkpoint": "checkpoint", "--model-factory": "factory", "--arch": "torchvision"}
_OPTIONS = {
    "--weights": ("factory", "torchvision"),
    "--factory-args": ("factory",),
    "--num-classes": ("torchvision",),
    "--normalize": ("checkpoint", "factory", "torchvision"),
    "--name": ("checkpoint", "factory", "torchvision"),
}
_NAME_A_MODEL = (
    "name a model: --checkpoint DIR (from fragility train), --model-factory FILE.py:FUNCTION "
    "--weights FILE, or --arch torchvision:NAME --num-classes K --weights FILE"
)


class _InOrder(argparse.Action):
    """Keeps the model options in command-line order, in `namespace.model_flags`, so that each
    --weights, --name, ... belongs to the --checkpoint, --model-factory or --arch before it."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        flags = list(getattr(namespace, "model_flags", None) or ())
        flags.append((self.option_strings[0], values))
        namespace.model_flags = flags


def add_model_args(p: argparse.ArgumentParser, *, several: bool = False) -> None:
    """The options of a ModelSource, and the data options. With `several`, each of
    --checkpoint, --model-factory and --arch may be repeated, each followed by its own
    --weights, --name, ...; without, exactly one model."""
    again = " (repeatable: one per model)" if several else ""
    g = p.add_argument_group(
        "the model",
        "Each option after --checkpoint, --model-factory or --arch belongs to that model"
        + (". Repeat the group to compare several models." if several else "."),
    )
    add = g.add_argument
    add(
        "--checkpoint",
        action=_InOrder,
        dest="model_flags",
        metavar="DIR",
        help="a folder from fragility train (remembers its data)" + again,
    )
    add(
        "--model-factory",
        action=_InOrder,
        dest="model_flags",
        metavar="FILE.py:FUNCTION",
        help="a function returning your torch.nn.Module (or package.module:FUNCTION)" + again,
    )
    add(
        "--arch",
        action=_InOrder,
        dest="model_flags",
        metavar="torchvision:NAME",
        help="a torchvision architecture, e.g. torchvision:resnet18 (needs --num-classes)" + again,
    )
    add(
        "--weights",
        action=_InOrder,
        dest="model_flags",
        metavar="FILE",
        help="the model's weights: .safetensors or a PyTorch state dict (.pt/.pth), never "
        "unpickled; 'none' for a factory that loads its own",
    )
    add(
        "--factory-args",
        action=_InOrder,
        dest="model_flags",
        metavar="JSON",
        help="keyword arguments for the factory, e.g. '{\"width\": 64}'",
    )
    add(
        "--num-classes",
        action=_InOrder,
        dest="model_flags",
        type=whole(2, 1_000_000, "a class count"),
        metavar="K",
        help="classes of a torchvision architecture's head",
    )
    add(
        "--normalize",
        action=_InOrder,
        dest="model_flags",
        metavar="MEAN,...:STD,...",
        help="the model expects normalised input: fragility normalises inside the model, so "
        "images stay in [0, 1]",
    )
    add(
        "--name",
        action=_InOrder,
        dest="model_flags",
        metavar="NAME",
        help="what the outputs call the model (default: from its source)",
    )
    add_data_args(p, recorded=True)


def model_sources(args: argparse.Namespace, *, several: bool = False) -> tuple[Any, ...]:
    """The ModelSources the model options of `args` name, in command-line order."""
    from fragility.sources import ModelSource, parse_factory_args, parse_normalize

    given = list(getattr(args, "model_flags", None) or ())
    groups: list[dict[str, Any]] = []

    def counts(flag: str) -> str:
        n, models = sum(f == flag for f, _ in given), sum(f in _OPENERS for f, _ in given)
        return f"{models} model{'s' if models != 1 else ''}, {n} {flag}"

    for flag, value in given:
        if flag in _OPENERS:
            groups.append({"kind": _OPENERS[flag], flag: value})
            continue
        if not groups:
            raise ConfigError(
                f"{flag} {value} comes before any model: put it after the --checkpoint, "
                "--model-factory or --arch it belongs to"
            )
        g = groups[-1]
        if flag in g:
            raise ConfigError(
                f"{_label(g)} has {flag} twice ({counts(flag)}); put each model's "
                f"{flag} right after its --model-factory, --arch or --checkpoint"
            )
        if g["kind"] not in _OPTIONS[flag]:
            raise ConfigError(f"{flag} does not apply to {_label(g)}")
        g[flag] = value
    if not several and len(groups) > 1:
        raise ConfigError(
            f"{args.command} studies one model, not {len(groups)}; run it once per model, or "
            "compare several with fragility report"
        )
    for g in groups:
        if g["kind"] != "checkpoint" and "--weights" not in g:
            raise ConfigError(
                f"{_label(g)} has no --weights ({counts('--weights')}): give each "
                "--model-factory and --arch its --weights FILE right after it (a factory that "
                "loads its own weights: --weights none)"
            )
        if g["kind"] == "torchvision" and "--num-classes" not in g:
            raise ConfigError(f"{_label(g)} needs --num-classes K (the classes of its head)")
    out = []
    for g in groups:
        arch = g.get("--arch")
        if arch is not None:
            prefix, _, arch = arch.partition(":")
            if prefix != "torchvision" or not arch:
                raise ConfigError(
                    f"--arch takes torchvision:NAME (e.g. torchvision:resnet18), "
                    f"not {g['--arch']!r}"
                )
        weights = g.get("--weights")
        out.append(
            ModelSource(
                g["kind"],
                name=g.get("--name", ""),
                path=g.get("--checkpoint"),
                factory=g.get("--model-factory"),
                factory_args=parse_factory_args(g["--factory-args"])
                if "--factory-args" in g
                else {},
                arch=arch,
                num_classes=g.get("--num-classes"),
                weights=None if weights in (None, "none") else weights,
                normalize=parse_normalize(g["--normalize"]) if "--normalize" in g else None,
            )
        )
    names = [s.name for s in out]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise ConfigError(f"two models are called {twice!r}; give each its own --name")
    return tuple(out)


def _label(group: dict[str, Any]) -> str:
    opener = next(f for f in _OPENERS if f in group)
    return f"{opener} {group[opener]}"


def sources_data(sources: Any, args: argparse.Namespace) -> DataSource:
    """The data to study `sources` on: the data options when --dataset is given, else the data
    the first train folder was trained on (with --data-dir and --download applied), else the
    default dataset; a rendered set is rendered into the data folder first (prepare_data)."""
    from fragility.data import DEFAULT_DATASET

    first = sources[0] if sources else None
    if getattr(args, "dataset", None) is not None or first is None or first.kind != "checkpoint":
        return prepare_data(data_source(args, getattr(args, "dataset", None) or DEFAULT_DATASET))
    from fragility import train

    recorded = train.load(first.path).data_source
    if args.data_dir is not None:
        recorded = dataclasses.replace(recorded, folder=args.data_dir)
    if args.download:
        recorded = dataclasses.replace(recorded, download=True)
    return prepare_data(recorded)


def load_model_and_data(args: argparse.Namespace) -> tuple[Any, DataBundle]:
    """The one model the options of `args` name (a LoadedModel: eval mode, on --device) and
    the data to study it on; checked to take that data's images and score its classes."""
    from fragility import data, sources, train

    found = model_sources(args)
    if not found:
        raise ConfigError(_NAME_A_MODEL)
    source = found[0]
    device = train.resolve_device(getattr(args, "device", "cpu"))
    loaded = sources.load(source, device=device)
    if loaded.checkpoint is not None and loaded.checkpoint.spec.kind == "autoencoder":
        raise ConfigError(f"{source.path} holds an autoencoder; {args.command} needs a classifier")
    bundle = data.load(sources_data(found, args))
    if loaded.checkpoint is not None:
        recorded = loaded.checkpoint.dataset.get("hash")
        if recorded and recorded != bundle.hash:
            print(
                f"fragility: warning: {bundle.name} here (hash {bundle.hash}) differs from the "
                f"data the model was trained on (hash {recorded})",
                file=sys.stderr,
            )
    sources.check_fits(loaded.model, bundle.input_shape, bundle.num_classes, loaded.label)
    return loaded, bundle


def write_outputs(out: str, json_name: str, payload: Any, figures: dict[str, Any]) -> None:
    """Write OUT/json_name and OUT/<name>.png for each matplotlib figure, atomically."""
    from fragility._io import atomic_dir, to_json
    from fragility.figures import to_png

    with atomic_dir(out) as tmp:
        (tmp / json_name).write_text(to_json(payload))
        for name, fig in figures.items():
            (tmp / f"{name}.png").write_bytes(to_png(fig))
