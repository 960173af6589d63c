"""fragility report: train or reuse the models and write the failure report."""

from __future__ import annotations

import argparse
import sys
import time

from fragility.cli.common import (
    add_model_args,
    add_run_args,
    model_sources,
    show_progress,
    sources_data,
)

HELP = "write the failure report (HTML for people, JSON for scripts)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help=HELP,
        description="Study the lecture's networks (trained here, or reused from the cache) or "
        "your own models (--model-factory, --arch, --checkpoint; repeat to compare several) and "
        "write index.html, metrics.json, manifest.json and figures/ into --out.",
    )
    add_model_args(p, several=True)
    p.add_argument(
        "--models",
        default=None,
        metavar="LIST",
        help="the lecture's networks to train and study, mlp and/or cnn (default: mlp,cnn, or "
        "none when you bring a model)",
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
    from fragility.errors import ConfigError
    from fragility.report.build import CLASSIFIERS, ReportConfig, build
    from fragility.report.writer import write

    start = time.perf_counter()
    brought = model_sources(args, several=True)
    if args.models is None:
        lecture: tuple[str, ...] = () if brought else CLASSIFIERS
    else:
        lecture = tuple(m.strip() for m in args.models.split(",") if m.strip())
        if not lecture:
            raise ConfigError("--models needs mlp, cnn or both")
    data = sources_data(brought, args)
    config = ReportConfig(
        data=data,
        models=lecture,
        sources=brought,
        seed=args.seed,
        quick=args.quick,
        device=args.device,
        sections=tuple(args.sections.split(",")) if args.sections else None,
        cache=not args.no_cache,
    )
    out = args.out or f"reports/{data.name}"
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
