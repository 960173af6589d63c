"""Stored pixels to the toolkit's images: float32, NCHW, [0, 1], allocated once.

Every loader ends here, so 60,000 CIFAR-sized images cost one float32 copy (737 MB) and no
temporary second one: the uint8 array is permuted as a view and converted into a tensor
allocated once, then divided in place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fragility.errors import DataError

LAYOUTS = ("NHW", "NHWC", "NCHW")


def unit_float(pixels: np.ndarray | torch.Tensor, layout: str) -> torch.Tensor:
    """uint8 pixels in `layout` -> float32 (N, C, H, W) in [0, 1] (x / 255)."""
    t = torch.as_tensor(pixels)
    if layout == "NHW":
        t = t.unsqueeze(1)
    elif layout == "NHWC":
        t = t.permute(0, 3, 1, 2)
    elif layout != "NCHW":
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    out = torch.empty(t.shape, dtype=torch.float32)
    out.copy_(t)
    return out.div_(255.0)


GREY_MODES = ("1", "L", "LA")


def image_mode(paths: Sequence[str | os.PathLike], channels: int | None) -> str:
    """The Pillow mode every image is converted to: 'L' where `channels` is 1, or where it is
    None and every image is stored grey; else 'RGB'. Reads only the headers."""
    if channels is not None:
        return "L" if channels == 1 else "RGB"
    return "L" if all(header(p)[0] in GREY_MODES for p in paths) else "RGB"


def header(path: str | os.PathLike) -> tuple[str, tuple[int, int]]:
    """(mode, (width, height)) of an image file, read without decoding its pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.mode, im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(
            f"{path} is not an image Pillow can read ({exc}); remove or replace it"
        ) from None


def decode(
    n: int,
    get: Callable[[int], Any],
    mode: str,
    size: tuple[int, int],
    *,
    where: Callable[[int], str],
) -> torch.Tensor:
    """Decode n Pillow images (`get(i)`) into one float32 (n, C, H, W) tensor in [0, 1].

    size is (height, width); an image of another size is resized on its own, bilinear with
    antialiasing, as `fragility.data.resize` does for a whole set.
    """
    c = 1 if mode == "L" else 3
    h, w = size
    out = torch.empty((n, c, h, w), dtype=torch.float32)
    for i in range(n):
        try:
            img = get(i).convert(mode)
        except OSError as exc:
            raise DataError(f"{where(i)} cannot be decoded ({exc}); remove or replace it") from None
        a = np.array(img, dtype=np.uint8)  # writable: torch refuses read-only arrays
        t = torch.from_numpy(a.reshape(a.shape[0], a.shape[1], c)).permute(2, 0, 1)
        if (a.shape[0], a.shape[1]) == (h, w):
            out[i].copy_(t)
            out[i].div_(255.0)
        else:
            x = t.to(torch.float32).div_(255.0).unsqueeze(0)
            y = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
            out[i] = y[0].clamp_(0.0, 1.0)
    return out


@dataclass(frozen=True, eq=False)
class Loaded:
    """What a loader returns: the images and labels as read, and where they came from."""

    x_train: torch.Tensor  # (N_train, C, H, W) float32 in [0, 1]
    y_train: torch.Tensor  # (N_train,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    location: str  # the folder or file read
    class_names: tuple[str, ...] = ()  # empty: the catalog's names
    note: str = ""  # said in the description (e.g. how mixed sizes were resized)


def labels(a: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=torch.int64)


def torchvision_dataset(
    cls_name: str, name: str, how_to_get: str, *args: Any, **kwargs: Any
) -> Any:
    """Construct torchvision.datasets.<cls_name>(*args, **kwargs); its failures (missing or
    corrupt files, no network) become one-line DataErrors."""
    import torchvision.datasets as tvd

    root = args[0] if args else kwargs.get("root")
    try:
        return getattr(tvd, cls_name)(*args, **kwargs)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"torchvision could not load {name} from {root}: {first}; {how_to_get}"
        ) from exc
