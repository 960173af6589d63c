"""Grid files: TOML -> a frozen `GridSpec`, validated as strictly as scenario files.

A grid crosses models, analyses and seeds on one dataset:

    name = "digits-small"
    seeds = [0]

    [data]                        # one data source for every job
    name = "digits"

    [[models]]                    # a lecture network, trained by the grid's first job for it
    name = "mlp-16"
    lecture = { kind = "mlp", hidden = [16, 16] }

    [[models]]                    # or a model from elsewhere (fragility.sources.ModelSource)
    name = "student"
    factory = "net.py:build"
    weights = "net.safetensors"

    [[analyses]]
    kind = "attack"
    epsilons = [0.05, 0.1, 0.2]
    steps = 20

Every analysis runs on every model (or on the models it names) for every seed. An analysis
table's keys are the analysis's own settings; a key left out takes the library's default.
Unknown keys, wrong types and values out of range raise `GridError` with the file, the line and
the key, through the same machinery as scenario files (`fragility.tomlfile`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fragility import tomlfile
from fragility.attacks.named import ATTACKS, NORMS
from fragility.corruptions import FAMILIES
from fragility.data import DATASETS, DEFAULT_DATASET, DataSource
from fragility.errors import ConfigError, DataError, FragilityError
from fragility.garbage.study import METHODS
from fragility.inversion import ANALYSES as INVERSE_PARTS
from fragility.models import ACTIVATIONS
from fragility.report.sections import ORDER as REPORT_SECTIONS
from fragility.shortcut import CUES, REMEDIES
from fragility.sources import ModelSource
from fragility.tomlfile import (
    choice,
    flag,
    mapping,
    num,
    numbers,
    table,
    text,
    texts,
    whole,
    wholes,
    words,
)
from fragility.train import OPTIMIZERS

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_SEED = 2**32 - 1
DEVICES = ("cpu", "cuda")


class GridError(FragilityError):
    """A grid file is missing, malformed or asks for something impossible."""


# ---------------------------------------------------------------------------------------------
# The schema: each table of a grid file is one of these dataclasses


@dataclass(frozen=True)
class DataTable:
    """The dataset every job uses: the fields of a `fragility.data.DataSource`."""

    name: str = choice("the dataset", *DATASETS, default=DEFAULT_DATASET)
    folder: str | None = text("folder (or .npz file) with the dataset's files", optional=True)
    download: bool = flag("let torchvision fetch the files", default=False)
    size: int | None = whole("resize images to size x size", 4, 256, optional=True)
    split_seed: int = whole("seed of the train/test split", 0, MAX_SEED, default=0)
    test_fraction: float | None = num(
        "test share of a seeded split", 0, 1, lo_open=True, optional=True
    )
    channels: int | None = whole("1 (grey) or 3 (RGB)", 1, 3, optional=True)


@dataclass(frozen=True)
class LectureTable:
    """A lecture network (fragility.models.ModelSpec); sizes of the input and output come from
    the data."""

    kind: str = choice("the architecture", "mlp", "cnn")
    hidden: tuple[int, ...] | None = wholes(
        "hidden layer widths (mlp)", 1, 100_000, items=(1, 16), optional=True, distinct=False
    )
    activation: str | None = choice("hidden activation (mlp)", *ACTIVATIONS, optional=True)
    channels: tuple[int, ...] | None = wholes(
        "convolution channels per block (cnn)",
        1,
        4096,
        items=(1, 8),
        optional=True,
        distinct=False,
    )
    kernel_size: int | None = whole("convolution kernel side (cnn; odd)", 1, 31, optional=True)
    dense: int | None = whole("dense layer width (cnn)", 0, 100_000, optional=True)
    dropout: float | None = num("dropout share (cnn)", 0.0, 0.99, optional=True)


@dataclass(frozen=True)
class TrainTable:
    """How the grid trains a lecture network (fragility.train.TrainConfig); a key left out
    takes `train.default_config`'s value for the model and data."""

    epochs: int | None = whole("passes over the training set", 1, 10_000, optional=True)
    batch_size: int | None = whole("images per step", 1, 65_536, optional=True)
    lr: float | None = num("learning rate", 0, 10, lo_open=True, optional=True)
    optimizer: str | None = choice("the optimiser", *OPTIMIZERS, optional=True)
    momentum: float | None = num("SGD momentum", 0, 1, optional=True)
    weight_decay: float | None = num("weight decay", 0, 1, optional=True)


