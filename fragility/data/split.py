"""The seeded train/test split of datasets that do not come with one.

Stratified (each class keeps its share in both halves) and fixed by the split seed alone, with
scikit-learn's `train_test_split`, so the digits' test set is the one earlier versions drew.
"""

from __future__ import annotations

import numpy as np

from fragility.data.catalog import DEFAULT_TEST_FRACTION
from fragility.errors import DataError


def seeded_split(
    labels: np.ndarray, test_fraction: float | None, seed: int, *, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of a stratified split with `test_fraction` (default 0.25) of each
    class in the test half. `what` names the data in errors."""
    from sklearn.model_selection import train_test_split

    fraction = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
    counts = np.bincount(labels) if len(labels) else np.zeros(0, dtype=int)
    present = np.flatnonzero(counts)
    if len(present) < 2:
        raise DataError(
            f"{what} holds {len(present)} class{'' if len(present) == 1 else 'es'} of images; "
            "a classifier needs at least two"
        )
    if counts[present].min() < 2:
        raise DataError(
            f"{what}: a class has a single image, which cannot be in both the train and the test "
            "split; add images or give train/ and test/ folders"
        )
    n_test = int(np.ceil(fraction * len(labels)))
    if n_test < len(present) or len(labels) - n_test < len(present):
        raise DataError(
            f"{what}: a test fraction of {fraction:g} of {len(labels)} images leaves a split "
            f"with fewer images than the {len(present)} classes; change --test-fraction or "
            "add images"
        )
    train, test = train_test_split(
        np.arange(len(labels)), test_size=fraction, stratify=labels, random_state=seed
    )
    return np.asarray(train), np.asarray(test)
