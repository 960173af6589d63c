"""Adversarial examples: FGSM, PGD, Carlini-Wagner L2, DeepFool, a worst-of ensemble, and
robust accuracy over an epsilon grid done fast but exactly.

Attacks are frozen dataclasses holding their settings; `attack.run(model, x, y, epsilon,
target=..., seed=...)` returns an `AttackResult`. Any `nn.Module` that maps images
(N, C, H, W) in [0, 1] to logits (N, K) can be attacked. Preflight checks run before every
attack: inputs outside [0, 1] are an `InputError`; a model in training mode, outputs that
already sum to 1 and zero or NaN input gradients raise an `AttackWarning`.

    from fragility.attacks import PGD, robust_accuracy
    curve = robust_accuracy(model, x, y, PGD(steps=40, step=0.01), [0, 0.1, 0.2, 0.3])
"""

from fragility.attacks.core import (
    Attack,
    AttackResult,
    AttackWarning,
    describe_epsilon,
    grey_levels,
    is_adversarial,
    margin,
    normalize_l2,
    normalize_linf,
    perturbation_norms,
    project_l2,
    project_linf,
)
from fragility.attacks.cw import CarliniWagnerL2
from fragility.attacks.deepfool import DeepFool
from fragility.attacks.ensemble import WorstOf
from fragility.attacks.gradient import PGD, fgsm
from fragility.attacks.sweep import (
    RobustAccuracy,
    Transfer,
    epsilon_grid,
    robust_accuracy,
    transfer_matrix,
)

__all__ = [
    "PGD",
    "Attack",
    "AttackResult",
    "AttackWarning",
    "CarliniWagnerL2",
    "DeepFool",
    "RobustAccuracy",
    "Transfer",
    "WorstOf",
    "describe_epsilon",
    "epsilon_grid",
    "fgsm",
    "grey_levels",
    "is_adversarial",
    "margin",
    "normalize_l2",
    "normalize_linf",
    "perturbation_norms",
    "project_l2",
    "project_linf",
    "robust_accuracy",
    "transfer_matrix",
]
