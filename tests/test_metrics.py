from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from fragility import metrics
from fragility.errors import InputError


def _logits_for(probs: list[list[float]]) -> torch.Tensor:
    return torch.tensor(probs, dtype=torch.float64).log()


def test_ece_by_hand():
    # Confidences 0.85, 0.85 (one right) and 0.55, 0.65 (both right).
    logits = _logits_for([[0.85, 0.15], [0.85, 0.15], [0.45, 0.55], [0.35, 0.65]])
    y = torch.tensor([0, 1, 1, 1])
    cal = metrics.calibration(logits, y, n_bins=2)
    # bin (0.5, 1]: all four; acc 3/4, conf (0.85+0.85+0.55+0.65)/4 = 0.725 -> gap 0.025
    assert cal.bin_counts == (0, 4)
    assert cal.ece == pytest.approx(0.025, abs=1e-6)
    cal10 = metrics.calibration(logits, y, n_bins=10)
    # bins (0.5,0.6]: {0.55} acc 1; (0.6,0.7]: {0.65} acc 1; (0.8,0.9]: {0.85,0.85} acc 0.5
    assert cal10.bin_counts[5] == 1 and cal10.bin_counts[6] == 1 and cal10.bin_counts[8] == 2
    expected = (1 / 4) * 0.45 + (1 / 4) * 0.35 + (2 / 4) * 0.35
    assert cal10.ece == pytest.approx(expected, abs=1e-6)


def test_perfectly_calibrated_is_zero():
    logits = _logits_for([[1.0 - 1e-9, 1e-9]] * 5)
    assert metrics.calibration(logits, torch.zeros(5, dtype=torch.long)).ece == pytest.approx(
        0, abs=1e-6
    )


@settings(deadline=None, max_examples=50)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=60))
def test_auroc_matches_scikit_learn(pairs):
    scores = np.array([s for s, _ in pairs], dtype=float)  # small integers: many ties
    labels = np.array([lab for _, lab in pairs])
    if labels.all() or not labels.any():
        with pytest.raises(InputError):
            metrics.auroc(scores, labels)
        return
    assert metrics.auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_ood_auroc_direction():
    assert metrics.ood_auroc([0.9, 0.95, 0.99], [0.1, 0.2]) == 1.0
    assert metrics.ood_auroc([0.1, 0.2], [0.9, 0.95]) == 0.0
    assert metrics.ood_auroc([0.5, 0.5], [0.5]) == 0.5


def test_confidence_stats_by_hand():
    logits = _logits_for([[0.95, 0.05], [0.6, 0.4], [0.3, 0.7], [0.995, 0.005]])
    s = metrics.confidence_stats(logits)
    assert s.share_above == {0.5: 1.0, 0.9: 0.5, 0.99: 0.25}
    assert s.class_counts == (3, 1)
    assert s.mean_confidence == pytest.approx((0.95 + 0.6 + 0.7 + 0.995) / 4)


def test_confusion_and_mistakes():
    logits = _logits_for([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.6, 0.4]])
    y = torch.tensor([1, 1, 1, 0])
    conf = metrics.confusion_matrix(logits.argmax(1), y, 2)
    assert conf.tolist() == [[1, 0], [2, 1]]
    assert metrics.accuracy(logits, y) == 0.5  # right on the second and the fourth
    assert np.isnan(metrics.accuracy(logits[:0], y[:0]))
    assert metrics.most_confident_mistakes(logits, y).tolist() == [0, 2]


def test_mistakes_counted_by_hand():
    logits = _logits_for([[0.95, 0.05], [0.2, 0.8], [0.7, 0.3], [0.6, 0.4]])
    y = torch.tensor([1, 1, 1, 0])
    m = metrics.mistakes(logits, y, shown=5)
    # wrong: rows 0 (at 95 %) and 2 (at 70 %); right: rows 1 (80 %) and 3 (60 %)
    assert m.wrong == (0, 2) and m.confident_errors == 1 and m.worst == (0, 2)
    assert m.mean_confidence_when_wrong == pytest.approx((0.95 + 0.7) / 2)
    assert m.mean_confidence_when_right == pytest.approx((0.8 + 0.6) / 2)
    # the right answers' confidences (0.8, 0.6) against the wrong ones' (0.95, 0.7): 1 of 4
    assert m.misclassification_auroc == pytest.approx(0.25)
    d = m.to_dict(["cat", "dog"])
    assert d["errors"] == 2 and d["calibration"]["ece"] == m.calibration.ece
    assert d["most_confident_mistakes"][0] == {
        "index": 0,
        "true": "dog",
        "predicted": "cat",
        "confidence": pytest.approx(0.95),
    }
    assert metrics.mistakes(logits[1:2], y[1:2]).misclassification_auroc is None


def test_saturated_share_counts_units_near_0_or_1_per_sigmoid_layer():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
    net.train()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[100.0, 0.0], [-100.0, 0.0], [0.0, 0.001]]))
        net[0].bias.zero_()
    x = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    # Row 1: units 1 and 2 saturate (sigmoid(+-100)), unit 3 sits at 0.5; row 2: none does.
    assert metrics.saturated_share(net, x) == [pytest.approx(2 / 6)]
    assert net.training  # the mode is restored
    assert metrics.saturated_share(torch.nn.Linear(2, 1), x) == []
