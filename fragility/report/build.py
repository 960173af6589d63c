"""Build the failure report: train or reuse the models, run each section, gather the numbers.

`build(config)` is pure apart from the model cache: it returns a Report (sections, metrics,
manifest, headline findings) and writes nothing else; `fragility.report.writer` writes it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import fragility
from fragility import data as data_mod
from fragility import threads, train
from fragility._progress import progress_bar
from fragility.errors import ConfigError
from fragility.models import default_spec
from fragility.report.section import ReportContext, Section
from fragility.report.sections import ORDER
from fragility.report.sections import made as made_section

CLASSIFIERS = ("mlp", "cnn")


@dataclass(frozen=True)
class ReportConfig:
    # What to load (name, folder, size, split seed, ...); a frozen value, safe as a default.
    data: data_mod.DataSource = data_mod.DataSource()  # noqa: RUF009
    models: tuple[str, ...] = CLASSIFIERS
    seed: int = 0
    quick: bool = False
    device: str = "auto"
    sections: tuple[str, ...] | None = None  # a subset of ORDER, in report order
    cache: bool = True

    def __post_init__(self) -> None:
        bad = [m for m in self.models if m not in CLASSIFIERS]
        if bad or not self.models:
            raise ConfigError(
                f"--models takes a comma-separated list of {', '.join(CLASSIFIERS)}, not "
                f"{','.join(self.models) or 'nothing'}"
            )
        if len(set(self.models)) != len(self.models):
            raise ConfigError("--models lists a model twice")
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


def _train_config(spec: Any, data: data_mod.DataBundle, config: ReportConfig) -> train.TrainConfig:
    cfg = train.default_config(spec, data, seed=config.seed)
    if config.quick and len(data.x_train) >= 10_000:  # a smoke run on the big sets
        cfg = dataclasses.replace(cfg, epochs=1)
    return cfg


def build(
    config: ReportConfig, *, progress: bool = False, command: Sequence[str] | None = None
) -> Report:
    """Train or reuse the models, then build every section in ORDER (or config.sections)."""
    device = train.resolve_device(config.device)
    seconds: dict[str, float] = {}
    wanted = [s for s in ORDER if config.sections is None or s in config.sections]
    steps = ["data", *config.models, "autoencoder", *wanted]
    bar = progress_bar(len(steps), progress, unit="step", desc="report")

    def tick(name: str) -> None:
        if bar is not None:
            bar.set_description(f"report: {name}")

    def done() -> None:
        if bar is not None:
            bar.update(1)

    t0 = time.perf_counter()
    tick("loading data")
    data = data_mod.load(config.data)
    other_data = None
    if "garbage" in wanted:  # images of a different task for its other-data family
        from fragility.garbage.noise import load_other_data

        other_data, _ = load_other_data(data.name, config.data.folder)
    seconds["data"] = time.perf_counter() - t0
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
    ctx = ReportContext(
        data=data,
        classifiers={k: trained[k] for k in config.models},
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
        "models": {k: t.spec.to_dict() for k, t in trained.items()},
        "sections": {s.slug: s.metrics for s in sections if s.metrics},
    }
    title = f"fragility failure report: {data.name}, {' and '.join(config.models)}"
    summary = tuple(f for s in sections for f in s.findings)
    return Report(title, tuple(sections), metrics, manifest, summary)
