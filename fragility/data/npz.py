"""Your own arrays in one .npz file, read with ``allow_pickle=False`` (nothing in it can run).

Keys: x_train, y_train, x_test, y_test, and optionally class_names (a string array). Images are
either uint8 in NHWC (N, H, W, C) or (N, H, W), the way images are stored, or float in NCHW
(N, C, H, W) with values in [0, 1], the way this toolkit holds them; C is 1 or 3. Anything else
is refused with a message that says what is wrong and how to fix it.

Rendered sets (`tempe-crops`, `tempe-crops-fixed`) are kept in the same format and read here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from fragility.data.catalog import DatasetInfo, locate, rendered_path
from fragility.data.images import Loaded, labels, unit_float
from fragility.data.source import DataSource
from fragility.errors import DataError

KEYS = ("x_train", "y_train", "x_test", "y_test")


def _images(path: Path, key: str, x: np.ndarray) -> torch.Tensor:
    shape = tuple(x.shape)
    if x.dtype == np.uint8:
        if x.ndim == 3:
            return unit_float(x, "NHW")
        if x.ndim == 4 and x.shape[3] in (1, 3):
            return unit_float(x, "NHWC")
        hint = (
            "; it looks like NCHW: store x.transpose(0, 2, 3, 1), or floats in [0, 1]"
            if x.ndim == 4 and x.shape[1] in (1, 3)
            else ""
        )
        raise DataError(
            f"{path}: {key} is uint8 of shape {shape}; uint8 images must be NHWC "
            f"(N, H, W, C) with C 1 or 3, or (N, H, W){hint}"
        )
    if np.issubdtype(x.dtype, np.floating):
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            hint = (
                "; it looks like NHWC: store x.transpose(0, 3, 1, 2)"
                if x.ndim == 4 and x.shape[3] in (1, 3)
                else ""
            )
            raise DataError(
                f"{path}: {key} is {x.dtype} of shape {shape}; float images must be NCHW "
                f"(N, C, H, W) with C 1 or 3{hint}"
            )
        if x.size and not np.isfinite(x).all():
            raise DataError(f"{path}: {key} holds NaN or infinite values")
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo < 0.0 or hi > 1.0:
            raise DataError(
                f"{path}: {key} runs from {lo:g} to {hi:g}; float images must lie in [0, 1] "
                "(divide 0-255 values by 255, or store them as uint8 NHWC)"
            )
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    raise DataError(
        f"{path}: {key} is {x.dtype}; images must be uint8 (NHWC) or float in [0, 1] (NCHW)"
    )


def _labels(path: Path, key: str, y: np.ndarray, n: int) -> torch.Tensor:
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise DataError(
            f"{path}: {key} is {y.dtype} of shape {tuple(y.shape)}; labels must be a 1-D "
            "integer array"
        )
    if len(y) != n:
        raise DataError(f"{path}: {key} has {len(y):,} labels for {n:,} images")
    if len(y) and int(y.min()) < 0:
        raise DataError(f"{path}: {key} holds the negative label {int(y.min())}")
    return labels(y)


def _read(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        if f.read(2) != b"PK":
            raise DataError(
                f"{path} is not an npz file (numpy.savez writes a zip archive, starting 'PK'); "
                "save the arrays with numpy.savez"
            )
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise DataError(
                    f"{path} lacks {', '.join(missing)}; an npz dataset holds "
                    f"{', '.join(KEYS)} (and optionally class_names)"
                )
            wanted = [k for k in (*KEYS, "class_names") if k in z.files]
            return {k: z[k] for k in wanted}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                f"{path} stores an object array, which only unpickling could read; store "
                "class_names as np.array(names, dtype=str) and the rest as numbers"
            ) from None
        raise DataError(f"{path} is not a valid npz file ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path} is not a valid npz file ({exc})") from None


def load_npz(source: DataSource, info: DatasetInfo) -> Loaded:
    if source.folder is None:
        raise DataError(f"npz needs a file: {info.how_to_get}")
    path = locate(source.name, source.folder)
    if path is None:
        raise DataError(f"no single .npz file at {source.folder}; {info.how_to_get}")
    return _load_file(path)


def load_rendered(source: DataSource, info: DatasetInfo) -> Loaded:
    """A rendered set (`tempe-crops`): the .npz file its size, channels and split seed name,
    read like any npz dataset."""
    path = rendered_path(
        source.name,
        source.folder,
        size=source.size,
        channels=source.channels,
        split_seed=source.split_seed,
    )
    if not path.is_file():
        raise DataError(f"{source.name} is not rendered yet at {path}; {info.how_to_get}")
    got = _load_file(path)
    if got.class_names != info.class_names:
        raise DataError(
            f"{path}: classes {', '.join(got.class_names)}, not {source.name}'s "
            f"{', '.join(info.class_names)}; delete the file and render it again"
        )
    return got


def _load_file(path: Path) -> Loaded:
    arrays = _read(path)
    x_train = _images(path, "x_train", arrays.pop("x_train"))
    x_test = _images(path, "x_test", arrays.pop("x_test"))
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{path}: x_train images are {tuple(x_train.shape[1:])} (C, H, W) but x_test images "
            f"are {tuple(x_test.shape[1:])}; both splits need one shape"
        )
    for key, x in (("x_train", x_train), ("x_test", x_test)):
        if len(x) == 0:
            raise DataError(f"{path}: {key} holds no images")
    y_train = _labels(path, "y_train", arrays["y_train"], len(x_train))
    y_test = _labels(path, "y_test", arrays["y_test"], len(x_test))
    k = int(max(int(y_train.max()), int(y_test.max()))) + 1
    names: tuple[str, ...] = tuple(str(i) for i in range(k))
    if "class_names" in arrays:
        given = arrays["class_names"]
        if given.ndim != 1 or given.dtype.kind not in "US":
            raise DataError(
                f"{path}: class_names is {given.dtype} of shape {tuple(given.shape)}; store a "
                "1-D string array: np.array(names, dtype=str)"
            )
        names = tuple(str(n) for n in given)
        if len(names) < k:
            raise DataError(
                f"{path}: labels run to {k - 1} but class_names names only {len(names)} classes"
            )
    if len(names) < 2 or len(torch.unique(y_train)) < 2:
        raise DataError(f"{path}: y_train holds one class; a classifier needs at least two")
    return Loaded(x_train, y_train, x_test, y_test, location=str(path), class_names=names)
