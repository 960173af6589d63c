from __future__ import annotations

import json
import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from fragility._io import to_json
from fragility.attacks import (
    PGD,
    AttackWarning,
    CarliniWagnerL2,
    DeepFool,
    WorstOf,
    describe_epsilon,
    fgsm,
    grey_levels,
    is_adversarial,
    normalize_l2,
    normalize_linf,
    project_l2,
    project_linf,
    robust_accuracy,
    transfer_matrix,
)
from fragility.attacks.core import batched_logits, linf_box
from fragility.errors import ConfigError, InputError
from fragility.train import evaluate

TOL = 1e-5  # float32 rounding of x0 + delta - x0


# ---------------------------------------------------------------------------------------------
# Tiny models


def tiny_model(kind: str, shape: tuple[int, int, int], k: int, seed: int) -> nn.Module:
    c, h, w = shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "mlp":
            net = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 8), nn.Tanh(), nn.Linear(8, k))
        else:
            net = nn.Sequential(
                nn.Conv2d(c, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * h * w, k)
            )
    return net.eval()


class Linear2(nn.Module):
    """Two classes with logits (w.x, -w.x) + (b, -b): the boundary is w.x + b = 0."""

    def __init__(self, w: torch.Tensor, b: float = 0.0) -> None:
        super().__init__()
        self.w = nn.Parameter(w.flatten().clone())
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.flatten(1) @ self.w + self.b
        return torch.stack([s, -s], dim=1)


def linear_case() -> tuple[Linear2, torch.Tensor, torch.Tensor]:
    w = torch.tensor([0.5, -1.0, 2.0, -0.25, 1.5, -2.0, 0.75, 1.0]).view(1, 2, 4)
    model = Linear2(w, b=0.1).eval()
    x = torch.full((3, 1, 2, 4), 0.5)
    x[1, 0, 0, 0] = 0.3
    x[2, 0, 1, 3] = 0.6
    y = torch.zeros(3, dtype=torch.long)  # w.x + b > 0 for all three: class 0
    assert bool((model(x).argmax(1) == 0).all())
    return model, x, y


def attack_by_name(name: str, norm: str) -> object:
    return {
        "fgsm": fgsm(norm),
        "pgd": PGD(norm=norm, steps=5),
        "pgd-margin": PGD(norm=norm, steps=4, restarts=2, loss="margin", rel_step=0.5),
        "deepfool": DeepFool(norm=norm, steps=10),
        "cw": CarliniWagnerL2(steps=6, binary_search_steps=2),
        "ensemble": WorstOf((fgsm(norm), PGD(norm=norm, steps=3))),
    }[name]


# ---------------------------------------------------------------------------------------------
# Pure helpers


def test_projections_and_normalisations_by_hand():
    x0 = torch.zeros(2, 1, 1, 2)
    x = torch.tensor([[3.0, 4.0], [0.3, -0.1]]).view(2, 1, 1, 2)
    assert torch.allclose(
        project_linf(x, x0, 0.5).flatten(1), torch.tensor([[0.5, 0.5], [0.3, -0.1]])
    )
    # L2: (3, 4) has norm 5 -> scaled to norm 1; (0.3, -0.1) is inside the ball and stays.
    got = project_l2(x, x0, torch.tensor([1.0, 1.0])).flatten(1)
    assert torch.allclose(got, torch.tensor([[0.6, 0.8], [0.3, -0.1]]))
    g = torch.tensor([[3.0, -4.0], [0.0, 0.0]]).view(2, 1, 1, 2)
    assert torch.equal(normalize_linf(g).flatten(1), torch.tensor([[1.0, -1.0], [0.0, 0.0]]))
    assert torch.allclose(normalize_l2(g).flatten(1), torch.tensor([[0.6, -0.8], [0.0, 0.0]]))


