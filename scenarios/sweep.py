"""Sweeps: a grid over any parameters x Monte Carlo runs per cell, vectorised over runs.

`run_batch` is the simulation of `simulate.simulate`, written once more over arrays of runs
(numpy, one time loop, no Python loop over runs). It shares the arithmetic (kinematics, Kalman
filter, collision check) with the single run, and the test suite checks that every run of a
batch equals the single run with the same inputs.

Randomness: runs are grouped in blocks of BLOCK; block b of grid cell c draws from
`numpy.random.default_rng([seed, c, b])`, first the sampled parameters (in file order), then the
perception numbers. So run i of a cell can be redrawn alone (`run_inputs`) and the results do not
depend on how many runs are asked for or how they are chunked.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from scenarios import perception, planner, world
from scenarios.perception import Draws
from scenarios.planner import (
    AVOID,
    CRUISE,
    DISENGAGED,
    LANE,
    MITIGATE,
    MOTION,
    NONE,
    REACH,
    SLOWDOWN,
    STATIC,
    SUPPRESS,
)
from scenarios.spec import CLASSES, MPH, ScenarioSpec
from scenarios.tracking import kf_predict, kf_update

BLOCK = 4096
CHUNK_BLOCKS = 4  # blocks per kernel call: long arrays amortise numpy's per-call cost
BRAKERS = ("operator", "AEB", "ADS avoid", "ADS slowdown", "ADS emergency")  # bit i of brake_by
_VEH, _BIC, _PED, _OTH = (CLASSES.index(c) for c in ("vehicle", "bicycle", "pedestrian", "other"))

RESULT_FIELDS = (
    "collision",
    "impact_time_s",
    "impact_speed_mps",
    "first_hazard_s",
    "brake_onset_s",
    "brake_by",
    "alert_s",
    "takeover_s",
    "operator_brake_s",
    "aeb_trigger_s",
    "stopping_margin_m",
    "resets",
    "tracks",
    "longest_history_s",
    "velocity_known_s",
    "end_s",
)


def brake_by_names(code: int) -> str | None:
    names = [n for i, n in enumerate(BRAKERS) if code >> i & 1]
    return " + ".join(names) if names else None


# ---------------------------------------------------------------------------------------------
# Drawing the inputs of runs


def draw_block(spec: ScenarioSpec, seed: int, cell: int, block: int) -> tuple[dict, Draws]:
    """Sampled parameters (key -> (BLOCK,) array) and perception draws of one block."""
    rng = np.random.default_rng([seed, cell, block])
    samples = {}
    for key, d in spec.sweep.sample if spec.sweep else ():
        if d.kind == "uniform":
            x = rng.uniform(d.params[0], d.params[1], BLOCK)
        elif d.kind == "normal":
            x = rng.normal(d.params[0], d.params[1], BLOCK)
        else:
            x = np.asarray(d.params)[rng.integers(0, len(d.params), BLOCK)]
        samples[key] = np.clip(x, d.lo, d.hi)
    return samples, perception.draw(spec, rng, BLOCK)


def run_inputs(spec: ScenarioSpec, index: int, cell: int = 0) -> tuple[ScenarioSpec, Draws]:
    """The spec (sampled values applied) and draws of run `index` of a cell: for `simulate`."""
    seed = spec.sweep.seed if spec.sweep else 0
    samples, draws = draw_block(spec, seed, cell, index // BLOCK)
    i = index % BLOCK
    values = {k: float(v[i]) for k, v in samples.items()}
    return (spec.with_values(values) if values else spec), draws.row(i)


def cells(spec: ScenarioSpec) -> list[tuple[dict, ScenarioSpec]]:
    """(grid values, spec) for each grid cell, the last axis fastest."""
    grid = spec.sweep.grid if spec.sweep else ()
    if not grid:
        return [({}, spec)]
    keys = [k for k, _ in grid]
    out = []
    for combo in itertools.product(*(v for _, v in grid)):
        values = dict(zip(keys, combo, strict=True))
        out.append((values, spec.with_values(values)))
    return out


# ---------------------------------------------------------------------------------------------
# The vectorised run


class _Params:
    """Spec values, with sampled keys replaced by per-run arrays."""

    def __init__(self, spec: ScenarioSpec, samples: Mapping[str, np.ndarray]) -> None:
        self.spec, self.samples = spec, samples

    def __call__(self, key: str):
        return self.samples[key] if key in self.samples else self.spec.value(key)


def _predict_kind(jaywalkers, known, trusted, tcls, speed, tx, crosswalk_x, halfwidth, ped_speed):
    """planner.predict's choice of path kind (and reach growth) over arrays."""
    crossing = tcls == _PED
    if not jaywalkers:
        crossing = crossing & (np.abs(tx - crosswalk_x) <= halfwidth)
    motion = (crossing & known) | (~crossing & trusted)
    reach = crossing & ~known
    lane = ~crossing & ~trusted & ((tcls == _VEH) | (tcls == _BIC)) & (speed > 0)
    kind = np.where(motion, MOTION, np.where(lane, LANE, np.where(reach, REACH, STATIC)))
    kind = np.where(tcls < 0, NONE, kind)
    return kind, np.where(reach, ped_speed, 0.0)


