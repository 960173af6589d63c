"""Tracking: pure `step(track, detections, cfg) -> track` updates over a batch of runs, as in
filterpy and SORT.

A track keeps its id, its class and a constant-velocity Kalman filter (x, y, vx, vy). Two
policies:

- `reset-on-reclassify` (2018): a class change discards the history; the object gets a new track
  id, a filter with no velocity, and its path falls back to the class's goal (NTSB Vehicle
  Automation Report: "its tracking history was no longer used to predict its trajectory").
- `persistent`: one track across class changes; its filter keeps the history, so a velocity
  estimate exists within a few frames whatever the classifier says, and once the history is
  long enough (planner.motion_trust_s) that motion predicts the path.

Three further switches, all off in the 2018 design: a class filter (`class_confirm_frames`: a
new class must be seen that many frames in a row before the track takes it, so a one-frame
flicker changes nothing); class fusion (`class_fusion_s`: the class is the top class of an
exponential average of the detections' class probabilities, a one-hot row for a source that
gives only a class,

    f <- p                           at her first detection (or after the track was dropped)
    f <- f + (1 - exp(-dt / tau)) (p - f)    at each later one, dt after the last

so a frame's vote counts less the shorter tau is against the time since the last; the average
describes the object, not one motion history, and survives a reset); and coasting (a track
with no detection for longer than `coast_s` is dropped; the record's runs detect her every
frame, so it never acts there).

The filter is per axis, white-acceleration noise (Bar-Shalom; filterpy's
`Q_discrete_white_noise(dim=2)`), with x and y sharing one 2x2 covariance [[pp, pv], [pv, vv]]:

    predict:  p += v dt;  pp += 2 dt pv + dt^2 vv + q^2 dt^4 / 4;  pv += dt vv + q^2 dt^3 / 2;
              vv += q^2 dt^2
    update:   S = pp + r^2;  K = (pp, pv) / S;  p += K0 (z - p);  v += K1 (z - p);
              pp, pv, vv = pp (1 - K0), pv (1 - K0), vv - K1 pv

Every field of a `Track` is an (n,) array, one entry per run; `Track.row(i)` reads one run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios import state
from scenarios.perception import NO_DETECTION, Detections
from scenarios.spec import CLASSES, TrackingSpec


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
    """The tracker's state per run. Ids come from the state, never from a counter: id 0 means
    no track yet, and `cls` is -1 while no track is live (before the first detection, or
    after a track was dropped). In a `row(i)`, `cls` is the class name ('' for none)."""

    id: np.ndarray  # (n,) int64
    cls: np.ndarray  # (n,) int8, index into CLASSES
    frames: np.ndarray  # (n,) detections in the current history (1: just started)
    t_s: np.ndarray  # (n,) time of the last update
    x: np.ndarray  # filter state (m, m/s) and covariance shared by the axes
    y: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    pp: np.ndarray
    pv: np.ndarray
    vv: np.ndarray
    half_x: np.ndarray  # the last detected box's half extents (m)
    half_y: np.ndarray
    history_start_s: np.ndarray
    resets: np.ndarray  # histories discarded at a class change so far
    reset_now: np.ndarray  # (n,) bool: this update discarded the history
    pending_cls: np.ndarray  # the class filter: a class seen but not yet taken, and how often
    pending_n: np.ndarray
    fused: np.ndarray  # (n, len(CLASSES)) class fusion's average of the class probabilities

    @classmethod
    def empty(cls, n: int) -> Track:
        f, i = state.full, np.int64
        return cls(
            id=f(n, 0, i),
            cls=f(n, -1, np.int8),
            frames=f(n, 0, i),
            t_s=f(n, math.nan),
            x=f(n, 0.0),
            y=f(n, 0.0),
            vx=f(n, 0.0),
            vy=f(n, 0.0),
            pp=f(n, 0.0),
            pv=f(n, 0.0),
            vv=f(n, 0.0),
            half_x=f(n, 0.0),
            half_y=f(n, 0.0),
            history_start_s=f(n, math.nan),
            resets=f(n, 0, i),
            reset_now=f(n, False, bool),
            pending_cls=f(n, -1, np.int8),
            pending_n=f(n, 0, i),
            fused=np.zeros((n, len(CLASSES))),
        )

    def row(self, i: int) -> Track:
        return state.row(self, i, {"cls": CLASSES, "pending_cls": CLASSES})

    def to_dict(self) -> dict:
        """Of a row."""
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


def has_velocity(track: Track, cfg: TrackingSpec):
    """The filter's velocity counts as known: two or more frames and its std small enough."""
    return (track.frames >= 2) & (np.sqrt(track.vv) <= cfg.velocity_known_std_mps)