@settings(deadline=None, max_examples=30)
@given(st.integers(0, 2**31), st.floats(0.0, 0.6))
def test_the_linf_box_is_the_ball_cut_to_the_unit_cube(seed, eps):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(3, 1, 4, 4, generator=g).round()  # many pixels on the edges 0 and 1
    x = x0 + torch.randn(3, 1, 4, 4, generator=g)
    lo, hi = linf_box(x0, torch.full((3,), eps))
    assert torch.allclose(torch.clamp(x, lo, hi), project_linf(x, x0, eps).clamp(0, 1), atol=1e-7)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(-(2**70), 2**70),
    st.lists(
        st.tuples(
            st.integers(0, 10**9),
            st.integers(0, 50),
            st.floats(min_value=0.0, allow_nan=False),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_image_seeds_over_arrays_are_the_per_image_seeds(seed, rows):
    from fragility.attacks.core import image_seed, image_seeds

    images, restarts, epsilons = (list(col) for col in zip(*rows, strict=True))
    assert image_seeds(seed, images, restarts, epsilons) == [
        image_seed(seed, i, r, e) for i, r, e in rows
    ]


def test_epsilon_in_grey_levels():
    assert grey_levels(0.1) == pytest.approx(25.5)
    assert describe_epsilon(0.1) == "0.1 (25.5 of 255 grey levels per pixel)"
    assert describe_epsilon(0.2) == "0.2 (51 of 255 grey levels per pixel)"
    assert describe_epsilon(1.5, "l2") == "1.5"


# ---------------------------------------------------------------------------------------------
# Known answers on a linear model


def test_fgsm_on_a_linear_model_is_the_closed_form():
    model, x, y = linear_case()
    eps = 0.05
    # d CE / dx for class 0 = p1 * (w1 - w0) = p1 * (-2w): its sign is -sign(w).
    expected = (x - eps * model.w.detach().sign().view(1, 1, 2, 4)).clamp(0, 1)
    result = fgsm().run(model, x, y, eps)
    assert torch.equal(result.adversarial, expected)
    assert torch.equal(result.steps, torch.ones(3, dtype=torch.long))
    # The L2 version steps along -w / ||w||.
    w = model.w.detach()
    expected_l2 = (x - eps * (w / w.norm()).view(1, 1, 2, 4)).clamp(0, 1)
    assert torch.allclose(fgsm("l2").run(model, x, y, eps).adversarial, expected_l2, atol=1e-7)


def test_deepfool_finds_the_nearest_boundary_of_a_linear_model():
    model, x, y = linear_case()
    w = model.w.detach().double()
    s = x.flatten(1).double() @ w + model.b.detach().double()  # distance in logit units
    # Nearest boundary point: L2 distance s / ||w||_2, Linf distance s / ||w||_1.
    for norm, dist in (("l2", s / w.norm()), ("linf", s / w.abs().sum())):
        r = DeepFool(norm=norm, overshoot=0.0).run(model, x, y)
        size = (r.l2 if norm == "l2" else r.linf).double()
        assert bool(r.success.all())
        # DeepFool steps |f| + 1e-4 in logit units; f = 2s here, so 0.5e-4 past the boundary.
        scale = w.norm() if norm == "l2" else w.abs().sum()
        assert torch.allclose(size, dist + 0.5e-4 / scale, rtol=1e-5)


def test_pgd_on_a_linear_model_walks_to_the_corner_or_stops_at_the_boundary():
    model, x, y = linear_case()
    down = model.w.detach().sign().view(1, 1, 2, 4)  # the gradient of CE points along -sign(w)
    attack = PGD(steps=10, step=0.02, random_start=False)
    # eps 0.05 cannot cross (w.x + b falls by 0.05 ||w||_1 = 0.45 from 1.25 or more): PGD ends
    # in the corner x - eps sign(w).
    r = attack.run(model, x, y, 0.05)
    assert not bool(r.success.any())
    assert torch.allclose(r.adversarial, x - 0.05 * down, atol=1e-7)
    # eps 0.2 can: each step lowers w.x + b by 0.02 * 9 = 0.18, so the first image (1.35)
    # flips after 8 steps, the second (1.25) after 7, the third (1.45) after 9.
    r = attack.run(model, x, y, 0.2)
    assert torch.equal(r.steps, torch.tensor([8, 7, 9]))
    assert torch.allclose(r.adversarial, x - 0.02 * r.steps.view(-1, 1, 1, 1) * down, atol=1e-6)


@pytest.mark.parametrize(
    "attack", [PGD(steps=10, step=0.02, random_start=False), DeepFool()], ids=["pgd", "deepfool"]
)
def test_progress_shows_a_bar_and_changes_no_result(attack, capsys, monkeypatch):
    import fragility._progress

    monkeypatch.setattr(fragility._progress, "INTERVAL_S", 0.0)  # a line per update in a log
    model, x, y = linear_case()
    quiet = robust_accuracy(model, x, y, attack, (0.0, 0.05, 0.2))
    assert capsys.readouterr().err == ""
    shown = robust_accuracy(model, x, y, attack, (0.0, 0.05, 0.2), progress=True)
    assert attack.name in capsys.readouterr().err
    assert shown.accuracy == quiet.accuracy and torch.equal(shown.steps, quiet.steps)


# ---------------------------------------------------------------------------------------------
# Properties over random models, shapes and budgets


@st.composite
def attack_cases(draw):
    kind = draw(st.sampled_from(["mlp", "conv"]))
    shape = (draw(st.sampled_from([1, 3])), draw(st.integers(2, 5)), draw(st.integers(2, 5)))
    k = draw(st.integers(2, 5))
    n = draw(st.integers(1, 6))
    norm = draw(st.sampled_from(["linf", "l2"]))
    name = draw(st.sampled_from(["fgsm", "pgd", "pgd-margin", "deepfool", "cw", "ensemble"]))
    if name == "cw":
        norm = "l2"
    eps = draw(st.floats(0.0, 0.5 if norm == "linf" else 2.0))
    seed = draw(st.integers(0, 2**31))
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *shape, generator=g)
    if draw(st.booleans()):
        x = (x > 0.5).float()  # images on the edge of [0, 1], where clipping bites
    y = torch.randint(0, k, (n,), generator=g)
    target = None
    if name != "deepfool" and draw(st.booleans()):
        target = (y + torch.randint(1, k, (n,), generator=g)) % k
    return (tiny_model(kind, shape, k, seed), x, y, target, attack_by_name(name, norm), eps, seed)


@settings(deadline=None, max_examples=40)
@given(attack_cases(), st.integers(1, 4))
def test_every_result_is_an_image_inside_its_ball(case, batch_size):
    model, x, y, target, attack, eps, seed = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttackWarning)  # random nets may have dead gradients
        r = attack.run(model, x, y, eps, target=target, seed=seed, batch_size=batch_size)
    assert r.adversarial.shape == x.shape
    assert float(r.adversarial.min()) >= 0.0 and float(r.adversarial.max()) <= 1.0
    size = r.linf if attack.norm == "linf" else r.l2
    assert bool((size <= eps * (1 + TOL) + TOL).all()), (size.max(), eps)
    labels = y if target is None else target
    with torch.no_grad():
        logits = model(r.adversarial)
    assert torch.allclose(r.logits, logits, atol=1e-5)
    assert torch.equal(r.success, is_adversarial(r.logits, labels, target is not None))
    assert bool(((r.steps >= 0) & (r.steps <= attack.budget())).all())


