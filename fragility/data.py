"""Datasets as tensors: float32, NCHW, values in [0, 1], with class names and a content hash.

`digits` (scikit-learn's 8x8 handwritten digits) is embedded and needs no network. The
28x28 sets come through torchvision's dataset classes, from a folder in torchvision's
layout (``ROOT/MNIST/raw/...``) or from a flat folder of IDX files, raw or gzipped, such as
the one Debian's ``dataset-fashion-mnist`` package installs.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fragility.errors import ConfigError, DataError

DEFAULT_DATASET = "digits"


@dataclass(frozen=True, eq=False)
class DataBundle:
    """A train/test split. Images (N, C, H, W) float32 in [0, 1]; labels (N,) int64."""

    name: str
    x_train: torch.Tensor  # (N_train, C, H, W)
    y_train: torch.Tensor  # (N_train,)
    x_test: torch.Tensor  # (N_test, C, H, W)
    y_test: torch.Tensor  # (N_test,)
    class_names: tuple[str, ...]
    description: str
    source: str  # where the files came from ("scikit-learn", a folder)
    hash: str  # sha256 of the tensors' bytes, first 16 hex digits

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return (int(c), int(h), int(w))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the tensors: fit for a manifest."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "hash": self.hash,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "n_train": int(self.x_train.shape[0]),
            "n_test": int(self.x_test.shape[0]),
        }


@dataclass(frozen=True)
class DatasetInfo:
    """What the loader knows about a dataset before reading it."""

    name: str
    description: str
    native_size: int
    class_names: tuple[str, ...]
    torchvision_class: str | None  # None for the embedded digits
    files: tuple[str, str, str, str] | None  # IDX names: train images/labels, test images/labels
    how_to_get: str


_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_DIGIT_NAMES = tuple(str(i) for i in range(10))

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "digits",
            "scikit-learn's 8x8 handwritten digits (1,797 images, 16 grey levels), embedded",
            8,
            _DIGIT_NAMES,
            None,
            None,
            "it ships with scikit-learn: pip install scikit-learn",
        ),
        DatasetInfo(
            "mnist",
            "MNIST handwritten digits, 28x28 (60,000 train / 10,000 test)",
            28,
            _DIGIT_NAMES,
            "MNIST",
            _MNIST_FILES,
            "pass --download where a network is available, or --data-dir with its IDX files",
        ),
        DatasetInfo(
            "fashion-mnist",
            "Zalando's Fashion-MNIST clothing images, 28x28 (60,000 train / 10,000 test)",
            28,
            (
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ),
            "FashionMNIST",
            _MNIST_FILES,
            "on Debian: apt-get install dataset-fashion-mnist; or pass --download, "
            "or --data-dir with its IDX files",
        ),
        DatasetInfo(
            "kmnist",
            "Kuzushiji-MNIST cursive Japanese characters, 28x28 (60,000 train / 10,000 test)",
            28,
            ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
            "KMNIST",
            _MNIST_FILES,
            "pass --download where a network is available, or --data-dir with its IDX files",
        ),
        DatasetInfo(
            "emnist-digits",
            "EMNIST digits split, 28x28 (240,000 train / 40,000 test)",
            28,
            _DIGIT_NAMES,
            "EMNIST",
            (
                "emnist-digits-train-images-idx3-ubyte",
                "emnist-digits-train-labels-idx1-ubyte",
                "emnist-digits-test-images-idx3-ubyte",
                "emnist-digits-test-labels-idx1-ubyte",
            ),
            "pass --download where a network is available, or --data-dir with its IDX files",
        ),
        DatasetInfo(
            "usps",
            "USPS handwritten digits, 16x16 (7,291 train / 2,007 test)",
            16,
            _DIGIT_NAMES,
            "USPS",
            None,
            "pass --download where a network is available, or --data-dir holding "
            "usps.bz2 and usps.t.bz2",
        ),
    )
}

# Folders searched when no --data-dir is given, per dataset (Debian's packages install here).
SYSTEM_DIRS: dict[str, tuple[str, ...]] = {
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
    "mnist": ("/usr/share/datasets/mnist",),
}


def default_data_dir() -> Path:
    """Where downloads go: $FRAGILITY_DATA, else $FRAGILITY_CACHE/data, else
    $XDG_CACHE_HOME/fragility/data (~/.cache/fragility/data)."""
    env = os.environ.get("FRAGILITY_DATA")
    if env:
        return Path(env)
    if os.environ.get("FRAGILITY_CACHE"):
        return Path(os.environ["FRAGILITY_CACHE"]) / "data"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "fragility" / "data"


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise DataError(f"unknown dataset {name!r}; known datasets: {known}") from None


# ---------------------------------------------------------------------------------------------
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


def _find_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _find_flat_folder(info: DatasetInfo, dirs: Sequence[Path]) -> Path | None:
    """The first folder that holds all four IDX files (raw or .gz), searching each folder and
    its torchvision-style ``<Class>/raw`` subfolder."""
    assert info.files is not None
    for base in dirs:
        for folder in (base, base / str(info.torchvision_class) / "raw"):
            if all(_find_file(folder, f) for f in info.files):
                return folder
    return None


def _torchvision_class(info: DatasetInfo) -> Callable[..., Any]:
    import torchvision.datasets as tvd

    cls = getattr(tvd, str(info.torchvision_class))
    if info.name == "emnist-digits":
        return lambda root, **kw: cls(root, split="digits", **kw)
    return cls


def _load_torchvision(info: DatasetInfo, root: Path, download: bool) -> tuple[np.ndarray, ...]:
    """Load through torchvision's dataset class (downloading if asked)."""
    cls = _torchvision_class(info)
    try:
        train = cls(str(root), train=True, download=download)
        test = cls(str(root), train=False, download=download)
    except (RuntimeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"torchvision could not load {info.name} from {root}: {first}; {info.how_to_get}"
        ) from exc

    def arrays(ds: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(ds.data), np.asarray(ds.targets)

    return (*arrays(train), *arrays(test))


def _load_idx_folder(info: DatasetInfo, folder: Path) -> tuple[np.ndarray, ...]:
    assert info.files is not None
    found = [_find_file(folder, f) for f in info.files]
    arrays = tuple(read_idx(p) for p in found if p is not None)
    xtr, ytr, xte, yte = arrays
    for images, labels, p in ((xtr, ytr, found[0]), (xte, yte, found[2])):
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{p}: {images.shape[0] if images.ndim else 0} images but "
                f"{labels.shape[0] if labels.ndim else 0} labels; the files do not belong together"
            )
    return arrays


