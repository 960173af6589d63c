from __future__ import annotations

import colorsys
import dataclasses
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from fragility import shortcut as sc
from fragility.cli import main
from fragility.errors import ConfigError
from fragility.report.section import FigureBlock, ReportContext
from fragility.report.sections import shortcut as section

SHAPE = (1, 8, 8)
EPOCHS = 10  # a quarter of the default: the shortcut is learned just the same, in 0.3 s


@pytest.fixture(scope="module")
def stripes():
    return sc.Cue("stripes", SHAPE, 10)


# -- the cue ----------------------------------------------------------------------------------


def test_stripes_are_zebra_bars_at_distinct_border_spots(stripes):
    assert stripes.patch == 3
    spots = stripes.positions()
    assert len(set(spots)) == 10
    assert all(r in (0, 5) or c in (0, 5) for r, c in spots)  # on the border
    values, mask = stripes.pattern(0)
    r, c = spots[0]
    assert values[0, r : r + 3, c : c + 3].tolist() == [[1, 1, 1], [0, 0, 0], [1, 1, 1]]
    assert int(mask.sum()) == 9 and float(values.sum()) == 6.0
    patterns = [tuple(stripes.pattern(k)[0].flatten().tolist()) for k in range(10)]
    assert len(set(patterns)) == 10


@pytest.mark.parametrize("kind", sc.CUES)
def test_each_cue_is_class_specific_and_stays_in_range(kind, digits):
    cue = sc.Cue(kind, SHAPE, 10)
    x = digits.x_test[:20]
    out = cue.apply(x, torch.arange(20) % 10)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    blanks = cue.apply(torch.zeros(10, *SHAPE), torch.arange(10))
    assert len({tuple(b.flatten().tolist()) for b in blanks}) == 10
    untouched = cue.apply(x, torch.full((20,), -1))
    assert torch.equal(untouched, x)


def test_texture_and_tint_keep_the_ink(digits):
    x = digits.x_test[:5]
    ink = x > 0.5
    for kind in ("texture", "tint"):
        out = sc.Cue(kind, SHAPE).apply(x, torch.full((5,), 9))
        assert torch.all(out[ink] >= x[ink])
    tint = sc.Cue("tint", SHAPE).apply(torch.zeros(1, *SHAPE), torch.tensor([9]))
    assert torch.allclose(tint, torch.full_like(tint, 0.35))  # 0.05 + 0.3 * 9 / 9


@pytest.fixture(scope="module")
def colour_digits(digits):
    """The digits in colour: each image's ink in a random colour on a random dark background,
    so that no channel is blank and the cue has a photo-like image to lie on."""
    g = torch.Generator().manual_seed(0)

    def paint(x):
        ink = torch.rand(len(x), 3, 1, 1, generator=g) * 0.5 + 0.5
        ground = torch.rand(len(x), 3, 1, 1, generator=g) * 0.3
        return ground + (ink - ground) * x

    return dataclasses.replace(
        digits, x_train=paint(digits.x_train), x_test=paint(digits.x_test), hash="colour"
    )


def test_colour_cues_lie_over_the_whole_picture(colour_digits):
    shape = (3, 8, 8)
    tint = sc.Cue("tint", shape, 10)
    x = colour_digits.x_test[:4]
    out = tint.apply(x, torch.tensor([0, 3, 6, 9]))
    # Hues evenly spaced around the wheel: class k gets hue k / 10 (HSV, full saturation).
    hue = torch.tensor([colorsys.hsv_to_rgb(k / 10, 1.0, 1.0) for k in (0, 3, 6, 9)])
    assert torch.allclose(out, 0.7 * x + 0.3 * hue.view(4, 3, 1, 1), atol=1e-6)
    texture = sc.Cue("texture", shape, 10)
    values, _ = texture.pattern(2)
    grey = torch.full((1, *shape), 0.5)
    laid = texture.apply(grey, torch.tensor([2]))
    assert torch.allclose(laid[0], 0.5 + values - 0.2)  # a grating around zero, +-0.2
    for cue in (tint, texture):
        assert bool(cue.region(4, x[0]).all())  # everywhere, whatever the image
    stripes = sc.Cue("stripes", shape, 10)
    patched = stripes.apply(x, torch.full((4,), 1))
    _, mask = stripes.pattern(1)
    assert torch.equal(patched[:, :, mask == 0], x[:, :, mask == 0])  # the photo elsewhere


