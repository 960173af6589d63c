"""Progress bars for long loops: the library is silent unless a caller asks for progress."""

from __future__ import annotations

from typing import Any


def progress_bar(total: int, progress: bool, *, unit: str = "it", desc: str = "") -> Any:
    """A tqdm bar when `progress` is asked for, else None."""
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, desc=desc, leave=False)
