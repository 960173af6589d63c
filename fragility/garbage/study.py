"""All the garbage analyses of one classifier, run together with one set of settings.

The command (`fragility garbage`) and the report section both call `run_study`; it runs the
asked-for parts, then judges every kind of garbage it made with the same yardsticks
(unrecognisability, transfer, the out-of-distribution detectors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from fragility._timing import Timings, stage
from fragility.data import DataBundle
from fragility.errors import ConfigError
from fragility.garbage._model import fooling_summary
from fragility.garbage.ascent import STARTS, AscentResult, ascent
from fragility.garbage.ceiling import WITNESS_MAX_ITER, Ceiling, confidence_ceiling
from fragility.garbage.cppn import CPPNEncoding
from fragility.garbage.detect import (
    OODRow,
    Transfer,
    Unrecognisability,
    ood_baseline,
    transfer,
    unrecognisability,
)
from fragility.garbage.evolve import POPULATION, DirectEncoding, EvolutionResult, evolve
from fragility.garbage.noise import DESCRIPTIONS, Survey, noise_families, survey
from fragility.garbage.retrain import RetrainResult, retrain_with_garbage_class
from fragility.models import ModelSpec

METHODS = ("survey", "ascent", "evolve-direct", "evolve-cppn", "retrain")
FOOLING = ("ascent", "evolve-direct", "evolve-cppn")  # the methods that make fooling images


@dataclass(frozen=True)
class StudyConfig:
    """Settings of a study; `methods` picks the parts (METHODS)."""

    methods: tuple[str, ...] = METHODS
    target: float = 0.9999
    samples: int = 1000  # images per survey family
    ascent_start: str = "noise"
    ascent_steps: int = 1000
    step_size: float = 0.01
    eps: float | None = None
    recon_weight: float = 0.0
    generations: int = 200
    population: int = POPULATION
    evolve_start: str = "uniform"  # the direct encoding's start: "uniform" | "black"
    retrain_generations: int | None = None  # default: generations
    reference_images: int = 200  # real test images measured beside the garbage
    witness_iterations: int = WITNESS_MAX_ITER  # L-BFGS-B iterations per start (ceiling)
    seed: int = 0

    def __post_init__(self) -> None:
        _check_methods(self.methods)
        if not 0.0 < self.target < 1.0:
            raise ConfigError(f"target confidence must lie in (0, 1), not {self.target}")
        DirectEncoding(start=self.evolve_start)  # validates it
        if self.ascent_start not in STARTS:
            raise ConfigError(f"unknown start {self.ascent_start!r}; choose {', '.join(STARTS)}")
        if min(self.samples, self.population, self.reference_images, self.witness_iterations) < 1:
            raise ConfigError(
                "samples, population, reference_images and witness_iterations must be positive"
            )
        if self.generations < 0 or self.ascent_steps < 0:
            raise ConfigError("generations and ascent steps must be non-negative")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "methods": list(self.methods)}


@dataclass(frozen=True, eq=False)
class StudyResult:
    config: StudyConfig
    class_names: tuple[str, ...]
    ceiling: Ceiling | None  # per class: the proved ceiling and the best input known
    survey: Survey | None = None
    ascent: AscentResult | None = None
    direct: EvolutionResult | None = None
    cppn: EvolutionResult | None = None
    unrecognisability: tuple[Unrecognisability, ...] = ()
    transfer: Mapping[str, Transfer] = field(default_factory=dict)  # kind -> on the other model
    ood: tuple[OODRow, ...] = ()
    retrain: RetrainResult | None = None

    def made(self) -> dict[str, AscentResult | EvolutionResult]:
        """The methods that made fooling images, by name (FOOLING), with their results."""
        runs = {"ascent": self.ascent, "evolve-direct": self.direct, "evolve-cppn": self.cppn}
        return {name: r for name, r in runs.items() if r is not None}

    def fooling(self) -> dict[str, tuple[torch.Tensor, tuple[int, ...], np.ndarray]]:
        """The fooling images per method: (images, classes, confidence). For ascent, the
        ceiling's witness stands in for the classes it finished (`finished_by_witness`)."""
        out = {name: (r.images, r.classes, r.confidence) for name, r in self.made().items()}
        rows = list(self.finished_by_witness)
        if rows and self.ceiling is not None and self.ceiling.witness is not None:
            images, classes, conf = out["ascent"]
            images, conf = images.clone(), conf.copy()
            images[rows] = self.ceiling.witness[rows]
            conf[rows] = self.ceiling.witness_confidence[rows]
            out["ascent"] = (images, classes, conf)
        return out

    @property
    def finished_by_witness(self) -> tuple[int, ...]:
        """Classes gradient ascent left below the target that the ceiling's witness search,
        started from the ascent's image, brought to it (the search's answer for them)."""
        if self.ascent is None or self.ceiling is None or self.ceiling.witness is None:
            return ()
        target = self.config.target
        return tuple(
            k
            for k in range(len(self.ceiling.bound))
            if self.ceiling.witness_confidence[k] >= target > self.ascent.confidence[k]
        )

    def _ascent_with_witness(self) -> dict[str, Any] | None:
        """The ascent's classes and confidences once the witness stands in where it finished a
        class: what the search reached in the end."""
        if self.ascent is None:
            return None
        return {
            "finished_by_witness": list(self.finished_by_witness),
            **fooling_summary(self.fooling()["ascent"][2], self.config.target),
        }

    def to_dict(self) -> dict[str, Any]:
        """Every number of the study. The methods keep their names (METHODS) everywhere: as
        keys here, as the garbage families of `ood`, `unrecognisability` and `transfer`."""
        names = self.class_names
        made = self.made()
        return {
            "settings": self.config.to_dict(),
            "class_names": list(names),
            "confidence_ceiling": None if self.ceiling is None else self.ceiling.to_dict(names),
            "ascent_with_witness": self._ascent_with_witness(),
            "survey": None if self.survey is None else self.survey.to_dict(names),
            **{name: made[name].to_dict(names) if name in made else None for name in FOOLING},
            "unrecognisability": {u.name: u.to_dict() for u in self.unrecognisability},
            "transfer": {k: t.to_dict() for k, t in self.transfer.items()},
            "ood": {r.family: r.to_dict() for r in self.ood},
            "retrain": None if self.retrain is None else self.retrain.to_dict(names),
        }


