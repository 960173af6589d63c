"""Batch sizes that follow the memory at hand, so that a large model or a large evaluation
never asks for more than the machine has.

A forward and backward pass keeps every layer's output of the batch until the backward pass
has used it: about `activation_bytes` per image. Per-example weight gradients (the ranking of
weights by |dC/dw|) hold one copy of the weights per image on top. `gradient_batch` and
`per_example_batch` size a batch so that this fits in a share (MEMORY_SHARE) of the memory
available on the model's device, never above the caller's usual batch: the lecture's small
networks keep their batches (and so their numbers) exactly; a CIFAR-10 ResNet-18 keeps 256
images per gradient batch on a machine with 8 GB free and fewer on less.

Batch size changes how the kernels round (the attacks' fixed-shape rule), so the numbers of a
large model can differ in the last bits between machines with very different free memory; on
one machine the same seed gives the same numbers.
"""

from __future__ import annotations

import os
import weakref

import torch
from torch import nn

from fragility.contract import model_device
from fragility.threads import trace_zero_image

MEMORY_SHARE = 0.25  # of the memory available when the batch is sized
FALLBACK_BYTES = 2 * 1024**3  # where the free memory cannot be read

_activation_cache: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], int]] = (
    weakref.WeakKeyDictionary()
)


def available_bytes(device: torch.device | str = "cpu") -> int:
    """Memory free for new tensors on `device`: CUDA's free memory, or the kernel's estimate
    of available memory (MemAvailable in /proc/meminfo) on the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return FALLBACK_BYTES


def activation_bytes(model: nn.Module, sample_shape: tuple[int, ...]) -> int:
    """Bytes of every layer's output for one image of `sample_shape` (C, H, W): what a
    backward pass keeps per image, counted once per leaf module on a zero image."""
    cached = _activation_cache.setdefault(model, {})
    key = tuple(int(s) for s in sample_shape)
    if key in cached:
        return cached[key]
    total = 0

    def count(_module: nn.Module, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * out.element_size()

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    if not trace_zero_image(model, key, leaves, count):
        total = 0  # a model that cannot take a zero image: sized by its input alone
    total = max(total, 4 * int(torch.tensor(key).prod()))
    cached[key] = total
    return total


def fit(per_item_bytes: int, limit: int, device: torch.device | str = "cpu") -> int:
    """Items per batch, from 1 to `limit`, whose `per_item_bytes` each fit in MEMORY_SHARE of
    the memory available on `device`."""
    room = int(MEMORY_SHARE * available_bytes(device))
    return max(1, min(int(limit), room // max(1, int(per_item_bytes))))


def gradient_batch(model: nn.Module, sample_shape: tuple[int, ...], limit: int) -> int:
    """Images per forward and backward pass of `model`: at most `limit`, and few enough that
    the batch's activations (twice the outputs: the outputs and their gradients) fit."""
    return fit(2 * activation_bytes(model, sample_shape), limit, model_device(model))


def per_example_batch(
    model: nn.Module, sample_shape: tuple[int, ...], weight_count: int, limit: int
) -> int:
    """Images per batch of per-example weight gradients: each image holds a gradient of every
    weight (`weight_count` floats) three times over (the gradients, the working copy the
    vectorised backward pass makes, their absolute values) beside its activations."""
    per_image = 3 * 4 * int(weight_count) + 2 * activation_bytes(model, sample_shape)
    return fit(per_image, limit, model_device(model))