# ---------------------------------------------------------------------------------------------
# On the trained digits models


@pytest.fixture(scope="module")
def test_images(digits):
    return digits.x_test[:120], digits.y_test[:120]


@pytest.fixture(params=["mlp", "cnn"])
def classifier(request, trained_mlp, trained_cnn):
    return {"mlp": trained_mlp, "cnn": trained_cnn}[request.param].model


LINF_GRID = (0.0, 0.03, 0.06, 0.1, 0.2)
L2_GRID = (0.0, 0.25, 0.5, 1.0)


def brute_force(model, x, y, attack, grid, *, target=None, seed=0, batch_size=32):
    """Attack every image at every epsilon in full (no early stop, no carry); an image counts
    as broken at epsilon when an adversarial was found in its ball at this or a smaller one."""
    broken = torch.zeros(len(x), dtype=torch.bool)
    curve, raw = [], []
    for eps in grid:
        r = attack.run(
            model, x, y, eps, target=target, seed=seed, batch_size=batch_size, early_stop=False
        )
        wrong = evaluate_wrong(model, x, y) | r.success
        broken |= wrong
        curve.append(float((~broken).double().mean()))
        raw.append(float((~wrong).double().mean()))
    return tuple(curve), tuple(raw)


def evaluate_wrong(model, x, y, batch_size=32):
    # In batches of the same shape as the attacks', so the logits are the same bits.
    return batched_logits(model, x, batch_size).argmax(1) != y


