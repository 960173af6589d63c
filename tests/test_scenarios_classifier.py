"""The classifier in the perception loop: determinism by seed, the source against the labels it
gave, what each fix must do, the tempe-crops datasets through the real reader, the scenario
keys' validation and the command line.

The networks here are small (1,600 training crops, a few epochs), trained once per session
into the test cache: they flicker like the full-size ones, and each fix's effect is asserted
as what must hold for any network, on seeded runs.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fragility.cli import main
from fragility.errors import DataError
from scenarios import camera, classifier, crops, perception, planner, sensitivity, spec
from scenarios.perception import ArraySource, Labels
from scenarios.simulate import RESULT_FIELDS, run_batch, simulate
from scenarios.spec import CLASSES, NETWORK_CLASSES, ScenarioError
from scenarios.tracking import Track

SMALL = {"perception.classifier.train_crops": 1600, "perception.classifier.epochs": 8}
SMALL_TOML = "[perception.classifier]\ntrain_crops = 1600\nepochs = 8\n"
PED = CLASSES.index("pedestrian")


@pytest.fixture(scope="module")
def small() -> spec.ScenarioSpec:
    return spec.load("tempe-2018-classifier").with_values(SMALL)


def variant(base: spec.ScenarioSpec, **values) -> spec.ScenarioSpec:
    return base.with_values({k.replace("__", "."): v for k, v in values.items()})


def detected_classes(result) -> list[str]:
    return [r.detection.cls for r in result.trace if r.detection is not None]


# ---------------------------------------------------------------------------------------------
# Determinism and the source


def test_same_seed_same_classes_and_outcome_and_the_flicker_emerges(small):
    a, b = simulate(small, seed=3), simulate(small, seed=3)
    assert detected_classes(a) == detected_classes(b)
    assert a.summary.to_dict() == b.summary.to_dict()
    # Nothing scripted: the network's classes change and the 2018 tracker starts over each time.
    assert len(a.summary.class_changes) >= 4 and a.summary.continuity.resets >= 3
    assert a.summary.collision  # the 2018 design, as it happened
    first = [camera.seen(simulate(small, seed=s), s).crops[0] for s in (3, 4)]
    assert np.abs(first[0] - first[1]).mean() > 1e-3  # another seed, other sensor noise


def test_a_batch_over_renders_is_its_runs_one_by_one(small):
    batch = camera.over_renders(small, runs=3, seed=5)
    for i in range(3):
        one = simulate(small, seed=5 + i).summary
        assert bool(batch.arrays["collision"][i]) == one.collision
        assert batch.arrays["resets"][i] == one.continuity.resets
        if one.collision:
            assert batch.arrays["impact_speed_mps"][i] == one.impact_speed_mps
    assert batch.avoided.n == 3 and batch.to_dict()["seeds"] == [5, 7]


class _Keep:
    """A source wrapper that keeps every frame's labels, (n, frames, ...)."""

    def __init__(self, inner, n: int, frames: int) -> None:
        self.inner = inner
        self.cls = np.full((n, frames), perception.NO_DETECTION, np.int8)
        self.sensor = np.zeros((n, frames), np.int8)
        self.probs = np.zeros((n, frames, len(CLASSES)))

    def frame(self, view) -> Labels:
        got = self.inner.frame(view)
        self.cls[view.rows, view.frame] = got.cls
        self.sensor[view.rows, view.frame] = got.sensor
        self.probs[view.rows, view.frame] = got.probs
        return got


@pytest.mark.parametrize("fusion_s", [0.0, 3.0])
def test_the_classifier_source_equals_an_array_source_of_its_labels(small, fusion_s):
    s = variant(small, tracking__class_fusion_s=fusion_s)  # fusion reads the probabilities
    n, (_, _, frames) = 3, perception.frame_steps(s)
    kept = _Keep(camera.source(s, np.arange(n)), n, frames)
    live = run_batch(s, n, kept)
    replayed = run_batch(s, n, ArraySource(kept.cls, kept.sensor, kept.probs))
    for k in RESULT_FIELDS:
        np.testing.assert_array_equal(live[k], replayed[k], err_msg=k)


def test_seen_renders_the_same_crops_and_classes_as_the_run(small):
    run = simulate(small, seed=2)
    seen = camera.seen(run, 2)
    assert [CLASSES[c] for c in seen.cls] == detected_classes(run)
    assert seen.crops.shape == (len(seen.times_s), 1, 32, 32)
    assert seen.resets.sum() == run.summary.continuity.resets
    assert seen.to_dict()["frames"][0]["t_s"] == -5.6


