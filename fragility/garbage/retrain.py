"""Nguyen et al.'s retraining experiment: teach the model a "garbage" class, then fool it again.

Evolved fooling images join the training set as an extra class K (about as many as one real
class has, Nguyen et al. 2015, section 3.3), the network is trained from scratch with K + 1
outputs, and evolution runs again against the new network, scored on the K real classes
only. Nguyen et al. found the retrained networks just as easy to fool; this measures it here:
whether every real class is reached again and how many generations it takes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.contract import model_device, predict
from fragility.data import DataBundle, content_hash
from fragility.errors import ConfigError
from fragility.garbage.evolve import POPULATION, Encoding, EvolutionResult, evolve
from fragility.models import ModelSpec
from fragility.train import TrainConfig, Trained, default_config, train

GARBAGE = "garbage"


def collect_fooling_images(
    model: nn.Module,
    encoding: Encoding,
    shape: tuple[int, int, int],
    n: int,
    *,
    above: float = 0.99,
    generations: int = 200,
    population: int = POPULATION,
    seed: int = 0,
    max_runs: int = 20,
) -> torch.Tensor:
    """At least n (if found in max_runs runs) distinct evolved images that `model` labels with
    probability >= `above`: every such child of runs with seeds seed, seed + 1, ..."""
    found: list[torch.Tensor] = []
    total = 0
    for run in range(max_runs):
        result = evolve(
            model,
            encoding,
            shape,
            generations=generations,
            population=population,
            target=max(above, 0.5),
            seed=seed + run,
            collect_above=above,
            collect_max=n - total,
        )
        if result.collected is not None:
            found.append(result.collected)
            total += len(result.collected)
        if total >= n:
            break
    if not found:
        return torch.empty((0, *shape))
    return torch.cat(found)[:n]


def with_garbage_class(
    data: DataBundle, garbage: torch.Tensor, heldout: float = 0.2, seed: int = 0
) -> DataBundle:
    """`data` plus the images of `garbage` as class K ("garbage"); a `heldout` share of them
    goes to the test split."""
    if len(garbage) < 2:
        raise ConfigError(
            "the garbage class needs at least two images (one to train, one held out)"
        )
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(garbage), generator=gen)
    n_test = max(1, round(heldout * len(garbage)))
    g_test, g_train = garbage[order[:n_test]], garbage[order[n_test:]]
    k = data.num_classes
    xtr = torch.cat([data.x_train, g_train])
    ytr = torch.cat([data.y_train, torch.full((len(g_train),), k)])
    xte = torch.cat([data.x_test, g_test])
    yte = torch.cat([data.y_test, torch.full((len(g_test),), k)])
    return DataBundle(
        name=f"{data.name}+{GARBAGE}",
        x_train=xtr,
        y_train=ytr,
        x_test=xte,
        y_test=yte,
        class_names=(*data.class_names, GARBAGE),
        description=f"{data.description}; plus {len(garbage)} evolved fooling images as class "
        f"{k} ({GARBAGE})",
        source=data.source,
        hash=content_hash(xtr, ytr, xte, yte, extra=f"{data.name}+{GARBAGE}"),
    )


@dataclass(frozen=True, eq=False)
class RetrainResult:
    garbage_requested: int  # fooling images asked for (one average class's worth by default)
    garbage_images: int  # fooling images found and added (train + held out)
    heldout_images: int
    real_test_accuracy: float  # the retrained model on the real test images (K + 1 outputs)
    heldout_caught: float  # share of held-out fooling images it labels garbage
    before: EvolutionResult  # evolution against the original model (same settings)
    after: EvolutionResult  # evolution against the retrained model, real classes only
    trained: Trained

    @property
    def still_fooled(self) -> bool:
        return self.after.all_reached

    def to_dict(self, class_names: Any = None) -> dict[str, Any]:
        return {
            "garbage_requested": self.garbage_requested,
            "garbage_images": self.garbage_images,
            "heldout_images": self.heldout_images,
            "real_test_accuracy": self.real_test_accuracy,
            "heldout_caught": self.heldout_caught,
            "still_fooled": self.still_fooled,
            "generations_before": self.before.generations_to_all,
            "generations_after": self.after.generations_to_all,
            "before": self.before.to_dict(class_names),
            "after": self.after.to_dict(class_names),
        }


def retrain_with_garbage_class(
    spec: ModelSpec,
    data: DataBundle,
    model: nn.Module,
    encoding: Encoding,
    *,
    target: float = 0.9999,
    generations: int = 200,
    population: int = POPULATION,
    garbage_images: int | None = None,
    config: TrainConfig | None = None,
    seed: int = 0,
    cache: bool = True,
    progress: bool = False,
) -> RetrainResult:
    """Run the experiment (module docstring) for the classifier `model` built from `spec`.

    garbage_images: how many fooling images to add (default: the size of an average class).
    The fooling images come from evolution against `model` (probability >= 0.99 for some
    class); `before` is an evolution run with the same seed and settings, for comparison.
    config: the retraining settings (default: fragility.train.default_config).
    """
    k = data.num_classes
    n = garbage_images or math.ceil(len(data.x_train) / k)
    shape = data.input_shape
    settings = {"generations": generations, "population": population, "target": target}
    before = evolve(model, encoding, shape, seed=seed, progress=progress, **settings)
    garbage = collect_fooling_images(
        model,
        encoding,
        shape,
        n,
        generations=generations,
        population=population,
        seed=seed + 1,
    )
    bundle = with_garbage_class(data, garbage, seed=seed)
    new_spec = dataclasses.replace(spec, num_classes=k + 1)
    cfg = config or default_config(new_spec, bundle, seed=seed)
    device = model_device(model)
    trained = train(new_spec, bundle, cfg, device=device, cache=cache, progress=progress)
    pred = predict(trained.model, bundle.x_test).argmax(1)
    real = bundle.y_test < k
    after = evolve(
        trained.model, encoding, shape, classes=range(k), seed=seed, progress=progress, **settings
    )
    return RetrainResult(
        garbage_requested=n,
        garbage_images=len(garbage),
        heldout_images=int((~real).sum()),
        real_test_accuracy=float((pred[real] == bundle.y_test[real]).float().mean()),
        heldout_caught=float((pred[~real] == k).float().mean()),
        before=before,
        after=after,
        trained=trained,
    )
