"""How many threads torch computes with: decided here, and only here.

Measured on 2 cores (`python bench/threads.py`, table in bench/RESULTS.md): torch's default of
one intra-op thread per core gains nothing on the lecture's networks (a forward and backward
pass of the digits MLP takes 0.1 ms, of the 28x28 CNN at batch 64 about 12 ms, with one thread
or two), and as soon as another process keeps one core busy the threads wait on each other:
the same steps become 2-8x slower (ResNet-18 at batch 128: 232 ms with one thread, 446 ms with
two). Only large work gains from a second thread, and only on a machine with nothing else to do
(ResNet-18 at batch 128: 185 ms against 122 ms).

So the rule, applied by `for_work` around every heavy loop (training, attacks, ascent,
evolution, inversion, evaluation):

- work under `LARGE_WORK_MACS` multiply-adds per call runs on one intra-op thread;
- larger work uses every core while the rest of the machine is idle (sampled from /proc/stat
  when the loop starts), else one thread;
- training always uses one thread unless a count is fixed (`for_training`: weights depend on it);
- an explicit choice wins over all of these: `configure(N)` (the CLI's `--threads N`), else the
  environment (`FRAGILITY_THREADS`, then `OMP_NUM_THREADS` or `MKL_NUM_THREADS` as torch reads
  them).

Parallelism beyond that is coarse (independent jobs in separate processes), where a busy core
slows one job instead of stalling every thread of every job.
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fragility.errors import ConfigError

# Below this many multiply-adds per call (a forward and backward pass counts three forward
# passes) a second intra-op thread gained nothing on 2 cores: the 28x28 CNN at batch 64 (210 M)
# is as fast on one thread as on two. Above it, on an idle machine, it gained 1.5-2x: the same
# CNN at batch 256 (850 M), a CIFAR-sized CNN at batch 128 (2.3 G), ResNet-18 at any batch.
LARGE_WORK_MACS = 400e6
# The rest of the machine counts as idle while other processes use less than this share of one
# core.
IDLE_OTHERS_CORES = 0.25
_SAMPLE_S = 0.05
_SAMPLE_TTL_S = 10.0
ENV_VARS = ("FRAGILITY_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Policy:
    """`threads` is None for the automatic rule, else a fixed count; `source` says who chose."""

    threads: int | None
    source: str  # "auto", "--threads", or the environment variable's name

    def to_dict(self) -> dict[str, Any]:
        return {
            "threads": "auto" if self.threads is None else self.threads,
            "source": self.source,
            "cores": os.cpu_count() or 1,
            "rule": (
                f"1 intra-op thread below {LARGE_WORK_MACS / 1e6:.0f} M multiply-adds per call; "
                "above, every core while the rest of the machine is idle"
                if self.threads is None
                else f"{self.threads} intra-op thread(s) for all work"
            ),
        }


def _parse(value: str, where: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{where} must be a whole number of threads >= 1, not {value!r}")
    return n


def policy_from(threads: int | None = None, environ: dict[str, str] | None = None) -> Policy:
    """The policy for an explicit count (None: look at the environment, else automatic)."""
    if threads is not None:
        return Policy(_parse(str(threads), "--threads"), "--threads")
    env = os.environ if environ is None else environ
    for name in ENV_VARS:
        if env.get(name, "").strip():
            return Policy(_parse(env[name].strip(), name), name)
    return Policy(None, "auto")


_policy: Policy | None = None


def configure(threads: int | None = None) -> Policy:
    """Set the process's policy and its baseline thread count (the CLI calls this once, with
    `--threads`); returns it. Under the automatic rule the baseline is one thread: the small
    work outside the heavy loops never gains from more."""
    global _policy
    _policy = policy_from(threads)
    torch.set_num_threads(_policy.threads or 1)
    return _policy


def policy() -> Policy:
    """The policy in force: what `configure` set, else what the environment says."""
    return _policy if _policy is not None else policy_from()


# ---------------------------------------------------------------------------------------------
# How busy the rest of the machine is


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot, from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


_idle_cache: tuple[float, bool] | None = None


def others_idle() -> bool:
    """Whether other processes leave the cores idle, sampled over 50 ms (cached for 10 s).

    Our own CPU time in the window is subtracted. Where /proc/stat is missing (not Linux) the
    answer is False: one thread is the choice that cannot go badly wrong.
    """
    global _idle_cache
    now = time.monotonic()
    if _idle_cache is not None and now - _idle_cache[0] < _SAMPLE_TTL_S:
        return _idle_cache[1]
    a, own_a = _cpu_jiffies(), time.process_time()
    time.sleep(_SAMPLE_S)
    b, own_b = _cpu_jiffies(), time.process_time()
    if a is None or b is None or b[1] <= a[1]:
        idle = False
    else:
        cores = os.cpu_count() or 1
        seconds_per_jiffy = _SAMPLE_S * cores / (b[1] - a[1])
        others_s = max(0.0, (b[0] - a[0]) * seconds_per_jiffy - (own_b - own_a))
        idle = others_s / _SAMPLE_S < IDLE_OTHERS_CORES
    _idle_cache = (now, idle)
    return idle


# ---------------------------------------------------------------------------------------------
# Sizing the work and choosing


_macs_cache: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], int]] = (
    weakref.WeakKeyDictionary()
)


def trace_zero_image(
    model: nn.Module,
    sample_shape: tuple[int, ...],
    modules: list[nn.Module],
    on_output: Callable[[nn.Module, torch.Tensor], None],
) -> bool:
    """Run one zero image of `sample_shape` (C, H, W) through `model` (eval mode, no
    gradients, on its device and dtype), calling `on_output(module, out)` for each of `modules`'
    tensor outputs. False where the model cannot take a zero image."""
    from fragility.contract import evaluating  # the contract sizes its work through here

    def hook(module: nn.Module, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            on_output(module, out)

    hooks = [m.register_forward_hook(hook) for m in modules]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    try:
        with evaluating(model), torch.no_grad():
            model(torch.zeros((1, *sample_shape), device=device, dtype=dtype))
        return True
    except Exception:  # a model that cannot take a zero image: the caller's fallback
        return False
    finally:
        for h in hooks:
            h.remove()


def model_macs(model: nn.Module, sample_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass of one image of `sample_shape` (C, H, W), counted over
    the model's convolution and linear layers (everything else is cheap beside them)."""
    cached = _macs_cache.setdefault(model, {})
    key = tuple(int(s) for s in sample_shape)
    if key in cached:
        return cached[key]
    total = 0

    def count(module: nn.Module, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.modules.conv._ConvNd):
            total += out.numel() * module.weight[0].numel()  # (C_in / groups) * kernel
        else:
            total += out.numel() * module.in_features

    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))]
    if not trace_zero_image(model, key, layers, count):
        total = 0  # a model that cannot take a zero image is sized as small work
    cached[key] = total
    return total


