"""Two neurons make a net: the lecture's hand-derived backpropagation, in numpy.

The lecture's smallest net that is a net, trained by backpropagation (Rumelhart, Hinton and
Williams 1986, "Learning representations by back-propagating errors", Nature 323)::

    x -> P1 = w1 x (+ b1) -> y = sigmoid(P1) -> P2 = w2 y (+ b2) -> z = sigmoid(P2)
    L = 1/2 (d - z)^2

By the chain rule::

    dL/dw2 = dL/dz . dz/dP2 . dP2/dw2                      = (z - d) . z(1 - z) . y
    dL/dw1 = dL/dz . dz/dP2 . dP2/dy . dy/dP1 . dP1/dw1    = (z - d) . z(1 - z) . w2 . y(1 - y) . x

Sign: dL/dz = -(d - z) = z - d. The lecture writes d - z because it climbs a performance
P = -L (w <- w + r dP/dw); here we descend the loss (w <- w - r dL/dw). Same step, opposite
sign of the derivative.

The lecture's remark "at each phase, only the last three factors are new" is `backward_step`:
the product dL/dP of the layer above is already known, and one layer down needs only
dP_above/da (the weights above), da/dP (the sigmoid's slope a(1 - a)) and dP/dW (the inputs).
Chaining it gives backpropagation for a sigmoid MLP of any widths and depth (`mlp_backward`),
and with it the 2x2 exercise. The cost claim (paths through the net grow as W^D, backprop's
multiply-adds linearly in depth and quadratically in width) is counted exactly here and timed
against a naive sum over paths.

All the maths is numpy (pure Python in the instrumented scalar versions). torch appears only in
`autograd_two_neuron` / `autograd_mlp`, the independent check, imported when they are called.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fragility.errors import ConfigError

# ----------------------------------------------------------------------------- the sigmoid


def sigmoid(a: np.ndarray | float) -> np.ndarray:
    """beta = 1 / (1 + e^-alpha), written so that neither branch overflows."""
    a = np.asarray(a, dtype=np.float64)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_slope(beta: np.ndarray | float) -> np.ndarray:
    """d beta / d alpha = beta (1 - beta): the slope from the sigmoid's output alone."""
    beta = np.asarray(beta, dtype=np.float64)
    return beta * (1.0 - beta)


def _finite(**values: float | None) -> None:
    for name, v in values.items():
        if v is not None and not math.isfinite(v):
            raise ConfigError(f"{name} must be a finite number, not {v}")


# ----------------------------------------------------------------------------- two neurons


@dataclass(frozen=True)
class TwoNeuronForward:
    """Every intermediate of the forward pass, with the inputs that made them."""

    x: float
    d: float  # the desired output
    w1: float
    w2: float
    b1: float | None  # None: no bias (the lecture's net)
    b2: float | None
    P1: float  # w1 x (+ b1)
    y: float  # sigmoid(P1)
    P2: float  # w2 y (+ b2)
    z: float  # sigmoid(P2)
    loss: float  # 1/2 (d - z)^2

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TwoNeuronGradient:
    """The chain rule's factors by name, and the products they make."""

    dL_dz: float  # z - d
    dz_dP2: float  # z (1 - z)
    dP2_dw2: float  # y
    dP2_dy: float  # w2
    dy_dP1: float  # y (1 - y)
    dP1_dw1: float  # x
    dL_dP2: float  # dL/dz . dz/dP2: computed once, reused by every weight below
    dL_dP1: float  # dL/dP2 . dP2/dy . dy/dP1
    dL_dw2: float  # dL/dP2 . dP2/dw2
    dL_dw1: float  # dL/dP1 . dP1/dw1
    dL_db2: float | None = None  # dL/dP2 . 1, when the net has biases
    dL_db1: float | None = None  # dL/dP1 . 1

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def two_neuron_forward(
    x: float, d: float, w1: float, w2: float, b1: float | None = None, b2: float | None = None
) -> TwoNeuronForward:
    """x -> P1 = w1 x (+ b1) -> y = sigmoid(P1) -> P2 = w2 y (+ b2) -> z = sigmoid(P2)."""
    _finite(x=x, d=d, w1=w1, w2=w2, b1=b1, b2=b2)
    P1 = w1 * x + (b1 or 0.0)
    y = float(sigmoid(P1))
    P2 = w2 * y + (b2 or 0.0)
    z = float(sigmoid(P2))
    if not (math.isfinite(P1) and math.isfinite(P2)):
        raise ConfigError(f"w1 x = {P1} overflows; use numbers of ordinary size")
    loss = 0.5 * (d - z) ** 2
    return TwoNeuronForward(
        float(x), float(d), float(w1), float(w2), b1, b2, float(P1), y, float(P2), z, loss
    )


