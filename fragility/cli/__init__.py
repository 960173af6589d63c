"""The command line: one subcommand per module here. The only place that reads argv.

Errors a user can cause (FragilityError) print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import fragility
from fragility.errors import FragilityError

# Subcommand modules, each with register(subparsers). Imported lazily so `fragility --help`
# and the light commands start fast.
COMMANDS = (
    "report",
    "train",
    "data",
    "attack",
    "garbage",
    "invert",
    "shortcut",
    "neurons",
    "scenario",
    "grid",
    "leaderboard",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fragility",
        description="Train the lecture's networks, then show how they fail.",
    )
    parser.add_argument("--version", action="version", version=f"fragility {fragility.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"fragility.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "threads"):  # the commands that compute with torch
            from fragility import threads

            threads.configure(args.threads)
        return int(args.func(args) or 0)
    except FragilityError as exc:
        print(f"fragility: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head, say: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("fragility: interrupted; earlier outputs were left as they were", file=sys.stderr)
        return 130
