"""Write IDX files (LeCun's format) for loader tests."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    assert array.dtype == np.uint8
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    raw = idx_bytes(array)
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw, mtime=0)
    path.write_bytes(raw)
    return path


def fake_mnist(
    folder: Path,
    *,
    n_train: int = 60,
    n_test: int = 20,
    gz: bool = False,
    names=(
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ),
    seed: int = 0,
) -> dict:
    """Random 28x28 images with labels 0..9; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        names[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        names[1]: (np.arange(n_train) % 10).astype(np.uint8),
        names[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        names[3]: (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, a in arrays.items():
        write_idx(folder / name, a, gz=gz)
    return arrays
