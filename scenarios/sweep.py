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


def _contact_fraction(f0, f1, xe, ylo0, ylo1, yhi0, yhi1, s_lo, s_hi):
    """simulate._contact_fraction over arrays."""
    with np.errstate(divide="ignore", invalid="ignore"):
        fx = np.where(f0 >= xe, 0.0, (xe - f0) / (f1 - f0))
        from_left = (ylo0 >= s_hi) & (ylo1 != ylo0)
        from_right = ~from_left & (yhi0 <= s_lo) & (yhi1 != yhi0)
        fy = np.where(
            from_left,
            (ylo0 - s_hi) / (ylo0 - ylo1),
            np.where(from_right, (s_lo - yhi0) / (yhi1 - yhi0), 0.0),
        )
    fy = np.where((ylo0 < s_hi) & (s_lo < yhi0), 0.0, fy)
    return np.minimum(np.maximum(np.maximum(fx, fy), 0.0), 1.0)


def _predict_kind(policy, jaywalkers, known, tcls, speed, tx, crosswalk_x, halfwidth, ped_speed):
    """planner.predict's choice of path kind (and reach growth) over arrays."""
    motion = known if policy == "persistent" else np.zeros_like(known)
    lane = ~motion & ((tcls == _VEH) | (tcls == _BIC)) & (speed > 0)
    ped = ~motion & (tcls == _PED)
    if not jaywalkers:
        ped &= np.abs(tx - crosswalk_x) <= halfwidth
    motion = motion | (ped & known)
    reach = ped & ~known
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


def _class_indices(spec: ScenarioSpec, draws: Draws, p: _Params, n: int) -> np.ndarray:
    per = spec.perception
    _, _, frames = perception.frame_steps(spec)
    if per.classify_as:
        return np.full((n, frames), CLASSES.index(per.classify_as))
    if per.mode == "replay":
        seq = perception.class_sequence(spec, None)
        return np.broadcast_to(np.array([CLASSES.index(c) for _, c in seq]), (n, frames))
    p_switch = perception.switch_probability(spec, p("perception.flicker.rate_hz"))
    return perception.flicker_classes(
        draws.switch_u[:n], draws.class_u[:n], perception.confusion_row(spec), p_switch
    )


