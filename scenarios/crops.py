"""Training sets with the 2018 blind spot, and the Tempe encounter as a camera saw it.

Uber's system had learned to find pedestrians in crosswalks and had no notion of a
pedestrian walking a bicycle across the road away from one (Q, NTSB/HAR-19/03). Two training
sets of rendered crops (`scenarios.render`) make that difference and nothing else:

- ``blind-spot``: every pedestrian stands on a zebra crossing (its stripes are in the crop),
  and none walks a bicycle;
- ``fixed``: the same vehicles, cyclists and clutter (the same crops: same seed, same images);
  half the pedestrians cross away from a crossing (jaywalking, no stripes), and a third of
  the pedestrian class walks a bicycle (labelled pedestrian: her goal is to cross, not to
  ride along the lane), half of those on a crossing.

In both, a vehicle, a cyclist or a piece of clutter stands on a crossing in 10 % of crops, so
stripes mean "pedestrian" 77 % of the time in the blind-spot set, not always. Classes are
the networks' (`scenarios.spec.NETWORK_CLASSES`): vehicle, bicycle, pedestrian, other, balanced.
Light, range, bearing, motion, occlusion and the detector's box error are drawn alike for
every class and both sets (`draw_views`).

`tempe_crops` renders the encounter of 18 March 2018: a pedestrian in dark clothing walking a
bicycle without side reflectors across N. Mill Avenue, away from a crossing, at night in a
stretch not directly lit, seen from the SUV as the record's speed profile brings it from
about 105 m to a few metres. `flicker_stats` measures what a classifier made of it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fragility.errors import ConfigError
from scenarios import render, sprites, world
from scenarios.render import LIGHTING, Views
from scenarios.spec import NETWORK_CLASSES as CLASSES
from scenarios.spec import ScenarioSpec

SET_VARIANTS = ("blind-spot", "fixed")
KIND_LABEL = {  # what each kind of object is, in the scenario's classes
    "pedestrian": "pedestrian",
    "walking-bicycle": "pedestrian",
    "cyclist": "bicycle",
    "vehicle": "vehicle",
    "other": "other",
}
LIGHTING_SHARE = {"day": 0.35, "dusk": 0.15, "night-lit": 0.30, "night-unlit": 0.20}
RANGE_M = (6.0, 110.0)  # drawn log-uniformly
CROSSWALK_SHARE_OTHERS = 0.10
OCCLUDED_SHARE = 0.2
BOX_JITTER = 0.05
# Typical speed across the line of sight of each kind and view (m/s), for motion blur.
_SPEED = {
    ("pedestrian", 0): 1.3,
    ("pedestrian", 1): 0.2,
    ("walking-bicycle", 0): 1.2,
    ("walking-bicycle", 1): 1.2,
    ("cyclist", 0): 5.0,
    ("cyclist", 1): 0.3,
    ("vehicle", 0): 0.5,
    ("vehicle", 1): 10.0,
    ("vehicle", 2): 0.5,
}
_ONE_KIND = ("vehicle", "cyclist", "other")  # the kinds of the classes other than pedestrian
CAMERA_BEHIND_FRONT_M = 1.9  # windscreen camera behind the front bumper (U: an assumption)


@dataclass(frozen=True, eq=False)
class CropSet:
    """Rendered crops with labels and how each was made; `test` marks the test split.

    images (N, C, H, W) float32 in [0, 1]; labels (N,) int64 into class_names; kind (N,)
    int8 into sprites.KINDS; crosswalk (N,) bool; lighting (N,) int8 into LIGHTING's names;
    range_m (N,)."""

    name: str
    variant: str
    images: np.ndarray
    labels: np.ndarray
    kind: np.ndarray
    crosswalk: np.ndarray
    lighting: np.ndarray
    range_m: np.ndarray
    test: np.ndarray
    class_names: tuple[str, ...]
    seed: int
    split_seed: int

    @property
    def x_train(self) -> np.ndarray:
        return self.images[~self.test]

    @property
    def y_train(self) -> np.ndarray:
        return self.labels[~self.test]

    @property
    def x_test(self) -> np.ndarray:
        return self.images[self.test]

    @property
    def y_test(self) -> np.ndarray:
        return self.labels[self.test]

    @property
    def description(self) -> str:
        c, h, w = self.images.shape[1:]
        what = {
            "blind-spot": "pedestrians only on crossings, none walking a bicycle",
            "fixed": "with jaywalkers and pedestrians walking bicycles",
        }[self.variant]
        return f"rendered road-user crops, {w}x{h} {'grey' if c == 1 else 'colour'}: {what}"

    def composition(self, split: str = "train") -> dict[str, int]:
        """How many crops of each kind, on a crossing or not: 'pedestrian/crossing': n."""
        mask = ~self.test if split == "train" else self.test
        out: dict[str, int] = {}
        for k, name in enumerate(sprites.KINDS):
            for cross, where in ((True, "crossing"), (False, "no crossing")):
                n = int(np.sum(mask & (self.kind == k) & (self.crosswalk == cross)))
                if n:
                    out[f"{name}/{where}"] = n
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "variant": self.variant,
            "description": self.description,
            "class_names": list(self.class_names),
            "input_shape": list(self.images.shape[1:]),
            "n_train": int(np.sum(~self.test)),
            "n_test": int(np.sum(self.test)),
            "seed": self.seed,
            "split_seed": self.split_seed,
            "composition": {"train": self.composition("train"), "test": self.composition("test")},
        }


def save_npz(cs: CropSet, path: str | os.PathLike) -> Path:
    """Write the set as an .npz file that fragility reads as dataset ``npz`` (float32 NCHW in
    [0, 1], int64 labels, class names; no pickles), atomically: a temporary file, then a
    rename. `fragility train --dataset npz --data-dir FILE` then trains on it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                x_train=cs.x_train,
                y_train=cs.y_train,
                x_test=cs.x_test,
                y_test=cs.y_test,
                class_names=np.array(cs.class_names, dtype=str),
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def npz_name(cs: CropSet) -> str:
    """A file name that says what the set is: variant, sizes, shape and seeds (the name the
    data catalog gives a rendered set)."""
    from fragility.data import catalog  # torch comes with fragility.data: only when needed

    c, _, size = cs.images.shape[1:]
    return catalog.rendered_file_name(
        dataset_name(cs.variant),
        n_train=int(np.sum(~cs.test)),
        n_test=int(np.sum(cs.test)),
        size=size,
        channels=c,
        seed=cs.seed,
        split_seed=cs.split_seed,
    )


