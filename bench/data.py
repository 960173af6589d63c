"""Data loading benchmark: 60,000 CIFAR-sized colour images (50,000 train / 10,000 test).

    python bench/data.py [--n 60000]

The real CIFAR-10 cannot be fetched here, so the benchmark writes random pixels in its two
on-disk versions (binary records; python pickles) and as an .npz, then loads each in a fresh
process and reports the wall time (`time.perf_counter`) and the peak resident memory of the
process (`getrusage`, what `/usr/bin/time -v` calls "Maximum resident set size"), beside the
same process after imports alone. One float32 copy of 60,000 x 3 x 32 x 32 pixels is 737 MB.
The peer is what a torchvision user writes: `torch.stack([ToTensor()(img) for img, _ in ds])`
over torchvision's CIFAR10.

For the python version the benchmark swaps torchvision's MD5 list for the checksums of the
files it wrote (fragility reads that version only through torchvision's checksum check).
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import markdown_table, write_part

VARIANTS = {
    "imports": "imports only (baseline)",
    "binary": "fragility, CIFAR-10 binary version",
    "python": "fragility, CIFAR-10 python version (torchvision)",
    "npz": "fragility, npz (uint8 NHWC)",
    "peer": "torchvision CIFAR10 + ToTensor per image, stacked",
}


def write_files(root: Path, n: int) -> None:
    """Random pixels in CIFAR-10's binary and python versions and as an npz."""
    rng = np.random.default_rng(0)
    n_test = n // 6
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    train, test = np.array_split(np.arange(n - n_test), 5), [np.arange(n - n_test, n)]
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    (root / "bin" / "cifar-10-batches-bin").mkdir(parents=True)
    (root / "py" / "cifar-10-batches-py").mkdir(parents=True)
    for name, idx in zip(names, train + test, strict=True):
        rec = np.concatenate([y[idx, None], x[idx].reshape(len(idx), -1)], axis=1)
        (root / "bin" / "cifar-10-batches-bin" / f"{name}.bin").write_bytes(rec.tobytes())
        batch = {"data": x[idx].reshape(len(idx), -1), "labels": y[idx].tolist()}
        (root / "py" / "cifar-10-batches-py" / name).write_bytes(pickle.dumps(batch))
    meta = {"label_names": [f"c{i}" for i in range(10)]}
    (root / "py" / "cifar-10-batches-py" / "batches.meta").write_bytes(pickle.dumps(meta))
    nhwc = x.transpose(0, 2, 3, 1)
    np.savez(
        root / "data.npz",
        x_train=nhwc[: n - n_test],
        y_train=y[: n - n_test],
        x_test=nhwc[n - n_test :],
        y_test=y[n - n_test :],
    )


def _trust_python_version(folder: Path) -> None:
    import hashlib

    import torchvision.datasets as tvd

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    tvd.CIFAR10.train_list = [[f"data_batch_{i}", md5(f"data_batch_{i}")] for i in range(1, 6)]
    tvd.CIFAR10.test_list = [["test_batch", md5("test_batch")]]
    tvd.CIFAR10.meta = {**tvd.CIFAR10.meta, "md5": md5("batches.meta")}


def child(variant: str, root: Path) -> dict:
    """Run one variant in this process; return its seconds and peak memory."""
    import torch

    from fragility import data

    if variant == "python":
        _trust_python_version(root / "py" / "cifar-10-batches-py")
    t0 = time.perf_counter()
    hash_s = None
    if variant == "binary":
        b = data.load("cifar10", folder=root / "bin")
    elif variant == "python":
        b = data.load("cifar10", folder=root / "py")
    elif variant == "npz":
        b = data.load("npz", folder=root / "data.npz")
    elif variant == "peer":
        import torchvision.datasets as tvd
        from torchvision.transforms import ToTensor

        _trust_python_version(root / "py" / "cifar-10-batches-py")
        to_tensor = ToTensor()
        xs = []
        for train in (True, False):
            ds = tvd.CIFAR10(str(root / "py"), train=train)
            xs.append(torch.stack([to_tensor(img) for img, _ in ds]))
    seconds = time.perf_counter() - t0
    if variant in ("binary", "python", "npz"):
        t1 = time.perf_counter()
        data.content_hash(b.x_train, b.y_train, b.x_test, b.y_test)
        hash_s = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB -> MB
    return {"seconds": seconds, "peak_mb": peak_mb, "hash_s": hash_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60_000, help="images in all (default: 60000)")
    ap.add_argument("--child", nargs=2, metavar=("VARIANT", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="fragility-bench-data-") as tmp:
        root = Path(tmp)
        write_files(root, args.n)
        results = {}
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, str(root)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
            print(variant, results[variant], flush=True)
    base = results["imports"]["peak_mb"]
    float_mb = args.n * 3 * 32 * 32 * 4 / 1e6
    peer_s = results["peer"]["seconds"]
    rows = []
    for variant, label in VARIANTS.items():
        r = results[variant]
        if variant == "imports":
            rows.append([label, "", f"{r['peak_mb']:.0f} MB", "", ""])
            continue
        ratio = peer_s / r["seconds"]
        rows.append(
            [
                label,
                f"{r['seconds']:.2f} s",
                f"{r['peak_mb']:.0f} MB (+{r['peak_mb'] - base:.0f})",
                f"{(r['peak_mb'] - base) / float_mb:.2f}",
                "peer" if variant == "peer" else f"{ratio:.1f}x faster",
            ]
        )
    hash_s = results["binary"]["hash_s"]
    body = (
        f"{args.n:,} random 32x32 RGB images ({args.n - args.n // 6:,} train / "
        f"{args.n // 6:,} test); one float32 copy is {float_mb:.0f} MB. Each row runs in a "
        "fresh process; peak memory is the process's maximum resident set size, and the "
        "added memory is counted in float32 copies of the images.\n\n"
        + markdown_table(
            ["load", "wall time", "peak memory (over imports)", "float32 copies", "vs peer"],
            rows,
        )
        + f"\n\nfragility's times include the sha256 of the loaded tensors (the data hash in "
        f"every manifest and checkpoint): {hash_s:.2f} s of them, timed again on its own."
    )
    write_part("data", "Loading 60,000 CIFAR-sized images", body)
    print(body)


if __name__ == "__main__":
    main()
