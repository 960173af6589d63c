"""Inverse images: what a unit responds to most, what a layer's code keeps, which inputs and
which weights matter.

- Activation maximisation (Erhan et al. 2009; Simonyan, Vedaldi & Zisserman 2013): gradient
  ascent on the input for one unit (an output class's score, a hidden unit, a CNN channel),
  objective ``a(x) - lambda ||x||_2^2`` or Erhan's fixed-norm version, with the usual
  regularisers (jitter, Gaussian blur, total variation) and several seeded restarts, the image
  kept in [0, 1]. Many units and restarts are optimised together as one batch.
- Representation inversion (Mahendran & Vedaldi 2015): from noise, an input whose code at a
  chosen layer matches a real image's.
- First-layer weights as images, with a measure of how edge-like (stroke-like) they are.
- Saliency (Simonyan et al. 2013): the gradient of a class score with respect to the input, and
  gradient x input (Shrikumar et al. 2016).
- Which weights matter: rank weights by |dC/dw| summed over the training set and zero the top,
  a random or the bottom share of them.

Layers are addressed by name (``dict(model.named_modules())``) through forward hooks, so any
``nn.Module`` that maps NCHW images in [0, 1] to logits can be analysed. The name ``""`` is the
model's own output (the logits).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fragility._progress import progress_bar
from fragility.contract import (
    analysing,
    check_images,
    check_shape,
    evaluating,
    model_device,
    num_classes,
)
from fragility.errors import ConfigError, InputError
from fragility.train import evaluate

LOGITS = ""  # layer name of the model's own output


# ---------------------------------------------------------------------------------------------
# Layers and units


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


# ---------------------------------------------------------------------------------------------
# Regularisers: pure functions of the image batch


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Squared total variation per image, (N,): sum of squared differences between
    neighbouring pixels, i.e. Mahendran & Vedaldi's (2015) TV^beta with beta = 2, which unlike
    beta = 1 is differentiable everywhere."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).sum(1)
    dw = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).sum(1)
    return dh + dw


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel with a Gaussian of `sigma` pixels (reflect padding), as Yosinski et al.
    (2015) do every few steps to suppress high frequencies."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(2 * sigma))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


# ---------------------------------------------------------------------------------------------
# Activation maximisation

STARTS = ("zero", "mean", "noise")


@dataclass(frozen=True)
class MaximizeConfig:
    """Settings of activation maximisation.

    Objective per image: ``a(x) - l2 ||x||^2 - tv TV2(x)`` (Simonyan et al. 2013 use the class
    score and the L2 term from the zero image). With `fixed_norm` set, the penalties are
    dropped and after each step x is rescaled to that L2 norm (Erhan et al. 2009), then
    clamped to [0, 1], so its norm ends at most `fixed_norm`. `probability` maximises the
    softmax posterior instead of the raw score, which Simonyan et al. show gives poorer images:
    the posterior also rises when the other classes' scores fall.
    """

    steps: int = 100
    lr: float = 0.1  # Adam step size, in grey levels per step
    l2: float = 0.001
    tv: float = 0.0
    fixed_norm: float | None = None
    probability: bool = False
    jitter: int = 0  # each step, roll the image by up to this many pixels (Mordvintsev 2015)
    blur_sigma: float = 0.0  # Gaussian blur of this width ...
    blur_every: int = 4  # ... every this many steps
    start: str = "zero"  # "zero" | "mean" (the training mean image) | "noise" (uniform [0, 1])
    restarts: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ConfigError(f"steps must be at least 1, not {self.steps}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"the step size must be positive, not {self.lr}")
        if self.l2 < 0 or self.tv < 0 or self.blur_sigma < 0 or self.jitter < 0:
            raise ConfigError("l2, tv, blur sigma and jitter must be non-negative")
        if self.fixed_norm is not None and not self.fixed_norm > 0:
            raise ConfigError(f"the fixed norm must be positive, not {self.fixed_norm}")
        if self.blur_every < 1 or self.restarts < 1:
            raise ConfigError("blur_every and restarts must be at least 1")
        if self.start not in STARTS:
            raise ConfigError(f"unknown start {self.start!r}; choose one of {', '.join(STARTS)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def objective(
    model: nn.Module,
    x: torch.Tensor,
    units: Sequence[Unit],
    *,
    l2: float = 0.0,
    tv: float = 0.0,
    probability: bool = False,
    shift: tuple[int, int] = (0, 0),
) -> torch.Tensor:
    """Per-image objective, (N,): ``a_i(roll(x_i, shift)) - l2 ||x_i||^2 - tv TV2(x_i)``
    with a_i the activation of `units[i]`.

    Rows do not interact (the model runs in eval mode), so the gradient of the sum gives each
    image its own gradient: that is what lets many units and restarts share one batch.
    """
    seen = torch.roll(x, shifts=shift, dims=(-2, -1)) if shift != (0, 0) else x
    value = activations(model, seen, units, probability=probability)
    if l2:
        value = value - l2 * x.pow(2).flatten(1).sum(1)
    if tv:
        value = value - tv * total_variation(x)
    return value


@dataclass(frozen=True, eq=False)
class Maxima:
    """Optimised inputs for a list of units, with the activation each reached and the bar set
    by the training data."""

    units: tuple[Unit, ...]
    images: torch.Tensor  # (U, R, C, H, W): R restarts per unit
    activation: torch.Tensor  # (U, R): the unit's activation (no penalties) at each image
    training_max: torch.Tensor  # (U,): the best training image's activation, or NaN
    training_argmax: torch.Tensor  # (U,): that image's index in the training set, or -1
    config: MaximizeConfig
    seconds: float

    @property
    def best(self) -> torch.Tensor:
        """The restart with the highest activation for each unit, (U, C, H, W)."""
        pick = self.activation.argmax(1)
        return self.images[torch.arange(len(self.units)), pick]

    @property
    def best_activation(self) -> torch.Tensor:
        return self.activation.max(1).values

    @property
    def beats_training(self) -> torch.Tensor:
        """(U,) bool: the optimised input activates the unit more than every training image."""
        return self.best_activation > self.training_max

    @property
    def diversity(self) -> torch.Tensor:
        """Mean RMS pixel distance between the restarts of each unit, (U,); 0 if one restart.
        It says how different the maxima of one unit are (0: one picture; 0.5: unrelated)."""
        u, r = self.images.shape[:2]
        if r < 2:
            return torch.zeros(u)
        flat = self.images.flatten(2)  # (U, R, D)
        d = torch.cdist(flat, flat) / math.sqrt(flat.shape[-1])  # (U, R, R)
        return d.sum((1, 2)) / (r * (r - 1))

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, u in enumerate(self.units):
            rows.append(
                {
                    **u.to_dict(),
                    "name": u.name,
                    "activation": [float(v) for v in self.activation[i]],
                    "best_activation": float(self.best_activation[i]),
                    "best_training_activation": _num(self.training_max[i]),
                    "best_training_index": int(self.training_argmax[i]),
                    "beats_training": bool(self.beats_training[i]),
                    "restart_diversity": float(self.diversity[i]),
                }
            )
        return {
            "config": self.config.to_dict(),
            "steps": self.config.steps,
            "seconds": self.seconds,
            "units": rows,
            "beats_training": int(self.beats_training.sum()),
            "n_units": len(self.units),
        }


def _num(v: torch.Tensor | float) -> float | None:
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


def _start_images(
    n: int, shape: Sequence[int], cfg: MaximizeConfig, mean_image: torch.Tensor | None, gen
) -> torch.Tensor:
    if cfg.start == "noise":
        return torch.rand((n, *shape), generator=gen)
    if cfg.start == "mean":
        if mean_image is None:
            raise ConfigError("start 'mean' needs the training mean image (pass mean_image)")
        return mean_image.reshape(1, *shape).expand(n, *shape).clone()
    return torch.zeros((n, *shape))


def _project(x: torch.Tensor, fixed_norm: float | None) -> torch.Tensor:
    if fixed_norm is not None:
        norms = x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
        x = x * (fixed_norm / norms)
    return x.clamp(0.0, 1.0)


def maximize(
    model: nn.Module,
    units: Sequence[Unit],
    input_shape: Sequence[int],
    config: MaximizeConfig = MaximizeConfig(),
    *,
    mean_image: torch.Tensor | None = None,
    training_images: torch.Tensor | None = None,
    progress: bool = False,
) -> Maxima:
    """Find, for each unit, `config.restarts` inputs in [0, 1] that maximise its objective.

    All units and restarts, whatever their layers, form one batch of U x R images optimised
    together with Adam (elementwise, so the rows stay independent). Each step:
    draw a jitter shift, ascend the objective, blur every `blur_every` steps, then project
    (fixed norm if asked, clamp to [0, 1]). With `training_images`, the best training
    activation of each unit is reported beside the optimised one.
    """
    if not units:
        raise ConfigError("no units to maximise")
    cfg = config
    shape = check_shape(input_shape)
    gen = torch.Generator().manual_seed(cfg.seed)
    n_units, r = len(units), cfg.restarts
    t0 = time.perf_counter()
    bar = progress_bar(cfg.steps, progress, unit="step", desc="maximise")
    rows = [u for u in units for _ in range(r)]  # (U * R,) restarts of a unit side by side
    penalties = {"l2": 0.0, "tv": 0.0} if cfg.fixed_norm else {"l2": cfg.l2, "tv": cfg.tv}
    with analysing(model, (len(rows), *shape)) as dev:
        x = _start_images(len(rows), shape, cfg, mean_image, gen).to(dev)
        x = _project(x, cfg.fixed_norm).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=cfg.lr)
        for step in range(cfg.steps):
            shift = (0, 0)
            if cfg.jitter:
                s = torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=gen)
                shift = (int(s[0]), int(s[1]))
            value = objective(model, x, rows, probability=cfg.probability, shift=shift, **penalties)
            # Gradient for x only: the model's parameters must not collect .grad.
            (x.grad,) = torch.autograd.grad(-value.sum(), x)
            opt.step()
            with torch.no_grad():
                y = x
                if cfg.blur_sigma and (step + 1) % cfg.blur_every == 0:
                    y = gaussian_blur(y, cfg.blur_sigma)
                x.copy_(_project(y, cfg.fixed_norm))
            if bar is not None:
                bar.update(1)
        with torch.no_grad():
            final = x.detach()
            reached = activations(model, final, rows, probability=cfg.probability)
    images = final.cpu().view(n_units, r, *shape)
    reached = reached.float().cpu().view(n_units, r)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    if training_images is not None:
        best = training_maxima(model, training_images, units, probability=cfg.probability)
    else:
        best = (torch.full((n_units,), math.nan), torch.full((n_units,), -1, dtype=torch.long))
    return Maxima(tuple(units), images, reached, best[0], best[1], cfg, seconds)


def class_units(num_classes: int) -> tuple[Unit, ...]:
    """The logits of every class, as units."""
    return tuple(Unit(LOGITS, c) for c in range(num_classes))


# ---------------------------------------------------------------------------------------------
# Representation inversion


@dataclass(frozen=True, eq=False)
class Inversion:
    """Inputs found from noise whose code at `layer` matches that of real images.

    pixel_distance: RMS difference in grey levels between the original and the inverted image
    (0: identical, about 0.4 and up: unrelated images). code_distance: ||phi(x) - phi(x0)|| /
    ||phi(x0)||. prediction_agrees: the classifier gives both the same class.
    """

    layer: str
    originals: torch.Tensor  # (N, C, H, W)
    inverted: torch.Tensor  # (N, C, H, W)
    pixel_distance: torch.Tensor  # (N,)
    code_distance: torch.Tensor  # (N,)
    original_prediction: torch.Tensor  # (N,)
    inverted_prediction: torch.Tensor  # (N,)
    typical_pixel_distance: float  # mean RMS distance between two originals, for scale
    steps: int
    seconds: float

    @property
    def prediction_agrees(self) -> torch.Tensor:
        return self.original_prediction == self.inverted_prediction

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer or "logits",
            "steps": self.steps,
            "seconds": self.seconds,
            "pixel_distance": [float(v) for v in self.pixel_distance],
            "code_distance": [float(v) for v in self.code_distance],
            "original_prediction": [int(v) for v in self.original_prediction],
            "inverted_prediction": [int(v) for v in self.inverted_prediction],
            "mean_pixel_distance": float(self.pixel_distance.mean()),
            "mean_code_distance": float(self.code_distance.mean()),
            "prediction_agreement": float(self.prediction_agrees.float().mean()),
            "typical_pixel_distance": self.typical_pixel_distance,
        }


def invert_representation(
    model: nn.Module,
    originals: torch.Tensor,
    layer: str,
    *,
    steps: int = 150,
    lr: float = 0.1,
    tv: float = 0.0,
    seed: int = 0,
    progress: bool = False,
) -> Inversion:
    """Mahendran & Vedaldi (2015): from uniform noise, minimise
    ``||phi(x) - phi(x0)||^2 / ||phi(x0)||^2 + tv TV2(x)`` over x in [0, 1] with Adam, where
    phi is the output of `layer`. Nothing pulls x towards x0 except the code, so what is left
    of the noise shows what the layer ignores."""
    check_images(originals, "originals", nonempty=True)
    if steps < 1:
        raise ConfigError(f"steps must be at least 1, not {steps}")
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    bar = progress_bar(steps, progress, unit="step", desc="invert")
    with analysing(model, originals.shape) as dev:
        x0 = originals.to(dev)
        with torch.no_grad():
            target = layer_output(model, x0, layer).flatten(1)
        scale = target.pow(2).sum(1).clamp_min(1e-12)
        x = torch.rand(originals.shape, generator=gen).to(dev).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr)
        for _ in range(steps):
            code = layer_output(model, x, layer).flatten(1)
            loss = (code - target).pow(2).sum(1) / scale
            if tv:
                loss = loss + tv * total_variation(x)
            (x.grad,) = torch.autograd.grad(loss.sum(), x)
            opt.step()
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
            if bar is not None:
                bar.update(1)
        with torch.no_grad():
            inv = x.detach()
            code = layer_output(model, inv, layer).flatten(1)
            code_dist = (code - target).norm(dim=1) / scale.sqrt()
            pred0 = model(x0).argmax(1).cpu()
            pred1 = model(inv).argmax(1).cpu()
    if bar is not None:
        bar.close()
    inv, x0 = inv.cpu(), x0.cpu()
    flat = x0.flatten(1)
    pair = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])
    n = len(flat)
    typical = float(pair.sum() / (n * (n - 1))) if n > 1 else float("nan")
    return Inversion(
        layer=layer,
        originals=x0,
        inverted=inv,
        pixel_distance=(inv - x0).flatten(1).pow(2).mean(1).sqrt(),
        code_distance=code_dist.float().cpu(),
        original_prediction=pred0,
        inverted_prediction=pred1,
        typical_pixel_distance=typical,
        steps=steps,
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------------------------
# First-layer weights and how edge-like they are


def first_layer_weights(model: nn.Module, input_shape: Sequence[int]) -> tuple[str, torch.Tensor]:
    """The first Linear or Conv2d module (registration order) and its weights as images:
    a dense layer's rows over the input grid, (U, C, H, W), or a convolution's kernels,
    (K, C, kh, kw)."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            return name, m.weight.detach().float().cpu().clone()
        if isinstance(m, nn.Linear):
            shape = tuple(int(s) for s in input_shape)
            if m.in_features != math.prod(shape):
                raise ConfigError(
                    f"the first dense layer {name!r} takes {m.in_features} inputs, not the "
                    f"{math.prod(shape)} pixels of a {shape} image; it cannot be drawn as one"
                )
            return name, m.weight.detach().float().cpu().reshape(-1, *shape).clone()
    raise ConfigError("the model has no Linear or Conv2d layer to draw")


