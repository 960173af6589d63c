"""Hand-derived backprop against torch autograd (float64), exact counts against brute force."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fragility import neurons
from fragility.cli import main
from fragility.errors import ConfigError

TOL = 1e-12
value = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
target = st.floats(0.0, 1.0, allow_nan=False)
bias = st.none() | value


# ----------------------------------------------------------------------------- references


def torch_two_neuron(x, d, w1, w2, b1, b2):
    """The same expression built in torch, micrograd-style: leaves, forward, backward."""
    t = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True)
         for k, v in {"w1": w1, "w2": w2, "b1": b1, "b2": b2}.items() if v is not None}  # fmt: skip
    zero = torch.tensor(0.0, dtype=torch.float64)
    p1 = t["w1"] * x + t.get("b1", zero)
    y = torch.sigmoid(p1)
    p2 = t["w2"] * y + t.get("b2", zero)
    z = torch.sigmoid(p2)
    z.retain_grad()
    loss = 0.5 * (d - z) ** 2
    loss.backward()
    return {k: v.grad.item() for k, v in t.items()}, z.grad.item(), z.item(), loss.item()


def torch_mlp(net: neurons.SigmoidMLP, x, d):
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases] if net.biases else None
    a = torch.tensor(np.asarray(x, dtype=np.float64))
    for i, w in enumerate(ws):
        a = torch.sigmoid(w @ a + (bs[i] if bs else 0.0))
    (0.5 * ((torch.tensor(np.asarray(d, dtype=np.float64)) - a) ** 2).sum()).backward()
    return [w.grad.numpy() for w in ws], [b.grad.numpy() for b in bs] if bs else None


def random_mlp(seed: int, widths: list[int], biases: bool):
    rng = np.random.default_rng(seed)
    net = neurons.SigmoidMLP.random(widths, rng, scale=2.0, biases=biases)
    return net, rng.uniform(-2, 2, widths[0]), rng.uniform(0, 1, widths[-1])


# ----------------------------------------------------------------------------- the sigmoid


@settings(deadline=None, max_examples=60)
@given(st.floats(-20.0, 20.0))
def test_sigmoid_slope_is_beta_one_minus_beta_against_a_finite_difference(a):
    h = 1e-5
    numeric = (neurons.sigmoid(a + h) - neurons.sigmoid(a - h)) / (2 * h)
    beta = neurons.sigmoid(a)
    assert abs(neurons.sigmoid_slope(beta) - numeric) < 1e-10
    assert float(beta) == pytest.approx(1 / (1 + math.exp(-a)), rel=1e-14, abs=1e-300)


def test_sigmoid_does_not_overflow_at_the_extremes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = neurons.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert out.tolist() == [0.0, 0.5, 1.0]


# ----------------------------------------------------------------------------- two neurons


def test_worked_example_known_answer():
    f = neurons.two_neuron_forward(x=2.0, d=0.9, w1=0.5, w2=-0.4)
    g = neurons.two_neuron_backward(f)
    y = 1 / (1 + math.exp(-1.0))
    z = 1 / (1 + math.exp(0.4 * y))
    assert (f.P1, f.y, f.z) == (1.0, pytest.approx(y, abs=1e-15), pytest.approx(z, abs=1e-15))
    assert g.dL_dz == pytest.approx(z - 0.9, abs=1e-15) and g.dL_dz < 0
    assert g.dL_dw2 == pytest.approx((z - 0.9) * z * (1 - z) * y, abs=1e-15)
    assert g.dL_dw1 == pytest.approx((z - 0.9) * z * (1 - z) * -0.4 * y * (1 - y) * 2.0, abs=1e-15)
    assert (g.dL_db1, g.dL_db2) == (None, None)
    # Named factors multiply to the products.
    assert g.dL_dw2 == g.dL_dz * g.dz_dP2 * g.dP2_dw2
    assert g.dL_dw1 == pytest.approx(g.dL_dP2 * g.dP2_dy * g.dy_dP1 * g.dP1_dw1, abs=0)


@settings(deadline=None, max_examples=80)
@given(value, target, value, value, bias, bias)
def test_two_neuron_gradient_equals_autograd(x, d, w1, w2, b1, b2):
    f = neurons.two_neuron_forward(x, d, w1, w2, b1, b2)
    g = neurons.two_neuron_backward(f)
    auto, auto_dz, z, loss = torch_two_neuron(x, d, w1, w2, b1, b2)
    assert abs(f.z - z) < TOL and abs(f.loss - loss) < TOL
    # The loss's slope, not the lecture's d - z: this fails if the sign is flipped.
    assert abs(g.dL_dz - auto_dz) < TOL
    for name, v in auto.items():
        assert abs(getattr(g, f"dL_d{name}") - v) < TOL, name


def test_dL_dz_has_the_loss_sign_not_the_lecture_one():
    f = neurons.two_neuron_forward(x=1.0, d=1.0, w1=1.0, w2=1.0)  # z < d: raising z helps
    g = neurons.two_neuron_backward(f)
    assert g.dL_dz < 0 < neurons.lecture_performance_slope(f)
    assert g.dL_dz == -neurons.lecture_performance_slope(f)
    # One descent step on w2 (y > 0) raises z and lowers the loss.
    stepped = neurons.two_neuron_forward(1.0, 1.0, 1.0, 1.0 - 0.5 * g.dL_dw2)
    assert stepped.z > f.z and stepped.loss < f.loss


def test_two_neuron_is_the_mlp_with_widths_1_1_1():
    f = neurons.two_neuron_forward(0.7, 0.2, 1.3, -0.8, 0.1, 0.4)
    g = neurons.two_neuron_backward(f)
    net = neurons.SigmoidMLP(([[1.3]], [[-0.8]]), ([0.1], [0.4]))
    acts = neurons.mlp_forward(net, np.array([0.7]))
    first, second = neurons.mlp_backward(net, acts, np.array([0.2]))
    assert net.widths == (1, 1, 1)
    assert second.dL_da[0] == g.dL_dz and second.da_dP[0] == g.dz_dP2
    assert second.dP_dW[0] == g.dP2_dw2 and second.grad_w[0, 0] == g.dL_dw2
    # Phase two: the three new factors, and the product.
    assert first.dL_da[0] == pytest.approx(g.dL_dP2 * g.dP2_dy, abs=1e-17)
    assert first.da_dP[0] == g.dy_dP1 and first.dP_dW[0] == g.dP1_dw1
    assert first.grad_w[0, 0] == pytest.approx(g.dL_dw1, abs=1e-17)
    assert first.grad_b[0] == pytest.approx(g.dL_db1, abs=1e-17)


def test_non_finite_input_is_a_config_error():
    with pytest.raises(ConfigError, match="x must be a finite number"):
        neurons.two_neuron_forward(math.nan, 0.5, 1.0, 1.0)


# ----------------------------------------------------------------------------- 2x2 and MLPs


@settings(deadline=None, max_examples=40)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_two_by_two_partials_by_hand_equal_backprop_and_autograd(seed, biases):
    net, x, d = random_mlp(seed, [2, 2, 2], biases)
    by_hand = neurons.two_by_two_partials(net, x, d)
    phases = neurons.mlp_backward(net, neurons.mlp_forward(net, x), d)
    backprop = neurons.partials_by_name([p.grad_w for p in phases])
    auto = neurons.partials_by_name(torch_mlp(net, x, d)[0])
    assert sorted(by_hand) == sorted(auto) and len(auto) == 8
    for k in auto:
        assert abs(by_hand[k] - auto[k]) < TOL and abs(backprop[k] - auto[k]) < TOL, k


@settings(deadline=None, max_examples=40)
@given(
    st.integers(0, 2**32 - 1),
    st.lists(st.integers(1, 5), min_size=2, max_size=7),
    st.booleans(),
)
def test_mlp_backprop_equals_autograd_for_any_widths_and_depth(seed, widths, biases):
    net, x, d = random_mlp(seed, widths, biases)
    phases = neurons.mlp_backward(net, neurons.mlp_forward(net, x), d)
    auto_w, auto_b = torch_mlp(net, x, d)
    assert len(phases) == len(widths) - 1
    for phase, gw in zip(phases, auto_w, strict=True):
        assert np.max(np.abs(phase.grad_w - gw)) < TOL
    assert (auto_b is not None) == biases
    for phase, gb in zip(phases, auto_b or [], strict=biases):
        assert np.max(np.abs(phase.grad_b - gb)) < TOL


def test_library_autograd_check_agrees_with_the_hand_derivation():
    net, x, d = random_mlp(3, [3, 4, 2], True)
    mine = neurons.mlp_gradient(net, x, d)
    auto_w, auto_b = neurons.autograd_mlp(net, x, d)
    assert max(np.max(np.abs(a - b)) for a, b in zip(mine.weights, auto_w, strict=True)) < TOL
    assert max(np.max(np.abs(a - b)) for a, b in zip(mine.biases, auto_b, strict=True)) < TOL
    w = neurons.walkthrough()
    assert w.autograd_max_abs_difference < TOL and w.two_by_two_max_abs_difference < TOL


def test_mlp_gradient_is_the_mean_of_the_per_example_autograd_gradients():
    net, _, _ = random_mlp(5, [3, 4, 2], True)
    rng = np.random.default_rng(6)
    inputs, desired = rng.uniform(-2, 2, (5, 3)), rng.uniform(0, 1, (5, 2))
    mine = neurons.mlp_gradient(net, inputs, desired)
    per_example = [torch_mlp(net, x, d) for x, d in zip(inputs, desired, strict=True)]
    for layer in range(2):
        mean_w = np.mean([w[layer] for w, _ in per_example], axis=0)
        mean_b = np.mean([b[layer] for _, b in per_example], axis=0)
        assert np.max(np.abs(mine.weights[layer] - mean_w)) < TOL
        assert np.max(np.abs(mine.biases[layer] - mean_b)) < TOL
    z = torch.tensor(inputs)
    for w, b in zip(net.weights, net.biases, strict=True):
        z = torch.sigmoid(z @ torch.tensor(w).T + torch.tensor(b))
    loss = float((0.5 * ((torch.tensor(desired) - z) ** 2).sum(1)).mean())
    assert abs(mine.loss - loss) < TOL


def test_mlp_shapes_are_validated():
    with pytest.raises(ConfigError, match="do not chain"):
        neurons.SigmoidMLP((np.ones((2, 3)), np.ones((2, 3))))
    with pytest.raises(ConfigError, match="one bias vector per layer"):
        neurons.SigmoidMLP((np.ones((2, 3)),), (np.ones(3),))
    with pytest.raises(ConfigError, match="widths \\(2, 2, 2\\)"):
        neurons.two_by_two_partials(neurons.SigmoidMLP((np.ones((1, 2)),)), (1, 1), (0,))


# ----------------------------------------------------------------------------- training


def test_gradient_descent_lowers_the_loss_of_both_nets():
    # With dL/dz = d - z these steps would climb the loss instead.
    f, curve = neurons.train_two_neuron(2.0, 0.9, 0.5, -0.4, learning_rate=2.0, steps=100)
    assert curve.losses[1] < curve.losses[0] and curve.last < curve.first / 100
    assert len(curve.losses) == 101 and f.loss == curve.last
    assert all(b <= a for a, b in itertools.pairwise(curve.losses))
    net = neurons.SigmoidMLP.random((2, 2, 2), np.random.default_rng(0))
    trained, curve22 = neurons.train_mlp(net, *neurons.swap_task(), steps=300)
    assert curve22.last < curve22.first / 100
    z = np.array([neurons.mlp_forward(trained, x)[-1] for x in neurons.swap_task()[0]])
    assert np.argmax(z, axis=1).tolist() == [1, 0]  # the swap was learnt


def test_training_with_biases_moves_them():
    f, curve = neurons.train_two_neuron(1.0, 0.2, 0.3, 0.3, b1=0.0, b2=0.0, steps=50)
    assert f.b1 != 0.0 and f.b2 != 0.0 and curve.last < curve.first


# ----------------------------------------------------------------------------- counting


def brute_force_paths(masks) -> int:
    sizes = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    return sum(
        all(m[b, a] for m, a, b in zip(masks, nodes, nodes[1:], strict=False))
        for nodes in itertools.product(*(range(n) for n in sizes))
    )


@settings(deadline=None, max_examples=60)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 4), min_size=2, max_size=5))
def test_path_counts_equal_brute_force_enumeration(seed, widths):
    rng = np.random.default_rng(seed)
    masks = [rng.random((n, m)) < 0.6 for m, n in itertools.pairwise(widths)]
    assert neurons.count_paths(masks) == brute_force_paths(masks)
    dense = neurons.dense_connections(widths)
    assert neurons.count_paths(dense) == brute_force_paths(dense) == math.prod(widths)


@pytest.mark.parametrize("widths", [(1, 1, 1), (2, 2, 2), (3, 2, 4, 1), (2, 3, 3, 3, 2), (1, 4)])
def test_counted_costs_equal_the_operations_actually_done(widths):
    net, x, d = random_mlp(sum(widths), list(widths), False)
    naive = neurons.path_sum_gradient(net, x, d)
    back = neurons.scalar_backprop_gradient(net, x, d)
    assert naive.multiplications == neurons.path_sum_multiply_adds(widths)
    assert back.multiplications == neurons.backprop_multiply_adds(widths)
    auto_w, _ = torch_mlp(net, x, d)
    for a, b, c in zip(naive.weights, back.weights, auto_w, strict=True):
        assert np.max(np.abs(a - c)) < TOL and np.max(np.abs(b - c)) < TOL


def test_cost_table_grows_as_claimed():
    t = neurons.cost_table()
    assert t.depths == tuple(range(1, 13)) and t.widths == tuple(range(1, 9))
    p = np.array(t.paths, dtype=object)
    assert all(
        p[i][j] == w ** (d + 1) for i, d in enumerate(t.depths) for j, w in enumerate(t.widths)
    )
    b = np.array(t.backprop)
    assert (np.diff(b, n=2, axis=0) == 0).all()  # linear in depth
    assert (np.diff(b, n=3, axis=1) == 0).all() and (np.diff(b, n=2, axis=1) > 0).all()
    assert t.path_sum[-1][-1] > 10**13 and t.backprop[-1][-1] == 1664
    assert (t.paths[0][0], t.backprop[1][0], t.path_sum[1][0]) == (1, 7, 8)  # two neurons


def test_timing_runs_only_where_the_path_sum_finishes():
    rows = neurons.time_gradients((2, 3), max_path_sum_multiply_adds=100_000, repeats=1)
    assert {r.width for r in rows} == {2, 3}
    assert all(r.path_sum_multiply_adds <= 100_000 for r in rows)
    deepest = max((r for r in rows if r.width == 2), key=lambda r: r.depth)
    assert deepest.depth == 10 and deepest.path_sum_multiply_adds == 73_756
    assert neurons.path_sum_multiply_adds((2,) * 12) > 100_000  # depth 11 is left out
    assert deepest.path_sum_s > deepest.backprop_s  # ~200x the work


# ----------------------------------------------------------------------------- walkthrough, CLI


def test_walkthrough_is_deterministic_and_json_ready():
    from fragility._io import to_json

    a, b = neurons.walkthrough(seed=1), neurons.walkthrough(seed=1)
    assert to_json(a.to_dict()) == to_json(b.to_dict())
    # The seed draws the 2x2 net's starting weights, so another seed trains another curve.
    assert neurons.walkthrough(seed=2).curves[1].losses != a.curves[1].losses
    assert a.to_dict()["two_neuron"]["sign"]["dL_dz"] < 0


def test_cli_prints_the_derivation(capsys):
    assert main(["neurons"]) == 0
    out = capsys.readouterr().out
    assert "= z - d" in out and "= -0.472589" in out and "dL/dw1" in out
    assert "only the last three factors are new" in out and "performance P = -L" in out
    assert "max |difference|" in out and "549755813888" in out


def test_cli_json_gives_the_same_as_data(capsys):
    assert main(["neurons", "--x", "1", "--d", "0.2", "--w1", "0.3", "--w2", "1.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    f = neurons.two_neuron_forward(1.0, 0.2, 0.3, 1.5)
    assert data["two_neuron"]["forward"]["z"] == f.z
    assert data["two_neuron"]["factors"]["dL_dw1"] == neurons.two_neuron_backward(f).dL_dw1
    assert data["two_neuron"]["autograd_max_abs_difference"] < TOL
    assert data["two_by_two"]["max_abs_difference"] < TOL
    assert data["cost"]["paths"][11][7] == 8**13
    assert len(data["training"]) == 2


def test_cli_out_writes_json_and_figures(tmp_path, capsys):
    out = tmp_path / "nrn"
    assert main(["neurons", "--b1", "0.1", "--out", str(out)]) == 0
    assert "dL/db1" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["neurons-loss.png", "neurons-paths.png", "neurons-timing.png", "neurons.json"]
    assert json.loads((out / "neurons.json").read_text())["timing"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--d", "2"], "--d: expected a desired output from 0 to 1"),
        (["--x", "nan"], "--x: expected a finite number"),
    ],
)
def test_cli_bad_argument_is_one_line_exit_2(capsys, argv, message):
    assert main(["neurons", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility neurons: error: ") and message in err
    assert err.count("\n") == 1


def test_appendix_section_builds_with_stable_metrics(digits):
    from fragility.report.section import FigureBlock, ReportContext
    from fragility.report.sections import appendix

    ctx = ReportContext(digits, {}, None, quick=True)
    a, b = appendix.build(ctx), appendix.build(ctx)
    assert (a.slug, a.title) == ("appendix", appendix.TITLE)
    assert json.dumps(a.metrics, sort_keys=True) == json.dumps(b.metrics, sort_keys=True)
    assert a.metrics["two_neuron"]["autograd_max_abs_difference"] < TOL
    assert a.metrics == neurons.walkthrough(seed=0).to_dict()  # neurons.json's names
    figs = [blk for blk in a.blocks if isinstance(blk, FigureBlock)]
    assert [f.name for f in figs] == ["neurons-loss", "neurons-paths", "neurons-timing"]
    assert all(f.png.startswith(b"\x89PNG") for f in figs)
    assert "549,755,813,888" in a.intro
