"""One run, step by step: world -> perception -> tracking -> prediction -> planner, operator,
AEB -> brakes -> kinematics, with every step recorded.

Nothing here knows the 2018 outcome: the run ends in a collision, or not, because of the
switches in the scenario file. Each step at clock time t:

  1. perception: a detection on frame steps (replay or flicker), every period_s
  2. tracking:   track = tracking.step(track, detection, cfg)
  3. operator:   notices (looking and within sight, or the previous step's alert); takes over
  4. planner:    on frame steps (its cycle is the perception's): prediction, collision check,
                 suppression, braking rule; it holds its command between frames
  5. AEB:        Volvo's own braking if enabled
  6. command:    the hardest braking asked for, else cruise (ADS) or coasting (taken over)
  7. advance:    exact jerk-limited kinematics over one step; then the collision check
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scenarios import aeb, perception, planner, tracking, vehicle_operator, world
from scenarios.perception import Detection, Draws
from scenarios.planner import Plan, Prediction
from scenarios.spec import MPH, ScenarioSpec
from scenarios.tracking import Continuity, Track


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


def simulate(spec: ScenarioSpec, *, seed: int = 0, draws: Draws | None = None) -> RunResult:
    """Run the scenario once. Randomness (flicker, noise) from `draws`, else from `seed`."""
    if draws is None and any(perception.needs(spec)):
        draws = perception.draw(spec, np.random.default_rng(seed), 1)
    w, suv, ped = spec.world, spec.suv, spec.pedestrian
    dt = w.step_s
    total = round((w.end_s - w.start_s) / dt)
    first_frame, every, n_frames = perception.frame_steps(spec)
    classes = perception.class_sequence(spec, draws)
    scale = world.profile_scale(spec)
    lane_w = w.lane_width_m
    s_lo, s_hi = 0.5 * lane_w - 0.5 * suv.width_m, 0.5 * lane_w + 0.5 * suv.width_m
    hx, hy = 0.5 * ped.width_m, 0.5 * ped.length_m

    front = world.suv_start_front(spec)
    v = world.cruise_speed(spec, w.start_s, scale)
    a = 0.0
    track, plan, pred = Track(), Plan(), Prediction()
    op, auto = vehicle_operator.OperatorState(), aeb.AebState()
    rows: list[TraceRow] = []
    margin = math.inf
    contact: tuple[float, float] | None = None
    t = w.start_s
    for k in range(total + 1):
        t = round(w.start_s + k * dt, 9)  # whole steps: no drift in the clock
        y = float(world.pedestrian_y(spec, t))
        gap = -hx - front
        det = None
        frame = (k - first_frame) // every
        on_frame = k >= first_frame and (k - first_frame) % every == 0 and frame < n_frames
        if on_frame:
            sensor, cls = classes[frame]
            det = perception.detect(spec, t, frame, sensor, cls, 0.0, y, draws)
        track = tracking.step(track, det, spec.tracking)
        op = vehicle_operator.step(op, t, gap, plan.alert, spec.operator)
        engaged = not (op.took_over and spec.operator.takeover_disengages)
        v_ref = world.cruise_speed(spec, t, scale)
        if on_frame:  # the planner runs once per perception cycle
            pred = planner.predict(track, t, spec)
            tau, a_req = planner.check(pred, front, v, v_ref, spec)
            plan = planner.step(plan, t, tau, a_req, spec, engaged=engaged)
        in_path = world.overlap(y - hy, y + hy, s_lo, s_hi)
        if in_path and gap >= 0:
            margin = min(margin, gap)
        auto = aeb.step(auto, t, gap, in_path, v, spec.aeb)
        if not engaged:
            base = 0.0  # the ADS is disengaged: coasting until someone brakes
        elif plan.decel > 0:
            base = -plan.decel
        else:
            slope = world.cruise_slope(spec, t, scale)
            base = float(
                world.cruise_accel(
                    v_ref, slope, v, spec.planner.comfort_decel_mps2, suv.resume_accel_mps2
                )
            )
        a_cmd = base  # the hardest braking anyone asks for wins; nobody braking, base holds
        if auto.braking:
            a_cmd = min(a_cmd, -spec.aeb.decel_mps2)
        if op.braking:
            a_cmd = min(a_cmd, -spec.operator.brake_decel_mps2)
        a_cmd = max(a_cmd, -suv.max_decel_mps2)
        rows.append(
            TraceRow(
                t,
                front,
                v,
                a,
                a_cmd,
                0.0,
                y,
                gap,
                det,
                track,
                tracking.has_velocity(track, spec.tracking),
                pred,
                plan,
                engaged,
                op,
                auto,
            )
        )
        if k == total:
            break
        f1, v1, a1 = (float(z) for z in world.advance(front, v, a, a_cmd, dt, suv.jerk_mps3))
        y1 = float(world.pedestrian_y(spec, round(t + dt, 9)))
        if world.overlap(f1 - suv.length_m, f1, -hx, hx) and world.overlap(
            y1 - hy, y1 + hy, s_lo, s_hi
        ):
            s = float(
                world.contact_fraction(front, f1, -hx, y - hy, y1 - hy, y + hy, y1 + hy, s_lo, s_hi)
            )
            contact = (t + s * dt, v + s * (v1 - v))
            front, v, a = f1, v1, a1
            margin = 0.0
            break
        front, v, a = f1, v1, a1
        if front - suv.length_m > hx:  # the SUV has passed her path
            break
    return RunResult(spec, _summarise(spec, rows, contact, margin, t), tuple(rows))


def _summarise(
    spec: ScenarioSpec, rows: list[TraceRow], contact, margin: float, end_s: float
) -> RunSummary:
    first_det = perception.first_detection_s(spec)
    at_det = next((r for r in rows if r.detection is not None), rows[-1])
    changes, last = [], None
    for r in rows:
        if r.detection is not None and r.detection.cls != last:
            changes.append((round(r.t_s, 9), r.detection.cls))
            last = r.detection.cls
    onset, by = None, None
    for r in rows:
        sources = []
        if r.operator.braking:
            sources.append("operator")
        if r.aeb.braking:
            sources.append("AEB")
        if r.plan.decel > 0 and r.ads_engaged:
            sources.append(
                {
                    planner.AVOID: "ADS avoid",
                    planner.SLOWDOWN: "ADS slowdown",
                    planner.MITIGATE: "ADS emergency",
                }[r.plan.mode]
            )
        if sources:
            onset, by = r.t_s, " + ".join(sources)
            break

    def first(pred) -> float | None:
        return next((r.t_s for r in rows if pred(r)), None)

    last_row = rows[-1]
    aeb_t = last_row.aeb.triggered_s
    return RunSummary(
        scenario=spec.name,
        collision=contact is not None,
        impact_time_s=None if contact is None else contact[0],
        impact_speed_mps=None if contact is None else contact[1],
        first_detection_s=first_det,
        first_hazard_s=None if math.isnan(last_row.plan.hazard_s) else last_row.plan.hazard_s,
        brake_onset_s=onset,
        brake_by=by,
        alert_s=None if math.isnan(last_row.plan.alert_s) else last_row.plan.alert_s,
        takeover_s=first(lambda r: r.operator.took_over),
        operator_brake_s=first(lambda r: r.operator.braking),
        aeb_trigger_s=None if math.isnan(aeb_t) else aeb_t,
        stopping_margin_m=None if math.isinf(margin) else margin,
        speed_at_first_detection_mps=at_det.suv_v,
        distance_at_first_detection_m=at_det.gap_m,
        continuity=tracking.continuity(
            [r.track for r in rows], [r.velocity_known for r in rows], spec.world.step_s
        ),
        class_changes=tuple(changes),
        speed_profile=profile_description(spec),
        end_s=end_s,
    )
