"""The simulator: one loop over time for a batch of runs; a single run is a batch of one.

Each step at clock time t, for every run still going (all state is (n,) arrays):

  1. perception: on frame steps, every period_s, the source's classes (`perception.Source`)
                 and her box, shifted by the position noise
  2. tracking:   track = tracking.step(track, detections, cfg)
  3. operator:   notices (looking and within sight, or the previous step's alert); takes over
  4. planner:    on frame steps (its cycle is the perception's): prediction, collision check,
                 the state machine (suppression, braking rule); it holds its command between
  5. AEB:        Volvo's own braking if enabled
  6. command:    the hardest braking asked for, else cruise (ADS) or coasting (taken over)
  7. advance:    exact jerk-limited kinematics over one step; then the contact check

Nothing here knows the 2018 outcome: a run ends in a collision, or not, because of the switches
in the scenario file. `run_batch` runs n worlds at once (any number of the spec may be an (n,)
array of per-run values) and returns each run's results as arrays (RESULT_FIELDS); `simulate`
runs one and keeps every step (a trace hook) for the explanation and the figures. A run's
results are stored at the step it ends, and the rows of ended runs are dropped once they are a
quarter of the batch, so a few long runs do not keep the whole batch stepping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from scenarios import aeb, perception, planner, state, tracking, vehicle_operator, world
from scenarios.aeb import AebState
from scenarios.perception import Detection, Detections, Draws, Source
from scenarios.planner import Plan, Prediction
from scenarios.spec import MPH, ScenarioError, ScenarioSpec
from scenarios.tracking import Continuity, Track
from scenarios.vehicle_operator import OperatorState


@dataclass(frozen=True)
class TraceRow:
    """The state of everything at one step (before the step's motion)."""

    t_s: float
    suv_x: float  # front bumper (m)
    suv_v: float  # m/s
    suv_a: float  # m/s^2
    a_cmd: float
    ped_x: float
    ped_y: float
    gap_m: float  # SUV front to her near edge (negative once passed)
    detection: Detection | None
    track: Track
    velocity_known: bool
    prediction: Prediction
    plan: Plan
    ads_engaged: bool
    operator: vehicle_operator.OperatorState
    aeb: aeb.AebState

    def to_dict(self) -> dict:
        return {
            "t_s": round(self.t_s, 9),
            "suv": {
                "x": self.suv_x,
                "v": self.suv_v,
                "a": self.suv_a,
                "a_cmd": self.a_cmd,
                "mph": self.suv_v / MPH,
            },
            "pedestrian": {"x": self.ped_x, "y": self.ped_y},
            "gap_m": self.gap_m,
            "detection": self.detection.to_dict() if self.detection else None,
            "track": {**self.track.to_dict(), "velocity_known": self.velocity_known},
            "prediction": self.prediction.to_dict(),
            "planner": {**self.plan.to_dict(), "engaged": self.ads_engaged},
            "operator": self.operator.to_dict(),
            "aeb": self.aeb.to_dict(),
        }


@dataclass(frozen=True)
class RunSummary:
    scenario: str
    collision: bool
    impact_time_s: float | None  # clock time of contact
    impact_speed_mps: float | None
    first_detection_s: float
    first_hazard_s: float | None  # first predicted conflict
    brake_onset_s: float | None  # first deceleration for the hazard, by anyone
    brake_by: str | None  # "ADS avoid", "ADS slowdown", "ADS emergency", "AEB", "operator"
    alert_s: float | None
    takeover_s: float | None
    operator_brake_s: float | None
    aeb_trigger_s: float | None
    stopping_margin_m: float | None  # closest gap while she was in the SUV's path; 0 if hit
    speed_at_first_detection_mps: float
    distance_at_first_detection_m: float
    continuity: Continuity
    class_changes: tuple[tuple[float, str], ...]
    speed_profile: str
    end_s: float

    @property
    def impact_speed_mph(self) -> float | None:
        return None if self.impact_speed_mps is None else self.impact_speed_mps / MPH

    def before_impact(self, t: float | None) -> float | None:
        """Seconds before this run's impact (or before the record's, t = 0, if none)."""
        if t is None:
            return None
        ref = self.impact_time_s if self.impact_time_s is not None else 0.0
        return round(ref - t, 9)

    @property
    def outcome(self) -> str:
        if self.collision:
            return f"hit at {self.impact_speed_mph:.1f} mph"
        if self.stopping_margin_m is None:
            return "no collision (she was never in its path ahead of it)"
        return f"avoided, {self.stopping_margin_m:.1f} m to spare"

    def to_dict(self) -> dict:
        events = {
            k: getattr(self, k)
            for k in (
                "first_detection_s",
                "first_hazard_s",
                "brake_onset_s",
                "alert_s",
                "takeover_s",
                "operator_brake_s",
                "aeb_trigger_s",
            )
        }
        return {
            "scenario": self.scenario,
            "collision": self.collision,
            "outcome": self.outcome,
            "impact_time_s": _r(self.impact_time_s),
            "impact_speed_mps": _r(self.impact_speed_mps),
            "impact_speed_mph": _r(self.impact_speed_mph),
            "time_of_first_hazard_s": _r(self.first_hazard_s),
            "brake_onset_s": _r(self.brake_onset_s),
            "brake_by": self.brake_by,
            "stopping_margin_m": _r(self.stopping_margin_m),
            "track_resets": self.continuity.resets,
            "continuity": self.continuity.to_dict(),
            "events_clock_s": {k: _r(v) for k, v in events.items()},
            "events_before_impact_s": {k: _r(self.before_impact(v)) for k, v in events.items()},
            "speed_at_first_detection_mph": _r(self.speed_at_first_detection_mps / MPH),
            "distance_at_first_detection_m": _r(self.distance_at_first_detection_m),
            "class_changes": [[_r(t), c] for t, c in self.class_changes],
            "speed_profile": self.speed_profile,
            "clock": "seconds relative to the record's moment of impact (t = 0)",
            "end_s": _r(self.end_s),
        }


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), nd)