def _filtered_class(track: Track, cls: np.ndarray, seen: np.ndarray, confirm: int):
    """The class filter: (class the track takes, pending class, pending count)."""
    if confirm <= 1:
        return cls, track.pending_cls, track.pending_n
    differs = seen & (cls != track.cls)
    again = differs & (cls == track.pending_cls)
    count = np.where(differs, np.where(again, track.pending_n + 1, 1), 0)
    count = np.where(seen, count, track.pending_n)
    confirmed = (count >= confirm) | (track.cls < 0)
    taken = np.where(confirmed, cls, track.cls)
    pending = np.where(differs & ~confirmed, cls, np.int8(-1))
    pending = np.where(seen, pending, track.pending_cls)
    return taken, pending.astype(np.int8), np.where(confirmed, 0, count)


def fuse(track: Track, det: Detections, seen, live, tau_s: float):
    """Class fusion: (the class each detection votes for, the new averages); see the module
    docstring. With tau_s = 0 the class is the detection's own and nothing is averaged."""
    if not tau_s > 0:
        return det.cls, track.fused
    k = len(CLASSES)
    if det.probs is not None:
        p = np.zeros((len(seen), k))
        p[:, : det.probs.shape[1]] = det.probs
    else:
        p = (det.cls[:, None] == np.arange(k)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        a = 1.0 - np.exp(-(det.t_s - track.t_s) / tau_s)
    a = np.where(live, a, 1.0)[:, None]
    fused = np.where(seen[:, None], track.fused + a * (p - track.fused), track.fused)
    cls = np.where(seen, np.argmax(fused, axis=1), NO_DETECTION).astype(np.int8)
    return cls, fused


def step(track: Track, det: Detections, cfg: TrackingSpec) -> Track:
    """Fold one frame's detections into every run's track."""
    t = det.t_s
    seen = det.cls != NO_DETECTION
    live = track.cls >= 0
    if not seen.all():  # coasting: a track unseen for longer than coast_s is dropped
        live = live & ~(~seen & (t - track.t_s > cfg.coast_s + 1e-9))
    voted, fused = fuse(track, det, seen, live, cfg.class_fusion_s)
    taken, pending_cls, pending_n = _filtered_class(track, voted, seen, cfg.class_confirm_frames)
    fresh = ~live
    start = seen & (fresh | ((taken != track.cls) & (cfg.policy == "reset-on-reclassify")))
    update = seen & ~start
    dt = t - track.t_s
    q, r = cfg.accel_std_mps2, cfg.measurement_std_m
    px, pvx, ppp, ppv, pvv = kf_predict(track.x, track.vx, track.pp, track.pv, track.vv, dt, q)
    py, pvy, _, _, _ = kf_predict(track.y, track.vy, track.pp, track.pv, track.vv, dt, q)
    ux, uvx, upp, upv, uvv = kf_update(px, pvx, ppp, ppv, pvv, det.x, r)
    uy, uvy, _, _, _ = kf_update(py, pvy, ppp, ppv, pvv, det.y, r)
    v0 = cfg.initial_velocity_std_mps

    every = bool(seen.all())  # the common case: every run has a detection this frame

    def pick(started, updated, old):
        return np.where(start, started, updated if every else np.where(update, updated, old))

    reset = start & ~fresh
    return Track(
        id=np.where(start, track.id + 1, track.id),
        cls=taken
        if every
        else np.where(seen, taken, np.where(live, track.cls, -1)).astype(np.int8),
        frames=pick(1, track.frames + 1, np.where(live, track.frames, 0)),
        t_s=np.full(len(seen), t) if every else np.where(seen, t, track.t_s),
        x=pick(det.x, ux, track.x),
        y=pick(det.y, uy, track.y),
        vx=pick(0.0, uvx, track.vx),
        vy=pick(0.0, uvy, track.vy),
        pp=pick(r * r, upp, track.pp),
        pv=pick(0.0, upv, track.pv),
        vv=pick(v0 * v0, uvv, track.vv),
        half_x=np.where(seen, det.half_x, track.half_x),  # (n,) even where the box is a float
        half_y=np.where(seen, det.half_y, track.half_y),
        history_start_s=np.where(start, t, track.history_start_s),
        resets=np.where(reset, track.resets + 1, track.resets),
        reset_now=reset,
        pending_cls=pending_cls,
        pending_n=pending_n,
        fused=fused,
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
