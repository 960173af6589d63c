"""Build the failure report: train, reuse or load the models, run each section, gather the
numbers.

`build(config)` is pure apart from the model cache: it returns a Report (sections, metrics,
manifest, headline findings) and writes nothing else; `fragility.report.writer` writes it.
The models are the lecture's networks trained on the data (`config.models`), models brought
from outside (`config.sources`: train folders, factories with weights, torchvision
architectures), and modules handed over directly (`build(models={"name": module})`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import fragility
from fragility import data as data_mod
from fragility import sources, threads, train
from fragility._progress import progress_bar
from fragility.errors import ConfigError
from fragility.models import default_spec
from fragility.report.section import Classifier, ReportContext, Section
from fragility.report.sections import ORDER
from fragility.report.sections import made as made_section

if TYPE_CHECKING:
    from torch import nn

CLASSIFIERS = ("mlp", "cnn")


@dataclass(frozen=True)
class ReportConfig:
    # What to load (name, folder, size, split seed, ...); a frozen value, safe as a default.
    data: data_mod.DataSource = data_mod.DataSource()  # noqa: RUF009
    models: tuple[str, ...] = CLASSIFIERS  # the lecture's networks, trained on the data
    sources: tuple[sources.ModelSource, ...] = ()  # models brought from outside
    seed: int = 0
    quick: bool = False
    device: str = "auto"
    sections: tuple[str, ...] | None = None  # a subset of ORDER, in report order
    cache: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "sources", tuple(self.sources))
        bad = [m for m in self.models if m not in CLASSIFIERS]
        if bad:
            raise ConfigError(
                f"--models takes a comma-separated list of {', '.join(CLASSIFIERS)}, not "
                f"{','.join(self.models)}"
            )
        if len(set(self.models)) != len(self.models):
            raise ConfigError("--models lists a model twice")
        _unique([*self.models, *(s.name for s in self.sources)])
        unknown = [s for s in self.sections or () if s not in ORDER]
        if unknown:
            raise ConfigError(f"unknown section {unknown[0]!r}; sections: {', '.join(ORDER)}")


@dataclass(frozen=True, eq=False)
class Report:
    title: str
    sections: tuple[Section, ...]
    metrics: dict[str, Any]
    manifest: dict[str, Any]
    summary: tuple[str, ...]


def _versions() -> dict[str, str]:
    import matplotlib
    import numpy
    import torch
    import torchvision

    return {
        "fragility": fragility.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _unique(names: Sequence[str]) -> None:
    twice = next((n for n in names if list(names).count(n) > 1), None)
    if twice is not None:
        raise ConfigError(f"two models are called {twice!r}; give each its own --name")


def _train_config(spec: Any, data: data_mod.DataBundle, config: ReportConfig) -> train.TrainConfig:
    cfg = train.default_config(spec, data, seed=config.seed)
    if config.quick and len(data.x_train) >= 10_000:  # a smoke run on the big sets
        cfg = dataclasses.replace(cfg, epochs=1)
    return cfg


def build(
    config: ReportConfig | None = None,
    *,
    models: Mapping[str, nn.Module] | None = None,
    data: data_mod.DataBundle | None = None,
    progress: bool = False,
    command: Sequence[str] | None = None,
) -> Report:
    """Train, reuse or load the models, then build every section in ORDER (or
    config.sections).

    `models` are classifiers handed over directly, by name (each takes (N, C, H, W) images in
    [0, 1] and returns (N, K) logits; wrap one that expects normalised input in
    `fragility.sources.Normalized`); `data` is a DataBundle to study them on instead of
    `config.data`. Without a config, handing over `models` trains none of the lecture's."""
    if config is None:
        config = ReportConfig(models=() if models else CLASSIFIERS)
    given = dict(models or {})
    _unique([*config.models, *(s.name for s in config.sources), *given])
    if not (config.models or config.sources or given):
        raise ConfigError(
            "the report needs a model: --models mlp,cnn, or one of your own (--model-factory, "
            "--arch, --checkpoint)"
        )
    device = train.resolve_device(config.device)
    seconds: dict[str, float] = {}
    wanted = [s for s in ORDER if config.sections is None or s in config.sections]
    brought = [*(s.name for s in config.sources), *given]
    steps = ["data", *brought, *config.models, "autoencoder", *wanted]
    bar = progress_bar(len(steps), progress, unit="step", desc="report")

    def tick(name: str) -> None:
        if bar is not None:
            bar.set_description(f"report: {name}")

    def done() -> None:
        if bar is not None:
            bar.update(1)

    t0 = time.perf_counter()
    tick("loading data")
    if data is None:
        data = data_mod.load(config.data)
    other_data = None
    if "garbage" in wanted:  # images of a different task for its other-data family
        from fragility.garbage.noise import load_other_data

        other_data, _ = load_other_data(data.name, config.data.folder)
    seconds["data"] = time.perf_counter() - t0
    done()
    classifiers: dict[str, Classifier] = {}
    for source in config.sources:
        tick(f"loading {source.name}")
        t0 = time.perf_counter()
        classifiers[source.name] = _load(source, data, device)
        seconds[f"load {source.name}"] = time.perf_counter() - t0
        done()
    for name, module in given.items():
        tick(f"checking {name}")
        classifiers[name] = _handed_over(name, module, data, device)
        done()
    trained: dict[str, train.Trained] = {}
    for kind in (*config.models, "autoencoder"):
        tick(f"training {kind}")
        t0 = time.perf_counter()
        spec = default_spec(kind, data.input_shape, data.num_classes)
        trained[kind] = train.train(
            spec,
            data,
            _train_config(spec, data, config),
            device=device,
            cache=config.cache,
            progress=progress,
        )
        seconds[f"train {kind}"] = time.perf_counter() - t0
        done()
    for kind in config.models:
        classifiers[kind] = Classifier(kind, trained[kind].model, trained=trained[kind])
    ctx = ReportContext(
        data=data,
        classifiers=classifiers,
        autoencoder=trained["autoencoder"],
        seed=config.seed,
        quick=config.quick,
        device=device,
        progress=progress,
        other_data=other_data,
    )
    sections: list[Section] = []
    for slug in wanted:
        module = importlib.import_module(f"fragility.report.sections.{slug}")
        tick(module.TITLE)
        t0 = time.perf_counter()
        section = module.build(ctx)
        seconds[slug] = time.perf_counter() - t0
        sections.append(dataclasses.replace(section, seconds=seconds[slug]))
        done()
    if bar is not None:
        bar.close()
    manifest = {
        "command": " ".join(command) if command is not None else " ".join(sys.argv),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": config.seed,
        "quick": config.quick,
        "device": str(device),
        "threads": threads.policy().to_dict(),
        "versions": _versions(),
        "dataset": data.to_dict(),
        "models": {
            **{name: c.to_dict() for name, c in classifiers.items() if c.brought},
            **{
                k: {
                    "spec": t.spec.name,
                    "spec_json": t.spec.to_dict(),
                    "train_config": t.config.to_dict(),
                    "from_cache": t.from_cache,
                    "train_seconds": t.result.seconds,
                    "cache_path": str(t.path) if t.path else None,
                }
                for k, t in trained.items()
            },
        },
        "seconds": seconds,
        "total_seconds": sum(seconds.values()),
    }
    comparisons = [c for s in sections for c in s.comparisons]
    sections.append(made_section.build(manifest, comparisons))
    metrics = {
        "fragility_version": fragility.__version__,
        "seed": config.seed,
        "quick": config.quick,
        "dataset": {k: v for k, v in data.to_dict().items() if k != "location"},
        "models": {
            **{name: c.to_dict() for name, c in classifiers.items() if c.brought},
            **{k: t.spec.to_dict() for k, t in trained.items()},
        },
        "sections": {s.slug: s.metrics for s in sections if s.metrics},
    }
    title = f"fragility failure report: {data.name}, {' and '.join(classifiers)}"
    summary = tuple(f for s in sections for f in s.findings)
    return Report(title, tuple(sections), metrics, manifest, summary)


