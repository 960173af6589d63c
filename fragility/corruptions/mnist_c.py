"""MNIST-C style corruptions (Mu & Gilmer 2019) for grey images: 15 ways to change an image
that leave a digit readable to a person.

Each corruption maps images (N, C, H, W) in [0, 1] to images of the same shape in [0, 1],
drawing its randomness from the `numpy.random.Generator` it is given (same seed, same images).
Sizes are relative to the image side, so they work on 8x8 digits and 28x28 MNIST alike. The
severities follow the MNIST-C paper's choice of one fixed, clearly visible but legible level;
the numbers are ours (the paper's code is not copied).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

Corruption = Callable[[np.ndarray, np.random.Generator], np.ndarray]


# --- noise ------------------------------------------------------------------------------------


def shot_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson photon noise: each pixel's count ~ Poisson(60 x), divided back by 60."""
    photons = 60.0
    return rng.poisson(x * photons) / photons


def impulse_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Salt and pepper: 7 % of pixels set to 0 or 1 with equal odds."""
    hit = rng.random(x.shape) < 0.07
    salt = rng.random(x.shape) < 0.5
    return np.where(hit, salt.astype(x.dtype), x)


# --- blur -------------------------------------------------------------------------------------


def _gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma=(0, 0, sigma, sigma), mode="constant")


def glass_blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, swap pixels with a random neighbour (as frosted glass does), blur again.

    On small images a one-pixel swap is a large move, so fewer pixels move (all at 28x28).
    """
    side = x.shape[-1]
    sigma = 0.7 * side / 28
    out = _gaussian(x, sigma)
    n, c, h, w = out.shape
    moving = min(1.0, side / 28)
    for _ in range(2):
        move = rng.random((n, 1, h, w)) < moving
        dy = rng.integers(-1, 2, size=(n, 1, h, w)) * move
        dx = rng.integers(-1, 2, size=(n, 1, h, w)) * move
        yy = np.clip(np.arange(h)[None, None, :, None] + dy, 0, h - 1)
        xx = np.clip(np.arange(w)[None, None, None, :] + dx, 0, w - 1)
        nn = np.arange(n)[:, None, None, None]
        cc = np.arange(c)[None, :, None, None]
        out = out[nn, cc, yy, xx]
    return _gaussian(out, sigma)


def motion_blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Average along a line of random direction whose length is a quarter of the side."""
    side = x.shape[-1]
    length = max(3, round(side / 4) | 1)  # odd
    out = np.empty_like(x)
    for i in range(len(x)):
        angle = rng.uniform(0, math.pi)
        t = np.linspace(-(length - 1) / 2, (length - 1) / 2, length)
        kernel = np.zeros((length, length))
        cy = cx = (length - 1) / 2
        for s in t:
            kernel[round(cy + s * math.sin(angle)), round(cx + s * math.cos(angle))] += 1
        kernel /= kernel.sum()
        out[i] = ndimage.convolve(x[i], kernel[None], mode="constant")
    return out


# --- geometry ---------------------------------------------------------------------------------


def _affine(x: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """Apply per-image 2x3 affine maps (output -> input coordinates, in [-1, 1] units)."""
    t = torch.from_numpy(x.astype(np.float32))
    theta = torch.from_numpy(mats.astype(np.float32))
    grid = F.affine_grid(theta, list(t.shape), align_corners=False)
    return F.grid_sample(
        t, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    ).numpy()


def _mats(n: int) -> np.ndarray:
    m = np.zeros((n, 2, 3))
    m[:, 0, 0] = m[:, 1, 1] = 1.0
    return m


def shear(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Horizontal shear by a factor drawn from +-[0.4, 0.6]."""
    m = _mats(len(x))
    m[:, 0, 1] = rng.uniform(0.4, 0.6, len(x)) * rng.choice([-1, 1], len(x))
    return _affine(x, m)


