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
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.errors import ConfigError

KINDS = ("mlp", "cnn", "autoencoder")
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


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
        object.__setattr__(self, "input_shape", tuple(int(v) for v in self.input_shape))
        object.__setattr__(self, "hidden", tuple(int(v) for v in self.hidden))
        object.__setattr__(self, "channels", tuple(int(v) for v in self.channels))
        if self.kind not in KINDS:
            raise ConfigError(f"unknown model kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if len(self.input_shape) != 3 or min(self.input_shape) < 1:
            raise ConfigError(
                f"input_shape must be (C, H, W) with positive sizes, not {self.input_shape}"
            )
        if self.num_classes < 2:
            raise ConfigError(f"num_classes must be at least 2, not {self.num_classes}")
        if any(w < 1 for w in self.hidden) or any(c < 1 for c in self.channels):
            raise ConfigError("hidden widths and channel counts must be positive")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), not {self.dropout}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd and positive, not {self.kernel_size}")
        if self.encoder not in ("dense", "conv"):
            raise ConfigError(f"encoder must be 'dense' or 'conv', not {self.encoder!r}")
        if self.code_size < 1 or self.dense < 0:
            raise ConfigError("code_size must be positive and dense non-negative")
        _, h, w = self.input_shape
        pools = len(self.channels) if self.kind == "cnn" else 0
        if self.kind == "autoencoder" and self.encoder == "conv":
            pools = len(self.channels)
            if h % (2**pools) or w % (2**pools):
                raise ConfigError(
                    f"a convolutional autoencoder with {pools} pooling steps needs a side "
                    f"divisible by {2**pools}; resize with --size or use the dense encoder"
                )
        if pools and (h >> pools) < 1:
            raise ConfigError(
                f"{pools} pooling steps shrink a {h}x{w} image to nothing; use fewer channels "
                "entries or a larger --size"
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
    builders = {"mlp": _mlp, "cnn": _cnn, "autoencoder": Autoencoder}
    if seed is None:
        return builders[spec.kind](spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builders[spec.kind](spec)


def parameter_counts(module: nn.Module) -> dict[str, int]:
    """Weights (matrices and kernels), biases (vectors) and the total, as the lecture counts."""
    weights = sum(p.numel() for p in module.parameters() if p.dim() > 1)
    total = sum(p.numel() for p in module.parameters())
    return {"weights": weights, "biases": total - weights, "total": total}


def is_classifier(spec: ModelSpec) -> bool:
    return spec.kind != "autoencoder"
