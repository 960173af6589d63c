"""Layers and units: a unit is one feature of a named module's output, read through forward
hooks, so any `nn.Module` can be analysed. The name `""` is the model's own output (the
logits)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.contract import analysing, check_images, evaluating, model_device
from fragility.errors import ConfigError

LOGITS = ""  # layer name of the model's own output


@dataclass(frozen=True)
class Unit:
    """One unit: feature `index` of the output of the module named `layer`.

    For a 2-D output (N, F) the unit is column `index`; for a 4-D output (N, C, H, W) it is
    channel `index`, averaged over positions (the "channel" objective of Olah et al. 2017).
    """

    layer: str
    index: int

    @property
    def name(self) -> str:
        return f"{self.layer or 'logits'}[{self.index}]"

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "index": self.index}


class _Captured(Exception):
    """Raised by the hook to stop the forward pass once the wanted layer has run."""


def _module(model: nn.Module, layer: str) -> nn.Module:
    modules = dict(model.named_modules())
    if layer not in modules:
        names = ", ".join(n for n in modules if n) or "(none)"
        raise ConfigError(f"the model has no layer named {layer!r}; its layers are: {names}")
    return modules[layer]


def layer_outputs(
    model: nn.Module, x: torch.Tensor, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """The outputs of the modules named in `layers` when `model` runs on `x` (``""``: the
    logits), in one forward pass.

    Forward hooks capture the outputs and stop the pass once the last one wanted has run, so
    later layers cost nothing. A module called twice in one pass is captured at its first call.
    """
    wanted = [name for name in dict.fromkeys(layers) if name != LOGITS]
    store: dict[str, torch.Tensor] = {}
    stop = LOGITS not in layers

    def hook_for(name: str):
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            store.setdefault(name, output)
            if stop and len(store) == len(wanted):
                raise _Captured

        return hook

    handles = [_module(model, name).register_forward_hook(hook_for(name)) for name in wanted]
    try:
        logits = model(x)
        if not stop:
            store[LOGITS] = logits
    except _Captured:
        pass
    finally:
        for h in handles:
            h.remove()
    missing = [name for name in wanted if name not in store]
    if missing:
        raise ConfigError(f"layer {missing[0]!r} is not used in the model's forward pass")
    return store


def layer_output(model: nn.Module, x: torch.Tensor, layer: str) -> torch.Tensor:
    """The output of the module named `layer` (``""``: the logits); see `layer_outputs`."""
    return layer_outputs(model, x, [layer])[layer]


def _unit_values(a: torch.Tensor, layer: str = "", probability: bool = False) -> torch.Tensor:
    """A layer's output `a` as one value per unit, (N, units): the features of (N, F), the
    channel means of (N, C, H, W), or with `probability` the softmax over (N, units)."""
    if probability:
        if a.dim() != 2:
            raise ConfigError(
                f"probability needs a layer of shape (N, units); {layer!r} gives {tuple(a.shape)}"
            )
        return a.softmax(1)
    return a.mean((-2, -1)) if a.dim() == 4 else a.flatten(1)


def select_units(activations: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Row i's unit `index[i]`: (N, F) -> (N,), and (N, C, H, W) -> the channel mean, (N,)."""
    a = _unit_values(activations)
    if int(index.max()) >= a.shape[1]:
        raise ConfigError(
            f"unit index {int(index.max())} is out of range: the layer has {a.shape[1]} units"
        )
    return a.gather(1, index.view(-1, 1).to(a.device)).squeeze(1)


def activations(
    model: nn.Module,
    x: torch.Tensor,
    units: Sequence[Unit],
    *,
    probability: bool = False,
) -> torch.Tensor:
    """Activation of unit `units[i]` on image `x[i]`, (N,), from one forward pass whatever
    the mix of layers. With `probability`, the softmax over the layer's units (for the logits:
    the class posterior) instead of the raw value."""
    if len(units) != len(x):
        raise ConfigError(f"{len(units)} units for {len(x)} images; give one unit per image")
    layers = list(dict.fromkeys(u.layer for u in units))
    outs = layer_outputs(model, x, layers)
    values, rows = [], []
    for layer in layers:
        a = _unit_values(outs[layer], layer, probability)
        picked = [i for i, u in enumerate(units) if u.layer == layer]
        if len(layers) > 1:
            a = a[torch.tensor(picked, device=a.device)]
        index = torch.tensor([units[i].index for i in picked], device=a.device)
        values.append(select_units(a, index))
        rows += picked
    value = torch.cat(values)
    if len(layers) == 1:
        return value
    return value[torch.argsort(torch.tensor(rows, device=value.device))]


def layer_width(model: nn.Module, layer: str, input_shape: Sequence[int]) -> int:
    """How many units `layer` has (features, or channels of a 4-D output)."""
    dev = model_device(model)
    with torch.no_grad(), evaluating(model):
        a = layer_output(model, torch.zeros(1, *input_shape, device=dev), layer)
    return int(a.shape[1])


def hidden_layers(model: nn.Module) -> tuple[str, ...]:
    """The named Linear and Conv2d modules in registration order, less the last one (the head).

    Units here are pre-activations: a sigmoid or ReLU after them is monotone, so the input
    that maximises the weighted sum also maximises the unit's output, and the sum does not
    saturate at 1 the way a sigmoid does (which would make "more active" meaningless).
    """
    names = [n for n, m in model.named_modules() if n and isinstance(m, (nn.Linear, nn.Conv2d))]
    return tuple(names[:-1])


def units_of(model: nn.Module, layer: str, input_shape: Sequence[int]) -> tuple[Unit, ...]:
    return tuple(Unit(layer, i) for i in range(layer_width(model, layer, input_shape)))


@torch.no_grad()
def training_maxima(
    model: nn.Module,
    images: torch.Tensor,
    units: Sequence[Unit],
    batch_size: int = 512,
    *,
    probability: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each unit's highest activation over `images` (with `probability`, the softmax over its
    layer, as in `activations`) and the index of the image reaching it, both (U,). The bar an
    optimised input has to clear."""
    check_images(images, "training images")
    best = torch.full((len(units),), -math.inf)
    where = torch.zeros(len(units), dtype=torch.long)
    by_layer = _group(units)
    with analysing(model, (min(len(images), batch_size), *images.shape[1:])) as dev:
        for start in range(0, len(images), batch_size):
            outs = layer_outputs(model, images[start : start + batch_size].to(dev), list(by_layer))
            for layer, positions in by_layer.items():
                a = _unit_values(outs[layer], layer, probability)
                idx = torch.tensor([units[p].index for p in positions], device=a.device)
                vals, arg = a[:, idx].float().cpu().max(0)  # (U_layer,)
                pos = torch.tensor(positions)
                better = vals > best[pos]
                best[pos[better]] = vals[better]
                where[pos[better]] = arg[better] + start
    return best, where


def _group(units: Sequence[Unit]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        groups.setdefault(u.layer, []).append(i)
    return groups