def scale(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shrink to 55-70 % or grow to 130-140 % of the size, about the centre."""
    n = len(x)
    factor = np.where(rng.random(n) < 0.5, rng.uniform(0.55, 0.7, n), rng.uniform(1.3, 1.4, n))
    m = _mats(n)
    m[:, 0, 0] = m[:, 1, 1] = 1.0 / factor
    return _affine(x, m)


def rotate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate by 30 to 50 degrees, either way."""
    n = len(x)
    a = np.deg2rad(rng.uniform(30, 50, n) * rng.choice([-1, 1], n))
    m = _mats(n)
    m[:, 0, 0], m[:, 0, 1] = np.cos(a), -np.sin(a)
    m[:, 1, 0], m[:, 1, 1] = np.sin(a), np.cos(a)
    return _affine(x, m)


def translate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift by 15-25 % of the side in a random direction."""
    n = len(x)
    dist = rng.uniform(0.3, 0.5, n)  # in [-1, 1] units: 2 = the whole side
    a = rng.uniform(0, 2 * math.pi, n)
    m = _mats(n)
    m[:, 0, 2], m[:, 1, 2] = dist * np.cos(a), dist * np.sin(a)
    return _affine(x, m)


# --- intensity and occlusion ------------------------------------------------------------------


def brightness(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lift every pixel by 0.4: the background turns grey."""
    return x + 0.4


def stripe(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Invert a vertical band about a fifth of the image wide, at a random place."""
    n, _, _, w = x.shape
    width = max(1, round(w / 5))
    out = x.copy()
    starts = rng.integers(0, w - width + 1, n)
    for i, s in enumerate(starts):
        out[i, :, :, s : s + width] = 1.0 - out[i, :, :, s : s + width]
    return out


def _smooth_noise(
    shape: tuple[int, int, int], rng: np.random.Generator, octaves: int = 4
) -> np.ndarray:
    """Fractal noise in [0, 1]: sum of upsampled random grids, amplitude halving per octave."""
    n, h, w = shape
    total = np.zeros(shape)
    amp, weight = 1.0, 0.0
    for o in range(octaves):
        cells = 2 ** (o + 1)
        grid = rng.random((n, 1, cells + 1, cells + 1)).astype(np.float32)
        up = F.interpolate(torch.from_numpy(grid), size=(h, w), mode="bilinear", align_corners=True)
        total += amp * up[:, 0].numpy()
        weight += amp
        amp /= 2
    return total / weight


def fog(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add a smooth cloud of fractal noise, then rescale so the digit stays the brightest."""
    n, _, h, w = x.shape
    cloud = _smooth_noise((n, h, w), rng)[:, None]
    out = x + 0.9 * cloud
    return out / out.reshape(n, -1).max(axis=1)[:, None, None, None]


def spatter(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Drops: thresholded smooth noise pasted on as bright blobs."""
    n, _, h, w = x.shape
    noise = _smooth_noise((n, h, w), rng, octaves=2)
    drops = np.clip((noise - 0.62) * 5.0, 0, 1)[:, None]
    return np.maximum(x, drops)


def _segments_mask(
    h: int, w: int, segments: Sequence[tuple[float, float, float, float]], width: float
) -> np.ndarray:
    """Anti-aliased strokes: 1 - distance / width to the nearest segment, clipped to [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    mask = np.zeros((h, w))
    for y0, x0, y1, x1 in segments:
        dy, dx = y1 - y0, x1 - x0
        length2 = dy * dy + dx * dx or 1e-12
        t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0, 1)
        dist = np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx))
        mask = np.maximum(mask, np.clip(1 - dist / width, 0, 1))
    return mask


def dotted_line(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A straight line of dots across the image."""
    n, _, h, w = x.shape
    out = x.copy()
    for i in range(n):
        y0, y1 = rng.uniform(0, h, 2)
        x0, x1 = 0.0, float(w)
        if rng.random() < 0.5:  # vertical-ish instead
            (y0, y1), (x0, x1) = (0.0, float(h)), tuple(rng.uniform(0, w, 2))
        dots = max(3, round(max(h, w) / 3))
        t = np.linspace(0, 1, dots)
        r = max(0.5, w / 28 * 1.0)
        pts = [(y0 + s * (y1 - y0), x0 + s * (x1 - x0)) for s in t]
        mask = _segments_mask(h, w, [(py, px, py, px) for py, px in pts], r + 0.5)
        out[i] = np.maximum(out[i], mask[None])
    return out


def zigzag(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A zigzag stroke across the image."""
    n, _, h, w = x.shape
    out = x.copy()
    for i in range(n):
        turns = int(rng.integers(3, 6))
        xs = np.linspace(0, w, turns + 1)
        amp = rng.uniform(0.15, 0.3) * h
        centre = rng.uniform(0.3, 0.7) * h
        ys = centre + amp * np.where(np.arange(turns + 1) % 2 == 0, -1, 1)
        segs = [(ys[j], xs[j], ys[j + 1], xs[j + 1]) for j in range(turns)]
        mask = _segments_mask(h, w, segs, max(0.8, w / 28 * 1.2))
        if rng.random() < 0.5:
            mask = mask.T if h == w else mask
        out[i] = np.maximum(out[i], mask[None])
    return out


def canny_edges(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep only the edges (Canny 1986): Gaussian smoothing, Sobel gradient, non-maximum
    suppression along the gradient, then hysteresis between 10 % and 25 % of the peak."""
    side = x.shape[-1]
    smooth = _gaussian(x, max(0.5, side / 28))
    gy = ndimage.sobel(smooth, axis=-2, mode="constant")
    gx = ndimage.sobel(smooth, axis=-1, mode="constant")
    mag = np.hypot(gx, gy)
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180) % 180
    # Neighbour offsets for the four quantised directions (0, 45, 90, 135 degrees).
    q = (np.round(angle / 45).astype(int)) % 4
    offsets = {0: (0, 1), 1: (1, 1), 2: (1, 0), 3: (1, -1)}
    keep = np.zeros_like(mag, dtype=bool)
    pad = np.pad(mag, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, w = mag.shape[-2:]
    for k, (dy, dx) in offsets.items():
        ahead = pad[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        behind = pad[..., 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]
        keep |= (q == k) & (mag >= ahead) & (mag >= behind)
    nms = np.where(keep, mag, 0.0)
    peak = nms.reshape(len(x), -1).max(axis=1)[:, None, None, None] + 1e-12
    strong = nms >= 0.25 * peak
    weak = nms >= 0.10 * peak
    out = np.zeros_like(x)
    for i in range(len(x)):
        for ch in range(x.shape[1]):
            labels, _ = ndimage.label(weak[i, ch], structure=np.ones((3, 3)))
            linked = np.unique(labels[strong[i, ch]])
            out[i, ch] = np.isin(labels, linked[linked > 0])
    return out


CORRUPTIONS: dict[str, Corruption] = {
    "shot noise": shot_noise,
    "impulse noise": impulse_noise,
    "glass blur": glass_blur,
    "motion blur": motion_blur,
    "shear": shear,
    "scale": scale,
    "rotate": rotate,
    "brightness": brightness,
    "translate": translate,
    "stripe": stripe,
    "fog": fog,
    "spatter": spatter,
    "dotted line": dotted_line,
    "zigzag": zigzag,
    "canny edges": canny_edges,
}
