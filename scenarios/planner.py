"""Prediction and planning: goals by class, the collision check, suppression and braking.

Predicted path of the tracked object (one of five kinds). The class's goal decides, unless the
track's own history has shown, for at least `motion_trust_s` without a break, a motion that the
goal does not expect; a reset history (2018: at every class change) starts that clock again.

- `static`  : stays where it is. "other" has no goal (NTSB: static); a vehicle or bicycle with
              no history yet; a pedestrian away from a crosswalk when the design assumes
              pedestrians cross only at crosswalks (`jaywalkers = false`, 2018). An "unknown"
              object (perception flagged it as unlike anything it knows) is taken for the
              worst plausible mover, a pedestrian who may cross anywhere, whatever the
              jaywalker switch says.
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
threshold when not. A conflict that vanishes returns the planner to cruise. The state machine
is the table TRANSITIONS below.

Everything runs over a batch: each field of a `Prediction` or a `Plan` is an (n,) array, one
entry per run, and `row(i)` reads one run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios import state
from scenarios.spec import CLASSES, ScenarioSpec
from scenarios.tracking import Track, has_velocity

KINDS = ("none", "static", "lane", "motion", "reach")
NONE, STATIC, LANE, MOTION, REACH = range(5)
MODES = ("cruise", "suppress", "avoid", "slowdown", "mitigate", "disengaged")
CRUISE, SUPPRESS, AVOID, SLOWDOWN, MITIGATE, DISENGAGED = range(6)
EPS_S = 1e-9  # timer comparisons on a clock built from whole steps
_VEHICLE, _BICYCLE, _PEDESTRIAN, _UNKNOWN = (
    CLASSES.index(c) for c in ("vehicle", "bicycle", "pedestrian", "unknown")
)


@dataclass(frozen=True)
class Prediction:
    """The tracked object's predicted path per run: where its box is now, how it moves."""

    kind: np.ndarray  # (n,) int, index into KINDS
    x: np.ndarray  # box centre now (m)
    y: np.ndarray
    vx: np.ndarray  # predicted velocity (m/s)
    vy: np.ndarray
    grow: np.ndarray  # lateral growth of a reachable set (m/s)
    grow0: np.ndarray  # growth already accumulated since the last detection (m)
    half_x: np.ndarray
    half_y: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Prediction:
        z = state.full(n, 0.0)
        return cls(state.full(n, NONE, np.int64), z, z, z, z, z, z, z, z)

    def row(self, i: int) -> Prediction:
        return state.row(self, i)

    def to_dict(self) -> dict:
        """Of a row."""
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
    pl = spec.planner
    known = has_velocity(track, spec.tracking)
    trusted = known & trusts_motion(track.t_s - track.history_start_s, pl.motion_trust_s)
    crossing = track.cls == _PEDESTRIAN
    if not pl.jaywalkers:  # the goal expects a pedestrian to cross only near a crosswalk
        near = np.abs(track.x - spec.world.crosswalk_distance_m) <= pl.crosswalk_halfwidth_m
        crossing = crossing & near
    crossing = crossing | (track.cls == _UNKNOWN)
    motion = (crossing & known) | (~crossing & trusted)  # her motion counts
    reach = crossing & ~known  # she may cross, her velocity is not known yet
    speed = np.where(track.frames >= 2, np.hypot(track.vx, track.vy), 0.0)
    along = (track.cls == _VEHICLE) | (track.cls == _BICYCLE)
    lane = ~crossing & ~trusted & along & (speed > 0)  # the goal's direction, the history's speed
    kind = np.where(motion, MOTION, np.where(lane, LANE, np.where(reach, REACH, STATIC)))
    kind = np.where(track.cls < 0, NONE, kind)
    vx = np.where(motion, track.vx, np.where(lane, speed, 0.0))
    vy = np.where(motion, track.vy, 0.0)
    grow = np.where(reach, pl.pedestrian_speed_mps, 0.0)
    dt = t - track.t_s
    x, y, grow0 = track.x + vx * dt, track.y + vy * dt, grow * dt
    return Prediction(kind, x, y, vx, vy, grow, grow0, track.half_x, track.half_y)


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


def check(pred: Prediction, front, v, v_ref, spec: ScenarioSpec):
    """(tau of the first conflict or inf, required deceleration) per run."""
    pl = spec.planner
    with np.errstate(invalid="ignore"):
        tau = conflict_time(
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
            np.maximum(v, v_ref),
            0.0,
            spec.world.lane_width_m,
            spec.suv.width_m,
            pl.lateral_margin_m,
            pl.horizon_s,
        )
        tau = np.where(pred.kind == NONE, np.inf, tau)
        conflict = np.isfinite(tau)
        x_conflict = pred.x - pred.half_x + pred.vx * tau
        a_req = np.where(conflict, required_decel(v, x_conflict - front - pl.standoff_m), 0.0)
    return tau, a_req