def _onset(op_t, aeb_t, ads_t, ads_mode):
    """First braking for the hazard and who did it (bits of BRAKERS), from first times."""
    onset = np.fmin(np.fmin(op_t, aeb_t), ads_t)
    code = (op_t == onset) * 1 | (aeb_t == onset) * 2
    for bit, mode in ((2, AVOID), (3, SLOWDOWN), (4, MITIGATE)):
        code = code | ((ads_t == onset) & (ads_mode == mode)) * (1 << bit)
    return onset, code


def class_indices(spec: ScenarioSpec, draws: Draws, p: _Params, n: int) -> np.ndarray:
    """The class index of every frame of n runs (int8, (n, frames))."""
    per = spec.perception
    _, _, frames = perception.frame_steps(spec)
    if per.classify_as:
        return np.full((n, frames), CLASSES.index(per.classify_as), dtype=np.int8)
    if per.mode == "replay":
        seq = perception.class_sequence(spec, None)
        idx = np.array([CLASSES.index(c) for _, c in seq], dtype=np.int8)
        return np.broadcast_to(idx, (n, frames))
    p_switch = perception.switch_probability(spec, p("perception.flicker.rate_hz"))
    return perception.flicker_classes(draws.flicker_u[:n], perception.confusion_row(spec), p_switch)


def _per_run(spec: ScenarioSpec, p: _Params) -> SimpleNamespace:
    """The parameters the kernel reads: floats, or (n,) arrays where sampled."""
    pl = spec.planner
    lane_w, suv_w = p("world.lane_width_m"), p("suv.width_m")
    emergency = pl.emergency_braking
    return SimpleNamespace(
        scale=world.profile_scale(spec, p("suv.initial_speed_mph") * MPH),
        lane_w=lane_w,
        suv_w=suv_w,
        suv_len=p("suv.length_m"),
        s_lo=0.5 * lane_w - 0.5 * suv_w,
        s_hi=0.5 * lane_w + 0.5 * suv_w,
        ped_w=p("pedestrian.width_m"),
        hx=0.5 * p("pedestrian.width_m"),
        hy=0.5 * p("pedestrian.length_m"),
        ped_speed=p("pedestrian.speed_mps"),
        ped_lat=p("pedestrian.lateral_at_impact_m"),
        noise_sd=p("perception.position_noise_m"),
        meas_r=p("tracking.measurement_std_m"),
        q=p("tracking.accel_std_mps2"),
        v0_sd=p("tracking.initial_velocity_std_mps"),
        known_sd=p("tracking.velocity_known_std_mps"),
        limit=p(
            "planner.emergency_decel_mps2" if emergency else "planner.emergency_threshold_mps2"
        ),
        hard=p("planner.emergency_decel_mps2" if emergency else "planner.slowdown_decel_mps2"),
        comfort=p("planner.comfort_decel_mps2"),
        suppression=p("planner.suppression_s"),
        trust=p("planner.motion_trust_s"),
        crosswalk_x=p("world.crosswalk_distance_m"),
        halfwidth=p("planner.crosswalk_halfwidth_m"),
        ped_assumed=p("planner.pedestrian_speed_mps"),
        lateral_margin=p("planner.lateral_margin_m"),
        horizon=p("planner.horizon_s"),
        standoff=p("planner.standoff_m"),
        glance=p("operator.glance_at_s"),
        sight=p("operator.sight_distance_m"),
        takeover=p("operator.takeover_s"),
        reaction=p("operator.reaction_s"),
        op_decel=p("operator.brake_decel_mps2"),
        ttc=p("aeb.trigger_ttc_s"),
        latency=p("aeb.latency_s"),
        aeb_decel=p("aeb.decel_mps2"),
        resume=p("suv.resume_accel_mps2"),
        max_decel=p("suv.max_decel_mps2"),
        jerk=p("suv.jerk_mps3"),
        start_gap=p("world.start_gap_m"),
    )


