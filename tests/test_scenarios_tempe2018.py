"""The as-it-happened run reproduces the record; each design switch does what it says."""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios import counterfactuals, perception, planner, spec, tempe2018, tracking
from scenarios.perception import Detections
from scenarios.simulate import RunResult, simulate
from scenarios.spec import CLASSES, MPH

STEP = 0.02


@cache
def run(name: str) -> RunResult:
    return simulate(spec.load(name))


def row_at(result: RunResult, t: float):
    return next(r for r in result.trace if abs(r.t_s - t) < 1e-9)


def test_first_detection_is_5_6_s_before_the_simulated_impact():
    s = run("tempe-2018").summary
    assert s.collision
    assert s.impact_time_s == pytest.approx(0.0, abs=STEP)  # impact comes out of kinematics
    assert s.before_impact(s.first_detection_s) == pytest.approx(5.6, abs=STEP)


def test_impact_at_39_mph():
    s = run("tempe-2018").summary
    assert s.impact_speed_mph == pytest.approx(39.0, abs=1.0)
    assert s.impact_speed_mph == pytest.approx(39.12, abs=0.01)  # this model's number


def test_the_class_sequence_and_history_resets_of_the_record():
    result = run("tempe-2018")
    s = result.summary
    classes = [c for _, c in s.class_changes]
    assert classes == [
        "vehicle",
        "other",
        "vehicle",
        "other",
        "vehicle",
        "other",
        "vehicle",
        "other",
        "bicycle",
        "other",
        "bicycle",
    ]
    # The record's dated changes (5.6, 5.2, 4.2, 3.8, 2.6, 1.5, 1.2 s) happen at those times.
    times = {round(-t, 6) for t, _ in s.class_changes}
    assert {5.6, 5.2, 4.2, 3.8, 2.6, 1.5, 1.2} <= times
    # Every change after the first resets the history: a new track id and one frame.
    assert s.continuity.resets == len(classes) - 1 == 10
    assert s.continuity.tracks == 11
    for t, _ in s.class_changes[1:]:
        r = row_at(result, t)
        assert r.track.reset_now and r.track.frames == 1
    # 2.5 s: still a bicycle, history kept (record, U), and travelling along its lane.
    r26, r25 = row_at(result, -2.6), row_at(result, -2.5)
    assert r25.track.id == r26.track.id and r25.track.frames == 2
    assert planner.KINDS[r26.prediction.kind] == "static"
    assert planner.KINDS[r25.prediction.kind] == "lane"


def test_no_predicted_conflict_until_1_2_s_then_suppression_to_0_2_s():
    result = run("tempe-2018")
    for r in result.trace:
        if r.t_s < -1.2 - 1e-9:
            assert math.isinf(r.plan.conflict_in_s), r.t_s
    assert result.summary.first_hazard_s == pytest.approx(-1.2)
    assert planner.MODES[row_at(result, -1.2).plan.mode] == "suppress"
    assert planner.MODES[row_at(result, -0.22).plan.mode] == "suppress"
    r02 = row_at(result, -0.2)
    assert planner.MODES[r02.plan.mode] == "slowdown" and r02.plan.alert
    assert result.summary.alert_s == pytest.approx(-0.2)
    assert result.summary.brake_onset_s == pytest.approx(-0.2)
    assert result.summary.brake_by == "ADS slowdown"
    # 1.5 s: "other", static, partly in the SUV's lane; the planner can steer around it.
    r15 = row_at(result, -1.5)
    assert r15.track.cls == "other" and math.isinf(r15.plan.conflict_in_s)
    assert r15.prediction.y - r15.prediction.half_y < spec.load("tempe-2018").world.lane_width_m


def test_the_operator_takes_the_wheel_0_02_s_before_impact():
    s = run("tempe-2018").summary
    assert s.takeover_s == pytest.approx(-0.02)
    assert s.operator_brake_s is None  # she braked after impact (record: about 0.7 s after)


def test_derived_distances_of_the_record():
    result = run("tempe-2018")
    s = result.summary
    assert 100 < s.distance_at_first_detection_m < 111  # record D: about 105-110 m
    assert s.speed_at_first_detection_mps / MPH == pytest.approx(43.0)
    r12 = row_at(result, -1.2)
    assert 20.5 < r12.gap_m < 23.0  # record D: about 21-23 m left at 1.2 s
    stop = r12.suv_v**2 / (2 * 6.5)
    assert stop > r12.gap_m  # braking at 1.2 s could mitigate, not avoid