@dataclass(frozen=True)
class RunResult:
    spec: ScenarioSpec
    summary: RunSummary
    trace: tuple[TraceRow, ...] = field(repr=False)

    def to_dict(self) -> dict:
        return {"summary": self.summary.to_dict(), "trace": [r.to_dict() for r in self.trace]}


def profile_description(spec: ScenarioSpec) -> str:
    """Which speed profile a run used, with the certainty of each knot."""
    suv = spec.suv
    if suv.cruise == "constant":
        return f"constant {suv.initial_speed_mph:g} mph from the start"
    scale = world.profile_scale(spec)
    knots = ", ".join(
        f"{k.speed_mph * scale:.1f} mph at {k.t_s:+.1f} s [{k.certainty}]" for k in suv.profile
    )
    note = "" if abs(scale - 1) < 1e-12 else f" (the recorded knots scaled by {scale:.3f})"
    return f"recorded profile: {knots}; linear between knots, held outside{note}"


BRAKERS = ("operator", "AEB", "ADS avoid", "ADS slowdown", "ADS emergency")  # bit i of brake_by
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
    "peak_ads_decel_mps2",
)


def brake_by_names(code: int) -> str | None:
    names = [n for i, n in enumerate(BRAKERS) if code >> i & 1]
    return " + ".join(names) if names else None


@dataclass(frozen=True)
class Tally:
    """What a run's results need that no other state keeps: contact, the closest gap, the
    first time each party braked, how long the track's history and velocity lasted."""

    collision: np.ndarray  # (n,) bool
    contact_t: np.ndarray  # clock time of contact (nan: none)
    contact_v: np.ndarray  # speed at contact
    margin: np.ndarray  # closest gap while she was in the SUV's path (inf: never)
    takeover_t: np.ndarray  # first time the operator had taken over
    op_brake_t: np.ndarray  # ... the operator braked
    aeb_brake_t: np.ndarray  # ... the AEB braked
    ads_brake_t: np.ndarray  # ... the engaged ADS braked
    ads_brake_mode: np.ndarray  # the planner's mode then
    peak_ads_decel: np.ndarray  # the hardest braking the engaged ADS asked for
    longest: np.ndarray  # longest history (s)
    known_steps: np.ndarray  # steps with a velocity estimate

    @classmethod
    def empty(cls, n: int) -> Tally:
        f, nan = state.full, math.nan
        return cls(
            f(n, False, bool),
            f(n, nan),
            f(n, nan),
            f(n, math.inf),
            f(n, nan),
            f(n, nan),
            f(n, nan),
            f(n, nan),
            f(n, -1, np.int64),
            f(n, 0.0),
            f(n, 0.0),
            f(n, 0, np.int64),
        )


def _first(times: np.ndarray, now, t: float) -> np.ndarray:
    return np.where(np.isnan(times) & now, t, times)


