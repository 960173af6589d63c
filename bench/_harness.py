"""Shared by the benchmarks: the machine, timing, and rewriting one part of bench/RESULTS.md.

Each benchmark owns a part of RESULTS.md between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->` and rewrites only that part, with the command that produced it, the
machine and the date.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in `bench/`; each part names the command that produced it. "
    "Times are wall-clock seconds measured with `time.perf_counter` in one process.\n"
)


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = (
        f", load average {os.getloadavg()[0]:.1f} when written" if hasattr(os, "getloadavg") else ""
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}{load}"
    )


def command() -> str:
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    """Run fn `repeat` times; return its last result and the median wall time."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return result, times[len(times) // 2]


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_part(name: str, title: str, body: str) -> None:
    """Replace (or append) this benchmark's part of RESULTS.md."""
    stamp = _dt.date.today().isoformat()
    part = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Command: `{command()}`  \nMachine: {machine()}  \nDate: {stamp}\n\n{body.strip()}\n"
        f"<!-- /bench:{name} -->"
    )
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: part, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + part + "\n"
    )
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)
