"""What no input can reach, and the best input found: a proved ceiling per class, and a witness.

The ceiling (a proof). For a network x -> f(x) -> z = W h + b whose hidden part f is a chain of
linear, convolution, pooling and monotone activation layers (sigmoid, tanh, ReLU), every input
in the box [0, 1]^d gives a last hidden layer h inside a box [lo, hi] found by interval bound
propagation (Gowal et al. 2018): a linear layer maps the box with centre c and radius r to the
box with centre W c + b and radius |W| r, and a monotone layer maps each end. So

    max_x p_k(x) <= max_{h in [lo, hi]} p_k(W h + b) = ceiling_k.

log p_k(z) = z_k - logsumexp(z) is concave in z (logsumexp is convex) and z is affine in h, so
the right-hand side is a concave maximisation over a box; L-BFGS-B solves it, and concavity
turns its answer h^ into a certificate: for every h in the box,
log p_k(h) <= log p_k(h^) + sum_j max(g_j (lo_j - h^_j), g_j (hi_j - h^_j)), g = grad log p_k(h^),
so the ceiling reported is that right-hand side (an upper bound even if the optimiser stopped
early). It holds in exact arithmetic; the model's float32 forward pass can differ by rounding.
A ceiling under the target proves that no image, however garbled, reaches the target.

The witness (a search). The bound is a relaxation (the hidden units cannot all take their
extremes at once), so it can lie above what any input reaches. Where it is at or above the
target, the witness search looks for an input that gets there: L-BFGS-B in float64 on
-log p_k(x) over x in [0, 1]^d, from the caller's starts (the gradient-ascent images) and from
black, grey, white and seeded noise; the best input's confidence is then measured by a forward
pass of the model as given. Each class ends in one of three states:

- unreachable: ceiling < target (proved);
- reached: the witness's own forward pass gives p_k >= target;
- open: no input found reaches the target, and the ceiling does not rule one out.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fragility import threads
from fragility.contract import check_images, check_shape, predict
from fragility.errors import InputError
from fragility.garbage._model import class_name

UNREACHABLE, REACHED, OPEN = "unreachable", "reached", "open"
_MONOTONE = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.MaxPool2d, nn.MaxPool1d, nn.AvgPool2d)
_PASS = (nn.Dropout, nn.Identity)
WITNESS_NOISE_STARTS = 4
WITNESS_MAX_ITER = 1000


@dataclass(frozen=True, eq=False)
class Ceiling:
    """Per class: the proved ceiling, and where it is at or above the target, the witness."""

    bound: np.ndarray  # (K,) float64: no input in [0, 1]^d gives p_k above this
    target: float
    witness: torch.Tensor | None  # (K, C, H, W) the best input known per class (None: no starts)
    witness_confidence: np.ndarray  # (K,) p_k(witness_k) by a forward pass; NaN: no witness

    def verdict(self, k: int) -> str:
        if self.bound[k] < self.target:
            return UNREACHABLE
        return REACHED if self.witness_confidence[k] >= self.target else OPEN

    @property
    def verdicts(self) -> tuple[str, ...]:
        return tuple(self.verdict(k) for k in range(len(self.bound)))

    def classes(self, verdict: str) -> tuple[int, ...]:
        return tuple(k for k, v in enumerate(self.verdicts) if v == verdict)

    def to_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        return {
            "target": self.target,
            "method": "interval bounds to the last hidden layer, then the exact maximum of "
            "p_k over that box (certified by concavity); witness: L-BFGS-B on the input",
            "max_bound": float(self.bound.max()),
            "unreachable": list(self.classes(UNREACHABLE)),
            "reached": list(self.classes(REACHED)),
            "open": list(self.classes(OPEN)),
            "per_class": [
                {
                    "class": k,
                    "name": class_name(class_names, k),
                    "bound": float(b),
                    "witness_confidence": None if math.isnan(w) else float(w),
                    "verdict": self.verdict(k),
                }
                for k, (b, w) in enumerate(zip(self.bound, self.witness_confidence, strict=True))
            ],
        }


def hidden_box(
    model: nn.Module, shape: tuple[int, int, int]
) -> tuple[torch.Tensor, torch.Tensor, nn.Linear] | None:
    """(lo, hi, head): the box of the input to the model's last layer over all inputs in
    [0, 1]^shape, by interval bound propagation, and that last linear layer. None where the
    model is not an nn.Sequential of supported layers ending in nn.Linear."""
    layers = list(model.children()) if isinstance(model, nn.Sequential) else []
    if len(layers) < 2 or not isinstance(layers[-1], nn.Linear):
        return None
    lo = torch.zeros((1, *check_shape(shape)), dtype=torch.float64)
    hi = torch.ones_like(lo)
    with torch.no_grad():
        for layer in layers[:-1]:
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                lo, hi = _affine_interval(layer, lo, hi)
            elif isinstance(layer, _MONOTONE):
                lo, hi = _apply64(layer, lo), _apply64(layer, hi)
            elif isinstance(layer, nn.Flatten):
                lo, hi = layer(lo), layer(hi)
            elif not isinstance(layer, _PASS):  # dropout: as in eval mode, the identity
                return None
    if lo.dim() != 2 or lo.shape[1] != layers[-1].in_features:
        return None
    return lo[0], hi[0], layers[-1]


def _apply64(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return copy.deepcopy(layer).double()(x)


def _affine_interval(
    layer: nn.Linear | nn.Conv2d, lo: torch.Tensor, hi: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The box layer(box): centre layer(c), radius |W| applied to the radius (no bias)."""
    exact = copy.deepcopy(layer).double()
    absolute = copy.deepcopy(layer).double()
    absolute.weight.data = absolute.weight.data.abs()
    if absolute.bias is not None:
        absolute.bias.data.zero_()
    centre, radius = exact((lo + hi) / 2), absolute((hi - lo) / 2)
    return centre - radius, centre + radius


