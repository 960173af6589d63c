"""The safety operator: attention, sighting, reaction, takeover.

The operator notices the hazard when

- she is looking at the road (attentive, or an inattentive operator from `glance_at_s` on: the
  record's operator looked back at the road about 1 s before impact, P) and the pedestrian is
  ahead within `sight_distance_m` (night, unlit stretch: an assumption), or
- the ADS sounds its alert (an alert makes anyone look),

as `takes_over_on` allows. Then:

- an inattentive operator (the record) takes the wheel after `takeover_s` (record: 0.02 s before
  impact), which disengages the ADS and releases whatever it was doing, braking included, when
  `takeover_disengages` (record: it did), and brakes after `reaction_s` (record: about 0.7 s
  after impact). Both delays are derived from the record's times.
- an attentive operator, watching the road and seeing her come within sight, brakes after
  `attentive_reaction_s`, a published perception-brake time for a surprise obstacle (the
  scenario file gives its source and distribution). Braking is her takeover: the ADS's own
  braking is never released before hers begins.

Every field of an `OperatorState` is an (n,) array, one entry per run; `row(i)` reads one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios import state
from scenarios.spec import OperatorSpec

WHY = ("", "saw her", "alert")  # why she noticed: index in OperatorState.why


@dataclass(frozen=True)
class OperatorState:
    noticed_s: np.ndarray  # (n,) when she noticed (nan: not yet)
    why: np.ndarray  # (n,) index into WHY
    took_over: np.ndarray  # (n,) bool
    braking: np.ndarray  # (n,) bool

    @classmethod
    def empty(cls, n: int) -> OperatorState:
        f = state.full
        return cls(f(n, math.nan), f(n, 0, np.int8), f(n, False, bool), f(n, False, bool))

    def row(self, i: int) -> OperatorState:
        return state.row(self, i, {"why": WHY})

    def to_dict(self) -> dict:
        """Of a row."""
        return {
            "noticed": not math.isnan(self.noticed_s),
            "why": self.why,
            "took_over": self.took_over,
            "braking": self.braking,
        }


def sees(t: float, gap_m, cfg: OperatorSpec):
    """Whether she is looking at the road and the pedestrian is ahead within sight."""
    looking = cfg.attentive or t >= np.asarray(cfg.glance_at_s) - 1e-9
    return looking & (gap_m >= 0.0) & (gap_m <= cfg.sight_distance_m)


def step(op: OperatorState, t: float, gap_m, alert, cfg: OperatorSpec) -> OperatorState:
    """Update at clock time t; gap_m: distance from the SUV's front to the pedestrian ahead."""
    noticed_s, why = op.noticed_s, op.why
    waiting = np.isnan(noticed_s)
    if waiting.any():
        on = cfg.takes_over_on
        saw = waiting & (on in ("hazard", "alert-or-hazard")) & sees(t, gap_m, cfg)
        heard = waiting & ~saw & (on in ("alert", "alert-or-hazard")) & alert
        noticed_s = np.where(saw | heard, t, noticed_s)
        why = np.where(saw, np.int8(1), np.where(heard, np.int8(2), why)).astype(np.int8)
    noticed = ~np.isnan(noticed_s)
    if cfg.attentive:  # she brakes, and braking is her takeover
        braking = noticed & (t >= noticed_s + cfg.attentive_reaction_s - 1e-9)
        return OperatorState(noticed_s, why, braking, braking)
    took_over = noticed & (t >= noticed_s + cfg.takeover_s - 1e-9)
    braking = noticed & (t >= noticed_s + cfg.reaction_s - 1e-9)
    return OperatorState(noticed_s, why, took_over, braking)