def run_batch(
    spec: ScenarioSpec, samples: Mapping[str, np.ndarray], draws: Draws, n: int
) -> dict[str, np.ndarray]:
    """Simulate n runs at once; returns RESULT_FIELDS -> (n,) arrays."""
    p = _Params(spec, {k: v[:n] for k, v in samples.items()})
    w = spec.world
    dt = w.step_s
    total = round((w.end_s - w.start_s) / dt)
    first_frame, every, n_frames = perception.frame_steps(spec)
    classes = _class_indices(spec, draws, p, n)
    scale = world.profile_scale(spec, p("suv.initial_speed_mph") * MPH)
    lane_w, suv_w, suv_len = p("world.lane_width_m"), p("suv.width_m"), p("suv.length_m")
    s_lo, s_hi = 0.5 * lane_w - 0.5 * suv_w, 0.5 * lane_w + 0.5 * suv_w
    hx, hy = 0.5 * p("pedestrian.width_m"), 0.5 * p("pedestrian.length_m")
    ped_speed, ped_lat = p("pedestrian.speed_mps"), p("pedestrian.lateral_at_impact_m")
    noise_sd = p("perception.position_noise_m")
    tr, pl, op, ae = spec.tracking, spec.planner, spec.operator, spec.aeb
    reset_policy = tr.policy == "reset-on-reclassify"
    meas_r, q = p("tracking.measurement_std_m"), p("tracking.accel_std_mps2")
    v0_sd, known_sd = p("tracking.initial_velocity_std_mps"), p("tracking.velocity_known_std_mps")
    limit = (
        p("planner.emergency_decel_mps2")
        if pl.emergency_braking
        else p("planner.emergency_threshold_mps2")
    )
    comfort, suppression = p("planner.comfort_decel_mps2"), p("planner.suppression_s")
    hard = (
        p("planner.emergency_decel_mps2")
        if pl.emergency_braking
        else p("planner.slowdown_decel_mps2")
    )
    unavoidable_mode = MITIGATE if pl.emergency_braking else SLOWDOWN
    sees_on = op.takes_over_on in ("hazard", "alert-or-hazard")
    alert_on = op.takes_over_on in ("alert", "alert-or-hazard")

    def full(value, dtype=np.float64):
        return np.full(n, value, dtype=dtype)

    front = full(0.0) + world.suv_start_front(spec, p("world.start_gap_m"), p("pedestrian.width_m"))
    v = full(0.0) + world.cruise_speed(spec, w.start_s, scale)
    a = full(0.0)
    # track
    tid, tcls, frames = full(0, np.int64), full(-1, np.int64), full(0, np.int64)
    tt, tx, ty, tvx, tvy = np.nan, full(0.0), full(0.0), full(0.0), full(0.0)
    pp, pv, vv, hstart, resets = full(0.0), full(0.0), full(0.0), full(np.nan), full(0, np.int64)
    # planner, operator, AEB
    mode, since, decel = full(CRUISE, np.int64), full(np.nan), full(0.0)
    alert, alert_s, hazard_s = full(False, bool), full(np.nan), full(np.nan)
    noticed, took_over, op_braking = full(np.nan), full(False, bool), full(False, bool)
    aeb_t, aeb_braking = full(np.nan), full(False, bool)
    # results
    active = full(True, bool)
    collision, contact_t, contact_v = full(False, bool), full(np.nan), full(np.nan)
    margin, end_t = full(np.inf), full(np.nan)
    takeover_t, op_brake_t = full(np.nan), full(np.nan)
    longest, known_steps, known = full(0.0), full(0, np.int64), full(False, bool)
    aeb_brake_t, ads_brake_t, ads_brake_mode = full(np.nan), full(np.nan), full(-1, np.int64)
    zeros, seen_all = full(0.0), False

    for k in range(total + 1):
        t = round(w.start_s + k * dt, 9)
        y = world.pedestrian_y(spec, t, ped_speed, ped_lat) + zeros
        gap = -hx - front
        frame = (k - first_frame) // every
        on_frame = k >= first_frame and (k - first_frame) % every == 0 and frame < n_frames
        if on_frame:  # tracking
            cls = classes[:, frame]
            zx, zy = zeros, y
            if spec.perception.position_noise_m > 0:
                zx = zx + noise_sd * draws.noise[:n, frame, 0]
                zy = zy + noise_sd * draws.noise[:n, frame, 1]
            fresh = tid == 0
            start = fresh | ((cls != tcls) & reset_policy)
            ddt = t - tt
            px, pvx, ppp, ppv, pvv = kf_predict(tx, tvx, pp, pv, vv, ddt, q)
            py, pvy, _, _, _ = kf_predict(ty, tvy, pp, pv, vv, ddt, q)
            ux, uvx, upp, upv, uvv = kf_update(px, pvx, ppp, ppv, pvv, zx, meas_r)
            uy, uvy, _, _, _ = kf_update(py, pvy, ppp, ppv, pvv, zy, meas_r)
            resets = np.where(start & ~fresh, resets + 1, resets)
            tid = np.where(start, tid + 1, tid)
            frames = np.where(start, 1, frames + 1)
            tx, ty = np.where(start, zx, ux), np.where(start, zy, uy)
            tvx, tvy = np.where(start, 0.0, uvx), np.where(start, 0.0, uvy)
            pp = np.where(start, meas_r * meas_r, upp)
            pv = np.where(start, 0.0, upv)
            vv = np.where(start, v0_sd * v0_sd, uvv)
            hstart = np.where(start, t, hstart)
            tcls, tt = cls, t
            known = (frames >= 2) & (np.sqrt(vv) <= known_sd)
            longest = np.where(active & (tid > 0), np.maximum(longest, tt - hstart), longest)
        # operator (sees the previous step's alert)
        if not seen_all:
            looking = op.attentive or t >= p("operator.glance_at_s") - 1e-9
            sees = looking & (gap >= 0.0) & (gap <= p("operator.sight_distance_m"))
            new = np.isnan(noticed) & ((sees_on & sees) | (alert_on & alert))
            noticed = np.where(new, t, noticed)
            seen_all = not np.isnan(noticed).any()
        seen = ~np.isnan(noticed)
        took_over = seen & (t >= noticed + p("operator.takeover_s") - 1e-9)
        op_braking = seen & (t >= noticed + p("operator.reaction_s") - 1e-9)
        engaged = ~(took_over & op.takeover_disengages)
        v_ref = world.cruise_speed(spec, t, scale)
        if on_frame:  # prediction, collision check and planner, once per perception cycle
            speed = np.where(frames >= 2, np.hypot(tvx, tvy), 0.0)
            kind, grow = _predict_kind(
                tr.policy,
                pl.jaywalkers,
                known,
                tcls,
                speed,
                tx,
                p("world.crosswalk_distance_m"),
                p("planner.crosswalk_halfwidth_m"),
                p("planner.pedestrian_speed_mps"),
            )
            moving = kind == MOTION
            pvx_ = np.where(moving, tvx, np.where(kind == LANE, speed, 0.0))
            pvy_ = np.where(moving, tvy, 0.0)
            ox, oy, grow0 = tx + pvx_ * 0.0, ty + pvy_ * 0.0, grow * 0.0
            tau = planner.conflict_time(
                ox,
                oy,
                pvx_,
                pvy_,
                grow,
                grow0,
                hx,
                hy,
                front,
                suv_len,
                np.maximum(v, v_ref),
                0.0,
                lane_w,
                suv_w,
                p("planner.lateral_margin_m"),
                p("planner.horizon_s"),
            )
            tau = np.where(kind == NONE, np.inf, tau)
            conflict = np.isfinite(tau)
            with np.errstate(invalid="ignore"):
                x_conflict = ox - hx + pvx_ * tau
                a_req = np.where(
                    conflict,
                    planner.required_decel(v, x_conflict - front - p("planner.standoff_m")),
                    0.0,
                )
            hazard_s = np.where(conflict & np.isnan(hazard_s), t, hazard_s)
            start_supp = engaged & conflict & (mode == CRUISE) & (suppression > 0)
            decide = (
                engaged
                & conflict
                & (
                    ((mode == CRUISE) & ~(suppression > 0))
                    | ((mode == SUPPRESS) & (t >= since + suppression - planner.EPS_S))
                    | ((mode == AVOID) & (a_req > limit))
                )
            )
            avoid_decel = np.minimum(np.maximum(a_req, comfort), limit)
            keep_avoid = conflict & (mode == AVOID) & ~decide
            avoidable = a_req <= limit
            new_alert = decide & ~avoidable & pl.alert & ~alert
            alert_s = np.where(new_alert, t, alert_s)
            alert = alert | new_alert
            since = np.where(start_supp | decide, t, since)
            decel = np.where(
                decide,
                np.where(avoidable, avoid_decel, hard),
                np.where(keep_avoid, avoid_decel, np.where(start_supp, 0.0, decel)),
            )
            mode = np.where(
                decide,
                np.where(avoidable, AVOID, unavoidable_mode),
                np.where(start_supp, SUPPRESS, mode),
            )
            mode = np.where(conflict, mode, CRUISE)
            decel = np.where(conflict, decel, 0.0)
            mode = np.where(engaged, mode, DISENGAGED)
            decel = np.where(engaged, decel, 0.0)
        # AEB
        in_path = (y - hy < s_hi) & (s_lo < y + hy)
        margin = np.where(active & in_path & (gap >= 0), np.minimum(margin, gap), margin)
        if ae.enabled:
            with np.errstate(divide="ignore", invalid="ignore"):
                ttc = np.where((v > 0) & (gap >= 0), gap / v, np.inf)
            trig = np.isnan(aeb_t) & in_path & (ttc <= p("aeb.trigger_ttc_s") + 1e-12)
            aeb_t = np.where(trig, t, aeb_t)
            aeb_braking = ~np.isnan(aeb_t) & (t >= aeb_t + p("aeb.latency_s") - 1e-9)
            aeb_brake_t = np.where(active & np.isnan(aeb_brake_t) & aeb_braking, t, aeb_brake_t)
        # command
        ads_braking = engaged & (decel > 0)
        slope = world.cruise_slope(spec, t, scale)
        cruise = world.cruise_accel(v_ref, slope, v, comfort, p("suv.resume_accel_mps2"))
        base = np.where(engaged, np.where(decel > 0, -decel, cruise), 0.0)
        a_cmd = np.where(aeb_braking, np.minimum(base, -p("aeb.decel_mps2")), base)
        a_cmd = np.where(op_braking, np.minimum(a_cmd, -p("operator.brake_decel_mps2")), a_cmd)
        a_cmd = np.maximum(a_cmd, -p("suv.max_decel_mps2"))
        # this step's row: first times and counts
        first_ads = active & np.isnan(ads_brake_t) & ads_braking
        ads_brake_t = np.where(first_ads, t, ads_brake_t)
        ads_brake_mode = np.where(first_ads, mode, ads_brake_mode)
        takeover_t = np.where(active & np.isnan(takeover_t) & took_over, t, takeover_t)
        op_brake_t = np.where(active & np.isnan(op_brake_t) & op_braking, t, op_brake_t)
        known_steps = known_steps + (active & known)
        end_t = np.where(active, t, end_t)
        if k == total:
            break
        # motion and contact
        f1, v1, a1 = world.advance(front, v, a, a_cmd, dt, p("suv.jerk_mps3"))
        y1 = world.pedestrian_y(spec, round(t + dt, 9), ped_speed, ped_lat)
        hit = active & (f1 > -hx) & (f1 - suv_len < hx) & (y1 - hy < s_hi) & (s_lo < y1 + hy)
        if hit.any():
            s = _contact_fraction(front, f1, -hx, y - hy, y1 - hy, y + hy, y1 + hy, s_lo, s_hi)
            contact_t = np.where(hit, t + s * dt, contact_t)
            contact_v = np.where(hit, v + s * (v1 - v), contact_v)
            collision |= hit
            margin = np.where(hit, 0.0, margin)
        front = np.where(active, f1, front)
        v = np.where(active, v1, v)
        a = np.where(active, a1, a)
        active &= ~hit & ~(front - suv_len > hx)
        if not active.any():
            break
    onset, brake_by = _onset(op_brake_t, aeb_brake_t, ads_brake_t, ads_brake_mode)
    return {
        "collision": collision,
        "impact_time_s": contact_t,
        "impact_speed_mps": contact_v,
        "first_hazard_s": hazard_s,
        "brake_onset_s": onset,
        "brake_by": brake_by,
        "alert_s": alert_s,
        "takeover_s": takeover_t,
        "operator_brake_s": op_brake_t,
        "aeb_trigger_s": aeb_t,
        "stopping_margin_m": np.where(np.isinf(margin), np.nan, margin),
        "resets": resets,
        "tracks": tid,
        "longest_history_s": np.round(longest, 9),
        "velocity_known_s": np.round(known_steps * dt, 9),
        "end_s": end_t,
    }


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
        draws = Draws(
            *(
                np.concatenate([getattr(d, f) for _, d in drawn])
                for f in ("switch_u", "class_u", "noise")
            )
        )
        n = min(len(group) * BLOCK, runs - first * BLOCK)
        out = run_batch(spec, samples, draws, n)
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
    from tqdm import tqdm

    for c, (values, cell_spec) in enumerate(tqdm(grid, disable=not progress, desc="cells")):
        arr = run_cell(cell_spec, runs, seed, c)
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
    sample = {k: d.to_dict() for k, d in sw.sample} if sw else {}
    return SweepResult(spec.name, sw.grid if sw else (), sample, runs, seed, tuple(results))