def test_the_camera_sees_her_only_in_front_of_it(small):
    # Beside the camera (the SUV driving past her) there is no crop and no detection.
    view = perception.View(
        0, 0.0, np.arange(2), np.array([20.0, -3.0]), np.array([5.0, -1.0]), np.array([15.0, 15.0])
    )
    got = camera.source(small, np.arange(2)).frame(view)
    assert got.cls[0] != perception.NO_DETECTION and got.cls[1] == perception.NO_DETECTION


def _modal(cls: np.ndarray) -> np.ndarray:
    """Each run's labels with every detected frame given the run's most frequent class."""
    out = cls.copy()
    for i, row in enumerate(cls):
        seen_ = row != perception.NO_DETECTION
        out[i, seen_] = np.bincount(row[seen_]).argmax()
    return out


def test_the_network_flicker_is_what_makes_the_crash(small):
    # The network's own labels, replayed, give the same runs; the same labels with the flicker
    # taken out (each run's most frequent class in every frame) keep the track's history, see
    # her crossing sooner and end better: the direction of the record (resets, then a late
    # brake, then the crash).
    n, (_, _, frames) = 4, perception.frame_steps(small)
    kept = _Keep(camera.source(small, np.arange(n)), n, frames)
    flicker = run_batch(small, n, kept)
    steady_cls = _modal(kept.cls)
    steady_probs = np.where(
        (steady_cls != perception.NO_DETECTION)[..., None],
        np.eye(len(CLASSES))[np.maximum(steady_cls, 0)],
        0.0,
    )
    steady = run_batch(small, n, ArraySource(steady_cls, kept.sensor, steady_probs))
    assert np.all(flicker["collision"]) and np.all(flicker["resets"] >= 3)
    assert np.all(steady["resets"] == 0)
    assert np.all(steady["first_hazard_s"] < flicker["first_hazard_s"] - 0.5)
    hit_speed = np.where(steady["collision"], steady["impact_speed_mps"], 0.0)
    assert np.all(hit_speed < flicker["impact_speed_mps"] - 2.0)


# ---------------------------------------------------------------------------------------------
# The fixes: what must hold


def test_persistent_tracking_keeps_one_history_through_the_flicker(small):
    kept = camera.over_renders(variant(small, tracking__policy="persistent"), runs=4, seed=0)
    assert np.all(kept.arrays["resets"] == 0) and np.all(kept.arrays["tracks"] == 1)
    assert kept.class_changes >= 4  # the network still changes its mind
    assert kept.avoided.k == 4  # one history: her crossing is seen in time, in every render


def test_class_fusion_resets_the_track_far_less_than_the_latest_class(small):
    latest = camera.over_renders(small, runs=4, seed=0)
    fused = camera.over_renders(variant(small, tracking__class_fusion_s=3.0), runs=4, seed=0)
    assert fused.arrays["resets"].sum() * 3 < latest.arrays["resets"].sum()
    assert np.all(fused.arrays["resets"] <= fused.arrays["class_changes"] + 1)
    # Fewer resets, her crossing seen sooner, fewer crashes: the record's chain run backwards.
    assert np.all(fused.arrays["first_hazard_s"] < latest.arrays["first_hazard_s"])
    assert latest.avoided.k == 0 < fused.avoided.k


def test_the_fixed_set_network_calls_her_a_pedestrian_near_the_car(small):
    def near_pedestrian(s):
        seen = [camera.seen(simulate(s, seed=k), k) for k in range(2)]
        return np.mean(np.concatenate([x.cls[x.range_m < 30] == PED for x in seen]))

    blind = near_pedestrian(small)
    fixed = near_pedestrian(variant(small, perception__classifier__training_set="fixed"))
    assert fixed > blind + 0.3


@pytest.mark.parametrize("detector", ["max-softmax", "autoencoder"])
def test_each_detector_flags_the_share_of_test_crops_it_is_calibrated_to(small, detector):
    s = variant(
        small, perception__classifier__ood=detector, perception__classifier__ood_false_alarm=0.1
    )
    net = classifier.network(s.perception.classifier)
    c = s.perception.classifier
    test = classifier.training_bundle(c.training_set, c.train_crops, 32, 1).x_test.numpy()
    _, flagged = net.classify(test)
    assert flagged.mean() == pytest.approx(0.1, abs=2 / len(test))
    run = simulate(s, seed=0)
    seen = camera.seen(run, 0)
    assert np.all((seen.cls == CLASSES.index("unknown")) == seen.flagged)