def dataset_name(variant: str) -> str:
    """The data catalog's name of a training set: tempe-crops (blind-spot), tempe-crops-fixed."""
    return "tempe-crops" if variant == "blind-spot" else f"tempe-crops-{variant}"


def write_dataset(
    name: str = "tempe-crops",
    folder: str | os.PathLike | None = None,
    *,
    size: int | None = None,
    channels: int | None = None,
    split_seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
) -> Path:
    """Render the dataset `name` (tempe-crops: the blind-spot set; tempe-crops-fixed) and keep
    it where `fragility.data` reads it (`catalog.rendered_path`), unless it is there already;
    returns the file. Other sizes of set (n_train, n_test) go beside the catalog's, under their
    own names, and load with the file as the source's folder."""
    from fragility.data import catalog

    n_train = catalog.RENDERED_TRAIN if n_train is None else n_train
    n_test = catalog.RENDERED_TEST if n_test is None else n_test
    if name not in catalog.RENDERED_VARIANTS:
        raise ConfigError(
            f"unknown rendered dataset {name!r}; choose {' or '.join(catalog.RENDERED_VARIANTS)}"
        )
    path = catalog.rendered_path(name, folder, size=size, channels=channels, split_seed=split_seed)
    if (n_train, n_test) != (catalog.RENDERED_TRAIN, catalog.RENDERED_TEST):
        path = path.with_name(
            catalog.rendered_file_name(
                name,
                n_train=n_train,
                n_test=n_test,
                size=size or catalog.RENDERED_SIZE,
                channels=channels or 1,
                split_seed=split_seed,
            )
        )
    if not path.is_file():
        cs = training_set(
            catalog.RENDERED_VARIANTS[name],
            n_train=n_train,
            n_test=n_test,
            size=size or catalog.RENDERED_SIZE,
            channels=channels or 1,
            seed=catalog.RENDERED_SEED,
            split_seed=split_seed,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        save_npz(cs, path)
    return path


def draw_views(
    objects: sprites.Objects, crosswalk: np.ndarray, rng: np.random.Generator
) -> tuple[Views, np.ndarray]:
    """Views for training crops, and each crop's lighting (index into LIGHTING's names).

    Range log-uniform in RANGE_M; bearing within 20 degrees; light by LIGHTING_SHARE; speed
    across the line of sight from the kind's typical speed (x 0.5-1.5) less the observing
    car's (0-20 m/s) times sin(bearing); OCCLUDED_SHARE of crops a tenth to 45 % hidden."""
    n = len(objects)
    names = list(LIGHTING)
    light = rng.choice(len(names), n, p=[LIGHTING_SHARE[k] for k in names]).astype(np.int8)
    ambient = np.array([LIGHTING[k][0] for k in names])[light]
    lamps = np.array([LIGHTING[k][1] for k in names])[light]
    range_m = np.exp(rng.uniform(np.log(RANGE_M[0]), np.log(RANGE_M[1]), n))
    bearing = rng.uniform(-1, 1, n) * np.radians(20)
    typical = np.array(
        [
            _SPEED.get((sprites.KINDS[k], v), 0.3)
            for k, v in zip(objects.kind, objects.variant, strict=True)
        ]
    )
    v_perp = typical * rng.uniform(0.5, 1.5, n) - rng.uniform(0, 20, n) * np.sin(bearing)
    occluded = rng.random(n) < OCCLUDED_SHARE
    views = Views.of(
        n,
        range_m=range_m,
        bearing_rad=bearing,
        v_perp_mps=v_perp,
        ambient_lux=ambient,
        headlights=lamps,
        crosswalk=crosswalk,
        occlusion=np.where(occluded, rng.uniform(0.1, 0.45, n), 0.0),
        occlusion_side=rng.integers(1, 4, n),
    )
    return views, light


def _pedestrian_kinds(variant: str, n: int, rng: np.random.Generator):
    """(kinds, on a crossing) for n crops of the pedestrian class."""
    if variant == "blind-spot":
        return np.zeros(n, dtype=np.int8), np.ones(n, dtype=bool)
    walking_bike = rng.random(n) < 1 / 3
    return walking_bike.astype(np.int8), rng.random(n) < 0.5


def training_set(
    variant: str = "blind-spot",
    *,
    n_train: int = 12_000,
    n_test: int = 3_000,
    size: int = 32,
    channels: int = 1,
    seed: int = 2018,
    split_seed: int = 0,
) -> CropSet:
    """The `variant` training set (see the module docstring), rendered.

    `seed` fixes the crops (the same for both variants outside the pedestrian class);
    `split_seed` fixes which crops are the test split (stratified: n_test / 4 per class)."""
    if variant not in SET_VARIANTS:
        raise ConfigError(f"unknown training set {variant!r}; choose {' or '.join(SET_VARIANTS)}")
    k = len(CLASSES)
    if n_train < k or n_test < k or (n_train + n_test) % k:
        raise ConfigError(
            f"n_train and n_test must each be at least {k} and sum to a multiple of {k}"
        )
    shared, own = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    labels = np.repeat(np.arange(k), (n_train + n_test) // k)
    labels = shared.permutation(labels)
    ped = CLASSES.index("pedestrian")
    parts = [_render_class(labels != ped, labels, shared, None, size, channels)]
    parts.append(_render_class(labels == ped, labels, own, variant, size, channels))
    images = np.empty((len(labels), channels, size, size), dtype=np.float32)
    kind = np.empty(len(labels), dtype=np.int8)
    cross = np.empty(len(labels), dtype=bool)
    light = np.empty(len(labels), dtype=np.int8)
    range_m = np.empty(len(labels))
    for mask, (x, kd, cw, lt, rg) in parts:
        images[mask], kind[mask], cross[mask], light[mask], range_m[mask] = x, kd, cw, lt, rg
    return CropSet(
        name="tempe-crops",
        variant=variant,
        images=images,
        labels=labels.astype(np.int64),
        kind=kind,
        crosswalk=cross,
        lighting=light,
        range_m=range_m,
        test=_test_split(labels, n_test, split_seed),
        class_names=CLASSES,
        seed=seed,
        split_seed=split_seed,
    )


def _render_class(mask, labels, rng, variant, size, channels):
    """Render the crops where `mask` holds: the non-pedestrian classes (variant None) or the
    pedestrian class of `variant`."""
    n = int(mask.sum())
    if variant is None:
        kind_of = {CLASSES.index(KIND_LABEL[k]): sprites.KINDS.index(k) for k in _ONE_KIND}
        kinds = np.array([kind_of[c] for c in labels[mask]], dtype=np.int8)
        cross = rng.random(n) < CROSSWALK_SHARE_OTHERS
    else:
        kinds, cross = _pedestrian_kinds(variant, n, rng)
    objects = sprites.draw_objects(kinds, rng)
    views, light = draw_views(objects, cross, rng)
    x = render.render(objects, views, rng, size=size, channels=channels, box_jitter=BOX_JITTER)
    return mask, (x, kinds, cross, light, views.range_m)


def _test_split(labels: np.ndarray, n_test: int, split_seed: int) -> np.ndarray:
    """A stratified test mask: n_test / K crops of each class, chosen by split_seed."""
    rng = np.random.default_rng(split_seed)
    test = np.zeros(len(labels), dtype=bool)
    per_class = n_test // len(CLASSES)
    for c in range(len(CLASSES)):
        idx = np.flatnonzero(labels == c)
        test[rng.choice(idx, per_class, replace=False)] = True
    return test


# ---------------------------------------------------------------------------------------------
# The Tempe encounter


def tempe_object() -> sprites.Objects:
    """Her and her bicycle: dark clothing and no side reflectors (Q); her height (1.65 m), the
    bicycle's colour and her standing behind it as seen from the SUV are assumptions (U)."""
    dark = np.full(3, 0.05, dtype=np.float32)
    return sprites.Objects(
        kind=np.array([sprites.KINDS.index("walking-bicycle")], dtype=np.int8),
        variant=np.array([0], dtype=np.int8),
        facing=np.array([1.0], dtype=np.float32),  # walking east: left to right in the image
        size_m=np.array([1.65], dtype=np.float32),
        length_m=np.zeros(1, dtype=np.float32),
        phase=np.zeros(1, dtype=np.float32),
        cadence_hz=np.array([0.9], dtype=np.float32),
        colour=np.stack([dark, dark, np.full(3, 0.12), np.array([0.25, 0.05, 0.05])])[None].astype(
            np.float32
        ),
        reflector=np.array([False]),
        shape=np.full((1, 4), 0.5, dtype=np.float32),
    )


def tempe_views(spec: ScenarioSpec, times_s: np.ndarray, lighting: str = "night-unlit") -> Views:
    """What the SUV's camera saw of her at clock times `times_s` (s; 0 = impact), as the
    record's speed profile drove it: the camera CAMERA_BEHIND_FRONT_M behind the front,
    in the middle of the right through lane; she at x = 0 walking right at her speed."""
    times_s = np.asarray(times_s, dtype=np.float64)
    start = spec.world.start_s
    front0 = world.suv_start_front(spec)
    scale = world.profile_scale(spec)
    travelled = np.array([scale * world.profile_distance(spec, start, t) for t in times_s])
    speed = np.array([world.cruise_speed(spec, t, scale) for t in times_s])
    cam_x = front0 + travelled - CAMERA_BEHIND_FRONT_M
    cam_y = 0.5 * spec.world.lane_width_m
    ped = spec.pedestrian
    obj_y = world.pedestrian_y(spec, times_s)
    r, bearing, v_perp = render.relative_view(
        cam_x, cam_y, speed, 0.0, 0.0, obj_y, 0.0, -ped.speed_mps
    )
    return Views.of(
        len(times_s), lighting, range_m=r, bearing_rad=bearing, v_perp_mps=v_perp, time_s=times_s
    )


def tempe_times(first_s: float = -5.6, last_s: float = -0.3, period_s: float = 0.1):
    """Frame times from the first detection (5.6 s before impact) every period_s."""
    n = round((last_s - first_s) / period_s) + 1
    return first_s + period_s * np.arange(n)


@dataclass(frozen=True, eq=False)
class TempeCrops:
    """The encounter rendered `runs` times: crops (runs, frames, C, H, W) at times_s."""

    crops: np.ndarray
    times_s: np.ndarray
    range_m: np.ndarray
    seed: int


def tempe_crops(
    spec: ScenarioSpec,
    *,
    runs: int = 20,
    seed: int = 0,
    size: int = 32,
    channels: int = 1,
    times_s: np.ndarray | None = None,
    lighting: str = "night-unlit",
) -> TempeCrops:
    """Her crops frame by frame, `runs` times with fresh sensor noise, background and box
    error (the same box error as the training sets)."""
    times = tempe_times() if times_s is None else np.asarray(times_s, dtype=np.float64)
    views = tempe_views(spec, times, lighting)
    rng = np.random.default_rng(seed)
    crops = render.render_sequence(
        tempe_object(),
        views,
        rng,
        runs=runs,
        size=size,
        channels=channels,
        box_jitter=BOX_JITTER,
    )
    return TempeCrops(crops, times, views.range_m, seed)


# ---------------------------------------------------------------------------------------------
# What a classifier made of it


@dataclass(frozen=True)
class FlickerStats:
    """A classifier's outputs on sequences of one object whose true class is `truth`.

    top_share: share of frames with each top class; changes_per_run: mean number of frames
    whose top class differs from the previous frame's; change_rate_hz: that per second;
    confident_wrong: share of frames wrong with top probability >= `confident`;
    mean_probability: mean probability of each class; truth_by_range: share of frames
    classed `truth` per range band (m)."""

    truth: str
    runs: int
    frames: int
    top_share: dict[str, float]
    changes_per_run: float
    change_rate_hz: float
    confident_wrong: float
    confident: float
    mean_probability: dict[str, float]
    truth_by_range: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


RANGE_BANDS = ((60.0, np.inf), (30.0, 60.0), (0.0, 30.0))


def flicker_stats(
    probs: np.ndarray,
    range_m: np.ndarray,
    period_s: float,
    *,
    truth: str = "pedestrian",
    class_names: tuple[str, ...] = CLASSES,
    confident: float = 0.9,
) -> FlickerStats:
    """Statistics of class probabilities `probs` (runs, frames, K) over frames at `range_m`."""
    if probs.ndim != 3 or probs.shape[2] != len(class_names):
        raise ConfigError(f"probabilities must be (runs, frames, {len(class_names)})")
    runs, frames, _ = probs.shape
    top = probs.argmax(axis=2)
    t = class_names.index(truth)
    changes = np.sum(top[:, 1:] != top[:, :-1], axis=1)
    wrong = (top != t) & (probs.max(axis=2) >= confident)
    by_range = {}
    for lo, hi in RANGE_BANDS:
        band = (range_m >= lo) & (range_m < hi)
        if band.any():
            label = f"{lo:.0f}+ m" if np.isinf(hi) else f"{lo:.0f}-{hi:.0f} m"
            by_range[label] = float(np.mean(top[:, band] == t))
    return FlickerStats(
        truth=truth,
        runs=runs,
        frames=frames,
        top_share={c: float(np.mean(top == i)) for i, c in enumerate(class_names)},
        changes_per_run=float(changes.mean()),
        change_rate_hz=float(changes.mean() / (period_s * max(frames - 1, 1))),
        confident_wrong=float(wrong.mean()),
        confident=confident,
        mean_probability={c: float(probs[:, :, i].mean()) for i, c in enumerate(class_names)},
        truth_by_range=by_range,
    )