def _initial_state(spec: ScenarioSpec, P: SimpleNamespace, n: int) -> SimpleNamespace:
    def full(value, dtype=np.float64):
        return np.full(n, value, dtype=dtype)

    nan, i64 = np.nan, np.int64
    return SimpleNamespace(
        orig=np.arange(n),  # each row's index in the batch (rows are dropped as runs end)
        zeros=full(0.0),
        front=full(0.0) + world.suv_start_front(spec, P.start_gap, P.ped_w),
        v=full(0.0) + world.cruise_speed(spec, spec.world.start_s, P.scale),
        a=full(0.0),
        tid=full(0, i64),
        tcls=full(-1, i64),
        frames=full(0, i64),
        tx=full(0.0),
        ty=full(0.0),
        tvx=full(0.0),
        tvy=full(0.0),
        pp=full(0.0),
        pv=full(0.0),
        vv=full(0.0),
        hstart=full(nan),
        resets=full(0, i64),
        known=full(False, bool),
        mode=full(CRUISE, i64),
        since=full(nan),
        decel=full(0.0),
        alert=full(False, bool),
        alert_s=full(nan),
        hazard_s=full(nan),
        noticed=full(nan),
        took_over=full(False, bool),
        op_braking=full(False, bool),
        aeb_t=full(nan),
        aeb_braking=full(False, bool),
        collision=full(False, bool),
        contact_t=full(nan),
        contact_v=full(nan),
        margin=full(np.inf),
        end_t=full(nan),
        takeover_t=full(nan),
        op_brake_t=full(nan),
        aeb_brake_t=full(nan),
        ads_brake_t=full(nan),
        ads_brake_mode=full(-1, i64),
        longest=full(0.0),
        known_steps=full(0, i64),
    )


def _keep_rows(ns: SimpleNamespace, keep: np.ndarray) -> None:
    """Drop the rows of every per-run array of `ns` where keep is False."""
    n = len(keep)
    for name, value in vars(ns).items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n:
            setattr(ns, name, value[keep])


def _store(out: dict, S: SimpleNamespace, rows: np.ndarray, dt: float) -> None:
    """Write the results of the runs in `rows` (which have just ended) to the batch's output."""
    i = S.orig[rows]
    onset, code = _onset(
        S.op_brake_t[rows], S.aeb_brake_t[rows], S.ads_brake_t[rows], S.ads_brake_mode[rows]
    )
    margin = S.margin[rows]
    values = {
        "collision": S.collision[rows],
        "impact_time_s": S.contact_t[rows],
        "impact_speed_mps": S.contact_v[rows],
        "first_hazard_s": S.hazard_s[rows],
        "brake_onset_s": onset,
        "brake_by": code,
        "alert_s": S.alert_s[rows],
        "takeover_s": S.takeover_t[rows],
        "operator_brake_s": S.op_brake_t[rows],
        "aeb_trigger_s": S.aeb_t[rows],
        "stopping_margin_m": np.where(np.isinf(margin), np.nan, margin),
        "resets": S.resets[rows],
        "tracks": S.tid[rows],
        "longest_history_s": np.round(S.longest[rows], 9),
        "velocity_known_s": np.round(S.known_steps[rows] * dt, 9),
        "end_s": S.end_t[rows],
    }
    for k, v in values.items():
        out[k][i] = v


