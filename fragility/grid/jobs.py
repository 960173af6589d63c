"""Jobs: what a grid asks for, one job per (model, analysis, seed), in the order they can run.

A job is everything that fixes its result: the data source, the model (a lecture network and
its training settings, or a model source), the analysis and its settings, the seed and the
device. `Job.settings_hash` fingerprints that; the store keeps it so a resumed grid can tell a
finished job from a changed one.

- A lecture model's first job trains it (`train`), writes the checkpoint to
  `models/NAME/sSEED/` in the grid folder and measures it on the test set; its analyses wait for
  that job and load the checkpoint. Any other model's first job is `evaluate` (clean accuracy
  and calibration), and its analyses load it from its source directly.
- A scenario sweep or sensitivity analysis is split by seed into chunk jobs of Monte Carlo runs
  and a merge job that joins them (`scenarios.sweep`, `scenarios.sensitivity`: the chunks
  equal the whole).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from fragility.grid.spec import Analysis, GridSpec, Model

ROOT_KINDS = ("train", "evaluate")
BLOCK = 4096  # scenarios.sweep.BLOCK: runs are drawn in blocks of this many
DEFAULT_CHUNK_RUNS = 4 * BLOCK
# Which ready job starts first: longer work that unlocks others before short leaves, so the
# workers are not left with one long job at the end (longest-first list scheduling).
PRIORITY = {
    "train": 100,
    "report": 60,
    "shortcut": 50,
    "inversion": 40,
    "garbage": 30,
    "scenario-chunk": 30,
    "sensitivity-chunk": 30,
    "corruptions": 20,
    "attack": 20,
    "evaluate": 10,
    "scenario": 5,
    "sensitivity": 5,
}


@dataclass(frozen=True)
class Job:
    id: str  # "mlp-16/s0/attack", "scenario/tempe/s0/chunk-002"
    kind: str  # train, evaluate, an analysis kind, scenario-chunk or scenario
    analysis: str  # the analysis's name in the grid ("train" / "evaluate" for a model's first)
    model: str | None  # the model's name; None for scenario jobs
    seed: int
    device: str
    after: tuple[str, ...]  # jobs that must finish first
    definition: dict[str, Any] = field(repr=False)  # everything that fixes the result

    @property
    def settings_hash(self) -> str:
        return settings_hash(self.definition)

    @property
    def resources(self) -> dict[str, int]:
        """What the job occupies while it runs: one CPU worker, and a GPU for CUDA jobs."""
        return {"CPU": 1, "GPU": 1 if self.device == "cuda" else 0}

    @property
    def priority(self) -> int:
        return PRIORITY.get(self.kind, 0)

    @property
    def path(self) -> str:
        """The job's folder name under logs/ (ids are made of checked names)."""
        return self.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "analysis": self.analysis,
            "model": self.model,
            "seed": self.seed,
            "device": self.device,
            "after": list(self.after),
            "definition": self.definition,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        return cls(**{**d, "after": tuple(d["after"])})


def settings_hash(definition: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a job's definition, first 16 hex digits. Its "options"
    (how to compute, such as using the model cache) do not change the result and are left out."""
    fixed = {k: v for k, v in definition.items() if k != "options"}
    text = json.dumps(fixed, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_dir(model: str, seed: int) -> str:
    """Where a lecture model's train job writes its checkpoint, in the grid folder."""
    return f"models/{model}/s{seed}"


def report_dir(model: str, seed: int, analysis: str) -> str:
    return f"reports/{model}/s{seed}/{analysis}"


def chunk_file(kind: str, analysis: str, seed: int, chunk: int) -> str:
    """Where a Monte Carlo chunk job leaves its runs' arrays for the merge."""
    return f"chunks/{kind}/{analysis}/s{seed}/chunk-{chunk:03d}.npz"


def plan(grid: GridSpec, runs: dict[str, int] | None = None) -> tuple[Job, ...]:
    """Every job of the grid, each after the jobs it needs. `runs`: runs per cell (or worlds
    per scenario) of each scenario and sensitivity analysis, by name, from its files where the
    grid does not say."""
    jobs: list[Job] = []
    for seed in grid.seeds:
        for m in grid.models:
            root = _root(grid, m, seed)
            jobs.append(root)
            for a in grid.analyses:
                if m in grid.models_of(a):
                    jobs.append(_analysis_job(grid, m, a, seed, root))
        for a in grid.analyses:
            if not a.per_model:
                n = (runs or {}).get(a.name, a.settings.get("runs", 1))
                jobs.extend(_chunked_jobs(a, seed, n))
    return tuple(jobs)


def _root(grid: GridSpec, m: Model, seed: int) -> Job:
    kind = "train" if m.lecture is not None else "evaluate"
    return Job(
        id=f"{m.name}/s{seed}/{kind}",
        kind=kind,
        analysis=kind,
        model=m.name,
        seed=seed,
        device=m.device,
        after=(),
        definition=_definition(grid, m, kind, {}, seed),
    )


def _analysis_job(grid: GridSpec, m: Model, a: Analysis, seed: int, root: Job) -> Job:
    # shortcut and the report train their own networks: they need not wait for the model's.
    needs_model = m.lecture is not None and a.kind not in ("shortcut", "report")
    return Job(
        id=f"{m.name}/s{seed}/{a.name}",
        kind=a.kind,
        analysis=a.name,
        model=m.name,
        seed=seed,
        device=m.device,
        after=(root.id,) if needs_model else (),
        definition=_definition(grid, m, a.kind, a.settings, seed),
    )


def _definition(
    grid: GridSpec, m: Model, kind: str, settings: dict[str, Any], seed: int
) -> dict[str, Any]:
    return {
        "data": grid.data,
        "model": m.to_dict(),
        "analysis": {"kind": kind, "settings": settings},
        "seed": seed,
        "device": m.device,
        "options": {"cache": grid.cache},
    }


def _chunked_jobs(a: Analysis, seed: int, runs: int) -> list[Job]:
    """A Monte Carlo analysis in chunks and a merge. A scenario sweep is cut into whole blocks
    of BLOCK runs (its draws come block by block); a sensitivity analysis into ranges of
    worlds (each world is drawn on its own). Either way the merged result is the unchunked one."""
    per = a.settings.get("chunk_runs", DEFAULT_CHUNK_RUNS)
    total = runs
    if a.kind == "scenario":
        per, total = per // BLOCK, math.ceil(runs / BLOCK)  # in blocks
    base = f"{a.kind}/{a.name}/s{seed}"
    settings = {**a.settings, "runs": runs}
    chunks = []
    for i, first in enumerate(range(0, total, per)):
        chunks.append(
            Job(
                id=f"{base}/chunk-{i:03d}",
                kind=f"{a.kind}-chunk",
                analysis=a.name,
                model=None,
                seed=seed,
                device="cpu",
                after=(),
                definition={
                    "analysis": {"kind": f"{a.kind}-chunk", "settings": settings},
                    "chunk": {"index": i, "part": [first, min(total, first + per)]},
                    "seed": seed,
                },
            )
        )
    merge = Job(
        id=base,
        kind=a.kind,
        analysis=a.name,
        model=None,
        seed=seed,
        device="cpu",
        after=tuple(c.id for c in chunks),
        definition={
            "analysis": {"kind": a.kind, "settings": settings},
            "chunks": len(chunks),
            "seed": seed,
        },
    )
    return [*chunks, merge]
