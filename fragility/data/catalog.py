"""The datasets fragility knows: what each is, how it is read, and where its files are looked for.

Nothing here reads image data: `locate` only checks that the files a loader needs are there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fragility.errors import DataError

DEFAULT_DATASET = "digits"

# Loaders (fragility.data.load dispatches on these).
EMBEDDED, IDX, USPS, CIFAR10, SVHN, GTSRB, IMAGEFOLDER, NPZ, RENDERED = (
    "embedded",
    "idx",
    "usps",
    "cifar10",
    "svhn",
    "gtsrb",
    "imagefolder",
    "npz",
    "rendered",
)
# Datasets whose split fragility makes (seeded, stratified) rather than reads from the files.
SEEDED_SPLIT = (EMBEDDED, IMAGEFOLDER)
DEFAULT_TEST_FRACTION = 0.25
# Side that images of mixed sizes (GTSRB, an ImageFolder) are resized to when --size is not given.
MIXED_SIZE_DEFAULT = 32


@dataclass(frozen=True)
class DatasetInfo:
    """What the loader knows about a dataset before reading it."""

    name: str
    description: str
    native_size: int | None  # None: images differ in size, or the files decide
    class_names: tuple[str, ...]  # empty: the files name the classes
    torchvision_class: str | None  # the torchvision.datasets class that reads it, if any
    files: tuple[str, str, str, str] | None  # IDX names: train images/labels, test images/labels
    how_to_get: str
    loader: str = IDX
    channels: int | None = 1  # None: the files decide


_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_DIGIT_NAMES = tuple(str(i) for i in range(10))
_FETCH = "pass --download where a network is available, or --data-dir with its IDX files"
_FETCH_TV = "pass --download where a network is available, or --data-dir with torchvision's layout"

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
# The 43 GTSRB classes in the order of their folder numbers (00000 ... 00042).
GTSRB_CLASSES = (
    "speed limit 20",
    "speed limit 30",
    "speed limit 50",
    "speed limit 60",
    "speed limit 70",
    "speed limit 80",
    "end of speed limit 80",
    "speed limit 100",
    "speed limit 120",
    "no passing",
    "no passing for trucks",
    "right of way at next crossing",
    "priority road",
    "yield",
    "stop",
    "no vehicles",
    "no trucks",
    "no entry",
    "general caution",
    "dangerous curve left",
    "dangerous curve right",
    "double curve",
    "bumpy road",
    "slippery road",
    "road narrows on the right",
    "road work",
    "traffic signals",
    "pedestrians",
    "children crossing",
    "bicycles crossing",
    "beware of ice or snow",
    "wild animals crossing",
    "end of all limits",
    "turn right ahead",
    "turn left ahead",
    "ahead only",
    "straight or right",
    "straight or left",
    "keep right",
    "keep left",
    "roundabout",
    "end of no passing",
    "end of no passing for trucks",
)

# Rendered datasets: road-user crops drawn by the `scenarios` package's renderer (for the Tempe
# replay's classifier in the loop). This package never imports `scenarios`: the files are
# rendered once into the data folder (`fragility` commands do it on first use, through the
# command line, which may import `scenarios`) and read here as an ordinary .npz file. The
# DataSource's size, channels and split seed choose the file: the crops are rendered at that
# size and in those channels (not resized afterwards), and the split seed picks the test crops.
RENDERED_VARIANTS = {"tempe-crops": "blind-spot", "tempe-crops-fixed": "fixed"}
RENDERED_TRAIN, RENDERED_TEST, RENDERED_SEED = 12_000, 3_000, 2018
RENDERED_CLASSES = ("vehicle", "bicycle", "pedestrian", "other")
RENDERED_SIZE = 32
_RENDER_HOW = (
    "any fragility command given --dataset {name} renders it into the data folder on first "
    "use (a few seconds); from Python: scenarios.crops.write_dataset('{name}')"
)

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
            loader=EMBEDDED,
        ),
        DatasetInfo(
            "mnist",
            "MNIST handwritten digits, 28x28 (60,000 train / 10,000 test)",
            28,
            _DIGIT_NAMES,
            "MNIST",
            _MNIST_FILES,
            _FETCH,
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
            _FETCH,
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
            _FETCH,
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
            loader=USPS,
        ),
        DatasetInfo(
            "cifar10",
            "CIFAR-10 colour photos in 10 classes, 32x32 (50,000 train / 10,000 test)",
            32,
            CIFAR10_CLASSES,
            "CIFAR10",
            None,
            "pass --download where a network is available, or --data-dir holding "
            "cifar-10-batches-bin/ (binary version) or cifar-10-batches-py/ (python version)",
            loader=CIFAR10,
            channels=3,
        ),
        DatasetInfo(
            "svhn",
            "SVHN house numbers from Street View, colour, 32x32 (73,257 train / 26,032 test)",
            32,
            _DIGIT_NAMES,
            "SVHN",
            None,
            "pass --download where a network is available, or --data-dir holding "
            "train_32x32.mat and test_32x32.mat",
            loader=SVHN,
            channels=3,
        ),
        DatasetInfo(
            "gtsrb",
            "GTSRB German traffic signs in 43 classes, colour, sizes vary "
            "(26,640 train / 12,630 test)",
            None,
            GTSRB_CLASSES,
            "GTSRB",
            None,
            "pass --download where a network is available, or --data-dir holding "
            "gtsrb/GTSRB/Training/ and gtsrb/GTSRB/Final_Test/ (torchvision's layout)",
            loader=GTSRB,
            channels=3,
        ),
        DatasetInfo(
            "imagefolder",
            "your images: one sub-folder per class (optionally under train/ and test/)",
            None,
            (),
            "ImageFolder",
            None,
            "pass --data-dir DIR, a folder with one sub-folder of images per class",
            loader=IMAGEFOLDER,
            channels=None,
        ),
        DatasetInfo(
            "npz",
            "your arrays: x_train, y_train, x_test, y_test (and class_names) in one .npz file",
            None,
            (),
            None,
            None,
            "pass --data-dir FILE.npz holding x_train, y_train, x_test, y_test",
            loader=NPZ,
            channels=None,
        ),
        DatasetInfo(
            "tempe-crops",
            "rendered road-user crops with the 2018 blind spot: pedestrians only on crossings, "
            "none walking a bicycle (12,000 train / 3,000 test)",
            RENDERED_SIZE,
            RENDERED_CLASSES,
            None,
            None,
            _RENDER_HOW.format(name="tempe-crops"),
            loader=RENDERED,
        ),
        DatasetInfo(
            "tempe-crops-fixed",
            "rendered road-user crops, the blind spot fixed: with jaywalkers and pedestrians "
            "walking bicycles (12,000 train / 3,000 test)",
            RENDERED_SIZE,
            RENDERED_CLASSES,
            None,
            None,
            _RENDER_HOW.format(name="tempe-crops-fixed"),
            loader=RENDERED,
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


def _find_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _idx_folder(info: DatasetInfo, dirs: Sequence[Path]) -> Path | None:
    """The first folder that holds all four IDX files (raw or .gz), searching each folder and
    its torchvision-style ``<Class>/raw`` subfolder."""
    assert info.files is not None
    for base in dirs:
        for folder in (base, base / str(info.torchvision_class) / "raw"):
            if all(_find_file(folder, f) for f in info.files):
                return folder
    return None


CIFAR_BIN, CIFAR_PY = "cifar-10-batches-bin", "cifar-10-batches-py"


def _cifar_folder(dirs: Sequence[Path]) -> Path | None:
    """A folder of CIFAR-10 batches, binary version first (read without unpickling)."""
    for base in dirs:
        for folder in (base / CIFAR_BIN, base / CIFAR_PY, base):
            if (folder / "data_batch_1.bin").is_file() or (folder / "data_batch_1").is_file():
                return folder
    return None


def _svhn_folder(dirs: Sequence[Path]) -> Path | None:
    for base in dirs:
        for folder in (base, base / "svhn"):
            if (folder / "train_32x32.mat").is_file() and (folder / "test_32x32.mat").is_file():
                return folder
    return None


def _gtsrb_root(dirs: Sequence[Path]) -> Path | None:
    """The folder that torchvision's GTSRB takes as root (it holds gtsrb/GTSRB/Training)."""
    for base in dirs:
        for root in (base, base.parent):
            if (root / "gtsrb" / "GTSRB" / "Training").is_dir():
                return root
    return None


