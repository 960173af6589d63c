"""Numbers as the report and the CLI print them."""

from __future__ import annotations

import math


def pct(x: float | None, digits: int = 1) -> str:
    """0.1234 -> '12.3 %'; None or NaN -> 'n/a'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.{digits}f} %"