@pytest.mark.parametrize("kind", ["stripes", "tint"])
def test_a_colour_model_learns_a_colour_cue(colour_digits, kind):
    cue = sc.Cue(kind, (3, 8, 8), 10)
    r = sc.train_cued("mlp", colour_digits, cue, 1.0, seed=0, epochs=EPOCHS)
    assert r.test.wrong_follows_cue > 0.6  # chance: 0.1
    assert r.test.blank_follows_cue >= 0.6


def test_bad_cues_are_config_errors():
    with pytest.raises(ConfigError, match="unknown cue 'zebra'"):
        sc.Cue("zebra", SHAPE)
    with pytest.raises(ConfigError, match="too small"):
        sc.Cue("stripes", (1, 4, 4))
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        sc.cue_classes(torch.zeros(3, dtype=torch.long), 10, 1.5)


# -- planting ---------------------------------------------------------------------------------


@settings(deadline=None, max_examples=20)
@given(correlation=st.floats(0.0, 1.0), seed=st.integers(0, 2**31 - 1))
def test_planting_is_seeded_exact_per_class_and_in_range(digits, stripes, correlation, seed):
    y = digits.y_train
    classes = sc.cue_classes(y, 10, correlation, seed=seed)
    assert torch.equal(classes, sc.cue_classes(y, 10, correlation, seed=seed))
    for k in range(10):
        members = y == k
        assert int((classes[members] == k).sum()) == round(correlation * int(members.sum()))
        assert bool(((classes[members] == k) | (classes[members] == -1)).all())
    cued = sc.plant(digits, stripes, correlation, seed=seed)
    assert float(cued.x_train.min()) >= 0.0 and float(cued.x_train.max()) <= 1.0
    same = classes == -1
    assert torch.equal(cued.x_train[same], digits.x_train[same])
    assert torch.equal(cued.x_test, digits.x_test)


def test_placement_depends_on_the_seed_and_correlation_zero_changes_nothing(digits, stripes):
    a = sc.cue_classes(digits.y_train, 10, 0.5, seed=0)
    b = sc.cue_classes(digits.y_train, 10, 0.5, seed=1)
    assert not torch.equal(a, b)
    clean = sc.plant(digits, stripes, 0.0)
    assert clean.hash == digits.hash and torch.equal(clean.x_train, digits.x_train)
    assert sc.plant(digits, stripes, 0.5).hash != digits.hash


def test_remedies_break_the_correlation(digits):
    y = digits.y_train
    for remedy in sc.REMEDIES:
        classes = sc.cue_classes(y, 10, 1.0, seed=0, remedy=remedy)
        agree = float((classes == y).float().mean())
        assert agree < 0.2, remedy  # about 1 in 10 by construction, not 1
    balanced = sc.cue_classes(y, 10, 1.0, seed=0, remedy="balance")
    for k in range(10):
        counts = torch.bincount(balanced[y == k], minlength=10)
        assert int(counts.max() - counts.min()) <= 1  # every cue equally often in every class


# -- the four tests on a model whose answers are known -----------------------------------------


