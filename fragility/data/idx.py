"""The grey digit sets: IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST digits), USPS, and
scikit-learn's embedded 8x8 digits.

The 28x28 sets come through torchvision's dataset classes from a folder in torchvision's
layout (``ROOT/MNIST/raw/...``), or are read by `read_idx` from a flat folder of IDX files,
raw or gzipped, such as the one Debian's ``dataset-fashion-mnist`` package installs.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

from fragility.data.catalog import SYSTEM_DIRS, DatasetInfo, _find_file, default_data_dir, locate
from fragility.data.images import Loaded, labels, torchvision_dataset, unit_float
from fragility.data.source import EMBEDDED_MARK, DataSource
from fragility.data.split import seeded_split
from fragility.errors import DataError

# IDX files (LeCun's format): magic (0, 0, type, ndim), ndim big-endian uint32 sizes, data.
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzipped; raise DataError naming the file if it is malformed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}; the file is damaged, fetch it again") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(
            f"{path} is not an IDX file (wrong magic number {raw[:4].hex() or 'empty'}); "
            "check that it is the dataset's images or labels file"
        )
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path} has a truncated IDX header; fetch the file again")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{path} is truncated or padded: {len(raw):,} bytes where its header {shape} "
            f"needs {expected:,}; fetch the file again"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def _torchvision_arrays(info: DatasetInfo, root: Path, download: bool) -> tuple[np.ndarray, ...]:
    """Load through torchvision's dataset class (downloading if asked)."""
    extra = {"split": "digits"} if info.name == "emnist-digits" else {}
    cls, how = str(info.torchvision_class), info.how_to_get
    train = torchvision_dataset(
        cls, info.name, how, str(root), train=True, download=download, **extra
    )
    test = torchvision_dataset(
        cls, info.name, how, str(root), train=False, download=download, **extra
    )
    return (
        np.asarray(train.data),
        np.asarray(train.targets),
        np.asarray(test.data),
        np.asarray(test.targets),
    )


def _idx_arrays(info: DatasetInfo, folder: Path) -> tuple[np.ndarray, ...]:
    assert info.files is not None
    found = [_find_file(folder, f) for f in info.files]
    arrays = tuple(read_idx(p) for p in found if p is not None)
    xtr, ytr, xte, yte = arrays
    for images, labels_, p in ((xtr, ytr, found[0]), (xte, yte, found[2])):
        if images.ndim != 3 or labels_.ndim != 1 or images.shape[0] != labels_.shape[0]:
            raise DataError(
                f"{p}: {images.shape[0] if images.ndim else 0} images but "
                f"{labels_.shape[0] if labels_.ndim else 0} labels; "
                "the files do not belong together"
            )
    return arrays


def _grey_tensors(info: DatasetInfo, arrays: tuple[np.ndarray, ...]) -> tuple[torch.Tensor, ...]:
    xtr, ytr, xte, yte = arrays

    def images(a: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(a)
        if info.name == "emnist-digits":  # EMNIST stores images transposed
            t = t.transpose(-1, -2)
        return unit_float(t, "NHW")

    ytr_t, yte_t = labels(ytr), labels(yte)
    k = len(info.class_names)
    for y in (ytr_t, yte_t):
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= k):
            raise DataError(
                f"{info.name} labels run from {int(y.min())} to {int(y.max())}, not 0 to {k - 1}; "
                "the label files belong to another dataset"
            )
    return images(xtr), ytr_t, images(xte), yte_t


def not_found(source: DataSource, info: DatasetInfo) -> DataError:
    searched = (str(default_data_dir()), *SYSTEM_DIRS.get(source.name, ()))
    where = source.folder or " or ".join(searched)
    return DataError(f"{source.name} not found in {where}; {info.how_to_get}")


def load_idx(source: DataSource, info: DatasetInfo) -> Loaded:
    """MNIST, Fashion-MNIST, KMNIST, EMNIST digits (IDX files) and USPS (bz2 libsvm)."""
    folder = locate(source.name, source.folder)
    if folder is not None and info.files is not None:
        # A torchvision-layout folder with raw (not gzipped) files goes through torchvision's
        # own class; anything else is read by our IDX reader, which also accepts .gz.
        raw_layout = folder.name == "raw" and all((folder / f).is_file() for f in info.files)
        if raw_layout:
            for f in info.files:  # validate first: torchvision's reader only asserts
                read_idx(folder / f)
            arrays = _torchvision_arrays(info, folder.parent.parent, download=False)
        else:
            arrays = _idx_arrays(info, folder)
        location = str(folder)
    elif folder is not None or source.download:
        target = folder or Path(source.folder or default_data_dir())
        arrays = _torchvision_arrays(info, target, download=source.download)
        location = str(target)
    else:
        raise not_found(source, info)
    return Loaded(*_grey_tensors(info, arrays), location=location)


def load_digits(source: DataSource, info: DatasetInfo) -> Loaded:
    """scikit-learn's 8x8 digits, split by `seeded_split` (stratified, seeded by split_seed)."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0).unsqueeze(1)  # 0..16 -> [0, 1]
    y = torch.from_numpy(digits.target.astype(np.int64))
    train, test = seeded_split(y.numpy(), source.test_fraction, source.split_seed, what="digits")
    return Loaded(x[train], y[train], x[test], y[test], location=EMBEDDED_MARK)
