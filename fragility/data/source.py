"""One value that names a data source: which dataset, from where, at what size, split how.

A `DataSource` is what `fragility.data.load` takes, what every checkpoint's metrics.json and
every report's manifest record (`to_dict`), and what a command reloads (`from_dict`), so no
command needs the data options repeated. The test split depends on `split_seed` alone: the run
seed (weights, attacks, evolution) never changes which images are test images.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass
from typing import Any

from fragility.data.catalog import DEFAULT_DATASET, dataset_info
from fragility.errors import ConfigError, DataError

MAX_SPLIT_SEED = 2**32 - 1  # what numpy's and scikit-learn's seeded shuffles accept
SIZE_RANGE = (4, 256)
EMBEDDED_MARK = "scikit-learn (embedded)"  # what older checkpoints recorded as the digits' folder


@dataclass(frozen=True)
class DataSource:
    """Which data, from where, and how to cut it.

    name: a dataset of `fragility.data.DATASETS`. folder: where its files are (a folder in
    torchvision's layout, a flat folder of IDX files, an ImageFolder root, an .npz file; stored
    absolute; None: the default places). download: let torchvision fetch missing files.
    size: resize to size x size (None: as stored; images of mixed sizes go to 32x32).
    split_seed: the seeded train/test split of datasets without their own (digits, an
    ImageFolder without train/ and test/). test_fraction: that split's test share (None: 0.25).
    channels: 1 (grey) or 3 (RGB) to convert to; None keeps the dataset's own (an ImageFolder
    is grey only when every image is).
    """

    name: str = DEFAULT_DATASET
    folder: str | None = None
    download: bool = False
    size: int | None = None
    split_seed: int = 0
    test_fraction: float | None = None
    channels: int | None = None

    def __post_init__(self) -> None:
        dataset_info(self.name)  # unknown names are a DataError listing the known ones
        if self.folder is not None:
            absolute = os.path.abspath(os.path.expanduser(os.fspath(self.folder)))
            object.__setattr__(self, "folder", absolute)
        if not isinstance(self.download, bool):
            raise ConfigError(f"download must be true or false, not {self.download!r}")
        lo, hi = SIZE_RANGE
        if self.size is not None and (not _is_int(self.size) or not lo <= int(self.size) <= hi):
            raise DataError(
                f"--size {self.size} is out of range; choose a side from {lo} to {hi} pixels"
            )
        if not _is_int(self.split_seed) or not 0 <= int(self.split_seed) <= MAX_SPLIT_SEED:
            raise ConfigError(
                f"--split-seed {self.split_seed} is out of range; choose 0 to {MAX_SPLIT_SEED}"
            )
        f = self.test_fraction
        if f is not None and (
            isinstance(f, bool) or not isinstance(f, int | float) or not 0 < f < 1
        ):
            raise ConfigError(f"--test-fraction {f} must be a share strictly between 0 and 1")
        if self.channels not in (None, 1, 3) or isinstance(self.channels, bool):
            raise ConfigError(f"--channels {self.channels} must be 1 (grey) or 3 (RGB)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> DataSource:
        """The inverse of `to_dict`; unknown keys are errors (a typo never passes silently)."""
        if not isinstance(record, dict):
            raise ConfigError(f"a data source is a JSON object, not {type(record).__name__}")
        fields = [f.name for f in dataclasses.fields(cls)]
        for key in record:
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; keys: {', '.join(fields)}"
                raise ConfigError(f"unknown data source key {key!r}{hint}")
        return cls(**record)

    @classmethod
    def from_record(cls, dataset: dict[str, Any], *, legacy_split_seed: int = 0) -> DataSource:
        """The source recorded in a checkpoint's or report's ``dataset`` entry.

        Checkpoints written before sources existed hold only the name, the side and, under
        "source", the folder that was read: those load as that folder, that side and, for
        the digits (whose split then followed the run seed), `legacy_split_seed`.
        """
        recorded = dataset.get("source")
        if isinstance(recorded, dict):
            return cls.from_dict(recorded)
        name = dataset.get("name")
        if not name:
            raise ConfigError("the record does not say which dataset it used")
        folder = recorded if isinstance(recorded, str) and recorded != EMBEDDED_MARK else None
        return cls(
            name=name,
            folder=folder,
            size=dataset.get("size"),
            split_seed=legacy_split_seed if dataset_info(name).loader == "embedded" else 0,
        )

    def describe(self) -> str:
        """One line for people: 'cifar10 from /data, 32x32, split seed 0'."""
        parts = [self.name]
        if self.folder:
            parts[0] += f" from {self.folder}"
        if self.size:
            parts.append(f"{self.size}x{self.size}")
        if self.channels:
            parts.append("grey" if self.channels == 1 else "RGB")
        parts.append(f"split seed {self.split_seed}")
        if self.test_fraction is not None:
            parts.append(f"test fraction {self.test_fraction:g}")
        return ", ".join(parts)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
