"""A loaded dataset (`DataBundle`) and what is done to one: hash, resize, channels, subset."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fragility.data.source import DataSource
from fragility.errors import ConfigError


@dataclass(frozen=True, eq=False)
class DataBundle:
    """A train/test split. Images (N, C, H, W) float32 in [0, 1]; labels (N,) int64."""

    name: str
    x_train: torch.Tensor  # (N_train, C, H, W)
    y_train: torch.Tensor  # (N_train,)
    x_test: torch.Tensor  # (N_test, C, H, W)
    y_test: torch.Tensor  # (N_test,)
    class_names: tuple[str, ...]
    description: str
    source: DataSource  # what to pass to fragility.data.load to get these images again
    hash: str  # sha256 of the tensors' bytes, first 16 hex digits
    location: str = ""  # where the files were read from ("scikit-learn (embedded)", a folder)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return (int(c), int(h), int(w))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the tensors: fit for a manifest and a checkpoint."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source.to_dict(),
            "location": self.location,
            "hash": self.hash,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "n_train": int(self.x_train.shape[0]),
            "n_test": int(self.x_test.shape[0]),
        }


def content_hash(*tensors: torch.Tensor, extra: str = "") -> str:
    """sha256 over each tensor's shape, dtype and bytes (read in place, never copied)."""
    h = hashlib.sha256(extra.encode())
    for t in tensors:
        t = t.contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        h.update(np.ascontiguousarray(t.numpy()).reshape(-1).view(np.uint8))
    return h.hexdigest()[:16]


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (N, C, H, W) images to size x size, bilinear with antialiasing, kept in [0, 1]."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = F.interpolate(
        images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return out.clamp_(0.0, 1.0).contiguous()


# ITU-R 601-2 luma, as Pillow's convert("L") uses.
_LUMA = (0.299, 0.587, 0.114)


def to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey (N, 1, H, W) to RGB by repeating, or RGB to grey by ITU-R 601-2 luma."""
    c = images.shape[1]
    if c == channels:
        return images
    if channels == 3 and c == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if channels == 1 and c == 3:
        w = torch.tensor(_LUMA, dtype=images.dtype).view(1, 3, 1, 1)
        return (images * w).sum(dim=1, keepdim=True).clamp_(0.0, 1.0)
    raise ConfigError(f"cannot convert {c}-channel images to {channels} channels")


def subset(bundle: DataBundle, n_train: int, n_test: int, *, seed: int = 0) -> DataBundle:
    """A stratified, seeded subset: about n_train training and n_test test images with the
    classes in their original proportions (each class keeps at least one image where it had
    one). The bundle's own hash changes with it, so the model cache tells them apart."""
    if n_train < 1 or n_test < 1:
        raise ConfigError(f"a subset needs at least one image (asked for {n_train}, {n_test})")
    g = torch.Generator().manual_seed(seed)

    def pick(y: torch.Tensor, n: int) -> torch.Tensor:
        if n >= len(y):
            return torch.arange(len(y))
        keep = []
        for c in torch.unique(y):
            idx = torch.nonzero(y == c).flatten()
            k = max(1, round(n * len(idx) / len(y)))
            keep.append(idx[torch.randperm(len(idx), generator=g)[:k]])
        return torch.sort(torch.cat(keep)).values

    tr, te = pick(bundle.y_train, n_train), pick(bundle.y_test, n_test)
    x_train, y_train = bundle.x_train[tr], bundle.y_train[tr]
    x_test, y_test = bundle.x_test[te], bundle.y_test[te]
    return dataclasses.replace(
        bundle,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        description=f"{bundle.description}; a subset of {len(tr):,} train / {len(te):,} test",
        hash=content_hash(x_train, y_train, x_test, y_test, extra=bundle.name),
    )