@pytest.mark.parametrize(
    ("name", "norm", "targeted"),
    [
        ("fgsm", "linf", False),
        ("pgd", "linf", False),
        ("pgd-margin", "linf", False),
        ("pgd", "l2", False),
        ("pgd", "linf", True),
        ("deepfool", "linf", False),
        ("cw", "l2", False),
        ("ensemble", "linf", False),
        ("ensemble-mixed", "linf", False),
    ],
)
def test_fast_sweep_equals_attacking_every_image_at_every_epsilon(
    classifier, test_images, name, norm, targeted
):
    x, y = test_images
    attack = (
        WorstOf((PGD(steps=5), DeepFool(norm="linf", steps=10), fgsm()))
        if name == "ensemble-mixed"
        else attack_by_name(name, norm)
    )
    grid = LINF_GRID if norm == "linf" else L2_GRID
    target = (y + 3) % 10 if targeted else None
    fast = robust_accuracy(classifier, x, y, attack, grid, target=target, seed=7, batch_size=32)
    slow, raw = brute_force(classifier, x, y, attack, grid, target=target, seed=7)
    assert fast.accuracy == slow
    # Carrying adversarials up the grid never makes an image look more robust than attacking
    # at that epsilon alone would.
    assert all(f <= r for f, r in zip(fast.accuracy, raw, strict=True))
    assert int(fast.steps.sum()) < fast.brute_force_steps


def test_robust_accuracy_starts_at_clean_accuracy_and_never_rises(classifier, test_images):
    x, y = test_images
    curve = robust_accuracy(classifier, x, y, PGD(steps=10), (0.0, 0.02, 0.05, 0.1, 0.3))
    assert curve.accuracy[0] == pytest.approx(evaluate(classifier, x, y).accuracy)
    assert all(a >= b for a, b in zip(curve.accuracy[:-1], curve.accuracy[1:], strict=True))
    assert curve.accuracy[-1] < 0.1  # naturally trained nets fall at 0.3 (Madry et al. 2018)
    d = json.loads(to_json(curve.to_dict()))
    assert d["robust_accuracy"] == list(curve.accuracy)
    assert d["grey_levels"][1] == pytest.approx(5.1)


def test_pgd_is_at_least_as_strong_as_fgsm(classifier, test_images):
    x, y = test_images
    grid = (0.05, 0.1, 0.2)
    weak = robust_accuracy(classifier, x, y, fgsm(), grid)
    strong = robust_accuracy(classifier, x, y, PGD(steps=20), grid)
    assert all(s <= w for s, w in zip(strong.accuracy, weak.accuracy, strict=True))
    assert strong.accuracy[1] < weak.accuracy[1]


