"""Images in CIFAR-10's shape that the benchmarks generate (the real set cannot be fetched
where they run): 32x32 RGB, 10 classes, uint8, written as an .npz that `--dataset npz` reads.

Each image is a smooth random colour background with one shape on it; the class is the shape
(disk, square, triangle, ring, cross) and its colour family (warm or cool), with the shape's
position, size and hue jittered and pixel noise added. A network learns it in a few hundred
steps, so briefly trained weights give an accuracy well above chance, as a real model would.

    python bench/cifar_like.py OUT.npz [--train 50000] [--test 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SHAPES = ("disk", "square", "triangle", "ring", "cross")
CLASSES = tuple(f"{tone} {shape}" for tone in ("warm", "cool") for shape in SHAPES)


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 32, 32, 3) uint8 images and (N,) labels in 0..9."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    # Background: a smooth field from a few random low frequencies, in a random dull colour.
    fx, fy = rng.uniform(0.05, 0.25, (2, n, 1, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    field = 0.5 + 0.5 * np.sin(fx * xx + fy * yy + phase)  # (N, 32, 32)
    base = rng.uniform(0.2, 0.6, (n, 1, 1, 3)).astype(np.float32)
    out = base * (0.6 + 0.4 * field[..., None])
    # The shape: centre, radius and colour jittered.
    cx, cy = rng.uniform(10, 22, (2, n, 1, 1)).astype(np.float32)
    r = rng.uniform(5, 9, (n, 1, 1)).astype(np.float32)
    dx, dy = xx - cx, yy - cy
    dist = np.sqrt(dx**2 + dy**2)
    shape = y % 5
    masks = np.stack(
        [
            dist <= r,
            (np.abs(dx) <= 0.8 * r) & (np.abs(dy) <= 0.8 * r),
            (dy <= 0.7 * r) & (dy >= -r + 2 * np.abs(dx)),
            (dist <= r) & (dist >= 0.55 * r),
            ((np.abs(dx) <= 0.3 * r) | (np.abs(dy) <= 0.3 * r))
            & (np.maximum(dx**2, dy**2) <= r**2),
        ]
    )  # (5, N, 32, 32)
    mask = masks[shape, np.arange(n)][..., None]
    warm = y < 5
    hue = rng.uniform(0.75, 1.0, (n, 3)).astype(np.float32)
    hue[:, 2] *= 0.3  # warm: red and green strong, blue weak
    cool = hue[:, ::-1].copy()  # cool: blue and green strong, red weak
    colour = np.where(warm[:, None], hue, cool)[:, None, None, :]
    out = np.where(mask, colour, out)
    out += rng.normal(0, 0.04, out.shape).astype(np.float32)
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8), y.astype(np.int64)


def write(path: str | Path, n_train: int = 50_000, n_test: int = 1_000, seed: int = 0) -> Path:
    """Write the set to `path` (the test images from their own seed) and return the path."""
    x_train, y_train = images(n_train, seed)
    x_test, y_test = images(n_test, seed + 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=np.array(CLASSES),
    )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=50_000)
    ap.add_argument("--test", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(write(args.out, args.train, args.test, args.seed))


if __name__ == "__main__":
    main()
