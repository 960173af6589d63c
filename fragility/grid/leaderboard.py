"""The leaderboard: the grid's models ranked by what its jobs measured, as a page, CSV and JSON.

Built from the results store alone (`build`, pure: a store in, a `Leaderboard` out); `write`
renders it through the report's page (`fragility.report.html.render`) so it reads like the
failure report. Like RobustBench's, one row per model, ranked by robust accuracy (the first
attack analysis at its largest epsilon; by clean accuracy where the grid attacks nothing),
with the clean accuracy beside it and a link to the model's full report where the grid wrote
one. With several seeds a number is the mean over the seeds that measured it; the JSON export
keeps every seed's.

Columns, each from one analysis's result (`to_dict()` names in brackets):

- clean accuracy and calibration (ECE, Guo et al. 2017), on the whole test set, from the
  model's first job (`evaluation.accuracy`, `evaluation.calibration.ece`);
- robust accuracy at each epsilon of each attack analysis (`robust_accuracy`);
- accuracy under corruptions, mean over the corruptions (`mean_corrupted_accuracy`);
- garbage confidence: the mean top-class probability on uniform-noise images
  (`survey.families.uniform.mean_confidence`): a model that knew what it does not know would
  give about 1/K;
- shortcut-following: the share of test images carrying another class's cue that the model
  labels as the cue's class (`test.wrong_follows_cue`; chance is 1/K).
"""

from __future__ import annotations

import csv
import io
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fragility.grid.jobs import report_dir
from fragility.grid.store import JobRow, Store

TRAINED = "trained by the grid"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    better: str  # "higher" or "lower"
    kind: str = "share"  # "share": shown as a percentage; "number"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "better": self.better, "kind": self.kind}


@dataclass(frozen=True)
class Entry:
    """One model: its numbers (mean over seeds), each seed's, and its reports."""

    model: str
    description: str
    architecture: str  # short, for the table: "mlp 64-16-16-10 sigmoid", "resnet18"
    values: dict[str, float | None]
    per_seed: dict[int, dict[str, float]]
    reports: tuple[str, ...] = ()  # index.html paths, relative to the grid folder

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "description": self.description,
            "architecture": self.architecture,
            "values": self.values,
            "per_seed": {str(s): v for s, v in sorted(self.per_seed.items())},
            "reports": list(self.reports),
        }