def run_batch(
    spec: ScenarioSpec,
    samples: Mapping[str, np.ndarray],
    classes: np.ndarray,
    noise: np.ndarray,
    n: int,
) -> dict[str, np.ndarray]:
    """Simulate n runs at once; returns RESULT_FIELDS -> (n,) arrays.

    Every run is a row of the state; a run's results are stored at the step it ends, and the
    rows of ended runs are dropped once they are a quarter of the batch, so a few long runs do
    not keep the whole batch stepping.
    """
    w = spec.world
    dt = w.step_s
    total = round((w.end_s - w.start_s) / dt)
    first_frame, every, n_frames = perception.frame_steps(spec)
    p = _Params(spec, {k: v[:n] for k, v in samples.items()})
    P = _per_run(spec, p)
    S = _initial_state(spec, P, n)
    S.classes = classes[:n]
    S.noise = noise[:n]
    out = {k: np.full(n, np.nan) for k in RESULT_FIELDS}
    out.update(
        collision=np.zeros(n, bool),
        brake_by=np.zeros(n, np.int64),
        resets=np.zeros(n, np.int64),
        tracks=np.zeros(n, np.int64),
    )
    active = np.ones(n, bool)
    tt, seen_all = np.nan, False
    for k in range(total + 1):
        t = round(w.start_s + k * dt, 9)
        frame = (k - first_frame) // every
        on_frame = k >= first_frame and (k - first_frame) % every == 0 and frame < n_frames
        y = world.pedestrian_y(spec, t, P.ped_speed, P.ped_lat) + S.zeros
        gap = -P.hx - S.front
        if on_frame:
            tt = _track(spec, S, P, t, tt, frame, y)
        seen_all = _operator(spec, S, P, t, gap, seen_all)
        engaged = ~(S.took_over & spec.operator.takeover_disengages)
        v_ref = world.cruise_speed(spec, t, P.scale)
        if on_frame:
            _plan(spec, S, P, t, tt, v_ref, engaged)
        a_cmd = _command(spec, S, P, t, y, gap, v_ref, engaged)
        S.end_t = S.zeros + t
        if k == total:
            break
        ended = _move(spec, S, P, t, y, a_cmd)
        if ended.any():
            _store(out, S, ended & active, dt)
            active &= ~ended
            if not active.any():
                return out
            if active.sum() < 0.75 * len(active):
                _keep_rows(S, active)
                _keep_rows(P, active)
                active = active[active]
    _store(out, S, active, dt)
    return out


def _track(spec, S, P, t, tt, frame, y) -> float:
    """One perception frame folded into every run's track (tracking.step over arrays)."""
    cls = S.classes[:, frame]
    zx, zy = S.zeros, y
    if spec.perception.position_noise_m > 0:
        zx = zx + P.noise_sd * S.noise[:, frame, 0]
        zy = zy + P.noise_sd * S.noise[:, frame, 1]
    fresh = S.tid == 0
    start = fresh | ((cls != S.tcls) & (spec.tracking.policy == "reset-on-reclassify"))
    ddt = t - tt
    px, pvx, ppp, ppv, pvv = kf_predict(S.tx, S.tvx, S.pp, S.pv, S.vv, ddt, P.q)
    py, pvy, _, _, _ = kf_predict(S.ty, S.tvy, S.pp, S.pv, S.vv, ddt, P.q)
    ux, uvx, upp, upv, uvv = kf_update(px, pvx, ppp, ppv, pvv, zx, P.meas_r)
    uy, uvy, _, _, _ = kf_update(py, pvy, ppp, ppv, pvv, zy, P.meas_r)
    S.resets = np.where(start & ~fresh, S.resets + 1, S.resets)
    S.tid = np.where(start, S.tid + 1, S.tid)
    S.frames = np.where(start, 1, S.frames + 1)
    S.tx, S.ty = np.where(start, zx, ux), np.where(start, zy, uy)
    S.tvx, S.tvy = np.where(start, 0.0, uvx), np.where(start, 0.0, uvy)
    S.pp = np.where(start, P.meas_r * P.meas_r, upp)
    S.pv = np.where(start, 0.0, upv)
    S.vv = np.where(start, P.v0_sd * P.v0_sd, uvv)
    S.hstart = np.where(start, t, S.hstart)
    S.tcls = cls
    S.known = (S.frames >= 2) & (np.sqrt(S.vv) <= P.known_sd)
    S.longest = np.where(S.tid > 0, np.maximum(S.longest, t - S.hstart), S.longest)
    return t