def gabor_bank(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-mean, unit-norm Gabor filters the size of a weight image, (G, H, W), and for each
    its (orientation in degrees, wavelength in pixels, phase), (G, 3).

    g(u, v) = exp(-(u^2 + v^2) / (2 sigma^2)) cos(2 pi u / wavelength + phase), with u across
    the stripes at 12 orientations (every 15 degrees), wavelengths from 2 pixels to the image
    side, sigma = wavelength / 2, phase 0 (a bar: a stroke) or 90 degrees (an edge), centred
    at the middle and, for images wider than 5 pixels, at the quarter points too."""
    filters, params = _gabor_bank(int(height), int(width))
    return filters.clone(), params.clone()


@functools.lru_cache(maxsize=8)
def _gabor_bank(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Depends only on the size: built once per size and copied out.
    side = max(height, width)
    wavelengths = [w for w in (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0) if w <= max(side, 4)]
    fracs = (0.5,) if side <= 5 else (0.25, 0.5, 0.75)
    yy, xx = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    filters, params = [], []
    for fy in fracs:
        for fx in fracs:
            cy, cx = fy * (height - 1), fx * (width - 1)
            for deg in range(0, 180, 15):
                th = math.radians(deg)
                u = (xx - cx) * math.cos(th) + (yy - cy) * math.sin(th)
                v = -(xx - cx) * math.sin(th) + (yy - cy) * math.cos(th)
                for lam in wavelengths:
                    env = torch.exp(-(u**2 + v**2) / (2 * (lam / 2) ** 2))
                    for phase in (0.0, math.pi / 2):
                        g = env * torch.cos(2 * math.pi * u / lam + phase)
                        g = g - g.mean()
                        if float(g.norm()) > 1e-6:
                            filters.append(g / g.norm())
                            params.append((float(deg), lam, math.degrees(phase)))
    return torch.stack(filters).float(), torch.tensor(params)


def neighbour_correlation(images: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between horizontally and vertically adjacent pixels, per image,
    (U,). About 0 for salt-and-pepper noise, near 1 for smooth blobs and strokes."""
    a = images.mean(1) if images.dim() == 4 else images  # (U, H, W): channels averaged
    pairs_a = torch.cat([a[:, :, :-1].flatten(1), a[:, :-1, :].flatten(1)], 1)
    pairs_b = torch.cat([a[:, :, 1:].flatten(1), a[:, 1:, :].flatten(1)], 1)
    pa = pairs_a - pairs_a.mean(1, keepdim=True)
    pb = pairs_b - pairs_b.mean(1, keepdim=True)
    return (pa * pb).sum(1) / (pa.norm(dim=1) * pb.norm(dim=1)).clamp_min(1e-12)


@dataclass(frozen=True, eq=False)
class EdgeScores:
    """How edge-like each first-layer weight image is.

    gabor: the best |cosine similarity| between the (mean-removed) weight image and a Gabor
    filter of the bank (`gabor_bank`): 1 means the weights are exactly an oriented bar or edge.
    A bigger bank fits noise better too, so each image is also scored after shuffling its own
    pixels (`shuffles` times, seeded): chance and chance95 are the mean and 95th percentile of
    those scores, and an image counts as edge-like when its score beats its own chance95.
    neighbour_correlation (see that function) is the plainer smoothness measure.
    """

    layer: str
    weights: torch.Tensor  # (U, C, H, W)
    gabor: torch.Tensor  # (U,)
    orientation_deg: torch.Tensor  # (U,) of the best-fitting filter
    wavelength: torch.Tensor  # (U,)
    chance: torch.Tensor  # (U,)
    chance95: torch.Tensor  # (U,)
    neighbour_correlation: torch.Tensor  # (U,)

    @property
    def edge_like(self) -> torch.Tensor:
        return self.gabor > self.chance95

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "shape": list(self.weights.shape),
            "gabor": [float(v) for v in self.gabor],
            "orientation_deg": [float(v) for v in self.orientation_deg],
            "wavelength": [float(v) for v in self.wavelength],
            "chance": [float(v) for v in self.chance],
            "chance95": [float(v) for v in self.chance95],
            "neighbour_correlation": [float(v) for v in self.neighbour_correlation],
            "edge_like": [bool(v) for v in self.edge_like],
            "n_edge_like": int(self.edge_like.sum()),
            "mean_gabor": float(self.gabor.mean()),
            "mean_chance": float(self.chance.mean()),
            "mean_neighbour_correlation": float(self.neighbour_correlation.mean()),
        }


