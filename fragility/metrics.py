"""Accuracy, calibration (ECE), out-of-distribution AUROC and confidence statistics.

Pure functions of logits, probabilities and labels; numpy out where a table is wanted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fragility.contract import evaluating, to_model
from fragility.errors import InputError

THRESHOLDS = (0.5, 0.9, 0.99)


def _np(x: torch.Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def confidence(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max softmax probability and the predicted class, each (N,)."""
    p = logits.double().softmax(dim=1)  # float64: a 0.9999 vs 0.99999 distinction survives
    conf, pred = p.max(dim=1)
    return conf.float(), pred


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    if len(y) == 0:
        return float("nan")
    return float((logits.argmax(1) == y).float().mean())


def confusion_matrix(pred: torch.Tensor, y: torch.Tensor, num_classes: int) -> np.ndarray:
    """Counts, true class in rows, predicted class in columns: (K, K) int64."""
    idx = _np(y).astype(np.int64) * num_classes + _np(pred).astype(np.int64)
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class Calibration:
    """Reliability of the confidences (Guo et al. 2017).

    ECE = sum_b (|B_b| / n) |acc(B_b) - conf(B_b)| over `n_bins` equal-width bins of the max
    softmax probability; bins are (lo, hi], the first one [0, hi].
    """

    ece: float
    n_bins: int
    bin_edges: tuple[float, ...]  # n_bins + 1 edges from 0 to 1
    bin_counts: tuple[int, ...]
    bin_accuracy: tuple[float | None, ...]  # None for an empty bin
    bin_confidence: tuple[float | None, ...]
    mean_confidence: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "ece": self.ece,
            "n_bins": self.n_bins,
            "mean_confidence": self.mean_confidence,
            "accuracy": self.accuracy,
            "bins": [
                {"lower": lo, "upper": hi, "count": c, "accuracy": a, "confidence": m}
                for lo, hi, c, a, m in zip(
                    self.bin_edges[:-1],
                    self.bin_edges[1:],
                    self.bin_counts,
                    self.bin_accuracy,
                    self.bin_confidence,
                    strict=True,
                )
            ],
        }


