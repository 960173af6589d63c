"""Fit and evaluate; checkpoints (safetensors + spec.json + metrics.json); the model cache.

Training is seeded end to end: the initial weights (`models.build(spec, seed)`), the batch
order (an explicit `torch.Generator`) and dropout (a forked global generator) all come from
`TrainConfig.seed`, so the same seed gives bitwise-identical weights on the CPU. Checkpoints
are never unpickled: weights are safetensors, the architecture is JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import fragility
from fragility import threads
from fragility._io import atomic_dir, to_json
from fragility._progress import progress_bar
from fragility.contract import model_device, predict
from fragility.data import DataBundle, DataSource
from fragility.errors import CheckpointError, ConfigError, FragilityError, FragilityWarning
from fragility.models import ModelSpec, build, is_classifier, parameter_counts, state_shapes

OPTIMIZERS = ("adam", "sgd")
CACHE_VERSION = 1  # bump when training code changes what a given config produces


@dataclass(frozen=True)
class TrainConfig:
    """How to train. `lr` is the optimiser's step size; `momentum` applies to SGD only."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-2
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, not {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, not {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be a positive number, not {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"unknown optimizer {self.optimizer!r}; choose {' or '.join(OPTIMIZERS)}"
            )
        if self.weight_decay < 0:
            raise ConfigError(f"weight decay must be non-negative, not {self.weight_decay}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_config(
    spec: ModelSpec, data: DataBundle, *, seed: int = 0, epochs: int | None = None
) -> TrainConfig:
    """Settings that reach the targets in bench/RESULTS.md on 2 CPU cores.

    Small data (digits) gets more epochs of small batches; the 60,000-image sets get a few
    epochs of larger ones.
    """
    small = data.x_train.shape[0] < 10_000
    if spec.kind == "mlp":
        cfg = (
            TrainConfig(epochs=40, batch_size=32, lr=1e-2)
            if small
            else TrainConfig(epochs=8, batch_size=64, lr=5e-3)
        )
    elif spec.kind == "cnn":
        cfg = (
            TrainConfig(epochs=30, batch_size=32, lr=2e-3)
            if small
            else TrainConfig(epochs=6, batch_size=64, lr=2e-3)
        )
    else:
        cfg = (
            TrainConfig(epochs=40, batch_size=32, lr=3e-3)
            if small
            else TrainConfig(epochs=5, batch_size=128, lr=2e-3)
        )
    return dataclasses.replace(cfg, seed=seed, epochs=epochs or cfg.epochs)


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float
    test_loss: float
    train_accuracy: float | None  # None for the autoencoder
    test_accuracy: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainResult:
    """Per-epoch history and the final test numbers. Loss is cross-entropy for classifiers and
    mean squared error per pixel for the autoencoder."""

    kind: str
    history: tuple[EpochStats, ...]
    seconds: float

    @property
    def test_accuracy(self) -> float | None:
        return self.history[-1].test_accuracy

    @property
    def test_loss(self) -> float:
        return self.history[-1].test_loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seconds": self.seconds,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "history": [e.to_dict() for e in self.history],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainResult:
        return cls(
            kind=d["kind"],
            history=tuple(EpochStats(**e) for e in d["history"]),
            seconds=float(d["seconds"]),
        )


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    loss: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when present, else the CPU; 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was asked for but no CUDA GPU is available; use --device cpu"
        )
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 1024
) -> Evaluation:
    """Accuracy and mean cross-entropy of a classifier; for an autoencoder (y None), the mean
    squared reconstruction error as loss and accuracy NaN."""
    out = predict(model, x, batch_size)
    if y is None:
        return Evaluation(accuracy=float("nan"), loss=float(F.mse_loss(out, x)), n=len(x))
    loss = float(F.cross_entropy(out, y))
    acc = float((out.argmax(1) == y).float().mean()) if len(y) else float("nan")
    return Evaluation(accuracy=acc, loss=loss, n=len(x))


