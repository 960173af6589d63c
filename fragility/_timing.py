"""Wall-clock timings, kept apart from results.

Results are pure and reproducible (same seed, same numbers); how long a stage took is neither.
An analysis that runs stages takes an optional `Timings` and records each stage in it; the CLI
prints what it holds and the report's manifest records it. Without one, nothing is measured.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Timings:
    """Seconds per named stage, in the order the stages first ran; a stage run twice adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def get(self, name: str) -> float | None:
        return self.seconds.get(name)

    def to_dict(self) -> dict[str, float]:
        return dict(self.seconds)


def stage(timings: Timings | None, name: str) -> contextlib.AbstractContextManager[None]:
    """`timings.stage(name)`, or a context that measures nothing when there are no timings."""
    return timings.stage(name) if timings is not None else contextlib.nullcontext()