def calibration(logits: torch.Tensor, y: torch.Tensor, n_bins: int = 15) -> Calibration:
    """Expected calibration error and the reliability diagram's bins (Guo et al. 2017, M=15)."""
    if n_bins < 1:
        raise InputError(f"n_bins must be at least 1, not {n_bins}")
    conf_t, pred_t = confidence(logits)
    conf = _np(conf_t).astype(np.float64)
    correct = (_np(pred_t) == _np(y)).astype(np.float64)
    n = len(conf)
    if n == 0:
        raise InputError("calibration needs at least one example")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # (lo, hi]: searchsorted with side="left" on the upper edges puts conf == hi in its bin.
    which = np.clip(np.searchsorted(edges[1:], conf, side="left"), 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    acc_sum = np.bincount(which, weights=correct, minlength=n_bins)
    conf_sum = np.bincount(which, weights=conf, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = acc_sum / counts
        mean_conf = conf_sum / counts
    gaps = np.where(counts > 0, np.abs(acc - mean_conf), 0.0)
    ece = float(np.sum(counts / n * gaps))
    return Calibration(
        ece=ece,
        n_bins=n_bins,
        bin_edges=tuple(float(e) for e in edges),
        bin_counts=tuple(int(c) for c in counts),
        bin_accuracy=tuple(None if c == 0 else float(a) for c, a in zip(counts, acc, strict=True)),
        bin_confidence=tuple(
            None if c == 0 else float(m) for c, m in zip(counts, mean_conf, strict=True)
        ),
        mean_confidence=float(conf.mean()),
        accuracy=float(correct.mean()),
    )


def auroc(scores: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counted 1/2.

    Computed from average ranks (the Mann-Whitney U statistic), O(n log n). Equals
    scikit-learn's roc_auc_score(labels, scores).
    """
    s = _np(scores).astype(np.float64).ravel()
    lab = _np(labels).astype(bool).ravel()
    n_pos, n_neg = int(lab.sum()), int((~lab).sum())
    if n_pos == 0 or n_neg == 0:
        raise InputError("AUROC needs at least one positive and one negative example")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # Average rank of each run of ties (1-based).
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[lab].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def ood_auroc(score_in: torch.Tensor | np.ndarray, score_out: torch.Tensor | np.ndarray) -> float:
    """AUROC of a detector whose score is higher for in-distribution inputs (Hendrycks &
    Gimpel 2017: the max softmax probability). 1.0 separates perfectly, 0.5 is chance."""
    a, b = _np(score_in).ravel(), _np(score_out).ravel()
    labels = np.concatenate([np.ones(len(a), bool), np.zeros(len(b), bool)])
    return auroc(np.concatenate([a, b]), labels)


@dataclass(frozen=True)
class ConfidenceStats:
    """How sure a classifier is on a set of inputs: share of max-probability above each
    threshold, the mean max-probability, and how many inputs each class took."""

    n: int
    share_above: dict[float, float]
    mean_confidence: float
    class_counts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "share_above": {str(t): v for t, v in self.share_above.items()},
            "mean_confidence": self.mean_confidence,
            "class_counts": list(self.class_counts),
        }


def confidence_stats(
    logits: torch.Tensor, thresholds: Sequence[float] = THRESHOLDS
) -> ConfidenceStats:
    conf, pred = confidence(logits)
    k = logits.shape[1]
    return ConfidenceStats(
        n=len(conf),
        share_above={float(t): float((conf > t).float().mean()) for t in thresholds},
        mean_confidence=float(conf.mean()),
        class_counts=tuple(int(c) for c in torch.bincount(pred, minlength=k)),
    )


def most_confident_mistakes(logits: torch.Tensor, y: torch.Tensor, k: int = 10) -> torch.Tensor:
    """Indices of the k wrong predictions with the highest max-probability, most confident first
    (ties broken by index, so the order is stable)."""
    conf, pred = confidence(logits)
    wrong = torch.nonzero(pred != y).flatten()
    if len(wrong) == 0:
        return wrong
    # Stable sort on -confidence keeps ascending index order among ties.
    order = torch.sort(-conf[wrong], stable=True).indices
    return wrong[order[:k]]


@dataclass(frozen=True)
class Mistakes:
    """A classifier's wrong answers on labelled data and how sure it was of them."""

    n: int
    wrong: tuple[int, ...]  # indices of the wrong answers
    confident: float  # the confidence above which a mistake counts as confident
    confident_errors: int  # wrong answers given with more than `confident`
    mean_confidence_when_wrong: float | None  # None without mistakes
    mean_confidence_when_right: float | None  # None without right answers
    misclassification_auroc: float | None  # None unless there are both
    calibration: Calibration
    worst: tuple[int, ...]  # the most confident mistakes, most confident first
    worst_true: tuple[int, ...]
    worst_predicted: tuple[int, ...]
    worst_confidence: tuple[float, ...]

    def to_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        def name(c: int) -> str:
            return class_names[c] if class_names and c < len(class_names) else str(c)

        return {
            "n": self.n,
            "errors": len(self.wrong),
            "confident": self.confident,
            "confident_errors": self.confident_errors,
            "mean_confidence_when_wrong": self.mean_confidence_when_wrong,
            "mean_confidence_when_right": self.mean_confidence_when_right,
            "misclassification_auroc": self.misclassification_auroc,
            "calibration": self.calibration.to_dict(),
            "most_confident_mistakes": [
                {"index": i, "true": name(t), "predicted": name(p), "confidence": c}
                for i, t, p, c in zip(
                    self.worst,
                    self.worst_true,
                    self.worst_predicted,
                    self.worst_confidence,
                    strict=True,
                )
            ],
        }


def mistakes(
    logits: torch.Tensor,
    y: torch.Tensor,
    *,
    shown: int = 10,
    confident: float = 0.9,
    n_bins: int = 15,
) -> Mistakes:
    """The wrong answers among logits (N, K) for labels y, with calibration (Guo et al. 2017,
    `n_bins` bins) and how well the max-softmax confidence alone tells right answers from
    wrong ones (the misclassification AUROC of Hendrycks & Gimpel 2017)."""
    conf, pred = confidence(logits)
    wrong = pred != y
    n_wrong = int(wrong.sum())
    worst = most_confident_mistakes(logits, y, shown)
    return Mistakes(
        n=len(y),
        wrong=tuple(int(i) for i in wrong.nonzero().flatten()),
        confident=confident,
        confident_errors=int((wrong & (conf > confident)).sum()),
        mean_confidence_when_wrong=float(conf[wrong].mean()) if n_wrong else None,
        mean_confidence_when_right=float(conf[~wrong].mean()) if n_wrong < len(y) else None,
        misclassification_auroc=auroc(conf, ~wrong) if 0 < n_wrong < len(y) else None,
        calibration=calibration(logits, y, n_bins),
        worst=tuple(int(i) for i in worst),
        worst_true=tuple(int(y[i]) for i in worst),
        worst_predicted=tuple(int(pred[i]) for i in worst),
        worst_confidence=tuple(float(conf[i]) for i in worst),
    )


def saturated_share(model: torch.nn.Module, x: torch.Tensor, tol: float = 1e-3) -> list[float]:
    """For each nn.Sigmoid module of `model`, in the order the forward pass reaches them, the
    share of its outputs on `x` within `tol` of 0 or 1: units whose gradient has all but
    vanished, so that small changes to the input no longer move them. Empty without sigmoids."""
    shares: list[float] = []

    def hook(_module: Any, _inputs: Any, out: torch.Tensor) -> None:
        shares.append(float(((out < tol) | (out > 1 - tol)).float().mean()))

    sigmoids = [m for m in model.modules() if isinstance(m, torch.nn.Sigmoid)]
    handles = [m.register_forward_hook(hook) for m in sigmoids]
    try:
        with evaluating(model), torch.no_grad():
            model(to_model(model, x))
    finally:
        for h in handles:
            h.remove()
    return shares
