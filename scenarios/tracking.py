"""Tracking: pure `step(track, detection, cfg) -> track` updates, as in filterpy and SORT.

A track keeps its id, its class and a constant-velocity Kalman filter (x, y, vx, vy). Two
policies:

- `reset-on-reclassify` (2018): a class change discards the history; the object gets a new track
  id, a filter with no velocity, and its path falls back to the class's goal (NTSB Vehicle
  Automation Report: "its tracking history was no longer used to predict its trajectory").
- `persistent`: one track across class changes; its filter keeps the history, so a velocity
  estimate exists within a few frames whatever the classifier says, and once the history is
  long enough (planner.motion_trust_s) that motion predicts the path.

The filter is per axis, white-acceleration noise (Bar-Shalom; filterpy's
`Q_discrete_white_noise(dim=2)`), with x and y sharing one 2x2 covariance [[pp, pv], [pv, vv]]:

    predict:  p += v dt;  pp += 2 dt pv + dt^2 vv + q^2 dt^4 / 4;  pv += dt vv + q^2 dt^3 / 2;
              vv += q^2 dt^2
    update:   S = pp + r^2;  K = (pp, pv) / S;  p += K0 (z - p);  v += K1 (z - p);
              pp, pv, vv = pp (1 - K0), pv (1 - K0), vv - K1 pv

The helpers take floats or numpy arrays, so the vectorised sweep runs the same arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scenarios.perception import Detection
from scenarios.spec import TrackingSpec


def kf_predict(p, v, pp, pv, vv, dt, q):
    """Constant-velocity prediction over dt with white-acceleration noise q (m/s^2)."""
    q2 = q * q
    dt2 = dt * dt  # products, not powers: floats and arrays round the same way
    pp = pp + 2 * dt * pv + dt2 * vv + q2 * dt2 * dt2 / 4
    pv = pv + dt * vv + q2 * dt2 * dt / 2
    vv = vv + q2 * dt2
    return p + v * dt, v, pp, pv, vv


def kf_update(p, v, pp, pv, vv, z, r):
    """Position measurement z with noise std r."""
    s = pp + r * r
    k0 = pp / s
    k1 = pv / s
    innov = z - p
    return p + k0 * innov, v + k1 * innov, pp * (1 - k0), pv * (1 - k0), vv - k1 * pv


@dataclass(frozen=True)
class Track:
    """The tracker's state. id 0 means no track yet; ids come from the state, not a counter."""

    id: int = 0
    cls: str = ""
    frames: int = 0  # detections in the current history (1: just started)
    t_s: float = math.nan  # time of the last update
    x: float = 0.0
    y: float = 0.0
    vx: float = 0.0
    vy: float = 0.0
    pp: float = 0.0
    pv: float = 0.0
    vv: float = 0.0
    half_x: float = 0.0
    half_y: float = 0.0
    history_start_s: float = math.nan
    resets: int = 0  # histories discarded so far
    reset_now: bool = False  # this update discarded the history

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "class": self.cls,
            "frames": self.frames,
            "x": self.x,
            "y": self.y,
            "vx": self.vx,
            "vy": self.vy,
            "velocity_std": math.sqrt(self.vv),
            "reset": self.reset_now,
        }


def has_velocity(track: Track, cfg: TrackingSpec) -> bool:
    """The filter's velocity counts as known: two or more frames and its std small enough."""
    return track.frames >= 2 and math.sqrt(track.vv) <= cfg.velocity_known_std_mps


def _start(track: Track, det: Detection, cfg: TrackingSpec, track_id: int, resets: int) -> Track:
    r = cfg.measurement_std_m
    return Track(
        id=track_id,
        cls=det.cls,
        frames=1,
        t_s=det.t_s,
        x=det.x,
        y=det.y,
        vx=0.0,
        vy=0.0,
        pp=r * r,
        pv=0.0,
        vv=cfg.initial_velocity_std_mps * cfg.initial_velocity_std_mps,
        half_x=det.half_x,
        half_y=det.half_y,
        history_start_s=det.t_s,
        resets=resets,
        reset_now=track_id > 1,
    )


def step(track: Track, detection: Detection | None, cfg: TrackingSpec) -> Track:
    """Fold one detection (or none) into the track."""
    if detection is None:
        return replace(track, reset_now=False) if track.reset_now else track
    if track.id == 0:
        return _start(track, detection, cfg, 1, 0)
    if detection.cls != track.cls and cfg.policy == "reset-on-reclassify":
        return _start(track, detection, cfg, track.id + 1, track.resets + 1)
    dt = detection.t_s - track.t_s
    x, vx, pp, pv, vv = kf_predict(
        track.x, track.vx, track.pp, track.pv, track.vv, dt, cfg.accel_std_mps2
    )
    y, vy, _, _, _ = kf_predict(
        track.y, track.vy, track.pp, track.pv, track.vv, dt, cfg.accel_std_mps2
    )
    r = cfg.measurement_std_m
    x, vx, pp2, pv2, vv2 = kf_update(x, vx, pp, pv, vv, detection.x, r)
    y, vy, _, _, _ = kf_update(y, vy, pp, pv, vv, detection.y, r)
    return replace(
        track,
        cls=detection.cls,
        frames=track.frames + 1,
        t_s=detection.t_s,
        x=float(x),
        y=float(y),
        vx=float(vx),
        vy=float(vy),
        pp=float(pp2),
        pv=float(pv2),
        vv=float(vv2),
        half_x=detection.half_x,
        half_y=detection.half_y,
        reset_now=False,
    )


@dataclass(frozen=True)
class Continuity:
    """How continuous the track of her was over a run."""

    tracks: int  # distinct track ids
    resets: int  # histories discarded
    longest_history_s: float  # longest stretch of one history (first to last frame)
    velocity_known_s: float  # time with a velocity estimate

    def to_dict(self) -> dict:
        return {
            "tracks": self.tracks,
            "resets": self.resets,
            "longest_history_s": self.longest_history_s,
            "velocity_known_s": self.velocity_known_s,
        }


def continuity(tracks: list[Track], known: list[bool], step_s: float) -> Continuity:
    """Continuity metrics from the track state at every step and whether velocity was known."""
    ids = {t.id for t in tracks if t.id}
    last = next((t for t in reversed(tracks) if t.id), None)
    longest = 0.0
    for t in tracks:
        if t.id:
            longest = max(longest, t.t_s - t.history_start_s)
    return Continuity(
        tracks=len(ids),
        resets=last.resets if last else 0,
        longest_history_s=round(longest, 9),
        velocity_known_s=round(sum(known) * step_s, 9),
    )
