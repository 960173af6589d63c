"""Write small datasets in their real on-disk formats, for loader tests (no network)."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def cifar_arrays(n_train: int = 20, n_test: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    """Pixels as CIFAR-10 stores them, (N, 3, 32, 32) uint8, and labels 0..9."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 3, 32, 32), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 3, 32, 32), dtype=np.uint8),
        "y_test": ((np.arange(n_test) + 3) % 10).astype(np.uint8),
    }


def _chunks(x: np.ndarray, y: np.ndarray, parts: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(zip(np.array_split(x, parts), np.array_split(y, parts), strict=True))


def write_cifar_binary(root: Path, arrays: dict[str, np.ndarray]) -> Path:
    """CIFAR-10's binary version: records of <1 label byte><3072 pixel bytes (R, G, B planes)>."""
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    parts = _chunks(arrays["x_train"], arrays["y_train"], 5)
    parts.append((arrays["x_test"], arrays["y_test"]))
    for name, (x, y) in zip([*names, "test_batch.bin"], parts, strict=True):
        records = np.concatenate([y[:, None], x.reshape(len(x), -1)], axis=1).astype(np.uint8)
        (folder / name).write_bytes(records.tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(["airplane", "automobile"]) + "\n")
    return folder


def write_cifar_python(root: Path, arrays: dict[str, np.ndarray]) -> Path:
    """CIFAR-10's python version: pickled dicts of 'data' (N, 3072) uint8 and 'labels'."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    parts = _chunks(arrays["x_train"], arrays["y_train"], 5)
    parts.append((arrays["x_test"], arrays["y_test"]))
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (x, y) in zip(names, parts, strict=True):
        batch = {"data": x.reshape(len(x), -1), "labels": [int(v) for v in y]}
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer"]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return folder


def trust_cifar_python(monkeypatch, folder: Path) -> None:
    """Make torchvision's CIFAR10 accept these files' MD5s in place of the official ones."""
    import torchvision.datasets as tvd

    train = [[f"data_batch_{i}", md5(folder / f"data_batch_{i}")] for i in range(1, 6)]
    monkeypatch.setattr(tvd.CIFAR10, "train_list", train)
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", md5(folder / "test_batch")]])
    meta = {**tvd.CIFAR10.meta, "md5": md5(folder / "batches.meta")}
    monkeypatch.setattr(tvd.CIFAR10, "meta", meta)


def write_svhn(root: Path, n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict:
    """SVHN's .mat files: X (32, 32, 3, N) uint8, y (N, 1) with the digit 0 stored as 10."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).astype(np.uint8)[:, None]  # 1..10; 10 is the digit 0
        savemat(root / f"{split}_32x32.mat", {"X": x, "y": y})
        out[split] = (x, y)
    return out


def trust_svhn(monkeypatch, root: Path) -> None:
    import torchvision.datasets as tvd

    table = {k: list(v) for k, v in tvd.SVHN.split_list.items()}
    for split in ("train", "test"):
        table[split][2] = md5(root / f"{split}_32x32.mat")
    monkeypatch.setattr(tvd.SVHN, "split_list", table)


def write_gtsrb(root: Path, classes: int = 3, per_class: int = 3) -> dict[str, list]:
    """torchvision's GTSRB layout: gtsrb/GTSRB/Training/<00000>/*.ppm (sizes vary),
    gtsrb/GTSRB/Final_Test/Images/*.ppm and gtsrb/GT-final_test.csv. Each image is one
    solid colour, so any resize keeps its pixels exact. Returns the colours per split."""
    from PIL import Image

    base = root / "gtsrb"
    colours: dict[str, list] = {"train": [], "test": []}
    for c in range(classes):
        folder = base / "GTSRB" / "Training" / f"{c:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"GT-{c:05d}.csv").write_text("Filename;Width;Height;ClassId\n")
        for i in range(per_class):
            rgb = (40 * c + 10, 20 * i + 5, 200 - 30 * c)
            Image.new("RGB", (30 + 7 * i, 25 + 11 * c), rgb).save(folder / f"00000_{i:05d}.ppm")
            colours["train"].append((rgb, c))
    test = base / "GTSRB" / "Final_Test" / "Images"
    test.mkdir(parents=True, exist_ok=True)
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for i in range(4):
        c = (i + 1) % classes
        rgb = (250 - 20 * i, 60, 30 * i)
        Image.new("RGB", (40 + i, 33), rgb).save(test / f"{i:05d}.ppm")
        rows.append(f"{i:05d}.ppm;{40 + i};33;5;5;30;28;{c}")
        colours["test"].append((rgb, c))
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    return colours


def write_imagefolder(
    root: Path,
    classes: dict[str, int],
    *,
    mode: str = "RGB",
    size: tuple[int, int] = (12, 10),
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """PNG files root/<class>/<i>.png; returns the pixels written per file name."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = {}
    for name, n in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            a = rng.integers(0, 256, shape, dtype=np.uint8)
            path = root / name / f"{i:03d}.png"
            Image.fromarray(a).save(path)
            pixels[str(path)] = a
    return pixels
