"""Compositional pattern-producing networks (CPPNs): images as functions of the coordinates.

A CPPN (Stanley 2007) maps each pixel's position (x, y, d = distance from the centre, and a
constant bias input) through a small feed-forward graph of sine, Gaussian, sigmoid, linear and
absolute-value nodes to a grey level. Nguyen, Yosinski and Clune (2015) evolved them to fool
classifiers; their regular, symmetric patterns (stripes, blobs) are what this encoding favours.

A population is stored as one set of arrays (struct of arrays) with a fixed node capacity, so
mutation is vectorised across genomes in numpy and a whole population renders in one batched
pass per node in torch:

    slots   0..3            inputs x, y, d, bias        depth 0
            4..4+C-1        outputs (one per channel)   depth 1, sigmoid
            4+C..M-1        hidden nodes                depth in (0, 1) once used, else 2

A link i -> j exists only when depth[i] < depth[j], so sorting the slots by depth is a
topological order and the graph stays acyclic under every mutation.

Resolution independence: an image is the CPPN evaluated at pixel centres,
x_j = (2j + 1) / W - 1 and y_i = (2i + 1) / H - 1 in [-1, 1]. The same genome renders at any
size; a render at 3n x 3n sampled at pixels (3i + 1, 3j + 1) equals the render at n x n,
because both evaluate the same coordinates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fragility.errors import ConfigError

ACTIVATIONS = ("sine", "gaussian", "sigmoid", "linear", "abs")
SIGMOID = ACTIVATIONS.index("sigmoid")
INPUTS = ("x", "y", "d", "bias")
N_IN = len(INPUTS)
UNUSED_DEPTH = 2.0


@dataclass(frozen=True, eq=False)
class CPPNBatch:
    """P networks with M node slots each. Arrays are never changed in place; mutation copies."""

    weight: np.ndarray  # (P, M, M) float32; weight[p, j, i] is the link i -> j (0 where none)
    linked: np.ndarray  # (P, M, M) bool
    activation: np.ndarray  # (P, M) int8 index into ACTIVATIONS
    depth: np.ndarray  # (P, M) float64 position in the feed-forward order
    used: np.ndarray  # (P, M) bool
    n_outputs: int

    def __len__(self) -> int:
        return int(self.weight.shape[0])

    @property
    def capacity(self) -> int:
        return int(self.weight.shape[1])

    def __getitem__(self, index: Any) -> CPPNBatch:
        index = np.asarray(index)
        if index.ndim == 0:
            index = index[None]
        return CPPNBatch(
            self.weight[index],
            self.linked[index],
            self.activation[index],
            self.depth[index],
            self.used[index],
            self.n_outputs,
        )

    @staticmethod
    def concat(a: CPPNBatch, b: CPPNBatch) -> CPPNBatch:
        return CPPNBatch(
            np.concatenate([a.weight, b.weight]),
            np.concatenate([a.linked, b.linked]),
            np.concatenate([a.activation, b.activation]),
            np.concatenate([a.depth, b.depth]),
            np.concatenate([a.used, b.used]),
            a.n_outputs,
        )

    def copy(self) -> CPPNBatch:
        return CPPNBatch(
            self.weight.copy(),
            self.linked.copy(),
            self.activation.copy(),
            self.depth.copy(),
            self.used.copy(),
            self.n_outputs,
        )

    def describe(self, p: int) -> dict[str, Any]:
        """Network p as JSON: its nodes (slot, kind, activation) and links (from, to, weight)."""
        names = {i: name for i, name in enumerate(INPUTS)}
        names.update({N_IN + c: f"out{c}" for c in range(self.n_outputs)})
        nodes = [
            {
                "slot": int(s),
                "name": names.get(int(s), f"h{int(s)}"),
                "activation": None if s < N_IN else ACTIVATIONS[int(self.activation[p, s])],
            }
            for s in np.argsort(self.depth[p], kind="stable")
            if self.used[p, s]
        ]
        links = [
            {"from": int(i), "to": int(j), "weight": float(self.weight[p, j, i])}
            for j, i in zip(*np.nonzero(self.linked[p]), strict=True)
        ]
        return {"nodes": nodes, "links": links}

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """Hidden nodes and links per network, each (P,)."""
        hidden = self.used[:, N_IN + self.n_outputs :].sum(1)
        return hidden, self.linked.sum((1, 2))


@dataclass(frozen=True)
class CPPNEncoding:
    """How CPPN genomes start and mutate (NEAT's structural mutations, without crossover).

    Each child, independently: every link's weight moves by N(0, weight_sigma) with
    probability p_weight (clipped to +-weight_limit); with probability p_add_link a new link
    joins two unlinked nodes in feed-forward order (weight N(0, 1)); with probability
    p_add_node a random link i -> j is split into i -> new -> j (weights 1 and the old weight,
    a random activation), while free slots last; with probability p_activation one hidden
    node gets a new activation. Initial networks link every input to every output with N(0, 1)
    weights and then take `initial_nodes` add-node and add-link mutations each.
    """

    max_hidden: int = 16
    p_weight: float = 0.5
    weight_sigma: float = 1.0
    weight_limit: float = 8.0
    p_add_link: float = 0.3
    p_add_node: float = 0.2
    p_activation: float = 0.1
    initial_nodes: int = 2

    name = "cppn"

    def __post_init__(self) -> None:
        for field in ("p_weight", "p_add_link", "p_add_node", "p_activation"):
            v = getattr(self, field)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"{field} is a probability in [0, 1], not {v}")
        if self.max_hidden < 0 or self.initial_nodes < 0 or self.initial_nodes > self.max_hidden:
            raise ConfigError(
                f"need 0 <= initial_nodes <= max_hidden, not {self.initial_nodes} and "
                f"{self.max_hidden}"
            )
        if not (self.weight_sigma > 0 and self.weight_limit > 0):
            raise ConfigError("weight_sigma and weight_limit must be positive")

    def to_dict(self) -> dict[str, Any]:
        return {"encoding": self.name, **dataclasses.asdict(self)}

    # -- the encoding protocol used by fragility.garbage.evolve ------------------------------

    def initial(self, n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> CPPNBatch:
        c = shape[0]
        m = N_IN + c + self.max_hidden
        weight = np.zeros((n, m, m), np.float32)
        linked = np.zeros((n, m, m), bool)
        outs = slice(N_IN, N_IN + c)
        linked[:, outs, :N_IN] = True
        weight[:, outs, :N_IN] = rng.normal(0.0, 1.0, (n, c, N_IN))
        activation = np.full((n, m), SIGMOID, np.int8)
        depth = np.full((n, m), UNUSED_DEPTH)
        depth[:, :N_IN] = 0.0
        depth[:, outs] = 1.0
        used = np.zeros((n, m), bool)
        used[:, : N_IN + c] = True
        batch = CPPNBatch(weight, linked, activation, depth, used, c)
        everyone = np.ones(n, bool)
        for _ in range(self.initial_nodes):
            batch = _add_node(batch, everyone, rng)
            batch = _add_link(batch, everyone, rng)
        return batch

    def mutate(self, parents: CPPNBatch, generation: int, rng: np.random.Generator) -> CPPNBatch:
        del generation  # the CPPN operators keep fixed rates
        n = len(parents)
        b = _perturb_weights(parents, self.p_weight, self.weight_sigma, self.weight_limit, rng)
        b = _add_link(b, rng.random(n) < self.p_add_link, rng)
        b = _add_node(b, rng.random(n) < self.p_add_node, rng)
        return _change_activation(b, rng.random(n) < self.p_activation, rng)

    def render(
        self, genomes: CPPNBatch, shape: tuple[int, int, int], device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        return render(genomes, shape[1], shape[2], device=device)

    def take(self, genomes: CPPNBatch, index: np.ndarray) -> CPPNBatch:
        return genomes[index]

    def concat(self, a: CPPNBatch, b: CPPNBatch) -> CPPNBatch:
        return CPPNBatch.concat(a, b)


# ---------------------------------------------------------------------------------------------
# Mutation operators: pure functions batch -> new batch, vectorised over the rows in `rows`.


def _random_pick(candidates: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """For each row of a (R, ...) boolean array, one True position chosen uniformly at random.

    Returns (has_any (R,), flat index (R,)): a random score per candidate, argmax per row.
    """
    flat = candidates.reshape(len(candidates), -1)
    scores = np.where(flat, rng.random(flat.shape), -1.0)
    return flat.any(1), scores.argmax(1)


def _perturb_weights(
    b: CPPNBatch, p: float, sigma: float, limit: float, rng: np.random.Generator
) -> CPPNBatch:
    links = np.flatnonzero(b.linked)  # draw only for links that exist, not for every slot pair
    moved = links[rng.random(len(links)) < p]
    weight = b.weight.copy()
    flat = weight.reshape(-1)
    flat[moved] = np.clip(flat[moved] + rng.normal(0.0, sigma, len(moved)), -limit, limit)
    return dataclasses.replace(b, weight=weight)


def _add_link(b: CPPNBatch, rows: np.ndarray, rng: np.random.Generator) -> CPPNBatch:
    rows = np.flatnonzero(rows)
    if not len(rows):
        return b
    depth, used = b.depth[rows], b.used[rows]
    # candidate[r, j, i]: i -> j keeps the feed-forward order and is not there yet
    forward = depth[:, None, :] < depth[:, :, None]
    candidate = forward & used[:, :, None] & used[:, None, :] & ~b.linked[rows]
    has, pick = _random_pick(candidate, rng)
    rows, pick = rows[has], pick[has]
    if not len(rows):
        return b
    j, i = np.divmod(pick, b.capacity)
    out = b.copy()
    out.linked[rows, j, i] = True
    out.weight[rows, j, i] = rng.normal(0.0, 1.0, len(rows))
    return out


def _add_node(b: CPPNBatch, rows: np.ndarray, rng: np.random.Generator) -> CPPNBatch:
    first_hidden = N_IN + b.n_outputs
    free = ~b.used[:, first_hidden:]
    rows = np.flatnonzero(rows & free.any(1) & b.linked.any((1, 2)))
    if not len(rows):
        return b
    _, pick = _random_pick(b.linked[rows], rng)
    j, i = np.divmod(pick, b.capacity)
    s = first_hidden + free[rows].argmax(1)  # the first free hidden slot
    out = b.copy()
    out.used[rows, s] = True
    out.depth[rows, s] = 0.5 * (b.depth[rows, i] + b.depth[rows, j])
    out.activation[rows, s] = rng.integers(0, len(ACTIVATIONS), len(rows))
    out.linked[rows, s, i] = True
    out.weight[rows, s, i] = 1.0
    out.linked[rows, j, s] = True
    out.weight[rows, j, s] = b.weight[rows, j, i]
    out.linked[rows, j, i] = False
    out.weight[rows, j, i] = 0.0
    return out


def _change_activation(b: CPPNBatch, rows: np.ndarray, rng: np.random.Generator) -> CPPNBatch:
    hidden = b.used.copy()
    hidden[:, : N_IN + b.n_outputs] = False
    rows = np.flatnonzero(rows & hidden.any(1))
    if not len(rows):
        return b
    _, s = _random_pick(hidden[rows], rng)
    out = b.copy()
    out.activation[rows, s] = rng.integers(0, len(ACTIVATIONS), len(rows))
    return out


# ---------------------------------------------------------------------------------------------
# Rendering


def pixel_centres(height: int, width: int) -> torch.Tensor:
    """(H*W, 4) inputs x, y, d, bias at the pixel centres of an H x W grid, row-major.

    x_j = (2j + 1)/W - 1, y_i = (2i + 1)/H - 1 (computed in float64, so equal fractions give
    equal coordinates at every resolution); d = sqrt(x^2 + y^2) / sqrt(2) lies in [0, 1].
    """
    if height < 1 or width < 1:
        raise ConfigError(f"a render needs a positive size, not {height}x{width}")
    xs = (2.0 * torch.arange(width, dtype=torch.float64) + 1.0) / width - 1.0
    ys = (2.0 * torch.arange(height, dtype=torch.float64) + 1.0) / height - 1.0
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return coordinates(x.reshape(-1), y.reshape(-1))


def coordinates(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(G, 4) CPPN inputs for arbitrary points (x, y) in [-1, 1]^2."""
    x, y = x.double(), y.double()
    d = torch.sqrt(x * x + y * y) / np.sqrt(2.0)
    return torch.stack([x, y, d, torch.ones_like(x)], dim=1)


_FUNCTIONS = (  # in the order of ACTIVATIONS
    torch.sin,
    lambda z: torch.exp(-z * z),
    torch.sigmoid,
    lambda z: z,
    torch.abs,
)


def _topological_layout(genomes: CPPNBatch) -> tuple[np.ndarray, ...]:
    """Reorder every network so that node t is computed at step t (slots sorted by depth), and
    the population so that networks with more nodes come first.

    Then step t reads the prefix of earlier values and writes one slice, and the networks that
    still have a node at step t are a prefix of the population: slices, no gathers.
    Returns (rank (P,), weight (P, S, S), activation (P, S), n_nodes (P,)) in that layout,
    S being the most nodes any network has.
    """
    n_nodes = genomes.used.sum(1)
    rank = np.argsort(-n_nodes, kind="stable")  # most nodes first
    steps = int(n_nodes.max())  # unused slots sort last and are never computed
    node_order = np.argsort(genomes.depth[rank], axis=1, kind="stable")[:, :steps]  # (P, S)
    rows = rank[:, None, None]
    w = genomes.weight[rows, node_order[:, :, None], node_order[:, None, :]]  # (P, S, S)
    act = genomes.activation[rank[:, None], node_order]
    return rank, w, act, n_nodes[rank]


@torch.no_grad()
def evaluate_at(
    genomes: CPPNBatch, points: torch.Tensor, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Each network's outputs at the given (G, 4) input points: (P, C, G) in [0, 1].

    Nodes are computed in depth order, one batched step for the whole population per node
    position: value[t] = activation_t(sum_{i < t} weight[t, i] * value[i]).
    """
    p, c, g = len(genomes), genomes.n_outputs, points.shape[0]
    rank, w_np, act_np, n_nodes = _topological_layout(genomes)
    steps = int(n_nodes.max())
    weight = torch.from_numpy(w_np).to(device)
    values = torch.zeros(p, steps, g, device=device)
    values[:, :N_IN] = points.T.to(device=device, dtype=torch.float32)
    for t in range(N_IN, steps):
        live = int(np.count_nonzero(n_nodes > t))  # networks with a node at step t: a prefix
        pre = torch.bmm(weight[:live, t : t + 1, :t], values[:live, :t]).squeeze(1)  # (live, G)
        out = values[:live, t]
        for k in np.unique(act_np[:live, t]):
            rows = torch.from_numpy(np.flatnonzero(act_np[:live, t] == k)).to(device)
            out.index_copy_(0, rows, _FUNCTIONS[k](pre.index_select(0, rows)))
    # Outputs sort after every hidden node: network p's output j sits at n_nodes[p] - C + j.
    where = torch.from_numpy(n_nodes[:, None] - c + np.arange(c)).to(device)  # (P, C)
    outputs = torch.gather(values, 1, where[:, :, None].expand(p, c, g))
    result = torch.empty_like(outputs)
    result[torch.from_numpy(rank).to(device)] = outputs  # back to the population's order
    return result


def render(
    genomes: CPPNBatch, height: int, width: int | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Render every network at height x width pixel centres: (P, C, H, W) float32 in [0, 1]."""
    width = height if width is None else width
    out = evaluate_at(genomes, pixel_centres(height, width), device=device)
    return out.reshape(len(genomes), genomes.n_outputs, height, width)


def genome_sizes(genomes: CPPNBatch) -> Sequence[dict[str, int]]:
    hidden, links = genomes.sizes()
    return [{"hidden": int(h), "links": int(k)} for h, k in zip(hidden, links, strict=True)]