def test_the_speed_profile_is_data_and_the_run_says_which():
    base, held = run("tempe-2018").summary, run("constant-43").summary
    assert "43.0 mph at -5.6 s [Q], 40.0 mph at -1.2 s [U]" in base.speed_profile
    assert held.speed_profile.startswith("constant 43 mph")
    assert held.impact_speed_mph == pytest.approx(43.0, abs=0.2)  # no room for 39 mph


def test_persistent_tracking_knows_her_velocity_within_a_few_frames_and_stops_in_time():
    result = run("persistent-tracking")
    first_known = next(r for r in result.trace if r.velocity_known)
    frames = round((first_known.t_s - -5.6) / 0.1) + 1
    assert frames <= 5
    assert first_known.track.vx == pytest.approx(0.0, abs=0.1)
    assert first_known.track.vy == pytest.approx(-1.4, abs=0.1)
    s = result.summary
    # Her motion overrules the class goals once the history is motion_trust_s long (1.5 s).
    assert s.first_hazard_s == pytest.approx(-5.6 + 1.5)
    assert s.brake_onset_s == pytest.approx(-5.6 + 1.5 + 1.0) and s.brake_by == "ADS avoid"
    assert not s.collision and s.stopping_margin_m > 2.0
    assert s.continuity.resets == 0 and s.continuity.tracks == 1


def test_the_counterfactual_table():
    base, runs = counterfactuals.run_all()
    rows = {r.name: r for r in counterfactuals.compare(base, runs)}
    avoided = {n for n, r in rows.items() if not r.collision}
    assert avoided == {
        "persistent-tracking",
        "volvo-aeb",
        "recognised-pedestrian",
        "recognised-pedestrian-jaywalkers",
    }
    # Jaywalker-aware goals trust her crossing as soon as its velocity is known: earlier.
    assert (
        rows["recognised-pedestrian-jaywalkers"].margin_m > rows["recognised-pedestrian"].margin_m
    )
    lower = {n for n, r in rows.items() if r.verdict.startswith("only lowers")}
    assert lower == {
        "no-suppression",
        "attentive-operator",
        "no-suppression-emergency-braking",
        "all-braking-fixes",
    }
    same = {n for n, r in rows.items() if r.verdict.startswith("no real change")}
    assert same == {"emergency-braking", "jaywalker-aware"}  # never classed pedestrian
    assert rows["no-suppression"].reduction_mph == pytest.approx(4.7, abs=0.3)
    assert (
        rows["all-braking-fixes"].impact_speed_mph
        < rows["no-suppression-emergency-braking"].impact_speed_mph
        < rows["no-suppression"].impact_speed_mph
    )
    assert "input about the world" in rows["constant-43"].verdict


def test_the_record_as_data_has_a_certainty_for_every_fact():
    assert all(f.certainty in "QPDSU" and f.source for f in tempe2018.FACTS.values())
    assert [r.t_before_s for r in tempe2018.TIMELINE][:2] == [5.6, 5.2]
    assert tempe2018.fact("emergency-threshold").value == 6.5
    with pytest.raises(KeyError, match="known"):
        tempe2018.fact("nope")


def test_certainty_labels_say_what_is_assumed():
    s = spec.load("tempe-2018")
    by_time = {e.t_s: e for e in s.perception.events}
    assert by_time[-2.7].certainty == "U"  # the class the alternation ended on is not recorded
    assert [by_time[t].certainty for t in (-3.4, -3.1, -2.9)] == ["U", "U", "U"]
    assert s.provenance["perception.flicker.rate_hz"].certainty == "U"  # fitted to U times
    braked = next(r for r in tempe2018.TIMELINE if r.t_before_s == -0.7)
    assert braked.certainty == "P"  # "about 0.7 s" is a paraphrase; "< 1 s" is the wording
    volvo = tempe2018.OUTSIDE["volvo-simulation"]  # a conclusion beside the record, not in it
    assert volvo.certainty == "U" and volvo.value == pytest.approx(17 / 20)
    assert "volvo-simulation" not in tempe2018.FACTS