def _best_gabor(images: torch.Tensor, bank: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a = images.mean(1).flatten(1) if images.dim() == 4 else images.flatten(1)  # (U, D)
    a = a - a.mean(1, keepdim=True)
    a = a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = (a @ bank.flatten(1).T).abs()  # (U, G)
    return sims.max(1)


def edge_scores(
    weights: torch.Tensor, *, layer: str = "", shuffles: int = 50, seed: int = 0
) -> EdgeScores:
    """Score weight images (U, C, H, W) for edge-likeness against their own shuffled pixels."""
    if weights.dim() != 4:
        raise InputError("weight images must be (U, C, H, W)")
    w = weights.float()
    bank, params = gabor_bank(w.shape[-2], w.shape[-1])
    best, which = _best_gabor(w, bank)
    gen = torch.Generator().manual_seed(seed)
    flat = w.mean(1).flatten(1)  # (U, D)
    shuffled = torch.stack(
        [flat[:, torch.randperm(flat.shape[1], generator=gen)] for _ in range(shuffles)], 1
    )  # (U, S, D)
    chance_scores, _ = _best_gabor(shuffled.flatten(0, 1), bank)
    chance_scores = chance_scores.view(len(w), shuffles)
    return EdgeScores(
        layer=layer,
        weights=weights,
        gabor=best,
        orientation_deg=params[which, 0].float(),
        wavelength=params[which, 1].float(),
        chance=chance_scores.mean(1),
        chance95=torch.quantile(chance_scores, 0.95, dim=1),
        neighbour_correlation=neighbour_correlation(w),
    )


# ---------------------------------------------------------------------------------------------
# Saliency


@dataclass(frozen=True, eq=False)
class Saliency:
    """Gradient of the class score (pre-softmax) with respect to the input (Simonyan et al.
    2013), and gradient x input (Shrikumar et al. 2016), for each image and its target class."""

    images: torch.Tensor  # (N, C, H, W)
    target: torch.Tensor  # (N,)
    score: torch.Tensor  # (N,) the target's logit
    gradient: torch.Tensor  # (N, C, H, W) d score / d x

    @property
    def grad_x_input(self) -> torch.Tensor:
        return self.gradient * self.images

    def map(self, kind: str = "gradient") -> torch.Tensor:
        """|values| maximised over channels, (N, H, W), as Simonyan et al. draw them."""
        if kind not in ("gradient", "grad_x_input"):
            raise ConfigError(f"saliency kind must be gradient or grad_x_input, not {kind!r}")
        v = self.gradient if kind == "gradient" else self.grad_x_input
        return v.abs().amax(1)


def saliency(
    model: nn.Module, images: torch.Tensor, target: torch.Tensor | None = None
) -> Saliency:
    """Saliency of each image for `target` (default: the predicted class).

    The scores of different images do not interact in eval mode, so one backward pass of their
    sum gives every image's gradient."""
    check_images(images, nonempty=True)
    with analysing(model, images.shape) as dev:
        x = images.to(dev).clone().requires_grad_(True)
        logits = model(x)
        tgt = logits.argmax(1) if target is None else target.to(dev).view(-1)
        if len(tgt) != len(x):
            raise InputError(f"{len(tgt)} targets for {len(x)} images")
        score = logits.gather(1, tgt.view(-1, 1)).squeeze(1)
        (grad,) = torch.autograd.grad(score.sum(), x)
    return Saliency(images.detach().cpu(), tgt.cpu(), score.detach().cpu(), grad.cpu())


def saliency_mass(maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share of each saliency map's total inside `mask`, (N,). maps (N, H, W) non-negative;
    mask (H, W) or (N, H, W) bool. Compare it with the mask's share of the image (its area)."""
    m = mask.to(maps.device).expand_as(maps).float()
    total = maps.flatten(1).sum(1).clamp_min(1e-30)
    return (maps * m).flatten(1).sum(1) / total


# ---------------------------------------------------------------------------------------------
# Which weights matter


def weight_sensitivity(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    times_weight: bool = False,
    batch_size: int = 256,
) -> dict[str, torch.Tensor]:
    """For each weight tensor (parameters with 2 or more dimensions, as the lecture counts
    weights), sum over the examples of |dC_n/dw|, C_n the cross-entropy of example n.

    Summing per-example magnitudes, not the batch gradient, matters at a trained minimum: there
    the batch gradient is near 0 for every weight, while per-example gradients still say which
    weights each decision leans on. `times_weight` multiplies by |w| (a first-order Taylor
    estimate of the loss change when w is zeroed, Molchanov et al. 2017)."""
    from torch.func import functional_call, grad, vmap

    check_images(images)
    dev = model_device(model)
    params = {k: v.detach() for k, v in model.named_parameters()}
    weights = {k: v for k, v in params.items() if v.dim() > 1}
    others = {k: v for k, v in params.items() if v.dim() <= 1}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_one(w: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, {**w, **others, **buffers}, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))
    totals = {k: torch.zeros_like(v) for k, v in weights.items()}
    with analysing(model, (min(len(images), batch_size), *images.shape[1:])):
        for i in range(0, len(images), batch_size):
            g = per_example(
                weights, images[i : i + batch_size].to(dev), labels[i : i + batch_size].to(dev)
            )
            for k in totals:
                totals[k] += g[k].abs().sum(0)
    if times_weight:
        totals = {k: v * weights[k].abs() for k, v in totals.items()}
    return {k: v.cpu() for k, v in totals.items()}


@dataclass(frozen=True)
class PruneCurve:
    """Test accuracy after zeroing a share of the weights, chosen three ways: the highest
    ranked (top), a seeded random draw, the lowest ranked (bottom). Cuts are nested: the top
    10 % contains the top 5 %."""

    fractions: tuple[float, ...]
    top: tuple[float, ...]
    random: tuple[float, ...]
    bottom: tuple[float, ...]
    n_weights: int
    ranking: str  # "gradient" | "gradient x weight"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prune_curve(
    model: nn.Module,
    scores: dict[str, torch.Tensor],
    images: torch.Tensor,
    labels: torch.Tensor,
    fractions: Sequence[float] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    *,
    seed: int = 0,
    ranking: str = "gradient",
) -> PruneCurve:
    """Rank all weights in `scores` (one global ranking across layers; ties broken by position),
    zero the top / a random / the bottom round(k * n) for each k in `fractions` on a copy of
    `model`, and measure the accuracy on (images, labels). The model itself is not changed."""
    if any(not 0.0 <= f <= 1.0 for f in fractions):
        raise ConfigError(f"fractions must lie in [0, 1], not {list(fractions)}")
    names = list(scores)
    flat = torch.cat([scores[k].flatten() for k in names])
    n = len(flat)
    order = {
        "top": torch.sort(flat, descending=True, stable=True).indices,
        "bottom": torch.sort(flat, stable=True).indices,
        "random": torch.randperm(n, generator=torch.Generator().manual_seed(seed)),
    }
    net = copy.deepcopy(model).eval()
    params = dict(net.named_parameters())
    original = {k: params[k].detach().clone() for k in names}
    sizes = [original[k].numel() for k in names]
    acc: dict[str, list[float]] = {key: [] for key in order}
    for f in fractions:
        cut = round(f * n)
        for key, idx in order.items():
            keep = torch.ones(n)
            keep[idx[:cut]] = 0.0
            with torch.no_grad():
                for k, part in zip(names, keep.split(sizes), strict=True):
                    params[k].copy_(original[k] * part.view_as(original[k]).to(original[k]))
            acc[key].append(evaluate(net, images, labels).accuracy)
    return PruneCurve(
        tuple(float(f) for f in fractions),
        tuple(acc["top"]),
        tuple(acc["random"]),
        tuple(acc["bottom"]),
        n,
        ranking,
    )


