"""From a job to the library: one thin adapter per analysis, each calling public functions and
returning the analysis's `to_dict()`. The only module of the grid that knows the analyses.

Every adapter takes a `Context` (the job, its data, the grid folder, the device) and returns an
`Output`: the result (JSON-able), the artefacts it wrote (paths relative to the grid folder)
and the hash of the weights it ran on. `run` takes the wall-clock entries out of the result
(they are stored beside it), so a job's result is the same bits on any executor.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fragility import data as data_mod
from fragility import sources, train
from fragility.errors import ConfigError
from fragility.grid import jobs as jobs_mod
from fragility.grid.jobs import Job
from fragility.models import ModelSpec, default_spec


@dataclass(frozen=True, eq=False)
class Context:
    job: Job
    data: data_mod.DataBundle
    folder: Path  # the grid folder: artefacts are written under it
    device: torch.device

    @property
    def settings(self) -> dict[str, Any]:
        return self.job.definition["analysis"]["settings"]

    @property
    def cache(self) -> bool:
        """Whether networks may come from (and go to) fragility's model cache."""
        return self.job.definition.get("options", {}).get("cache", True)


@dataclass(frozen=True)
class Output:
    result: dict[str, Any]
    artefacts: tuple[str, ...] = ()
    weights_hash: str | None = None


# ---------------------------------------------------------------------------------------------
# Data and models: the one place a job's data source and model source are turned into objects


def load_data(record: Mapping[str, Any]) -> data_mod.DataBundle:
    """The DataBundle a grid's [data] table names (the fields of a DataSource)."""
    return data_mod.load(data_mod.DataSource.from_dict(dict(record)))


def lecture_spec(lecture: Mapping[str, Any], data: data_mod.DataBundle) -> ModelSpec:
    """The ModelSpec of a lecture model on `data` (input shape and class count from the data)."""
    return ModelSpec(input_shape=data.input_shape, num_classes=data.num_classes, **lecture)


def train_config(
    spec: ModelSpec, data: data_mod.DataBundle, settings: Mapping[str, Any], seed: int
) -> train.TrainConfig:
    """`train.default_config` for the model and data, with the grid's settings over it."""
    return dataclasses.replace(train.default_config(spec, data, seed=seed), **settings)


def check(grid: Any, data: data_mod.DataBundle) -> None:
    """Errors a grid's jobs would meet only when they run, raised before any does: a lecture
    network that does not fit the data, a report on a network it does not train, corruptions
    of the other family."""
    from fragility.corruptions import family_for
    from fragility.grid.spec import GridError

    for m in grid.models:
        if m.lecture is None:
            continue
        try:
            spec = lecture_spec(m.lecture, data)
            train_config(spec, data, m.train or {}, 0)
        except (ConfigError, TypeError) as exc:
            raise GridError(f"{m.where}: models.{m.name}: {exc}") from None
        for a in grid.analyses:
            if a.kind == "report" and m in grid.models_of(a):
                default = default_spec(spec.kind, data.input_shape, data.num_classes)
                if spec != default or m.train:
                    raise GridError(
                        f"{a.where}: analyses.{a.name}: the whole report trains the lecture's "
                        f"default {spec.kind} with default settings, and {m.name} is not that "
                        f"network; list only default models in models = [...]"
                    )
    family = family_for(data.x_test[:1])
    for a in grid.analyses:
        bad = [c for c in a.settings.get("corruptions", ()) if c not in family.names]
        if a.kind == "corruptions" and bad:
            raise GridError(
                f"{a.where}: analyses.{a.name}.corruptions: {bad[0]!r} is not a "
                f"{family.name} corruption, the family of {data.name}'s images; choose from "
                f"{', '.join(family.names)}"
            )


def _model(ctx: Context) -> sources.LoadedModel:
    """The job's model, ready for analysis: a lecture model from its train job's checkpoint,
    anything else from its source."""
    job, model = ctx.job, ctx.job.definition["model"]
    if "lecture" in model:
        path = ctx.folder / jobs_mod.checkpoint_dir(job.model or "", job.seed)
        source = sources.ModelSource(kind="checkpoint", name=job.model or "", path=str(path))
    else:
        source = sources.ModelSource.from_dict(model["source"])
    loaded = sources.load(source, device=ctx.device)
    sources.check_fits(loaded.model, ctx.data.input_shape, ctx.data.num_classes, loaded.name)
    return loaded


