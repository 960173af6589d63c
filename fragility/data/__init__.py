"""Datasets as tensors: float32, NCHW, values in [0, 1], with class names and a content hash.

`load(source)` reads a `DataSource` (a dataset name, its folder, size and split seed) into a
`DataBundle`. `digits` (scikit-learn's 8x8 handwritten digits) is embedded and needs no
network; the grey 28x28 sets and the colour sets (CIFAR-10, SVHN, GTSRB) come through
torchvision's dataset classes; `imagefolder` and `npz` read your own images.

    catalog   the datasets known, and where their files are looked for (`locate`)
    source    DataSource: one value naming the data, recorded in checkpoints and reports
    load      DataSource -> DataBundle
    bundle    DataBundle; content_hash, resize, to_channels, subset
    images    stored pixels -> float32 NCHW, allocated once
    split     the seeded, stratified train/test split
    idx colour folder npz   the readers
"""

from fragility.data.bundle import DataBundle, content_hash, resize, subset, to_channels
from fragility.data.catalog import (
    DATASETS,
    DEFAULT_DATASET,
    SYSTEM_DIRS,
    DatasetInfo,
    dataset_info,
    default_data_dir,
    locate,
)
from fragility.data.idx import read_idx
from fragility.data.load import load
from fragility.data.source import DataSource

__all__ = [
    "DATASETS",
    "DEFAULT_DATASET",
    "SYSTEM_DIRS",
    "DataBundle",
    "DataSource",
    "DatasetInfo",
    "content_hash",
    "dataset_info",
    "default_data_dir",
    "load",
    "locate",
    "read_idx",
    "resize",
    "subset",
    "to_channels",
]