@pytest.mark.parametrize("attack", [PGD(steps=40), CarliniWagnerL2()], ids=["pgd", "cw"])
def test_targeted_attacks_reach_their_target(trained_cnn, test_images, attack):
    x, y = test_images
    x, y = x[:40], y[:40]
    target = (y + 1 + torch.arange(40) % 9) % 10
    eps = 0.3 if attack.norm == "linf" else None
    r = attack.run(trained_cnn.model, x, y, eps, target=target)
    assert r.success_rate >= 0.95
    assert torch.equal(r.logits.argmax(1)[r.success], target[r.success])


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_deepfool_refills_slots_and_gets_the_same_bits(classifier, test_images, norm):
    """As images are fooled, the next ones take their batch slots; every image's walk is the
    same bits as when each batch waits for its slowest image (batch 32: see core, rule 2)."""
    from fragility.attacks.core import attack_mode

    x, y = test_images
    attack = DeepFool(norm=norm, steps=20)
    calls = []
    hook = classifier.register_forward_hook(lambda *_: calls.append(1))
    try:
        with attack_mode(classifier, x, y):
            found = {}
            for refill in (True, False):
                calls.clear()
                found[refill] = attack._minimal(
                    classifier, x, y, False, m=32, progress=False, refill=refill
                )
                found[refill, "passes"] = len(calls)
    finally:
        hook.remove()
    for field in ("adversarial", "logits", "clean_logits", "success", "steps"):
        assert torch.equal(getattr(found[True], field), getattr(found[False], field)), field
    assert found[True, "passes"] < found[False, "passes"]  # the refilled batches stay full
    assert int(found[True].steps.max()) > int(found[True].steps.min())  # walks of many lengths


def test_cw_and_deepfool_need_smaller_perturbations_than_fgsm(classifier, test_images):
    x, y = test_images
    # FGSM's smallest breaking step per image, on a fine grid, measured in L2 as the DeepFool
    # paper measures it (Moosavi-Dezfooli et al. 2016, Table 1).
    fg = robust_accuracy(classifier, x, y, fgsm(), tuple(i / 500 for i in range(1, 301)))
    fooled_by_fgsm = torch.isfinite(fg.broken_at) & (fg.broken_at > 0)
    medians = {}
    for attack in (DeepFool(), CarliniWagnerL2()):
        r = attack.run(classifier, x, y)
        both = r.success & fooled_by_fgsm
        assert int(both.sum()) >= 0.9 * int((fg.broken_at > 0).sum())  # comparable success
        medians[attack.name] = (float(r.l2[both].median()), float(fg.l2[both].median()))
    deepfool, fgsm_l2 = medians["DeepFool L2"]
    assert deepfool < 0.95 * fgsm_l2
    cw, fgsm_l2 = medians["CW-L2"]
    assert cw < 0.8 * fgsm_l2 and cw < deepfool


def test_same_seed_same_result_other_seed_other_start(trained_mlp, test_images):
    x, y = test_images
    attack = PGD(steps=5, restarts=2)
    a = attack.run(trained_mlp.model, x, y, 0.05, seed=3)
    b = attack.run(trained_mlp.model, x, y, 0.05, seed=3)
    c = attack.run(trained_mlp.model, x, y, 0.05, seed=4)
    assert torch.equal(a.adversarial, b.adversarial) and torch.equal(a.steps, b.steps)
    assert not torch.equal(a.adversarial, c.adversarial)
    # The batch size is part of the setting, but early stopping is not.
    d = attack.run(trained_mlp.model, x, y, 0.05, seed=3, early_stop=False)
    assert torch.equal(a.success, d.success) and torch.equal(a.adversarial, d.adversarial)


def test_transfer_matrix_diagonal_is_white_box(trained_mlp, trained_cnn, test_images):
    x, y = test_images
    models = {"mlp": trained_mlp.model, "cnn": trained_cnn.model}
    t = transfer_matrix(models, x, y, PGD(steps=10), 0.1, seed=1)
    for i, name in enumerate(t.names):
        white = PGD(steps=10).run(models[name], x, y, 0.1, seed=1)
        assert t.accuracy[i][i] == pytest.approx(1 - white.success_rate)
    # Transferred adversarials hurt, but less than white-box ones.
    assert t.accuracy[0][1] < t.clean_accuracy[1]
    assert t.accuracy[0][1] > t.accuracy[1][1]
    assert json.loads(to_json(t.to_dict()))["accuracy"]["mlp"]["cnn"] == t.accuracy[0][1]


