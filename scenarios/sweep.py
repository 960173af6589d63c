"""Sweeps: a grid over any parameters x Monte Carlo runs per cell, through the one simulator.

Each cell's runs go to `simulate.run_batch` in chunks of a few blocks (one numpy time loop, no
Python loop over runs); the single run `simulate.simulate` is the same code with n = 1.

Randomness: runs are grouped in blocks of BLOCK; block b of grid cell c draws from
`numpy.random.default_rng([seed, c, b])`, first the sampled parameters (in file order), then the
perception numbers. So run i of a cell can be redrawn alone (`run_inputs`) and the results do not
depend on how many runs are asked for or how they are chunked.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scenarios import perception
from scenarios.perception import Draws
from scenarios.simulate import BRAKERS, RESULT_FIELDS, brake_by_names, run_batch
from scenarios.spec import MPH, ScenarioSpec
from scenarios.stats import Proportion

__all__ = ["BRAKERS", "RESULT_FIELDS", "brake_by_names", "run_cell", "sweep"]

BLOCK = 4096
CHUNK_BLOCKS = 4  # blocks per kernel call: long arrays amortise numpy's per-call cost


# ---------------------------------------------------------------------------------------------
# Drawing the inputs of runs


def draw_block(spec: ScenarioSpec, seed: int, cell: int, block: int) -> tuple[dict, Draws]:
    """Sampled parameters (key -> (BLOCK,) array) and perception draws of one block."""
    rng = np.random.default_rng([seed, cell, block])
    samples = {key: d.draw(rng, BLOCK) for key, d in (spec.sweep.sample if spec.sweep else ())}
    return samples, perception.draw(spec, rng, BLOCK)


def run_inputs(spec: ScenarioSpec, index: int, cell: int = 0) -> tuple[ScenarioSpec, Draws]:
    """The spec (sampled values applied) and draws of run `index` of a cell: for `simulate`."""
    seed = spec.sweep.seed if spec.sweep else 0
    samples, draws = draw_block(spec, seed, cell, index // BLOCK)
    i = index % BLOCK
    values = {k: float(v[i]) for k, v in samples.items()}
    return (spec.with_values(values) if values else spec), draws.row(i)


def cells(spec: ScenarioSpec) -> list[tuple[dict, ScenarioSpec]]:
    """(grid values, spec) for each grid cell, the last axis fastest."""
    grid = spec.sweep.grid if spec.sweep else ()
    if not grid:
        return [({}, spec)]
    keys = [k for k, _ in grid]
    out = []
    for combo in itertools.product(*(v for _, v in grid)):
        values = dict(zip(keys, combo, strict=True))
        out.append((values, spec.with_values(values)))
    return out


# ---------------------------------------------------------------------------------------------
# Whole sweeps


@dataclass(frozen=True)
class CellResult:
    values: dict  # grid values of this cell
    runs: int
    collisions: int
    collision_probability: float
    mean_impact_speed_mph: float | None  # over the runs that collided
    mean_stopping_margin_m: float | None  # over the runs that did not
    mean_first_hazard_before_s: float | None  # seconds before the record's impact (t = 0)
    mean_resets: float
    arrays: dict[str, np.ndarray] = field(repr=False, compare=False)

    @property
    def collision(self) -> Proportion:
        """The collision probability with its 95 % Wilson interval (Monte Carlo error)."""
        return Proportion(self.collisions, self.runs)

    def to_dict(self) -> dict:
        return {
            "values": self.values,
            "runs": self.runs,
            "collisions": self.collisions,
            "collision_probability": self.collision_probability,
            "collision_interval": self.collision.to_dict(),
            "mean_impact_speed_mph": self.mean_impact_speed_mph,
            "mean_stopping_margin_m": self.mean_stopping_margin_m,
            "mean_first_hazard_before_s": self.mean_first_hazard_before_s,
            "mean_resets": self.mean_resets,
        }


@dataclass(frozen=True)
class SweepResult:
    scenario: str
    grid: tuple[tuple[str, tuple], ...]
    sample: dict
    runs_per_cell: int
    seed: int
    cells: tuple[CellResult, ...]
    noise_model: dict = field(default_factory=dict)  # perception's noise model, in numbers

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "grid": {k: list(v) for k, v in self.grid},
            "sample": self.sample,
            "runs_per_cell": self.runs_per_cell,
            "seed": self.seed,
            "noise_model": self.noise_model,
            "intervals": "collision_interval: 95 % Wilson score interval over the cell's runs",
            "cells": [c.to_dict() for c in self.cells],
        }


def _mean(x: np.ndarray) -> float | None:
    x = x[~np.isnan(x)]
    return round(float(x.mean()), 6) if x.size else None


def run_cell(
    spec: ScenarioSpec, runs: int, seed: int, cell: int = 0, *, blocks: range | None = None
) -> dict[str, np.ndarray]:
    """All runs of one cell; RESULT_FIELDS and sampled keys -> (runs,) arrays.

    Draws come block by block (see the module docstring); the simulator takes up to
    CHUNK_BLOCKS blocks at a time, which only changes how long its arrays are, not any result.
    `blocks` limits the work to those blocks of the cell's runs (a chunk): the chunks' arrays,
    joined in block order, are the arrays of the whole cell.
    """
    parts: list[dict] = []
    blocks = blocks if blocks is not None else range(math.ceil(runs / BLOCK))
    for first in range(blocks.start, blocks.stop, CHUNK_BLOCKS):
        group = range(first, min(blocks.stop, first + CHUNK_BLOCKS))
        drawn = [draw_block(spec, seed, cell, b) for b in group]
        n = min(len(group) * BLOCK, runs - first * BLOCK)
        samples = {k: np.concatenate([s[k] for s, _ in drawn])[:n] for k in drawn[0][0]}
        noise = np.concatenate([d.noise for _, d in drawn])[:n]
        if perception.costly(spec):  # a classifier in the loop: run r renders with seed + r
            seeds = np.arange(seed + first * BLOCK, seed + first * BLOCK + n, dtype=np.uint64)
            batch = spec.with_arrays(samples) if samples else spec
            source = perception.source(batch, drawn[0][1], n, seeds)
            out = run_batch(spec, n, source, values=samples, noise=noise)
            out.update(samples)
            parts.append(out)
            continue
        # each block's classes on its own: the flicker model's arrays stay small enough to cache
        sources = [
            perception.source(spec.with_arrays(s) if s else spec, d, BLOCK) for s, d in drawn
        ]
        source = perception.ArraySource(
            np.concatenate([src.cls for src in sources])[:n],
            np.concatenate([src.sensor for src in sources])[:n],
        )
        out = run_batch(spec, n, source, values=samples, noise=noise)
        out.update(samples)
        parts.append(out)
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def summarise_cell(values: dict, runs: int, arr: dict[str, np.ndarray]) -> CellResult:
    """A cell's outcome numbers from the arrays of all its runs."""
    speed = np.where(arr["collision"], arr["impact_speed_mps"] / MPH, np.nan)
    margin = np.where(arr["collision"], np.nan, arr["stopping_margin_m"])
    return CellResult(
        values=values,
        runs=runs,
        collisions=int(arr["collision"].sum()),
        collision_probability=round(float(arr["collision"].mean()), 9),
        mean_impact_speed_mph=_mean(speed),
        mean_stopping_margin_m=_mean(margin),
        mean_first_hazard_before_s=_mean(-arr["first_hazard_s"]),
        mean_resets=round(float(arr["resets"].mean()), 6),
        arrays=arr,
    )