def _operator(spec, S, P, t, gap, seen_all) -> bool:
    """vehicle_operator.step over arrays (sees the previous step's alert)."""
    op = spec.operator
    if not seen_all:
        looking = op.attentive or t >= P.glance - 1e-9
        sees = looking & (gap >= 0.0) & (gap <= P.sight)
        on_sight = op.takes_over_on in ("hazard", "alert-or-hazard")
        on_alert = op.takes_over_on in ("alert", "alert-or-hazard")
        new = np.isnan(S.noticed) & ((on_sight & sees) | (on_alert & S.alert))
        S.noticed = np.where(new, t, S.noticed)
        seen_all = not np.isnan(S.noticed).any()
    seen = ~np.isnan(S.noticed)
    S.took_over = seen & (t >= S.noticed + P.takeover - 1e-9)
    S.op_braking = seen & (t >= S.noticed + P.reaction - 1e-9)
    S.takeover_t = np.where(np.isnan(S.takeover_t) & S.took_over, t, S.takeover_t)
    S.op_brake_t = np.where(np.isnan(S.op_brake_t) & S.op_braking, t, S.op_brake_t)
    return seen_all


def _plan(spec, S, P, t, tt, v_ref, engaged) -> None:
    """planner.predict, planner.check and planner.step over arrays."""
    pl = spec.planner
    speed = np.where(S.frames >= 2, np.hypot(S.tvx, S.tvy), 0.0)
    trusted = S.known & planner.trusts_motion(tt - S.hstart, P.trust)
    kind, grow = _predict_kind(
        pl.jaywalkers,
        S.known,
        trusted,
        S.tcls,
        speed,
        S.tx,
        P.crosswalk_x,
        P.halfwidth,
        P.ped_assumed,
    )
    moving = kind == MOTION
    pvx = np.where(moving, S.tvx, np.where(kind == LANE, speed, 0.0))
    pvy = np.where(moving, S.tvy, 0.0)
    ox, oy, grow0 = S.tx + pvx * 0.0, S.ty + pvy * 0.0, grow * 0.0
    tau = planner.conflict_time(
        ox,
        oy,
        pvx,
        pvy,
        grow,
        grow0,
        P.hx,
        P.hy,
        S.front,
        P.suv_len,
        np.maximum(S.v, v_ref),
        0.0,
        P.lane_w,
        P.suv_w,
        P.lateral_margin,
        P.horizon,
    )
    tau = np.where(kind == NONE, np.inf, tau)
    conflict = np.isfinite(tau)
    with np.errstate(invalid="ignore"):
        x_conflict = ox - P.hx + pvx * tau
        a_req = np.where(
            conflict, planner.required_decel(S.v, x_conflict - S.front - P.standoff), 0.0
        )
    S.hazard_s = np.where(conflict & np.isnan(S.hazard_s), t, S.hazard_s)
    mode = S.mode
    start_supp = engaged & conflict & (mode == CRUISE) & (P.suppression > 0)
    decide = (
        engaged
        & conflict
        & (
            ((mode == CRUISE) & ~(P.suppression > 0))
            | ((mode == SUPPRESS) & (t >= S.since + P.suppression - planner.EPS_S))
            | ((mode == AVOID) & (a_req > P.limit))
        )
    )
    avoid_decel = np.minimum(np.maximum(a_req, P.comfort), P.limit)
    keep_avoid = conflict & (mode == AVOID) & ~decide
    avoidable = a_req <= P.limit
    new_alert = decide & ~avoidable & pl.alert & ~S.alert
    S.alert_s = np.where(new_alert, t, S.alert_s)
    S.alert = S.alert | new_alert
    S.since = np.where(start_supp | decide, t, S.since)
    decel = np.where(
        decide,
        np.where(avoidable, avoid_decel, P.hard),
        np.where(keep_avoid, avoid_decel, np.where(start_supp, 0.0, S.decel)),
    )
    unavoidable = MITIGATE if pl.emergency_braking else SLOWDOWN
    mode = np.where(
        decide, np.where(avoidable, AVOID, unavoidable), np.where(start_supp, SUPPRESS, mode)
    )
    S.mode = np.where(engaged, np.where(conflict, mode, CRUISE), DISENGAGED)
    S.decel = np.where(engaged & conflict, decel, 0.0)