def _spec(ctx: Context) -> ModelSpec:
    return lecture_spec(ctx.job.definition["model"]["lecture"], ctx.data)


def _evaluation(model: torch.nn.Module, data: data_mod.DataBundle) -> dict[str, Any]:
    """Clean accuracy, loss and calibration (ECE) on the whole test set."""
    import torch.nn.functional as F

    from fragility.metrics import accuracy, calibration

    logits = train.predict(model, data.x_test)
    return {
        "n": len(data.y_test),
        "accuracy": accuracy(logits, data.y_test),
        "loss": float(F.cross_entropy(logits, data.y_test)),
        "calibration": calibration(logits, data.y_test).to_dict(),
    }


def without_timings(d: Any) -> Any:
    """A result without its wall-clock entries (keys that mention "seconds"): timings vary
    from run to run and live in the store's timing columns, not in a result."""
    if isinstance(d, dict):
        return {k: without_timings(v) for k, v in d.items() if "seconds" not in k}
    if isinstance(d, list):
        return [without_timings(v) for v in d]
    return d


# ---------------------------------------------------------------------------------------------
# The adapters


def run_train(ctx: Context) -> Output:
    """Train a lecture network (through the model cache), save its checkpoint in the grid
    folder and measure it on the test set."""
    spec = _spec(ctx)
    config = train_config(spec, ctx.data, ctx.job.definition["model"]["train"], ctx.job.seed)
    trained = train.train(spec, ctx.data, config, device=ctx.device, cache=ctx.cache)
    folder = jobs_mod.checkpoint_dir(ctx.job.model or "", ctx.job.seed)
    train.save(ctx.folder / folder, trained.model, spec, trained.metrics)
    result = {
        "model": spec.to_dict(),
        "name": spec.name,
        "train_config": config.to_dict(),
        "train": trained.result.to_dict(),
        "evaluation": _evaluation(trained.model, ctx.data),
    }
    digest = sources.weights_hash(trained.model.state_dict())
    return Output(result, (folder,), digest)


def run_evaluate(ctx: Context) -> Output:
    """Load a model from its source and measure it on the test set."""
    loaded = _model(ctx)
    result = {**loaded.to_dict(), "evaluation": _evaluation(loaded.model, ctx.data)}
    return Output(result, (), loaded.weights_hash)


def run_attack(ctx: Context) -> Output:
    from fragility.attacks import robust_accuracy
    from fragility.attacks.named import DEFAULT_EPS, build_attack, default_norm

    s, seed = ctx.settings, ctx.job.seed
    loaded = _model(ctx)
    norm = s.get("norm") or default_norm(s["attack"])
    attack = build_attack(s["attack"], norm, s.get("steps"), s["targeted"])
    n = s.get("n", 1000)
    x, y = ctx.data.x_test[:n], ctx.data.y_test[:n]
    target = None
    if s["targeted"]:  # a random other class per image, seeded as `fragility attack` does
        k = ctx.data.num_classes
        gen = torch.Generator().manual_seed(seed)
        target = (y + torch.randint(1, k, (len(y),), generator=gen)) % k
    curve = robust_accuracy(
        loaded.model,
        x,
        y,
        attack,
        (0.0, *s.get("epsilons", DEFAULT_EPS[norm])),
        target=target,
        seed=seed,
        batch_size=s.get("batch_size", 256),
    )
    return Output(curve.to_dict(), (), loaded.weights_hash)


def run_garbage(ctx: Context) -> Output:
    from fragility.garbage import StudyConfig, run_study

    loaded = _model(ctx)
    config = StudyConfig(**ctx.settings, seed=ctx.job.seed)
    spec = _spec(ctx) if "lecture" in ctx.job.definition["model"] else None
    study = run_study(loaded.model, ctx.data, config, spec=spec)
    return Output(study.to_dict(), (), loaded.weights_hash)


