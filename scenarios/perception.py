"""Perception: what the sensors report about her, frame by frame, for a batch of runs.

A perception *source* says, at each frame and for each run still going, which class the
detection of her has (and, where the source has them, the class probabilities); `detect` adds
where she is, her true box shifted by the drawn position noise. Tracking and the planner see
only the resulting `Detections`, never the source, so any source can feed them:

- `replay` plays the record's timeline: from each event on, detections carry its sensor and
  class (5.6 s radar "vehicle", 5.2 s lidar "other", the vehicle/other flicker, 2.6 s bicycle,
  1.5 s other, 1.2 s bicycle). Where the record is vague (the switch times between 3.8 and
  2.7 s, the class at 2.7 s) the scenario file says so, event by event; an event's time or
  class may vary per run.
- `flicker` draws the class per frame from a Markov switching model (below).
- `classify_as` replaces every class: a perfect classifier.
- `classifier` renders what the camera sees of her each frame and classifies it with a network
  trained by fragility (`scenarios.camera`): the flicker comes from the network.
- Any object with a `frame(view) -> Labels` method (the `Source` protocol): for example a
  trained image classifier that looks at a rendering of what the sensor sees (`View`: the
  range, her lateral position and the SUV's speed in each run still going). `ArraySource`
  wraps labels computed beforehand, as (runs, frames) arrays of classes and probabilities.

The noise model (also written into every sweep.json):

- Flicker, a Markov chain on the classes: at each frame, with probability
  p = 1 - exp(-rate_hz * period_s), the class is redrawn from the confusion row c (the
  distribution of classes given to her); otherwise it stays. The transition matrix is
  (1 - p) I + p 1 c^T, c is its stationary distribution, and the class actually changes with
  probability p (1 - sum c_k^2) per frame. The first frame draws from c.
- The confusion row c: the probability of each class for her (a row of a confusion matrix).
- Position noise: each detection's centre is her true centre plus independent normal errors
  of standard deviation position_noise_m along and across the road, fresh every frame.

Randomness comes only from `draw` (an explicit numpy Generator); everything else is a pure
function of the spec and the drawn numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from scenarios.spec import CLASSES, SENSORS, ScenarioSpec

NO_DETECTION = -1  # the class index of a frame in which she is not detected


@dataclass(frozen=True)
class Detection:
    """One detection in a trace row (Python scalars, the class by name)."""

    t_s: float
    sensor: str
    cls: str
    x: float  # the detected box's centre (m)
    y: float
    half_x: float  # the box's half extents along and across the road (m)
    half_y: float

    def to_dict(self) -> dict:
        return {"t_s": self.t_s, "sensor": self.sensor, "class": self.cls, "x": self.x, "y": self.y}


@dataclass(frozen=True)
class View:
    """What a sensor sees at a frame, in the runs still going of a batch."""

    frame: int
    t_s: float
    rows: np.ndarray  # (m,) each run's index in the batch (runs that ended are left out)
    range_m: np.ndarray  # (m,) from the SUV's front to her near edge
    lateral_m: np.ndarray  # (m,) her centre's y
    speed_mps: np.ndarray  # (m,) the SUV's speed


@dataclass(frozen=True)
class Labels:
    """A source's answer for one frame."""

    cls: np.ndarray  # (m,) int8 index into CLASSES; NO_DETECTION where she is not detected
    sensor: np.ndarray  # (m,) int8 index into SENSORS
    probs: np.ndarray | None = None  # (m, len(CLASSES)) class probabilities, if the source has them


class Source(Protocol):
    """Where the class of each detection comes from."""

    def frame(self, view: View) -> Labels: ...


@dataclass(frozen=True)
class ArraySource:
    """Labels fixed before the run: (runs, frames) classes and sensors, optional probabilities."""

    cls: np.ndarray  # (n, frames) int8, NO_DETECTION for a missed frame
    sensor: np.ndarray  # (n, frames) int8
    probs: np.ndarray | None = None  # (n, frames, len(CLASSES))

    def frame(self, view: View) -> Labels:
        k, rows = view.frame, view.rows
        cls, sensor = self.cls[:, k], self.sensor[:, k]
        probs = None if self.probs is None else self.probs[:, k]
        if len(rows) != len(cls):  # some runs have ended: keep the rows still going
            cls, sensor = cls[rows], sensor[rows]
            probs = None if probs is None else probs[rows]
        return Labels(cls, sensor, probs)


@dataclass(frozen=True)
class Detections:
    """What tracking receives at one frame, per run still going."""

    t_s: float
    cls: np.ndarray  # (m,) int8; NO_DETECTION where she was not detected
    sensor: np.ndarray  # (m,) int8
    x: np.ndarray  # (m,) the detected box's centre (m)
    y: np.ndarray
    half_x: np.ndarray | float  # the box's half extents along and across the road (m)
    half_y: np.ndarray | float
    probs: np.ndarray | None = None

    def row(self, i: int) -> Detection | None:
        if self.cls[i] == NO_DETECTION:
            return None
        return Detection(
            self.t_s,
            SENSORS[int(self.sensor[i])],
            CLASSES[int(self.cls[i])],
            float(self.x[i]),
            float(self.y[i]),
            float(np.broadcast_to(self.half_x, self.x.shape)[i]),
            float(np.broadcast_to(self.half_y, self.x.shape)[i]),
        )


