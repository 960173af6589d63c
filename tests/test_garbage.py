from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from torch import nn

from fragility import garbage as G
from fragility.cli import main
from fragility.errors import ConfigError, InputError
from fragility.garbage import cppn
from fragility.garbage.evolve import polynomial_delta
from fragility.garbage.retrain import with_garbage_class
from fragility.garbage.study import METHODS, parse_methods

# ---------------------------------------------------------------------------------------------
# Tiny models whose answers can be worked out by hand


class MeanModel(nn.Module):
    """Two classes with logits (10 (mean(x) - 0.5), 0): p_0 = sigmoid(10 (mean - 0.5))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.flatten(1).mean(1)
        return torch.stack([10.0 * (m - 0.5), torch.zeros_like(m)], dim=1)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _images_with_means(means: list[float]) -> torch.Tensor:
    return torch.tensor(means).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()


# ---------------------------------------------------------------------------------------------
# Noise survey


def test_survey_matches_a_hand_count():
    # means 0, 0.25, 0.6, 1 -> p_0 = sigmoid(-5), sigmoid(-2.5), sigmoid(1), sigmoid(5)
    x = _images_with_means([0.0, 0.25, 0.6, 1.0])
    conf = [1 - _sigmoid(-5), 1 - _sigmoid(-2.5), _sigmoid(1), _sigmoid(5)]  # 0.993 0.924 0.731
    row = G.survey(MeanModel(), {"fixed": x}).row("fixed")
    assert row.stats.share_above == {0.5: 1.0, 0.9: 0.75, 0.99: 0.5}
    assert row.stats.mean_confidence == pytest.approx(sum(conf) / 4, abs=1e-6)
    assert row.stats.class_counts == (2, 2)
    assert row.top_classes() == ((0, 0.5), (1, 0.5))
    d = row.to_dict(["dark", "light"])
    assert d["top_classes"][0] == {"class": 0, "name": "dark", "share": 0.5}


def test_noise_families_in_range_and_shaped(digits):
    fams = G.noise_families(
        50,
        (1, 8, 8),
        seed=1,
        test_images=digits.x_test,
        other_images=digits.x_train,
        unclipped=True,
    )
    assert set(fams) == {*G.FAMILIES, "gaussian-unclipped"}
    for name, x in fams.items():
        assert x.shape[1:] == (1, 8, 8) and x.dtype == torch.float32
        assert len(x) == (1 if name in ("black", "white") else 50)
        if name != "gaussian-unclipped":
            assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0, name
    assert float(fams["gaussian-unclipped"].min()) < 0 < 1 < float(fams["gaussian-unclipped"].max())
    # N(0, 1) clipped: half the pixels are exactly 0, about 16 % exactly 1
    g = fams["gaussian"]
    assert float((g == 0).float().mean()) == pytest.approx(0.5, abs=0.03)
    assert float((g == 1).float().mean()) == pytest.approx(0.1587, abs=0.03)
    assert set(torch.unique(fams["salt-and-pepper"]).tolist()) == {0.0, 0.5, 1.0}
    assert bool((fams["strokes"].flatten(1).amax(1) == 1.0).all())  # every image has a stroke


def test_other_data_comes_from_a_different_task():
    from fragility.garbage.noise import check_other_dataset, other_dataset

    def everything(name: str) -> bool:
        return True

    assert other_dataset("mnist", everything)[0] == "fashion-mnist"  # not digits: same task
    assert other_dataset("digits", everything)[0] == "fashion-mnist"
    assert other_dataset("svhn", everything)[0] == "fashion-mnist"  # house numbers are digits
    assert other_dataset("fashion-mnist", everything)[0] == "digits"
    assert other_dataset("cifar10", everything)[0] == "digits"
    name, why = other_dataset("mnist", lambda n: n in ("digits", "usps", "svhn"))
    assert name is None and "no dataset of a task other than handwritten digits" in why
    name, why = other_dataset("my-photos", everything)
    assert name is None and "not known" in why
    for same in ("mnist", "digits", "usps"):
        with pytest.raises(ConfigError, match="different task"):
            check_other_dataset("mnist", same)
    check_other_dataset("mnist", "kmnist")


def test_load_other_data_reads_the_chosen_task(tmp_path):
    from idx import fake_mnist

    from fragility.garbage.noise import load_other_data

    fake_mnist(tmp_path, n_test=20)  # IDX files: read as Fashion-MNIST from this folder
    bundle, note = load_other_data("mnist", str(tmp_path))
    assert bundle.name == "fashion-mnist" and len(bundle.x_test) == 20
    assert note == (
        "fashion-mnist test images (clothing), a different task from mnist (handwritten digits)"
    )
    bundle, note = load_other_data("fashion-mnist", str(tmp_path))
    assert bundle.name == "digits" and "digits test images (handwritten digits)" in note
    assert load_other_data("mnist", None, "none") == (None, "left out (--other-dataset none)")
    with pytest.raises(ConfigError, match="different task"):
        load_other_data("mnist", str(tmp_path), "digits")


def test_shuffled_images_keep_their_grey_levels(digits):
    gen = torch.Generator().manual_seed(0)
    x = digits.x_test[:20]
    s = G.noise.shuffle_pixels(x, gen)
    assert torch.equal(x.flatten(1).sort(1).values, s.flatten(1).sort(1).values)
    assert not torch.equal(x, s)


def test_survey_shares_lie_in_unit_interval(trained_cnn, digits):
    fams = G.noise_families(100, digits.input_shape, test_images=digits.x_test)
    result = G.survey(trained_cnn.model, fams)
    for row in result.rows:
        shares = list(row.stats.share_above.values())
        assert all(0.0 <= s <= 1.0 for s in shares)
        assert shares == sorted(shares, reverse=True)  # above 0.5 >= above 0.9 >= above 0.99
        assert sum(row.stats.class_counts) == row.stats.n
    json.dumps(result.to_dict(digits.class_names))


# ---------------------------------------------------------------------------------------------
# Gradient ascent


def test_ascent_reaches_the_target_for_every_class(trained_cnn, digits):
    r = G.ascent(trained_cnn.model, start="noise", shape=digits.input_shape, seed=0)
    assert r.all_reached and r.classes == tuple(range(10))
    assert (r.confidence >= 0.9999).all() and r.predicted == r.classes
    assert 0 < max(r.steps) < 1000
    assert float(r.images.min()) >= 0.0 and float(r.images.max()) <= 1.0
    # same seed, same images
    again = G.ascent(trained_cnn.model, start="noise", shape=digits.input_shape, seed=0)
    assert torch.equal(r.images, again.images)


def test_more_images_than_slots_climb_in_refilled_slots(trained_cnn, digits):
    from fragility.attacks.core import DEFAULT_BATCH

    n = DEFAULT_BATCH + 4  # the last four wait for a slot
    start = torch.rand((1, *digits.input_shape), generator=torch.Generator().manual_seed(3))
    r = G.ascent(trained_cnn.model, [3] * n, start=start.expand(n, -1, -1, -1), max_steps=40)
    assert all(torch.equal(image, r.images[0]) for image in r.images)  # one climb, n times
    assert len(set(r.steps)) == 1 and r.confidence.min() == r.confidence.max()


def test_ascent_respects_the_distance_bound(trained_cnn, digits):
    r = G.ascent(trained_cnn.model, start="grey", shape=digits.input_shape, eps=0.1, max_steps=50)
    assert r.linf_from_start.max() <= 0.1 + 1e-6
    assert (r.linf_from_start > 0.05).all()  # it did move


def test_autoencoder_term_moves_the_reconstruction_error(trained_cnn, trained_autoencoder, digits):
    ae = trained_autoencoder.model
    errors = {}
    for weight in (-200.0, 0.0, 200.0):
        r = G.ascent(
            trained_cnn.model,
            start="noise",
            shape=digits.input_shape,
            autoencoder=ae,
            recon_weight=weight,
            max_steps=300,
        )
        errors[weight] = G.reconstruction_error(ae, r.images).mean()
    assert errors[-200.0] < errors[0.0] < errors[200.0]


def test_ascent_rejects_bad_input(trained_cnn):
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        G.ascent(trained_cnn.model, [0], start=torch.full((1, 1, 8, 8), 2.0))
    with pytest.raises(ConfigError, match="autoencoder"):
        G.ascent(trained_cnn.model, start="noise", shape=(1, 8, 8), recon_weight=1.0)
    with pytest.raises(InputError, match="0 to 9"):
        G.ascent(trained_cnn.model, [10], start="noise", shape=(1, 8, 8))


# ---------------------------------------------------------------------------------------------
# Evolution


@pytest.mark.parametrize("encoding", [G.DirectEncoding(), G.CPPNEncoding()], ids=["direct", "cppn"])
def test_archive_never_gets_worse_and_improves(trained_cnn, digits, encoding):
    r = G.evolve(
        trained_cnn.model,
        encoding,
        digits.input_shape,
        generations=15,
        population=100,
        stop_at_target=False,
        seed=0,
    )
    h = r.history_log_prob
    assert h.shape == (16, 10)
    assert (np.diff(h, axis=0) >= 0).all()  # elites are only ever replaced by better ones
    assert (h[-1] > h[0]).all()  # and every class improved on the best random start:
    log_error = np.log(-np.expm1(h))  # log(1 - p): the distance from certainty
    assert log_error[-1].mean() < log_error[0].mean() - 1.0
    assert r.images.shape == (10, 1, 8, 8)
    assert float(r.images.min()) >= 0.0 and float(r.images.max()) <= 1.0
    # the archive's numbers are the model's numbers for its images
    p = torch.softmax(trained_cnn.model(r.images).double(), 1).diagonal().detach().numpy()
    assert p == pytest.approx(r.confidence, rel=1e-5)
    assert r.curve("worst")[-1] == pytest.approx(r.confidence.min())


def test_direct_evolution_fools_every_class(trained_cnn, digits):
    r = G.evolve(trained_cnn.model, G.DirectEncoding(), digits.input_shape, population=200, seed=0)
    assert r.all_reached and (r.confidence >= 0.9999).all()
    assert r.generations == r.generations_to_all < 200  # stopped once every class got there
    d = r.to_dict(digits.class_names)
    assert d["generations_to_all"] == r.generations and len(d["per_class"]) == 10


def test_parents_go_to_classes_below_the_target():
    from fragility.garbage.evolve import _parents

    reached = [0, None, 3, None]
    assert _parents(reached, 5, focus=True).tolist() == [1, 3, 1, 3, 1]
    assert _parents(reached, 5, focus=False).tolist() == [0, 1, 2, 3, 0]
    assert _parents([1, 2, 3, 4], 4, focus=True).tolist() == [0, 1, 2, 3]  # all there: everyone


def test_same_seed_same_images(trained_cnn, digits):
    def run(seed: int) -> G.EvolutionResult:
        return G.evolve(
            trained_cnn.model,
            G.CPPNEncoding(),
            digits.input_shape,
            generations=5,
            population=50,
            seed=seed,
        )

    a, b, c = run(7), run(7), run(8)
    assert torch.equal(a.images, b.images)
    assert np.array_equal(a.history_log_prob, b.history_log_prob)
    assert not torch.equal(a.images, c.images)


def test_evolution_collects_fooling_children(trained_cnn, digits):
    r = G.evolve(
        trained_cnn.model,
        G.DirectEncoding(),
        digits.input_shape,
        generations=10,
        population=100,
        collect_above=0.9,
        collect_max=40,
        seed=0,
    )
    assert r.collected is not None and 0 < len(r.collected) <= 40
    conf = torch.softmax(trained_cnn.model(r.collected), 1).amax(1)
    assert bool((conf >= 0.9 - 1e-5).all())


def test_polynomial_mutation():
    u = np.linspace(0.0, 0.999, 1000)
    d = polynomial_delta(u, 15.0)
    assert polynomial_delta(np.array([0.5]), 15.0)[0] == 0.0
    assert d[0] == -1.0 and (np.abs(d) <= 1).all() and (np.diff(d) >= 0).all()  # monotone
    assert polynomial_delta(np.array([0.25]), 15.0)[0] == pytest.approx(0.5 ** (1 / 16) - 1)
    enc = G.DirectEncoding()
    assert enc.rate_at(0) == 0.1 and enc.rate_at(999) == 0.1 and enc.rate_at(1000) == 0.05
    rng = np.random.default_rng(0)
    parents = enc.initial(200, (1, 8, 8), rng)
    child = enc.mutate(parents, 1, rng)
    assert float((child != parents).mean()) == pytest.approx(0.1, abs=0.01)
    assert child.min() >= 0.0 and child.max() <= 1.0
    black = G.DirectEncoding(start="black").initial(3, (1, 8, 8), rng)
    assert black.shape == (3, 1, 8, 8) and not black.any()
    with pytest.raises(ConfigError, match="start"):
        G.DirectEncoding(start="grey")


def test_evolution_rejects_bad_settings(trained_cnn):
    with pytest.raises(ConfigError, match="population"):
        G.evolve(trained_cnn.model, G.DirectEncoding(), (1, 8, 8), population=5)
    with pytest.raises(ConfigError, match="target"):
        G.evolve(trained_cnn.model, G.DirectEncoding(), (1, 8, 8), target=1.0)
    with pytest.raises(ConfigError, match="classes"):
        G.evolve(trained_cnn.model, G.DirectEncoding(), (1, 8, 8), classes=[3, 12])


# ---------------------------------------------------------------------------------------------
# CPPNs


def _population(n: int = 30, seed: int = 0, rounds: int = 10) -> cppn.CPPNBatch:
    enc = G.CPPNEncoding()
    rng = np.random.default_rng(seed)
    b = enc.initial(n, (1, 8, 8), rng)
    for g in range(rounds):
        b = enc.mutate(b, g, rng)
    return b


def test_cppn_render_is_deterministic_and_resolution_independent():
    b = _population()
    small, small_again = cppn.render(b, 8), cppn.render(b, 8)
    assert torch.equal(small, small_again)
    assert small.shape == (30, 1, 8, 8)
    assert float(small.min()) >= 0.0 and float(small.max()) <= 1.0
    # The 24x24 render's pixel centres (3i + 1, 3j + 1) are the 8x8 render's centres.
    big = cppn.render(b, 24)
    torch.testing.assert_close(big[..., 1::3, 1::3], small, atol=1e-6, rtol=0)
    # ... and any point can be evaluated: the centre of the 8x8 pixel (2, 5)
    x, y = torch.tensor([(2 * 5 + 1) / 8 - 1]), torch.tensor([(2 * 2 + 1) / 8 - 1])
    at = cppn.evaluate_at(b, cppn.coordinates(x, y))
    torch.testing.assert_close(at[:, :, 0], small[:, :, 2, 5], atol=1e-6, rtol=0)
    # a non-square render evaluates the same function on a different grid
    assert cppn.render(b, 8, 16).shape == (30, 1, 8, 16)


def test_cppn_known_answer():
    # A hand-built network: out = sigmoid(3 * sin(2x) - d)
    enc = G.CPPNEncoding(initial_nodes=0)
    b = enc.initial(1, (1, 8, 8), np.random.default_rng(0))
    w = np.zeros_like(b.weight)
    linked = np.zeros_like(b.linked)
    hidden, out = cppn.N_IN + 1, cppn.N_IN
    w[0, hidden, 0], w[0, out, hidden], w[0, out, 2] = 2.0, 3.0, -1.0
    linked[w != 0] = True
    act, depth, used = b.activation.copy(), b.depth.copy(), b.used.copy()
    act[0, hidden] = cppn.ACTIVATIONS.index("sine")
    depth[0, hidden], used[0, hidden] = 0.5, True
    net = cppn.CPPNBatch(w, linked, act, depth, used, 1)
    img = cppn.render(net, 4)[0, 0].double()
    c = (2 * torch.arange(4, dtype=torch.float64) + 1) / 4 - 1
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    expected = torch.sigmoid(3 * torch.sin(2 * xx) - torch.sqrt(xx**2 + yy**2) / math.sqrt(2))
    torch.testing.assert_close(img, expected, atol=1e-6, rtol=0)


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 2**32 - 1))
def test_cppn_mutation_keeps_networks_feed_forward(seed):
    b = _population(n=8, seed=seed, rounds=25)
    for p in range(len(b)):
        j, i = np.nonzero(b.linked[p])
        assert (b.depth[p, i] < b.depth[p, j]).all()  # every link runs forward: acyclic
        assert b.used[p, i].all() and b.used[p, j].all()
        assert (b.weight[p][~b.linked[p]] == 0).all()
        assert (np.abs(b.weight[p]) <= G.CPPNEncoding().weight_limit).all()
    hidden, links = b.sizes()
    assert (hidden <= G.CPPNEncoding().max_hidden).all() and (links >= 1).all()
    json.dumps(b.describe(0))


# ---------------------------------------------------------------------------------------------
# Detectors, distances, transfer


def test_ood_aurocs_match_scikit_learn():
    # no two means at the same distance from 0.5: no ties for float rounding to break
    x_in = _images_with_means([0.9, 0.83, 0.1, 0.62, 1.0])
    x_out = _images_with_means([0.5, 0.3, 0.96, 0.41])
    rows = G.ood_baseline(MeanModel(), x_in, {"fixed": x_out})
    (row,) = rows
    msp = lambda m: max(_sigmoid(10 * (m - 0.5)), 1 - _sigmoid(10 * (m - 0.5)))  # noqa: E731
    scores = [msp(m) for m in (0.9, 0.83, 0.1, 0.62, 1.0, 0.5, 0.3, 0.96, 0.41)]
    labels = [1] * 5 + [0] * 4
    assert row.auroc_max_softmax == pytest.approx(roc_auc_score(labels, scores))
    assert row.auroc_autoencoder is None and row.better_detector is None


def test_autoencoder_auroc_matches_scikit_learn(trained_autoencoder, digits):
    ae = trained_autoencoder.model
    x_in = digits.x_test[:40]
    x_out = torch.rand((30, *digits.input_shape), generator=torch.Generator().manual_seed(0))
    (row,) = G.ood_baseline(MeanModel(), x_in, {"uniform": x_out}, ae)
    err = np.concatenate([G.reconstruction_error(ae, x_in), G.reconstruction_error(ae, x_out)])
    with torch.no_grad():  # the error is mean((A(x) - x)^2) per image
        by_hand = (ae(x_in) - x_in).pow(2).flatten(1).mean(1).double().numpy()
    assert err[:40] == pytest.approx(by_hand, rel=1e-6)
    assert G.reconstruction_error(ae, x_in[:0]).shape == (0,)
    labels = [1] * 40 + [0] * 30
    assert row.auroc_autoencoder == pytest.approx(roc_auc_score(labels, -err))
    assert row.auroc_autoencoder > 0.95  # noise is far from what the autoencoder learnt


def test_nearest_distance_by_brute_force():
    gen = torch.Generator().manual_seed(0)
    q, ref = torch.rand(5, 1, 3, 3, generator=gen), torch.rand(17, 1, 3, 3, generator=gen)
    expected = [min(float(((a.double() - b.double()) ** 2).mean()) for b in ref) ** 0.5 for a in q]
    assert G.nearest_rms_distance(q, ref, chunk=4) == pytest.approx(expected, rel=1e-9)
    assert G.nearest_rms_distance(ref[:3], ref) == pytest.approx([0.0, 0.0, 0.0], abs=1e-7)


def test_transfer_counts_the_other_models_labels(trained_cnn, trained_mlp, digits):
    r = G.ascent(trained_cnn.model, start="noise", shape=digits.input_shape)
    same = G.transfer(r.images, r.classes, trained_cnn.model)
    assert same.same_class == 1.0 and same.share_above(0.9999) == 1.0
    other = G.transfer(r.images, r.classes, trained_mlp.model)
    p = torch.softmax(trained_mlp.model(r.images), 1).detach()
    assert other.same_class == pytest.approx(float((p.argmax(1) == torch.arange(10)).sum()) / 10)
    assert other.confidence == pytest.approx(p.diagonal().numpy(), rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Retraining with a garbage class


def test_garbage_class_bundle(digits):
    garbage = torch.rand(20, *digits.input_shape, generator=torch.Generator().manual_seed(0))
    b = with_garbage_class(digits, garbage, heldout=0.25)
    assert b.class_names[-1] == "garbage" and b.num_classes == 11
    assert int((b.y_train == 10).sum()) == 15 and int((b.y_test == 10).sum()) == 5
    assert len(b.x_train) == len(digits.x_train) + 15 and b.hash != digits.hash


def test_retraining_experiment(trained_mlp, digits):
    from fragility.train import TrainConfig

    r = G.retrain_with_garbage_class(
        trained_mlp.spec,
        digits,
        trained_mlp.model,
        G.DirectEncoding(),
        target=0.99,
        generations=30,
        population=100,
        garbage_images=100,
        config=TrainConfig(epochs=15, batch_size=32, lr=1e-2),
    )
    assert r.trained.spec.num_classes == 11 and r.garbage_images == 100
    assert r.real_test_accuracy > 0.85
    assert r.heldout_caught >= 0.9  # it learns to spot this kind of garbage ...
    assert r.after.classes == tuple(range(10))  # ... and is evolved against on real classes
    json.dumps(r.to_dict(digits.class_names))


# ---------------------------------------------------------------------------------------------
# The command


def test_a_study_is_pure_and_its_timings_are_kept_apart(trained_mlp, digits):
    from fragility._io import to_json
    from fragility._timing import Timings
    from fragility.garbage.study import StudyConfig, run_study

    cfg = StudyConfig(
        methods=("survey", "ascent", "evolve-direct"),
        samples=20,
        ascent_steps=20,
        generations=3,
        population=20,
        reference_images=20,
    )
    timings = Timings()
    first = run_study(trained_mlp.model, digits, cfg, timings=timings)
    second = run_study(trained_mlp.model, digits, cfg)
    assert to_json(first.to_dict()) == to_json(second.to_dict())  # same seed, same JSON
    assert list(timings.to_dict()) == ["survey", "ascent", "ceiling", "evolve-direct", "judge"]
    assert all(s > 0 for s in timings.to_dict().values())
    assert "seconds" not in to_json(first.to_dict())


def test_parse_methods():
    assert parse_methods("all") == METHODS
    assert parse_methods("ascent,survey,ascent") == ("ascent", "survey")
    with pytest.raises(ConfigError, match="unknown method bogus"):
        parse_methods("survey,bogus")
    with pytest.raises(ConfigError, match="unknown method bogus"):
        G.StudyConfig(methods=("survey", "bogus"))
    with pytest.raises(ConfigError, match=r"unknown method \(none\)"):
        G.StudyConfig(methods=())


def test_cli_end_to_end(tmp_path, capsys):
    ck = tmp_path / "cnn"
    assert main(["train", "--model", "cnn", "--quiet", "--out", str(ck)]) == 0
    out = tmp_path / "garbage"
    argv = ["garbage", "--checkpoint", str(ck), "--method", "survey,ascent,evolve-direct"]
    argv += ["--generations", "60", "--population", "100", "--samples", "200"]
    argv += ["--other-dataset", "none", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "gradient ascent" in printed and "10/10" in printed
    report = json.loads((out / "garbage.json").read_text())
    assert report["ascent"]["all_reached"] is True
    assert all(c["confidence"] >= 0.9999 for c in report["ascent"]["per_class"])
    assert report["evolve-cppn"] is None and report["retrain"] is None
    assert report["evolve-direct"]["classes_reached"] == 10
    families = list(report["survey"]["families"])
    assert {"test", "uniform"} <= set(families) and "other-data" not in families
    assert report["other_data"] == {"dataset": None, "note": "left out (--other-dataset none)"}
    # one name per method: the same keys name the images among the garbage families
    assert {"ascent", "evolve-direct"} <= set(report["ood"]) & set(report["unrecognisability"])
    assert report["ood"]["ascent"]["auroc_autoencoder"] is not None
    assert set(report["seconds"]) == {"survey", "ascent", "ceiling", "evolve-direct", "judge"}
    assert {p.name for p in out.glob("*.png")} >= {"fooling.png", "survey.png", "detectors.png"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "bogus"], "unknown method bogus"),
        (["--autoencoder", "{tmp}/missing"], "no checkpoint folder"),
        (["--other-dataset", "usps"], "must come from a different task"),
    ],
)
def test_cli_user_errors_exit_2(tmp_path, capsys, trained_cnn, extra, message):
    from fragility import train

    ck = tmp_path / "ck"
    train.save(ck, trained_cnn.model, trained_cnn.spec, trained_cnn.metrics)
    argv = ["garbage", "--checkpoint", str(ck), "--quiet", "--out", str(tmp_path / "o")]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_cli_bad_argument_exits_2(capsys):
    assert main(["garbage", "--checkpoint", "x", "--target", "1.5", "--out", "y"]) == 2
    assert "strictly between 0 and 1" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The report section


def test_report_section(quick_context, trained_autoencoder):
    from fragility._io import to_json
    from fragility.report.sections import garbage as section

    ctx = dataclasses.replace(quick_context, autoencoder=trained_autoencoder)
    s = section.build(ctx)
    assert (s.slug, s.title) == ("garbage", "Confident garbage") == (section.SLUG, section.TITLE)
    assert [f.name for f in s.figures] == [
        "garbage-families",
        "garbage-fooling",
        "garbage-evolution",
    ]
    assert all(f.png.startswith(b"\x89PNG") for f in s.figures)
    cnn = s.metrics["models"]["cnn"]
    assert cnn["ascent"]["classes_reached"] == 10
    assert cnn["ood"]["ascent"]["auroc_autoencoder"] > 0.9
    mlp = s.metrics["models"]["mlp"]
    # the digits MLP: proved out of reach for every class; the CNN's ceiling allows it
    assert mlp["confidence_ceiling"]["unreachable"] == list(range(10))
    assert cnn["confidence_ceiling"]["unreachable"] == []
    assert cnn["confidence_ceiling"]["reached"] == list(range(10))
    # the section's numbers are the study's, under the names garbage.json uses
    assert set(cnn) >= {"survey", "ascent", "evolve-direct", "evolve-cppn", "ood", "transfer"}
    assert cnn["transfer_model"] == "mlp" and s.metrics["settings"]["target"] == 0.9999
    assert "Quick run" in s.intro and "99.99 %" in s.intro
    assert section.build(ctx).metrics == s.metrics  # same seed, same numbers
    to_json(s.metrics)  # JSON without NaN


def test_report_section_without_autoencoder(quick_context):
    from fragility.report.sections import garbage as section

    s = section.build(quick_context)
    assert s.metrics["settings"]["autoencoder"] is False
    assert all(o["auroc_autoencoder"] is None for o in s.metrics["models"]["cnn"]["ood"].values())
    assert any("No autoencoder" in b.text for b in s.blocks if hasattr(b, "text"))


class _DarkOnly(torch.nn.Module):
    """Class 1 wins only on dark images: logit 20 * relu(0.2 - mean(x)), class 0 fixed at 0.
    From uniform noise (mean 0.5) the gradient is exactly zero; from a black image p(1) is
    1 / (1 + e^-4) = 98.2 % at once."""

    def forward(self, x):
        dark = 20 * torch.relu(0.2 - x.flatten(1).mean(1))
        return torch.stack([torch.zeros_like(dark), dark], 1)


def test_ascent_stops_a_stuck_image_and_restarts_it():
    from fragility.garbage.ascent import PATIENCE

    model = _DarkOnly()
    stuck = G.ascent(model, [1], start="noise", shape=(1, 4, 4), target=0.9, max_steps=500)
    assert stuck.stalled == (True,) and stuck.restarted == (False,)
    assert stuck.reached == (False,) and stuck.steps[0] == PATIENCE + 1
    again = G.ascent(
        model, [1], start="noise", shape=(1, 4, 4), target=0.9, max_steps=500, restart="blank"
    )
    assert again.restarted == (True,) and again.stalled == (False,) and again.reached == (True,)
    assert float(again.start.max()) == 0.0  # the start it climbed from is the black image
    assert abs(float(again.confidence[0]) - 1 / (1 + math.exp(-4))) < 1e-6
    with pytest.raises(ConfigError, match="restart"):
        G.ascent(model, [1], start="noise", shape=(1, 4, 4), restart="sky")


def test_a_restart_leaves_the_callers_start_images_alone():
    start = torch.full((1, 1, 4, 4), 0.5)
    r = G.ascent(_DarkOnly(), [1], start=start, target=0.9, max_steps=500, restart="blank")
    assert r.restarted == (True,) and float(r.start.max()) == 0.0
    assert torch.equal(start, torch.full((1, 1, 4, 4), 0.5))


def test_results_name_classes_by_their_number_without_names():
    # cells out of order: each is named by its own number, not by its position
    r = G.evolve(
        MeanModel(), G.DirectEncoding(), (1, 2, 2), generations=0, population=2, classes=[1, 0]
    )
    assert [c["name"] for c in r.to_dict()["per_class"]] == ["1", "0"]
    assert [c["name"] for c in r.to_dict(["dark", "light"])["per_class"]] == ["light", "dark"]
    a = G.ascent(MeanModel(), [1, 0], start="grey", shape=(1, 2, 2), max_steps=0)
    assert [c["name"] for c in a.to_dict()["per_class"]] == ["1", "0"]