def _to_bundle_arrays(
    info: DatasetInfo, xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray
) -> tuple[torch.Tensor, ...]:
    def images(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if info.name == "emnist-digits":  # EMNIST stores images transposed
            t = t.transpose(-1, -2).contiguous()
        return (t.to(torch.float32) / 255.0).unsqueeze(1)

    def labels(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=torch.int64)

    ytr_t, yte_t = labels(ytr), labels(yte)
    k = len(info.class_names)
    for y in (ytr_t, yte_t):
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= k):
            raise DataError(
                f"{info.name} labels run from {int(y.min())} to {int(y.max())}, not 0 to {k - 1}; "
                "the label files belong to another dataset"
            )
    return images(xtr), ytr_t, images(xte), yte_t


def _load_digits(seed: int, test_fraction: float = 0.25) -> tuple[torch.Tensor, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.images.astype(np.float32) / 16.0  # 0..16 grey levels -> [0, 1]
    y = digits.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed
    )
    return (
        torch.from_numpy(xtr).unsqueeze(1),
        torch.from_numpy(ytr),
        torch.from_numpy(xte).unsqueeze(1),
        torch.from_numpy(yte),
    )


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (N, C, H, W) images to size x size, bilinear with antialiasing, kept in [0, 1]."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = F.interpolate(
        images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return out.clamp_(0.0, 1.0).contiguous()


def content_hash(*tensors: torch.Tensor, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for t in tensors:
        t = t.contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:16]


