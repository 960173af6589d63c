"""The 15 CIFAR-10-C corruptions (Hendrycks & Dietterich 2019) for colour images, 5 severities.

Written here, batched over (N, 3, H, W) arrays in [0, 1] with an explicit numpy Generator,
with the parameters of the CIFAR-10-C release (its ``make_cifar_c.py``), which differ from
ImageNet-C's: ImageNet-C's blur radii and displacements are sized for 224-pixel images and
wipe out a 32-pixel one. Lengths (blur radii and sigmas, pixel shuffles, zoom crops) are in
CIFAR pixels and scale with side / 32, so a 64-pixel image is blurred as much, relative to its
size, as a CIFAR image. Where the release calls a tool we do not use, this module says what
stands in for it:

- motion blur (ImageMagick): a one-sided Gaussian line kernel, as ImageMagick's, with edge
  pixels repeated;
- frost: the release blends in crops of six frost photographs that ship only with it; here a
  procedural ice texture (ridged fractal noise, blue-white) of similar brightness stands in;
- everything else (noise, disk-kernel defocus, Gaussian, zoom, diamond-square fog, HSV
  brightness, contrast, elastic warp, box-filter pixelation, JPEG) follows the release's
  recipe and parameters.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

ColourCorruption = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
SEVERITIES = (1, 2, 3, 4, 5)


def _k(x: np.ndarray) -> float:
    """CIFAR pixels -> this image's pixels."""
    return x.shape[-1] / 32.0


# --- noise ------------------------------------------------------------------------------------

GAUSSIAN_NOISE = (0.04, 0.06, 0.08, 0.09, 0.10)  # standard deviation
SHOT_NOISE = (500, 250, 100, 75, 50)  # photons at full brightness
IMPULSE_NOISE = (0.01, 0.02, 0.03, 0.05, 0.07)  # share of values set to 0 or 1


def gaussian_noise(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, GAUSSIAN_NOISE[s - 1], x.shape)


def shot_noise(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    c = SHOT_NOISE[s - 1]
    return rng.poisson(x * c) / c


def impulse_noise(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(x.shape) < IMPULSE_NOISE[s - 1]
    salt = rng.random(x.shape) < 0.5
    return np.where(hit, salt.astype(x.dtype), x)


# --- blur -------------------------------------------------------------------------------------

DEFOCUS_BLUR = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1))  # radius, alias
GLASS_BLUR = ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2))  # sigma, d, n
MOTION_BLUR = ((6, 1.0), (6, 1.5), (6, 2.0), (8, 2.0), (9, 2.5))  # radius, sigma
ZOOM_BLUR = (1.06, 1.11, 1.16, 1.21, 1.26)  # zoom factors 1, 1.01, ... below this


def _gauss(x: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0) -> np.ndarray:
    """Gaussian blur of the last two axes (skimage's default edge: nearest)."""
    if sigma <= 0:
        return x
    sig = (0,) * (x.ndim - 2) + (sigma, sigma)
    return ndimage.gaussian_filter(x, sigma=sig, mode=mode, truncate=truncate)


