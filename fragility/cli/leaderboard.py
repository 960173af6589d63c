"""fragility leaderboard: a grid folder's models ranked, as a page, CSV and JSON."""

from __future__ import annotations

import argparse

HELP = "rank a grid's models (robust accuracy, calibration, garbage, ...): page, CSV, JSON"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
        help=HELP,
        description="Read DIR/grid.sqlite (written by fragility grid) and write OUT/index.html, "
        "OUT/leaderboard.csv and OUT/leaderboard.json: one row per model, ranked by robust "
        "accuracy at the largest epsilon of the grid's first attack, with clean accuracy, "
        "calibration, corruption accuracy, garbage confidence and shortcut-following.",
    )
    p.add_argument("dir", metavar="DIR", help="a folder written by fragility grid")
    p.add_argument(
        "--out", default=None, metavar="OUT", help="where to write (default: DIR/leaderboard)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fragility._fmt import pct
    from fragility.cli.common import table
    from fragility.grid import leaderboard

    folder = Path(args.dir)
    board = leaderboard.build_from(folder)
    out = leaderboard.write(board, Path(args.out) if args.out else folder / "leaderboard", folder)
    cols = board.columns
    rows = [
        [str(i), e.model, *(pct(e.values.get(c.key)) for c in cols)]
        for i, e in enumerate(board.entries, start=1)
    ]
    print(table(rows, ["rank", "model", *(c.title for c in cols)]))
    print(f"-> {out / 'index.html'}, {out / 'leaderboard.csv'}, {out / 'leaderboard.json'}")
    return 0