def test_every_unconfirmed_input_has_a_distribution_or_a_reason_to_hold_it():
    s = spec.load("tempe-2018")
    covered = {u.key: u for u in s.uncertainty}
    assumed = [k for k, p in s.provenance.items() if p.certainty == "U"]
    for field, items in (
        ("perception.events", s.perception.events),
        ("suv.profile", s.suv.profile),
    ):
        for i, item in enumerate(items):
            if item.certainty == "U":
                assumed.append(f"{field}.{i}.{'speed_mph' if field == 'suv.profile' else 't_s'}")
    missing = [k for k in assumed if k not in covered]
    missing = [k for k in missing if k.replace(".t_s", ".class") not in covered]  # 2.7 s: class
    assert not missing, missing
    assert "perception.events.7.class" in covered  # the class at 2.7 s
    for u in covered.values():
        assert len(u.why) > 15 and u.origin.startswith(s.path)
        if u.distribution is not None:
            assert u.distribution.contains(s.value(u.key))  # the single run is one of the worlds
    held = [u for u in covered.values() if u.distribution is None]
    assert [u.key for u in held] == ["perception.period_s"]


def test_a_what_if_value_is_held_unless_the_file_gives_it_a_distribution():
    text = 'extends = "tempe-2018"\n[planner]\nmotion_trust_s = 3.0\n'
    assert "planner.motion_trust_s" not in spec.loads(text).distributions()
    again = text + '[uncertainty]\n"planner.motion_trust_s" = { uniform = [2.5, 3.5], why = "x" }\n'
    assert spec.loads(again).distributions()["planner.motion_trust_s"].params == (2.5, 3.5)
    with pytest.raises(spec.ScenarioError, match="not one this distribution gives"):
        spec.loads(again.replace("motion_trust_s = 3.0\n", ""))


def test_the_attentive_operator_brakes_after_her_reaction_time_and_the_ads_is_never_released():
    result = run("attentive-operator")
    s, op = result.summary, spec.load("attentive-operator").operator
    noticed = next(r for r in result.trace if not math.isnan(r.operator.noticed_s))
    assert noticed.gap_m == pytest.approx(op.sight_distance_m, abs=0.5)  # within sight: 50 m
    braking = next(r for r in result.trace if r.operator.braking)
    assert braking.t_s - noticed.t_s == pytest.approx(op.attentive_reaction_s, abs=STEP)
    assert s.takeover_s == s.operator_brake_s == braking.t_s  # braking is her takeover
    # no step in which the ADS is released and nobody brakes
    released = [r for r in result.trace if not r.ads_engaged and not r.operator.braking]
    assert not released
    assert s.impact_speed_mph == pytest.approx(12.5, abs=0.1)  # 1.5 s from 50 m at 43 mph


# ---------------------------------------------------------------------------------------------
# Tracking policies


def _track(classes: list[list[str]], cfg, dt: float = 0.1) -> list[tracking.Track]:
    """Track a batch of runs, one class sequence each, all walking at -1.4 m/s across; the
    state after each frame."""
    n = len(classes)
    track, out = tracking.Track.empty(n), []
    for k in range(len(classes[0])):
        cls = np.array([CLASSES.index(c[k]) for c in classes], np.int8)
        y = np.full(n, 10 - 1.4 * dt * k)
        det = Detections(dt * k, cls, np.ones(n, np.int8), np.zeros(n), y, 0.3, 0.9)
        track = tracking.step(track, det, cfg)
        out.append(track)
    return out


# 1 to 4 runs, each a sequence of classes of the same length (2 to 40 frames)
BATCHES = st.integers(2, 40).flatmap(
    lambda m: st.lists(
        st.lists(st.sampled_from(CLASSES), min_size=m, max_size=m), min_size=1, max_size=4
    )
)


@settings(deadline=None, max_examples=40)
@given(batch=BATCHES)
def test_the_reset_policy_never_keeps_history_across_a_class_change(batch):
    cfg = spec.load("tempe-2018").tracking
    states = _track(batch, cfg)
    for i, classes in enumerate(batch):  # each run of the batch on its own
        for k, cls in enumerate(classes):
            track, before = states[k].row(i), states[k - 1].row(i) if k else None
            assert track.cls == cls
            if k and cls != classes[k - 1]:
                assert track.frames == 1 and track.id == before.id + 1 and track.reset_now
                assert track.vx == track.vy == 0.0
                assert not tracking.has_velocity(states[k], cfg)[i]
            elif k:
                assert track.id == before.id and track.frames == before.frames + 1
            assert track.t_s - track.history_start_s == pytest.approx(0.1 * (track.frames - 1))