def two_neuron_backward(f: TwoNeuronForward) -> TwoNeuronGradient:
    """The chain rule, factor by factor (see the module docstring for the formulas)."""
    dL_dz = f.z - f.d  # -(d - z): the loss falls as z moves towards d
    dz_dP2 = f.z * (1.0 - f.z)
    dP2_dw2 = f.y
    dL_dP2 = dL_dz * dz_dP2
    # Phase two: dL/dP2 is known; only the last three factors are new.
    dP2_dy = f.w2
    dy_dP1 = f.y * (1.0 - f.y)
    dP1_dw1 = f.x
    dL_dP1 = dL_dP2 * dP2_dy * dy_dP1
    return TwoNeuronGradient(
        dL_dz=dL_dz,
        dz_dP2=dz_dP2,
        dP2_dw2=dP2_dw2,
        dP2_dy=dP2_dy,
        dy_dP1=dy_dP1,
        dP1_dw1=dP1_dw1,
        dL_dP2=dL_dP2,
        dL_dP1=dL_dP1,
        dL_dw2=dL_dP2 * dP2_dw2,
        dL_dw1=dL_dP1 * dP1_dw1,
        dL_db2=None if f.b2 is None else dL_dP2,
        dL_db1=None if f.b1 is None else dL_dP1,
    )


def lecture_performance_slope(f: TwoNeuronForward) -> float:
    """dP/dz = d - z for the lecture's performance P = -L: what it writes as 'dL/dz'."""
    return f.d - f.z


# ----------------------------------------------------------------------------- one phase


@dataclass(frozen=True, eq=False)
class Phase:
    """One phase of the backward pass through sigmoid layer l (n units fed by m inputs).

    It holds the phase's three factors; the gradients are their products. Below the output,
    `dL_da` is the known dL/dP of the layer above times the first new factor
    dP_above/da = W_above; `da_dP` and `dP_dW` are the other two.
    """

    dL_da: np.ndarray  # (n,) z - d at the output; W_above^T delta_above below it
    da_dP: np.ndarray  # (n,) a (1 - a)
    dP_dW: np.ndarray  # (m,) the layer's inputs: dP[j]/dW[j, i] = inputs[i]

    @property
    def delta(self) -> np.ndarray:
        """(n,) dL/dP = dL/da * da/dP."""
        return self.dL_da * self.da_dP

    @property
    def grad_w(self) -> np.ndarray:
        """(n, m) dL/dW = outer(delta, inputs)."""
        return np.outer(self.delta, self.dP_dW)

    @property
    def grad_b(self) -> np.ndarray:
        """(n,) dL/db = delta, since dP/db = 1."""
        return self.delta


def output_step(output: np.ndarray, desired: np.ndarray, inputs: np.ndarray) -> Phase:
    """The first phase: factors dL/dz = z - d, dz/dP = z(1 - z), dP/dW = inputs."""
    output = np.asarray(output, dtype=np.float64)
    return Phase(output - np.asarray(desired, dtype=np.float64), sigmoid_slope(output), inputs)


def backward_step(
    delta_above: np.ndarray, weights_above: np.ndarray, activation: np.ndarray, inputs: np.ndarray
) -> Phase:
    """Every later phase: dL/dP_above is known, the three new factors are
    dP_above/da = W_above, da/dP = a(1 - a) and dP/dW = inputs::

        dL/dW[j, i] = (sum_k delta_above[k] W_above[k, j]) . a[j](1 - a[j]) . inputs[i]
    """
    return Phase(weights_above.T @ delta_above, sigmoid_slope(activation), inputs)


# ----------------------------------------------------------------------------- sigmoid MLP


