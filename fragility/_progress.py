"""Progress for long loops: the library is silent unless a caller asks for progress.

Asked for, progress is a tqdm bar on a terminal; elsewhere (a log file, a pipe, CI) a bar's
carriage returns would be unreadable and tqdm's defaults print almost nothing, so a plain line
goes to stderr every INTERVAL_S seconds instead:

    fragility: train 45 % (1,215 of 2,700 batches), 12 s so far, about 15 s left

and, when the loop ends after printing any, a last line with the total time.

Both objects take the same calls: update(n), set_postfix(**values), set_description(text),
close().
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

INTERVAL_S = 10.0


def progress_bar(total: int, progress: bool, *, unit: str = "it", desc: str = "") -> Any:
    """A tqdm bar when `progress` is asked for and stderr is a terminal, periodic lines when it
    is not, else None."""
    if not progress:
        return None
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(total=total, unit=unit, desc=desc, leave=False)
    return ProgressLines(total, unit=unit, desc=desc, interval_s=INTERVAL_S)


class ProgressLines:
    """A line on `stream` at most every `interval_s` seconds (and none for a loop that ends
    sooner), with the share done, the time so far and a linear estimate of the time left."""

    def __init__(
        self,
        total: int,
        *,
        unit: str = "it",
        desc: str = "",
        interval_s: float = INTERVAL_S,
        stream: TextIO | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.total, self.unit, self.desc = max(0, int(total)), unit, desc
        self.interval_s, self.clock = interval_s, clock
        self.stream = stream
        self.n = 0
        self.postfix = ""
        self.printed = False
        self.start = self.last = clock()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= self.interval_s:
            self.last = now
            self._write(now)

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def set_description(self, text: str) -> None:
        self.desc = text

    def close(self) -> None:
        """A last line, if the loop was long enough to print any: the log shows it ended."""
        if self.printed:
            self._write(self.clock())

    def line(self, now: float) -> str:
        elapsed = now - self.start
        units = _plural(self.unit, self.total or self.n)
        parts = [f"fragility: {self.desc}".rstrip()]
        if self.total:
            share = min(1.0, self.n / self.total)
            parts.append(f"{100 * share:.0f} % ({self.n:,} of {self.total:,} {units}),")
        else:
            parts.append(f"{self.n:,} {units},")
        parts.append(f"{elapsed:.0f} s so far")
        text = " ".join(parts)
        if self.total and 0 < self.n < self.total:
            text += f", about {elapsed * (self.total - self.n) / self.n:.0f} s left"
        if self.postfix:
            text += f" ({self.postfix})"
        return text

    def _write(self, now: float) -> None:
        stream = self.stream or sys.stderr
        print(self.line(now), file=stream, flush=True)
        self.printed = True


def _plural(unit: str, n: int) -> str:
    if n == 1:
        return unit
    return unit + ("es" if unit.endswith(("s", "x", "ch", "sh")) else "s")