@dataclass(frozen=True)
class Leaderboard:
    grid: str
    title: str
    description: str
    columns: tuple[Column, ...]
    entries: tuple[Entry, ...]  # best first
    rank_by: str  # a column key
    counts: dict[str, int]
    failed: tuple[tuple[str, str], ...] = ()
    scenarios: tuple[dict[str, Any], ...] = field(default=())  # scenario sweeps, as stored

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": self.grid,
            "title": self.title,
            "description": self.description,
            "rank_by": self.rank_by,
            "columns": [c.to_dict() for c in self.columns],
            "entries": [{"rank": i + 1, **e.to_dict()} for i, e in enumerate(self.entries)],
            "jobs": self.counts,
            "failed": [{"job": j, "error": e} for j, e in self.failed],
            "scenarios": list(self.scenarios),
        }

    def csv(self) -> str:
        """One row per model, in rank order; numbers as stored (shares in [0, 1])."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        keys = [c.key for c in self.columns]
        w.writerow(["rank", "model", *keys, "seeds", "architecture", "description"])
        for i, e in enumerate(self.entries, start=1):
            values = [
                "" if e.values.get(c.key) is None else repr(e.values[c.key]) for c in self.columns
            ]
            w.writerow([i, e.model, *values, len(e.per_seed), e.architecture, e.description])
        return out.getvalue()


# ---------------------------------------------------------------------------------------------
# From the store


def _measures(r: JobRow) -> dict[str, tuple[Column, float]]:
    """The leaderboard's numbers in one finished job's result."""
    res, out = r.result or {}, {}
    if r.kind in ("train", "evaluate"):
        ev = res["evaluation"]
        out["clean_accuracy"] = (
            Column("clean_accuracy", "clean accuracy", "higher"),
            ev["accuracy"],
        )
        out["ece"] = (
            Column("ece", "calibration error (ECE)", "lower"),
            ev["calibration"]["ece"],
        )
    elif r.kind == "attack":
        for eps, acc in zip(res["epsilons"], res["robust_accuracy"], strict=True):
            if eps > 0:
                key = f"{r.analysis}@{eps:g}"
                title = f"{res['attack']}, ε={eps:g}"
                out[key] = (Column(key, title, "higher"), acc)
    elif r.kind == "corruptions":
        key = f"{r.analysis}:mean"
        out[key] = (
            Column(key, "accuracy under corruptions", "higher"),
            res["mean_corrupted_accuracy"],
        )
    elif r.kind == "garbage" and res.get("survey"):
        uniform = res["survey"]["families"].get("uniform")
        if uniform is not None:
            key = f"{r.analysis}:uniform"
            col = Column(key, "garbage confidence (uniform noise)", "lower")
            out[key] = (col, uniform["mean_confidence"])
    elif r.kind == "shortcut":
        key = f"{r.analysis}:follows"
        col = Column(key, f"follows the {res['cue']['kind']} cue", "lower")
        out[key] = (col, res["test"]["wrong_follows_cue"])
    return out


def build(store: Store) -> Leaderboard:
    """The leaderboard of a grid's store (finished jobs only; failed ones listed apart)."""
    meta = store.meta()
    rows = store.jobs()
    columns: dict[str, Column] = {}
    seeds: dict[str, dict[int, dict[str, float]]] = {}
    descriptions: dict[str, tuple[str, str]] = {}
    reports: dict[str, list[str]] = {}
    scenarios = []
    order: list[str] = []
    for r in rows:
        if r.model is not None and r.model not in order:
            order.append(r.model)
        if r.status != "done":
            continue
        if r.kind in ("scenario", "sensitivity"):
            scenarios.append(
                {"kind": r.kind, "analysis": r.analysis, "seed": r.seed, "result": r.result}
            )
        if r.model is None:
            continue
        if r.kind == "report":
            reports.setdefault(r.model, []).append(
                f"{report_dir(r.model, r.seed, r.analysis)}/index.html"
            )
        if r.kind in ("train", "evaluate"):
            descriptions[r.model] = _describe(r)
        for key, (col, value) in _measures(r).items():
            columns.setdefault(key, col)
            seeds.setdefault(r.model, {}).setdefault(r.seed, {})[key] = value
    cols = tuple(sorted(columns.values(), key=lambda c: _column_order(c, rows)))
    entries = [
        Entry(
            model=m,
            description=descriptions.get(m, ("", ""))[0],
            architecture=descriptions.get(m, ("", ""))[1],
            values={c.key: _mean(seeds.get(m, {}), c.key) for c in cols},
            per_seed=seeds.get(m, {}),
            reports=tuple(reports.get(m, ())),
        )
        for m in order
    ]
    rank_by = _rank_key(cols)
    ranked = sorted(entries, key=lambda e: _rank(e, rank_by))
    return Leaderboard(
        grid=meta.get("grid", ""),
        title=meta.get("title", meta.get("grid", "")),
        description=meta.get("description", ""),
        columns=cols,
        entries=tuple(ranked),
        rank_by=rank_by,
        counts=store.counts(),
        failed=tuple((r.id, r.error or "") for r in rows if r.status == "failed"),
        scenarios=tuple(scenarios),
    )


def _describe(r: JobRow) -> tuple[str, str]:
    """(what the model is, in a sentence; its architecture, in a few words)."""
    res = r.result or {}
    if r.kind == "train":
        return f"{res.get('name', '')}, {TRAINED} (seed {r.seed})", res.get("name", "")
    source = res.get("source", {})
    short = {
        "torchvision": source.get("arch"),
        "factory": str(source.get("factory", "")).rsplit("/", 1)[-1],
        "checkpoint": "a fragility train folder",
    }.get(source.get("kind"), "")
    return str(res.get("description", "")), str(short or "")


def _mean(per_seed: dict[int, dict[str, float]], key: str) -> float | None:
    values = [v[key] for v in per_seed.values() if key in v]
    return statistics.fmean(values) if values else None