def _load(source: sources.ModelSource, data: data_mod.DataBundle, device: Any) -> Classifier:
    """A brought model, loaded and checked against the data; a train folder keeps what
    fragility recorded of its training (spec, settings, history)."""
    loaded = sources.load(source, device=device)
    ck = loaded.checkpoint
    if ck is not None and ck.spec.kind == "autoencoder":
        raise ConfigError(f"{source.path} holds an autoencoder; the report studies classifiers")
    sources.check_fits(loaded.model, data.input_shape, data.num_classes, source.name)
    recorded = None
    if ck is not None and "result" in ck.metrics and "train_config" in ck.metrics:
        recorded = train.Trained(
            model=loaded.model,
            spec=ck.spec,
            config=train.TrainConfig(**ck.metrics["train_config"]),
            result=train.TrainResult.from_dict(ck.metrics["result"]),
            metrics=ck.metrics,
            from_cache=False,
            path=ck.path,
        )
    return Classifier(
        source.name,
        loaded.model,
        trained=recorded,
        source=source,
        weights_hash=loaded.weights_hash,
    )


def _handed_over(
    name: str, module: nn.Module, data: data_mod.DataBundle, device: Any
) -> Classifier:
    """A module given to build(models=...): checked, in eval mode, on the report's device."""
    from torch import nn

    if not isinstance(module, nn.Module):
        raise ConfigError(f"models[{name!r}] is a {type(module).__name__}, not a torch.nn.Module")
    module.to(device).eval()
    sources.check_fits(module, data.input_shape, data.num_classes, name)
    digest = sources.weights_hash(module.state_dict())
    return Classifier(name, module, weights_hash=digest)
