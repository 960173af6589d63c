"""fragility report: train or reuse the models and write the failure report."""

from __future__ import annotations

import argparse
import sys
import time

from fragility.cli.common import (
    add_data_args,
    add_run_args,
    data_source,
    prepare_data,
    show_progress,
)

HELP = "write the failure report (HTML for people, JSON for scripts)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help=HELP,
        description="Train (or reuse from the cache) the models and write index.html, "
        "metrics.json, manifest.json and figures/ into --out.",
    )
    add_data_args(p)
    p.add_argument(
        "--models",
        default="mlp,cnn",
        metavar="LIST",
        help="classifiers to study (default: mlp,cnn)",
    )
    p.add_argument("--quick", action="store_true", help="smaller budgets: a fast smoke run")
    p.add_argument(
        "--pdf", action="store_true", help="also print report.pdf with headless Chromium"
    )
    p.add_argument(
        "--paper",
        choices=("a4", "letter"),
        default="a4",
        help="paper size of report.pdf (default: a4)",
    )
    p.add_argument("--sections", default=None, metavar="LIST", help="only these sections")
    p.add_argument("--no-cache", action="store_true", help="retrain the models")
    add_run_args(p)
    p.add_argument("--out", default=None, metavar="DIR", help="default: reports/DATASET")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fragility.report.build import ReportConfig, build
    from fragility.report.writer import write

    start = time.perf_counter()
    config = ReportConfig(
        data=prepare_data(data_source(args)),
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()),
        seed=args.seed,
        quick=args.quick,
        device=args.device,
        sections=tuple(args.sections.split(",")) if args.sections else None,
        cache=not args.no_cache,
    )
    out = args.out or f"reports/{args.dataset}"
    if args.out is None:  # the command line's --out was checked before the command started
        from fragility._io import check_output_folder

        check_output_folder(out)
    report = build(config, progress=show_progress(args), command=["fragility", *sys.argv[1:]])
    write(report, out, pdf=args.pdf, paper=args.paper)
    print(report.title)
    for line in report.summary:
        print(f"  - {line}")
    print(
        f"wrote {out}/index.html{' and report.pdf' if args.pdf else ''} "
        f"({len(report.sections)} sections) in "
        f"{time.perf_counter() - start:.1f} s"
    )
    return 0
