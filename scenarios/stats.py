"""Small statistics the scenario analyses share: a proportion with its interval, and the
first-order sensitivity index estimated from given Monte Carlo runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fragility._fmt import share_interval

CLASSES_PER_INPUT = 20  # equal-count classes for the correlation ratio


@dataclass(frozen=True)
class Proportion:
    """k of n, with its 95 % Wilson score interval."""

    k: int
    n: int

    @property
    def p(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        from scipy.stats import binomtest

        ci = binomtest(self.k, self.n).proportion_ci(confidence_level=0.95, method="wilson")
        return float(ci.low), float(ci.high)

    def text(self) -> str:
        """'83 % (79-87 %)', or 'no plausible worlds' (`fragility._fmt.share_interval`)."""
        if not self.n:
            return "no plausible worlds"
        return share_interval(self.p, *self.interval)

    def to_dict(self) -> dict:
        lo, hi = self.interval or (None, None)
        return {
            "k": self.k,
            "n": self.n,
            "p": self.p,
            "low": lo,
            "high": hi,
            "interval": "Wilson score, 95 %",
            "text": self.text(),
        }


def first_order_index(x: np.ndarray, y: np.ndarray, classes: int = CLASSES_PER_INPUT) -> float:
    """eta^2 of y over equal-count classes of x (or over x's values, if it has few), less its
    expected value for an x with no effect, (B - 1) / (N - 1); 0 where y does not vary."""
    n = len(y)
    classes = min(classes, n // 5)  # at least five runs a class on average
    if classes < 2 or np.var(y) == 0:
        return 0.0
    values = np.unique(x)
    if len(values) <= classes:
        group = np.searchsorted(values, x)
    else:
        order = np.argsort(x, kind="stable")
        group = np.empty(n, dtype=np.int64)
        group[order] = np.arange(n) * classes // n
    b = int(group.max()) + 1
    counts = np.bincount(group, minlength=b)
    means = np.bincount(group, weights=y, minlength=b) / np.maximum(counts, 1)
    between = float(np.sum(counts * (means - y.mean()) ** 2))
    eta2 = between / float(np.sum((y - y.mean()) ** 2))
    chance = (b - 1) / (n - 1)
    return max(0.0, (eta2 - chance) / (1 - chance))


def index_noise(n: int, classes: int = CLASSES_PER_INPUT) -> float:
    """About the standard deviation of the index for an input with no effect: eta^2 (N - 1)
    then goes roughly as chi-squared with B - 1 degrees of freedom, whose sd is sqrt(2 (B - 1))."""
    return math.sqrt(2 * (classes - 1)) / max(n - 1, 1)
