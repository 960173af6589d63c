"""fragility data [list] | info NAME: what datasets exist and where they were found."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from fragility.cli.common import add_data_args, load_data, table

if TYPE_CHECKING:
    from fragility.data import DatasetInfo

HELP = "list datasets or describe one"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help=HELP)
    # Without an action, list (the common question: what can I load here?).
    p.add_argument("--data-dir", default=None, metavar="DIR", help="also look in this folder")
    p.set_defaults(func=run_list)
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    lp = dsub.add_parser("list", help="known datasets and whether they are available here")
    # SUPPRESS: without it the subcommand's default would overwrite `data --data-dir DIR list`.
    lp.add_argument(
        "--data-dir", default=argparse.SUPPRESS, metavar="DIR", help="also look in this folder"
    )
    lp.set_defaults(func=run_list)
    ip = dsub.add_parser("info", help="load a dataset and describe it")
    ip.add_argument("dataset", metavar="NAME", help="dataset name")
    add_data_args(ip)
    ip.set_defaults(func=run_info)


def _size(info: DatasetInfo) -> str:
    if info.native_size:
        side = f"{info.native_size}x{info.native_size}"
    else:
        side = "mixed" if info.class_names else "any"
    return side + (" RGB" if info.channels == 3 else "")


def run_list(args: argparse.Namespace) -> int:
    from fragility.data import DATASETS, locate

    rows = []
    for name, info in DATASETS.items():
        if info.loader == "embedded":
            where = "embedded"
        elif info.native_size is None and not info.class_names and args.data_dir is None:
            where = "yours: " + info.how_to_get  # imagefolder, npz: only where you point
        else:
            found = locate(name, args.data_dir)
            where = str(found) if found else "not found: " + info.how_to_get
        rows.append([name, _size(info), where])
    print(table(rows, ["dataset", "size", "available"]))
    return 0


def run_info(args: argparse.Namespace) -> int:
    bundle = load_data(args)
    d = bundle.to_dict()
    classes = ", ".join(bundle.class_names)
    if len(classes) > 200:
        classes = classes[:197] + "..."
    lines = [
        f"{bundle.name}: {bundle.description}",
        f"  source       {bundle.source.describe()}",
        f"  read from    {bundle.location}",
        f"  train / test {d['n_train']:,} / {d['n_test']:,} images",
        f"  shape        {tuple(d['input_shape'])} (channels, height, width)",
        f"  classes      {bundle.num_classes}: {classes}",
        f"  pixel mean   {float(bundle.x_train.mean()):.3f}",
        f"  hash         {bundle.hash}",
    ]
    print("\n".join(lines))
    return 0
