"""The safety operator: attention, sighting, reaction, takeover.

The operator notices the hazard when

- she is looking at the road (attentive, or an inattentive operator from `glance_at_s` on: the
  record's operator looked back at the road about 1 s before impact, P) and the pedestrian is
  ahead within `sight_distance_m` (night, unlit stretch: an assumption), or
- the ADS sounds its alert (an alert makes anyone look),

as `takes_over_on` allows. From that moment she takes the wheel after `takeover_s` (record: 0.02 s
before impact), which disengages the ADS and releases whatever it was doing, braking included,
when `takeover_disengages` (record: it did), and brakes after `reaction_s` (record: about 0.7 s
after impact). Both delays for the 2018 run are derived from the record's times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scenarios.spec import OperatorSpec


@dataclass(frozen=True)
class OperatorState:
    noticed_s: float = math.nan
    why: str = ""  # "saw her" or "alert"
    took_over: bool = False
    braking: bool = False

    def to_dict(self) -> dict:
        return {
            "noticed": not math.isnan(self.noticed_s),
            "why": self.why,
            "took_over": self.took_over,
            "braking": self.braking,
        }


def sees(t: float, gap_m: float, cfg: OperatorSpec) -> bool:
    """Whether she is looking at the road and the pedestrian is ahead within sight."""
    looking = cfg.attentive or t >= cfg.glance_at_s - 1e-9
    return looking and 0.0 <= gap_m <= cfg.sight_distance_m


def step(
    state: OperatorState, t: float, gap_m: float, alert: bool, cfg: OperatorSpec
) -> OperatorState:
    """Update at clock time t; gap_m: distance from the SUV's front to the pedestrian ahead."""
    if math.isnan(state.noticed_s):
        on = cfg.takes_over_on
        if on in ("hazard", "alert-or-hazard") and sees(t, gap_m, cfg):
            state = replace(state, noticed_s=t, why="saw her")
        elif on in ("alert", "alert-or-hazard") and alert:
            state = replace(state, noticed_s=t, why="alert")
        else:
            return state
    took_over = t >= state.noticed_s + cfg.takeover_s - 1e-9
    braking = t >= state.noticed_s + cfg.reaction_s - 1e-9
    if (took_over, braking) != (state.took_over, state.braking):
        state = replace(state, took_over=took_over, braking=braking)
    return state