@dataclass(frozen=True)
class Draws:
    """The random numbers of runs: one uniform per frame for the flicker (runs, frames) and two
    normals per frame for position noise (runs, frames, 2); empty where not needed."""

    flicker_u: np.ndarray
    noise: np.ndarray

    def row(self, i: int) -> Draws:
        return Draws(self.flicker_u[i : i + 1], self.noise[i : i + 1])


def first_detection_s(spec: ScenarioSpec) -> float:
    per = spec.perception
    return per.events[0].t_s if per.mode == "replay" else per.flicker.first_detection_s


def frame_steps(spec: ScenarioSpec) -> tuple[int, int, int]:
    """(step index of the first frame, steps between frames, number of frames)."""
    w = spec.world
    first = round((first_detection_s(spec) - w.start_s) / w.step_s)
    every = round(spec.perception.period_s / w.step_s)
    total = round((w.end_s - w.start_s) / w.step_s)
    return first, every, max(0, (total - first) // every + 1)


def frame_time(spec: ScenarioSpec, frame: int) -> float:
    first, every, _ = frame_steps(spec)
    return spec.world.start_s + (first + frame * every) * spec.world.step_s


def costly(spec: ScenarioSpec) -> bool:
    """Whether each frame costs a render and a network's forward pass (the classifier in the
    loop), so that analyses run fewer worlds of it."""
    return spec.perception.mode == "classifier" and not spec.perception.classify_as


def needs(spec: ScenarioSpec) -> tuple[bool, bool]:
    """(draws class numbers, draws position noise)."""
    per = spec.perception
    noisy = bool(np.any(np.asarray(per.position_noise_m) > 0))
    return per.mode == "flicker" and not per.classify_as, noisy


def draw(spec: ScenarioSpec, rng: np.random.Generator, runs: int) -> Draws:
    """All perception randomness for `runs` runs, in a fixed order: flicker, then noise."""
    _, _, frames = frame_steps(spec)
    flicker, noisy = needs(spec)
    flicker_u = rng.random((runs, frames if flicker else 0))
    noise = rng.standard_normal((runs, frames if noisy else 0, 2))
    return Draws(flicker_u, noise)


def replay_index(spec: ScenarioSpec, t: float) -> int:
    """Index of the replay event in force at clock time t (-1 before the first)."""
    idx = -1
    for i, e in enumerate(spec.perception.events):
        if e.t_s <= t + 1e-9:
            idx = i
    return idx


def confusion_row(spec: ScenarioSpec) -> np.ndarray:
    """Probabilities over CLASSES (missing classes: 0)."""
    row = dict(spec.perception.flicker.confusion)
    return np.array([row.get(c, 0.0) for c in CLASSES])


def switch_probability(spec: ScenarioSpec, rate_hz=None):
    rate = spec.perception.flicker.rate_hz if rate_hz is None else rate_hz
    return 1.0 - np.exp(-np.asarray(rate, dtype=np.float64) * spec.perception.period_s)


def flicker_classes(u: np.ndarray, row: np.ndarray, p_switch) -> np.ndarray:
    """Class indices per frame (runs, frames) from the Markov switching model.

    One uniform u per frame does both jobs: the frame redraws when u < p, and then u / p is
    again uniform on [0, 1) and independent of that event, so it picks the class by inverting
    the row's CDF. Frame 0 always draws, with u itself.
    """
    if u.shape[1] == 0:
        return np.zeros(u.shape, dtype=np.int8)
    p = np.asarray(p_switch, dtype=np.float64).reshape(-1, 1)
    redraw = u < p
    redraw[:, 0] = True
    with np.errstate(divide="ignore", invalid="ignore"):
        class_u = np.where(redraw, u / p, 0.0)
    class_u[:, 0] = u[:, 0]
    cdf = np.cumsum(row)
    cdf[-1] = 1.0 + 1e-12  # a u of 1 - eps never falls past the last class
    drawn = np.minimum(np.searchsorted(cdf, class_u, side="right"), len(row) - 1)
    # The class at frame k is the one drawn at the last redraw at or before k.
    frames = np.arange(u.shape[1])
    last = np.maximum.accumulate(np.where(redraw, frames, 0), axis=1)
    return np.take_along_axis(drawn, last, axis=1).astype(np.int8)


def _index(names, table: tuple[str, ...]) -> np.ndarray:
    """Names (a string or an array of them) -> indices into table."""
    names = np.asarray(names)
    return np.select([names == c for c in table], range(len(table)), -1).astype(np.int8)


def _replay(spec: ScenarioSpec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(classes, sensors) of the replayed events, (n, frames); event times and classes may be
    per-run arrays (a sampled switch time or class)."""
    events = spec.perception.events
    _, _, frames = frame_steps(spec)
    if all(np.ndim(e.t_s) == 0 and np.ndim(e.cls) == 0 for e in events):
        seq = [events[replay_index(spec, frame_time(spec, k))] for k in range(frames)]
        cls = np.array([CLASSES.index(e.cls) for e in seq], dtype=np.int8)
        sensor = np.array([SENSORS.index(e.sensor) for e in seq], dtype=np.int8)
        return np.broadcast_to(cls, (n, frames)), np.broadcast_to(sensor, (n, frames))
    times = np.array([frame_time(spec, k) for k in range(frames)])
    which = np.zeros((n, frames), dtype=np.int64)
    for i, e in enumerate(events):  # in time order: the last event begun is the one in force
        started = times[None, :] >= np.reshape(e.t_s, (-1, 1)) - 1e-9
        which = np.where(started, i, which)
    cls = np.stack([np.broadcast_to(_index(e.cls, CLASSES), (n,)) for e in events], axis=1)
    sensor = np.array([SENSORS.index(e.sensor) for e in events], dtype=np.int8)
    return np.take_along_axis(cls, which, axis=1), sensor[which]


def source(spec: ScenarioSpec, draws: Draws, n: int, seeds=None) -> Source:
    """The scenario's own perception source for n runs (replay, flicker, a perfect one, or
    the classifier in the loop, whose crops each run renders from its seed in `seeds`)."""
    per = spec.perception
    _, _, frames = frame_steps(spec)
    if costly(spec):
        from scenarios import camera  # the network comes with torch: only when asked for

        if seeds is None or len(seeds) != n:
            raise ValueError("the classifier in the loop needs one render seed per run")
        return camera.source(spec, seeds)
    if per.mode == "replay":
        cls, sensor = _replay(spec, n)
    else:
        sensor = np.broadcast_to(np.int8(SENSORS.index("lidar")), (n, frames))
        cls = None
        if not per.classify_as:
            p_switch = switch_probability(spec, per.flicker.rate_hz)
            cls = flicker_classes(draws.flicker_u[:n], confusion_row(spec), p_switch)
    if per.classify_as:
        cls = np.broadcast_to(np.int8(CLASSES.index(per.classify_as)), (n, frames))
    return ArraySource(cls, sensor)


def detect(
    labels: Labels, t: float, x, y, noise: np.ndarray | None, spec: ScenarioSpec
) -> Detections:
    """The detections of her at one frame: her true box (centre x, y), shifted by the noise
    (standard normals, (m, 2), or None for none) times position_noise_m."""
    if noise is not None:
        sd = spec.perception.position_noise_m
        x = x + sd * noise[:, 0]
        y = y + sd * noise[:, 1]
    ped = spec.pedestrian
    return Detections(
        t, labels.cls, labels.sensor, x, y, 0.5 * ped.width_m, 0.5 * ped.length_m, labels.probs
    )


def class_change_rate(spec: ScenarioSpec) -> float:
    """Expected class changes per second under the flicker model: p (1 - sum c^2) / period."""
    row = confusion_row(spec)
    p = float(switch_probability(spec))
    return p * (1 - float(np.sum(row * row))) / spec.perception.period_s


def noise_model(spec: ScenarioSpec) -> dict:
    """The perception noise model of a scenario, in numbers and words (for sweep.json)."""
    per = spec.perception
    row = confusion_row(spec)
    out: dict = {"mode": per.mode, "period_s": per.period_s, "classify_as": per.classify_as}
    if per.mode == "flicker" and not per.classify_as:
        p = float(switch_probability(spec))
        out["flicker"] = {
            "model": "Markov chain on the classes: each frame, with probability "
            "p = 1 - exp(-rate_hz * period_s), the class is redrawn from the confusion row c; "
            "transition matrix (1 - p) I + p 1 c^T, stationary distribution c; the first frame "
            "draws from c",
            "rate_hz": per.flicker.rate_hz,
            "redraw_probability_per_frame": p,
            "confusion_row": dict(zip(CLASSES, row.tolist(), strict=True)),
            "class_changes_per_s": class_change_rate(spec),
        }
    elif per.mode == "classifier" and not per.classify_as:
        c = per.classifier
        out["classes"] = (
            f"a {c.model} trained on the {c.training_set} set classifies her rendered "
            f"{c.crop_size}x{c.crop_size} crop each frame ({c.lighting}, box jitter "
            f"{c.box_jitter:g}); out-of-distribution detector: {c.ood}"
        )
    else:
        out["classes"] = (
            "every frame classed as " + per.classify_as
            if per.classify_as
            else "the record's timeline replayed (events with their certainty)"
        )
    out["position_noise"] = {
        "model": "detected centre = true centre + N(0, sd^2) along and across the road, "
        "independent per axis and per frame",
        "sd_m": per.position_noise_m,
    }
    return out