def test_result_summary_is_json(trained_mlp, test_images):
    x, y = test_images
    r = PGD(steps=5).run(trained_mlp.model, x, y, 0.1)
    d = json.loads(to_json(r.to_dict()))
    assert d["n"] == 120 and d["grey_levels"] == pytest.approx(25.5)
    assert d["success_rate"] == pytest.approx(r.success_rate)
    assert d["linf_of_successes"]["median"] <= 0.1 + TOL


# ---------------------------------------------------------------------------------------------
# Preflight checks


def test_training_mode_warns_attacks_in_eval_and_restores(trained_cnn, test_images):
    x, y = test_images
    model = trained_cnn.model
    flags = [p.requires_grad for p in model.parameters()]
    expected = PGD(steps=5).run(model, x[:20], y[:20], 0.1)
    model.train()
    try:
        with pytest.warns(AttackWarning, match="training mode"):
            got = PGD(steps=5).run(model, x[:20], y[:20], 0.1)
        assert model.training
    finally:
        model.eval()
    assert torch.equal(got.adversarial, expected.adversarial)  # dropout was off
    assert [p.requires_grad for p in model.parameters()] == flags


def test_softmax_inside_the_model_warns(trained_mlp, test_images):
    x, y = test_images
    model = nn.Sequential(trained_mlp.model, nn.Softmax(dim=1)).eval()
    with pytest.warns(AttackWarning, match="sum to 1"):
        fgsm().run(model, x[:10], y[:10], 0.1)


def test_inputs_outside_unit_range_are_an_error(trained_mlp, test_images):
    x, y = test_images
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        fgsm().run(trained_mlp.model, (x[:5] - 0.5) / 0.5, y[:5], 0.1)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        robust_accuracy(trained_mlp.model, x[:5] * 255, y[:5], fgsm(), (0.1,))


class Rounded(nn.Module):
    """Rounds its input first: the gradient is zero everywhere (masked)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.round(x * 4) / 4)


class SqrtOfShift(nn.Module):
    """sqrt(x - 0.5) is NaN below 0.5: NaN gradients."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.sqrt(x - 0.5))


@pytest.mark.parametrize(("wrapper", "what"), [(Rounded, "exactly zero"), (SqrtOfShift, "NaN")])
def test_masked_gradients_warn(trained_mlp, test_images, wrapper, what):
    x, y = test_images
    with pytest.warns(AttackWarning, match=f"gradient masking suspected.*{what}"):
        fgsm().run(wrapper(trained_mlp.model).eval(), x[:10], y[:10], 0.1)


def test_a_healthy_model_raises_no_warning(trained_cnn, test_images):
    x, y = test_images
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PGD(steps=3).run(trained_cnn.model, x[:10], y[:10], 0.1)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m, x, y: PGD().run(m, x, y), ConfigError, "needs a budget"),
        (lambda m, x, y: PGD().run(m, x, y, -0.1), ConfigError, "non-negative"),
        (lambda m, x, y: PGD().run(m, x, y, 0.1, target=y), InputError, "equal the true label"),
        (lambda m, x, y: DeepFool().run(m, x, y, target=(y + 1) % 10), ConfigError, "untargeted"),
        (lambda m, x, y: PGD(norm="l1"), ConfigError, "unknown norm"),
        (lambda m, x, y: WorstOf((fgsm(), CarliniWagnerL2())), ConfigError, "share one norm"),
        (lambda m, x, y: robust_accuracy(m, x, y, fgsm(), (math.nan,)), ConfigError, "epsilons"),
        (lambda m, x, y: fgsm().run(m, x[0], y, 0.1), InputError, "N, C, H, W"),
    ],
)
def test_bad_arguments_say_what_to_do(trained_mlp, test_images, call, error, message):
    x, y = test_images
    with pytest.raises(error, match=message):
        call(trained_mlp.model, x[:4], y[:4])


# ---------------------------------------------------------------------------------------------
# The command line


@pytest.fixture(scope="module")
def mlp_checkpoint(tmp_path_factory, digits):
    from fragility import models, train

    spec = models.default_spec("mlp", digits.input_shape, digits.num_classes)
    trained = train.train(spec, digits, train.default_config(spec, digits))
    return train.save(tmp_path_factory.mktemp("ck") / "mlp", trained.model, spec, trained.metrics)