def _npz_file(dirs: Sequence[Path]) -> Path | None:
    for base in dirs:
        if base.is_file() and base.suffix == ".npz":
            return base
        found = sorted(base.glob("*.npz")) if base.is_dir() else []
        if len(found) == 1:
            return found[0]
    return None


def rendered_file_name(
    name: str,
    *,
    n_train: int = RENDERED_TRAIN,
    n_test: int = RENDERED_TEST,
    size: int = RENDERED_SIZE,
    channels: int = 1,
    seed: int = RENDERED_SEED,
    split_seed: int = 0,
) -> str:
    """The file a rendered set is kept in, named by everything that makes its crops:
    'tempe-crops-blind-spot-12000-3000-1x32x32-seed2018-split0.npz'."""
    variant = RENDERED_VARIANTS[name]
    stem = name.removesuffix("-" + variant)
    return (
        f"{stem}-{variant}-{n_train}-{n_test}-{channels}x{size}x{size}"
        f"-seed{seed}-split{split_seed}.npz"
    )


def rendered_path(
    name: str,
    folder: str | os.PathLike | None = None,
    *,
    size: int | None = None,
    channels: int | None = None,
    split_seed: int = 0,
) -> Path:
    """Where a rendered set is (or will be) kept: `folder` itself if it is a file, else the
    set's file in `folder` (default: the data folder's sub-folder named after the set)."""
    if folder is not None and Path(folder).suffix == ".npz":
        return Path(folder)
    base = Path(folder) if folder is not None else default_data_dir() / name
    file = rendered_file_name(
        name, size=size or RENDERED_SIZE, channels=channels or 1, split_seed=split_seed
    )
    return base / file