@dataclass(frozen=True, eq=False)
class SigmoidMLP:
    """Fully connected sigmoid layers: a_l = sigmoid(W_l a_{l-1} (+ b_l)), a_0 = x.

    widths = (n_0, n_1, ..., n_D): n_0 inputs, D layers of neurons, the last one the output.
    The two-neuron net is widths (1, 1, 1); the lecture's 2x2 exercise is (2, 2, 2).
    """

    weights: tuple[np.ndarray, ...]  # W_l: (n_l, n_{l-1})
    biases: tuple[np.ndarray, ...] | None = None  # b_l: (n_l,), or None for no biases

    def __post_init__(self) -> None:
        ws = tuple(np.array(w, dtype=np.float64) for w in self.weights)
        if not ws or any(w.ndim != 2 for w in ws):
            raise ConfigError("an MLP needs at least one 2-D weight matrix")
        for lower, upper in itertools.pairwise(ws):
            if upper.shape[1] != lower.shape[0]:
                raise ConfigError(f"weights {lower.shape} then {upper.shape} do not chain")
        object.__setattr__(self, "weights", ws)
        if self.biases is not None:
            bs = tuple(np.array(b, dtype=np.float64) for b in self.biases)
            if [b.shape for b in bs] != [(w.shape[0],) for w in ws]:
                raise ConfigError("one bias vector per layer, as long as the layer is wide")
            object.__setattr__(self, "biases", bs)

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1], *(w.shape[0] for w in self.weights))

    @classmethod
    def random(
        cls,
        widths: Sequence[int],
        rng: np.random.Generator,
        *,
        scale: float = 1.0,
        biases: bool = False,
    ) -> SigmoidMLP:
        """Weights drawn from N(0, scale^2 / n_in); biases (if any) from N(0, scale^2)."""
        if len(widths) < 2 or min(widths) < 1:
            raise ConfigError(f"widths must be at least two positive sizes, not {tuple(widths)}")
        pairs = list(itertools.pairwise(widths))
        ws = tuple(rng.normal(0.0, scale / math.sqrt(m), size=(n, m)) for m, n in pairs)
        bs = tuple(rng.normal(0.0, scale, size=n) for _, n in pairs) if biases else None
        return cls(ws, bs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "widths": list(self.widths),
            "weights": [w.tolist() for w in self.weights],
            "biases": None if self.biases is None else [b.tolist() for b in self.biases],
        }