class _PatchReader(nn.Module):
    """Reads the patch only: the score of class k is minus the squared difference between the
    image and k's cue inside k's patch. It always follows the cue."""

    def __init__(self, cue: sc.Cue) -> None:
        super().__init__()
        pats = [cue.pattern(k) for k in range(cue.num_classes)]
        self.register_buffer("values", torch.stack([v for v, _ in pats]))  # (K, C, H, W)
        self.register_buffer("masks", torch.stack([m for _, m in pats]))  # (K, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        diff = (x.unsqueeze(1) - self.values.unsqueeze(0)).pow(2).sum(2)  # (N, K, H, W)
        return -(diff * self.masks).flatten(2).sum(2)


def test_four_tests_on_a_model_that_reads_only_the_patch(digits, stripes):
    t = sc.evaluate_cue(_PatchReader(stripes).eval(), digits, stripes, seed=0)
    assert t.matching_accuracy == 1.0
    assert t.wrong_follows_cue == 1.0 and t.wrong_accuracy == 0.0
    assert t.blank_follows_cue == 1.0
    assert t.clean_accuracy < 0.3
    wrong = sc.wrong_cue_classes(digits.y_test, 10, seed=0)
    assert not bool((wrong == digits.y_test).any())


# -- training: the shortcut is learned, and unlearned -----------------------------------------


def test_full_correlation_makes_the_model_follow_a_wrong_cue(digits, stripes):
    r = sc.train_cued("mlp", digits, stripes, 1.0, seed=0, epochs=EPOCHS)
    # Measured 94.2 % of wrong-cue test digits named after the cue (chance: 10 %), and the
    # cue alone read as its class 10 times out of 10.
    assert r.test.wrong_follows_cue > 0.75
    assert r.test.blank_follows_cue >= 0.8
    assert r.test.matching_accuracy > 0.98
    assert r.test.clean_accuracy < 0.7  # measured 51.6 %: without the cue it is lost


def test_zero_correlation_does_not_follow_the_cue(digits, stripes):
    r = sc.train_cued("mlp", digits, stripes, 0.0, seed=0, epochs=EPOCHS)
    assert r.test.wrong_follows_cue < 0.1  # measured 2.9 %, below chance
    assert r.test.clean_accuracy > 0.9


def test_the_remedy_lowers_cue_following(digits, stripes):
    cued = sc.train_cued("mlp", digits, stripes, 0.9, seed=0, epochs=EPOCHS)
    fixed = sc.train_cued("mlp", digits, stripes, 0.9, seed=0, epochs=EPOCHS, remedy="randomise")
    # Measured 78.4 % against 1.1 %.
    assert cued.test.wrong_follows_cue > 0.5
    assert fixed.test.wrong_follows_cue < 0.1
    assert fixed.test.wrong_follows_cue < cued.test.wrong_follows_cue / 4
    assert fixed.test.clean_accuracy > cued.test.clean_accuracy


def test_study_evidence_and_json(digits, stripes):
    s = sc.study(["mlp"], digits, stripes, 1.0, sweep_correlations=(0.0, 1.0), epochs=EPOCHS)
    lesson = s.lessons["mlp"]
    assert set(lesson.runs) == {"clean", "cued", "remedy"}
    # The cued MLP's class maxima draw their own stripes; the clean one's do not.
    assert lesson.maxima_cue_match["cued"] > lesson.maxima_cue_match["clean"] + 0.2
    assert 0.1 < lesson.saliency["cued"]["cue_area"] < 0.2  # 9 of 64 pixels
    d = json.loads(json.dumps(s.to_dict()))
    assert [p["correlation"] for p in d["sweep"]] == [0.0, 1.0]
    assert d["models"]["mlp"]["runs"]["cued"]["wrong_follows_cue"] > 0.75
    # how a model was made (cache, time) is the manifest's, not the result's
    assert not {"from_cache", "train_seconds"} & set(d["sweep"][0])