@settings(deadline=None, max_examples=30)
@given(classes=st.lists(st.sampled_from(["vehicle", "bicycle", "other"]), min_size=6, max_size=30))
def test_the_persistent_policy_keeps_one_track_and_learns_the_velocity(classes):
    cfg = spec.load("persistent-tracking").tracking
    last = _track([classes], cfg)[-1]
    track = last.row(0)
    assert track.id == 1 and track.resets == 0 and track.frames == len(classes)
    assert tracking.has_velocity(last, cfg)[0]
    assert track.vy == pytest.approx(-1.4, abs=0.05)


def test_a_class_filter_takes_a_new_class_only_after_it_is_seen_n_frames_running():
    cfg = dataclasses.replace(spec.load("tempe-2018").tracking, class_confirm_frames=3)
    seq = ["vehicle"] * 3 + ["other", "vehicle"] + ["bicycle"] * 4  # one flicker, then a change
    states = _track([seq], cfg)
    taken = [s.row(0).cls for s in states]
    assert taken == ["vehicle"] * 7 + ["bicycle"] * 2  # bicycle from its third frame
    assert [s.row(0).id for s in states] == [1] * 7 + [2] * 2
    assert states[-1].row(0).resets == 1


def test_a_track_with_no_detection_for_longer_than_coast_s_is_dropped():
    cfg = spec.load("tempe-2018").tracking  # coast_s = 0.5
    n = 1
    track = tracking.Track.empty(n)
    for k in range(12):
        seen = k < 3 or k >= 10  # seen, then missed for 0.7 s, then seen again
        cls = np.array([CLASSES.index("other") if seen else -1], np.int8)
        det = Detections(0.1 * k, cls, np.ones(n, np.int8), np.zeros(n), np.ones(n), 0.3, 0.9)
        track = tracking.step(track, det, cfg)
        row = track.row(0)
        if 3 <= k <= 7:  # coasting: the track is kept, not updated
            assert row.cls == "other" and row.id == 1 and row.frames == 3
        if k in (8, 9):  # unseen for more than 0.5 s: dropped
            assert row.cls == "" and row.frames == 0
    assert row.id == 2 and row.frames == 2 and row.resets == 0  # a new track, not a reset


def test_the_kalman_filter_matches_a_hand_computed_first_update():
    # After a start (p = z0, v = 0, P = diag(r^2, s^2)) and one predict + update over dt:
    # pp' = r^2 + dt^2 s^2 (+ q terms), K = pp' / (pp' + r^2) ...
    r, s0, q, dt = 0.5, 2.0, 0.0, 0.1
    p, v, pp, pv, vv = tracking.kf_predict(0.0, 0.0, r * r, 0.0, s0 * s0, dt, q)
    assert (pp, pv, vv) == pytest.approx((0.25 + 0.04, 0.4, 4.0))
    # S = 0.29 + 0.25 = 0.54, K = (0.29, 0.4) / 0.54, innovation 1.0
    p, v, pp2, pv2, vv2 = tracking.kf_update(p, v, pp, pv, vv, 1.0, r)
    assert p == pytest.approx(0.29 / 0.54) and v == pytest.approx(0.4 / 0.54)
    assert pp2 == pytest.approx(0.29 * 0.25 / 0.54) and pv2 == pytest.approx(0.4 * 0.25 / 0.54)
    assert vv2 == pytest.approx(4.0 - 0.4 * 0.4 / 0.54)


# ---------------------------------------------------------------------------------------------
# Flicker statistics: the Markov model has the stationary distribution and change rate it says


def test_flicker_has_the_confusion_row_as_its_stationary_distribution():
    s = spec.load("tempe-2018-monte-carlo")
    rng = np.random.default_rng(0)
    draws = perception.draw(s, rng, 4000)
    row = perception.confusion_row(s)
    idx = perception.flicker_classes(draws.flicker_u, row, perception.switch_probability(s))
    freq = np.bincount(idx.ravel(), minlength=len(row)) / idx.size
    assert freq == pytest.approx(row, abs=0.01)
    changes = (idx[:, 1:] != idx[:, :-1]).mean() / s.perception.period_s
    assert changes == pytest.approx(perception.class_change_rate(s), rel=0.03)
    assert perception.class_change_rate(s) == pytest.approx(10 / 4.4, rel=0.02)  # the record's
