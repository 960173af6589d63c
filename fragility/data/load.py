"""`load(source) -> DataBundle`: read a data source, then resize, convert and hash it."""

from __future__ import annotations

import os
from collections.abc import Callable

from fragility.data import catalog
from fragility.data.bundle import DataBundle, content_hash, resize, to_channels
from fragility.data.catalog import DEFAULT_DATASET, DatasetInfo, dataset_info
from fragility.data.images import Loaded
from fragility.data.source import DataSource
from fragility.errors import ConfigError, DataError


def _loaders() -> dict[str, Callable[[DataSource, DatasetInfo], Loaded]]:
    from fragility.data import colour, folder, idx, npz

    return {
        catalog.EMBEDDED: idx.load_digits,
        catalog.IDX: idx.load_idx,
        catalog.USPS: idx.load_idx,
        catalog.CIFAR10: colour.load_cifar10,
        catalog.SVHN: colour.load_svhn,
        catalog.GTSRB: colour.load_gtsrb,
        catalog.IMAGEFOLDER: folder.load_imagefolder,
        catalog.NPZ: npz.load_npz,
        catalog.RENDERED: npz.load_rendered,
    }


def load(
    source: DataSource | str = DEFAULT_DATASET,
    *,
    folder: str | os.PathLike | None = None,
    download: bool = False,
    size: int | None = None,
    split_seed: int = 0,
    test_fraction: float | None = None,
    channels: int | None = None,
) -> DataBundle:
    """Load a dataset as a DataBundle: images float32 (N, C, H, W) in [0, 1], labels int64.

    source: a DataSource, or a dataset name with the DataSource's fields as keywords
    (`load("mnist", folder="~/data", size=16)` is `load(DataSource("mnist", "~/data",
    size=16))`). The bundle's `source` is the DataSource, so `load(bundle.source)` reads the
    same images again; its `hash` fingerprints the tensors.
    """
    if isinstance(source, DataSource):
        options = (folder, download, size, split_seed, test_fraction, channels)
        if options != (None, False, None, 0, None, None):
            raise ConfigError("give the options inside the DataSource, not beside it")
    else:
        source = DataSource(
            source,
            folder=None if folder is None else os.fspath(folder),
            download=download,
            size=size,
            split_seed=split_seed,
            test_fraction=test_fraction,
            channels=channels,
        )
    info = dataset_info(source.name)
    if source.test_fraction is not None and info.loader not in catalog.SEEDED_SPLIT:
        raise ConfigError(
            f"{source.name} comes with its own test split; --test-fraction applies to digits "
            "and to an imagefolder without train/ and test/"
        )
    got = _loaders()[info.loader](source, info)
    xtr, xte = got.x_train, got.x_test
    if source.channels is not None:
        xtr, xte = to_channels(xtr, source.channels), to_channels(xte, source.channels)
    if source.size is not None:
        xtr, xte = resize(xtr, source.size), resize(xte, source.size)
    names = got.class_names or info.class_names
    for split, y in (("train", got.y_train), ("test", got.y_test)):
        if len(y) == 0:
            raise DataError(f"{source.name} from {got.location}: the {split} split is empty")
        if int(y.max()) >= len(names):
            raise DataError(
                f"{source.name} from {got.location}: {split} label {int(y.max())} but only "
                f"{len(names)} classes; the labels belong to another dataset"
            )
    h, w = xtr.shape[-2:]
    description = f"{info.description}; {h}x{w} here" + (f" ({got.note})" if got.note else "")
    return DataBundle(
        name=source.name,
        x_train=xtr,
        y_train=got.y_train,
        x_test=xte,
        y_test=got.y_test,
        class_names=tuple(names),
        description=description,
        source=source,
        hash=content_hash(xtr, got.y_train, xte, got.y_test, extra=source.name),
        location=got.location,
    )