def run_study(
    model: nn.Module,
    data: DataBundle,
    config: StudyConfig,
    *,
    autoencoder: nn.Module | None = None,
    other_model: nn.Module | None = None,
    other_images: torch.Tensor | None = None,
    other_note: str | None = None,
    spec: ModelSpec | None = None,
    progress: bool = False,
    timings: Timings | None = None,
) -> StudyResult:
    """Run the parts of `config.methods` on `model` (trained on `data`).

    autoencoder: for the reconstruction-error detector and distances (skipped without one).
    other_model: a second classifier for transfer. other_images: images of a different task for
    the survey's other-data family (`noise.load_other_data` chooses them), other_note: which
    (the family's description). spec: the model's ModelSpec, needed to retrain it.
    timings: where to record the wall time of each part (named as in METHODS, and "judge"),
    apart from the result.
    """
    cfg, shape, seed = config, data.input_shape, config.seed
    if "retrain" in cfg.methods and spec is None:
        raise ConfigError("the retraining experiment needs the model's spec (a checkpoint)")
    parts: dict[str, Any] = {}
    families = noise_families(
        cfg.samples,
        shape,
        seed=seed,
        test_images=data.x_test,
        other_images=other_images,
        unclipped=True,
    )
    if "survey" in cfg.methods:
        with stage(timings, "survey"):
            notes = {**DESCRIPTIONS, **({"other-data": other_note} if other_note else {})}
            parts["survey"] = survey(model, {"test": data.x_test, **families}, descriptions=notes)
    if "ascent" in cfg.methods:
        with stage(timings, "ascent"):
            parts["ascent"] = ascent(
                model,
                start=cfg.ascent_start,
                shape=shape,
                target=cfg.target,
                step_size=cfg.step_size,
                max_steps=cfg.ascent_steps,
                eps=cfg.eps,
                autoencoder=autoencoder if cfg.recon_weight else None,
                recon_weight=cfg.recon_weight,
                restart=None if cfg.ascent_start == "blank" else "blank",
                seed=seed,
                progress=progress,
            )
    with stage(timings, "ceiling"):
        parts["ceiling"] = confidence_ceiling(
            model,
            shape,
            target=cfg.target,
            starts=parts["ascent"].images if "ascent" in parts else None,
            seed=seed,
            max_iter=cfg.witness_iterations,
        )
    evo = {"generations": cfg.generations, "population": cfg.population, "target": cfg.target}
    if "evolve-direct" in cfg.methods:
        direct = DirectEncoding(start=cfg.evolve_start)
        with stage(timings, "evolve-direct"):
            parts["direct"] = evolve(model, direct, shape, seed=seed, progress=progress, **evo)
    if "evolve-cppn" in cfg.methods:
        with stage(timings, "evolve-cppn"):
            parts["cppn"] = evolve(
                model, CPPNEncoding(), shape, seed=seed, progress=progress, **evo
            )
    if "retrain" in cfg.methods:
        assert spec is not None
        with stage(timings, "retrain"):
            parts["retrain"] = retrain_with_garbage_class(
                spec,
                data,
                model,
                DirectEncoding(start=cfg.evolve_start),
                target=cfg.target,
                generations=cfg.retrain_generations or cfg.generations,
                population=cfg.population,
                seed=seed,
                progress=progress,
            )
    partial = StudyResult(cfg, data.class_names, **parts)
    with stage(timings, "judge"):
        return _judge(partial, model, data, families, autoencoder, other_model)


def _judge(
    result: StudyResult,
    model: nn.Module,
    data: DataBundle,
    families: Mapping[str, torch.Tensor],
    autoencoder: nn.Module | None,
    other_model: nn.Module | None,
) -> StudyResult:
    """Measure every kind of garbage made, beside real test images."""
    cfg = result.config
    gen = torch.Generator().manual_seed(cfg.seed)
    n_ref = min(cfg.reference_images, len(data.x_test))
    reference = data.x_test[torch.randperm(len(data.x_test), generator=gen)[:n_ref]]
    made = result.fooling()
    measured = {"test": reference, "uniform": families["uniform"][:n_ref]}
    measured.update({k: v[0] for k, v in made.items()})
    unrec = tuple(
        unrecognisability(name, x, data.x_train, autoencoder) for name, x in measured.items()
    )
    moved = {}
    if other_model is not None:
        moved = {k: transfer(x, cls, other_model) for k, (x, cls, _) in made.items()}
    ood_families = {**families, **{k: v[0] for k, v in made.items()}}
    ood = ood_baseline(model, data.x_test, ood_families, autoencoder)
    return dataclasses.replace(result, unrecognisability=unrec, transfer=moved, ood=ood)


def parse_methods(text: str | Sequence[str]) -> tuple[str, ...]:
    """'all', a method name, or names separated by commas -> a tuple of METHODS."""
    items = [text] if isinstance(text, str) else list(text)
    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    if "all" in names:
        return METHODS
    _check_methods(names)
    return tuple(dict.fromkeys(names))


def _check_methods(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise ConfigError(
            f"unknown method {', '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(METHODS)} or all"
        )
