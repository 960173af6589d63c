"""Where a model comes from: a `fragility train` folder, a user's factory with weights, or a
torchvision architecture with weights; and the normalisation wrapper that keeps the contract.

The contract every analysis relies on: a model takes float32 images (N, C, H, W) with values in
[0, 1] and returns logits (N, K). A model trained on normalised inputs keeps it when wrapped in
`Normalized(model, mean, std)`, which normalises inside the model (the convention of
AutoAttack and RobustBench), so an attack's epsilon stays a budget in pixel values.

One value, `ModelSource`, names a model's origin; it is JSON-able, recorded in every result and
manifest, and `load(source)` rebuilds the model from it.

Weights are never unpickled in full: `.safetensors` files are parsed by safetensors (a JSON
header and raw bytes), and PyTorch `.pt`/`.pth` state dicts only by
`torch.load(weights_only=True)`, whose restricted unpickler builds tensors and containers and
refuses everything else, so nothing in the file can run. A file that needs full unpickling (a
whole pickled model, custom classes) is refused with a message that says how to convert it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import math
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fragility.contract import evaluating, model_device
from fragility.errors import CheckpointError, ConfigError

KINDS = ("checkpoint", "factory", "torchvision")
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
# Wrappers that training scripts commonly save around a state dict.
_STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")
_FACTORY = re.compile(r"^(?P<where>.+):(?P<fn>[A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from. Exactly the fields of its `kind` are set:

    - checkpoint: `path`, a folder written by `fragility train`;
    - factory: `factory` ("net.py:build" or "package.module:build"), optional `factory_args`
      (keyword arguments, JSON-able), and `weights` (optional: a factory may load its own);
    - torchvision: `arch` (a name `torchvision.models.get_model` knows), `num_classes`, and
      `weights`.

    `normalize` (mean, std per channel) wraps the model in `Normalized`; `name` is what reports
    call it (default: derived from the source).
    """

    kind: str
    name: str = ""
    path: str | None = None
    factory: str | None = None
    factory_args: tuple[tuple[str, Any], ...] = ()
    arch: str | None = None
    num_classes: int | None = None
    weights: str | None = None
    normalize: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"unknown model source {self.kind!r}; choose one of {', '.join(KINDS)}"
            )
        if isinstance(self.factory_args, Mapping):
            object.__setattr__(self, "factory_args", tuple(sorted(self.factory_args.items())))
        need = {"checkpoint": ("path",), "factory": ("factory",), "torchvision": ("arch",)}
        for attr in need[self.kind]:
            if not getattr(self, attr):
                raise ConfigError(f"a {self.kind} model source needs its {attr}")
        if self.kind == "factory" and not _FACTORY.match(self.factory or ""):
            raise ConfigError(
                f"--model-factory {self.factory!r} must be FILE.py:FUNCTION or "
                "package.module:FUNCTION"
            )
        if self.kind == "torchvision" and (self.num_classes is None or self.num_classes < 2):
            raise ConfigError(
                f"torchvision:{self.arch} needs --num-classes K (at least 2), not "
                f"{self.num_classes}"
            )
        if self.normalize is not None:
            mean, std = (tuple(float(v) for v in part) for part in self.normalize)
            if len(mean) != len(std) or not mean:
                raise ConfigError(
                    f"--normalize needs as many means as standard deviations, not {len(mean)} "
                    f"and {len(std)}"
                )
            if not all(math.isfinite(v) for v in (*mean, *std)) or min(std) <= 0:
                raise ConfigError("--normalize needs finite means and positive standard deviations")
            object.__setattr__(self, "normalize", (mean, std))
        if not self.name:
            object.__setattr__(self, "name", self.default_name())

    def default_name(self) -> str:
        if self.kind == "checkpoint":
            return Path(self.path or "model").resolve().name
        if self.kind == "torchvision":
            return str(self.arch)
        where, fn = (self.factory or ":").rsplit(":", 1)
        return f"{Path(where).stem if where.endswith('.py') else where.rsplit('.', 1)[-1]}.{fn}"

    def describe(self) -> str:
        """One line for a reader: where the model came from."""
        if self.kind == "checkpoint":
            text = f"trained by fragility ({self.path})"
        elif self.kind == "torchvision":
            text = f"torchvision {self.arch} with {self.num_classes} classes"
        else:
            text = f"built by {self.factory}"
            if self.factory_args:
                text += "(" + ", ".join(f"{k}={v!r}" for k, v in self.factory_args) + ")"
        if self.weights:
            text += f", weights {Path(self.weights).name}"
        if self.normalize is not None:
            mean, std = self.normalize
            text += f", inputs normalised by mean {list(mean)} and std {list(std)} inside the model"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["factory_args"] = dict(self.factory_args)
        d["normalize"] = None if self.normalize is None else [list(p) for p in self.normalize]
        return {k: v for k, v in d.items() if v not in (None, {}, "")}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSource:
        if not isinstance(d, Mapping):
            raise ConfigError(f"a model source must be a table of settings, not {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"unknown model source setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        kw = dict(d)
        if kw.get("normalize") is not None:
            kw["normalize"] = tuple(tuple(p) for p in kw["normalize"])
        if "factory_args" in kw:
            kw["factory_args"] = dict(kw["factory_args"])
        try:
            return cls(**kw)
        except TypeError as exc:
            raise ConfigError(f"bad model source {dict(d)}: {exc}") from None


def parse_normalize(text: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """'0.4914,0.4822,0.4465:0.247,0.243,0.261' -> ((means...), (stds...))."""
    try:
        mean_text, std_text = text.split(":")
        mean = tuple(float(v) for v in mean_text.split(","))
        std = tuple(float(v) for v in std_text.split(","))
    except ValueError:
        raise ConfigError(
            f"--normalize expects MEAN,...:STD,... (one value per channel), not {text!r}"
        ) from None
    return mean, std


def parse_factory_args(text: str) -> dict[str, Any]:
    """--factory-args: a JSON object of keyword arguments."""
    try:
        args = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--factory-args is not valid JSON ({exc.msg}): {text!r}") from None
    if not isinstance(args, dict):
        raise ConfigError(
            f'--factory-args must be a JSON object of keyword arguments, like {{"width": 64}}, '
            f"not {text!r}"
        )
    return args


# ---------------------------------------------------------------------------------------------
# The normalisation wrapper


class Normalized(nn.Module):
    """`model((x - mean) / std)`: takes [0, 1] images, normalises per channel inside."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.mean.shape[1]:
            raise ConfigError(
                f"--normalize gives {self.mean.shape[1]} channel(s) but the images have "
                f"{x.shape[1]}"
            )
        return self.model((x - self.mean) / self.std)


# ---------------------------------------------------------------------------------------------
# Weights


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file, or from a PyTorch file that
    `torch.load(weights_only=True)` accepts. Never runs code from the file."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"no weights file at {p}; check --weights")
    if p.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(p))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(
                f"{p} is not a valid safetensors file ({first}); if it is a PyTorch file, "
                "name it .pt or .pth"
            ) from None
    if p.suffix not in WEIGHT_SUFFIXES:
        raise CheckpointError(
            f"{p}: unknown weights format {p.suffix!r}; use .safetensors, or a PyTorch state "
            "dict saved as .pt/.pth"
        )
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then refuses
            warnings.simplefilter("ignore")
            obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # the restricted unpickler refused: nothing from the file ran
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{p} cannot be read as plain weights ({first[:160]}); fragility never unpickles "
            "code: in a session you trust, save its state dict with safetensors.torch.save_file("
            "model.state_dict(), 'model.safetensors') and pass that"
        ) from None
    return _state_dict(obj, p)


def _state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    for key in _STATE_DICT_KEYS:  # unwrap {"state_dict": {...}, "epoch": 3} and the like
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(
            f"{path} holds a {type(obj).__name__}, not a state dict (a mapping of names to "
            "tensors); save model.state_dict()"
        )
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if len(tensors) != len(obj):
        bad = next(str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor))
        raise CheckpointError(f"{path}: entry {bad!r} is not a tensor; save model.state_dict()")
    if all(k.startswith("module.") for k in tensors):  # saved from DataParallel
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    return tensors


def weights_hash(tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 over names, shapes and bytes, first 16 hex digits: which weights a result used."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(k.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def apply_weights(model: nn.Module, tensors: Mapping[str, torch.Tensor], where: str) -> None:
    """Load `tensors` strictly, naming every missing, unexpected or mis-shaped entry."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if extra:
            parts.append(f"unexpected {_few(extra)}")
        if wrong:
            parts.append(", ".join(f"{k} is {found[k]} not {expected[k]}" for k in wrong[:3]))
        raise CheckpointError(f"{where} does not fit the model ({'; '.join(parts)})")
    model.load_state_dict(dict(tensors), strict=True)


def _few(names: Sequence[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


# ---------------------------------------------------------------------------------------------
# Factories and torchvision


def import_factory(spec: str) -> Callable[..., Any]:
    """The callable named by "net.py:build" (a file, imported as a module of its own) or
    "package.module:build" (an importable module)."""
    m = _FACTORY.match(spec)
    if m is None:
        raise ConfigError(
            f"--model-factory {spec!r} must be FILE.py:FUNCTION or package.module:FUNCTION"
        )
    where, fn = m["where"], m["fn"]
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ConfigError(f"--model-factory: no file {path}")
        name = f"fragility_user_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
        module = sys.modules.get(name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ConfigError(f"--model-factory: cannot import {path} as Python")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            try:
                loader_spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise ConfigError(f"importing {path} failed: {_exc_line(exc)}") from None
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:
            raise ConfigError(
                f"--model-factory: cannot import {where} ({_exc_line(exc)})"
            ) from None
    factory = getattr(module, fn, None)
    if not callable(factory):
        raise ConfigError(f"--model-factory: {where} has no function {fn}")
    return factory


def _exc_line(exc: BaseException) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _build(source: ModelSource) -> nn.Module:
    if source.kind == "torchvision":
        import torchvision

        if source.arch not in torchvision.models.list_models():
            raise ConfigError(
                f"torchvision has no architecture {source.arch!r}; see "
                "torchvision.models.list_models() (e.g. resnet18, mobilenet_v3_small)"
            )
        # weights=None: never fetch anything; the user's --weights are loaded below
        return torchvision.models.get_model(
            source.arch, weights=None, num_classes=source.num_classes
        )
    factory = import_factory(source.factory or "")
    try:
        model = factory(**dict(source.factory_args))
    except Exception as exc:
        raise ConfigError(f"{source.factory} raised {_exc_line(exc)}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"{source.factory} returned a {type(model).__name__}, not a torch.nn.Module"
        )
    return model


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready for analysis (eval mode, on its device) and what it came from."""

    model: nn.Module
    source: ModelSource
    weights_hash: str | None
    metrics: dict[str, Any] = field(default_factory=dict)  # a train folder's metrics.json
    checkpoint: Any = None  # the train.Checkpoint of a train folder (spec, data source)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def label(self) -> str:
        """What outputs call the model: a train folder's architecture ("cnn 16-32 conv, 64
        dense") unless --name was given, else the source's name."""
        if self.checkpoint is not None and self.source.name == self.source.default_name():
            return str(self.checkpoint.spec.name)
        return self.source.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "description": self.source.describe(),
            "weights_hash": self.weights_hash,
            "parameters": sum(p.numel() for p in self.model.parameters()),
        }


def load(source: ModelSource, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Build the model `source` names, load its weights, wrap it if `normalize` is set, and put
    it in eval mode on `device`."""
    metrics: dict[str, Any] = {}
    ck = None
    if source.kind == "checkpoint":
        from fragility import train

        ck = train.load(source.path or "", device="cpu")
        model, metrics = ck.model, ck.metrics
        digest = weights_hash(model.state_dict())
    else:
        model = _build(source)
        digest = None
        if source.weights:
            tensors = load_weights(source.weights)
            apply_weights(model, tensors, source.weights)
            digest = weights_hash(tensors)
    if source.normalize is not None:
        model = Normalized(model, *source.normalize)
    model.to(device).eval()
    return LoadedModel(
        model=model, source=source, weights_hash=digest, metrics=metrics, checkpoint=ck
    )


def check_fits(model: nn.Module, input_shape: Sequence[int], num_classes: int, name: str) -> None:
    """One forward pass on a grey image of `input_shape`: the model must return (1, K) logits
    with K = the data's class count. Says what to fix when it does not."""
    x = torch.full((1, *input_shape), 0.5, device=model_device(model))
    try:
        with evaluating(model), torch.no_grad():
            out = model(x)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"{name} cannot take images of shape {tuple(input_shape)} (C, H, W) in [0, 1]: "
            f"{_exc_line(exc)}; check --size, the dataset, or --normalize"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(f"{name} must return logits of shape (N, K), not {shape}")
    if out.shape[1] != num_classes:
        raise ConfigError(
            f"{name} scores {out.shape[1]} classes but the data has {num_classes}; "
            "check --num-classes or the dataset"
        )


def initial_model(source: ModelSource | None, model: nn.Module, seed: int = 0) -> nn.Module:
    """The same architecture as `model` before training, for comparisons with the trained
    weights: a train folder's spec built with its training seed; a factory or torchvision
    architecture built again (its own initialisation), seeded; any other module copied with
    every layer's `reset_parameters` (PyTorch's default initialisation), seeded. Parameters
    that no layer resets keep their values. `model` is left as it is."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if source is not None and source.kind == "checkpoint":
            from fragility import train
            from fragility.models import build

            ck = train.load(source.path or "", device="cpu")
            fresh = build(ck.spec, seed=int(ck.metrics.get("train_config", {}).get("seed", seed)))
        elif source is not None:
            fresh = _build(source)
        else:
            import copy

            fresh = copy.deepcopy(model)
            for m in fresh.modules():
                reset = getattr(m, "reset_parameters", None)
                if callable(reset):
                    reset()
            return fresh.to(model_device(model)).eval()
    if source.normalize is not None:
        fresh = Normalized(fresh, *source.normalize)
    return fresh.to(model_device(model)).eval()