def sweep(
    spec: ScenarioSpec, *, runs: int | None = None, seed: int | None = None, progress: bool = False
) -> SweepResult:
    """Run every grid cell of the scenario's [sweep] with its Monte Carlo runs."""
    sw = spec.sweep
    runs = runs if runs is not None else (sw.runs if sw else 1)
    seed = seed if seed is not None else (sw.seed if sw else 0)
    grid = cells(spec)
    results = []
    from fragility._progress import progress_bar

    bar = progress_bar(len(grid), progress, unit="cell", desc="sweep")
    for c, (values, cell_spec) in enumerate(grid):
        results.append(summarise_cell(values, runs, run_cell(cell_spec, runs, seed, c)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return sweep_result(spec, runs, seed, results)


def sweep_result(
    spec: ScenarioSpec, runs: int, seed: int, cells: Sequence[CellResult]
) -> SweepResult:
    """The sweep of `spec` from its cells' results (in the order of `cells(spec)`)."""
    sw = spec.sweep
    sample = {k: d.to_dict() for k, d in sw.sample} if sw else {}
    sample = {k: {**d, "in_words": dict(sw.sample)[k].describe()} for k, d in sample.items()}
    noise = perception.noise_model(spec)
    return SweepResult(spec.name, sw.grid if sw else (), sample, runs, seed, tuple(cells), noise)