def test_a_flagged_crop_is_unknown_and_the_planner_lets_it_cross_anywhere():
    got = camera.labels(
        np.array([[0.1, 0.5, 0.3, 0.1], [0.0, 0.9, 0.1, 0.0]]), np.array([True, False])
    )
    assert got.cls.tolist() == [CLASSES.index("unknown"), CLASSES.index("bicycle")]
    assert got.probs[0].tolist() == [0, 0, 0, 0, 1] and got.probs[1, 1] == 0.9
    # Away from a crosswalk, with no jaywalkers assumed (2018): a pedestrian with a known
    # velocity is static; an unknown object with the same track moves as its history shows.
    s = spec.load("tempe-2018")
    track = Track.empty(2)
    track = Track(
        **{
            **track.__dict__,
            "cls": np.array([PED, CLASSES.index("unknown")], np.int8),
            "frames": np.array([9, 9]),
            "t_s": np.zeros(2),
            "history_start_s": np.zeros(2),
            "vy": np.array([-1.4, -1.4]),
            "vv": np.array([0.01, 0.01]),
        }
    )
    kinds = planner.predict(track, 0.0, s).kind
    assert [planner.KINDS[k] for k in kinds] == ["static", "motion"]


def test_sensitivity_runs_a_classifier_only_in_the_plausible_worlds(small):
    r = sensitivity.run([small], runs=256, seed=0)
    row = r.scenarios[0]
    plausible = r.plausible["tempe-2018"]
    assert row.avoided.n == plausible.k and row.avoided_all_draws.n == plausible.k
    assert 0 < plausible.k < 256


def test_sensitivity_in_chunks_runs_the_classifier_in_the_same_worlds_as_the_whole_run(small):
    """A grid splits the worlds into chunks; each chunk decides plausibility for its own worlds,
    so the joined chunks are the whole run's arrays, the classifier skipped in the same worlds."""
    whole = sensitivity.run([small], runs=256, seed=0)
    chunks = [
        sensitivity.simulate_part([small], 256, 0, range(a, b)) for a, b in ((0, 100), (100, 256))
    ]
    joined = {
        path: {k: np.concatenate([c[path][k] for c in chunks]) for k in chunks[0][path]}
        for path in chunks[0]
    }
    assert not joined[small.path]["ran"].all()  # implausible worlds skipped, not simulated
    assert sensitivity.run([small], runs=256, seed=0, simulated=joined) == whole


# ---------------------------------------------------------------------------------------------
# tempe-crops as a dataset


def test_a_rendered_set_loads_through_the_real_reader(tmp_path):
    from fragility import data
    from fragility.data import catalog

    path = crops.write_dataset("tempe-crops-fixed", tmp_path, n_train=400, n_test=100)
    assert path.name == catalog.rendered_file_name("tempe-crops-fixed", n_train=400, n_test=100)
    bundle = data.load(data.DataSource("tempe-crops-fixed", folder=str(path)))
    cs = crops.training_set("fixed", n_train=400, n_test=100, seed=catalog.RENDERED_SEED)
    assert crops.npz_name(cs) == path.name
    np.testing.assert_array_equal(bundle.x_train.numpy(), cs.x_train)
    np.testing.assert_array_equal(bundle.y_test.numpy(), cs.y_test)
    assert bundle.name == "tempe-crops-fixed"
    assert bundle.class_names == NETWORK_CLASSES == catalog.RENDERED_CLASSES
    stamp = path.stat().st_mtime_ns
    assert crops.write_dataset("tempe-crops-fixed", tmp_path, n_train=400, n_test=100) == path
    assert path.stat().st_mtime_ns == stamp  # rendered once
    with pytest.raises(DataError, match="not rendered yet") as info:
        data.load(data.DataSource("tempe-crops", folder=str(tmp_path / "elsewhere")))
    assert "\n" not in str(info.value)