def test_cli_attack_end_to_end(mlp_checkpoint, tmp_path, capsys):
    from fragility.cli import main

    out = tmp_path / "pgd"
    argv = ["attack", "--checkpoint", str(mlp_checkpoint), "--attack", "pgd", "--steps", "10"]
    argv += ["--eps", "0.05,0.1,0.3", "--n", "100", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "25.5" in printed and "PGD-10 Linf on mlp 64-16-16-10 sigmoid" in printed
    report = json.loads((out / "attack.json").read_text())
    assert report["n"] == 100 and report["epsilons"] == [0.0, 0.05, 0.1, 0.3]
    assert report["robust_accuracy"][0] == report["clean_accuracy"] >= 0.9
    assert report["robust_accuracy"][-1] < 0.1
    assert report["settings"]["steps"] == 10 and report["seconds"] > 0
    for name in ("accuracy.png", "gallery.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Same seed, same numbers.
    assert main([*argv[:-1], str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "attack.json").read_text())
    assert again["robust_accuracy"] == report["robust_accuracy"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--attack", "cw", "--norm", "linf"], "cw is an L2 attack"),
        (["--attack", "deepfool", "--targeted"], "deepfool is untargeted"),
        (["--eps", "-0.1"], "Linf budgets lie from 0 to 1"),
    ],
)
def test_cli_attack_user_errors_exit_2(mlp_checkpoint, tmp_path, capsys, extra, message):
    from fragility.cli import main

    argv = ["attack", "--checkpoint", str(mlp_checkpoint), "--n", "10", "--quiet"]
    assert main([*argv, *extra, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_cli_attack_bad_argument_exit_2(tmp_path):
    import subprocess
    import sys

    argv = ["attack", "--checkpoint", str(tmp_path), "--attack", "boom", "--out", "x"]
    bad = subprocess.run(
        [sys.executable, "-m", "fragility", *argv],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "invalid choice: 'boom'" in bad.stderr


# ---------------------------------------------------------------------------------------------
# The report section


def test_report_section_quick(quick_context):
    from fragility.report.section import FigureBlock, Table
    from fragility.report.sections import adversarial

    section = adversarial.build(quick_context)
    assert (section.slug, section.title) == ("adversarial", "Adversarial examples")
    m = section.metrics
    cnn = m["models"]["cnn"]
    pgd, fgsm_ = cnn["pgd"], cnn["fgsm"]  # RobustAccuracy.to_dict: the names of attack.json
    assert m["n_images"] == pgd["n"] == 100 and pgd["attack"] == "PGD-10 Linf"
    assert pgd["epsilons"][2] == 0.1 and pgd["grey_levels"][2] == 25.5
    assert pgd["robust_accuracy"][0] == pgd["clean_accuracy"] == fgsm_["clean_accuracy"] > 0.95
    at = {e: a for e, a in zip(fgsm_["epsilons"], fgsm_["robust_accuracy"], strict=True)}
    assert all(p <= at[e] for e, p in zip(pgd["epsilons"], pgd["robust_accuracy"], strict=True))
    assert cnn["deepfool"]["attack"] == "DeepFool L2" and cnn["compared"]["images"] > 0
    # The intro quotes the numbers it is about.
    assert f"{100 * pgd['robust_accuracy'][2]:.1f} %" in section.intro
    assert "26 of 255" in section.intro
    names = [f.name for f in section.figures]
    assert names == [
        "adversarial-curves",
        "adversarial-gallery-mlp",
        "adversarial-gallery-cnn",
        "adversarial-transfer",
    ]
    assert all(f.png[:4] == b"\x89PNG" and f.alt for f in section.figures)
    assert any(isinstance(b, Table) for b in section.blocks)
    assert not any(isinstance(b, FigureBlock) and not b.caption for b in section.blocks)
    assert "Madry et al." in section.blocks[-1].text
    assert json.loads(to_json(m)) == json.loads(to_json(adversarial.build(quick_context).metrics))
