"""Prediction and planning: goals by class, the collision check, suppression and braking.

Predicted path of the tracked object (one of five kinds). The class's goal decides, unless the
track's own history has shown, for at least `motion_trust_s` without a break, a motion that the
goal does not expect; a reset history (2018: at every class change) starts that clock again.

- `static`  : stays where it is. "other" has no goal (NTSB: static); a vehicle or bicycle with
              no history yet; a pedestrian away from a crosswalk when the design assumes
              pedestrians cross only at crosswalks (`jaywalkers = false`, 2018).
- `lane`    : vehicle or bicycle follows its lane (north, +x) at the speed its history shows:
              the goal sets the direction, the history only the speed (record, 2.5 s: bicycle
              "travelling, in the left through lane").
- `motion`  : the filter's constant-velocity extrapolation: once the history is long enough to
              overrule the goal, or at once (velocity known) for a pedestrian whose goal is to
              cross (jaywalker-aware, or near a crosswalk).
- `reach`   : a pedestrian who may cross but whose velocity is not known yet: she may be
              anywhere within pedestrian_speed_mps of where she was seen, either way across.
- `none`    : nothing tracked.

Collision check: the SUV is predicted to keep max(its speed, its cruise speed) in its lane. A
conflict is the first time tau in [0, horizon] at which the object's predicted box overlaps the
SUV's length and leaves no room in the SUV's lane to pass it (a gap of the SUV's width plus
`lateral_margin_m`): the planner counts on steering within its lane (record, 1.5 s: "plans to
steer around it", U). Every condition is linear in tau, so the check is exact and vectorises.

Planner (2018 design as switches): a new conflict starts `suppression_s` of action suppression.
Then, if the conflict still stands, with a_req = v^2 / (2 (distance to conflict - standoff)):
  a_req <= limit             -> AVOID: brake at clip(a_req, comfort, limit)
  a_req > limit, emergency   -> MITIGATE: brake at emergency_decel_mps2, alert
  a_req > limit, no emergency-> SLOWDOWN: the gradual slowdown, alert (no braking to mitigate)
where limit is emergency_decel_mps2 when emergency braking is allowed and the 6.5 m/s^2
threshold when not. A conflict that vanishes returns the planner to cruise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from scenarios.spec import ScenarioSpec
from scenarios.tracking import Track, has_velocity

KINDS = ("none", "static", "lane", "motion", "reach")
NONE, STATIC, LANE, MOTION, REACH = range(5)
MODES = ("cruise", "suppress", "avoid", "slowdown", "mitigate", "disengaged")
CRUISE, SUPPRESS, AVOID, SLOWDOWN, MITIGATE, DISENGAGED = range(6)
EPS_S = 1e-9  # timer comparisons on a clock built from whole steps


@dataclass(frozen=True)
class Prediction:
    kind: int = NONE
    x: float = 0.0  # box centre now (m)
    y: float = 0.0
    vx: float = 0.0  # predicted velocity (m/s)
    vy: float = 0.0
    grow: float = 0.0  # lateral growth of a reachable set (m/s)
    grow0: float = 0.0  # growth already accumulated since the last detection (m)
    half_x: float = 0.0
    half_y: float = 0.0

    def to_dict(self) -> dict:
        return {
            "kind": KINDS[self.kind],
            "x": self.x,
            "y": self.y,
            "vx": self.vx,
            "vy": self.vy,
            "spread_mps": self.grow,
        }


def predict(track: Track, t: float, spec: ScenarioSpec) -> Prediction:
    """The tracked object's predicted path at clock time t (see the module docstring)."""
    if track.id == 0:
        return Prediction()
    known = has_velocity(track, spec.tracking)
    trusted = known and trusts_motion(
        track.t_s - track.history_start_s, spec.planner.motion_trust_s
    )
    dt = t - track.t_s
    pl = spec.planner
    kind, vx, vy, grow = STATIC, 0.0, 0.0, 0.0
    crossing = track.cls == "pedestrian" and (
        pl.jaywalkers or abs(track.x - spec.world.crosswalk_distance_m) <= pl.crosswalk_halfwidth_m
    )
    if crossing:  # the goal expects her to cross: her motion counts as soon as it is known
        if known:
            kind, vx, vy = MOTION, track.vx, track.vy
        else:
            kind, grow = REACH, pl.pedestrian_speed_mps
    elif trusted:  # a long enough history overrules the goal
        kind, vx, vy = MOTION, track.vx, track.vy
    elif track.cls in ("vehicle", "bicycle"):
        speed = math.hypot(track.vx, track.vy) if track.frames >= 2 else 0.0
        if speed > 0:
            kind, vx = LANE, speed
    return Prediction(
        kind,
        track.x + vx * dt,
        track.y + vy * dt,
        vx,
        vy,
        grow,
        grow * dt,
        track.half_x,
        track.half_y,
    )


def trusts_motion(history_s, motion_trust_s):
    """Whether a history this long overrules the class's goal (floats or arrays)."""
    return history_s >= motion_trust_s - EPS_S