def _command(spec, S, P, t, y, gap, v_ref, engaged):
    """AEB, the hardest braking asked for, and this step's first times and counts."""
    in_path = world.overlap(y - P.hy, y + P.hy, P.s_lo, P.s_hi)
    S.margin = np.where(in_path & (gap >= 0), np.minimum(S.margin, gap), S.margin)
    if spec.aeb.enabled:
        with np.errstate(divide="ignore", invalid="ignore"):
            ttc = np.where((S.v > 0) & (gap >= 0), gap / S.v, np.inf)
        trig = np.isnan(S.aeb_t) & in_path & (ttc <= P.ttc + 1e-12)
        S.aeb_t = np.where(trig, t, S.aeb_t)
        S.aeb_braking = ~np.isnan(S.aeb_t) & (t >= S.aeb_t + P.latency - 1e-9)
        S.aeb_brake_t = np.where(np.isnan(S.aeb_brake_t) & S.aeb_braking, t, S.aeb_brake_t)
    slope = world.cruise_slope(spec, t, P.scale)
    cruise = world.cruise_accel(v_ref, slope, S.v, P.comfort, P.resume)
    base = np.where(engaged, np.where(S.decel > 0, -S.decel, cruise), 0.0)
    a_cmd = np.where(S.aeb_braking, np.minimum(base, -P.aeb_decel), base)
    a_cmd = np.where(S.op_braking, np.minimum(a_cmd, -P.op_decel), a_cmd)
    first_ads = np.isnan(S.ads_brake_t) & engaged & (S.decel > 0)
    S.ads_brake_t = np.where(first_ads, t, S.ads_brake_t)
    S.ads_brake_mode = np.where(first_ads, S.mode, S.ads_brake_mode)
    S.known_steps = S.known_steps + S.known
    return np.maximum(a_cmd, -P.max_decel)


def _move(spec, S, P, t, y, a_cmd) -> np.ndarray:
    """Exact motion over one step, then contact; returns the rows whose run ended."""
    dt = spec.world.step_s
    f1, v1, a1 = world.advance(S.front, S.v, S.a, a_cmd, dt, P.jerk)
    y1 = world.pedestrian_y(spec, round(t + dt, 9), P.ped_speed, P.ped_lat)
    hit = world.overlap(f1 - P.suv_len, f1, -P.hx, P.hx) & world.overlap(
        y1 - P.hy, y1 + P.hy, P.s_lo, P.s_hi
    )
    if hit.any():
        s = world.contact_fraction(
            S.front, f1, -P.hx, y - P.hy, y1 - P.hy, y + P.hy, y1 + P.hy, P.s_lo, P.s_hi
        )
        S.contact_t = np.where(hit, t + s * dt, S.contact_t)
        S.contact_v = np.where(hit, S.v + s * (v1 - S.v), S.contact_v)
        S.collision = S.collision | hit
        S.margin = np.where(hit, 0.0, S.margin)
    S.front, S.v, S.a = f1, v1, a1
    return hit | (f1 - P.suv_len > P.hx)


# ---------------------------------------------------------------------------------------------
# Whole sweeps


