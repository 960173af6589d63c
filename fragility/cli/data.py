"""fragility data [list] | info NAME: what datasets exist and where they were found."""

from __future__ import annotations

import argparse

from fragility.cli.common import add_data_args, load_data, seed_number, table

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
    ip.add_argument("name", help="dataset name")
    add_data_args(ip, dataset=False)
    ip.add_argument("--size", type=int, default=None, metavar="N", help="resize images to N x N")
    ip.add_argument("--seed", type=seed_number, default=0, help="split seed (digits)")
    ip.set_defaults(func=run_info)


def run_list(args: argparse.Namespace) -> int:
    from fragility.data import DATASETS, locate

    rows = []
    for name, info in DATASETS.items():
        if info.torchvision_class is None:
            where = "embedded"
        else:
            found = locate(name, args.data_dir)
            where = str(found) if found else "not found: " + info.how_to_get
        rows.append([name, f"{info.native_size}x{info.native_size}", where])
    print(table(rows, ["dataset", "size", "available"]))
    return 0


def run_info(args: argparse.Namespace) -> int:
    bundle = load_data(args, name=args.name)
    d = bundle.to_dict()
    lines = [
        f"{bundle.name}: {bundle.description}",
        f"  source       {bundle.source}",
        f"  train / test {d['n_train']:,} / {d['n_test']:,} images",
        f"  shape        {tuple(d['input_shape'])} (channels, height, width)",
        f"  classes      {', '.join(bundle.class_names)}",
        f"  pixel mean   {float(bundle.x_train.mean()):.3f}",
        f"  hash         {bundle.hash}",
    ]
    print("\n".join(lines))
    return 0
