"""The lecture's networks trained on rendered crops, and what they make of the Tempe encounter.

`blind_spot` trains a model (fragility's MLP or CNN, through `fragility.train.train`) on a
training set of `scenarios.crops` and shows it the encounter's crops, run after run with
fresh sensor noise: its top class per frame, how often that class changes, how often it is
confidently wrong. Trained on the blind-spot set, a network that learned "pedestrians stand on
stripes" has no class for her; trained on the fixed set, it has.

torch is imported inside the functions, so `scenarios` stays importable without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scenarios import crops
from scenarios.crops import CropSet, FlickerStats, TempeCrops

if TYPE_CHECKING:
    from fragility.data import DataBundle
    from fragility.train import Trained


def to_bundle(cs: CropSet, data_dir: str | os.PathLike) -> DataBundle:
    """The crop set as a fragility DataBundle, through an .npz file in `data_dir` (written
    once; the same set always has the same name), so that the bundle's source, which every
    checkpoint records, reloads the same images while the file is kept."""
    import dataclasses as dc

    from fragility import data

    path = Path(data_dir) / crops.npz_name(cs)
    if not path.is_file():
        crops.save_npz(cs, path)
    bundle = data.load(data.DataSource("npz", folder=str(path)))
    return dc.replace(bundle, description=f"{cs.description}; {path.name}")


def train_on(
    cs: CropSet,
    kind: str = "cnn",
    *,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    epochs: int | None = None,
    cache: bool = False,
    progress: bool = False,
) -> Trained:
    """Train fragility's default `kind` ('mlp' or 'cnn') on the crop set, with the toolkit's
    default settings for a set of that size. The set goes through an .npz file in `data_dir`
    (None: a temporary folder, removed afterwards; keep one to reload a checkpoint's data)."""
    from fragility import models, train

    with _folder(data_dir) as folder:
        bundle = to_bundle(cs, folder)
        spec = models.default_spec(kind, bundle.input_shape, bundle.num_classes)
        config = train.default_config(spec, bundle, seed=seed, epochs=epochs)
        return train.train(spec, bundle, config, cache=cache, progress=progress)


@contextlib.contextmanager
def _folder(data_dir: str | os.PathLike | None) -> Iterator[Path]:
    if data_dir is not None:
        yield Path(data_dir)
        return
    with tempfile.TemporaryDirectory(prefix="tempe-crops-") as tmp:
        yield Path(tmp)


def probabilities(model, images: np.ndarray) -> np.ndarray:
    """Softmax probabilities (..., K) of `model` on crops (..., C, H, W)."""
    import torch

    from fragility.train import predict

    lead = images.shape[:-3]
    x = torch.from_numpy(np.ascontiguousarray(images.reshape(-1, *images.shape[-3:])))
    probs = torch.softmax(predict(model, x), dim=1).numpy()
    return probs.reshape(*lead, probs.shape[1])


@dataclass(frozen=True)
class Probe:
    """One trained model: its test accuracy on its own set, per class, the confusion matrix
    (true class in rows), and its flicker statistics on the Tempe crops."""

    training_set: str
    model: str
    train_seconds: float
    test_accuracy: float
    class_accuracy: dict[str, float]
    confusion: list[list[int]]
    tempe: FlickerStats

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["tempe"] = self.tempe.to_dict()
        return d


def probe(trained: Trained, cs: CropSet, tempe: TempeCrops, period_s: float) -> Probe:
    """Measure a model trained on `cs` on its test split and on the Tempe crops."""
    test = probabilities(trained.model, cs.x_test)
    k = len(cs.class_names)
    pred = test.argmax(axis=1)
    confusion = np.bincount(cs.y_test * k + pred, minlength=k * k).reshape(k, k)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return Probe(
        training_set=cs.variant,
        model=trained.spec.name,
        train_seconds=float(trained.result.seconds),
        test_accuracy=float(np.mean(pred == cs.y_test)),
        class_accuracy={c: float(a) for c, a in zip(cs.class_names, per_class, strict=True)},
        confusion=confusion.tolist(),
        tempe=crops.flicker_stats(
            probabilities(trained.model, tempe.crops),
            tempe.range_m,
            period_s,
            class_names=cs.class_names,
        ),
    )


def blind_spot(
    spec,
    *,
    models: tuple[str, ...] = ("mlp", "cnn"),
    variants: tuple[str, ...] = crops.SET_VARIANTS,
    n_train: int = 12_000,
    n_test: int = 3_000,
    size: int = 32,
    runs: int = 50,
    seed: int = 2018,
    split_seed: int = 0,
    train_seed: int = 0,
    epochs: dict[str, int] | None = None,
    data_dir: str | os.PathLike | None = None,
    cache: bool = False,
    progress: bool = False,
) -> list[Probe]:
    """Every model trained on every training set, each probed on the same Tempe crops.

    `epochs` maps a model kind to its epochs; a kind not named gets fragility's default. The
    sets go through .npz files in `data_dir` (None: a temporary folder)."""
    times = crops.tempe_times()
    tempe = crops.tempe_crops(spec, runs=runs, seed=seed, size=size, times_s=times)
    period = float(times[1] - times[0])
    out = []
    with _folder(data_dir) as folder:
        for variant in variants:
            cs = crops.training_set(
                variant,
                n_train=n_train,
                n_test=n_test,
                size=size,
                seed=seed,
                split_seed=split_seed,
            )
            for kind in models:
                trained = train_on(
                    cs,
                    kind,
                    data_dir=folder,
                    seed=train_seed,
                    epochs=(epochs or {}).get(kind),
                    cache=cache,
                    progress=progress,
                )
                out.append(probe(trained, cs, tempe, period))
    return out