def subset(bundle: DataBundle, n_train: int, n_test: int, *, seed: int = 0) -> DataBundle:
    """A stratified, seeded subset: about n_train training and n_test test images with the
    classes in their original proportions (each class keeps at least one image where it had
    one). The bundle's own hash changes with it, so the model cache tells them apart."""
    if n_train < 1 or n_test < 1:
        raise ConfigError(f"a subset needs at least one image (asked for {n_train}, {n_test})")
    g = torch.Generator().manual_seed(seed)

    def pick(y: torch.Tensor, n: int) -> torch.Tensor:
        if n >= len(y):
            return torch.arange(len(y))
        keep = []
        for c in torch.unique(y):
            idx = torch.nonzero(y == c).flatten()
            k = max(1, round(n * len(idx) / len(y)))
            keep.append(idx[torch.randperm(len(idx), generator=g)[:k]])
        return torch.sort(torch.cat(keep)).values

    tr, te = pick(bundle.y_train, n_train), pick(bundle.y_test, n_test)
    x_train, y_train = bundle.x_train[tr], bundle.y_train[tr]
    x_test, y_test = bundle.x_test[te], bundle.y_test[te]
    return dataclasses.replace(
        bundle,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        description=f"{bundle.description}; a subset of {len(tr):,} train / {len(te):,} test",
        hash=content_hash(x_train, y_train, x_test, y_test, extra=bundle.name),
    )


def locate(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """Where a dataset's files would be read from, without reading them (None: not found)."""
    info = dataset_info(name)
    if info.torchvision_class is None:
        return None
    dirs = [Path(root)] if root is not None else [default_data_dir()]
    if root is None:
        dirs += [Path(d) for d in SYSTEM_DIRS.get(name, ())]
    if info.files is None:  # USPS: bz2 files in the root itself
        for d in dirs:
            if (d / "usps.bz2").is_file() and (d / "usps.t.bz2").is_file():
                return d
        return None
    return _find_flat_folder(info, dirs)


def load(
    name: str = DEFAULT_DATASET,
    *,
    root: str | os.PathLike | None = None,
    download: bool = False,
    size: int | None = None,
    seed: int = 0,
) -> DataBundle:
    """Load a dataset as a DataBundle.

    name: one of DATASETS. root: a folder in torchvision's layout or holding the IDX files
    (default: $FRAGILITY_DATA or the user cache, then the system folders Debian installs
    into). download: let torchvision fetch the files into root. size: resize to size x size
    with antialiasing. seed: the digits train/test split (stratified, 25 % test).
    """
    info = dataset_info(name)
    if size is not None and not 4 <= int(size) <= 256:
        raise DataError(f"--size {size} is out of range; choose a side from 4 to 256 pixels")
    if info.torchvision_class is None:
        xtr, ytr, xte, yte = _load_digits(seed)
        source = "scikit-learn (embedded)"
    else:
        folder = locate(name, root)
        if folder is not None and info.files is not None:
            # A torchvision-layout folder with raw (not gzipped) files goes through torchvision's
            # own class; anything else is read by our IDX reader, which also accepts .gz.
            raw_layout = folder.name == "raw" and all((folder / f).is_file() for f in info.files)
            if raw_layout:
                for f in info.files:  # validate first: torchvision's reader only asserts
                    read_idx(folder / f)
                arrays = _load_torchvision(info, folder.parent.parent, download=False)
            else:
                arrays = _load_idx_folder(info, folder)
            source = str(folder)
        elif folder is not None or download:
            target = Path(root) if root is not None else default_data_dir()
            arrays = _load_torchvision(info, folder or target, download=download)
            source = str(folder or target)
        else:
            system = SYSTEM_DIRS.get(name, ())
            where = (
                str(root) if root is not None else " or ".join((str(default_data_dir()), *system))
            )
            raise DataError(f"{name} not found in {where}; {info.how_to_get}")
        xtr, ytr, xte, yte = _to_bundle_arrays(info, *arrays)
    if size is not None:
        xtr, xte = resize(xtr, int(size)), resize(xte, int(size))
    side = xtr.shape[-1]
    digest = content_hash(xtr, ytr, xte, yte, extra=name)
    return DataBundle(
        name=name,
        x_train=xtr,
        y_train=ytr,
        x_test=xte,
        y_test=yte,
        class_names=info.class_names,
        description=f"{info.description}; {side}x{side} here",
        source=source,
        hash=digest,
    )
