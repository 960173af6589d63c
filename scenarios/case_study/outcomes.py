"""What each counterfactual did, in one shape for the single run and for the probability.

Every counterfactual outcome on the case-study pages enters through `Outcome`, built either from
today's single runs (`from_comparisons`: the file's assumed values, one run each) or from a
probability over the plausible values of the unconfirmed inputs (`from_probability`, for
`scenarios.sensitivity`'s results). `Outcome.phrase` always names its basis, so the same sentence
reads correctly for both: "avoided in the one run with the file's assumed values" or "avoided in
83 % (79 to 87 %, 95 % interval) of 2,000 plausible worlds". Where a probability replaces a
single run, the run stays as an illustration (`Outcome.one_run`), never as the outcome.
Shares are written by the one rule of `fragility._fmt.share_interval`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

from fragility._fmt import pct, share_interval

LEVEL = 0.95  # the confidence level of every interval the case study states


@dataclass(frozen=True)
class Outcome:
    name: str  # the counterfactual's scenario name: "persistent-tracking"
    title: str
    change: str  # the changed line(s)
    p_avoid: float  # probability of avoiding the crash; a single run gives 0 or 1
    low: float | None = None  # 95 % interval of p_avoid; None for a single run
    high: float | None = None
    runs: int = 1
    impact_speed_mph: float | None = None  # single run: its impact; many: median where hit
    margin_m: float | None = None  # single run that avoids: the gap to spare
    data_change: bool = False  # a change to an input about the world, not a design decision
    one_run: str = ""  # with a probability: the single run, in brief ("hit at 34.4 mph")

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_avoid <= 1.0:
            raise ValueError(f"p_avoid must be in [0, 1], not {self.p_avoid}")
        if (self.low is None) != (self.high is None):
            raise ValueError("give both ends of the interval or neither")
        if self.low is not None and not self.low <= self.p_avoid <= self.high:
            raise ValueError(f"interval [{self.low}, {self.high}] excludes {self.p_avoid}")
        if self.runs < 1:
            raise ValueError("runs must be at least 1")

    @property
    def single(self) -> bool:
        """One run with the file's values: an outcome of the model, not a probability."""
        return self.low is None

    def phrase(self) -> str:
        """The outcome in words, with its basis: fits after "in this model, ..."."""
        if self.single:
            basis = "in the one run with the scenario file's assumed values"
            if self.p_avoid == 1.0:
                spare = "" if self.margin_m is None else f", {self.margin_m:.1f} m to spare"
                return f"the crash is avoided {basis}{spare}"
            return f"she is still hit, at {self.impact_speed_mph:.1f} mph, {basis}"
        share = share_interval(
            self.p_avoid, self.low, self.high, between=" to ", note=f", {level()} interval"
        )
        text = f"the crash is avoided in {share} of {self.runs:,} plausible worlds"
        if self.impact_speed_mph is not None and self.p_avoid < 1.0:
            text += f"; where she is hit, the median impact is {self.impact_speed_mph:.1f} mph"
        return text

    def share(self) -> str:
        """The share of plausible worlds in which the crash is avoided, with its interval:
        '73 % (68-77 %)'; a single run: 'avoided (one run)' or 'hit at 34.4 mph (one run)'."""
        if self.single:
            return f"{self.brief()} (one run)"
        return share_interval(self.p_avoid, self.low, self.high)

    def cell(self) -> str:
        """The outcome for a table cell: 'avoided in 73 % (68-77 %); where hit, a median 14.4
        mph'."""
        if self.single:
            return self.share()
        where = "" if self.median() == "-" else f"; where hit, a median {self.median()}"
        return f"avoided in {self.share()}{where}"

    def median(self) -> str:
        """Where she is still hit, the median impact speed: '14.4 mph', or '-'."""
        if self.impact_speed_mph is None or self.p_avoid == 1.0:
            return "-"
        return f"{self.impact_speed_mph:.1f} mph"

    def brief(self) -> str:
        """A single run's outcome in a few words: 'avoided, 4.6 m to spare', 'hit at 34.4
        mph'."""
        if self.p_avoid == 1.0:
            spare = "" if self.margin_m is None else f", {self.margin_m:.1f} m to spare"
            return f"avoided{spare}"
        return f"hit at {self.impact_speed_mph:.1f} mph"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def from_comparisons(rows: Iterable, data_changes: Iterable[str] = ()) -> dict[str, Outcome]:
    """Outcomes of single runs (`scenarios.counterfactuals.compare` rows), by scenario name;
    `data_changes` names the runs that change an input about the world, not a design decision."""
    data = set(data_changes)
    out = {}
    for r in rows:
        out[r.name] = Outcome(
            name=r.name,
            title=r.title,
            change=r.change,
            p_avoid=0.0 if r.collision else 1.0,
            impact_speed_mph=r.impact_speed_mph,
            margin_m=r.margin_m,
            data_change=r.name in data,
        )
    return out


def from_probability(
    single: Mapping[str, Outcome],
    probabilities: Mapping[str, Mapping[str, float]],
) -> dict[str, Outcome]:
    """Replace single-run outcomes by probabilities where they exist.

    `probabilities` maps a scenario name to {"p_avoid", "low", "high", "runs"} and optionally
    "median_impact_mph": the shape `scenarios.sensitivity` reports per counterfactual. Names it
    lacks keep their single-run outcome, which still says it is one run.
    """
    out = dict(single)
    for name, p in probabilities.items():
        base = single.get(name)
        out[name] = Outcome(
            name=name,
            title=base.title if base else name,
            change=base.change if base else "",
            p_avoid=float(p["p_avoid"]),
            low=float(p["low"]),
            high=float(p["high"]),
            runs=int(p["runs"]),
            impact_speed_mph=p.get("median_impact_mph"),
            data_change=base.data_change if base else False,
            one_run=base.brief() if base and base.single else "",
        )
    return out


def level() -> str:
    """The confidence level as the pages write it: "95 %"."""
    return pct(LEVEL, 0)


def wilson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials at a confidence `level`.

    Wilson (1927); unlike the normal approximation it stays inside [0, 1] and is not empty at
    k = 0 or k = n: center (k + z^2/2) / (n + z^2), half-width
    z sqrt(k (n - k) / n + z^2 / 4) / (n + z^2).
    """
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, not k={k}, n={n}")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    z2 = z * z
    center = (k + z2 / 2) / (n + z2)
    half = z * math.sqrt(k * (n - k) / n + z2 / 4) / (n + z2)
    return max(0.0, center - half), min(1.0, center + half)
