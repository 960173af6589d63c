"""The Volvo's own automatic emergency braking (City Safety), independent of the ADS.

Disabled whenever the ADS drove (record, Q). Modelled simply, with assumed numbers (U): its own
sensors see an object that overlaps the SUV's width ahead (no prediction of where it goes), and
when the time to collision gap / v falls to `trigger_ttc_s` it brakes at `decel_mps2` after
`latency_s`, until the SUV stops. What Volvo's own simulations showed (S) is set beside this
model's numbers by the sensitivity analysis; it plays no part in the model.

Every field of an `AebState` is an (n,) array, one entry per run; `row(i)` reads one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios import state
from scenarios.spec import AebSpec


@dataclass(frozen=True)
class AebState:
    triggered_s: np.ndarray  # (n,) when it triggered (nan: not yet)
    braking: np.ndarray  # (n,) bool

    @classmethod
    def empty(cls, n: int) -> AebState:
        return cls(state.full(n, math.nan), state.full(n, False, bool))

    def row(self, i: int) -> AebState:
        return state.row(self, i)

    def to_dict(self) -> dict:
        """Of a row."""
        return {"triggered": not math.isnan(self.triggered_s), "braking": self.braking}


def time_to_collision(gap_m, v):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((v > 0) & (gap_m >= 0), gap_m / v, np.inf)


def step(auto: AebState, t: float, gap_m, in_path, v, cfg: AebSpec) -> AebState:
    """Update at clock time t; in_path: the object overlaps the SUV's width ahead of it."""
    if not cfg.enabled:
        return auto
    ttc = time_to_collision(gap_m, v)
    fires = np.isnan(auto.triggered_s) & in_path & (ttc <= cfg.trigger_ttc_s + 1e-12)
    triggered = np.where(fires, t, auto.triggered_s)
    braking = ~np.isnan(triggered) & (t >= triggered + cfg.latency_s - 1e-9)
    return AebState(triggered, braking)
