"""The world: N. Mill Avenue, the SUV, the pedestrian with her bicycle, and exact kinematics.

Coordinates: x runs north along the lanes (the SUV drives +x), y to the left, y = 0 at the right
edge of the right through lane (the SUV's lane is 0 <= y <= lane width). Her path across the
road is the line x = 0. The clock t is seconds relative to the record's moment of impact, so
t = -5.6 s is the record's first detection.

Kinematics are exact for piecewise-constant jerk: within a step the acceleration moves toward
the commanded one at the jerk limit, then holds, so

    a(t) = a0 + j t,   v(t) = v0 + a0 t + j t^2 / 2,   x(t) = x0 + v0 t + a0 t^2 / 2 + j t^3 / 6,

and a braking vehicle stops where v reaches 0 (it never reverses). The helpers take floats or
numpy arrays alike; the simulator runs them over a batch (`Suv`: (n,) arrays, one per run).
Any number of the spec may be an (n,) array of per-run values, the speed profile's knots too.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scenarios import state
from scenarios.spec import MPH, ScenarioSpec

CRUISE_TAU_S = 1.0  # how fast the cruise controller closes a speed gap (a first-order lag)


@dataclass(frozen=True)
class Road:
    """Lane edges from the spec (widths are assumptions where the record is silent)."""

    lane_width_m: float
    bike_lane_width_m: float
    through_lanes: int
    left_turn_lanes: int

    @classmethod
    def from_spec(cls, spec: ScenarioSpec) -> Road:
        w = spec.world
        return cls(w.lane_width_m, w.bike_lane_width_m, w.through_lanes, w.left_turn_lanes)

    @property
    def right_edge_m(self) -> float:
        return -self.bike_lane_width_m

    @property
    def left_edge_m(self) -> float:
        return (self.through_lanes + self.left_turn_lanes) * self.lane_width_m

    @property
    def suv_lane(self) -> tuple[float, float]:
        """The SUV's lane, the right through lane: (right edge, left edge)."""
        return 0.0, self.lane_width_m

    def lanes(self) -> list[tuple[str, float, float]]:
        """(name, right edge, left edge) from right to left."""
        out = []
        if self.bike_lane_width_m > 0:
            out.append(("bike lane", -self.bike_lane_width_m, 0.0))
        names = (
            ["right through", "left through"]
            if self.through_lanes == 2
            else [f"through {i + 1}" for i in range(self.through_lanes)]
        )
        turn = (
            ["left-turn (outer)", "left-turn (inner)"]
            if self.left_turn_lanes == 2
            else [f"left-turn {i + 1}" for i in range(self.left_turn_lanes)]
        )
        for i, name in enumerate(names + turn):
            out.append((name, i * self.lane_width_m, (i + 1) * self.lane_width_m))
        return out

    def lane_name(self, y: float) -> str:
        for name, lo, hi in self.lanes():
            if lo <= y < hi:
                return name
        return "off the road" if y < self.right_edge_m else "median"


# ---------------------------------------------------------------------------------------------
# Kinematics