def _column_order(c: Column, rows: Sequence[JobRow]) -> tuple:
    fixed = {"clean_accuracy": 0, "ece": 2}
    if c.key in fixed:
        return (fixed[c.key], 0, 0.0)
    analysis, _, rest = c.key.partition("@") if "@" in c.key else c.key.partition(":")
    position = next((r.position for r in rows if r.analysis == analysis), 0)
    eps = float(rest) if "@" in c.key else 0.0
    return (1 if "@" in c.key else 3, position, eps)


def _rank_key(cols: Sequence[Column]) -> str:
    """The first attack analysis's largest epsilon, else the clean accuracy."""
    attacks = [c.key for c in cols if "@" in c.key]
    if not attacks:
        return "clean_accuracy"
    first = attacks[0].split("@")[0]
    return [k for k in attacks if k.split("@")[0] == first][-1]


def _rank(e: Entry, key: str) -> tuple:
    """Best first: higher rank value, then higher clean accuracy; missing numbers last. Values
    are compared to 9 decimals, so a mean over seeds ties with the same share reached alone."""
    v, clean = e.values.get(key), e.values.get("clean_accuracy")
    return (v is None, -round(v or 0.0, 9), clean is None, -round(clean or 0.0, 9), e.model)


def build_from(folder: str | os.PathLike) -> Leaderboard:
    """The leaderboard of the grid in `folder`."""
    store = Store.open(folder)
    try:
        return build(store)
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------
# The page and the exports


def _cell(c: Column, v: float | None) -> str:
    from fragility._fmt import pct

    if v is None:
        return "–"
    return pct(v) if c.kind == "share" else f"{v:.3f}"


def sections(board: Leaderboard, links: dict[str, str]) -> list[Any]:
    """The page's sections (fragility.report.section), `links` mapping report paths in the
    grid folder to the links the page uses."""
    from fragility.report.section import Bullets, Paragraph, Section, Table

    cols = board.columns
    rank = board.column(board.rank_by) if board.entries else None
    table = Table(
        caption=(
            f"Models ranked by {rank.title if rank else 'clean accuracy'} "
            "(best first; ties by clean accuracy). A dash: not measured."
        ),
        header=("rank", "model", *(c.title for c in cols), "seeds", "architecture"),
        rows=tuple(
            (
                str(i),
                e.model,
                *(_cell(c, e.values.get(c.key)) for c in cols),
                str(len(e.per_seed)),
                e.architecture,
            )
            for i, e in enumerate(board.entries, start=1)
        ),
    )
    blocks: list[Any] = [table]
    reports = [
        f"[{e.model} ({Path(r).parent.parent.name}, {Path(r).parent.name})]({links[r]})"
        for e in board.entries
        for r in e.reports
        if r in links
    ]
    if reports:
        blocks.append(Paragraph("Each model's full failure report:"))
        blocks.append(Bullets(tuple(reports)))
    # Where each model from outside came from (the table names the grid's own networks).
    described = [
        f"**{e.model}**: {e.description}"
        for e in board.entries
        if e.description and TRAINED not in e.description
    ]
    if described:
        blocks.append(Bullets(tuple(described)))
    out = [
        Section(
            slug="ranking",
            title="Ranking",
            intro=(
                "Each row is one model, measured by the same tests on the same images. Robust "
                "accuracy is the share of test images the model still labels correctly when an "
                "attacker may change every pixel by up to epsilon; the model that keeps most of "
                "them at the largest epsilon ranks first. " + (board.description or "")
            ).strip(),
            blocks=tuple(blocks),
        ),
        Section(
            slug="columns",
            title="What the columns mean",
            intro="Where a number comes from, and which way is better.",
            blocks=(Bullets(tuple(_meaning(c) for c in cols)),),
        ),
    ]
    seeds = sorted({s for e in board.entries for s in e.per_seed})
    if len(seeds) > 1:
        rows = tuple(
            (e.model, str(s), *(_cell(c, v.get(c.key)) for c in cols))
            for e in board.entries
            for s, v in sorted(e.per_seed.items())
        )
        out.append(
            Section(
                slug="seeds",
                title="Every seed",
                intro="The ranking shows the mean over seeds; here is each seed's number.",
                blocks=(
                    Table(
                        "Each model at each seed.",
                        ("model", "seed", *(c.title for c in cols)),
                        rows,
                    ),
                ),
            )
        )
    for sc in board.scenarios:
        out.append(_scenario_section(sc))
    if board.failed:
        out.append(
            Section(
                slug="failed",
                title="Jobs that failed",
                intro="These jobs did not finish; their numbers are missing above. Each job's "
                "log is in logs/ in the grid folder.",
                blocks=(Table("Failed jobs.", ("job", "error"), tuple(board.failed)),),
            )
        )
    c = board.counts
    out.append(
        Section(
            slug="made",
            title="How this was made",
            intro=(
                f"The grid {board.grid} has {sum(c.values())} jobs: {c['done']} done, "
                f"{c['failed']} failed, {c['pending'] + c['running']} not run yet. Its "
                "results are in grid.sqlite in the grid folder; leaderboard.csv and "
                "leaderboard.json beside this page hold these numbers."
            ),
        )
    )
    return out