@dataclass(frozen=True)
class NormalizeTable:
    """Per-channel mean and standard deviation the model expects its inputs normalised by."""

    mean: tuple[float, ...] = numbers("per-channel means", -1e6, 1e6, items=(1, 4))
    std: tuple[float, ...] = numbers("per-channel standard deviations", 0, 1e6, items=(1, 4))


@dataclass(frozen=True)
class ModelTable:
    """One model: a lecture network the grid trains, or a model source (a `fragility train`
    folder, a factory with weights, a torchvision architecture)."""

    name: str = text("the model's name in the grid and on the leaderboard")
    lecture: LectureTable | None = table(  # noqa: RUF009
        "a lecture network to train", LectureTable, optional=True
    )
    train: TrainTable | None = table(  # noqa: RUF009
        "training settings (lecture)", TrainTable, optional=True
    )
    checkpoint: str | None = text("a folder written by fragility train", optional=True)
    factory: str | None = text("FILE.py:FUNCTION or package.module:FUNCTION", optional=True)
    factory_args: tuple | None = mapping("keyword arguments of the factory", optional=True)
    arch: str | None = text("a torchvision architecture, e.g. resnet18", optional=True)
    num_classes: int | None = whole("classes of the torchvision model", 2, 100_000, optional=True)
    weights: str | None = text("a .safetensors file or a PyTorch state dict", optional=True)
    normalize: NormalizeTable | None = table(  # noqa: RUF009
        "normalisation inside the model", NormalizeTable, optional=True
    )
    device: str | None = choice("where this model's jobs compute", *DEVICES, optional=True)


@dataclass(frozen=True)
class AttackTable:
    """Robust accuracy over an epsilon grid (fragility.attacks.robust_accuracy)."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    attack: str = choice("the attack", *ATTACKS, default="pgd")
    norm: str | None = choice("the threat model (default: linf; cw: l2)", *NORMS, optional=True)
    epsilons: tuple[float, ...] | None = numbers(
        "budgets (0 is added: the clean accuracy)", 0, 1e3, items=(1, 64), optional=True
    )
    steps: int | None = whole("iterations", 1, 100_000, optional=True)
    n: int | None = whole("test images to attack (default 1000)", 1, 10_000_000, optional=True)
    batch_size: int | None = whole("images per batch", 1, 65_536, optional=True)
    targeted: bool = flag("aim each image at a random other class", default=False)


@dataclass(frozen=True)
class GarbageTable:
    """Confident garbage (fragility.garbage.run_study); keys left out take StudyConfig's."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    methods: tuple[str, ...] | None = words("which parts", *METHODS, optional=True)
    target: float | None = num("confidence to reach", 0, 1, lo_open=True, optional=True)
    samples: int | None = whole("images per survey family", 1, 1_000_000, optional=True)
    ascent_steps: int | None = whole("gradient-ascent steps", 0, 1_000_000, optional=True)
    step_size: float | None = num("gradient-ascent step", 0, 10, lo_open=True, optional=True)
    generations: int | None = whole("evolution generations", 0, 1_000_000, optional=True)
    population: int | None = whole("evolution population", 1, 1_000_000, optional=True)
    reference_images: int | None = whole("real images measured beside", 1, 100_000, optional=True)


@dataclass(frozen=True)
class InversionTable:
    """Inverse images (fragility.inversion.analyse)."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    parts: tuple[str, ...] | None = words("which parts", *INVERSE_PARTS, optional=True)
    steps: int | None = whole("optimisation steps per image", 1, 100_000, optional=True)
    restarts: int | None = whole("random restarts per unit", 1, 1000, optional=True)


@dataclass(frozen=True)
class CorruptionsTable:
    """Accuracy under corruptions (fragility.corruptions.corruption_accuracy)."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    corruptions: tuple[str, ...] | None = words(
        "which corruptions (of the family for the data's channels)",
        *dict.fromkeys(n for f in FAMILIES.values() for n in f.names),
        optional=True,
    )
    n: int | None = whole("test images (default 1000)", 1, 10_000_000, optional=True)


