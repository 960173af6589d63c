"""Fooling images by evolution, from the model's outputs only (Nguyen, Yosinski & Clune 2015).

MAP-Elites over classes: the archive holds one elite per class, the image with the highest
probability for that class found so far. Each generation the elites have children by
mutation (by default only the elites still below the target, round robin), the whole
population goes through the model in one batched forward pass, and a child replaces the elite
of *any* class it scores higher on than that elite (not only its parent's class). The fitness
of class k is log p_k(x) in float64, which keeps ranking elites whose probability rounds to 1.
No gradients are used: the model is a black box that returns logits.

Against Nguyen et al.'s own code (Evolving-AI-Lab/fooling, MAP-Elites in Sferes, its MNIST
setting): the same 200 children per generation (POPULATION), the same per-gene mutation rate
0.1 and polynomial mutation with eta 15, the same any-cell replacement. Two differences: they
draw parents uniformly from the whole archive (`focus=False` here breeds from every cell, round
robin), and they also cross parents over (SBX, rate 0.5), which is not done here. On this
project's digits CNN both ways reach every class in about the paper's "under 50 generations"
(median of three seeds: 40 with focus, 50 with parents from every cell); on the Fashion-MNIST
CNN both take longer (139 and 197), so the gap there is the model and data, not the search
(`python bench/garbage.py` measures it).

Two encodings (fragility.garbage.evolve.DirectEncoding, fragility.garbage.cppn.CPPNEncoding)
plug into the same loop through five functions: initial, mutate, render, take, concat.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from fragility._progress import progress_bar
from fragility.contract import check_shape, model_device, num_classes
from fragility.errors import ConfigError
from fragility.garbage._model import class_name, fooling_summary, log_probs


class Encoding(Protocol):
    """A way to write an image as a genome. Genome batches are indexed by `take`."""

    name: str

    def initial(self, n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> Any: ...

    def mutate(self, parents: Any, generation: int, rng: np.random.Generator) -> Any: ...

    def render(
        self, genomes: Any, shape: tuple[int, int, int], device: torch.device | str = "cpu"
    ) -> torch.Tensor: ...

    def take(self, genomes: Any, index: np.ndarray) -> Any: ...

    def concat(self, a: Any, b: Any) -> Any: ...


DIRECT_STARTS = ("uniform", "black")
POPULATION = 200  # children per generation: Nguyen et al.'s MNIST setting


@dataclass(frozen=True)
class DirectEncoding:
    """The genome is the image: C*H*W numbers in [0, 1] (Nguyen et al.'s direct encoding).

    Start: uniform noise (start="uniform", the paper's) or black images (start="black": a
    sigmoid MLP saturates on noise and evolution from there can stall far below the target).
    Mutation: each number is chosen with probability
    rate * 0.5 ** (generation // halve_every) (0.1 halved every 1000 generations in the paper)
    and moved by polynomial mutation with distribution index eta (15 in the paper):
    u ~ U(0, 1), delta = (2u)^(1/(eta+1)) - 1 if u < 1/2 else 1 - (2(1-u))^(1/(eta+1)),
    x' = clip(x + delta, 0, 1) (Deb & Agrawal 1995; the form Sferes, the paper's framework, uses).
    """

    rate: float = 0.1
    halve_every: int = 1000
    eta: float = 15.0
    start: str = "uniform"  # "uniform" | "black"

    name = "direct"

    def __post_init__(self) -> None:
        if not 0.0 < self.rate <= 1.0:
            raise ConfigError(f"mutation rate must lie in (0, 1], not {self.rate}")
        if self.halve_every < 1:
            raise ConfigError(f"halve_every must be at least 1, not {self.halve_every}")
        if not self.eta >= 0:
            raise ConfigError(f"eta must be non-negative, not {self.eta}")
        if self.start not in DIRECT_STARTS:
            raise ConfigError(f"start is one of {', '.join(DIRECT_STARTS)}, not {self.start!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"encoding": self.name, **dataclasses.asdict(self)}

    def rate_at(self, generation: int) -> float:
        return self.rate * 0.5 ** (generation // self.halve_every)

    def initial(self, n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
        if self.start == "black":
            return np.zeros((n, *shape), np.float32)
        return rng.random((n, *shape), dtype=np.float32)

    def mutate(self, parents: np.ndarray, generation: int, rng: np.random.Generator) -> np.ndarray:
        chosen = rng.random(parents.shape, dtype=np.float32) < self.rate_at(generation)
        idx = np.flatnonzero(chosen)
        child = parents.copy()
        flat = child.reshape(-1)
        flat[idx] = np.clip(flat[idx] + polynomial_delta(rng.random(len(idx)), self.eta), 0, 1)
        return child

    def render(
        self, genomes: np.ndarray, shape: tuple[int, int, int], device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        return torch.from_numpy(genomes).to(device)

    def take(self, genomes: np.ndarray, index: np.ndarray) -> np.ndarray:
        return genomes[index]

    def concat(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a, b])


def polynomial_delta(u: np.ndarray, eta: float) -> np.ndarray:
    """Polynomial mutation's step for uniform draws u in [0, 1): in [-1, 1), mostly small for
    large eta; delta(0) = -1, delta(1/2) = 0, delta(u) = -delta(1 - u) up to rounding."""
    e = 1.0 / (eta + 1.0)
    low = u < 0.5
    out = np.empty_like(u)
    out[low] = np.power(2.0 * u[low], e) - 1.0
    out[~low] = 1.0 - np.power(2.0 * (1.0 - u[~low]), e)
    return out.astype(np.float32)


@dataclass(frozen=True, eq=False)
class EvolutionResult:
    """The final archive and its history.

    history_log_prob[g, k] is the archive's log-probability for class classes[k] after
    generation g (row 0: the initial population), so each column never decreases.
    """

    encoding: str
    classes: tuple[int, ...]  # the archive's cells (model output indices)
    images: torch.Tensor  # (K, C, H, W) one elite per class, in [0, 1]
    genomes: Any  # the elites' genomes (images for direct, a CPPNBatch for CPPN)
    history_log_prob: np.ndarray  # (generations + 1, K) float64
    reached_generation: tuple[int | None, ...]  # first generation at or above the target
    target: float
    population: int
    seed: int
    collected: torch.Tensor | None = None  # offspring at or above `collect_above`, if asked

    @property
    def generations(self) -> int:
        return int(self.history_log_prob.shape[0] - 1)

    @property
    def evaluations(self) -> int:
        return self.population * (self.generations + 1)

    @property
    def confidence(self) -> np.ndarray:
        """The elites' probabilities for their classes, (K,) float64."""
        return np.exp(self.history_log_prob[-1])

    @property
    def all_reached(self) -> bool:
        return all(g is not None for g in self.reached_generation)

    @property
    def generations_to_all(self) -> int | None:
        """The generation at which the last class reached the target (None: not all did)."""
        return max(self.reached_generation) if self.all_reached else None  # type: ignore[type-var]

    def curve(self, statistic: str) -> np.ndarray:
        """Per generation the best, median or worst elite's probability: (generations + 1,)."""
        fns = {"best": np.max, "median": np.median, "worst": np.min}
        if statistic not in fns:
            raise ConfigError(f"statistic is one of {', '.join(fns)}, not {statistic!r}")
        return np.exp(fns[statistic](self.history_log_prob, axis=1))

    def to_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        per_class = [
            {
                "class": int(k),
                "name": class_name(class_names, int(k)),
                "confidence": float(c),
                "generation": g,
            }
            for k, c, g in zip(self.classes, self.confidence, self.reached_generation, strict=True)
        ]
        return {
            "encoding": self.encoding,
            "target": self.target,
            "population": self.population,
            "seed": self.seed,
            "generations": self.generations,
            "evaluations": self.evaluations,
            "all_reached": self.all_reached,
            "generations_to_all": self.generations_to_all,
            **fooling_summary(self.confidence, self.target),
            "per_class": per_class,
            "best_per_generation": self.curve("best").tolist(),
            "median_per_generation": self.curve("median").tolist(),
            "worst_per_generation": self.curve("worst").tolist(),
        }


def evolve(
    model: nn.Module,
    encoding: Encoding,
    shape: tuple[int, int, int],
    *,
    generations: int = 200,
    population: int = POPULATION,
    target: float = 0.9999,
    classes: Sequence[int] | None = None,
    stop_at_target: bool = True,
    focus: bool = True,
    seed: int = 0,
    collect_above: float | None = None,
    collect_max: int = 0,
    progress: bool = False,
) -> EvolutionResult:
    """Evolve one fooling image per class by MAP-Elites (Nguyen et al. 2015).

    population: children per generation, shared round robin among the parent elites.
    classes: the archive's cells (default: every output of the model).
    stop_at_target: stop once every class's elite reaches `target`.
    focus: only elites still below the target have children (all of them once every class
    is there); focus=False breeds from every elite, as in the paper. Any child can still
    become the elite of any class.
    collect_above: keep every child whose probability for some cell's class reaches this,
    up to collect_max images (the retraining experiment's garbage class).
    Same seed, same images (on the CPU).
    """
    shape = check_shape(shape)
    cells = _cells(model, shape, classes, generations, target, population)
    k, log_target = len(cells), math.log(target)
    rng = np.random.default_rng(seed)
    device = model_device(model)
    genomes = encoding.initial(population, shape, rng)
    fitness = _fitness(model, encoding.render(genomes, shape, device), cells)  # (P, K)
    best = fitness.argmax(0)
    archive, archive_fit = encoding.take(genomes, best), fitness[best, np.arange(k)]
    history = [archive_fit.copy()]
    reached_gen: list[int | None] = [None] * k
    _mark(reached_gen, archive_fit >= log_target, 0)
    collected: list[torch.Tensor] = []
    bar = progress_bar(generations, progress, unit="gen", desc=f"evolve {encoding.name}")
    for gen in range(1, generations + 1):
        if stop_at_target and all(g is not None for g in reached_gen):
            break
        parents = encoding.take(archive, _parents(reached_gen, population, focus))
        children = encoding.mutate(parents, gen, rng)
        images = encoding.render(children, shape, device)
        fitness = _fitness(model, images, cells)
        if collect_above is not None and sum(len(c) for c in collected) < collect_max:
            keep = fitness.max(1) >= math.log(collect_above)
            collected.append(images[torch.from_numpy(keep).to(images.device)].cpu())
        # MAP-Elites: the best child per cell replaces that cell's elite if it is better.
        winner = fitness.argmax(0)
        winner_fit = fitness[winner, np.arange(k)]
        improved = winner_fit > archive_fit
        pick = np.where(improved, k + winner, np.arange(k))
        archive = encoding.take(encoding.concat(archive, children), pick)
        archive_fit = np.where(improved, winner_fit, archive_fit)
        history.append(archive_fit.copy())
        _mark(reached_gen, archive_fit >= log_target, gen)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(worst=f"{100 * math.exp(archive_fit.min()):.3f}%")
    if bar is not None:
        bar.close()
    return EvolutionResult(
        encoding=encoding.name,
        classes=tuple(int(c) for c in cells),
        images=encoding.render(archive, shape, device).cpu(),
        genomes=archive,
        history_log_prob=np.stack(history),
        reached_generation=tuple(reached_gen),
        target=target,
        population=population,
        seed=seed,
        collected=torch.cat(collected)[:collect_max] if collected else None,
    )


def _cells(
    model: nn.Module,
    shape: tuple[int, int, int],
    classes: Sequence[int] | None,
    generations: int,
    target: float,
    population: int,
) -> np.ndarray:
    """Check the settings; return the archive's cells (model output indices)."""
    if generations < 0:
        raise ConfigError(f"generations must be non-negative, not {generations}")
    if not 0.0 < target < 1.0:
        raise ConfigError(f"target confidence must lie in (0, 1), not {target}")
    k_all = num_classes(model, shape)
    cells = np.arange(k_all) if classes is None else np.asarray(list(classes), dtype=np.int64)
    if len(cells) == 0 or cells.min() < 0 or cells.max() >= k_all:
        raise ConfigError(f"classes must be outputs of the model (0 to {k_all - 1})")
    if population < len(cells):
        raise ConfigError(f"population must be at least the number of classes ({len(cells)})")
    return cells


def _mark(generation: list[int | None], at_target: np.ndarray, gen: int) -> None:
    """Record the generation at which each cell first reaches the target."""
    for c in np.flatnonzero(at_target):
        if generation[c] is None:
            generation[c] = gen


def _parents(reached: list[int | None], population: int, focus: bool) -> np.ndarray:
    """Which cell's elite each child descends from: round robin over every cell, or with
    `focus` over the cells still below the target (all of them once none is left)."""
    cells = np.arange(len(reached))
    if focus:
        below = cells[[g is None for g in reached]]
        cells = below if len(below) else cells
    return cells[np.arange(population) % len(cells)]


def _fitness(model: nn.Module, images: torch.Tensor, cells: np.ndarray) -> np.ndarray:
    """log p(cell's class | image) in float64, (P, K)."""
    return log_probs(model, images, batch_size=max(1024, len(images)))[:, cells].numpy()
