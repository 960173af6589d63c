"""The two operations every state of the simulator supports: keep some runs, read one run.

A state is a frozen dataclass whose fields hold (n,) arrays, one entry per run of a batch (or a
float shared by all runs). `take` keeps the runs of a mask; `row` reads run i as Python
scalars, with class indices turned into names, in the same dataclass: the form trace rows and
`to_dict` use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def take(state: T, keep: np.ndarray) -> T:
    """The state of the runs where keep is True."""
    n = len(keep)
    changes = {
        f.name: v[keep]
        for f in dataclasses.fields(state)
        if isinstance(v := getattr(state, f.name), np.ndarray) and v.ndim >= 1 and len(v) == n
    }
    return dataclasses.replace(state, **changes)


def _scalar(v: Any, i: int) -> Any:
    if isinstance(v, np.ndarray):
        v = v[i] if v.ndim else v[()]
    return v.item() if isinstance(v, np.generic) else v


def row(state: T, i: int, names: Mapping[str, tuple[str, ...]] | None = None) -> T:
    """Run i of the state as Python scalars; fields in `names` (index -> name tables) by name,
    an index of -1 as ''."""
    values = {}
    for f in dataclasses.fields(state):
        v = _scalar(getattr(state, f.name), i)
        if names and f.name in names:
            v = names[f.name][v] if v >= 0 else ""
        values[f.name] = v
    return dataclasses.replace(state, **values)


def full(n: int, value: Any, dtype: Any = np.float64) -> np.ndarray:
    return np.full(n, value, dtype=dtype)
