"""Regenerate the README's tour from what the commands print, so it cannot drift.

    python tests/readme_tour.py            # run every command, rewrite README.md
    python tests/readme_tour.py --check    # run them, exit 1 if README.md differs

What it rewrites:

- every ```text block in README.md made of `$ fragility ...` lines: each command runs, in the
  README's order, in one empty temporary folder (so `train --out runs/mlp` makes what a later
  `invert --checkpoint runs/mlp` reads), and the lines after it are replaced by what it printed
  on stdout. The block that starts with `$ fragility report` runs after the others, so it finds
  the tour's models in the model cache as the README says ("warm cache").
- the ```python block under "## Scripting": it runs, and the comment after each `print(...)`
  becomes what that call printed.
- a ```python block whose first line is `# NAME.py: ...` is a file the reader writes: it is
  written to the tour's folder before any command runs, and a text block may run it with a
  `$ python NAME.py` line (its stdout shown like a command's).

The conditions are fixed: an empty model cache and data folder of its own (FRAGILITY_CACHE and
FRAGILITY_DATA point into the temporary folder; the system folders, such as Debian's
/usr/share/datasets/fashion-mnist, are still searched), the default thread policy
(FRAGILITY_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS are unset), and the CLI run in this
process through `fragility.cli.main`. `fragility neurons` is cut to its first NEURONS_HEAD lines,
a "..." line and its last line.

Nothing is masked in README.md: it holds the output of one run, timings included. Timings are
the one thing that differs between machines and runs, so the comparison (`--check` and
tests/test_readme_tour.py) replaces each timing, as TIMINGS finds them, with "<seconds>" and
then ignores runs of spaces and dashes (a timing's width shifts table columns). TIMINGS finds a
number of seconds after "trained in " or " in " at the end of a line or before " (", before
" -> " (where a command names its output folder), and at the end of a table row (garbage's
"time" column). Simulated times ("braking 0.20 s before impact") are compared exactly.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
NEURONS_HEAD = 35
TIMINGS = (
    re.compile(r"(?<=trained in )\d+(?:\.\d+)? s\b"),
    re.compile(r"(?<= in )\d+(?:\.\d+)? s(?=$| \()", re.MULTILINE),
    re.compile(r"\d+(?:\.\d+)? s(?= -> )"),
    re.compile(r"(?<=  )\d+\.\d+ s$", re.MULTILINE),
)
# Commands that take minutes on two cores; the test runs every other block.
SLOW = (
    "fragility garbage",
    "fragility shortcut",
    "fragility report",
    "fragility scenario case-study",
    "fragility scenario run tempe-2018-classifier",  # trains its CNN in the empty model cache
    "fragility scenario compare --classifier",
    "fragility scenario sensitivity",
    "fragility scenario tradeoff",
    "fragility grid",
)


@dataclass
class Block:
    """A fenced block of README.md: lines[start:end] are its contents (between the fences)."""

    start: int
    end: int
    commands: list[str]  # "$ ..." lines, without the "$ "

    @property
    def slow(self) -> bool:
        return any(c.startswith(SLOW) for c in self.commands)


def text_blocks(lines: list[str]) -> list[Block]:
    """The ```text blocks whose first line is a `$ fragility` command."""
    blocks, i = [], 0
    while i < len(lines):
        if lines[i] == "```text":
            end = lines.index("```", i + 1)
            body = lines[i + 1 : end]
            if body and body[0].startswith(("$ fragility", "$ python ")):
                commands = [line[2:] for line in body if line.startswith("$ ")]
                blocks.append(Block(i + 1, end, commands))
            i = end
        i += 1
    return blocks


def reader_files(lines: list[str]) -> dict[str, str]:
    """The ```python blocks that are files the reader writes: {"net.py": its text}."""
    files = {}
    for i, line in enumerate(lines):
        m = re.match(r"# (\w+\.py): ", lines[i + 1]) if line == "```python" else None
        if m:
            files[m[1]] = "\n".join(lines[i + 1 : lines.index("```", i + 1)]) + "\n"
    return files


def python_block(lines: list[str]) -> Block:
    start = lines.index("## Scripting")
    first = lines.index("```python", start) + 1
    return Block(first, lines.index("```", first), [])


