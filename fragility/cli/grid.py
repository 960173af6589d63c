"""fragility grid: run a grid of jobs (models x analyses x seeds) into a folder, locally or on
Ray, then write its leaderboard."""

from __future__ import annotations

import argparse
import shlex
import sys

from fragility.cli.common import whole

HELP = "run a grid of models x analyses x seeds on local processes or Ray; writes a leaderboard"
MAX_WORKERS = 1024


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grid",
        help=HELP,
        description="Run every job of a grid file (or a packaged grid such as digits-small) "
        "into OUT: results in OUT/grid.sqlite, a log per job in OUT/logs/, checkpoints and "
        "reports beside them, and the leaderboard in OUT/leaderboard/. An interrupted grid "
        "goes on with --resume: finished jobs are kept, never run again.",
    )
    p.add_argument("grid", metavar="GRID", help="a grid .toml file or a packaged grid's name")
    p.add_argument("--out", required=True, metavar="DIR", help="the grid folder to write")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=whole(1, MAX_WORKERS, "a number of worker processes"),
        default=None,
        metavar="N",
        help="local worker processes, one core each (default: one per core)",
    )
    where.add_argument(
        "--ray",
        default=None,
        metavar="auto|ADDRESS",
        help="run the jobs as Ray tasks: 'auto' (RAY_ADDRESS, else a local Ray instance) or a "
        "cluster's address (ray://HOST:10001); needs pip install 'fragility[ray]'",
    )
    p.add_argument("--resume", action="store_true", help="go on with the grid already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


class _ProgressLine:
    """One line, rewritten in place on a terminal; elsewhere a line whenever a job ends."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.finished = -1

    def __call__(self, p) -> None:  # a fragility.grid.coordinator.Progress
        if self.quiet:
            return
        line = p.line()
        if self.tty:
            if line != self.last:
                sys.stderr.write("\r\033[K" + line)
                sys.stderr.flush()
        elif p.done + p.failed != self.finished:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
            self.finished = p.done + p.failed
        self.last = line

    def end(self) -> None:
        if self.tty and self.last and not self.quiet:
            sys.stderr.write("\n")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.ray is None:  # the workers' server imports torch while this process reads the grid
        from fragility.grid import _server

        _server.start()
    from fragility import grid
    from fragility.grid import leaderboard
    from fragility.grid.coordinator import run as run_grid

    spec = grid.load(args.grid)
    out = Path(args.out)
    line = _ProgressLine(args.quiet)
    try:
        outcome = run_grid(
            spec,
            out,
            workers=args.workers,
            ray=args.ray,
            resume=args.resume,
            command=shlex.join(["fragility", *sys.argv[1:]]),
            on_progress=line,
        )
    finally:
        line.end()
    board = leaderboard.build_from(out)
    page = leaderboard.write(board, out / "leaderboard", out)
    c = outcome.counts
    print(
        f"grid {spec.name}: {c['done']} of {sum(c.values())} jobs done, {c['failed']} failed, "
        f"in {outcome.seconds:.1f} s -> {out}; leaderboard: {page / 'index.html'}"
    )
    for job, error in outcome.failed[:10]:
        print(f"  failed: {job}: {error}", file=sys.stderr)
    if len(outcome.failed) > 10:
        print(
            f"  ... and {len(outcome.failed) - 10} more (see {page / 'index.html'})",
            file=sys.stderr,
        )
    return 1 if outcome.failed else 0
