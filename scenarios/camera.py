"""The classifier in the loop: what the SUV's camera sees of her each frame, and what a network
trained by fragility makes of it.

Perception mode `classifier` (the scenario's [perception.classifier] table). At each frame, for
every run still going, the camera's view of her comes from the simulator's own state: the
SUV's front and speed, her lateral position and walking speed (the camera
`crops.CAMERA_BEHIND_FRONT_M` behind the front, in the middle of the SUV's lane; she at x = 0
walking right; `render.relative_view`). Her crop is rendered at that range, bearing and motion
in the scenario's light (`render.render` of `crops.tempe_object`), the network classifies it,
and its top class, or 'unknown' where the out-of-distribution detector flags the crop, goes to
tracking and the planner with its probabilities, like any perception source's labels
(`perception.Source`). Where the camera does not see her (outside its field of view, or
beside it as the SUV drives past her), the frame has no detection of her. Nothing is
scripted: how often the class changes, when, and with what confidence is the network's
doing, and so are the tracking resets that follow.

The loop is closed: once the SUV brakes, the camera sees her from elsewhere, so crops are
rendered frame by frame, batched across the runs of a batch (one render and one forward pass
per frame), not ahead of time.

Randomness: run r's crop at frame k draws its random numbers (sensor noise, background, box
error) from its own stream, `numpy.random.default_rng([seeds[r], k, TAG])`. A run's crops do
not depend on the other runs of its batch or on which of them have ended: `simulate(spec,
seed=s)` is the run of seed s in any batch (`over_renders`: run r has seed seed + r).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scenarios import crops, perception, render
from scenarios.perception import Labels, View
from scenarios.spec import CLASSES, NETWORK_CLASSES, SENSORS, ScenarioSpec
from scenarios.stats import Proportion

TAG = 20180318  # the crops' streams: default_rng([seed, frame, TAG])
UNKNOWN = CLASSES.index("unknown")
CAMERA = SENSORS.index("camera")


def crop_uniforms(seeds: np.ndarray, frame: int, size: int, channels: int) -> np.ndarray:
    """(m, render.uniforms_per_crop) float32: the random numbers of each run's crop at `frame`."""
    per_crop = render.uniforms_per_crop(size, channels)
    out = np.empty((len(seeds), per_crop), dtype=np.float32)
    for i, s in enumerate(seeds):
        out[i] = np.random.default_rng([int(s), frame, TAG]).random(per_crop, dtype=np.float32)
    return out


def _of_rows(value: Any, rows: np.ndarray) -> Any:
    """A spec value for the runs `rows`: per-run arrays are indexed, scalars kept."""
    return np.asarray(value)[rows] if np.ndim(value) else value


def views(spec: ScenarioSpec, view: View) -> render.Views:
    """How the camera sees her in the runs of `view` (spec: the batch's, values per run)."""
    rows = view.rows
    ped = spec.pedestrian
    front = -0.5 * _of_rows(ped.width_m, rows) - view.range_m  # she stands at x = 0
    cam_x = front - crops.CAMERA_BEHIND_FRONT_M
    cam_y = 0.5 * _of_rows(spec.world.lane_width_m, rows)
    walk = -_of_rows(ped.speed_mps, rows)  # walking right: y falls
    r, bearing, v_perp = render.relative_view(
        cam_x, cam_y, view.speed_mps, 0.0, 0.0, view.lateral_m, 0.0, walk
    )
    return render.Views.of(
        len(rows),
        spec.perception.classifier.lighting,
        range_m=r,
        bearing_rad=bearing,
        v_perp_mps=v_perp,
        time_s=view.t_s,
    )


def visible(v: render.Views) -> np.ndarray:
    """Where the camera sees her: within its horizontal field of view and more than a metre
    away (beside or behind the camera, as when the SUV drives past her, it does not)."""
    half = np.radians(render.CAMERA.hfov_deg / 2)
    return (np.abs(v.bearing_rad) <= half) & (v.range_m > MIN_RANGE_M)


MIN_RANGE_M = 1.0