@contextlib.contextmanager
def tour_conditions(folder: Path) -> Iterator[None]:
    """The fixed conditions named in the module docstring, undone afterwards."""
    saved_env = dict(os.environ)
    cwd = os.getcwd()
    os.environ["FRAGILITY_CACHE"] = str(folder / ".cache")
    os.environ["FRAGILITY_DATA"] = str(folder / ".data")
    for name in ("FRAGILITY_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.pop(name, None)
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_command(command: str) -> list[str]:
    """What `command` (a `fragility ...` line) prints on stdout, as lines."""
    from fragility.cli import main

    argv = shlex.split(command)
    assert argv[0] in ("fragility", "python"), command
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv[1:]) if argv[0] == "fragility" else run_file(argv[1:])
    if code != 0:
        raise SystemExit(f"`{command}` exited with {code}: {err.getvalue().strip()}")
    printed = out.getvalue().rstrip("\n").split("\n")
    if argv[1:] == ["neurons"] and len(printed) > NEURONS_HEAD + 1:
        printed = [*printed[:NEURONS_HEAD], "...", printed[-1]]
    return printed


def run_file(argv: list[str]) -> int:
    """`python FILE.py ARGS` in this process, the tour's folder first on the import path (so
    the reader's files import each other, as they would)."""
    import runpy

    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv, sys.path = argv, [os.getcwd(), *sys.path]
    try:
        runpy.run_path(argv[0], run_name="__main__")
    finally:
        sys.argv, sys.path = saved_argv, saved_path
        for name in [n for n, m in sys.modules.items() if _from_folder(m)]:
            del sys.modules[name]  # the reader's modules, so a second tour imports them afresh
    return 0


def _from_folder(module: object) -> bool:
    where = getattr(module, "__file__", None) or ""
    return where.startswith(os.getcwd() + os.sep)


def render_block(block: Block, run: Callable[[str], list[str]]) -> list[str]:
    """The block's new contents: each command, what it printed, a blank line between."""
    lines: list[str] = []
    for command in block.commands:
        if lines:
            lines.append("")
        lines += [f"$ {command}", *run(command)]
    return lines


def run_python(code: str) -> dict[int, str]:
    """Run the scripting example; {line number (0-based): what the print on it printed}."""
    printed: dict[int, str] = {}

    def record(*args: object, sep: str = " ", **_: object) -> None:
        line = sys._getframe(1).f_lineno - 1
        printed[line] = sep.join(str(a) for a in args)

    exec(compile(code, "<README scripting example>", "exec"), {"print": record})
    return printed


def render_python(body: list[str]) -> list[str]:
    printed = run_python("\n".join(body))
    out = []
    for i, line in enumerate(body):
        if i in printed:
            line = re.sub(r"\s+#.*$", "", line) + f"  # {printed[i]}"
        out.append(line)
    return out


def regenerate(text: str, folder: Path, *, fast_only: bool = False) -> tuple[str, list[Block]]:
    """README text with every block the tour runs rewritten, and the blocks that ran.
    fast_only: skip the SLOW blocks and the scripting example."""
    lines = text.split("\n")
    blocks = text_blocks(lines)
    order = [b for b in blocks if not b.commands[0].startswith("fragility report")]
    order += [b for b in blocks if b not in order]
    if fast_only:
        order = [b for b in order if not b.slow]
    new: dict[int, list[str]] = {}
    with tour_conditions(folder):
        for name, code in reader_files(lines).items():
            Path(name).write_text(code)
        for block in order:
            new[block.start] = render_block(block, run_command)
        if not fast_only:
            py = python_block(lines)
            new[py.start] = render_python(lines[py.start : py.end])
    by_start = {b.start: b for b in [*blocks, python_block(lines)]}
    for start in sorted(new, reverse=True):
        lines[start : by_start[start].end] = new[start]
    return "\n".join(lines), [by_start[s] for s in new]


# Whether Debian's dataset packages are installed differs between machines: for those sets
# `fragility data` prints the system folder it found or how to get the set.
SYSTEM_SETS = re.compile(r"^((?:fashion-mnist|mnist) +\d+x\d+) +\S.*$", re.M)


def normalise(text: str) -> str:
    """Timings replaced by "<seconds>" and where a system-packaged dataset was found by
    "<found or not>", then runs of spaces and of dashes made single."""
    for pattern in TIMINGS:
        text = pattern.sub("<seconds>", text)
    text = SYSTEM_SETS.sub(r"\1 <found or not>", text)
    return re.sub(r"-{2,}", "-", re.sub(r" {2,}", " ", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare; do not rewrite")
    parser.add_argument("--fast", action="store_true", help="skip the slow blocks")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(README.parent))
    text = README.read_text()
    with tempfile.TemporaryDirectory(prefix="fragility-tour-") as tmp:
        new, _ = regenerate(text, Path(tmp), fast_only=args.fast)
    if args.check:
        same = normalise(new) == normalise(text)
        print("README.md matches the tour" if same else "README.md differs from the tour")
        return 0 if same else 1
    README.write_text(new)
    print(f"rewrote {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
