"""The renderer, the training sets with the 2018 blind spot, and a network that has it.

Geometry and light are checked against numbers worked out by hand (a pinhole's f H / d, the
inverse-square law, the Tempe ranges from the record's speed profile); the sets by what they
must and must not contain; the networks by what must hold for any honest training run.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from fragility.errors import ConfigError
from scenarios import crops, render, spec, sprites
from scenarios.render import CAMERA, Camera, Views


def objects(kind: str, n: int = 1, variant: int = 0, seed: int = 0) -> sprites.Objects:
    k = sprites.KINDS.index(kind)
    return sprites.draw_objects(
        np.full(n, k), np.random.default_rng(seed), variants=np.full(n, variant)
    )


def crops_of(kind: str, views: Views, seed: int = 0, **options) -> np.ndarray:
    return render.render(objects(kind), views, np.random.default_rng(seed), **options)


# ---------------------------------------------------------------------------------------------
# The camera: a pinhole


def test_pinhole_focal_length_and_pixel_height_by_hand():
    assert CAMERA.focal_px == pytest.approx(2000.0)  # 6.0 mm / 3.0 um
    assert CAMERA.pixel_height(1.7, 50.0) == pytest.approx(68.0)  # 2000 * 1.7 / 50
    assert CAMERA.pixel_height(1.7, 100.0) == pytest.approx(34.0)
    assert CAMERA.hfov_deg == pytest.approx(math.degrees(2 * math.atan(960 / 2000)))  # 51.3
    # 0.088 image-plane lux per scene lux, 4.09e15 photons, 9 um^2, QE 0.6: about 1,940 e-
    assert CAMERA.electrons_per_lux_s == pytest.approx(
        0.9 / (4 * 1.6**2) * 4.09e15 * 9e-12 * 0.6, rel=1e-12
    )


def test_in_view_follows_the_fields_of_view():
    half_h = math.radians(CAMERA.hfov_deg / 2)
    assert CAMERA.in_view(20.0, 0.99 * half_h) and not CAMERA.in_view(20.0, 1.01 * half_h)
    # Her feet 1.4 m below the camera leave the picture nearer than 1.4 / tan(16.9 deg) m.
    near = CAMERA.height_m / math.tan(math.radians(CAMERA.vfov_deg / 2))
    assert CAMERA.in_view(1.01 * near, 0.0, 0.0) and not CAMERA.in_view(0.99 * near, 0.0, 0.0)


def linear_camera() -> Camera:
    return Camera(gamma=1.0)  # no gamma: the crop is a linear function of the scene


@pytest.mark.parametrize("range_m", [300.0, 400.0])
def test_a_far_object_is_seen_through_f_s_over_d_sensor_pixels(range_m):
    # A pedestrian in a 64-pixel crop of side S m is sampled by f S / d sensor pixels; the
    # crop is those pixels resized bilinearly, so its rank cannot exceed their number.
    o = objects("pedestrian", variant=0)
    w, h = sprites.extent(o)
    side = float(max(w[0], h[0]) * (1 + render.MARGIN))
    v = Views.of(1, "day", range_m=range_m)
    x = render.render(o, v, np.random.default_rng(0), size=64, noise=False, camera=linear_camera())
    across = CAMERA.focal_px * side / range_m
    assert across < 64
    rank = np.linalg.matrix_rank(x[0, 0].astype(np.float64), tol=1e-5)
    assert rank <= math.ceil(across) + 1
    near = render.render(
        o,
        Views.of(1, "day", range_m=8.0),
        np.random.default_rng(0),
        size=64,
        noise=False,
        camera=linear_camera(),
    )
    assert np.linalg.matrix_rank(near[0, 0].astype(np.float64), tol=1e-5) > rank + 10


# ---------------------------------------------------------------------------------------------
# Light


def test_low_beam_illuminance_is_inverse_square_at_lamp_height():
    z = CAMERA.lamp_height_m  # elevation 0 at every range: the same intensity
    e20, e40 = (render.facing_illuminance(d, 0.0, z) for d in (20.0, 40.0))
    assert e20 / e40 == pytest.approx(4.0, rel=1e-12)
    lamps = render.LOW_BEAMS
    below = 1 / (1 + math.exp(-lamps.cutoff_deg / lamps.soft_deg))  # elevation 0 vs cut-off
    intensity = lamps.intensity_cd * (lamps.glare_ratio + (1 - lamps.glare_ratio) * below)
    assert e20 == pytest.approx(intensity / 400.0, rel=1e-12)


def test_legs_are_lit_before_the_head_and_the_left_is_darker():
    d = 30.0  # her shins (0.2 m) lie below the cut-off, her head (1.6 m) above it
    shins, head = (float(render.facing_illuminance(d, 0.0, z)) for z in (0.2, 1.6))
    assert shins > 10 * head
    left, right = (float(render.facing_illuminance(d, b, 0.5)) for b in (0.2, -0.2))
    assert right > left  # the cut-off rises towards the kerb


def test_at_night_the_object_darkens_with_range_and_by_day_it_does_not():
    def brightness(lighting, **light):  # the same object and background at each range
        return np.array(
            [
                crops_of(
                    "walking-bicycle", Views.of(1, lighting, range_m=d, **light), noise=False
                ).mean()
                for d in (10.0, 20.0, 40.0, 80.0)
            ]
        )

    dark, lit = brightness("night-unlit", ambient_lux=0.0), brightness("day")
    assert np.all(np.diff(dark) < 0)
    assert np.ptp(lit) < 0.05 < dark[0] - dark[-1]


# ---------------------------------------------------------------------------------------------
# Crops


@pytest.mark.parametrize(("size", "channels"), [(16, 1), (32, 1), (32, 3), (48, 3)])
def test_crops_are_float32_nchw_in_unit_range(size, channels):
    rng = np.random.default_rng(3)
    kinds = np.arange(20) % len(sprites.KINDS)
    o = sprites.draw_objects(kinds, rng)
    v, _ = crops.draw_views(o, rng.random(20) < 0.5, rng)
    x = render.render(o, v, rng, size=size, channels=channels, box_jitter=0.05)
    assert x.shape == (20, channels, size, size) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.std() > 0.01


def test_every_kind_and_variant_draws_something():
    for kind in sprites.KINDS:
        for variant in range(len(sprites.VARIANTS[kind])):
            o = objects(kind, variant=variant)
            v = Views.of(1, "day", range_m=15.0)
            with_object = render.render(o, v, np.random.default_rng(1), noise=False)
            tiny = sprites.Objects(
                **{**o.__dict__, "size_m": o.size_m * 0 + 1e-3, "length_m": o.length_m * 0 + 1e-3}
            )
            background = render.render(tiny, v, np.random.default_rng(1), noise=False)
            assert np.abs(with_object - background).mean() > 0.02, (kind, variant)


def test_same_seed_same_crops_and_a_batch_prefix_is_the_batch_of_its_crops():
    rng = np.random.default_rng(5)
    o = sprites.draw_objects(np.arange(40) % 5, rng)
    v, _ = crops.draw_views(o, rng.random(40) < 0.3, rng)
    a = render.render(o, v, np.random.default_rng(9), box_jitter=0.05)
    b = render.render(o, v, np.random.default_rng(9), box_jitter=0.05)
    c = render.render(o, v, np.random.default_rng(10), box_jitter=0.05)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3
    first = render.render(
        o.take(slice(0, 7)), v.take(slice(0, 7)), np.random.default_rng(9), box_jitter=0.05
    )
    np.testing.assert_array_equal(first, a[:7])


def test_noise_is_larger_in_the_dark():
    def spread(lighting):
        v = Views.of(64, lighting, range_m=30.0)
        x = crops_of("vehicle", v)
        clean = crops_of("vehicle", v, noise=False)
        return float((x - clean).std())

    assert spread("night-unlit") > 2 * spread("day")


def test_motion_blurs_along_x_only():
    still = Views.of(1, "night-lit", range_m=12.0)
    moving = Views.of(1, "night-lit", range_m=12.0, v_perp_mps=15.0)  # 0.5 m in 1/30 s
    a, b = (crops_of("pedestrian", v, noise=False)[0, 0] for v in (still, moving))
    across = (np.abs(np.diff(a, axis=1)).sum(), np.abs(np.diff(b, axis=1)).sum())
    down = (np.abs(np.diff(a, axis=0)).sum(), np.abs(np.diff(b, axis=0)).sum())
    assert across[1] < 0.7 * across[0]
    assert down[1] > 0.8 * down[0] * across[1] / across[0]


def test_occlusion_hides_its_side_of_the_crop_only():
    plain = Views.of(1, "day", range_m=15.0)
    hidden = Views.of(1, "day", range_m=15.0, occlusion=0.5, occlusion_side=1)
    a, b = (crops_of("vehicle", v, noise=False)[0, 0] for v in (plain, hidden))
    assert np.abs(a[:, :12] - b[:, :12]).mean() > 0.05
    np.testing.assert_allclose(a[:, 20:], b[:, 20:], atol=0.02)  # only the blur reaches past
    assert b[:, :12].std() < 0.02  # one flat occluder


def test_a_crosswalk_paints_stripes_at_the_feet_and_nothing_above():
    plain = Views.of(1, "day", range_m=10.0)
    crossing = Views.of(1, "day", range_m=10.0, crosswalk=True)
    a, b = (crops_of("pedestrian", v, noise=False)[0, 0] for v in (plain, crossing))
    change = np.abs(a - b).mean(axis=1)  # per row
    assert change[-4:].mean() > 0.1  # the bottom rows: the road at her feet
    assert change[:16].max() < 1e-6  # the top half: her body and the far scene


def test_bad_arguments_are_errors_with_a_message():
    o, v = objects("pedestrian"), Views.of(2)
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="crop size"):
        render.render(o, v, rng, size=4)
    with pytest.raises(ConfigError, match="channels"):
        render.render(o, v, rng, channels=2)
    with pytest.raises(ConfigError, match="objects for"):
        render.render(objects("pedestrian", n=3), v, rng)
    with pytest.raises(ConfigError, match="lighting"):
        Views.of(1, "moonlight")
    with pytest.raises(ConfigError, match="range_m has shape"):
        Views.of(3, range_m=[10.0, 20.0])
    with pytest.raises(ConfigError, match="unknown view fields: speed"):
        Views.of(3, speed=1.0)
    with pytest.raises(ConfigError, match=r"0\.5 m"):
        render.render(o, Views.of(2, range_m=0.1), rng)


def test_rendering_and_the_sets_do_not_import_torch():
    code = (
        "import sys, scenarios.render, scenarios.crops, scenarios.classifier; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_relative_view_by_hand():
    # Camera at the origin driving +x at 10 m/s, a still object at (10, 10): 45 degrees to the
    # left, and it sweeps across the line of sight at 10 sin 45 = 7.07 m/s.
    r, bearing, v = render.relative_view(0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 0.0)
    assert r == pytest.approx(math.sqrt(200)) and bearing == pytest.approx(math.pi / 4)
    assert v == pytest.approx(10 / math.sqrt(2))


# ---------------------------------------------------------------------------------------------
# The Tempe encounter


def test_tempe_ranges_follow_the_record_speed_profile():
    s = spec.load("tempe-2018")
    v = crops.tempe_views(s, np.array([-5.6, -1.2]))
    # At -6.0 s the SUV's front is 110.78 m short of her near edge, 0.3 m short of her
    # centre; by -5.6 s it has covered 0.4 s at 43 mph; the camera sits 1.9 m behind the
    # front. She is 1.35 + 1.4 * 5.6 = 9.19 m left of the lane's right edge, the camera 1.75.
    dx = 110.78 + 0.3 - 0.4 * 43 * spec.MPH + crops.CAMERA_BEHIND_FRONT_M  # 105.29 m
    assert v.range_m[0] == pytest.approx(math.hypot(dx, 9.19 - 1.75), abs=0.02)
    assert v.bearing_rad[0] == pytest.approx(math.atan2(9.19 - 1.75, dx), abs=1e-3)
    assert 22.0 < v.range_m[1] < 25.5  # about 21-23 m of road left at 1.2 s, plus the camera
    assert np.all(v.headlights) and np.all(v.ambient_lux == render.LIGHTING["night-unlit"][0])


def test_tempe_crops_shape_and_runs_independent_of_their_number():
    s = spec.load("tempe-2018")
    times = crops.tempe_times(-2.0, -1.0)
    a = crops.tempe_crops(s, runs=3, seed=4, times_s=times)
    b = crops.tempe_crops(s, runs=1, seed=4, times_s=times)
    assert a.crops.shape == (3, 11, 1, 32, 32)
    np.testing.assert_array_equal(a.crops[:1], b.crops)
    assert np.abs(a.crops[0] - a.crops[1]).mean() > 1e-3  # fresh noise each run


# ---------------------------------------------------------------------------------------------
# The training sets


@pytest.fixture(scope="module")
def both_sets():
    return {v: crops.training_set(v, n_train=320, n_test=80, seed=7) for v in crops.SET_VARIANTS}


def test_blind_spot_set_has_pedestrians_only_on_crossings_and_none_with_a_bicycle(both_sets):
    cs = both_sets["blind-spot"]
    ped = cs.labels == cs.class_names.index("pedestrian")
    assert np.all(cs.crosswalk[ped])
    assert not np.any(cs.kind == sprites.KINDS.index("walking-bicycle"))
    assert cs.class_names == spec.NETWORK_CLASSES


def test_fixed_set_has_jaywalkers_and_bicycle_walkers_labelled_pedestrian(both_sets):
    cs = both_sets["fixed"]
    ped = cs.labels == cs.class_names.index("pedestrian")
    walker = cs.kind == sprites.KINDS.index("walking-bicycle")
    assert np.all(ped[walker]) and walker.sum() > 0.2 * ped.sum()
    jaywalkers = ped & ~walker & ~cs.crosswalk
    assert jaywalkers.sum() > 0.2 * ped.sum()


def test_sets_share_every_crop_outside_the_pedestrian_class(both_sets):
    a, b = both_sets["blind-spot"], both_sets["fixed"]
    np.testing.assert_array_equal(a.labels, b.labels)
    others = a.labels != a.class_names.index("pedestrian")
    np.testing.assert_array_equal(a.images[others], b.images[others])
    assert np.abs(a.images[~others] - b.images[~others]).mean() > 0.01
    # Stripes are not only for pedestrians: about 10 % of the other classes stand on them.
    assert 0.03 < a.crosswalk[others].mean() < 0.2


def test_splits_are_balanced_and_fixed_by_the_split_seed(both_sets):
    cs = both_sets["blind-spot"]
    assert len(cs.y_train) == 320 and len(cs.y_test) == 80
    assert np.array_equal(np.bincount(cs.y_test), [20, 20, 20, 20])
    again = crops.training_set("blind-spot", n_train=320, n_test=80, seed=7)
    other_split = crops.training_set("blind-spot", n_train=320, n_test=80, seed=7, split_seed=1)
    np.testing.assert_array_equal(cs.test, again.test)
    np.testing.assert_array_equal(cs.images, other_split.images)
    assert not np.array_equal(cs.test, other_split.test)
    d = cs.to_dict()
    assert d["n_train"] == 320 and d["composition"]["train"]["pedestrian/crossing"] > 0


def test_a_set_becomes_a_bundle_whose_source_reloads_it(both_sets, tmp_path):
    import torch

    from fragility import data
    from scenarios import classifier

    cs = both_sets["fixed"]
    bundle = classifier.to_bundle(cs, tmp_path)
    assert torch.equal(bundle.x_train, torch.from_numpy(cs.x_train))
    assert torch.equal(bundle.y_test, torch.from_numpy(cs.y_test))
    assert bundle.class_names == spec.NETWORK_CLASSES and bundle.source.name == "npz"
    again = data.load(data.DataSource.from_dict(bundle.to_dict()["source"]))
    assert again.hash == bundle.hash


def test_training_set_arguments_are_checked():
    with pytest.raises(ConfigError, match="unknown training set"):
        crops.training_set("jaywalkers")
    with pytest.raises(ConfigError, match="multiple of 4"):
        crops.training_set(n_train=10, n_test=5)


def test_flicker_stats_by_hand():
    # Four frames: bicycle (0.95), bicycle (0.6), other (0.92), pedestrian (0.7).
    k = spec.NETWORK_CLASSES
    rows = [("bicycle", 0.95), ("bicycle", 0.6), ("other", 0.92), ("pedestrian", 0.7)]
    probs = np.full((1, 4, 4), 0.0)
    for f, (c, p) in enumerate(rows):
        probs[0, f] = (1 - p) / 3
        probs[0, f, k.index(c)] = p
    st = crops.flicker_stats(probs, np.array([80.0, 50.0, 20.0, 10.0]), 0.1)
    assert st.changes_per_run == 2 and st.change_rate_hz == pytest.approx(2 / 0.3)
    assert st.confident_wrong == pytest.approx(0.5)  # frames 0 and 2
    assert st.top_share == {"vehicle": 0.0, "bicycle": 0.5, "pedestrian": 0.25, "other": 0.25}
    assert st.truth_by_range == {"60+ m": 0.0, "30-60 m": 0.0, "0-30 m": 0.5}


# ---------------------------------------------------------------------------------------------
# The blind spot, in fragility's own networks


@pytest.fixture(scope="module")
def blind_spot_probes(tmp_path_factory):
    from scenarios import classifier

    probes = classifier.blind_spot(
        spec.load("tempe-2018"),
        n_train=2000,
        n_test=400,
        runs=10,
        epochs={"cnn": 10},
        data_dir=tmp_path_factory.mktemp("crops"),
    )
    return {(p.training_set, p.model.split()[0]): p for p in probes}


def test_the_blind_spot_cnn_never_sees_a_pedestrian_near_her(blind_spot_probes):
    blind = blind_spot_probes[("blind-spot", "cnn")]
    fixed = blind_spot_probes[("fixed", "cnn")]
    # Both learned their own sets, and the blind-spot one finds pedestrians on crossings.
    assert blind.test_accuracy > 0.8 and fixed.test_accuracy > 0.75
    assert blind.class_accuracy["pedestrian"] > 0.7
    # Within 30 m, where the low beams light her, the blind-spot network has no class for
    # her; the fixed set's network calls her a pedestrian most of the time.
    near_blind = blind.tempe.truth_by_range["0-30 m"]
    near_fixed = fixed.tempe.truth_by_range["0-30 m"]
    assert near_blind < 0.15 and near_fixed > near_blind + 0.4
    # It flickers, and it is often sure of its wrong answer.
    assert blind.tempe.changes_per_run > 5
    assert blind.tempe.confident_wrong > 0.15 > fixed.tempe.confident_wrong


def test_the_lecture_mlp_learns_the_sets_above_chance(blind_spot_probes):
    for variant in crops.SET_VARIANTS:
        mlp = blind_spot_probes[(variant, "mlp")]
        assert mlp.test_accuracy > 0.4  # four balanced classes: chance is 0.25
        assert mlp.tempe.runs == 10 and mlp.tempe.frames == len(crops.tempe_times())
        assert sum(mlp.tempe.top_share.values()) == pytest.approx(1.0)
