"""The command line: one subcommand per module here. The only place that reads argv.

Errors a user can cause print one line to stderr and exit with status 2: a bad argument (the
parser's error, on one line with a pointer to --help) and a FragilityError (a bad file, path or
value found while running). Output folders are checked before any work starts.

Only the subcommand being run is imported in full: `fragility --help` and the scenario commands
never import torch. Each module here names its one-line HELP and registers its parser.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import NoReturn

import fragility
from fragility.errors import FragilityError, FragilityWarning

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


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line: what was wrong and where to read more."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text}; see {self.prog} --help\n")


def build_parser(full: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser, with the subcommands in `full` registered in full and the others by name and
    one-line help only (enough for `fragility --help` and to reject an unknown name)."""
    parser = Parser(
        prog="fragility",
        description="Train the lecture's networks, then show how they fail.",
    )
    parser.add_argument("--version", action="version", version=f"fragility {fragility.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"fragility.cli.{name}")
        if name in full:
            module.register(sub)
        else:
            sub.add_parser(name, help=module.HELP)
    return parser


def _command(argv: Sequence[str]) -> tuple[str, ...]:
    """The subcommand named in argv (the first word; the top level takes only flags)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return (first,) if first in COMMANDS else ()


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that the atomic writers clean up after themselves."""


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise Terminated


@contextlib.contextmanager
def _signals_and_warnings() -> Iterator[None]:
    """While a command runs: SIGTERM raises Terminated, and the library's FragilityWarnings print
    as one line each ("fragility: warning: ...")."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    with warnings.catch_warnings():
        show = warnings.showwarning

        def one_line(message, category, filename, lineno, file=None, line=None) -> None:
            if issubclass(category, FragilityWarning):
                print(f"fragility: warning: {message}", file=sys.stderr)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = one_line
        try:
            yield
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(_command(argv)).parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (already printed)
        return exc.code if isinstance(exc.code, int) else 0
    try:
        with _signals_and_warnings():
            if getattr(args, "out", None) is not None:
                from fragility._io import check_output_folder

                check_output_folder(args.out, keep=_inputs(args))
            if getattr(args, "pdf", False):
                from fragility.report.writer import require_chromium

                require_chromium()
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
    except Terminated:
        print("fragility: terminated; earlier outputs were left as they were", file=sys.stderr)
        return 143


def _inputs(args: argparse.Namespace) -> list[str]:
    """Folders the command reads, which its --out must not replace."""
    names = ("autoencoder", "transfer", "data_dir")
    found = [v for v in (getattr(args, n, None) for n in names) if isinstance(v, str)]
    for flag, value in getattr(args, "model_flags", None) or ():  # the model options, in order
        if flag in ("--checkpoint", "--weights") and value != "none":
            found.append(value)
        elif flag == "--model-factory" and value.rsplit(":", 1)[0].endswith(".py"):
            found.append(value.rsplit(":", 1)[0])
    return found