def _tally_frame(tally: Tally, track: Track, plan: Plan, engaged) -> Tally:
    history = np.maximum(tally.longest, track.t_s - track.history_start_s)
    return replace(
        tally,
        longest=np.where(track.id > 0, history, tally.longest),
        peak_ads_decel=np.maximum(tally.peak_ads_decel, np.where(engaged, plan.decel, 0.0)),
    )


def _tally_step(
    tally: Tally,
    t: float,
    gap,
    in_path,
    op: OperatorState,
    auto: AebState | None,
    plan: Plan,
    engaged,
    known,
) -> Tally:
    """One step's tally; auto: None while the AEB is off (it never brakes)."""
    first_ads = np.isnan(tally.ads_brake_t) & engaged & (plan.decel > 0)
    return Tally(  # built directly, not with replace: this runs at every step
        collision=tally.collision,
        contact_t=tally.contact_t,
        contact_v=tally.contact_v,
        margin=np.where(in_path & (gap >= 0), np.minimum(tally.margin, gap), tally.margin),
        takeover_t=_first(tally.takeover_t, op.took_over, t),
        op_brake_t=_first(tally.op_brake_t, op.braking, t),
        aeb_brake_t=tally.aeb_brake_t
        if auto is None
        else _first(tally.aeb_brake_t, auto.braking, t),
        ads_brake_t=np.where(first_ads, t, tally.ads_brake_t),
        ads_brake_mode=np.where(first_ads, plan.mode, tally.ads_brake_mode),
        peak_ads_decel=tally.peak_ads_decel,
        longest=tally.longest,
        known_steps=tally.known_steps + known,
    )


def _onset(op_t, aeb_t, ads_t, ads_mode):
    """First braking for the hazard and who did it (bits of BRAKERS), from first times."""
    onset = np.fmin(np.fmin(op_t, aeb_t), ads_t)
    code = (op_t == onset) * 1 | (aeb_t == onset) * 2
    for bit, mode in ((2, planner.AVOID), (3, planner.SLOWDOWN), (4, planner.MITIGATE)):
        code = code | ((ads_t == onset) & (ads_mode == mode)) * (1 << bit)
    return onset, code


def _store(out: dict, rows: np.ndarray, which, t: float, dt: float, tally, track, plan, auto):
    """Write the results of the runs `which` (a mask; their batch indices: rows[which])."""
    i = rows[which]
    onset, code = _onset(
        tally.op_brake_t[which],
        tally.aeb_brake_t[which],
        tally.ads_brake_t[which],
        tally.ads_brake_mode[which],
    )
    margin = tally.margin[which]
    values = {
        "collision": tally.collision[which],
        "impact_time_s": tally.contact_t[which],
        "impact_speed_mps": tally.contact_v[which],
        "first_hazard_s": plan.hazard_s[which],
        "brake_onset_s": onset,
        "brake_by": code,
        "alert_s": plan.alert_s[which],
        "takeover_s": tally.takeover_t[which],
        "operator_brake_s": tally.op_brake_t[which],
        "aeb_trigger_s": auto.triggered_s[which],
        "stopping_margin_m": np.where(np.isinf(margin), np.nan, margin),
        "resets": track.resets[which],
        "tracks": track.id[which],
        "longest_history_s": np.round(tally.longest[which], 9),
        "velocity_known_s": np.round(tally.known_steps[which] * dt, 9),
        "end_s": t,
        "peak_ads_decel_mps2": tally.peak_ads_decel[which],
    }
    for k, v in values.items():
        out[k][i] = v


def empty_results(n: int) -> dict[str, np.ndarray]:
    """RESULT_FIELDS for `n` runs that did not run: no collision, counts 0, the rest NaN."""
    out = {k: np.full(n, np.nan) for k in RESULT_FIELDS}
    out.update(
        collision=np.zeros(n, bool),
        brake_by=np.zeros(n, np.int64),
        resets=np.zeros(n, np.int64),
        tracks=np.zeros(n, np.int64),
    )
    return out


def _command(s: ScenarioSpec, t: float, suv: world.Suv, v_ref, cruise, plan, op, auto, engaged):
    """The acceleration asked for: the hardest braking anyone asks for, else cruise (ADS) or
    coasting (taken over), within what the tyres give."""
    follow = world.cruise_accel(
        v_ref, cruise.slope(t), suv.v, s.planner.comfort_decel_mps2, s.suv.resume_accel_mps2
    )
    base = np.where(engaged, np.where(plan.decel > 0, -plan.decel, follow), 0.0)
    a_cmd = np.where(auto.braking, np.minimum(base, -s.aeb.decel_mps2), base)
    a_cmd = np.where(op.braking, np.minimum(a_cmd, -s.operator.brake_decel_mps2), a_cmd)
    return np.maximum(a_cmd, -s.suv.max_decel_mps2)


