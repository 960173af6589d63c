"""The colour sets through torchvision: CIFAR-10, SVHN and GTSRB.

CIFAR-10 comes in two versions. The binary version (``cifar-10-batches-bin``: records of one
label byte and 3,072 pixel bytes) is read here with numpy. The python version
(``cifar-10-batches-py``) is a set of pickles, which can run code when unpickled: it is read
only by torchvision's CIFAR10 class, which first checks every file's MD5 against the official
release and refuses any other file, so nothing but the published bytes is ever unpickled. SVHN's
.mat files are read by torchvision (scipy's loadmat, after the same MD5 check); GTSRB's images by
torchvision's GTSRB class (Pillow), resized to 32x32 unless --size says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fragility.data.catalog import (
    CIFAR_BIN,
    MIXED_SIZE_DEFAULT,
    DatasetInfo,
    _cifar_folder,
    default_data_dir,
    locate,
)
from fragility.data.idx import not_found
from fragility.data.images import Loaded, decode, labels, torchvision_dataset, unit_float
from fragility.data.source import DataSource
from fragility.errors import DataError

_RECORD = 1 + 3 * 32 * 32  # one CIFAR-10 binary record: label byte, then R, G, B planes
CIFAR_BIN_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR_BIN_TEST = ("test_batch.bin",)


def _cifar_binary(folder: Path, files: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Read binary batches into one float32 tensor allocated up front, a file at a time (so
    at most one file's bytes are held beside it)."""
    paths = [folder / name for name in files]
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path} is missing; the binary version has {', '.join(files)}")
        size = path.stat().st_size
        if size == 0 or size % _RECORD:
            raise DataError(
                f"{path} holds {size:,} bytes, not a whole number of {_RECORD:,}-byte "
                "CIFAR-10 records; fetch the file again"
            )
    n = sum(p.stat().st_size for p in paths) // _RECORD
    x = torch.empty((n, 3, 32, 32), dtype=torch.float32)
    y = torch.empty(n, dtype=torch.int64)
    start = 0
    for path in paths:
        records = torch.from_numpy(np.fromfile(path, dtype=np.uint8).reshape(-1, _RECORD))
        k = len(records)
        x[start : start + k].copy_(records[:, 1:].reshape(k, 3, 32, 32))
        y[start : start + k].copy_(records[:, 0])
        start += k
    if int(y.max()) > 9:
        raise DataError(f"{folder}: label {int(y.max())} in a CIFAR-10 file; labels run 0 to 9")
    return x.div_(255.0), y


def load_cifar10(source: DataSource, info: DatasetInfo) -> Loaded:
    folder = locate(source.name, source.folder)
    if folder is not None and (folder / "data_batch_1.bin").is_file():
        xtr, ytr = _cifar_binary(folder, CIFAR_BIN_TRAIN)
        xte, yte = _cifar_binary(folder, CIFAR_BIN_TEST)
        return Loaded(xtr, ytr, xte, yte, location=str(folder))
    if folder is None and not source.download:
        raise not_found(source, info)
    # The python version, through torchvision (MD5-checked before anything is unpickled).
    root = folder.parent if folder is not None else Path(source.folder or default_data_dir())
    how = (
        "fragility unpickles CIFAR-10's python batches only when their MD5 matches the official "
        f"release; for other files use the binary version ({CIFAR_BIN}) or an npz"
    )
    parts = []
    for train in (True, False):
        ds = torchvision_dataset(
            "CIFAR10", source.name, how, str(root), train=train, download=source.download
        )
        parts += [unit_float(ds.data, "NHWC"), labels(ds.targets)]
        del ds
    location = folder or _cifar_folder([root])
    return Loaded(*parts, location=str(location or root))


def load_svhn(source: DataSource, info: DatasetInfo) -> Loaded:
    folder = locate(source.name, source.folder)
    if folder is None and not source.download:
        raise not_found(source, info)
    root = folder or Path(source.folder or default_data_dir())
    parts = []
    for split in ("train", "test"):
        ds = torchvision_dataset(
            "SVHN", source.name, info.how_to_get, str(root), split=split, download=source.download
        )
        parts += [unit_float(ds.data, "NCHW"), labels(ds.labels)]  # torchvision: NCHW, 10 -> 0
        del ds
    return Loaded(*parts, location=str(root))


def load_gtsrb(source: DataSource, info: DatasetInfo) -> Loaded:
    """GTSRB's images differ in size (15 to 250 pixels a side): each is resized to `size`
    (default 32) on its own, bilinear with antialiasing."""
    root = locate(source.name, source.folder)
    if root is None and not source.download:
        raise not_found(source, info)
    root = root or Path(source.folder or default_data_dir())
    side = source.size or MIXED_SIZE_DEFAULT
    mode = "L" if source.channels == 1 else "RGB"
    parts = []
    for split in ("train", "test"):
        ds = torchvision_dataset(
            "GTSRB", source.name, info.how_to_get, str(root), split=split, download=source.download
        )
        if len(ds) == 0:
            raise DataError(f"GTSRB's {split} split in {root} holds no images")
        targets: list[int] = []

        def get(i: int, ds=ds, targets=targets):  # type: ignore[no-untyped-def]
            image, target = ds[i]
            targets.append(int(target))
            return image

        x = decode(
            len(ds), get, mode, (side, side), where=lambda i, s=split: f"GTSRB {s} image {i}"
        )
        parts += [x, labels(targets)]
    return Loaded(*parts, location=str(root / "gtsrb"), note=f"each image resized to {side}x{side}")