def fit(
    model: nn.Module,
    data: DataBundle,
    config: TrainConfig,
    *,
    autoencoder: bool = False,
    progress: bool = False,
) -> TrainResult:
    """Train `model` in place on `data.x_train` and report each epoch on the test set.

    Classifiers minimise cross-entropy on logits; an autoencoder (autoencoder=True) the mean
    squared reconstruction error. Same seed, same weights.
    """
    dev = model_device(model)
    x_all, y_all = data.x_train, data.y_train
    n = len(x_all)
    opt: torch.optim.Optimizer
    if config.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
    gen = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(n / config.batch_size)
    bar = progress_bar(config.epochs * steps_per_epoch, progress, unit="batch", desc="train")
    history: list[EpochStats] = []
    start = time.perf_counter()
    # Dropout draws from the global generator: fork it so training is seeded and the caller's
    # random state is left untouched.
    with (
        torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []),
        threads.for_work(0, fixed=threads.for_training()),
    ):
        torch.manual_seed(config.seed)
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=gen)
            loss_sum, correct = 0.0, 0
            for i in range(0, n, config.batch_size):
                idx = order[i : i + config.batch_size]
                xb = x_all[idx].to(dev, non_blocking=True)
                out = model(xb)
                if autoencoder:
                    loss = F.mse_loss(out, xb)
                else:
                    yb = y_all[idx].to(dev, non_blocking=True)
                    loss = F.cross_entropy(out, yb)
                    correct += int((out.argmax(1) == yb).sum())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += float(loss.detach()) * len(idx)
                if bar is not None:
                    bar.update(1)
            test = evaluate(model, data.x_test, None if autoencoder else data.y_test)
            history.append(
                EpochStats(
                    epoch=epoch,
                    train_loss=loss_sum / n,
                    test_loss=test.loss,
                    train_accuracy=None if autoencoder else correct / n,
                    test_accuracy=None if autoencoder else test.accuracy,
                    seconds=time.perf_counter() - t0,
                )
            )
            if bar is not None:
                shown = f"{test.loss:.4f}" if autoencoder else f"{100 * test.accuracy:.1f}%"
                bar.set_postfix(epoch=epoch, test=shown)
    if bar is not None:
        bar.close()
    model.eval()
    return TrainResult(
        kind="autoencoder" if autoencoder else "classifier",
        history=tuple(history),
        seconds=time.perf_counter() - start,
    )


# ---------------------------------------------------------------------------------------------
# Checkpoints

WEIGHTS, SPEC, METRICS = "model.safetensors", "spec.json", "metrics.json"


@dataclass(frozen=True, eq=False)
class Checkpoint:
    model: nn.Module
    spec: ModelSpec
    metrics: dict[str, Any]
    path: Path

    @property
    def dataset(self) -> dict[str, Any]:
        """What the model was trained on (name, source, hash, ...), as written by `save`."""
        return self.metrics.get("dataset", {})

    @property
    def data_source(self) -> DataSource:
        """The DataSource of the data the model was trained on, to reload it with
        `fragility.data.load`. Checkpoints written before sources were recorded hold the
        dataset's name, side and folder, and split the digits by the training seed: those are
        read as such."""
        if not self.dataset.get("name"):
            raise CheckpointError(
                f"{self.path / METRICS} does not say which dataset the model was trained on; "
                f"retrain it with: fragility train --out {self.path}"
            )
        seed = self.metrics.get("train_config", {}).get("seed", 0)
        try:
            return DataSource.from_record(self.dataset, legacy_split_seed=int(seed))
        except (FragilityError, TypeError, ValueError, AttributeError) as exc:
            why = exc if isinstance(exc, FragilityError) else "its dataset record is malformed"
            raise CheckpointError(f"{self.path / METRICS}: {why}; retrain the model") from None