@dataclass(frozen=True)
class Step:
    """Everything at one step of a batch, for a trace hook (before the step's motion)."""

    k: int
    t_s: float
    suv: world.Suv
    a_cmd: np.ndarray
    ped_y: np.ndarray
    gap_m: np.ndarray
    detections: Detections | None  # on frame steps
    track: Track
    velocity_known: np.ndarray
    prediction: Prediction
    plan: Plan
    engaged: np.ndarray
    operator: OperatorState
    aeb: AebState


def run_batch(
    spec: ScenarioSpec,
    n: int,
    source: Source,
    *,
    values: Mapping[str, np.ndarray] | None = None,
    noise: np.ndarray | None = None,
    trace: Callable[[Step], None] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate n runs at once; returns RESULT_FIELDS -> (n,) arrays.

    values: keys of the spec -> (n,) arrays of per-run values (sampled inputs); source: where
    the detections' classes come from (`perception.source` for the scenario's own); noise:
    (n, frames, 2) standard normals for position noise, or None.
    """
    values = {k: np.asarray(v)[:n] for k, v in (values or {}).items()}
    s = spec.with_arrays(values) if values else spec
    w = spec.world
    dt = w.step_s
    total = round((w.end_s - w.start_s) / dt)
    first_frame, every, n_frames = perception.frame_steps(spec)
    noisy = noise is not None and noise.shape[1] > 0
    rows, active, zeros = np.arange(n), np.ones(n, bool), np.zeros(n)
    cruise = world.Cruise.of(s)
    suv = world.Suv.start(s, n, cruise)
    track, plan, op = Track.empty(n), Plan.empty(n), OperatorState.empty(n)
    pred, auto, tally = Prediction.empty(n), AebState.empty(n), Tally.empty(n)
    known = np.zeros(n, bool)
    out = empty_results(n)
    t = w.start_s
    for k in range(total + 1):
        t = round(w.start_s + k * dt, 9)  # whole steps: no drift in the clock
        frame = (k - first_frame) // every
        on_frame = k >= first_frame and (k - first_frame) % every == 0 and frame < n_frames
        ped, car = s.pedestrian, s.suv
        hx, hy = 0.5 * ped.width_m, 0.5 * ped.length_m
        lane_mid = 0.5 * s.world.lane_width_m
        s_lo, s_hi = lane_mid - 0.5 * car.width_m, lane_mid + 0.5 * car.width_m
        y = world.pedestrian_y(s, t) + zeros
        gap = -hx - suv.front
        det = None
        if on_frame:
            labels = source.frame(perception.View(frame, t, rows, gap, y, suv.v))
            eps = None
            if noisy:
                eps = noise[:, frame] if len(rows) == len(noise) else noise[rows, frame]
            det = perception.detect(labels, t, zeros, y, eps, s)
            track = tracking.step(track, det, s.tracking)
            known = tracking.has_velocity(track, s.tracking)
        op = vehicle_operator.step(op, t, gap, plan.alert, s.operator)
        engaged = ~(op.took_over & s.operator.takeover_disengages)
        v_ref = cruise.speed(t)
        if on_frame:
            pred = planner.predict(track, t, s)
            tau, a_req = planner.check(pred, suv.front, suv.v, v_ref, s)
            plan = planner.step(plan, t, tau, a_req, s, engaged)
            tally = _tally_frame(tally, track, plan, engaged)
        in_path = world.overlap(y - hy, y + hy, s_lo, s_hi)
        auto = aeb.step(auto, t, gap, in_path, suv.v, s.aeb)
        a_cmd = _command(s, t, suv, v_ref, cruise, plan, op, auto, engaged)
        aeb_on = auto if s.aeb.enabled else None
        tally = _tally_step(tally, t, gap, in_path, op, aeb_on, plan, engaged, known)
        if trace is not None:
            trace(Step(k, t, suv, a_cmd, y, gap, det, track, known, pred, plan, engaged, op, auto))
        if k == total:
            break
        moved = suv.move(a_cmd, dt, car.jerk_mps3)
        y1 = world.pedestrian_y(s, round(t + dt, 9))
        hit = world.overlap(moved.front - car.length_m, moved.front, -hx, hx) & world.overlap(
            y1 - hy, y1 + hy, s_lo, s_hi
        )
        if hit.any():
            frac = world.contact_fraction(
                suv.front, moved.front, -hx, y - hy, y1 - hy, y + hy, y1 + hy, s_lo, s_hi
            )
            tally = replace(
                tally,
                collision=tally.collision | hit,
                contact_t=np.where(hit, t + frac * dt, tally.contact_t),
                contact_v=np.where(hit, suv.v + frac * (moved.v - suv.v), tally.contact_v),
                margin=np.where(hit, 0.0, tally.margin),
            )
        suv = moved
        ended = hit | (suv.front - car.length_m > hx)  # hit, or the SUV has passed her path
        if ended.any():
            _store(out, rows, ended & active, t, dt, tally, track, plan, auto)
            active &= ~ended
            if not active.any():
                return out
            if active.sum() < 0.75 * len(active):  # drop the ended runs' rows
                keep = active
                rows, active, zeros = rows[keep], active[keep], zeros[keep]
                values = {key: v[keep] for key, v in values.items()}
                s = spec.with_arrays(values) if values else spec
                cruise = world.Cruise.of(s)
                suv, track, plan, op = (state.take(x, keep) for x in (suv, track, plan, op))
                pred, auto, tally = (state.take(x, keep) for x in (pred, auto, tally))
                known = known[keep]
    _store(out, rows, active, t, dt, tally, track, plan, auto)
    return out


def simulate(spec: ScenarioSpec, *, seed: int = 0, draws: Draws | None = None) -> RunResult:
    """Run the scenario once, keeping every step. Randomness (flicker, noise) from `draws`,
    else from `seed`; a classifier in the loop renders its crops from `seed` too. The batch
    of one of `run_batch`."""
    if draws is None:
        if not 0 <= seed < 2**32:
            raise ScenarioError(f"seed: {seed} is outside 0..{2**32 - 1}; give another")
        draws = perception.draw(spec, np.random.default_rng(seed), 1)
    rows: list[TraceRow] = []

    def keep(step: Step) -> None:
        det = step.detections.row(0) if step.detections is not None else None
        track = step.track.row(0)
        if det is None and track.reset_now:  # a reset happens at a frame, not between
            track = replace(track, reset_now=False)
        rows.append(
            TraceRow(
                step.t_s,
                float(step.suv.front[0]),
                float(step.suv.v[0]),
                float(step.suv.a[0]),
                float(step.a_cmd[0]),
                0.0,
                float(step.ped_y[0]),
                float(step.gap_m[0]),
                det,
                track,
                bool(step.velocity_known[0]),
                step.prediction.row(0),
                step.plan.row(0),
                bool(step.engaged[0]),
                step.operator.row(0),
                step.aeb.row(0),
            )
        )

    src = perception.source(spec, draws, 1, seeds=[seed])
    out = run_batch(spec, 1, src, noise=draws.noise[:1], trace=keep)
    result = {k: v[0] for k, v in out.items()}
    return RunResult(spec, _summarise(spec, rows, result), tuple(rows))


def _none(x) -> float | None:
    return None if math.isnan(x) else float(x)


def _summarise(spec: ScenarioSpec, rows: list[TraceRow], r: dict) -> RunSummary:
    at_det = next((row for row in rows if row.detection is not None), rows[-1])
    changes, last = [], None
    for row in rows:
        if row.detection is not None and row.detection.cls != last:
            changes.append((round(row.t_s, 9), row.detection.cls))
            last = row.detection.cls
    return RunSummary(
        scenario=spec.name,
        collision=bool(r["collision"]),
        impact_time_s=_none(r["impact_time_s"]),
        impact_speed_mps=_none(r["impact_speed_mps"]),
        first_detection_s=perception.first_detection_s(spec),
        first_hazard_s=_none(r["first_hazard_s"]),
        brake_onset_s=_none(r["brake_onset_s"]),
        brake_by=brake_by_names(int(r["brake_by"])),
        alert_s=_none(r["alert_s"]),
        takeover_s=_none(r["takeover_s"]),
        operator_brake_s=_none(r["operator_brake_s"]),
        aeb_trigger_s=_none(r["aeb_trigger_s"]),
        stopping_margin_m=_none(r["stopping_margin_m"]),
        speed_at_first_detection_mps=at_det.suv_v,
        distance_at_first_detection_m=at_det.gap_m,
        continuity=Continuity(
            tracks=int(r["tracks"]),
            resets=int(r["resets"]),
            longest_history_s=float(r["longest_history_s"]),
            velocity_known_s=float(r["velocity_known_s"]),
        ),
        class_changes=tuple(changes),
        speed_profile=profile_description(spec),
        end_s=float(r["end_s"]),
    )