def render_crops(
    spec: ScenarioSpec, view: View, seeds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(her crops (k, C, H, W), which runs of `view` they are: a mask (m,)) for the runs in
    which the camera sees her; seeds: the whole batch's (n,)."""
    c = spec.perception.classifier
    v = views(spec, view)
    seen_ = visible(v)
    rows = view.rows[seen_]
    x = render.render(
        crops.tempe_object(),
        v.take(seen_),
        None,
        size=c.crop_size,
        channels=c.channels,
        box_jitter=c.box_jitter,
        uniforms=crop_uniforms(seeds[rows], view.frame, c.crop_size, c.channels),
    )
    return x, seen_


def labels(probs: np.ndarray, flagged: np.ndarray, seen_: np.ndarray | None = None) -> Labels:
    """The frame's labels from the network's probabilities (k, 4) and the detector's flags for
    the runs the camera sees (`seen_`, a mask (m,); None: all): the top class, or 'unknown'
    where flagged; probabilities over CLASSES, the network's own with 0 for 'unknown', or all
    on 'unknown' where flagged. A run in which the camera does not see her has no detection."""
    m = len(probs) if seen_ is None else len(seen_)
    at = np.arange(m) if seen_ is None else np.flatnonzero(seen_)
    full = np.zeros((m, len(CLASSES)))
    full[at, : len(NETWORK_CLASSES)] = probs
    full[at[flagged]] = 0.0
    full[at[flagged], UNKNOWN] = 1.0
    cls = np.full(m, perception.NO_DETECTION, dtype=np.int8)
    cls[at] = np.where(flagged, UNKNOWN, probs.argmax(axis=1))
    return Labels(cls, np.full(m, CAMERA, dtype=np.int8), full)


@dataclass(frozen=True, eq=False)
class CameraSource:
    """The perception source of mode `classifier` for a batch of runs."""

    spec: ScenarioSpec  # the batch's (values may be (n,) arrays)
    network: Any  # classifier.Network
    seeds: np.ndarray  # (n,) each run's render seed

    def frame(self, view: View) -> Labels:
        x, seen_ = render_crops(self.spec, view, self.seeds)
        if not len(x):
            return labels(np.zeros((0, len(NETWORK_CLASSES))), np.zeros(0, bool), seen_)
        return labels(*self.network.classify(x), seen_)


def source(spec: ScenarioSpec, seeds, *, progress: bool = False) -> CameraSource:
    """The classifier-in-the-loop source of a batch (spec: with per-run values, if any;
    seeds: each run's render seed). Trains the network on first use (then it is cached)."""
    from scenarios import classifier

    net = classifier.network(spec.perception.classifier, progress=progress)
    return CameraSource(spec, net, np.asarray(seeds, dtype=np.uint64).reshape(-1))


# ---------------------------------------------------------------------------------------------
# What the network saw in one run: the film strip's data


@dataclass(frozen=True, eq=False)
class Seen:
    """One run's frames as the network saw them: crops (frames, C, H, W), its probabilities
    (frames, 4) over NETWORK_CLASSES, the detector's flags, the class given (index into
    CLASSES), and the track's class and resets, from the run's trace."""

    times_s: np.ndarray
    range_m: np.ndarray
    crops: np.ndarray
    probs: np.ndarray
    flagged: np.ndarray
    cls: np.ndarray
    track_cls: tuple[str, ...]
    resets: np.ndarray  # (frames,) bool: the track's history was discarded at this frame
    network: str

    @property
    def class_changes(self) -> int:
        """Changes of the class given, frame to frame, before the record's moment of impact."""
        return int(class_changes(self.cls[None, self.times_s < -1e-9])[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "frames": [
                {
                    "t_s": round(float(t), 9),
                    "range_m": float(r),
                    "class": CLASSES[int(c)],
                    "probabilities": dict(zip(NETWORK_CLASSES, map(float, p), strict=True)),
                    "ood_flag": bool(f),
                    "track_class": tc,
                    "reset": bool(z),
                }
                for t, r, c, p, f, tc, z in zip(
                    self.times_s,
                    self.range_m,
                    self.cls,
                    self.probs,
                    self.flagged,
                    self.track_cls,
                    self.resets,
                    strict=True,
                )
            ],
            "class_changes": self.class_changes,
        }


def seen(result, seed: int) -> Seen:
    """Render again the crops of a classifier run (a RunResult of `simulate(spec, seed=seed)`)
    from its trace, and classify them: the same crops, bit for bit, as the run saw."""
    spec = result.spec
    rows = [r for r in result.trace if r.detection is not None]
    seeds = np.array([seed], dtype=np.uint64)
    net = source(spec, seeds).network
    parts, probs, flags = [], [], []
    for k, r in enumerate(rows):
        view = View(
            k,
            r.t_s,
            np.zeros(1, int),
            np.array([r.gap_m]),
            np.array([r.ped_y]),
            np.array([r.suv_v]),
        )
        x, _ = render_crops(spec, view, seeds)
        p, f = net.classify(x)
        parts.append(x[0])
        probs.append(p[0])
        flags.append(f[0])
    probs_a, flags_a = np.array(probs), np.array(flags)
    lab = labels(probs_a, flags_a)
    return Seen(
        times_s=np.array([r.t_s for r in rows]),
        range_m=np.array([r.gap_m for r in rows]),
        crops=np.array(parts),
        probs=probs_a,
        flagged=flags_a,
        cls=lab.cls,
        track_cls=tuple(r.track.cls for r in rows),
        resets=np.array([bool(r.track.reset_now) for r in rows]),
        network=net.name,
    )


# ---------------------------------------------------------------------------------------------
# Many renders: the probability of avoiding the crash over the network's random crops


@dataclass(frozen=True)
class RenderOutcomes:
    """Runs of one scenario with every input at its value and fresh renders: run r is
    `simulate(spec, seed=seed + r)`. avoided: with its 95 % Wilson interval."""

    scenario: str
    runs: int
    seed: int
    avoided: Proportion
    class_changes: float  # mean changes of the given class per run, before t = 0
    resets: float  # mean track resets per run
    impact_mph: dict  # quantiles where she is hit
    arrays: dict  # RESULT_FIELDS and "class_changes" -> (runs,)

    def headline(self) -> str:
        return f"avoided in {self.avoided.text()} of {self.runs:,} renders"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "runs": self.runs,
            "seeds": [self.seed, self.seed + self.runs - 1],
            "avoided": self.avoided.to_dict(),
            "headline": self.headline(),
            "class_changes_per_run": self.class_changes,
            "resets_per_run": self.resets,
            "impact_speed_mph": self.impact_mph,
        }


class _Recorder:
    """Wraps a source and keeps each frame's classes, (n, frames), -1 where a run had ended."""

    def __init__(self, inner, n: int, frames: int) -> None:
        self.inner = inner
        self.cls = np.full((n, frames), perception.NO_DETECTION, dtype=np.int8)

    def frame(self, view: View) -> Labels:
        out = self.inner.frame(view)
        self.cls[view.rows, view.frame] = out.cls
        return out


def class_changes(cls: np.ndarray) -> np.ndarray:
    """Changes of class between consecutive detected frames, per run: (n, frames) -> (n,)."""
    seen_ = cls != perception.NO_DETECTION
    both = seen_[:, 1:] & seen_[:, :-1]
    return np.sum(both & (cls[:, 1:] != cls[:, :-1]), axis=1)


def over_renders(
    spec: ScenarioSpec, runs: int = 200, seed: int = 0, *, progress: bool = False
) -> RenderOutcomes:
    """`runs` runs of a classifier scenario, batched (run r: seed seed + r, exactly
    `simulate(spec, seed=seed + r)`), and the share in which the crash is avoided."""
    from scenarios.simulate import run_batch
    from scenarios.spec import MPH, ScenarioError

    if spec.perception.mode != "classifier":
        raise ScenarioError(
            f"{spec.name}: perception.mode is {spec.perception.mode!r}; "
            "renders vary only with mode = 'classifier'"
        )
    if not (1 <= runs <= 100_000 and seed >= 0 and seed + runs <= 2**32):
        raise ScenarioError(
            f"runs {runs:,} from seed {seed}: ask for 1..100,000 runs of seeds below 2^32"
        )
    seeds = np.arange(seed, seed + runs, dtype=np.uint64)
    noise = np.concatenate(
        [perception.draw(spec, np.random.default_rng(int(s)), 1).noise for s in seeds]
    )
    _, _, frames = perception.frame_steps(spec)
    rec = _Recorder(source(spec, seeds, progress=progress), runs, frames)
    out = run_batch(spec, runs, rec, noise=noise)
    # counted over the same frames in every run: those before the record's moment of impact
    before = np.array([perception.frame_time(spec, k) for k in range(frames)]) < -1e-9
    out["class_changes"] = class_changes(rec.cls[:, before])
    hit = out["collision"].astype(bool)
    mph = out["impact_speed_mps"][hit] / MPH
    q = np.percentile(mph, [5, 50, 95]) if hit.any() else []
    return RenderOutcomes(
        scenario=spec.name,
        runs=runs,
        seed=seed,
        avoided=Proportion(int((~hit).sum()), runs),
        class_changes=float(out["class_changes"].mean()),
        resets=float(out["resets"].mean()),
        impact_mph={
            "runs": int(hit.sum()),
            **{f"p{p}": round(float(v), 3) for p, v in zip((5, 50, 95), q, strict=False)},
        },
        arrays=out,
    )