def save(
    directory: str | os.PathLike, model: nn.Module, spec: ModelSpec, metrics: dict[str, Any]
) -> Path:
    """Write model.safetensors, spec.json and metrics.json into `directory`, atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_dir(directory) as tmp:
        save_file(tensors, str(tmp / WEIGHTS), metadata={"fragility": fragility.__version__})
        (tmp / SPEC).write_text(spec.to_json())
        (tmp / METRICS).write_text(to_json(metrics))
    return Path(directory)


def load(directory: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild a model from a checkpoint folder, checking every tensor's name and shape.

    Everything is checked before anything is built: the spec's types and bounds, then the
    weights file's header (names, shapes, byte ranges, read without the tensors) against the
    shapes the spec gives on torch's meta device, then metrics.json's types. A hostile spec
    (hidden = [1e9, 16]) is refused in milliseconds. The weights are parsed by safetensors,
    which reads a JSON header and raw bytes and can never run code: a pickle renamed
    model.safetensors is refused, not unpickled.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(directory)
    if not d.is_dir():
        raise CheckpointError(
            f"no checkpoint folder at {d}; train one with: fragility train --out {d}"
        )
    for name in (WEIGHTS, SPEC):
        if not (d / name).is_file():
            raise CheckpointError(f"{d / name} is missing; retrain with: fragility train --out {d}")
    try:
        spec = ModelSpec.from_json(_read_small(d / SPEC))
    except ConfigError as exc:
        raise CheckpointError(f"{d / SPEC}: {exc}; retrain or restore the file") from None
    _check_weights_header(d, spec)
    try:
        tensors = load_file(str(d / WEIGHTS))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{d / WEIGHTS} is not a valid safetensors file ({first}); "
            "fragility never unpickles checkpoints: retrain or restore the file"
        ) from None
    metrics = _read_metrics(d / METRICS)
    model = build(spec, seed=None)
    model.load_state_dict(tensors)
    model.to(device).eval()
    return Checkpoint(model=model, spec=spec, metrics=metrics, path=d)


_MAX_JSON_BYTES = 16 * 2**20  # spec.json and metrics.json: a few kB when fragility wrote them
_MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on its JSON header
_DTYPE_BYTES = {
    **{"F64": 8, "F32": 4, "F16": 2, "BF16": 2},
    **{"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1},
}


def _read_small(path: Path) -> str:
    """A JSON file's text, refused unread when it is far larger than fragility writes."""
    try:
        if path.stat().st_size > _MAX_JSON_BYTES:
            raise CheckpointError(
                f"{path} is {path.stat().st_size:,} bytes, far more than a checkpoint's; "
                "retrain or restore the file"
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read {path} ({exc}); retrain or restore the file") from None


def _weights_header(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors file's header, after checking that each
    tensor's byte range lies in the file and matches its shape and dtype. Reads the header
    only: 8 bytes of length, then that many bytes of JSON."""

    def bad(why: str) -> CheckpointError:
        return CheckpointError(
            f"{path} is not a valid safetensors file ({why}); "
            "fragility never unpickles checkpoints: retrain or restore the file"
        )

    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if size < 8 or n > min(_MAX_HEADER_BYTES, size - 8):
                raise bad("its header length is impossible")
            header = json.loads(fh.read(n))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(type(exc).__name__) from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    data_bytes = size - 8 - n
    shapes = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            ok = (
                dtype in _DTYPE_BYTES
                and isinstance(shape, list)
                and all(isinstance(v, int) and v >= 0 for v in shape)
                and isinstance(begin, int)
                and isinstance(end, int)
                and 0 <= begin <= end <= data_bytes
                and end - begin == math.prod(shape) * _DTYPE_BYTES[dtype]
            )
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise bad(f"the entry for {str(name)[:80]!r} is malformed")
        shapes[name] = tuple(shape)
    return shapes


def _check_weights_header(d: Path, spec: ModelSpec) -> None:
    """Refuse weights whose names or shapes differ from what `spec` builds."""
    expected = state_shapes(spec)
    found = _weights_header(d / WEIGHTS)
    if expected == found:
        return
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
    detail = "; ".join(
        part
        for part in (
            f"missing {', '.join(missing[:5])}" if missing else "",
            f"unexpected {', '.join(str(k)[:40] for k in extra[:5])}" if extra else "",
            ", ".join(f"{k} is {found[k]} not {expected[k]}" for k in wrong[:5]),
        )
        if part
    )
    raise CheckpointError(f"{d / WEIGHTS} does not match {d / SPEC} ({detail}); retrain the model")


def _read_metrics(path: Path) -> dict[str, Any]:
    """metrics.json as a dict, its fields that other code reads of the right types (absent is
    allowed: a checkpoint without it still loads)."""
    if not path.is_file():
        return {}
    try:
        metrics = json.loads(_read_small(path))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc.msg}); retrain the model") from None
    problem = _metrics_problem(metrics)
    if problem:
        raise CheckpointError(f"{path}: {problem}; retrain the model or restore the file")
    return metrics


def _metrics_problem(m: Any) -> str | None:
    if not isinstance(m, dict):
        return f"expected a JSON object, found {type(m).__name__}"
    for key in ("dataset", "train_config", "result", "parameters", "versions"):
        if key in m and not isinstance(m[key], dict):
            return f"{key} must be an object, not {type(m[key]).__name__}"
    data, config = m.get("dataset", {}), m.get("train_config", {})
    if "name" in data and not isinstance(data["name"], str):
        return "dataset.name must be a string"
    if "hash" in data and not isinstance(data["hash"], str):
        return "dataset.hash must be a string"
    size = data.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        return f"dataset.size must be a positive whole number, not {size!r}"[:120]
    seed = config.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        return f"train_config.seed must be a whole number from 0 to 2^32 - 1, not {seed!r}"[:120]
    return None


def checkpoint_metrics(
    spec: ModelSpec, data: DataBundle, config: TrainConfig, result: TrainResult, model: nn.Module
) -> dict[str, Any]:
    """The metrics.json a checkpoint carries: enough to reload its dataset and to report it."""
    return {
        "model": spec.name,
        "parameters": parameter_counts(model),
        "dataset": data.to_dict(),  # its "source" reloads the same images
        "train_config": config.to_dict(),
        "result": result.to_dict(),
        "versions": {"fragility": fragility.__version__, "torch": torch.__version__},
    }


# ---------------------------------------------------------------------------------------------
# The model cache


def cache_dir() -> Path:
    """$FRAGILITY_CACHE, else $XDG_CACHE_HOME/fragility (~/.cache/fragility)."""
    env = os.environ.get("FRAGILITY_CACHE")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "fragility"


def cache_key(spec: ModelSpec, data: DataBundle, config: TrainConfig) -> str:
    key = {
        "version": CACHE_VERSION,
        "torch": ".".join(torch.__version__.split(".")[:2]),
        "data": data.hash,
        "spec": spec.to_dict(),
        "config": config.to_dict(),
        "threads": threads.for_training(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True, eq=False)
class Trained:
    model: nn.Module
    spec: ModelSpec
    config: TrainConfig
    result: TrainResult
    metrics: dict[str, Any]
    from_cache: bool
    path: Path | None  # the cached checkpoint folder, when the cache is on


def train(
    spec: ModelSpec,
    data: DataBundle,
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    cache: bool = True,
    cache_root: str | os.PathLike | None = None,
    progress: bool = False,
) -> Trained:
    """Build and fit `spec` on `data`, or take the trained model from the cache.

    The cache key covers the dataset's content hash, the spec, the training config (seed
    included), the training thread count and the torch minor version. A corrupt cache entry is
    retrained and rewritten.
    """
    folder = (
        Path(cache_root or cache_dir()) / "models" / cache_key(spec, data, config)
        if cache
        else None
    )
    if folder is not None and folder.is_dir():
        try:
            ck = load(folder, device=device)
            if ck.spec != spec:
                raise CheckpointError(f"it holds {ck.spec.name}, not {spec.name}")
            result = TrainResult.from_dict(ck.metrics["result"])
            # Same tensors, same model; but record where the data is now (its folder, the
            # split seed that gave these tensors), not where the cached run found it.
            metrics = {**ck.metrics, "dataset": data.to_dict()}
            return Trained(ck.model, spec, config, result, metrics, True, folder)
        except (CheckpointError, KeyError, TypeError, ValueError, AttributeError) as exc:
            why = str(exc).split("; ")[0] if isinstance(exc, CheckpointError) else "bad metrics"
            warnings.warn(
                f"ignored the model cache entry {folder} ({why}); training again",
                FragilityWarning,
                stacklevel=2,
            )
    model = build(spec, seed=config.seed).to(device)
    result = fit(model, data, config, autoencoder=not is_classifier(spec), progress=progress)
    metrics = checkpoint_metrics(spec, data, config, result, model)
    if folder is not None:
        try:
            save(folder, model, spec, metrics)
        except (OSError, FragilityError):
            folder = None  # an unwritable cache must not cost the user the trained model
    return Trained(model, spec, config, result, metrics, False, folder)