def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """A disk of `radius` (pixels within it, normalised), softened by a 3x3 Gaussian of sigma
    `alias_blur` against aliasing; zero rows and columns trimmed."""
    half = max(8, math.ceil(radius))
    ax = np.arange(-half, half + 1)
    yy, xx = np.meshgrid(ax, ax, indexing="ij")
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    disk /= disk.sum()
    g = np.exp(-(np.arange(-1, 2) ** 2) / (2 * alias_blur**2))
    g /= g.sum()
    k = ndimage.correlate1d(ndimage.correlate1d(disk, g, 0, mode="mirror"), g, 1, mode="mirror")
    rows, cols = np.flatnonzero(k.any(1)), np.flatnonzero(k.any(0))
    return k[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def defocus_blur(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    radius, alias = DEFOCUS_BLUR[s - 1]
    k = disk_kernel(radius * _k(x), alias * _k(x))
    return ndimage.correlate(x, k[None, None], mode="mirror")


def glass_blur(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    """Blur, then walk the image from the bottom-right corner swapping each pixel with a random
    neighbour up to `d` pixels up or left (as the release does, one image at a time; here all
    images step together), `n` times, then blur again."""
    sigma, d, n_iter = GLASS_BLUR[s - 1]
    sigma, d = sigma * _k(x), max(1, round(d * _k(x)))
    out = _gauss(x, sigma).copy()
    n, _, h, w = out.shape
    rows = np.arange(n)
    for _ in range(n_iter):
        for i in range(h - d, d, -1):
            for j in range(w - d, d, -1):
                dy, dx = rng.integers(-d, d, size=(2, n))
                here, there = out[rows, :, i, j].copy(), out[rows, :, i + dy, j + dx]
                out[rows, :, i, j] = there
                out[rows, :, i + dy, j + dx] = here
    return _gauss(out, sigma)


def _shift_sum(x: np.ndarray, weights: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    """sum_i weights[i] * x shifted i pixels along each image's angle (edges repeated)."""
    n, _, h, w = x.shape
    a = np.deg2rad(angle_deg)
    yy, xx = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    rows = np.arange(n)[:, None, None]
    out = np.zeros_like(x)
    for i, wt in enumerate(weights):
        dy = np.round(i * np.sin(a)).astype(int)[:, None, None]
        dx = np.round(i * np.cos(a)).astype(int)[:, None, None]
        src_y, src_x = np.clip(yy - dy, 0, h - 1), np.clip(xx - dx, 0, w - 1)
        out += wt * x[rows, :, src_y, src_x].transpose(0, 3, 1, 2)
    return out


def _motion_kernel(radius: float, sigma: float) -> np.ndarray:
    """ImageMagick's motion-blur weights: exp(-i^2 / 2 sigma^2) for i = 0 .. 2 radius."""
    i = np.arange(2 * math.ceil(radius) + 1)
    k = np.exp(-(i**2) / (2 * sigma**2))
    return k / k.sum()


def motion_blur(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    radius, sigma = MOTION_BLUR[s - 1]
    angle = rng.uniform(-45, 45, len(x))
    return _shift_sum(x, _motion_kernel(radius * _k(x), sigma * _k(x)), angle)


def clipped_zoom(x: np.ndarray, factor: float) -> np.ndarray:
    """Zoom into the centre by `factor` (linear interpolation, corners aligned), same size."""
    h, w = x.shape[-2:]
    ch, cw = math.ceil(h / factor), math.ceil(w / factor)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = torch.from_numpy(np.ascontiguousarray(x[..., top : top + ch, left : left + cw]))
    sh, sw = round(ch * factor), round(cw * factor)
    flat = crop.reshape(-1, 1, ch, cw).double()
    up = F.interpolate(flat, size=(sh, sw), mode="bilinear", align_corners=True)
    ty, tx = (sh - h) // 2, (sw - w) // 2
    return up[..., ty : ty + h, tx : tx + w].reshape(x.shape).numpy()


def zoom_blur(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    factors = np.arange(1.0, ZOOM_BLUR[s - 1], 0.01)
    out = x.copy()
    for z in factors:
        out += clipped_zoom(x, z)
    return out / (len(factors) + 1)


# --- weather ----------------------------------------------------------------------------------

# loc, scale, zoom, threshold, blur radius, blur sigma, image weight
SNOW = (
    (0.1, 0.2, 1.0, 0.6, 8, 3, 0.95),
    (0.1, 0.2, 1.0, 0.5, 10, 4, 0.9),
    (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
    (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
    (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
)
FROST = ((1.0, 0.2), (1.0, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45))  # image, frost weight
FOG = ((0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75))  # strength, roughness
LUMA = np.array([0.299, 0.587, 0.114])


def _grey(x: np.ndarray) -> np.ndarray:
    return np.einsum("nchw,c->nhw", x, LUMA)[:, None]


def snow(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    """Flakes: thresholded, zoomed noise smeared by motion blur; the image whitened a little."""
    loc, scale, zoom, thr, radius, sigma, keep = SNOW[s - 1]
    n, _, h, w = x.shape
    layer = rng.normal(loc, scale, (n, 1, h, w))
    layer = clipped_zoom(layer, zoom)
    layer[layer < thr] = 0
    layer = np.round(np.clip(layer, 0, 1) * 255) / 255  # the release passes it through a PNG
    angle = rng.uniform(-135, -45, n)
    layer = _shift_sum(layer, _motion_kernel(radius * _k(x), sigma * _k(x)), angle)
    x = keep * x + (1 - keep) * np.maximum(x, _grey(x) * 1.5 + 0.5)
    return x + layer + layer[..., ::-1, ::-1]


def plasma_fractal(n: int, size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """(n, size, size) diamond-square fractal noise in [0, 1] (size a power of two, wrapping
    at the edges); each halving of the step divides the random offsets by `decay`."""
    m = np.zeros((n, size, size))
    step, wibble = size, 100.0

    def jitter(a: np.ndarray) -> np.ndarray:
        return a / 4 + wibble * rng.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        half = step // 2
        corners = m[:, 0::step, 0::step]
        acc = corners + np.roll(corners, -1, axis=1)
        acc = acc + np.roll(acc, -1, axis=2)
        m[:, half::step, half::step] = jitter(acc)
        centres, corners = m[:, half::step, half::step], m[:, 0::step, 0::step]
        left = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        m[:, 0::step, half::step] = jitter(left)
        up = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        m[:, half::step, 0::step] = jitter(up)
        step, wibble = half, wibble / decay
    m -= m.min(axis=(1, 2), keepdims=True)
    return m / m.max(axis=(1, 2), keepdims=True)


def fog(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    strength, decay = FOG[s - 1]
    n, _, h, w = x.shape
    size = 1 << (max(h, w, 2) - 1).bit_length()  # the next power of two
    cloud = plasma_fractal(n, size, decay, rng)[:, None, :h, :w]
    peak = x.reshape(n, -1).max(axis=1)[:, None, None, None]
    return (x + strength * cloud) * peak / (peak + strength)


def frost_texture(n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3, h, w) ice: ridged fractal noise (thin bright veins), tinted blue-white."""
    size = 1 << (max(h, w, 2) - 1).bit_length()
    veins = np.zeros((n, size, size))
    for octave, amp in ((4, 0.5), (2, 0.3), (1, 0.2)):
        noise = plasma_fractal(n, size, 1.5 + octave / 2, rng)
        veins += amp * (1 - np.abs(2 * noise - 1)) ** 3
    veins = veins[:, :h, :w]
    tint = np.array([0.82, 0.9, 1.0])[None, :, None, None]
    return np.clip(0.25 + 0.9 * veins[:, None], 0, 1) * tint


def frost(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    keep, ice = FROST[s - 1]
    n, _, h, w = x.shape
    return keep * x + ice * frost_texture(n, h, w, rng)


# --- digital ----------------------------------------------------------------------------------

BRIGHTNESS = (0.05, 0.1, 0.15, 0.2, 0.3)  # added to HSV value
CONTRAST = (0.75, 0.5, 0.4, 0.3, 0.15)  # distance from the mean, kept
# alpha (displacement), sigma (its smoothness), affine jitter; as shares of the side
ELASTIC = (
    (0.0, 0.0, 0.08),
    (0.05, 0.2, 0.07),
    (0.08, 0.06, 0.06),
    (0.1, 0.04, 0.05),
    (0.1, 0.03, 0.03),
)
PIXELATE = (0.95, 0.9, 0.85, 0.75, 0.65)  # side kept before the box filter scales back
JPEG_QUALITY = (80, 65, 58, 50, 40)


def brightness(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    """HSV value + c, hue and saturation kept: the colour is scaled by min(V + c, 1) / V
    (V = max channel); black becomes grey c."""
    c = BRIGHTNESS[s - 1]
    v = x.max(axis=1, keepdims=True)
    lifted = np.minimum(v + c, 1.0)
    safe = np.where(v > 0, v, 1.0)
    return np.where(v > 0, x * lifted / safe, lifted)


def contrast(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    mean = x.mean(axis=(2, 3), keepdims=True)
    return (x - mean) * CONTRAST[s - 1] + mean


def _sample(x: np.ndarray, src_y: np.ndarray, src_x: np.ndarray, corners: bool) -> np.ndarray:
    """Bilinear sample of x (N, C, H, W) at pixel coordinates (N, H, W), edges reflected
    (about the edge pixels' centres when `corners`, else about the border)."""
    h, w = x.shape[-2:]
    if corners:
        gx, gy = src_x / (w - 1) * 2 - 1, src_y / (h - 1) * 2 - 1
    else:
        gx, gy = (2 * src_x + 1) / w - 1, (2 * src_y + 1) / h - 1
    grid = torch.from_numpy(np.stack([gx, gy], axis=-1))
    return F.grid_sample(
        torch.from_numpy(x), grid, mode="bilinear", padding_mode="reflection", align_corners=corners
    ).numpy()


def elastic_transform(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    """A random affine map (three points moved by up to `jitter`), then a smooth random
    displacement field (uniform noise, Gaussian-smoothed, times `alpha`)."""
    n, _, h, w = x.shape
    alpha, sigma, jitter = (v * w for v in ELASTIC[s - 1])
    centre, half = np.float64(h // 2), min(h, w) // 3
    pts = np.array(
        [[centre + half, centre + half], [centre + half, centre - half], [centre - half] * 2]
    )  # (x, y) points
    moved = pts[None] + rng.uniform(-jitter, jitter, (n, 3, 2))
    # Output pixel p comes from the source point A^-1 (p): solve for the map moved -> pts.
    src = np.concatenate([moved, np.ones((n, 3, 1))], axis=2)  # (n, 3, 3)
    inv = np.linalg.solve(src, np.broadcast_to(pts, (n, 3, 2)))  # (n, 3, 2): [x y 1] @ inv
    yy, xx = np.meshgrid(
        np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij"
    )
    sx = (
        xx[None] * inv[:, 0, 0, None, None]
        + yy[None] * inv[:, 1, 0, None, None]
        + inv[:, 2, 0, None, None]
    )
    sy = (
        xx[None] * inv[:, 0, 1, None, None]
        + yy[None] * inv[:, 1, 1, None, None]
        + inv[:, 2, 1, None, None]
    )
    out = _sample(x, sy, sx, corners=True)
    if alpha == 0:
        return out
    dx = _gauss(rng.uniform(-1, 1, (n, h, w)), sigma, mode="reflect", truncate=3) * alpha
    dy = _gauss(rng.uniform(-1, 1, (n, h, w)), sigma, mode="reflect", truncate=3) * alpha
    return _sample(out, yy[None] + dy, xx[None] + dx, corners=False)


def _box_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of Pillow's BOX resize along one axis, read off Pillow itself."""
    from PIL import Image

    eye = Image.fromarray(np.eye(n_in, dtype=np.float32))  # mode F
    return np.asarray(eye.resize((n_out, n_in), Image.Resampling.BOX), dtype=np.float64).T


def pixelate(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    """Box-filter down to PIXELATE of the side, then box-filter back up (as Pillow's BOX)."""
    h, w = x.shape[-2:]
    sh, sw = int(h * PIXELATE[s - 1]), int(w * PIXELATE[s - 1])
    rows = _box_matrix(sh, h) @ _box_matrix(h, sh)  # (h, h)
    cols = _box_matrix(sw, w) @ _box_matrix(w, sw)
    return rows @ x @ cols.T


def jpeg_compression(x: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    quality = JPEG_QUALITY[s - 1]
    pixels = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    out = np.empty(x.shape)
    for i, img in enumerate(pixels):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        with Image.open(buf) as decoded:
            out[i] = np.asarray(decoded.convert("RGB"), dtype=np.float64).transpose(2, 0, 1)
    return out / 255.0


CORRUPTIONS: dict[str, ColourCorruption] = {
    "gaussian noise": gaussian_noise,
    "shot noise": shot_noise,
    "impulse noise": impulse_noise,
    "defocus blur": defocus_blur,
    "glass blur": glass_blur,
    "motion blur": motion_blur,
    "zoom blur": zoom_blur,
    "snow": snow,
    "frost": frost,
    "fog": fog,
    "brightness": brightness,
    "contrast": contrast,
    "elastic transform": elastic_transform,
    "pixelate": pixelate,
    "jpeg compression": jpeg_compression,
}