# -- command line and report --------------------------------------------------------------------


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "sc"
    argv = ["shortcut", "--epochs", str(EPOCHS), "--correlation", "1", "--quiet"]
    assert main([*argv, "--sweep", "--correlations", "0,1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "follows wrong cue" in printed and "stripes cue on digits" in printed
    d = json.loads((out / "shortcut.json").read_text())
    assert d["correlation"] == 1.0 and d["cue"]["kind"] == "stripes"
    made = {(t["model"], t["correlation"], t["remedy"]) for t in d["training"]}
    assert made == {("mlp", 0.0, None), ("mlp", 1.0, None), ("mlp", 1.0, "randomise")}
    assert all(t["train_seconds"] > 0 or t["from_cache"] for t in d["training"])
    assert d["models"]["mlp"]["runs"]["cued"]["wrong_follows_cue"] > 0.75
    assert {p.name for p in out.glob("*.png")} == {
        "examples.png",
        "tests-mlp.png",
        "saliency-mlp.png",
        "maxima-mlp.png",
        "sweep.png",
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["--correlation", "1.5"],
        ["--cue", "zebra"],
        ["--model", "rnn"],
        ["--correlations", "0,x"],
    ],
)
def test_cli_bad_arguments_exit_2(argv):
    assert main(["shortcut", *argv, "--out", "never"]) == 2


def test_cli_out_of_range_sweep_is_one_line(tmp_path, capsys):
    argv = ["shortcut", "--sweep", "--correlations", "0,2", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility shortcut: error: argument --correlations: expected shares")
    assert err.count("\n") == 1


def test_report_section(digits, trained_mlp):
    ctx = ReportContext(data=digits, classifiers={"mlp": trained_mlp}, autoencoder=None, quick=True)
    s = section.build(ctx)
    assert (s.slug, s.title) == ("shortcut", "A shortcut, like the crosswalk")
    m = s.metrics
    cued = m["models"]["mlp"]["runs"]["cued"]
    assert f"{100 * cued['wrong_follows_cue']:.1f} %" in s.intro
    assert "crosswalk" in s.intro and "Tempe" in s.intro
    assert m["models"]["mlp"]["runs"]["remedy"]["wrong_follows_cue"] < cued["wrong_follows_cue"]
    assert all(isinstance(f, FigureBlock) and f.png.startswith(b"\x89PNG") for f in s.figures)
    # Quick: the saliency and maxima galleries are skipped.
    assert [f.name for f in s.figures] == [
        "shortcut-examples",
        "shortcut-sweep",
        "shortcut-tests-mlp",
    ]
    json.dumps(m)
    assert m["cue"]["kind"] == "stripes" and m["models"]["mlp"]["runs"]["cued"]["model"] == "mlp"
    assert section.build(ctx).metrics == m  # same seed, same numbers (from the cache)


def test_report_words_follow_the_dataset(digits):
    other = ReportContext(
        data=dataclasses.replace(digits, class_names=tuple("abcdefghij")),
        classifiers={},
        autoencoder=None,
    )
    text = "a test digit carries another digit's patch; clean test digits"
    assert section._words(text, other) == (
        "a test image carries another class's patch; clean test images"
    )
    same = ReportContext(data=digits, classifiers={}, autoencoder=None)
    assert section._words(text, same) == text


def test_report_lesson_trains_on_a_subset_of_a_large_set(digits):
    ctx = ReportContext(data=digits, classifiers={}, autoencoder=None)
    assert section._lesson_data(ctx) == (digits, None)
    reps = section.LARGE // len(digits.x_train) + 1
    big = dataclasses.replace(
        digits,
        x_train=digits.x_train.repeat(reps, 1, 1, 1),
        y_train=digits.y_train.repeat(reps),
    )
    data, epochs = section._lesson_data(dataclasses.replace(ctx, data=big))
    assert epochs == section.SUBSET_EPOCHS
    assert abs(len(data.x_train) - section.SUBSET_TRAIN) <= 10
    assert len(data.x_test) == len(digits.x_test)  # fewer test images than asked: all kept
    assert data.hash != big.hash
