"""The lecture's networks, built from a JSON-able ModelSpec.

- ``mlp``: fully connected; the seed net has two hidden layers of 16 sigmoid units
  (784-16-16-10 at 28x28: 12,960 weights, 13,002 parameters).
- ``cnn``: blocks of convolution (several kernels), ReLU and 2x2 max-pooling, dropout, a dense
  layer and a linear head. Logits out; softmax gives probabilities.
- ``autoencoder``: a dense or convolutional encoder to a small code and a decoder back to the
  image; its reconstruction error scores how unlike the training data an input is.

Classifiers map (N, C, H, W) images in [0, 1] to logits (N, K). Layers are named
(``fc1``, ``act1``, ``conv1``, ...) so analyses can hook a layer by name.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.errors import ConfigError

KINDS = ("mlp", "cnn", "autoencoder")
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}

# Bounds on a spec, far above the lecture's networks, checked before anything is built, so a
# hostile or mistyped spec.json costs milliseconds, not a 256 GB allocation.
MAX_IMAGE_CHANNELS = 64
MAX_SIDE = 4096  # pixels
MAX_CLASSES = 100_000
MAX_LAYERS = 32  # entries of hidden and of channels
MAX_WIDTH = 65_536  # a hidden width, channel count, dense or code size
MAX_KERNEL = 31
MAX_PARAMETERS = 100_000_000  # 400 MB of float32 weights


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of one network. Fields not used by `kind` keep their defaults."""

    kind: str  # "mlp" | "cnn" | "autoencoder"
    input_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int = 10
    # mlp
    hidden: tuple[int, ...] = (16, 16)
    activation: str = "sigmoid"
    # cnn (and the convolutional autoencoder)
    channels: tuple[int, ...] = (16, 32)
    kernel_size: int = 3
    dense: int = 64
    dropout: float = 0.25
    # autoencoder
    code_size: int = 16
    encoder: str = "dense"  # "dense" | "conv"

    def __post_init__(self) -> None:
        _check_types(self)
        object.__setattr__(self, "input_shape", tuple(int(v) for v in self.input_shape))
        object.__setattr__(self, "hidden", tuple(int(v) for v in self.hidden))
        object.__setattr__(self, "channels", tuple(int(v) for v in self.channels))
        for name in ("num_classes", "kernel_size", "dense", "code_size"):
            object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "dropout", float(self.dropout))
        if self.kind not in KINDS:
            raise ConfigError(f"unknown model kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        c, h, w = self.input_shape if len(self.input_shape) == 3 else (0, 0, 0)
        if not (1 <= c <= MAX_IMAGE_CHANNELS and min(h, w) >= 1 and max(h, w) <= MAX_SIDE):
            raise ConfigError(
                f"input_shape must be (C, H, W) with 1 to {MAX_IMAGE_CHANNELS} channels and sides "
                f"from 1 to {MAX_SIDE:,} pixels, not {list(self.input_shape)}"
            )
        if not 2 <= self.num_classes <= MAX_CLASSES:
            raise ConfigError(
                f"num_classes must be from 2 to {MAX_CLASSES:,}, not {self.num_classes}"
            )
        for name in ("hidden", "channels"):
            v = getattr(self, name)
            if len(v) > MAX_LAYERS or not all(1 <= x <= MAX_WIDTH for x in v):
                raise ConfigError(
                    f"{name} must list at most {MAX_LAYERS} widths from 1 to {MAX_WIDTH:,}, "
                    f"not {list(v)}"
                )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), not {self.dropout}")
        if not 1 <= self.kernel_size <= MAX_KERNEL or self.kernel_size % 2 == 0:
            raise ConfigError(
                f"kernel_size must be odd, from 1 to {MAX_KERNEL}, not {self.kernel_size}"
            )
        if self.encoder not in ("dense", "conv"):
            raise ConfigError(f"encoder must be 'dense' or 'conv', not {self.encoder!r}")
        if not (1 <= self.code_size <= MAX_WIDTH and 0 <= self.dense <= MAX_WIDTH):
            raise ConfigError(
                f"code_size must be from 1 and dense from 0, both to {MAX_WIDTH:,}, not "
                f"{self.code_size} and {self.dense}"
            )
        pools = len(self.channels) if self.kind == "cnn" else 0
        if self.kind == "autoencoder" and self.encoder == "conv":
            pools = len(self.channels)
            if h % (2**pools) or w % (2**pools):
                raise ConfigError(
                    f"a convolutional autoencoder with {pools} pooling steps needs a side "
                    f"divisible by {2**pools}; resize with --size or use the dense encoder"
                )
        if pools and (min(h, w) >> pools) < 1:
            raise ConfigError(
                f"{pools} pooling steps shrink a {h}x{w} image to nothing; use fewer channels "
                "entries or a larger --size"
            )
        n = sum(math.prod(shape) for shape in state_shapes(self).values())
        if n > MAX_PARAMETERS:
            raise ConfigError(
                f"{self.name} would have {n:,} parameters, more than the {MAX_PARAMETERS:,} "
                "this toolkit builds; choose smaller widths or a smaller --size"
            )

    @property
    def name(self) -> str:
        """A short human name: 'mlp 64-16-16-10 sigmoid', 'cnn 16-32 conv', ..."""
        c, h, w = self.input_shape
        if self.kind == "mlp":
            widths = "-".join(str(v) for v in (c * h * w, *self.hidden, self.num_classes))
            return f"mlp {widths} {self.activation}"
        if self.kind == "cnn":
            return f"cnn {'-'.join(map(str, self.channels))} conv, {self.dense} dense"
        return f"autoencoder {self.encoder}, code {self.code_size}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["hidden"] = list(self.hidden)
        d["channels"] = list(self.channels)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSpec:
        if not isinstance(d, dict):
            raise ConfigError("a model spec must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown model spec keys: {', '.join(unknown)}")
        if "kind" not in d or "input_shape" not in d:
            raise ConfigError("a model spec needs 'kind' and 'input_shape'")
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(f"bad model spec: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"model spec is not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from exc


_WHOLE = ("num_classes", "kernel_size", "dense", "code_size")
_WHOLE_LISTS = ("input_shape", "hidden", "channels")
_TEXT = ("kind", "activation", "encoder")


def _is_whole(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_types(spec: ModelSpec) -> None:
    """Each field of the type it must have, before any comparison or arithmetic on it (a spec
    may come from a file anyone can edit: 1e9, "16" and [16] are errors, not crashes)."""
    for name in _TEXT:
        v = getattr(spec, name)
        if not isinstance(v, str):
            raise ConfigError(f"{name} must be a string, not {v!r}"[:200])
    for name in _WHOLE:
        v = getattr(spec, name)
        if not _is_whole(v):
            raise ConfigError(f"{name} must be a whole number, not {v!r}"[:200])
    for name in _WHOLE_LISTS:
        v = getattr(spec, name)
        if not isinstance(v, (list, tuple)) or len(v) > 1000 or not all(map(_is_whole, v)):
            raise ConfigError(f"{name} must be a list of whole numbers, not {v!r}"[:200])
    v = spec.dropout
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ConfigError(f"dropout must be a number, not {v!r}"[:200])


def state_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor of `spec`'s state dict, found by building it on
    torch's meta device: no memory, no random numbers drawn, milliseconds."""
    return dict(_meta_shapes(spec))


@functools.lru_cache(maxsize=64)
def _meta_shapes(spec: ModelSpec) -> tuple[tuple[str, tuple[int, ...]], ...]:
    with torch.device("meta"):
        module = _BUILDERS[spec.kind](spec)
    return tuple((k, tuple(v.shape)) for k, v in module.state_dict().items())


def default_spec(kind: str, input_shape: tuple[int, int, int], num_classes: int = 10) -> ModelSpec:
    """The lecture's defaults: the 16-16 sigmoid MLP, a two-block CNN, a dense autoencoder."""
    return ModelSpec(kind=kind, input_shape=tuple(input_shape), num_classes=num_classes)


def _mlp(spec: ModelSpec) -> nn.Sequential:
    c, h, w = spec.input_shape
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    width = c * h * w
    for i, hidden in enumerate(spec.hidden, start=1):
        layers += [
            (f"fc{i}", nn.Linear(width, hidden)),
            (f"act{i}", ACTIVATIONS[spec.activation]()),
        ]
        width = hidden
    layers.append(("out", nn.Linear(width, spec.num_classes)))
    return nn.Sequential(OrderedDict(layers))


def _conv_blocks(spec: ModelSpec) -> tuple[list[tuple[str, nn.Module]], int]:
    c = spec.input_shape[0]
    layers: list[tuple[str, nn.Module]] = []
    for i, out in enumerate(spec.channels, start=1):
        layers += [
            (f"conv{i}", nn.Conv2d(c, out, spec.kernel_size, padding=spec.kernel_size // 2)),
            (f"relu{i}", nn.ReLU()),
            (f"pool{i}", nn.MaxPool2d(2)),
        ]
        c = out
    return layers, c


def _cnn(spec: ModelSpec) -> nn.Sequential:
    layers, c = _conv_blocks(spec)
    _, h, w = spec.input_shape
    n = len(spec.channels)
    flat = c * (h >> n) * (w >> n)
    layers += [("flatten", nn.Flatten()), ("drop1", nn.Dropout(spec.dropout))]
    if spec.dense:
        layers += [
            ("fc1", nn.Linear(flat, spec.dense)),
            (f"relu{n + 1}", nn.ReLU()),
            ("drop2", nn.Dropout(spec.dropout)),
        ]
        flat = spec.dense
    layers.append(("out", nn.Linear(flat, spec.num_classes)))
    return nn.Sequential(OrderedDict(layers))


class Autoencoder(nn.Module):
    """Encoder to a `code_size` code and decoder back; output through a sigmoid, in [0, 1]."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.input_shape = spec.input_shape
        c, h, w = spec.input_shape
        if spec.encoder == "dense":
            d = c * h * w
            hid = max(spec.code_size * 4, 64)
            self.encoder = nn.Sequential(
                nn.Flatten(), nn.Linear(d, hid), nn.ReLU(), nn.Linear(hid, spec.code_size)
            )
            self.decoder = nn.Sequential(
                nn.Linear(spec.code_size, hid),
                nn.ReLU(),
                nn.Linear(hid, d),
                nn.Unflatten(1, (c, h, w)),
                nn.Sigmoid(),
            )
        else:
            blocks, cc = _conv_blocks(spec)
            n = len(spec.channels)
            flat = cc * (h >> n) * (w >> n)
            self.encoder = nn.Sequential(
                OrderedDict(
                    [*blocks, ("flatten", nn.Flatten()), ("code", nn.Linear(flat, spec.code_size))]
                )
            )
            up: list[nn.Module] = [
                nn.Linear(spec.code_size, flat),
                nn.Unflatten(1, (cc, h >> n, w >> n)),
            ]
            chans = [*reversed(spec.channels[:-1]), c]
            for i, out in enumerate(chans):
                up += [nn.ReLU(), nn.ConvTranspose2d(cc, out, 2, stride=2)]
                cc = out
                if i == len(chans) - 1:
                    up.append(nn.Sigmoid())
            self.decoder = nn.Sequential(*up)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (N, code_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))  # (N, C, H, W)

    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared error per image, (N,)."""
        return (self(x) - x).pow(2).flatten(1).mean(1)


def build(spec: ModelSpec, seed: int | None = 0) -> nn.Module:
    """Build the module for `spec`. With a seed, the initial weights are reproducible and the
    global random state is left as it was."""
    if seed is None:
        return _BUILDERS[spec.kind](spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _BUILDERS[spec.kind](spec)


_BUILDERS = {"mlp": _mlp, "cnn": _cnn, "autoencoder": Autoencoder}


def parameter_counts(module: nn.Module) -> dict[str, int]:
    """Weights (matrices and kernels), biases (vectors) and the total, as the lecture counts."""
    weights = sum(p.numel() for p in module.parameters() if p.dim() > 1)
    total = sum(p.numel() for p in module.parameters())
    return {"weights": weights, "biases": total - weights, "total": total}


def is_classifier(spec: ModelSpec) -> bool:
    return spec.kind != "autoencoder"