def locate(name: str, folder: str | os.PathLike | None = None) -> Path | None:
    """Where a dataset's files would be read from, without reading them (None: not found).

    Searched: `folder` if given, else $FRAGILITY_DATA (or the user cache) and the system
    folders Debian installs into. The embedded digits have no folder (None).
    """
    info = dataset_info(name)
    if info.loader == EMBEDDED:
        return None
    dirs = [Path(folder)] if folder is not None else [default_data_dir()]
    if folder is None:
        dirs += [Path(d) for d in SYSTEM_DIRS.get(name, ())]
    if info.loader == IDX:
        return _idx_folder(info, dirs)
    if info.loader == USPS:
        return next(
            (d for d in dirs if (d / "usps.bz2").is_file() and (d / "usps.t.bz2").is_file()), None
        )
    if info.loader == CIFAR10:
        return _cifar_folder(dirs)
    if info.loader == SVHN:
        return _svhn_folder(dirs)
    if info.loader == GTSRB:
        return _gtsrb_root(dirs)
    if info.loader == NPZ:
        return _npz_file(dirs) if folder is not None else None
    if info.loader == RENDERED:  # the default size, grey, split seed 0
        path = rendered_path(name, folder)
        return path if path.is_file() else None
    # imagefolder: only a folder the user names, holding sub-folders
    if folder is not None and Path(folder).is_dir() and any(Path(folder).iterdir()):
        return Path(folder)
    return None