def mlp_forward(net: SigmoidMLP, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Activations (a_0 = x, a_1, ..., a_D = z), each (n_l,)."""
    a = [np.asarray(x, dtype=np.float64)]
    for layer, w in enumerate(net.weights):
        p = w @ a[-1] + (0.0 if net.biases is None else net.biases[layer])
        a.append(sigmoid(p))
    return tuple(a)


def mlp_backward(
    net: SigmoidMLP, activations: Sequence[np.ndarray], desired: np.ndarray
) -> tuple[Phase, ...]:
    """Backpropagation for L = 1/2 sum_k (d_k - z_k)^2: one `Phase` per layer, first layer
    first. Each phase reuses the delta of the one above and adds three factors."""
    depth = len(net.weights)
    phases = [output_step(activations[depth], desired, activations[depth - 1])]
    for layer in range(depth - 1, 0, -1):  # weights W_layer, 1-based: W_l is net.weights[l-1]
        above = phases[-1]
        phases.append(
            backward_step(
                above.delta, net.weights[layer], activations[layer], activations[layer - 1]
            )
        )
    return tuple(reversed(phases))


def mlp_loss(z: np.ndarray, desired: np.ndarray) -> float:
    return float(0.5 * np.sum((np.asarray(desired) - z) ** 2))


@dataclass(frozen=True, eq=False)
class MLPGradient:
    """Mean loss over examples and its gradient, one array per layer."""

    loss: float
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...] | None


def mlp_gradient(net: SigmoidMLP, inputs: np.ndarray, desired: np.ndarray) -> MLPGradient:
    """Loss and gradient averaged over the rows of `inputs` (N, n_0) and `desired` (N, n_D)."""
    inputs = np.atleast_2d(np.asarray(inputs, dtype=np.float64))
    desired = np.atleast_2d(np.asarray(desired, dtype=np.float64))
    gw = [np.zeros_like(w) for w in net.weights]
    gb = [np.zeros(w.shape[0]) for w in net.weights]
    loss = 0.0
    for x, d in zip(inputs, desired, strict=True):
        acts = mlp_forward(net, x)
        loss += mlp_loss(acts[-1], d)
        for layer, phase in enumerate(mlp_backward(net, acts, d)):
            gw[layer] += phase.grad_w
            gb[layer] += phase.grad_b
    n = len(inputs)
    return MLPGradient(
        loss / n,
        tuple(g / n for g in gw),
        None if net.biases is None else tuple(g / n for g in gb),
    )


# ----------------------------------------------------------------------------- the 2x2 exercise


def two_by_two_partials(
    net: SigmoidMLP, x: Sequence[float], d: Sequence[float]
) -> dict[str, float]:
    """The lecture's exercise: all 8 weight partials of the 2x2 net, written out by hand.

    Hidden h_j = sigmoid(u_j1 x_1 + u_j2 x_2), outputs z_k = sigmoid(v_k1 h_1 + v_k2 h_2),
    L = 1/2 sum_k (d_k - z_k)^2, with e_k = (z_k - d_k) z_k (1 - z_k) = dL/dP_k::

        dL/dv_kj = e_k h_j
        dL/du_ji = (e_1 v_1j + e_2 v_2j) h_j (1 - h_j) x_i

    Keys: "w1_ji" for u_ji (layer 1, into hidden j from input i), "w2_kj" for v_kj; 1-based.
    Biases, if the net has them, are added in P like in the general net (no partial here).
    """
    if net.widths != (2, 2, 2):
        raise ConfigError(f"the exercise's net has widths (2, 2, 2), not {net.widths}")
    (u, v), b = net.weights, net.biases or (np.zeros(2), np.zeros(2))
    x1, x2 = float(x[0]), float(x[1])
    h1 = float(sigmoid(u[0, 0] * x1 + u[0, 1] * x2 + b[0][0]))
    h2 = float(sigmoid(u[1, 0] * x1 + u[1, 1] * x2 + b[0][1]))
    z1 = float(sigmoid(v[0, 0] * h1 + v[0, 1] * h2 + b[1][0]))
    z2 = float(sigmoid(v[1, 0] * h1 + v[1, 1] * h2 + b[1][1]))
    e1 = (z1 - float(d[0])) * z1 * (1 - z1)
    e2 = (z2 - float(d[1])) * z2 * (1 - z2)
    back1 = (e1 * v[0, 0] + e2 * v[1, 0]) * h1 * (1 - h1)  # dL/dP of hidden 1
    back2 = (e1 * v[0, 1] + e2 * v[1, 1]) * h2 * (1 - h2)  # dL/dP of hidden 2
    return {
        "w2_11": e1 * h1,
        "w2_12": e1 * h2,
        "w2_21": e2 * h1,
        "w2_22": e2 * h2,
        "w1_11": float(back1 * x1),
        "w1_12": float(back1 * x2),
        "w1_21": float(back2 * x1),
        "w1_22": float(back2 * x2),
    }


def partials_by_name(weights: Sequence[np.ndarray]) -> dict[str, float]:
    """{'w<layer>_<to><from>': value} for small nets, 1-based, matching `two_by_two_partials`."""
    return {
        f"w{layer}_{j + 1}{i + 1}": float(g[j, i])
        for layer, g in enumerate(weights, start=1)
        for j in range(g.shape[0])
        for i in range(g.shape[1])
    }


# ----------------------------------------------------------------------------- gradient descent


@dataclass(frozen=True)
class LossCurve:
    """Loss before each step of gradient descent, then after the last one (steps + 1 values)."""

    name: str
    learning_rate: float
    losses: tuple[float, ...]

    @property
    def first(self) -> float:
        return self.losses[0]

    @property
    def last(self) -> float:
        return self.losses[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "learning_rate": self.learning_rate, "losses": list(self.losses)}


def train_two_neuron(
    x: float,
    d: float,
    w1: float,
    w2: float,
    *,
    learning_rate: float = 2.0,
    steps: int = 300,
    b1: float | None = None,
    b2: float | None = None,
) -> tuple[TwoNeuronForward, LossCurve]:
    """Gradient descent w <- w - r dL/dw on one example; returns the last forward pass."""
    losses = []
    for _ in range(steps):
        f = two_neuron_forward(x, d, w1, w2, b1, b2)
        g = two_neuron_backward(f)
        losses.append(f.loss)
        w1, w2 = w1 - learning_rate * g.dL_dw1, w2 - learning_rate * g.dL_dw2
        b1 = None if b1 is None else b1 - learning_rate * g.dL_db1
        b2 = None if b2 is None else b2 - learning_rate * g.dL_db2
    f = two_neuron_forward(x, d, w1, w2, b1, b2)
    return f, LossCurve("two neurons", learning_rate, (*losses, f.loss))


def train_mlp(
    net: SigmoidMLP,
    inputs: np.ndarray,
    desired: np.ndarray,
    *,
    learning_rate: float = 2.0,
    steps: int = 300,
    name: str = "mlp",
) -> tuple[SigmoidMLP, LossCurve]:
    """Full-batch gradient descent on the mean loss; returns the trained net and its curve."""
    losses = []
    for _ in range(steps):
        g = mlp_gradient(net, inputs, desired)
        losses.append(g.loss)
        ws = tuple(w - learning_rate * gw for w, gw in zip(net.weights, g.weights, strict=True))
        bs = None
        if net.biases is not None and g.biases is not None:
            bs = tuple(b - learning_rate * gb for b, gb in zip(net.biases, g.biases, strict=True))
        net = SigmoidMLP(ws, bs)
    losses.append(mlp_gradient(net, inputs, desired).loss)
    return net, LossCurve(name, learning_rate, tuple(losses))


def swap_task() -> tuple[np.ndarray, np.ndarray]:
    """The 2x2 net's small task: light the output opposite to the input that is on.

    Without the cross-connections of the exercise, no setting of the weights could do it.
    """
    inputs = np.array([[1.0, 0.0], [0.0, 1.0]])
    desired = np.array([[0.1, 0.9], [0.9, 0.1]])
    return inputs, desired


# ----------------------------------------------------------------------------- cost: counting


def dense_connections(widths: Sequence[int]) -> tuple[np.ndarray, ...]:
    """Full connections between consecutive layers: mask l is (n_l, n_{l-1}), all True."""
    return tuple(np.ones((n, m), dtype=bool) for m, n in itertools.pairwise(widths))


def count_paths(connections: Sequence[np.ndarray]) -> int:
    """Input-to-output paths, by dynamic programming over layers.

    paths_into[l][j] = sum over i connected to j of paths_into[l-1][i], paths_into[0] = 1;
    the total sums the last layer. Python integers, so nothing overflows.
    """
    paths_into = [1] * connections[0].shape[1]
    for mask in connections:
        paths_into = [
            sum(p for p, linked in zip(paths_into, row, strict=True) if linked) for row in mask
        ]
    return sum(paths_into)


def backprop_multiply_adds(widths: Sequence[int]) -> int:
    """Multiply-adds of backpropagation's gradient for every weight, after the forward pass.

    A multiply-add is one multiplication, with the addition that accumulates it if any (the
    slope a(1 - a) = a - a.a is one). Counted phase by phase as `mlp_backward` does it: each
    layer's slopes (n_l), its deltas (n_l), its weight gradients (n_l n_{l-1}), and below
    the output W_above^T delta_above (n_l n_{l+1}). Linear in depth, quadratic in width.
    """
    depth = len(widths) - 1
    total = 0
    for layer in range(depth, 0, -1):
        n, n_in = widths[layer], widths[layer - 1]
        total += n + n + n * n_in  # slopes, deltas, outer(delta, inputs)
        if layer < depth:
            total += n * widths[layer + 1]  # W_above^T delta_above
    return total


def path_sum_multiply_adds(widths: Sequence[int]) -> int:
    """Multiply-adds of the naive gradient that sums one product per path (`path_sum_gradient`).

    The slopes a(1 - a) are computed once per neuron; then the weight W_l[j, i] sums, over
    each path from neuron j to an output, the product inputs[i] . slope_j . (weight . slope)
    per later layer . dL/dz_k: 2(D - l) + 2 multiplications per path. Walked layer by layer,
    from the output down, counting the paths from each layer to the outputs as it goes.
    """
    depth = len(widths) - 1
    total = sum(widths[1:])  # the slopes
    paths_to_output = 1  # from one neuron of the current layer
    for layer in range(depth, 0, -1):
        per_path = 2 * (depth - layer) + 2
        total += widths[layer] * widths[layer - 1] * paths_to_output * per_path
        paths_to_output *= widths[layer]
    return total


@dataclass(frozen=True)
class CostTable:
    """Exact counts for uniform nets: W inputs then D layers of W neurons (widths (W,)*(D+1))."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    paths: tuple[tuple[int, ...], ...]  # [depth][width]
    backprop: tuple[tuple[int, ...], ...]  # backprop multiply-adds
    path_sum: tuple[tuple[int, ...], ...]  # naive path-sum multiply-adds

    def to_dict(self) -> dict[str, Any]:
        return {
            "depths": list(self.depths),
            "widths": list(self.widths),
            "paths": [list(r) for r in self.paths],
            "backprop_multiply_adds": [list(r) for r in self.backprop],
            "path_sum_multiply_adds": [list(r) for r in self.path_sum],
        }


def cost_table(
    depths: Sequence[int] = tuple(range(1, 13)), widths: Sequence[int] = tuple(range(1, 9))
) -> CostTable:
    """Paths and gradient costs for every (depth, width), counted by the functions above."""

    def grid(count: Callable[[tuple[int, ...]], int]) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(count((w,) * (d + 1)) for w in widths) for d in depths)

    return CostTable(
        tuple(depths),
        tuple(widths),
        grid(lambda ws: count_paths(dense_connections(ws))),
        grid(backprop_multiply_adds),
        grid(path_sum_multiply_adds),
    )


