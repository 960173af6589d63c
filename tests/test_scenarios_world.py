"""Kinematics and geometry against answers worked out by hand (HighwayEnv's test_dynamics style)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios import spec, world
from scenarios.spec import MPH


def drive(v0: float, a_cmd: float, seconds: float, dt: float = 0.02, jerk: float = math.inf):
    x, v, a = 0.0, v0, 0.0
    for _ in range(round(seconds / dt)):
        x, v, a = (float(z) for z in world.advance(x, v, a, a_cmd, dt, jerk))
    return x, v, a


def test_constant_speed_20_mps_for_2_s_is_40_m():
    x, v, a = drive(20.0, 0.0, 2.0)
    assert x == pytest.approx(40.0, abs=1e-9) and v == 20.0 and a == 0.0


def test_constant_acceleration_matches_v0t_plus_half_at2():
    x, v, _ = drive(10.0, 2.0, 3.0)  # 10*3 + 0.5*2*9 = 39 m, 16 m/s
    assert x == pytest.approx(39.0, abs=1e-9) and v == pytest.approx(16.0, abs=1e-12)


def test_braking_at_6_5_from_43_mph_needs_about_28_m_and_3_s():
    v0 = 43 * MPH  # 19.223 m/s
    x, v, a = drive(v0, -6.5, 4.0)
    assert v == 0.0 and a == 0.0  # stopped, and it never reverses
    assert x == pytest.approx(v0 * v0 / 13.0, abs=1e-9)  # 28.43 m
    assert 28.0 < x < 28.6
    assert v0 / 6.5 == pytest.approx(2.957, abs=1e-3)


def test_stopping_from_18_mps_at_6_5_takes_about_25_m():
    # The record's derived check: from 1.2 s about 21-23 m were left, so braking then could
    # mitigate but not avoid.
    x, _, _ = drive(18.0, -6.5, 4.0)
    assert x == pytest.approx(24.92, abs=0.01)


def test_jerk_limited_braking_matches_the_closed_form():
    v0, d, jerk = 20.0, 6.5, 30.0
    x, v, _ = drive(v0, -d, 5.0, jerk=jerk)
    # Ramp t_r = d / J = 0.21667 s: v0 t_r - J t_r^3 / 6 = 4.3333 - 0.0509 = 4.2825 m, then
    # v1^2 / 2d from v1 = v0 - d t_r / 2 = 19.2958 m/s: 28.6407 m. Total 32.9232 m.
    assert v == 0.0
    assert x == pytest.approx(world.stopping_distance(v0, d, jerk), abs=1e-9)
    assert x == pytest.approx(32.9232, abs=1e-4)
    assert world.stopping_distance(v0, d) == pytest.approx(v0 * v0 / (2 * d))


def test_one_step_with_a_jerk_ramp_is_the_exact_cubic():
    # From a = 0 toward -6 at 100 m/s^3 within 0.02 s: jerk the whole step (ramp 0.06 s).
    x, v, a = (float(z) for z in world.advance(0.0, 10.0, 0.0, -6.0, 0.02, 100.0))
    t = 0.02
    assert a == pytest.approx(-100 * t)
    assert v == pytest.approx(10 - 100 * t * t / 2)
    assert x == pytest.approx(10 * t - 100 * t**3 / 6)


def test_at_rest_a_braking_command_keeps_it_at_rest_and_it_can_start_again():
    x, v, a = (float(z) for z in world.advance(5.0, 0.0, 0.0, -8.0, 0.02, 30.0))
    assert (x, v, a) == (5.0, 0.0, 0.0)
    x, v, _ = drive(0.0, 1.5, 2.0, jerk=30.0)
    assert v == pytest.approx(1.5 * 2.0 - 1.5 * (1.5 / 30.0) / 2, abs=1e-9)


@settings(deadline=None, max_examples=200)
@given(
    v=st.floats(0, 40),
    a=st.floats(-12, 3),
    a_cmd=st.floats(-12, 3),
    jerk=st.sampled_from([1.0, 30.0, 1000.0, math.inf]),
)
def test_a_vehicle_never_reverses_and_never_gains_speed_braking(v, a, a_cmd, jerk):
    x1, v1, _ = (float(z) for z in world.advance(0.0, v, a, a_cmd, 0.02, jerk))
    assert v1 >= 0.0 and x1 >= -1e-12
    if max(a, a_cmd) <= 0:
        assert v1 <= v + 1e-12


def test_arrays_and_floats_give_the_same_numbers():
    v = np.array([0.0, 5.0, 19.2, 0.01])
    a = np.array([0.0, -3.0, 0.0, -6.0])
    cmd = np.array([1.0, -8.0, -6.5, -6.0])
    xs, vs, _ = world.advance(np.zeros(4), v, a, cmd, 0.02, 30.0)
    for i in range(4):
        x1, v1, _ = world.advance(0.0, v[i], a[i], cmd[i], 0.02, 30.0)
        assert float(x1) == xs[i] and float(v1) == vs[i]


def test_the_start_gap_is_the_distance_the_recorded_profile_covers():
    s = spec.load("tempe-2018")
    # 0.4 s at 43 mph + 4.4 s from 43 to 40 mph + 1.2 s at 40 mph = 7.69 + 81.63 + 21.46 m
    expected = 0.4 * 43 * MPH + 4.4 * (43 + 40) / 2 * MPH + 1.2 * 40 * MPH
    assert world.profile_distance(s, -6.0, 0.0) == pytest.approx(expected, abs=1e-9)
    assert s.world.start_gap_m == pytest.approx(expected, abs=0.01)


def test_the_cruise_profile_is_linear_between_knots_and_held_outside():
    s = spec.load("tempe-2018")
    assert world.cruise_speed(s, -6.0) == pytest.approx(43 * MPH)
    assert world.cruise_speed(s, -3.4) == pytest.approx(41.5 * MPH)
    assert world.cruise_speed(s, 0.0) == pytest.approx(40 * MPH)
    assert world.cruise_slope(s, -3.0) == pytest.approx(-3 * MPH / 4.4)
    assert world.cruise_slope(s, -1.0) == 0.0


def test_contact_fraction_is_the_first_touch_within_the_step():
    # Front from -1 to 3 m toward her edge at 0: a quarter of the step, she already in the lane.
    assert world.contact_fraction(-1.0, 3.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.5, 3.0) == 0.25
    # Front already past her edge; she steps from y in [4, 5] to [2, 3] into [0.5, 3]: at half.
    assert world.contact_fraction(0.5, 1.0, 0.0, 4.0, 2.0, 5.0, 3.0, 0.5, 3.0) == 0.5
    # Both moving: the later of the two touches counts, for arrays as for floats.
    f = world.contact_fraction(np.array([-1.0, 0.5]), 3.0, 0.0, 4.0, 2.0, 5.0, 3.0, 0.5, 3.0)
    np.testing.assert_array_equal(f, [0.5, 0.5])
    assert world.contact_fraction(-3.0, 1.0, 0.0, 4.0, 2.0, 5.0, 3.0, 0.5, 3.0) == 0.75


def test_the_road_has_the_records_lanes():
    road = world.Road.from_spec(spec.load("tempe-2018"))
    names = [n for n, _, _ in road.lanes()]
    assert names == [
        "bike lane",
        "right through",
        "left through",
        "left-turn (outer)",
        "left-turn (inner)",
    ]
    assert road.suv_lane == (0.0, 3.5) and road.left_edge_m == 14.0
    assert road.lane_name(1.0) == "right through" and road.lane_name(5.0) == "left through"
