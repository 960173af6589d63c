"""The image/model contract every analysis keeps, written once.

Images are float tensors (N, C, H, W), finite, with values in [0, 1]: any channel count (1 for
grey, 3 for colour) and any size. A model is any `torch.nn.Module` that maps such a batch to
logits (N, K), for any number of classes K; normalisation, where a model needs it, lives inside
the model (the convention of AutoAttack and RobustBench). Labels are integer class indices (N,)
in 0..K-1.

Every analysis (attacks, garbage, inversion, metrics, the shortcut lesson) goes through here for

- checks that fail early with one line saying what to do: `check_images`, `check_labels`,
  `check_shape`, and `num_classes`, which runs the model once on a grey image of the input
  shape, so a shape the model cannot take is an `InputError`, not a traceback from deep inside
  a loop;
- the state a model is analysed in: `evaluating` puts it in eval mode (no dropout, batch-norm
  statistics frozen) with its parameters frozen (no weight gradients are computed), and puts
  back afterwards every submodule's own mode and every parameter's own requires_grad, as they
  were (a model whose parts were in different modes gets them back so);
- the device: inputs follow the model (`model_device`, `to_model`); results come back on the
  CPU (`predict`);
- the thread count: `analysing` is `evaluating` inside `fragility.threads.for_model`, sized for
  the batches the analysis will run; `predict` sizes its own.

A model from anywhere can be analysed as long as it keeps the contract: the toolkit's own
networks, a user's factory, a torchvision architecture or a normalising wrapper around one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from fragility import threads
from fragility.errors import InputError

# What a model raises when it is handed a shape it cannot take (a matrix product that does not
# fit, a kernel larger than the image, a reshape that does not divide).
_SHAPE_ERRORS = (RuntimeError, ValueError, TypeError, IndexError)


# ---------------------------------------------------------------------------------------------
# Checks


def check_images(
    x: object, what: str = "images", *, in_range: bool = True, nonempty: bool = False
) -> None:
    """Raise InputError unless `x` is a float (N, C, H, W) tensor of finite values, in [0, 1]
    unless `in_range` is False (a family of noise meant to break the range), with at least one
    image if `nonempty`."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        found = (
            f"{str(x.dtype).removeprefix('torch.')} {tuple(x.shape)}"
            if isinstance(x, torch.Tensor)
            else type(x).__name__
        )
        raise InputError(
            f"{what} must be a float tensor (N, C, H, W), not {found}; load them with "
            "fragility.data.load or add the missing dimensions (x[None] for one image)"
        )
    if nonempty and len(x) == 0:
        raise InputError(f"no {what} given; pass at least one")
    if not x.numel():
        return
    if not bool(torch.isfinite(x).all()):
        raise InputError(f"{what} contain NaN or infinite values; clean the data first")
    if in_range:
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(
                f"{what} must lie in [0, 1] but span [{lo:.3g}, {hi:.3g}]; scale them (x / 255 "
                "for bytes) and put any normalisation inside the model"
            )


def check_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """An image shape (C, H, W) of positive sizes, as a tuple of ints."""
    dims = tuple(shape)
    if len(dims) != 3 or min(int(s) for s in dims) < 1:
        raise InputError(f"an image shape is (C, H, W) with positive sizes, not {dims}")
    c, h, w = (int(s) for s in dims)
    return c, h, w


def check_labels(y: object, n: int, num_classes: int | None = None, what: str = "labels") -> None:
    """Raise InputError unless `y` is an integer tensor (n,) of class indices, all in
    0..num_classes-1 when that is given."""
    if (
        not isinstance(y, torch.Tensor)
        or y.dtype not in (torch.int64, torch.int32)
        or tuple(y.shape) != (n,)
    ):
        raise InputError(f"{what} must be integer class indices of shape ({n},)")
    if num_classes is not None and n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise InputError(
            f"{what} must lie in 0..{num_classes - 1} for a model with {num_classes} outputs, "
            f"not {int(y.min())}..{int(y.max())}"
        )


def num_classes(model: nn.Module, shape: Sequence[int], what: str = "images") -> int:
    """K, the number of logits `model` returns for images of `shape` (C, H, W).

    The model runs once, in eval mode and without gradients, on one mid-grey image: a model that
    cannot take the shape, or returns anything but logits (N, K), is an InputError here rather
    than a traceback from inside an analysis.
    """
    c, h, w = check_shape(shape)
    try:
        out = predict(model, torch.full((1, c, h, w), 0.5))
    except _SHAPE_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"the model cannot take {what} of shape ({c}, {h}, {w}) ({first}); give images of "
            "the size and channel count it was built for"
        ) from None
    if out.dim() != 2 or out.shape[0] != 1:
        raise InputError(
            f"the model must return logits (N, K) for images (N, C, H, W); for one image it "
            f"returned {tuple(out.shape)}"
        )
    return int(out.shape[1])


# ---------------------------------------------------------------------------------------------
# Device


def model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters (else buffers) live; the CPU for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def to_model(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`x` on the model's device (the tensor itself when it is already there)."""
    return x.to(model_device(model))


# ---------------------------------------------------------------------------------------------
# The model's state while it is analysed


@contextlib.contextmanager
def evaluating(*modules: nn.Module | None) -> Iterator[None]:
    """Run the block with each module in eval mode and its parameters frozen; afterwards every
    submodule gets back its own mode and every parameter its own requires_grad.

    Freezing spares the weight gradients nobody asked for: gradients with respect to the input
    still flow. `None` entries are skipped (an optional autoencoder).
    """
    present = [m for m in modules if m is not None]
    modes = [[(sub, sub.training) for sub in m.modules()] for m in present]
    flags = [(p, p.requires_grad) for m in present for p in m.parameters()]
    try:
        for m in present:
            m.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        for m, saved in zip(present, modes, strict=True):
            m.train(saved[0][1])  # through train(), for modules that override it
            for sub, mode in saved[1:]:
                sub.training = mode  # then each part as it was, where parts differed


@contextlib.contextmanager
def analysing(
    model: nn.Module, batch_shape: Sequence[int], *others: nn.Module | None
) -> Iterator[torch.device]:
    """`evaluating(model, *others)` with the thread count chosen for forward and backward
    passes of `model` on batches of `batch_shape` (N, C, H, W). Yields the model's device."""
    with evaluating(model, *others), threads.for_model(model, tuple(batch_shape)):
        yield model_device(model)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The model's outputs on `x`, in eval mode, in batches of `batch_size`, as float32 on the
    CPU; the model's state is restored afterwards."""
    dev = model_device(model)
    macs = min(len(x), batch_size) * threads.model_macs(model, tuple(x.shape[1:]))
    with evaluating(model), threads.for_work(macs):
        outs = [
            model(x[i : i + batch_size].to(dev)).float().cpu() for i in range(0, len(x), batch_size)
        ]
    return torch.cat(outs) if outs else torch.empty(0)


__all__ = [
    "analysing",
    "check_images",
    "check_labels",
    "check_shape",
    "evaluating",
    "model_device",
    "num_classes",
    "predict",
    "to_model",
]