def run_inversion(ctx: Context) -> Output:
    from fragility import inversion

    s = ctx.settings
    loaded = _model(ctx)
    config = inversion.MaximizeConfig(
        l2=0.001,
        start="noise",
        steps=s.get("steps", 100),
        restarts=s.get("restarts", 3),
        seed=ctx.job.seed,
    )
    result = inversion.analyse(loaded.model, ctx.data, s.get("parts", inversion.ANALYSES), config)
    return Output(result.to_dict(), (), loaded.weights_hash)


def run_corruptions(ctx: Context) -> Output:
    from fragility.corruptions import corruption_accuracy

    s = ctx.settings
    loaded = _model(ctx)
    n = s.get("n", 1000)
    result = corruption_accuracy(
        loaded.model,
        ctx.data.x_test[:n],
        ctx.data.y_test[:n],
        s.get("corruptions"),
        seed=ctx.job.seed,
    )
    return Output(result.to_dict(), (), loaded.weights_hash)


def run_shortcut(ctx: Context) -> Output:
    """The lecture network retrained with the cue planted, then tested on the cue test sets."""
    from fragility.shortcut import Cue, evaluate_cue, plant

    s, seed, data = ctx.settings, ctx.job.seed, ctx.data
    cue = Cue(s["cue"], data.input_shape, data.num_classes)
    cued = plant(data, cue, s["correlation"], seed=seed, remedy=s.get("remedy"))
    spec = _spec(ctx)
    config = train_config(spec, cued, ctx.job.definition["model"]["train"], seed)
    trained = train.train(spec, cued, config, device=ctx.device, cache=ctx.cache)
    test = evaluate_cue(trained.model, data, cue, seed)
    result = {
        "cue": cue.to_dict(),
        "correlation": s["correlation"],
        "remedy": s.get("remedy"),
        "test": test.to_dict(),
    }
    return Output(result, (), sources.weights_hash(trained.model.state_dict()))


def run_report(ctx: Context) -> Output:
    """The whole failure report, written under reports/ in the grid: a lecture network (the
    report trains the lecture's default, which `check` holds the grid's model to) or a model
    source, loaded as the report command loads one."""
    from fragility.report import writer
    from fragility.report.build import ReportConfig, build

    s, model = ctx.settings, ctx.job.definition["model"]
    if "lecture" in model:
        lecture: dict[str, Any] = {"models": (_spec(ctx).kind,)}
    else:
        lecture = {"models": (), "sources": (sources.ModelSource.from_dict(model["source"]),)}
    config = ReportConfig(
        data=data_mod.DataSource.from_dict(dict(ctx.job.definition["data"])),
        **lecture,
        seed=ctx.job.seed,
        quick=s["quick"],
        device=str(ctx.device),
        sections=s.get("sections"),
        cache=ctx.cache,
    )
    report = build(config, command=["fragility", "grid", ctx.job.id])
    folder = jobs_mod.report_dir(ctx.job.model or "", ctx.job.seed, ctx.job.analysis)
    writer.write(report, ctx.folder / folder)
    brought = report.metrics["models"].get(ctx.job.model or "", {})
    return Output(report.metrics, (folder,), brought.get("weights_hash"))


def monte_carlo_runs(kind: str, settings: Mapping[str, Any], seeds: Sequence[int]) -> int:
    """Runs of a scenario sweep (per cell: the grid's `runs`, else its file's [sweep]) or of a
    sensitivity analysis (worlds per scenario), with its files checked."""
    from scenarios import sensitivity
    from scenarios import spec as scenario_spec

    if kind == "sensitivity":
        sensitivity.simulated_specs(settings["scenarios"])  # every file loads
        runs = int(settings.get("runs", 4096))
        for seed in seeds:
            sensitivity.check_runs(runs, seed, sensitivity.MAX_RUNS)
        return runs
    s = scenario_spec.load(settings["scenario"])
    if s.sweep is None:
        raise ConfigError(
            f"scenario {settings['scenario']} has no [sweep]; give a scenario with Monte Carlo "
            "runs (e.g. tempe-2018-monte-carlo)"
        )
    return int(settings.get("runs") or s.sweep.runs)


def _save_chunk(ctx: Context, arrays: Mapping[str, Any]) -> str:
    """Write a chunk job's arrays for its merge job (whole or not at all); its path."""
    import numpy as np

    job = ctx.job
    name = jobs_mod.chunk_file(
        job.kind.removesuffix("-chunk"), job.analysis, job.seed, job.definition["chunk"]["index"]
    )
    path = ctx.folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.partial.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return name


