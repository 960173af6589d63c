"""Your own images as torchvision's ImageFolder: one sub-folder per class, named after it.

    DIR/cat/001.png DIR/dog/002.jpg ...               split here (seeded, stratified)
    DIR/train/cat/... DIR/test/cat/...                 split as given

Class names come from the folder names (sorted, as torchvision numbers them). Images are grey
when every one is stored grey (Pillow modes 1, L, LA), else all are converted to RGB; --channels
forces one. Images of one size keep it; images of mixed sizes are each resized to 32x32 (or
--size), bilinear with antialiasing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from fragility.data.catalog import MIXED_SIZE_DEFAULT, DatasetInfo
from fragility.data.images import Loaded, decode, header, image_mode, labels, torchvision_dataset
from fragility.data.source import DataSource
from fragility.data.split import seeded_split
from fragility.errors import ConfigError, DataError


def _scan(folder: Path, info: DatasetInfo) -> Any:
    from PIL import Image

    ds = torchvision_dataset(
        "ImageFolder", "imagefolder", info.how_to_get, str(folder), loader=Image.open
    )
    if not ds.samples:
        raise DataError(f"{folder} holds no images; put them in one sub-folder per class")
    return ds


def _decode_all(
    parts: list[tuple[Any, np.ndarray]], source: DataSource
) -> tuple[list[torch.Tensor], str]:
    """Decode the images `indices` of each ImageFolder into one tensor each, all in one mode
    and one size (so a seeded split decodes each image once, into its half)."""
    paths = [ds.samples[i][0] for ds, idx in parts for i in idx]
    mode = image_mode(paths, source.channels)
    sizes = {header(p)[1] for p in paths}
    note = ""
    if source.size is not None:
        hw = (source.size, source.size)
    elif len(sizes) == 1:
        w, h = next(iter(sizes))
        hw = (h, w)
    else:
        hw = (MIXED_SIZE_DEFAULT, MIXED_SIZE_DEFAULT)
        note = f"images of {len(sizes)} sizes, each resized to {hw[0]}x{hw[1]}"
    out = [
        decode(
            len(idx),
            lambda i, ds=ds, idx=idx: ds[int(idx[i])][0],
            mode,
            hw,
            where=lambda i, ds=ds, idx=idx: ds.samples[int(idx[i])][0],
        )
        for ds, idx in parts
    ]
    return out, note


def load_imagefolder(source: DataSource, info: DatasetInfo) -> Loaded:
    if source.folder is None:
        raise DataError(f"imagefolder needs a folder: {info.how_to_get}")
    root = Path(source.folder)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; {info.how_to_get}")
    train_dir, test_dir = root / "train", root / "test"
    if train_dir.is_dir() != test_dir.is_dir():
        have, lacks = ("train", "test") if train_dir.is_dir() else ("test", "train")
        raise DataError(
            f"{root} has {have}/ but no {lacks}/; add {lacks}/ with the same class folders, or "
            f"move the class folders up to let fragility split them"
        )
    if train_dir.is_dir():
        if source.test_fraction is not None:
            raise ConfigError(f"{root} has its own train/ and test/ folders; drop --test-fraction")
        train, test = _scan(train_dir, info), _scan(test_dir, info)
        extra = sorted(set(test.classes) - set(train.classes))
        if extra:
            raise DataError(
                f"{test_dir} has class folders that {train_dir} lacks: {', '.join(extra)}"
            )
        if len(train.classes) < 2:
            raise DataError(f"{train_dir} holds one class of images; a classifier needs two")
        # Number test classes as train/ does (test/ may lack a class).
        remap = np.array([train.class_to_idx[c] for c in test.classes])
        (xtr, xte), note = _decode_all(
            [(train, np.arange(len(train))), (test, np.arange(len(test)))], source
        )
        ytr = labels(train.targets)
        yte = labels(remap[np.asarray(test.targets, dtype=np.int64)])
        classes = tuple(train.classes)
    else:
        ds = _scan(root, info)
        y = np.asarray(ds.targets, dtype=np.int64)
        tr, te = seeded_split(y, source.test_fraction, source.split_seed, what=str(root))
        (xtr, xte), note = _decode_all([(ds, tr), (ds, te)], source)
        ytr, yte = labels(y[tr]), labels(y[te])
        classes = tuple(ds.classes)
    return Loaded(xtr, ytr, xte, yte, location=str(root), class_names=classes, note=note)
