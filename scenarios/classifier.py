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


# ---------------------------------------------------------------------------------------------
# The network in the perception loop


@dataclass(frozen=True, eq=False)
class Network:
    """A trained classifier as the perception loop uses it, with its out-of-distribution
    detector calibrated on the training set's own test split.

    `classify(crops)` gives the softmax probabilities over `class_names` and, per crop,
    whether the detector flags it: max-softmax (Hendrycks & Gimpel 2017) flags a top
    probability below `threshold`; the autoencoder flags a reconstruction error
    mean((A(x) - x)^2) above it. The threshold is the quantile of the test split's scores that
    flags `false_alarm` of those in-distribution crops."""

    model: Any  # torch.nn.Module, logits over class_names
    name: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    detector: str  # one of spec.OOD_DETECTORS
    threshold: float
    false_alarm: float
    autoencoder: Any | None
    test_accuracy: float
    origin: str  # where it came from: the model cache folder or the checkpoint

    def classify(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (m, K), flagged (m,) bool) for crops (m, C, H, W)."""
        probs = probabilities(self.model, crops)
        if self.detector == "max-softmax":
            return probs, probs.max(axis=1) < self.threshold
        if self.detector == "autoencoder":
            return probs, _recon_error(self.autoencoder, crops) > self.threshold
        return probs, np.zeros(len(crops), dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
            "ood_detector": self.detector,
            "ood_threshold": None if self.detector == "none" else self.threshold,
            "ood_false_alarm_on_test": None if self.detector == "none" else self.false_alarm,
            "test_accuracy": self.test_accuracy,
            "origin": self.origin,
        }


def _recon_error(autoencoder, crops: np.ndarray) -> np.ndarray:
    import torch

    from fragility.garbage.detect import reconstruction_error

    return reconstruction_error(autoencoder, torch.from_numpy(np.ascontiguousarray(crops)))


def training_bundle(variant: str, train_crops: int, size: int, channels: int) -> DataBundle:
    """The training set of the classifier in the loop as a fragility DataBundle: the data
    catalog's `tempe-crops` (or `tempe-crops-fixed`), rendered into the data folder on first
    use, so the network here is the one `fragility train --dataset tempe-crops` trains (the
    same tensors, hence the same model cache entry). Another number of crops renders a set of
    that size beside it, loaded through the same reader."""
    from fragility import data
    from fragility.data import catalog

    name = crops.dataset_name(variant)
    path = crops.write_dataset(
        name,
        size=size,
        channels=channels,
        n_train=train_crops,
        n_test=train_crops // 4,
    )
    default_size = train_crops == catalog.RENDERED_TRAIN
    source = data.DataSource(
        name,
        folder=None if default_size else str(path),
        size=None if size == catalog.RENDERED_SIZE else size,
        channels=None if channels == 1 else channels,
    )
    return data.load(source)


_NETWORKS: dict = {}  # ClassifierSpec -> Network, so a process trains or loads each once


def network(c, *, progress: bool = False) -> Network:
    """The network a scenario's [perception.classifier] table names (a ClassifierSpec):
    trained by fragility on its training set (from the model cache when trained before), or
    read from a `fragility train` checkpoint; with its detector calibrated."""
    if c not in _NETWORKS:
        _NETWORKS[c] = _build_network(c, progress)
    return _NETWORKS[c]


def _build_network(c, progress: bool) -> Network:
    from fragility import models, train
    from scenarios.spec import CLASSIFIER_KINDS, NETWORK_CLASSES, ScenarioError

    shape = (c.channels, c.crop_size, c.crop_size)
    if c.model in CLASSIFIER_KINDS:
        bundle = training_bundle(c.training_set, c.train_crops, c.crop_size, c.channels)
        spec = models.default_spec(c.model, bundle.input_shape, bundle.num_classes)
        config = train.default_config(spec, bundle, seed=c.train_seed, epochs=c.epochs or None)
        trained = train.train(spec, bundle, config, cache=True, progress=progress)
        model, name, origin = trained.model, spec.name, str(trained.path or "trained here")
    else:
        ck = train.load(c.model)
        got = tuple(ck.dataset.get("class_names", ()))
        if got != NETWORK_CLASSES or tuple(ck.spec.input_shape) != shape:
            raise ScenarioError(
                f"perception.classifier.model: {c.model} classifies {got or 'unknown classes'} "
                f"at {tuple(ck.spec.input_shape)}, not {', '.join(NETWORK_CLASSES)} at {shape}; "
                "train it with `fragility train --dataset tempe-crops` (or set crop_size, "
                "channels to match)"
            )
        bundle = _checkpoint_data(ck)
        model, name, origin = ck.model, ck.spec.name, str(ck.path)
    test = probabilities(model, bundle.x_test.numpy())
    accuracy = float(np.mean(test.argmax(axis=1) == bundle.y_test.numpy()))
    autoencoder, threshold = None, float("nan")
    if c.ood == "max-softmax":
        threshold = float(np.quantile(test.max(axis=1), c.ood_false_alarm))
    elif c.ood == "autoencoder":
        spec = models.default_spec("autoencoder", bundle.input_shape, bundle.num_classes)
        config = train.default_config(spec, bundle, seed=c.train_seed)
        autoencoder = train.train(spec, bundle, config, cache=True, progress=progress).model
        errors = _recon_error(autoencoder, bundle.x_test.numpy())
        threshold = float(np.quantile(errors, 1.0 - c.ood_false_alarm))
    return Network(
        model=model,
        name=f"{name} on {bundle.name}",
        class_names=NETWORK_CLASSES,
        input_shape=shape,
        detector=c.ood,
        threshold=threshold,
        false_alarm=c.ood_false_alarm,
        autoencoder=autoencoder,
        test_accuracy=accuracy,
        origin=origin,
    )


def _checkpoint_data(ck) -> DataBundle:
    """The data a checkpoint was trained on (rendered first where it is a rendered set)."""
    from fragility import data
    from fragility.data import catalog

    source = ck.data_source
    if catalog.dataset_info(source.name).loader == catalog.RENDERED:
        path = catalog.rendered_path(
            source.name,
            source.folder,
            size=source.size,
            channels=source.channels,
            split_seed=source.split_seed,
        )
        if not path.is_file() and source.folder is None:
            crops.write_dataset(
                source.name,
                size=source.size,
                channels=source.channels,
                split_seed=source.split_seed,
            )
    return data.load(source)
