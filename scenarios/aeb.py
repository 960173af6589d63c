"""The Volvo's own automatic emergency braking (City Safety), independent of the ADS.

Disabled whenever the ADS drove (record, Q). Modelled simply, with assumed numbers (U): its own
sensors see an object that overlaps the SUV's width ahead (no prediction of where it goes), and
when the time to collision gap / v falls to `trigger_ttc_s` it brakes at `decel_mps2` after
`latency_s`, until the SUV stops. What Volvo's own simulations showed is unconfirmed (U) and
plays no part here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scenarios.spec import AebSpec


@dataclass(frozen=True)
class AebState:
    triggered_s: float = math.nan
    braking: bool = False

    def to_dict(self) -> dict:
        return {"triggered": not math.isnan(self.triggered_s), "braking": self.braking}


def time_to_collision(gap_m: float, v: float) -> float:
    return gap_m / v if v > 0 and gap_m >= 0 else math.inf


def step(
    state: AebState, t: float, gap_m: float, in_path: bool, v: float, cfg: AebSpec
) -> AebState:
    """Update at clock time t; in_path: the object overlaps the SUV's width ahead of it."""
    if not cfg.enabled:
        return state
    if math.isnan(state.triggered_s):
        if in_path and time_to_collision(gap_m, v) <= cfg.trigger_ttc_s + 1e-12:
            state = replace(state, triggered_s=t)
        else:
            return state
    braking = t >= state.triggered_s + cfg.latency_s - 1e-9
    return replace(state, braking=braking) if braking != state.braking else state
