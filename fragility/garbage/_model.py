"""Small helpers shared by the garbage analyses: log-probabilities and class names. The image
and model checks are the contract's (`fragility.contract`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from fragility.contract import predict


def log_probs(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """log softmax of the model's logits in float64, (N, K), on the CPU.

    float64 keeps 0.9999 apart from 0.99999 and ranks elites whose probability rounds to 1.
    """
    return predict(model, x, batch_size).double().log_softmax(dim=1)


def fooling_summary(confidence: np.ndarray, target: float) -> dict[str, Any]:
    """How far a set of fooling images (one per class) got: classes at or above the target,
    the worst and the median class's confidence."""
    return {
        "classes_reached": int((confidence >= target).sum()),
        "worst_confidence": float(confidence.min()),
        "median_confidence": float(np.median(confidence)),
    }


def class_name(class_names: Sequence[str] | None, c: int) -> str:
    """The name of class c, or its number where no name is known."""
    return class_names[c] if class_names and c < len(class_names) else str(c)


__all__ = ["class_name", "fooling_summary", "log_probs"]
