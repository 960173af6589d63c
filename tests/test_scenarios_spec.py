"""Scenario files: strict validation with file, key and line; extends; provenance; a fuzz."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fragility.errors import FragilityError
from scenarios import spec
from scenarios.simulate import simulate
from scenarios.spec import ScenarioError

TEMPE = resources.files("scenarios").joinpath("tempe-2018.toml").read_text()


def test_every_packaged_scenario_loads_and_each_counterfactual_is_one_line():
    names = spec.packaged_names()
    assert {
        "tempe-2018",
        "no-suppression",
        "emergency-braking",
        "persistent-tracking",
        "jaywalker-aware",
        "attentive-operator",
        "volvo-aeb",
    } <= set(names)
    for name in names:
        s = spec.load(name)
        if s.sweep is None and s.tradeoff is None and name != "tempe-2018":
            assert len(s.changes) == 1, (name, s.changes)
    assert spec.load("no-suppression").changes == (("planner.suppression_s", 1.0, 0.0),)
    assert issubclass(ScenarioError, FragilityError)


def test_provenance_tells_a_record_from_an_assumption():
    s = spec.load("tempe-2018")
    p = s.provenance
    assert p["planner.suppression_s"].certainty == "Q"
    assert "action-suppression" in p["planner.suppression_s"].source
    assert p["pedestrian.speed_mps"].certainty == "U"
    assert p["world.start_gap_m"].certainty == "D"
    assert p["world.step_s"].certainty == "setting"
    assert re.search(r"tempe-2018\.toml:\d+$", p["planner.suppression_s"].origin)
    cf = spec.load("no-suppression")
    assert cf.provenance["planner.suppression_s"].certainty == "what-if"
    assert cf.provenance["pedestrian.speed_mps"].certainty == "U"  # inherited, still labelled
    assert [e.certainty for e in s.perception.events][:3] == ["P", "P", "P"]


def _base(body: str) -> str:
    return 'extends = "tempe-2018"\n' + body


# (file text, key named in the message, line named, words in the message)
BAD = [
    (_base("[planner]\nsuppresion_s = 0.5\n"), "planner.suppresion_s", 3, "unknown key"),
    (_base('[planner]\nsuppression_s = "long"\n'), "planner.suppression_s", 3, "expected a number"),
    (_base("[planner]\nsuppression_s = true\n"), "planner.suppression_s", 3, "expected a number"),
    (_base("[planner]\nsuppression_s = nan\n"), "planner.suppression_s", 3, "finite"),
    (_base("[pedestrian]\nspeed_mps = -1.4\n"), "pedestrian.speed_mps", 3, "negative"),
    (_base("[suv]\ninitial_speed_mph = -43\n"), "suv.initial_speed_mph", 3, "negative"),
    (_base("[suv]\nwidth_m = 3.9\n"), "suv.width_m", 3, "does not fit its lane"),
    (
        _base("[pedestrian]\nlateral_at_impact_m = 30.0\n"),
        "pedestrian.lateral_at_impact_m",
        3,
        "off the road",
    ),
    (_base("[world]\nend_s = -7.0\n"), "world.end_s", 3, "not after start_s"),
    (_base("[perception]\nperiod_s = 0.03\n"), "perception.period_s", 3, "not a multiple"),
    (
        _base("[planner]\nemergency_decel_mps2 = 11.0\n"),
        "planner.emergency_decel_mps2",
        3,
        "more than the tyres give",
    ),
    (_base("[planer]\njaywalkers = true\n"), "planer", 2, "unknown key"),
    (_base('[tracking]\npolicy = "forgetful"\n'), "tracking.policy", 3, "expected one of"),
    (
        _base('[planner]\nsuppression_s = { value = 1.0, certainty = "X" }\n'),
        "planner.suppression_s.certainty",
        3,
        "expected one of Q, P, D, S, U",
    ),
    (
        _base('[planner]\nsuppression_s = { value = 1.0, fact = "nope" }\n'),
        "planner.suppression_s.fact",
        3,
        "no fact 'nope'",
    ),
    (
        _base("[perception.flicker]\nconfusion = { vehicle = 0.5, other = 0.4 }\n"),
        "perception.flicker.confusion",
        3,
        "add up to 0.9",
    ),
    (
        _base(
            '[perception]\nevents = [\n  { t_s = -5.6, sensor = "radar", class = "vehicle", '
            'certainty = "P" },\n  { t_s = -5.8, sensor = "lidar", class = "other", '
            'certainty = "P" },\n]\n'
        ),
        "perception.events",
        3,
        "must increase",
    ),
    (
        _base(
            '[perception]\nevents = [\n  { t_s = -5.6, sensor = "sonar", class = "vehicle", '
            'certainty = "P" },\n]\n'
        ),
        "perception.events[0].sensor",
        4,
        "expected one of",
    ),
    ('extends = "tempe-2019"\n', "extends", 1, "no such scenario file"),
    ("extends = 3\n", "extends", 1, "expected a scenario name"),
    (_base("[planner\nsuppression_s = 0.5\n"), "", 2, "not valid TOML"),
    ('name = "x"\n[world]\nstep_s = 0.02\n', "world.start_s", 2, "missing"),
    (
        _base('[sweep]\nruns = 10\n[sweep.grid]\n"planner.suppression" = [0.0]\n'),
        "sweep.grid.planner.suppression",
        5,
        "not a parameter",
    ),
    (
        _base('[sweep]\n[sweep.grid]\n"planner.suppression_s" = [0.0, -1.0]\n'),
        "sweep.grid.planner.suppression_s[1]",
        4,
        "negative",
    ),
    (
        _base('[sweep]\n[sweep.sample]\n"pedestrian.speed_mps" = { normal = [1.4, 0.2] }\n'),
        "sweep.sample.pedestrian.speed_mps",
        4,
        "add min and max",
    ),
    (
        _base('[sweep]\n[sweep.sample]\n"tracking.policy" = { uniform = [0, 1] }\n'),
        "sweep.sample.tracking.policy",
        4,
        "only numbers",
    ),
    (
        _base('[sweep]\n[sweep.sample]\n"pedestrian.speed_mps" = { uniform = [1.0, 20.0] }\n'),
        "sweep.sample.pedestrian.speed_mps",
        4,
        "can draw 20",
    ),
]


@pytest.mark.parametrize(("text", "key", "line", "words"), BAD)
def test_a_malformed_file_names_file_key_and_line(tmp_path, text, key, line, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        spec.load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:{line}: "), msg
    assert words in msg, msg
    if key:
        assert f": {key}: " in msg, msg
    assert "\n" not in msg


def test_a_cycle_of_extends_is_an_error(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b"\n')
    (tmp_path / "b.toml").write_text('extends = "a"\n')
    with pytest.raises(ScenarioError, match=r"b\.toml:1: extends: 'a' makes a cycle"):
        spec.load(tmp_path / "a.toml")


def test_an_error_in_a_base_file_names_the_base_file(tmp_path):
    (tmp_path / "base.toml").write_text(TEMPE.replace("step_s = 0.02", "step_s = -0.02"))
    (tmp_path / "child.toml").write_text('extends = "base"\n[planner]\nsuppression_s = 0.0\n')
    with pytest.raises(ScenarioError) as info:
        spec.load(tmp_path / "child.toml")
    line = TEMPE.splitlines().index("step_s = 0.02") + 1
    assert str(info.value).startswith(f"{tmp_path / 'base.toml'}:{line}: world.step_s: ")


def test_missing_file_and_bad_bytes(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        spec.load(tmp_path / "nothing.toml")
    (tmp_path / "latin.toml").write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match="not UTF-8"):
        spec.load(tmp_path / "latin.toml")


def test_with_values_validates_like_the_file():
    s = spec.load("tempe-2018")
    assert s.with_values({"perception.flicker.rate_hz": 1.0}).perception.flicker.rate_hz == 1.0
    with pytest.raises(ScenarioError, match="negative"):
        s.with_values({"pedestrian.speed_mps": -1.0})
    with pytest.raises(ScenarioError, match="not a parameter"):
        s.with_values({"pedestrian.speed": 1.0})


def test_line_index_follows_tables_inline_tables_and_array_items():
    from fragility.tomlfile import line_index

    text = 'a = 1\n[b]\nc = { d = 2 }\ne = [\n  { f = 3 },\n  { g = 4 },\n]\n[h.i]\n"j.k" = 5\n'
    idx = line_index(text)
    assert idx[("a",)] == 1 and idx[("b", "c", "d")] == 3
    assert idx[("b", "e", 1)] == 6 and idx[("b", "e", 1, "g")] == 6
    assert idx[("h", "i", "j.k")] == 9
    # A '#' or a bracket inside a string neither starts a comment nor opens an array.
    text = 'a = ["#", 1] # ]\nb = [\n  { c = "]" },\n  { e = "#" },\n]\nd = 1\n'
    idx = line_index(text)
    assert idx[("a",)] == 1 and idx[("b", 0)] == 3 and idx[("b", 0, "c")] == 3
    assert idx[("b", 1)] == 4 and idx[("b", 1, "e")] == 4 and idx[("d",)] == 6


# ---------------------------------------------------------------------------------------------
# Fuzz: whatever the text, the parser returns a valid spec or raises ScenarioError.

LINES = TEMPE.splitlines()
VALUES = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: {float("inf"): "inf", float("-inf"): "-inf"}.get(x, "nan" if x != x else repr(x))
    ),
    st.sampled_from(
        [
            "true",
            "false",
            '""',
            '"persistent"',
            "[]",
            "[1, 2]",
            "{}",
            "{ value = 1 }",
            '{ value = 1.0, certainty = "Q" }',
            '"tempe-2018"',
            '{ value = true, fact = "crash" }',
            "1979-05-27",
            "[[1]]",
        ]
    ),
    st.text(max_size=12).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
)


@st.composite
def mutated(draw) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "delete", "duplicate", "garbage", "key"]))
        if op == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=", 1)[0] + "= " + draw(VALUES)
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "key" and "=" in lines[i]:
            lines[i] = (
                draw(st.sampled_from(["x", "speed", "policy", "value", "name"]))
                + " ="
                + (lines[i].split("=", 1)[1])
            )
        else:
            lines.insert(i, draw(st.text(max_size=20)))
    return "\n".join(lines)


def _check(text: str) -> None:
    try:
        s = spec.loads(text, path="fuzz.toml")
    except ScenarioError as exc:
        msg = str(exc)
        assert "\n" not in msg
        assert msg.startswith("fuzz.toml") or "tempe-2018" in msg, msg
        return
    assert isinstance(s, spec.ScenarioSpec)
    if (s.world.end_s - s.world.start_s) / s.world.step_s <= 800:
        simulate(s)  # a valid spec runs


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_files_end_in_a_spec_or_a_scenario_error(text):
    _check(text)


@settings(deadline=None, max_examples=100)
@given(st.text(max_size=200))
def test_fuzz_any_text_ends_in_a_spec_or_a_scenario_error(text):
    _check(text)


def test_the_step_defaults_to_0_02_s():
    text = "\n".join(line for line in TEMPE.splitlines() if not line.startswith("step_s"))
    assert spec.loads(text, path="no-step.toml").world.step_s == 0.02


def test_loads_resolves_extends_from_a_folder(tmp_path):
    (tmp_path / "mine.toml").write_text(TEMPE.replace('name = "tempe-2018"', 'name = "mine"'))
    s = spec.loads(
        'extends = "mine"\n[planner]\nalert = false\n', path="x.toml", folder=Path(tmp_path)
    )
    assert s.planner.alert is False and s.changes == (("planner.alert", True, False),)


def test_a_misspelt_key_gets_a_suggestion():
    with pytest.raises(ScenarioError, match=r"unknown key \(did you mean suppression_s\?\)"):
        spec.loads(_base("[planner]\nsuppresion_s = 0\n"))
    with pytest.raises(ScenarioError, match=r"did you mean extends\?"):
        spec.loads('extend = "tempe-2018"\n')
    with pytest.raises(ScenarioError) as far:
        spec.loads(_base("[planner]\nbanana = 1\n"))
    assert "did you mean" not in str(far.value)