def choose(macs_per_call: float) -> int:
    """The intra-op thread count for work of `macs_per_call` multiply-adds per call."""
    fixed = policy().threads
    if fixed is not None:
        return fixed
    if macs_per_call < LARGE_WORK_MACS:
        return 1
    return (os.cpu_count() or 1) if others_idle() else 1


def for_training() -> int:
    """Training's thread count: the fixed policy's, else one, whatever the work or the load.

    Weights depend on the thread count (float sums are split differently: about 1e-6 between one
    thread and two), and a cached model must be the one its key names, so training never lets
    the machine's load choose. The count is part of the model cache's key.
    """
    return policy().threads or 1


@contextlib.contextmanager
def for_work(macs_per_call: float, *, fixed: int | None = None) -> Iterator[int]:
    """Run the block with the thread count `choose` gives (or `fixed`); the caller's count is
    restored afterwards."""
    before = torch.get_num_threads()
    n = fixed if fixed is not None else choose(macs_per_call)
    if n != before:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def for_model(
    model: nn.Module, batch_shape: tuple[int, ...]
) -> contextlib.AbstractContextManager[int]:
    """`for_work` for `model` on batches of `batch_shape` (N, C, H, W): forward and backward
    cost about three forward passes, which is what a training or attack step does."""
    n, *sample = batch_shape
    return for_work(3 * n * model_macs(model, tuple(sample)))