def test_the_command_line_renders_trains_and_reports_on_tempe_crops(tmp_path, capsys):
    folder = tmp_path / "crops"
    assert main(["data", "info", "tempe-crops", "--size", "8", "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "train / test 12,000 / 3,000 images" in out and "(1, 8, 8)" in out
    assert "vehicle, bicycle, pedestrian, other" in out
    small_set = crops.write_dataset("tempe-crops", tmp_path, n_train=400, n_test=100)
    ck = tmp_path / "ck"
    argv = ["train", "--dataset", "tempe-crops", "--data-dir", str(small_set), "--epochs", "1"]
    assert main([*argv, "--quiet", "--out", str(ck)]) == 0
    metrics = json.loads((ck / "metrics.json").read_text())
    assert metrics["dataset"]["name"] == "tempe-crops"
    assert metrics["dataset"]["source"]["folder"] == str(small_set)


# ---------------------------------------------------------------------------------------------
# The scenario keys


def _file(body: str) -> str:
    return 'extends = "tempe-2018-classifier"\n' + body


BAD = [
    (
        _file('[perception.classifier]\nmodel = "resnet"\n'),
        "perception.classifier.model",
        "neither 'mlp' nor 'cnn'",
    ),
    (
        _file('[perception.classifier]\ntraining_set = "jaywalkers"\n'),
        "perception.classifier.training_set",
        "expected one of 'blind-spot', 'fixed'",
    ),
    (
        _file("[perception.classifier]\nchannels = 2\n"),
        "perception.classifier.channels",
        "expected 1 (grey) or 3",
    ),
    (
        _file("[perception.classifier]\ncrop_size = 4\n"),
        "perception.classifier.crop_size",
        "out of range",
    ),
    (
        _file("[perception.classifier]\ntrain_crops = 1000\n"),
        "perception.classifier.train_crops",
        "multiple of 16",
    ),
    (
        _file('[perception.classifier]\nood = "energy"\n'),
        "perception.classifier.ood",
        "expected one of",
    ),
    (
        _file("[perception.classifier]\nood_false_alarm = 0.9\n"),
        "perception.classifier.ood_false_alarm",
        "too large",
    ),
    (
        _file('[perception.classifier]\nlighting = "noon"\n'),
        "perception.classifier.lighting",
        "expected one of",
    ),
    (_file("[perception.classifier]\ncolour = 3\n"), "perception.classifier.colour", "unknown key"),
    (
        _file("[perception.classifier]\nbox_jitter = -0.1\n"),
        "perception.classifier.box_jitter",
        "negative",
    ),
    (_file('[perception]\nmode = "classifer"\n'), "perception.mode", "expected one of"),
    (_file("[tracking]\nclass_fusion_s = -1\n"), "tracking.class_fusion_s", "negative"),
]


@pytest.mark.parametrize(("text", "key", "words"), BAD)
def test_a_bad_classifier_key_is_one_line_naming_file_key_and_line(tmp_path, text, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        spec.load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:3: {key}: ") and words in msg and "\n" not in msg, msg


def test_a_bad_classifier_file_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text(_file('[perception.classifier]\nmodel = "vgg"\n'))
    argv = ["scenario", "run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("fragility: error: ") and "/vgg is neither" in err and err.count("\n") == 1
    )
    assert not (tmp_path / "o").exists()


def test_a_checkpoint_model_is_found_beside_its_file_and_must_classify_her(
    tmp_path, trained_mlp, capsys
):
    from fragility import train

    train.save(tmp_path / "digits-mlp", trained_mlp.model, trained_mlp.spec, trained_mlp.metrics)
    (tmp_path / "s.toml").write_text(_file('[perception.classifier]\nmodel = "digits-mlp"\n'))
    s = spec.load(tmp_path / "s.toml")
    assert s.perception.classifier.model == str((tmp_path / "digits-mlp").resolve())
    with pytest.raises(ScenarioError, match=r"classifies .* not vehicle, bicycle"):
        classifier.network(s.perception.classifier)


def test_the_packaged_fixes_change_one_line_each():
    from scenarios import counterfactuals

    base = spec.load(counterfactuals.CLASSIFIER_BASE)
    assert base.changes == (("perception.mode", "replay", "classifier"),)
    for name in counterfactuals.CLASSIFIER_FIXES:
        s = spec.load(name)
        assert len(s.changes) == 1 and s.perception.mode == "classifier", name
    sweep = spec.load("classifier-fusion-memory").sweep
    assert sweep.grid == (("tracking.class_fusion_s", (0.0, 1.0, 3.0, 10.0, 30.0)),)


# ---------------------------------------------------------------------------------------------
# Figures and the command line


def test_the_figures_keep_the_house_style(small):
    from fragility.figures import smallest_font_pt, to_png
    from scenarios import film

    run = simulate(small, seed=1)
    seen = camera.seen(run, 1)
    figs = [
        film.film_strip(seen, run),
        film.class_probabilities(seen, run),
        film.fixes({"as it happened": (seen, run), "again": (seen, run)}),
    ]
    for fig in figs:
        assert to_png(fig)[:4] == b"\x89PNG"
        assert smallest_font_pt(fig) >= 9.0
    crops_drawn = [a for a in figs[0].axes if a.images]
    assert 5 <= len(crops_drawn) <= 12
    assert figs[0].get_size_inches()[0] == pytest.approx(6.5)


def test_run_and_compare_write_the_film_strip_and_the_renders(tmp_path, capsys):
    (tmp_path / "small.toml").write_text(_file(SMALL_TOML))
    (tmp_path / "small-fused.toml").write_text(
        'extends = "small.toml"\n[tracking]\nclass_fusion_s = 3.0\n'
    )
    out = tmp_path / "run"
    argv = ["scenario", "run", str(tmp_path / "small.toml"), "--out", str(out), "--no-gif"]
    assert main([*argv, "--renders", "3", "--runs", "64"]) == 0
    printed = capsys.readouterr().out
    assert "over fresh renders: avoided in" in printed and "of 3 renders" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classifier"]["renders"]["runs"] == 3
    assert summary["classifier"]["network"]["class_names"] == list(NETWORK_CLASSES)
    seen = json.loads((out / "seen.json").read_text())
    assert len(seen["frames"]) == sum(
        1 for s in json.loads((out / "trace.json").read_text())["steps"] if s["detection"]
    )
    for name in ("film_strip.png", "class_probabilities.png", "timeline.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    cmp = tmp_path / "cmp"
    argv = ["scenario", "compare", str(tmp_path / "small.toml"), str(tmp_path / "small-fused.toml")]
    assert main([*argv, "--renders", "2", "--runs", "64", "--out", str(cmp)]) == 0
    printed = capsys.readouterr().out
    assert "avoided, 2 renders" in printed
    data = json.loads((cmp / "compare.json").read_text())
    assert [r["renders"]["runs"] for r in data["counterfactuals"]] == [2, 2]
    assert (cmp / "fixes.png").read_bytes()[:4] == b"\x89PNG"
    assert math.isfinite(data["counterfactuals"][0]["renders"]["class_changes_per_run"])


def test_the_case_study_shows_the_film_strip_with_the_run_numbers(small):
    from fragility.report.section import FigureBlock
    from scenarios import film
    from scenarios.case_study import from_comparisons, ml
    from scenarios.counterfactuals import compare, run_all

    block = film.case_study_block(small, seed=1)
    assert isinstance(block, FigureBlock) and block.png[:4] == b"\x89PNG"
    run = simulate(small, seed=1)
    seen = camera.seen(run, 1)
    assert f"class changed {seen.class_changes} times" in block.caption
    assert f"her history {run.summary.continuity.resets} times" in block.caption
    assert "hit at" in block.caption and "render seed 1" in block.caption
    base, others = run_all()
    section = ml.section(base, from_comparisons(compare(base, others)), film_strip=block)
    assert block in section.blocks
    with pytest.raises(ScenarioError, match="a film strip needs mode = 'classifier'"):
        film.case_study_block("tempe-2018")


def test_case_study_film_strip_on_the_command_line(tmp_path, capsys):
    (tmp_path / "small.toml").write_text(_file(SMALL_TOML))
    out = tmp_path / "case"
    argv = ["scenario", "case-study", "--out", str(out), "--runs", "16", "--audience", "students"]
    assert main([*argv, "--film-strip", str(tmp_path / "small.toml")]) == 0
    assert (out / "figures" / "case-film-strip.png").read_bytes()[:4] == b"\x89PNG"
    assert "case-film-strip" in (out / "index.html").read_text()
    capsys.readouterr()
    assert main([*argv, "--film-strip", "tempe-2018"]) == 2  # not a classifier scenario
    assert "a film strip needs mode = 'classifier'" in capsys.readouterr().err