# ---------------------------------------------------------------------------------------------
# All of the above on one classifier and its data

ANALYSES = ("classes", "hidden", "weights", "saliency", "inversion")


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


def saliency_summary(sal: Saliency, labels: torch.Tensor | None = None) -> dict[str, Any]:
    """Per image: class, score, and the share of |gradient| on the ink (pixels above 0.1)
    against the ink's share of the image: a network that looked only at the strokes would put
    all of its gradient there."""
    ink = sal.images.amax(1) > 0.1  # (N, H, W)
    on_ink = saliency_mass(sal.map("gradient"), ink)
    d: dict[str, Any] = {
        "target": [int(v) for v in sal.target],
        "score": [float(v) for v in sal.score],
        "gradient_on_ink": [float(v) for v in on_ink],
        "ink_area": [float(v) for v in ink.float().flatten(1).mean(1)],
        "mean_gradient_on_ink": float(on_ink.mean()),
        "mean_ink_area": float(ink.float().mean()),
    }
    if labels is not None:
        d["label"] = [int(v) for v in labels]
    return d


def analyse(
    model: nn.Module,
    data: Any,
    what: Sequence[str] = ANALYSES,
    config: MaximizeConfig = MaximizeConfig(l2=0.001, restarts=3, start="noise"),
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