# ----------------------------------------------------------------------------- cost: doing it


@dataclass(frozen=True, eq=False)
class CountedGradient:
    """Weight gradients from a scalar (pure Python) implementation, with its multiplications."""

    weights: tuple[np.ndarray, ...]
    multiplications: int


def _scalar_net(
    net: SigmoidMLP, x: np.ndarray
) -> tuple[list[list[list[float]]], list[list[float]]]:
    weights = [w.tolist() for w in net.weights]
    acts = [a.tolist() for a in mlp_forward(net, x)]
    return weights, acts


def path_sum_gradient(net: SigmoidMLP, x: np.ndarray, desired: np.ndarray) -> CountedGradient:
    """dL/dW by brute force: for each weight, a sum over every path from it to an output.

    The gradient the lecture warns about: exponential in depth. Pure Python, counting each
    multiplication; the forward pass is not counted (backprop needs it too).
    """
    weights, acts = _scalar_net(net, x)
    depth = len(weights)
    mults = 0
    slopes = [None] + [[a * (1.0 - a) for a in layer] for layer in acts[1:]]
    mults += sum(len(layer) for layer in acts[1:])
    dL_dz = [z - float(d) for z, d in zip(acts[depth], desired, strict=True)]
    grads = []
    for layer in range(1, depth + 1):
        w = weights[layer - 1]
        g = [[0.0] * len(w[0]) for _ in w]
        later = [range(len(acts[m])) for m in range(layer + 1, depth + 1)]
        for j in range(len(w)):
            for i in range(len(w[0])):
                total = 0.0
                for path in itertools.product(*later):
                    product = acts[layer - 1][i] * slopes[layer][j]
                    mults += 1
                    prev = j
                    for m, node in enumerate(path, start=layer + 1):
                        product = product * weights[m - 1][node][prev] * slopes[m][node]
                        mults += 2
                        prev = node
                    total += product * dL_dz[prev]
                    mults += 1
                g[j][i] = total
        grads.append(np.array(g))
    return CountedGradient(tuple(grads), mults)