def _quadratic_first_root(a2: np.ndarray, a1: np.ndarray, a0: np.ndarray) -> np.ndarray:
    """Smallest root >= 0 of a2 t^2 + a1 t + a0 (numerically stable; inf where none)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        disc = np.maximum(a1 * a1 - 4.0 * a2 * a0, 0.0)
        q = -0.5 * (a1 + np.where(a1 >= 0, 1.0, -1.0) * np.sqrt(disc))
        r1 = np.where(a2 != 0, q / a2, np.inf)
        r2 = np.where(q != 0, a0 / q, np.where(a0 == 0, 0.0, np.inf))
        linear = np.where(a1 != 0, -a0 / a1, np.inf)
    r1 = np.where(a2 == 0, linear, r1)
    r1 = np.where(r1 >= -1e-12, np.maximum(r1, 0.0), np.inf)
    r2 = np.where((a2 != 0) & (r2 >= -1e-12), np.maximum(r2, 0.0), np.inf)
    return np.minimum(r1, r2)


def _segment(x, v, a, j, T):
    """Constant jerk j for T seconds from (x, v, a), stopping (v = a = 0) if v reaches 0."""
    v_end = v + a * T + 0.5 * j * T * T
    stops = v_end < 0
    rising = j > 0
    if rising.any():
        # v(t) can dip below 0 inside the segment only through its vertex t = -a / j (j > 0).
        with np.errstate(divide="ignore", invalid="ignore"):
            t_vertex = np.where(rising, -a / j, -1.0)
        inside = (t_vertex > 0) & (t_vertex < T)
        v_vertex = v + a * t_vertex + 0.5 * j * t_vertex * t_vertex
        stops = stops | (inside & (v_vertex < 0))
    stops = stops & (T > 0)
    if not stops.any():  # the common case: nobody comes to rest in this segment
        return x + v * T + 0.5 * a * T * T + j * T * T * T / 6.0, v_end, a + j * T
    t = np.where(stops, np.minimum(_quadratic_first_root(0.5 * j, a, v), T), T)
    x_end = x + v * t + 0.5 * a * t * t + j * t * t * t / 6.0
    v_out = np.where(stops, 0.0, v_end)
    a_out = np.where(stops, 0.0, a + j * T)
    return x_end, v_out, a_out


def advance(x, v, a, a_cmd, dt: float, jerk):
    """One exact step: acceleration ramps to `a_cmd` at `jerk` (m/s^3; inf: at once), then holds.

    Returns (x, v, a) after dt. Works on floats and numpy arrays (returns arrays). A vehicle at
    rest with a braking command stays at rest with a = 0.
    """
    x, v, a, a_cmd = (np.asarray(z, dtype=np.float64) for z in (x, v, a, a_cmd))
    gap = a_cmd - a
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.minimum(dt, np.abs(gap) / jerk)
        t1 = np.where(gap == 0, 0.0, t1)
        j = np.where(t1 > 0, np.sign(gap) * jerk, 0.0)  # unlimited jerk: no ramp, j unused
    x1, v1, a1 = _segment(x, v, a, j, t1)
    stopped = (v1 == 0) & (t1 > 0) & (a1 == 0)
    a1 = np.where((t1 < dt) & ~stopped, a_cmd, a1)
    x2, v2, a2 = _segment(x1, v1, a1, np.zeros_like(a1), dt - t1)
    return x2, v2, a2


def stopping_distance(v0: float, decel: float, jerk: float = math.inf) -> float:
    """Distance to stop from v0 braking at `decel`, reached from 0 at `jerk` (closed form).

    Instant braking: v0^2 / (2 d). With a ramp of t_r = d / J: during it v drops by d t_r / 2
    and the car covers v0 t_r - J t_r^3 / 6; then v1^2 / (2 d) more. (Valid when the ramp ends
    before the stop, i.e. v0 > d^2 / (2 J).)
    """
    if math.isinf(jerk):
        return v0 * v0 / (2 * decel)
    t_r = decel / jerk
    v1 = v0 - 0.5 * decel * t_r
    return v0 * t_r - jerk * t_r**3 / 6 + v1 * v1 / (2 * decel)


# ---------------------------------------------------------------------------------------------
# The cruise profile: the recorded speeds (with their certainty), or a constant speed


def profile_knots(spec: ScenarioSpec) -> tuple[np.ndarray, list]:
    """(times, speeds in m/s) of the cruise profile, unscaled; constant cruise: one knot. A
    speed may be an (n,) array (a knot that varies per run)."""
    suv = spec.suv
    if suv.cruise == "constant" or not suv.profile:
        return np.array([spec.world.start_s]), [suv.initial_speed_mph * MPH]
    ts = np.array([k.t_s for k in suv.profile])
    return ts, [k.speed_mph * MPH for k in suv.profile]


def _interp(t: float, ts, vs: list):
    """Linear between knots, held outside them: np.interp's arithmetic, for knots whose speeds
    may be arrays (and without numpy's per-call cost for a scalar t)."""
    if t <= ts[0]:
        return vs[0]
    if t >= ts[-1]:
        return vs[-1]
    i = bisect.bisect_right(ts, t)
    slope = (vs[i] - vs[i - 1]) / (ts[i] - ts[i - 1])
    return slope * (t - ts[i - 1]) + vs[i - 1]


def profile_scale(spec: ScenarioSpec):
    """Factor that makes the profile's speed at start_s equal the initial speed."""
    ts, vs = profile_knots(spec)
    return spec.suv.initial_speed_mph * MPH / _interp(spec.world.start_s, ts, vs)


@dataclass(frozen=True)
class Cruise:
    """The cruise profile of a batch, read once: knots, scale and step."""

    ts: list[float]
    vs: list  # floats, or (n,) arrays for knots that vary per run
    scale: Any  # float or (n,) array
    step_s: float

    @classmethod
    def of(cls, spec: ScenarioSpec, scale=None) -> Cruise:
        ts, vs = profile_knots(spec)
        scale = profile_scale(spec) if scale is None else scale
        return cls([float(x) for x in ts], vs, scale, spec.world.step_s)

    def speed(self, t: float):
        """The profile's speed at clock time t (m/s): linear between knots, held outside them."""
        return self.scale * _interp(t, self.ts, self.vs)

    def slope(self, t: float):
        """The profile's acceleration on [t, t + step) (m/s^2)."""
        ts, vs = self.ts, self.vs
        i = bisect.bisect_left(ts, t + 0.5 * self.step_s)
        if i == 0 or i >= len(ts):
            return 0.0 * self.scale
        return self.scale * (vs[i] - vs[i - 1]) / (ts[i] - ts[i - 1])


def cruise_speed(spec: ScenarioSpec, t: float, scale=1.0):
    """The profile's speed at clock time t (m/s), times scale."""
    return Cruise.of(spec, scale).speed(t)


def cruise_slope(spec: ScenarioSpec, t: float, scale=1.0):
    """The profile's acceleration on [t, t + step) (m/s^2), times scale."""
    return Cruise.of(spec, scale).slope(t)


def cruise_accel(v_ref, slope, v, comfort_decel, resume_accel):
    """Follow the profile: its slope plus a first-order pull toward it, within comfort limits."""
    return np.clip(slope + (v_ref - v) / CRUISE_TAU_S, -comfort_decel, resume_accel)


def profile_distance(spec: ScenarioSpec, t0: float, t1: float) -> float:
    """Exact distance the unscaled profile covers from t0 to t1 (trapezoids between knots)."""
    ts, vs = profile_knots(spec)
    vs = np.array([float(v) for v in vs])
    grid = np.unique(np.concatenate([[t0, t1], ts[(ts > t0) & (ts < t1)]]))
    speeds = np.interp(grid, ts, vs)
    return float(np.sum(np.diff(grid) * (speeds[1:] + speeds[:-1]) / 2))


# ---------------------------------------------------------------------------------------------
# The pedestrian and the bodies


def pedestrian_y(spec: ScenarioSpec, t: float):
    """Her centre's y at clock time t: walking right (decreasing y) at constant speed."""
    p = spec.pedestrian
    return p.lateral_at_impact_m - p.speed_mps * t


def suv_start_front(spec: ScenarioSpec):
    """x of the SUV's front at start_s: start_gap_m short of her near edge."""
    return -0.5 * spec.pedestrian.width_m - spec.world.start_gap_m


def overlap(a_lo, a_hi, b_lo, b_hi):
    """Whether intervals [a_lo, a_hi] and [b_lo, b_hi] overlap (strictly)."""
    return (a_lo < b_hi) & (b_lo < a_hi)


def contact_fraction(f0, f1, xe, ylo0, ylo1, yhi0, yhi1, s_lo, s_hi):
    """Fraction of a step at which the bodies first touched (motion linear within the step).

    The SUV's front moves from f0 to f1 toward her near edge xe; her extent across the road
    moves from [ylo0, yhi0] to [ylo1, yhi1] against the SUV's [s_lo, s_hi]. Floats or arrays.
    """
    f0, f1, ylo0, ylo1, yhi0, yhi1 = (
        np.asarray(z, dtype=np.float64) for z in (f0, f1, ylo0, ylo1, yhi0, yhi1)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        fx = np.where(f0 >= xe, 0.0, (xe - f0) / (f1 - f0))
        from_left = (ylo0 >= s_hi) & (ylo1 != ylo0)
        from_right = ~from_left & (yhi0 <= s_lo) & (yhi1 != yhi0)
        fy = np.where(
            from_left,
            (ylo0 - s_hi) / (ylo0 - ylo1),
            np.where(from_right, (s_lo - yhi0) / (yhi1 - yhi0), 0.0),
        )
    fy = np.where(overlap(ylo0, yhi0, s_lo, s_hi), 0.0, fy)
    return np.minimum(np.maximum(np.maximum(fx, fy), 0.0), 1.0)


# ---------------------------------------------------------------------------------------------
# The SUV over a batch of runs


@dataclass(frozen=True)
class Suv:
    """The SUV per run: front bumper x (m), speed (m/s), acceleration (m/s^2)."""

    front: np.ndarray
    v: np.ndarray
    a: np.ndarray

    @classmethod
    def start(cls, spec: ScenarioSpec, n: int, cruise: Cruise) -> Suv:
        zeros = state.full(n, 0.0)
        front = zeros + suv_start_front(spec)
        return cls(front, zeros + cruise.speed(spec.world.start_s), zeros)

    def move(self, a_cmd, dt: float, jerk) -> Suv:
        return Suv(*advance(self.front, self.v, self.a, a_cmd, dt, jerk))
