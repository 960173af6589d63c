"""Perception: a stream of detections of her, each with a sensor, a class and a box.

Two modes:

- `replay` plays the record's timeline: from each event on, detections carry its sensor and
  class (5.6 s radar "vehicle", 5.2 s lidar "other", the vehicle/other flicker, 2.6 s bicycle,
  1.5 s other, 1.2 s bicycle). Where the record is vague (the switch times between 3.8 and
  2.7 s) the scenario file says so, event by event.
- `flicker` draws the class per frame from a Markov switching model: at each frame, with
  probability p = 1 - exp(-rate_hz * period_s), the class is redrawn from the confusion row c
  (so the transition matrix is (1 - p) I + p 1 c^T and c is its stationary distribution; the
  class actually changes with probability p (1 - sum c_k^2) per frame).

Randomness comes only from `draw` (an explicit numpy Generator); everything else is a pure
function of the spec and the drawn numbers, for one run or for many at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.spec import CLASSES, ScenarioSpec


@dataclass(frozen=True)
class Detection:
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


def needs(spec: ScenarioSpec) -> tuple[bool, bool]:
    """(draws class numbers, draws position noise)."""
    per = spec.perception
    return per.mode == "flicker" and not per.classify_as, per.position_noise_m > 0


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


def class_sequence(spec: ScenarioSpec, draws: Draws | None) -> list[tuple[str, str]]:
    """(sensor, class) for every frame of one run."""
    per = spec.perception
    _, _, frames = frame_steps(spec)
    if per.mode == "replay":
        seq = []
        for k in range(frames):
            e = per.events[replay_index(spec, frame_time(spec, k))]
            seq.append((e.sensor, e.cls))
    else:
        if per.classify_as:
            idx = np.zeros(frames, dtype=int)
        else:
            assert draws is not None, "flicker needs draws"
            idx = flicker_classes(
                draws.flicker_u[:1], confusion_row(spec), switch_probability(spec)
            )[0]
        seq = [("lidar", CLASSES[i]) for i in idx]
    if per.classify_as:
        seq = [(s, per.classify_as) for s, _ in seq]
    return seq


def detect(
    spec: ScenarioSpec,
    t: float,
    frame: int,
    sensor: str,
    cls: str,
    x: float,
    y: float,
    draws: Draws | None,
) -> Detection:
    """The detection of her at frame `frame`: her true box, shifted by the drawn noise."""
    p = spec.perception
    if p.position_noise_m > 0:
        assert draws is not None, "position noise needs draws"
        nx, ny = draws.noise[0, frame]
        x = x + p.position_noise_m * nx
        y = y + p.position_noise_m * ny
    ped = spec.pedestrian
    return Detection(t, sensor, cls, float(x), float(y), 0.5 * ped.width_m, 0.5 * ped.length_m)


def class_change_rate(spec: ScenarioSpec) -> float:
    """Expected class changes per second under the flicker model: p (1 - sum c^2) / period."""
    row = confusion_row(spec)
    p = float(switch_probability(spec))
    return p * (1 - float(np.sum(row * row))) / spec.perception.period_s
