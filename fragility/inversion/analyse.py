"""All the inverse-image analyses on one classifier and its data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.contract import num_classes
from fragility.errors import ConfigError, InputError
from fragility.inversion.ablation import PruneCurve, prune_curve, weight_sensitivity
from fragility.inversion.first_layer import EdgeScores, edge_scores, first_layer_weights
from fragility.inversion.maxima import Maxima, MaximizeConfig, class_units, maximize
from fragility.inversion.representation import Inversion, invert_representation
from fragility.inversion.saliency import Saliency, saliency, saliency_summary
from fragility.inversion.units import hidden_layers, units_of

ANALYSES = ("classes", "hidden", "weights", "saliency", "inversion")
DEFAULT_CONFIG = MaximizeConfig(l2=0.001, restarts=3, start="noise")


def one_per_class(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Index of the first example of each class present, in class order, (<= K,)."""
    picks = [
        int(torch.nonzero(labels == c)[0, 0]) for c in range(num_classes) if (labels == c).any()
    ]
    return torch.tensor(picks, dtype=torch.long)


@dataclass(frozen=True, eq=False)
class InverseImages:
    """The results of `analyse`; a part not asked for is None."""

    classes: Maxima | None = None
    hidden: Maxima | None = None
    first_layer: EdgeScores | None = None
    first_layer_at_init: EdgeScores | None = None
    pruning: PruneCurve | None = None
    saliency: Saliency | None = None
    saliency_labels: torch.Tensor | None = None  # (N,) true classes of the saliency images
    inversion: Inversion | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.classes is not None:
            d["classes"] = self.classes.to_dict()
        if self.hidden is not None:
            d["hidden"] = self.hidden.to_dict()
        if self.first_layer is not None:
            d["first_layer_weights"] = self.first_layer.to_dict()
        if self.first_layer_at_init is not None:
            d["first_layer_weights_at_init"] = self.first_layer_at_init.to_dict()
        if self.pruning is not None:
            d["pruning"] = self.pruning.to_dict()
        if self.saliency is not None:
            d["saliency"] = saliency_summary(self.saliency, self.saliency_labels)
        if self.inversion is not None:
            d["inversion"] = self.inversion.to_dict()
        return d


def analyse(
    model: nn.Module,
    data: Any,
    what: Sequence[str] = ANALYSES,
    config: MaximizeConfig = DEFAULT_CONFIG,
    *,
    initial_model: nn.Module | None = None,
    inversion_layer: str | None = None,
    inversion_steps: int = 150,
    fractions: Sequence[float] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    rank_images: int = 5000,
    progress: bool = False,
) -> InverseImages:
    """Run the analyses named in `what` on a classifier and its DataBundle `data`.

    classes: maxima of every logit; hidden: of every unit of `hidden_layers`; weights: the
    first layer's edge scores (and `initial_model`'s, for comparison) and the weight-removal
    curves, ranked on the first `rank_images` training images and measured on the test set;
    saliency and inversion: on the first test image of each class (inversion at
    `inversion_layer`, default the last hidden layer). Seeded by `config.seed`.
    """
    unknown = sorted(set(what) - set(ANALYSES))
    if unknown:
        raise ConfigError(f"unknown analyses {unknown}; choose from {', '.join(ANALYSES)}")
    shape = data.input_shape
    k = num_classes(model, shape)
    if k != data.num_classes:
        raise InputError(
            f"the model scores {k} classes but {data.name} has {data.num_classes}; give the "
            "model trained on this data"
        )
    parts: dict[str, Any] = {}
    mean_image = data.x_train.mean(0)
    if "classes" in what:
        parts["classes"] = maximize(
            model,
            class_units(data.num_classes),
            shape,
            config,
            mean_image=mean_image,
            training_images=data.x_train,
            progress=progress,
        )
    if "hidden" in what:
        units = [u for layer in hidden_layers(model) for u in units_of(model, layer, shape)]
        if units:
            parts["hidden"] = maximize(
                model,
                units,
                shape,
                config,
                mean_image=mean_image,
                training_images=data.x_train,
                progress=progress,
            )
    if "weights" in what:
        name, w = first_layer_weights(model, shape)
        parts["first_layer"] = edge_scores(w, layer=name, seed=config.seed)
        if initial_model is not None:
            name0, w0 = first_layer_weights(initial_model, shape)
            parts["first_layer_at_init"] = edge_scores(w0, layer=name0, seed=config.seed)
        x, y = data.x_train[:rank_images], data.y_train[:rank_images]
        scores = weight_sensitivity(model, x, y)
        parts["pruning"] = prune_curve(
            model, scores, data.x_test, data.y_test, fractions, seed=config.seed
        )
    picks = one_per_class(data.y_test, data.num_classes)
    if "saliency" in what:
        parts["saliency"] = saliency(model, data.x_test[picks])
        parts["saliency_labels"] = data.y_test[picks]
    if "inversion" in what:
        layers = hidden_layers(model)
        layer = inversion_layer if inversion_layer is not None else (layers[-1] if layers else "")
        parts["inversion"] = invert_representation(
            model,
            data.x_test[picks],
            layer,
            steps=inversion_steps,
            seed=config.seed,
            progress=progress,
        )
    return InverseImages(**parts)