@dataclass(frozen=True)
class ShortcutTable:
    """The crosswalk lesson (fragility.shortcut): the model retrained with a cue planted on a
    share of the training images, then tested on the four cue test sets."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    cue: str = choice("the planted cue", *CUES, default="stripes")
    correlation: float = num("share of each class's images with the cue", 0, 1, default=0.9)
    remedy: str | None = choice("break the correlation", *REMEDIES, optional=True)


@dataclass(frozen=True)
class ReportTable:
    """The whole failure report (fragility.report.build): the lecture's default network, trained
    by the report, or a model source, loaded from it."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    quick: bool = flag("smaller budgets: a smoke run", default=True)
    sections: tuple[str, ...] | None = words("which sections", *REPORT_SECTIONS, optional=True)


@dataclass(frozen=True)
class ScenarioTable:
    """A scenario's Monte Carlo sweep (scenarios.sweep), split into chunks of runs by seed."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    scenario: str = text("a scenario name or .toml file with a [sweep]")
    runs: int | None = whole(
        "runs per grid cell (default: the file's)", 1, 10_000_000, optional=True
    )
    chunk_runs: int | None = whole(
        "runs per job, a multiple of 4096 (default 16384)", 1, 10_000_000, optional=True
    )


@dataclass(frozen=True)
class SensitivityTable:
    """Scenarios over their plausible worlds (scenarios.sensitivity), split into chunks of
    runs by seed."""

    name: str | None = text("the analysis's name (default: its kind)", optional=True)
    scenarios: tuple[str, ...] = texts("scenario names or .toml files", items=(1, 64))
    runs: int | None = whole("worlds per scenario (default 4096)", 1, 1_000_000, optional=True)
    chunk_runs: int | None = whole("worlds per job (default 16384)", 1, 1_000_000, optional=True)


MODEL_ANALYSES: dict[str, type] = {
    "attack": AttackTable,
    "garbage": GarbageTable,
    "inversion": InversionTable,
    "corruptions": CorruptionsTable,
    "shortcut": ShortcutTable,
    "report": ReportTable,
}
ANALYSES: dict[str, type] = {
    **MODEL_ANALYSES,
    "scenario": ScenarioTable,
    "sensitivity": SensitivityTable,
}
# Keys of an [[analyses]] table read before its settings are checked
_ANALYSIS_KEYS = {k: ("kind", "models") if k in MODEL_ANALYSES else ("kind",) for k in ANALYSES}
# Analyses that retrain the network from its spec: they need a lecture model.
LECTURE_ONLY = ("shortcut",)


# ---------------------------------------------------------------------------------------------
# The validated grid


@dataclass(frozen=True)
class Model:
    """A model of the grid: `lecture` (a ModelSpec's fields without input_shape/num_classes,
    with `train` settings) or `source` (a ModelSource), and the device its jobs use."""

    name: str
    device: str
    lecture: dict[str, Any] | None = None
    train: dict[str, Any] | None = None
    source: ModelSource | None = None
    where: str = ""  # file:line of its table

    def to_dict(self) -> dict[str, Any]:
        if self.lecture is not None:
            return {"lecture": self.lecture, "train": self.train or {}}
        assert self.source is not None
        return {"source": self.source.to_dict()}


@dataclass(frozen=True)
class Analysis:
    """One [[analyses]] table: its kind, name, the models it runs on (None: all) and its
    settings (only the keys the file gives; the rest are the library's defaults)."""

    kind: str
    name: str
    models: tuple[str, ...] | None
    settings: dict[str, Any]
    where: str = ""

    @property
    def per_model(self) -> bool:
        return self.kind in MODEL_ANALYSES


@dataclass(frozen=True)
class GridSpec:
    name: str
    title: str
    description: str
    path: str
    text: str
    seeds: tuple[int, ...]
    device: str
    retries: int
    cache: bool
    data: dict[str, Any]
    models: tuple[Model, ...]
    analyses: tuple[Analysis, ...]

    def model(self, name: str) -> Model:
        return next(m for m in self.models if m.name == name)

    def models_of(self, analysis: Analysis) -> tuple[Model, ...]:
        if not analysis.per_model:
            return ()
        names = analysis.models
        return tuple(m for m in self.models if names is None or m.name in names)


@dataclass(frozen=True)
class _Top:
    name: str | None = text("the grid's name (default: the file's stem)", optional=True)
    title: str | None = text("a title for the leaderboard", optional=True)
    description: str = text("what the grid compares", default="")
    seeds: tuple[int, ...] = wholes(
        "seeds; every job runs once per seed", 0, MAX_SEED, default=(0,)
    )
    device: str = choice("where jobs compute unless a model says", *DEVICES, default="cpu")
    retries: int = whole("times a failed job is tried again", 0, 10, default=1)
    cache: bool = flag("reuse networks from fragility's model cache", default=True)
    data: DataTable | None = table("the dataset", DataTable, optional=True)  # noqa: RUF009
    # Checked by _model and _analyses, which need each other's names
    models: list = tomlfile.meta("raw", "the models", default=[])  # noqa: RUF009
    analyses: list = tomlfile.meta("raw", "the analyses")  # noqa: RUF009


# ---------------------------------------------------------------------------------------------
# Loading


def packaged_names() -> list[str]:
    """Names of the grid files shipped with the package, sorted."""
    root = resources.files("fragility.grid").joinpath("grids")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def resolve(name_or_path: str) -> Path:
    """A path to a grid file, or the name of a packaged one ('digits-small')."""
    p = Path(name_or_path)
    try:
        if p.is_file():
            return p
    except OSError:
        pass
    if p.suffix != ".toml" and "/" not in name_or_path:
        packaged = resources.files("fragility.grid").joinpath(f"grids/{name_or_path}.toml")
        if packaged.is_file():
            return Path(str(packaged))
    raise GridError(
        f"{name_or_path}: no such grid file; give a path to a .toml file or one of: "
        f"{', '.join(packaged_names())}"
    )


def load(name_or_path: str | Path) -> GridSpec:
    """Read and validate a grid file (a path, or the name of a packaged grid)."""
    path = resolve(str(name_or_path))
    data, lines = tomlfile.read(path, GridError)
    return _build(data, lines, str(path), path.read_text(encoding="utf-8"), path.parent)


def loads(text_: str, path: str = "<string>", folder: Path | None = None) -> GridSpec:
    """Validate grid text; relative paths in it resolve from `folder` (default: the cwd)."""
    data, lines = tomlfile.parse(text_, path, GridError)
    return _build(data, lines, path, text_, folder or Path("."))


def _parse(f: dataclasses.Field, v: Any, key: tuple, ctx: tomlfile.Where) -> Any:
    if f.metadata["kind"] == "raw":
        return v
    return tomlfile.parse_value(f, v, key, ctx)


def _build(data: dict, lines: dict, path: str, text_: str, folder: Path) -> GridSpec:
    ctx = tomlfile.Where(path, lines, GridError)
    if "analyses" not in data:
        raise ctx.error((), 'no [[analyses]]; add one, e.g. [[analyses]] kind = "attack"')
    top = tomlfile.parse_table(_Top, data, (), ctx, parse=_parse)
    if not isinstance(top.models, list):
        raise ctx.error(("models",), "expected [[models]] tables")
    models = tuple(_model(m, i, top.device, folder, ctx) for i, m in enumerate(top.models))
    names = [m.name for m in models]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise ctx.error(("models", i, "name"), f"a second model named {n!r}; rename one")
    analyses = _analyses(top.analyses, names, models, folder, ctx)
    if any(a.per_model for a in analyses) and not models:
        raise ctx.error(("models",), "the analyses need models; add [[models]] tables")
    stem = Path(path).stem
    return GridSpec(
        name=top.name or stem,
        title=top.title or (top.name or stem).replace("-", " "),
        description=top.description,
        path=path,
        text=text_,
        seeds=top.seeds,
        device=top.device,
        retries=top.retries,
        cache=top.cache,
        data=_data(top.data or tomlfile.parse_table(DataTable, {}, ("data",), ctx), folder, ctx),
        models=models,
        analyses=analyses,
    )


def _data(t: DataTable, folder: Path, ctx: tomlfile.Where) -> dict[str, Any]:
    """The data source as a record (`DataSource.to_dict()`); a relative folder is taken from
    the grid file's folder."""
    d = dataclasses.asdict(t)
    if t.folder is not None:
        d["folder"] = str((folder / Path(t.folder).expanduser()).resolve())
    try:
        return DataSource.from_dict(d).to_dict()
    except (ConfigError, DataError) as exc:
        raise ctx.error(("data",), str(exc)) from None


def _check_name(name: str, key: tuple, ctx: tomlfile.Where) -> None:
    if not NAME.match(name):
        raise ctx.error(
            key,
            f"{name!r} is not a usable name: use letters, digits, '.', '_' and '-' "
            "(at most 64, starting with a letter or digit)",
        )


def _model(v: Any, i: int, device: str, folder: Path, ctx: tomlfile.Where) -> Model:
    key = ("models", i)
    t: ModelTable = tomlfile.parse_table(ModelTable, v, key, ctx)
    _check_name(t.name, (*key, "name"), ctx)
    kinds = [k for k in ("lecture", "checkpoint", "factory", "arch") if getattr(t, k) is not None]
    if len(kinds) != 1:
        raise ctx.error(
            key,
            "give exactly one of lecture, checkpoint, factory or arch"
            + (f", not {' and '.join(kinds)}" if kinds else ""),
        )
    allowed = {
        "lecture": {"train"},
        "checkpoint": {"normalize"},
        "factory": {"factory_args", "weights", "normalize"},
        "arch": {"num_classes", "weights", "normalize"},
    }[kinds[0]]
    for extra in ("train", "factory_args", "num_classes", "weights", "normalize"):
        if getattr(t, extra) is not None and extra not in allowed:
            raise ctx.error((*key, extra), f"does not apply to a {kinds[0]} model")
    where = ctx.where(key)
    dev = t.device or device
    if t.lecture is not None:
        lecture = {k: v for k, v in dataclasses.asdict(t.lecture).items() if v is not None}
        train = {} if t.train is None else dataclasses.asdict(t.train)
        train = {k: v for k, v in train.items() if v is not None}
        return Model(t.name, dev, lecture=lecture, train=train, where=where)

    def path(attr: str, must: str) -> str | None:
        raw = getattr(t, attr)
        if raw is None:
            return None
        p = (folder / Path(raw).expanduser()).resolve()
        if not (p.is_dir() if must == "dir" else p.is_file()):
            what = "folder" if must == "dir" else "file"
            raise ctx.error((*key, attr), f"no {what} {raw!r} (looked at {p})")
        return str(p)

    factory = t.factory
    if factory is not None:
        file, _, fn = factory.rpartition(":")
        if file.endswith(".py"):  # a file beside the grid; a module name is left as it is
            p = (folder / Path(file).expanduser()).resolve()
            if not p.is_file():
                raise ctx.error((*key, "factory"), f"no file {file!r} (looked at {p})")
            factory = f"{p}:{fn}"
    try:
        source = ModelSource(
            kind={"checkpoint": "checkpoint", "factory": "factory", "arch": "torchvision"}[
                kinds[0]
            ],
            name=t.name,
            path=path("checkpoint", "dir"),
            factory=factory,
            factory_args=dict(t.factory_args or ()),
            arch=t.arch,
            num_classes=t.num_classes,
            weights=path("weights", "file"),
            normalize=None if t.normalize is None else (t.normalize.mean, t.normalize.std),
        )
    except ConfigError as exc:
        raise ctx.error(key, str(exc)) from None
    return Model(t.name, dev, source=source, where=where)


def _analyses(
    raw: Any, names: list[str], models: tuple[Model, ...], folder: Path, ctx: tomlfile.Where
) -> tuple[Analysis, ...]:
    if not isinstance(raw, list) or not raw:
        raise ctx.error(("analyses",), "expected [[analyses]] tables, each with a kind")
    out: list[Analysis] = []
    for i, v in enumerate(raw):
        key = ("analyses", i)
        if not isinstance(v, dict):
            raise ctx.error(key, f"expected a table, got {tomlfile.type_name(v)}")
        kind = v.get("kind")
        if kind not in ANALYSES:
            hint = tomlfile.did_you_mean(kind, ANALYSES) if isinstance(kind, str) else ""
            raise ctx.error(
                (*key, "kind"),
                f"expected one of {', '.join(ANALYSES)}, got {kind!r}{hint}"
                + ("" if "kind" in v else "; add kind = ..."),
            )
        body = {k: x for k, x in v.items() if k not in ("kind", "models")}
        t = tomlfile.parse_table(ANALYSES[kind], body, key, ctx, also=_ANALYSIS_KEYS[kind])
        name = t.name or kind
        _check_name(name, (*key, "name"), ctx)
        if any(a.name == name for a in out):
            raise ctx.error(key, f"a second analysis named {name!r}; give one a name = ...")
        chosen = _chosen_models(v.get("models"), kind, names, key, ctx)
        settings = {
            f.name: getattr(t, f.name)
            for f in dataclasses.fields(t)
            if f.name != "name" and getattr(t, f.name) is not None
        }
        if kind == "scenario":
            settings["scenario"] = _scenario_path(settings["scenario"], folder)
        if kind == "sensitivity":
            settings["scenarios"] = tuple(_scenario_path(x, folder) for x in settings["scenarios"])
        a = Analysis(kind, name, chosen, settings, ctx.where(key))
        _check_analysis(a, [m for m in models if chosen is None or m.name in chosen], ctx, key)
        out.append(a)
    return tuple(out)


def _chosen_models(
    v: Any, kind: str, names: list[str], key: tuple, ctx: tomlfile.Where
) -> tuple[str, ...] | None:
    if v is None:
        return None
    if kind not in MODEL_ANALYSES:
        raise ctx.error((*key, "models"), f"a {kind} analysis runs without a model; remove it")
    if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
        raise ctx.error((*key, "models"), "expected a list of model names")
    for j, n in enumerate(v):
        if n not in names:
            raise ctx.error(
                (*key, "models", j),
                f"no model named {n!r}{tomlfile.did_you_mean(n, names)}; models: "
                f"{', '.join(names) or '(none)'}",
            )
    return tuple(dict.fromkeys(v))


def _scenario_path(name: str, folder: Path) -> str:
    """A packaged scenario's name as it is; a file's path made absolute."""
    p = Path(name).expanduser()
    if p.suffix == ".toml" or "/" in name:
        return str((folder / p).resolve())
    return name


def _check_analysis(a: Analysis, models: list[Model], ctx: tomlfile.Where, key: tuple) -> None:
    s = a.settings
    if a.kind in LECTURE_ONLY:
        for m in models:
            if m.lecture is None:
                raise ctx.error(
                    (*key, "kind"),
                    f"{a.kind} retrains the network, so it runs on lecture models only; "
                    f"{m.name} is not one: list the lecture models in models = [...]",
                )
    if a.kind == "garbage" and "retrain" in s.get("methods", ()):
        for m in models:
            if m.lecture is None:
                raise ctx.error(
                    (*key, "methods"),
                    f"retrain trains the network again with a garbage class, so it needs a "
                    f"lecture model; {m.name} is not one: list the lecture models in models = "
                    "[...], or leave retrain out",
                )
    if a.kind == "attack":
        norm = s.get("norm") or ("l2" if s["attack"] == "cw" else "linf")
        if s["attack"] == "cw" and norm != "l2":
            raise ctx.error((*key, "norm"), 'cw is an L2 attack; use norm = "l2" or leave it out')
        if s["attack"] == "deepfool" and s["targeted"]:
            raise ctx.error((*key, "targeted"), "deepfool is untargeted; choose pgd or cw")
        if norm == "linf" and max(s.get("epsilons") or (0,)) > 1:
            raise ctx.error(
                (*key, "epsilons"),
                "Linf budgets lie from 0 to 1 (images are in [0, 1]; 1 reaches any image)",
            )
    if a.kind == "scenario":
        chunk = s.get("chunk_runs")
        if chunk is not None and chunk % 4096:
            raise ctx.error(
                (*key, "chunk_runs"),
                f"{chunk} is not a multiple of 4096 (runs are drawn in blocks of 4096)",
            )