def box_ceiling(
    weight: np.ndarray, bias: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For z = weight @ h + bias with h in the box [lo, hi]: per class k an upper bound on
    max_h p_k (certified by concavity, module docstring) and the maximiser found, (K,), (K, n)."""
    from scipy.optimize import minimize

    k_all = weight.shape[0]
    bound, argmax = np.empty(k_all), np.empty((k_all, weight.shape[1]))
    for k in range(k_all):

        def neg_log_p(h: np.ndarray, k: int = k) -> tuple[float, np.ndarray]:
            log_p, grad = _log_p(weight, bias, h, k)
            return -log_p, -grad

        res = minimize(
            neg_log_p,
            (lo + hi) / 2,
            jac=True,
            method="L-BFGS-B",
            bounds=list(zip(lo, hi, strict=True)),
            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000},
        )
        h = np.clip(res.x, lo, hi)
        log_p, g = _log_p(weight, bias, h, k)
        gap = np.maximum(g * (lo - h), g * (hi - h)).sum()  # >= 0: the linear upper bound
        bound[k], argmax[k] = math.exp(min(0.0, log_p + gap)), h
    return bound, argmax


def _log_p(w: np.ndarray, b: np.ndarray, h: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    z = w @ h + b
    top = z.max()
    e = np.exp(z - top)
    p = e / e.sum()
    return float(z[k] - top - math.log(e.sum())), w[k] - p @ w


def confidence_ceiling(
    model: nn.Module,
    shape: tuple[int, int, int],
    *,
    target: float = 0.9999,
    starts: torch.Tensor | None = None,
    seed: int = 0,
    max_iter: int = WITNESS_MAX_ITER,
) -> Ceiling | None:
    """The proved ceiling of every class and the witness search (module docstring).

    starts: (K, C, H, W), one start per class (for example the gradient-ascent images). A class
    whose start already reaches `target` keeps it as its witness; a class whose ceiling is at or
    above the target and whose start falls short is searched from it. None: the ceiling only.
    None is returned where the model's layers are not supported (`hidden_box`). max_iter: the
    witness search's L-BFGS-B iterations per start.
    """
    box = hidden_box(model, shape)
    if box is None:
        return None
    lo, hi, head = box
    weight = head.weight.detach().double().cpu().numpy()
    bias = (
        head.bias.detach().double().cpu().numpy()
        if head.bias is not None
        else np.zeros(weight.shape[0])
    )
    bound, _ = box_ceiling(weight, bias, lo.cpu().numpy(), hi.cpu().numpy())
    k_all = len(bound)
    confidence = np.full(k_all, np.nan)
    if starts is None:
        return Ceiling(bound=bound, target=target, witness=None, witness_confidence=confidence)
    check_images(starts, "witness starts")
    if len(starts) != k_all or tuple(starts.shape[1:]) != tuple(shape):
        raise InputError(f"give one start image of shape {tuple(shape)} per class ({k_all})")
    witness = starts.float().cpu().clone()
    confidence[:] = _own_confidence(model, witness)
    for k in range(k_all):
        if bound[k] >= target and confidence[k] < target:
            witness[k] = witness_search(
                model, k, shape, starts=witness[k : k + 1], seed=seed, max_iter=max_iter
            )[0]
    confidence[:] = _own_confidence(model, witness)  # the forward pass decides, nothing else
    return Ceiling(bound=bound, target=target, witness=witness, witness_confidence=confidence)


def _own_confidence(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """p_k(x_k) for row k, by a forward pass of the model as given, (K,) float64."""
    p = predict(model, x).double().softmax(1)
    return p[torch.arange(len(x)), torch.arange(len(x))].numpy()


def witness_search(
    model: nn.Module,
    k: int,
    shape: tuple[int, int, int],
    *,
    starts: torch.Tensor | None = None,
    seed: int = 0,
    max_iter: int = WITNESS_MAX_ITER,
) -> torch.Tensor:
    """The input in [0, 1]^shape with the highest p_k found: L-BFGS-B on -log p_k(x) in float64
    from each start (the given ones, then black, grey, white and WITNESS_NOISE_STARTS noise
    images drawn with `seed`). Returns (1, C, H, W) float32."""
    from scipy.optimize import minimize

    shape = check_shape(shape)
    gen = torch.Generator().manual_seed(seed)
    standard = torch.cat(
        [
            torch.zeros((1, *shape)),
            torch.full((1, *shape), 0.5),
            torch.ones((1, *shape)),
            torch.rand((WITNESS_NOISE_STARTS, *shape), generator=gen),
        ]
    )
    all_starts = standard if starts is None else torch.cat([starts.float().cpu(), standard])
    m64 = copy.deepcopy(model).cpu().double().eval()
    for p in m64.parameters():
        p.requires_grad_(False)

    def neg_log_p(v: np.ndarray) -> tuple[float, np.ndarray]:
        x = torch.from_numpy(v).reshape(1, *shape).requires_grad_(True)
        log_p = m64(x).log_softmax(1)[0, k]
        (grad,) = torch.autograd.grad(log_p, x)
        return -float(log_p.detach()), -grad.numpy().ravel()

    best_value, best_x = -math.inf, all_starts[:1]
    with threads.for_work(0):  # one image at a time: small work, one thread
        for start in all_starts:
            res = minimize(
                neg_log_p,
                start.double().numpy().ravel(),
                jac=True,
                method="L-BFGS-B",
                bounds=[(0.0, 1.0)] * start.numel(),
                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": max_iter},
            )
            if -res.fun > best_value:
                best_value = -res.fun
                best_x = torch.from_numpy(np.clip(res.x, 0.0, 1.0)).float().reshape(1, *shape)
    return best_x
