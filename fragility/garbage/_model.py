"""Small helpers shared by the garbage analyses: checking images, log-probabilities, eval
mode, class names and progress bars."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from fragility.errors import InputError
from fragility.train import predict


def check_images(x: torch.Tensor, what: str = "images", *, in_range: bool = True) -> None:
    """Raise InputError unless `x` is a float (N, C, H, W) tensor (with values in [0, 1])."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"{what} must be a float tensor (N, C, H, W), not {shape}")
    if in_range and x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise InputError(
            f"{what} must lie in [0, 1], not [{float(x.min()):.3g}, {float(x.max()):.3g}]; "
            "scale them (x / 255 for bytes)"
        )


def check_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3 or min(int(s) for s in shape) < 1:
        raise InputError(f"an image shape is (C, H, W) with positive sizes, not {tuple(shape)}")
    c, h, w = (int(s) for s in shape)
    return c, h, w


def log_probs(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """log softmax of the model's logits in float64, (N, K), on the CPU.

    float64 keeps 0.9999 apart from 0.99999 and ranks elites whose probability rounds to 1.
    """
    return predict(model, x, batch_size).double().log_softmax(dim=1)


def num_outputs(model: nn.Module, shape: tuple[int, int, int]) -> int:
    """How many classes `model` scores, from one forward pass on a grey image."""
    logits = predict(model, torch.full((1, *shape), 0.5))
    if logits.dim() != 2:
        raise InputError(f"the model must return logits (N, K), not {tuple(logits.shape)}")
    return int(logits.shape[1])


@contextlib.contextmanager
def eval_mode(*modules: nn.Module | None) -> Iterator[None]:
    """Put modules in eval mode (no dropout) and restore each one's mode afterwards."""
    present = [m for m in modules if m is not None]
    modes = [m.training for m in present]
    for m in present:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(present, modes, strict=True):
            m.train(mode)


def class_name(class_names: Sequence[str] | None, c: int) -> str:
    """The name of class c, or its number where no name is known."""
    return class_names[c] if class_names and c < len(class_names) else str(c)


__all__ = [
    "check_images",
    "check_shape",
    "class_name",
    "eval_mode",
    "log_probs",
    "num_outputs",
]