def _constrain(lo, hi, c0, c1):
    """Intersect [lo, hi] with {tau : c0 + c1 tau > 0}."""
    c0 = np.asarray(c0, dtype=np.float64)
    c1 = np.asarray(c1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = -c0 / c1
    lo = np.where(c1 > 0, np.maximum(lo, root), lo)
    hi = np.where(c1 < 0, np.minimum(hi, root), hi)
    hi = np.where((c1 == 0) & (c0 <= 0), -np.inf, hi)
    return lo, hi


def conflict_time(
    ox,
    oy,
    ovx,
    ovy,
    grow,
    grow0,
    half_x,
    half_y,
    front,
    length,
    v_check,
    lane_lo,
    lane_hi,
    width,
    margin,
    horizon,
):
    """First tau in [0, horizon] at which the object blocks the SUV (inf if never).

    Object box at tau: x in ox +- half_x + ovx tau; y in oy +- (half_y + grow0 + grow tau)
    + ovy tau. SUV: x in [front - length, front] + v_check tau. Blocked: the x ranges overlap
    and neither side of the lane keeps a gap of `width` beside the object's box +- margin.
    """
    lo = np.zeros(np.broadcast(ox, front, v_check).shape)
    hi = np.broadcast_to(np.asarray(horizon, dtype=np.float64), lo.shape).copy()
    lo, hi = _constrain(lo, hi, front - (ox - half_x), v_check - ovx)
    lo, hi = _constrain(lo, hi, (ox + half_x) - (front - length), ovx - v_check)
    y_lo0, y_hi0 = oy - half_y - grow0, oy + half_y + grow0
    lo, hi = _constrain(lo, hi, lane_lo + width + margin - y_lo0, grow - ovy)
    lo, hi = _constrain(lo, hi, y_hi0 + margin - (lane_hi - width), ovy + grow)
    return np.where(lo < hi, lo, np.inf)


def required_decel(v, distance):
    """v^2 / (2 d): the constant deceleration that stops within d (inf if d <= 0)."""
    distance = np.asarray(distance, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(distance > 0, v * v / (2 * np.maximum(distance, 1e-300)), np.inf)


def check(pred: Prediction, front: float, v: float, v_ref: float, spec: ScenarioSpec):
    """(tau of the first conflict or inf, required deceleration) for one run."""
    if pred.kind == NONE:
        return math.inf, 0.0
    lane_w = spec.world.lane_width_m
    pl = spec.planner
    tau = float(
        conflict_time(
            pred.x,
            pred.y,
            pred.vx,
            pred.vy,
            pred.grow,
            pred.grow0,
            pred.half_x,
            pred.half_y,
            front,
            spec.suv.length_m,
            max(v, v_ref),
            0.0,
            lane_w,
            spec.suv.width_m,
            pl.lateral_margin_m,
            pl.horizon_s,
        )
    )
    if math.isinf(tau):
        return tau, 0.0
    x_conflict = pred.x - pred.half_x + pred.vx * tau
    return tau, float(required_decel(v, x_conflict - front - pl.standoff_m))


@dataclass(frozen=True)
class Plan:
    mode: int = CRUISE
    since_s: float = math.nan  # when the current mode began
    decel: float = 0.0  # commanded deceleration (m/s^2)
    alert: bool = False
    alert_s: float = math.nan
    hazard_s: float = math.nan  # first predicted conflict of the run
    conflict_in_s: float = math.inf  # tau of the current conflict
    a_req: float = 0.0

    def to_dict(self) -> dict:
        return {
            "mode": MODES[self.mode],
            "decel": self.decel,
            "alert": self.alert,
            "conflict_in_s": None if math.isinf(self.conflict_in_s) else self.conflict_in_s,
            "required_decel": None if math.isinf(self.a_req) else self.a_req,
        }


def brake_limit(spec: ScenarioSpec) -> float:
    pl = spec.planner
    return pl.emergency_decel_mps2 if pl.emergency_braking else pl.emergency_threshold_mps2


def _decide(plan: Plan, t: float, a_req: float, spec: ScenarioSpec) -> Plan:
    pl = spec.planner
    if a_req <= brake_limit(spec):
        decel = min(max(a_req, pl.comfort_decel_mps2), brake_limit(spec))
        return replace(plan, mode=AVOID, since_s=t, decel=decel)
    mode = MITIGATE if pl.emergency_braking else SLOWDOWN
    decel = pl.emergency_decel_mps2 if pl.emergency_braking else pl.slowdown_decel_mps2
    alert = plan.alert or pl.alert
    alert_s = t if alert and not plan.alert else plan.alert_s
    return replace(plan, mode=mode, since_s=t, decel=decel, alert=alert, alert_s=alert_s)


def step(
    plan: Plan, t: float, tau: float, a_req: float, spec: ScenarioSpec, engaged: bool = True
) -> Plan:
    """One planner update given the collision check (tau, a_req) at clock time t."""
    conflict = not math.isinf(tau)
    plan = replace(plan, conflict_in_s=tau, a_req=a_req)
    if conflict and math.isnan(plan.hazard_s):
        plan = replace(plan, hazard_s=t)  # what the ADS saw, engaged or not
    if not engaged:
        return replace(plan, mode=DISENGAGED, decel=0.0)
    if not conflict:
        return replace(plan, mode=CRUISE, decel=0.0) if plan.mode != CRUISE else plan
    if plan.mode == CRUISE:
        if spec.planner.suppression_s > 0:
            return replace(plan, mode=SUPPRESS, since_s=t, decel=0.0)
        return _decide(plan, t, a_req, spec)
    if plan.mode == SUPPRESS:
        if t >= plan.since_s + spec.planner.suppression_s - EPS_S:
            return _decide(plan, t, a_req, spec)
        return plan
    if plan.mode == AVOID:
        if a_req > brake_limit(spec):
            return _decide(plan, t, a_req, spec)
        pl = spec.planner
        return replace(plan, decel=min(max(a_req, pl.comfort_decel_mps2), brake_limit(spec)))
    return plan  # SLOWDOWN and MITIGATE hold while the conflict stands