def scalar_backprop_gradient(
    net: SigmoidMLP, x: np.ndarray, desired: np.ndarray
) -> CountedGradient:
    """The same gradient by backpropagation, in the same pure Python, counting multiplications.

    The arithmetic engine matches `path_sum_gradient`, so their times compare the algorithms.
    """
    weights, acts = _scalar_net(net, x)
    depth = len(weights)
    mults = 0
    grads: list[np.ndarray] = []
    upstream = [z - float(d) for z, d in zip(acts[depth], desired, strict=True)]
    for layer in range(depth, 0, -1):
        a, inputs, w = acts[layer], acts[layer - 1], weights[layer - 1]
        delta = [u * (ak - ak * ak) for u, ak in zip(upstream, a, strict=True)]
        mults += 2 * len(a)
        grads.append(np.array([[dj * xi for xi in inputs] for dj in delta]))
        mults += len(delta) * len(inputs)
        if layer > 1:
            upstream = [
                sum(w[k][i] * delta[k] for k in range(len(delta))) for i in range(len(inputs))
            ]
            mults += len(delta) * len(inputs)
    return CountedGradient(tuple(reversed(grads)), mults)


@dataclass(frozen=True)
class GradientTiming:
    """Seconds for one gradient, best of `repeats`, naive path sum against backprop."""

    width: int
    depth: int
    path_sum_s: float
    backprop_s: float
    path_sum_multiply_adds: int
    backprop_multiply_adds: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _best_seconds(fn: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_gradients(
    widths: Sequence[int] = (2, 3, 4),
    depths: Sequence[int] = tuple(range(1, 13)),
    *,
    max_path_sum_multiply_adds: int = 1_000_000,
    repeats: int = 3,
    seed: int = 0,
) -> tuple[GradientTiming, ...]:
    """Time both scalar gradients on random uniform nets, for every (width, depth) whose path
    sum stays under `max_path_sum_multiply_adds` (so the naive sum still finishes quickly)."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in widths:
        for depth in depths:
            shape = (w,) * (depth + 1)
            naive_cost = path_sum_multiply_adds(shape)
            if naive_cost > max_path_sum_multiply_adds:
                break
            net = SigmoidMLP.random(shape, rng)
            x, d = rng.uniform(0, 1, size=w), rng.uniform(0, 1, size=w)
            rows.append(
                GradientTiming(
                    w,
                    depth,
                    _best_seconds(lambda n=net, x=x, d=d: path_sum_gradient(n, x, d), repeats),
                    _best_seconds(
                        lambda n=net, x=x, d=d: scalar_backprop_gradient(n, x, d), repeats
                    ),
                    naive_cost,
                    backprop_multiply_adds(shape),
                )
            )
    return tuple(rows)


# ----------------------------------------------------------------------------- the check


def autograd_two_neuron(
    x: float, d: float, w1: float, w2: float, b1: float | None = None, b2: float | None = None
) -> dict[str, float]:
    """dL/dw1, dL/dw2 (and dL/db1, dL/db2 when given) by torch autograd in float64."""
    import torch

    def leaf(v: float) -> torch.Tensor:
        return torch.tensor(v, dtype=torch.float64, requires_grad=True)

    params = {"w1": leaf(w1), "w2": leaf(w2)}
    if b1 is not None:
        params["b1"] = leaf(b1)
    if b2 is not None:
        params["b2"] = leaf(b2)
    zero = torch.zeros((), dtype=torch.float64)
    y = torch.sigmoid(params["w1"] * x + params.get("b1", zero))
    z = torch.sigmoid(params["w2"] * y + params.get("b2", zero))
    loss = 0.5 * (d - z) ** 2
    loss.backward()
    return {f"dL_d{k}": p.grad.item() for k, p in params.items()}


def autograd_mlp(
    net: SigmoidMLP, x: np.ndarray, desired: np.ndarray
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...] | None]:
    """Weight (and bias) gradients of L = 1/2 sum (d - z)^2 by torch autograd in float64."""
    import torch

    ws = [torch.tensor(w, requires_grad=True) for w in net.weights]
    bs = None if net.biases is None else [torch.tensor(b, requires_grad=True) for b in net.biases]
    a = torch.tensor(np.asarray(x, dtype=np.float64))
    for layer, w in enumerate(ws):
        a = torch.sigmoid(w @ a + (0.0 if bs is None else bs[layer]))
    loss = 0.5 * torch.sum((torch.tensor(np.asarray(desired, dtype=np.float64)) - a) ** 2)
    loss.backward()
    grads_w = tuple(w.grad.numpy() for w in ws)
    return grads_w, None if bs is None else tuple(b.grad.numpy() for b in bs)


# ----------------------------------------------------------------------------- the walkthrough

DEFAULT_EXAMPLE = {"x": 2.0, "d": 0.9, "w1": 0.5, "w2": -0.4}
TWO_BY_TWO_INPUT = (1.0, 0.5)
TWO_BY_TWO_DESIRED = (0.9, 0.1)


def two_by_two_example() -> SigmoidMLP:
    """The worked 2x2 net: round weights, signs mixed so that the cross terms matter."""
    return SigmoidMLP((np.array([[0.5, -0.3], [0.2, 0.8]]), np.array([[0.7, -0.6], [0.1, 0.4]])))


@dataclass(frozen=True, eq=False)
class Walkthrough:
    """The appendix as data: the worked example, its check, the 2x2 exercise, training and
    the exact cost counts. Deterministic for the same inputs and seed."""

    forward: TwoNeuronForward
    gradient: TwoNeuronGradient
    autograd: dict[str, float]
    two_by_two_net: SigmoidMLP
    two_by_two_input: tuple[float, float]
    two_by_two_desired: tuple[float, float]
    two_by_two_by_hand: dict[str, float]
    two_by_two_backprop: dict[str, float]
    two_by_two_autograd: dict[str, float]
    curves: tuple[LossCurve, ...]
    cost: CostTable
    seed: int = 0

    @property
    def lecture_dP_dz(self) -> float:
        """d - z, the lecture's sign."""
        return lecture_performance_slope(self.forward)

    @property
    def autograd_max_abs_difference(self) -> float:
        """Largest |hand-derived - autograd| over the two-neuron partials."""
        return max(abs(getattr(self.gradient, k) - v) for k, v in self.autograd.items())

    @property
    def two_by_two_max_abs_difference(self) -> float:
        """Largest |by hand - autograd| or |backprop - autograd| over the 2x2 partials."""
        return max(
            max(abs(self.two_by_two_by_hand[k] - v), abs(self.two_by_two_backprop[k] - v))
            for k, v in self.two_by_two_autograd.items()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "two_neuron": {
                "forward": self.forward.to_dict(),
                "factors": self.gradient.to_dict(),
                "sign": {"dL_dz": self.gradient.dL_dz, "lecture_dP_dz": self.lecture_dP_dz},
                "autograd": self.autograd,
                "autograd_max_abs_difference": self.autograd_max_abs_difference,
            },
            "two_by_two": {
                "net": self.two_by_two_net.to_dict(),
                "input": list(self.two_by_two_input),
                "desired": list(self.two_by_two_desired),
                "by_hand": self.two_by_two_by_hand,
                "backprop": self.two_by_two_backprop,
                "autograd": self.two_by_two_autograd,
                "max_abs_difference": self.two_by_two_max_abs_difference,
            },
            "training": [c.to_dict() for c in self.curves],
            "cost": self.cost.to_dict(),
            "seed": self.seed,
        }


def walkthrough(
    x: float = DEFAULT_EXAMPLE["x"],
    d: float = DEFAULT_EXAMPLE["d"],
    w1: float = DEFAULT_EXAMPLE["w1"],
    w2: float = DEFAULT_EXAMPLE["w2"],
    b1: float | None = None,
    b2: float | None = None,
    *,
    seed: int = 0,
    steps: int = 300,
    learning_rate: float = 2.0,
) -> Walkthrough:
    """Everything the appendix and `fragility neurons` show, computed once."""
    f = two_neuron_forward(x, d, w1, w2, b1, b2)
    g = two_neuron_backward(f)
    auto = autograd_two_neuron(x, d, w1, w2, b1, b2)

    net, xin, dout = two_by_two_example(), TWO_BY_TWO_INPUT, TWO_BY_TWO_DESIRED
    by_hand = two_by_two_partials(net, xin, dout)
    phases = mlp_backward(net, mlp_forward(net, np.array(xin)), np.array(dout))
    backprop = partials_by_name([p.grad_w for p in phases])
    auto_w, _ = autograd_mlp(net, np.array(xin), np.array(dout))

    _, curve2 = train_two_neuron(
        x, d, w1, w2, b1=b1, b2=b2, learning_rate=learning_rate, steps=steps
    )
    start = SigmoidMLP.random((2, 2, 2), np.random.default_rng(seed))
    task_in, task_out = swap_task()
    _, curve22 = train_mlp(
        start,
        task_in,
        task_out,
        learning_rate=learning_rate,
        steps=steps,
        name="2x2 net, swap task",
    )
    return Walkthrough(
        forward=f,
        gradient=g,
        autograd=auto,
        two_by_two_net=net,
        two_by_two_input=xin,
        two_by_two_desired=dout,
        two_by_two_by_hand=by_hand,
        two_by_two_backprop=backprop,
        two_by_two_autograd=partials_by_name(auto_w),
        curves=(curve2, curve22),
        cost=cost_table(),
        seed=seed,
    )