def _load_chunks(ctx: Context) -> list[dict[str, Any]]:
    """The arrays of a merge job's chunks, in order; keys "SPEC/FIELD"."""
    import numpy as np

    job, parts = ctx.job, []
    for i in range(job.definition["chunks"]):
        with np.load(ctx.folder / jobs_mod.chunk_file(job.kind, job.analysis, job.seed, i)) as f:
            parts.append({k: f[k] for k in f.files})
    return parts


def _joined(parts: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """The arrays of spec (or cell) `index`, its chunks joined in order."""
    import numpy as np

    keys = [k.split("/", 1)[1] for k in parts[0] if k.split("/", 1)[0] == str(index)]
    return {k: np.concatenate([p[f"{index}/{k}"] for p in parts]) for k in keys}


def run_scenario_chunk(ctx: Context) -> Output:
    """Blocks [first, last) of every cell's runs of a sweep, for the merge job."""
    from scenarios import spec as scenario_spec
    from scenarios import sweep

    s, job = ctx.settings, ctx.job
    first, last = job.definition["chunk"]["part"]
    arrays = {}
    for c, (_, cell_spec) in enumerate(sweep.cells(scenario_spec.load(s["scenario"]))):
        out = sweep.run_cell(cell_spec, s["runs"], job.seed, c, blocks=range(first, last))
        arrays.update({f"{c}/{k}": v for k, v in out.items()})
    runs = len(next(iter(arrays.values())))
    return Output({"blocks": [first, last], "runs": runs}, (_save_chunk(ctx, arrays),))


def run_scenario(ctx: Context) -> Output:
    """The sweep from its chunks: each cell's arrays joined in block order, then summarised as
    `scenarios.sweep.sweep` does, so the result equals the unchunked sweep."""
    from scenarios import spec as scenario_spec
    from scenarios import sweep

    s, job = ctx.settings, ctx.job
    spec = scenario_spec.load(s["scenario"])
    parts = _load_chunks(ctx)
    cells = [
        sweep.summarise_cell(values, s["runs"], _joined(parts, c))
        for c, (values, _) in enumerate(sweep.cells(spec))
    ]
    return Output(sweep.sweep_result(spec, s["runs"], job.seed, cells).to_dict())


def run_sensitivity_chunk(ctx: Context) -> Output:
    """Worlds [first, last) of every scenario the analysis simulates, for the merge job."""
    from scenarios import sensitivity

    s, job = ctx.settings, ctx.job
    first, last = job.definition["chunk"]["part"]
    simulated = sensitivity.simulate_part(s["scenarios"], s["runs"], job.seed, range(first, last))
    arrays = {f"{i}/{k}": v for i, out in enumerate(simulated.values()) for k, v in out.items()}
    return Output({"worlds": [first, last]}, (_save_chunk(ctx, arrays),))


def run_sensitivity(ctx: Context) -> Output:
    """`scenarios.sensitivity.run` on the worlds its chunks simulated: the unchunked result."""
    from scenarios import sensitivity

    s, job = ctx.settings, ctx.job
    parts = _load_chunks(ctx)
    specs = sensitivity.simulated_specs(s["scenarios"])
    simulated = {spec.path: _joined(parts, i) for i, spec in enumerate(specs)}
    result = sensitivity.run(s["scenarios"], runs=s["runs"], seed=job.seed, simulated=simulated)
    return Output(result.to_dict())


RUNNERS: dict[str, Callable[[Context], Output]] = {
    "train": run_train,
    "evaluate": run_evaluate,
    "attack": run_attack,
    "garbage": run_garbage,
    "inversion": run_inversion,
    "corruptions": run_corruptions,
    "shortcut": run_shortcut,
    "report": run_report,
    "scenario-chunk": run_scenario_chunk,
    "scenario": run_scenario,
    "sensitivity-chunk": run_sensitivity_chunk,
    "sensitivity": run_sensitivity,
}


def run(ctx: Context) -> Output:
    """The job's analysis; its result without timings (the same bits on any executor)."""
    out = RUNNERS[ctx.job.kind](ctx)
    return dataclasses.replace(out, result=without_timings(out.result))
