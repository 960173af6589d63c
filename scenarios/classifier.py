"""The lecture's networks trained on rendered crops, and what they make of the Tempe encounter.

`blind_spot` trains a model (fragility's MLP or CNN, through `fragility.train.train`) on a
training set of `scenarios.crops` and shows it the encounter's crops, run after run with
fresh sensor noise: its top class per frame, how often that class changes, how often it is
confidently wrong. Trained on the blind-spot set, a network that learned "pedestrians stand on
stripes" has no class for her; trained on the fixed set, it has.

torch is imported inside the functions, so `scenarios` stays importable without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scenarios import crops
from scenarios.crops import CropSet, FlickerStats, TempeCrops

if TYPE_CHECKING:
    from fragility.data import DataBundle
    from fragility.train import Trained


def to_bundle(cs: CropSet) -> DataBundle:
    """The crop set as a fragility DataBundle (tensors, class names, content hash)."""
    import torch

    from fragility.data import DataBundle, content_hash

    x_train, y_train = torch.from_numpy(cs.x_train.copy()), torch.from_numpy(cs.y_train.copy())
    x_test, y_test = torch.from_numpy(cs.x_test.copy()), torch.from_numpy(cs.y_test.copy())
    return DataBundle(
        name=f"{cs.name}:{cs.variant}",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=tuple(cs.class_names),
        description=cs.description,
        source=f"rendered by scenarios.render (seed {cs.seed}, split seed {cs.split_seed})",
        hash=content_hash(x_train, y_train, x_test, y_test),
    )


def train_on(
    cs: CropSet,
    kind: str = "cnn",
    *,
    seed: int = 0,
    epochs: int | None = None,
    cache: bool = False,
    progress: bool = False,
) -> Trained:
    """Train fragility's default `kind` ('mlp' or 'cnn') on the crop set, with the toolkit's
    default settings for a set of that size."""
    from fragility import models, train

    bundle = to_bundle(cs)
    spec = models.default_spec(kind, bundle.input_shape, bundle.num_classes)
    config = train.default_config(spec, bundle, seed=seed, epochs=epochs)
    return train.train(spec, bundle, config, cache=cache, progress=progress)


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
    cache: bool = False,
    progress: bool = False,
) -> list[Probe]:
    """Every model trained on every training set, each probed on the same Tempe crops.

    `epochs` maps a model kind to its epochs; a kind not named gets fragility's default."""
    times = crops.tempe_times()
    tempe = crops.tempe_crops(spec, runs=runs, seed=seed, size=size, times_s=times)
    period = float(times[1] - times[0])
    out = []
    for variant in variants:
        cs = crops.training_set(
            variant, n_train=n_train, n_test=n_test, size=size, seed=seed, split_seed=split_seed
        )
        for kind in models:
            trained = train_on(
                cs,
                kind,
                seed=train_seed,
                epochs=(epochs or {}).get(kind),
                cache=cache,
                progress=progress,
            )
            out.append(probe(trained, cs, tempe, period))
    return out