@dataclass(frozen=True)
class CellResult:
    values: dict  # grid values of this cell
    runs: int
    collision_probability: float
    mean_impact_speed_mph: float | None  # over the runs that collided
    mean_stopping_margin_m: float | None  # over the runs that did not
    mean_first_hazard_before_s: float | None  # seconds before the record's impact (t = 0)
    mean_resets: float
    arrays: dict[str, np.ndarray] = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        return {
            "values": self.values,
            "runs": self.runs,
            "collision_probability": self.collision_probability,
            "mean_impact_speed_mph": self.mean_impact_speed_mph,
            "mean_stopping_margin_m": self.mean_stopping_margin_m,
            "mean_first_hazard_before_s": self.mean_first_hazard_before_s,
            "mean_resets": self.mean_resets,
        }


@dataclass(frozen=True)
class SweepResult:
    scenario: str
    grid: tuple[tuple[str, tuple], ...]
    sample: dict
    runs_per_cell: int
    seed: int
    cells: tuple[CellResult, ...]

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "grid": {k: list(v) for k, v in self.grid},
            "sample": self.sample,
            "runs_per_cell": self.runs_per_cell,
            "seed": self.seed,
            "cells": [c.to_dict() for c in self.cells],
        }


def _mean(x: np.ndarray) -> float | None:
    x = x[~np.isnan(x)]
    return round(float(x.mean()), 6) if x.size else None


def run_cell(spec: ScenarioSpec, runs: int, seed: int, cell: int = 0) -> dict[str, np.ndarray]:
    """All runs of one cell; RESULT_FIELDS and sampled keys -> (runs,) arrays.

    Draws come block by block (see the module docstring); the kernel takes up to CHUNK_BLOCKS
    blocks at a time, which only changes how long its arrays are, not any result.
    """
    parts: list[dict] = []
    blocks = math.ceil(runs / BLOCK)
    for first in range(0, blocks, CHUNK_BLOCKS):
        group = range(first, min(blocks, first + CHUNK_BLOCKS))
        drawn = [draw_block(spec, seed, cell, b) for b in group]
        samples = {k: np.concatenate([s[k] for s, _ in drawn]) for k in drawn[0][0]}
        classes = np.concatenate(
            [class_indices(spec, d, _Params(spec, s), BLOCK) for s, d in drawn]
        )
        noise = np.concatenate([d.noise for _, d in drawn])
        n = min(len(group) * BLOCK, runs - first * BLOCK)
        out = run_batch(spec, samples, classes, noise, n)
        out.update({k: v[:n] for k, v in samples.items()})
        parts.append(out)
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def sweep(
    spec: ScenarioSpec, *, runs: int | None = None, seed: int | None = None, progress: bool = False
) -> SweepResult:
    """Run every grid cell of the scenario's [sweep] with its Monte Carlo runs."""
    sw = spec.sweep
    runs = runs if runs is not None else (sw.runs if sw else 1)
    seed = seed if seed is not None else (sw.seed if sw else 0)
    grid = cells(spec)
    results = []
    from fragility._progress import progress_bar

    bar = progress_bar(len(grid), progress, unit="cell", desc="sweep")
    for c, (values, cell_spec) in enumerate(grid):
        arr = run_cell(cell_spec, runs, seed, c)
        if bar is not None:
            bar.update(1)
        speed = np.where(arr["collision"], arr["impact_speed_mps"] / MPH, np.nan)
        margin = np.where(arr["collision"], np.nan, arr["stopping_margin_m"])
        results.append(
            CellResult(
                values=values,
                runs=runs,
                collision_probability=round(float(arr["collision"].mean()), 9),
                mean_impact_speed_mph=_mean(speed),
                mean_stopping_margin_m=_mean(margin),
                mean_first_hazard_before_s=_mean(-arr["first_hazard_s"]),
                mean_resets=round(float(arr["resets"].mean()), 6),
                arrays=arr,
            )
        )
    if bar is not None:
        bar.close()
    sample = {k: d.to_dict() for k, d in sw.sample} if sw else {}
    return SweepResult(spec.name, sw.grid if sw else (), sample, runs, seed, tuple(results))