_MEANINGS = {
    "clean_accuracy": "share of the whole test set labelled correctly",
    "ece": "expected calibration error over 15 confidence bins (Guo et al. 2017): how far "
    "the model's confidence is from its accuracy",
}


def _meaning(c: Column) -> str:
    if c.key in _MEANINGS:
        what = _MEANINGS[c.key]
    elif "@" in c.key:
        what = "robust accuracy: share of the attacked test images still labelled correctly"
    elif c.key.endswith(":mean"):
        what = "accuracy on corrupted test images, mean over the corruptions"
    elif c.key.endswith(":uniform"):
        what = "mean top-class probability on images of uniform noise; 1/K would be honest"
    else:
        what = "share of test images with another class's cue labelled as the cue's class"
    return f"**{c.title}** ({c.better} is better): {what}."


def _scenario_section(sc: dict[str, Any]) -> Any:
    """A sweep's collision probability per cell, or each scenario's share of plausible worlds
    in which the crash is avoided."""
    from fragility._fmt import pct
    from fragility.report.section import Section, Table

    r = sc["result"]
    slug = f"{sc['kind']}-{sc['analysis']}-{sc['seed']}"
    if sc["kind"] == "sensitivity":
        rows = tuple(
            (x["name"], x["change"] or "(as it happened)", x["headline"]) for x in r["scenarios"]
        )
        return Section(
            slug=slug,
            title=f"Scenarios over their plausible worlds: {sc['analysis']} (seed {sc['seed']})",
            intro=f"Each scenario over {r['runs']:,} drawn worlds; the share in which the crash "
            "is avoided, with its 95 % interval, over the worlds that reproduce the record.",
            blocks=(Table("Crash avoided, by scenario.", ("scenario", "change", "avoided"), rows),),
        )
    keys = list(r["grid"])
    rows = tuple(
        (
            *(str(cell["values"].get(k, "")) for k in keys),
            f"{cell['runs']:,}",
            pct(cell["collision_probability"]),
        )
        for cell in r["cells"]
    )
    return Section(
        slug=slug,
        title=f"Scenario {r['scenario']} (seed {sc['seed']})",
        intro="The probability of a collision over the Monte Carlo runs of each grid cell.",
        blocks=(Table("Collision probability per cell.", (*keys, "runs", "collision"), rows),),
    )


def write(board: Leaderboard, out: str | os.PathLike, grid_folder: str | os.PathLike) -> Path:
    """OUT/index.html (the page), OUT/leaderboard.csv and OUT/leaderboard.json, atomically."""
    from fragility._io import atomic_dir, to_json
    from fragility.report.html import render

    out = Path(out)
    links = {}
    for e in board.entries:
        for r in e.reports:
            rel = os.path.relpath(Path(grid_folder) / r, out)
            links[r] = rel if rel.startswith(".") else f"./{rel}"
    page = render(
        board.title,
        sections(board, links),
        subtitle=f"{len(board.entries)} models, {sum(board.counts.values())} jobs.",
        footer="Made with fragility grid. Numbers also in leaderboard.csv and leaderboard.json.",
    )
    with atomic_dir(out) as tmp:
        (tmp / "index.html").write_text(page, encoding="utf-8")
        (tmp / "leaderboard.csv").write_text(board.csv(), encoding="utf-8")
        (tmp / "leaderboard.json").write_text(to_json(board.to_dict()), encoding="utf-8")
    return out