@dataclass(frozen=True)
class Plan:
    """The planner's state per run."""

    mode: np.ndarray  # (n,) int, index into MODES
    since_s: np.ndarray  # when the current mode began
    decel: np.ndarray  # commanded deceleration (m/s^2)
    alert: np.ndarray  # (n,) bool
    alert_s: np.ndarray
    hazard_s: np.ndarray  # first predicted conflict of the run
    conflict_in_s: np.ndarray  # tau of the current conflict
    a_req: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Plan:
        f = state.full
        return cls(
            f(n, CRUISE, np.int64),
            f(n, math.nan),
            f(n, 0.0),
            f(n, False, bool),
            f(n, math.nan),
            f(n, math.nan),
            f(n, math.inf),
            f(n, 0.0),
        )

    def row(self, i: int) -> Plan:
        return state.row(self, i)

    def to_dict(self) -> dict:
        """Of a row."""
        return {
            "mode": MODES[self.mode],
            "decel": self.decel,
            "alert": self.alert,
            "conflict_in_s": None if math.isinf(self.conflict_in_s) else self.conflict_in_s,
            "required_decel": None if math.isinf(self.a_req) else self.a_req,
        }


def brake_limit(spec: ScenarioSpec):
    pl = spec.planner
    return pl.emergency_decel_mps2 if pl.emergency_braking else pl.emergency_threshold_mps2


# The planner's state machine. In mode FROM (ANY: in every mode), when the guard holds, go to
# TO; the first row that holds wins, and with none the plan holds (suppression still running,
# a slowdown or emergency braking while the conflict stands). DECIDE is the braking rule of the
# module docstring: AVOID within the limit, else MITIGATE (emergency braking allowed) or
# SLOWDOWN (not allowed), with the alert.
ANY, DECIDE, NO_ROW = -1, -2, -3
TRANSITIONS = (
    # from      guard                   to
    (ANY, "disengaged", DISENGAGED),
    (ANY, "no conflict", CRUISE),
    (CRUISE, "suppression", SUPPRESS),
    (CRUISE, "no suppression", DECIDE),
    (SUPPRESS, "suppression over", DECIDE),
    (AVOID, "beyond the limit", DECIDE),
    (AVOID, "within the limit", AVOID),  # keep braking, at the new required deceleration
)


def _guards(plan: Plan, t: float, conflict, a_req, engaged, spec: ScenarioSpec) -> dict:
    pl, limit = spec.planner, brake_limit(spec)
    suppresses = np.asarray(pl.suppression_s) > 0
    return {
        "disengaged": ~engaged,
        "no conflict": ~conflict,
        "suppression": suppresses,
        "no suppression": ~suppresses,
        "suppression over": t >= plan.since_s + pl.suppression_s - EPS_S,
        "beyond the limit": a_req > limit,
        "within the limit": a_req <= limit,
    }


def step(plan: Plan, t: float, tau, a_req, spec: ScenarioSpec, engaged) -> Plan:
    """One planner update given the collision check (tau, a_req) at clock time t."""
    pl = spec.planner
    conflict = np.isfinite(tau)
    guards = _guards(plan, t, conflict, a_req, engaged, spec)
    to = np.full(len(tau), NO_ROW)
    for src, guard, dst in TRANSITIONS:
        fires = (to == NO_ROW) & guards[guard]
        if src != ANY:
            fires = fires & (plan.mode == src)
        to = np.where(fires, dst, to)
    limit = brake_limit(spec)
    avoid_decel = np.minimum(np.maximum(a_req, pl.comfort_decel_mps2), limit)
    avoidable = a_req <= limit
    decide = to == DECIDE
    unavoidable = MITIGATE if pl.emergency_braking else SLOWDOWN
    hard = pl.emergency_decel_mps2 if pl.emergency_braking else pl.slowdown_decel_mps2
    mode = np.where(decide, np.where(avoidable, AVOID, unavoidable), to)
    mode = np.where(to == NO_ROW, plan.mode, mode)
    decel = np.where(decide, np.where(avoidable, avoid_decel, hard), avoid_decel)
    decel = np.where((to == AVOID) | decide, decel, np.where(to == NO_ROW, plan.decel, 0.0))
    alerts = decide & ~avoidable & pl.alert & ~plan.alert
    return Plan(
        mode=mode,
        since_s=np.where((to == SUPPRESS) | decide, t, plan.since_s),
        decel=decel,
        alert=plan.alert | alerts,
        alert_s=np.where(alerts, t, plan.alert_s),
        hazard_s=np.where(conflict & np.isnan(plan.hazard_s), t, plan.hazard_s),  # engaged or not
        conflict_in_s=tau,
        a_req=a_req,
    )
