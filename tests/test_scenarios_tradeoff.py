"""The cost side: false-positive objects, nuisance hard braking and the trade-off file."""

from __future__ import annotations

import json

import pytest

from fragility.cli import main
from scenarios import spec, tradeoff
from scenarios.spec import ScenarioError
from scenarios.stats import Proportion

# A phantom in the middle of the SUV's lane, 40 m ahead, seen for 0.3 s and never again.
PHANTOM = """extends = "tempe-2018"
[tradeoff]
runs = 100
hard_brake_mps2 = 4.0
[tradeoff.axes]
"planner.suppression_s" = [0.0, 1.0]
[[tradeoff.objects]]
name = "phantom"
per_1000_km = 10.0
certainty = "U"
source = "a test"
confusion = { other = 1.0 }
flicker_hz = 0.0
lateral_m = 1.75
lateral_speed_mps = 0.0
length_m = 1.0
width_m = 0.5
range_m = 40.0
seen_s = 0.3
"""


def test_a_short_lived_phantom_brakes_the_car_only_without_suppression():
    s = spec.loads(PHANTOM, path="phantom.toml")
    result = tradeoff.run(s)
    points = {p.label: p for p in result.points}
    assert list(points) == ["as tempe-2018", "planner.suppression_s = 0"]
    # 2018: 1 s of suppression; the track is dropped 0.5 s after its last detection (0.9 s),
    # before suppression ends: the phantom never moves the brakes.
    kept = points["as tempe-2018"].nuisance[0]
    assert kept.hard.k == 0 and kept.braking.k == 0
    # No suppression: the planner acts on the first frame. Stopping 2 to 3 m short of an
    # object 40 m ahead from 43 mph needs 19.2^2 / (2 (40 - 3)) = 5.0 m/s^2 or more: hard.
    quick = points["planner.suppression_s = 0"].nuisance[0]
    assert quick.hard.k == quick.hard.n == 100
    assert points["planner.suppression_s = 0"].hard_per_1000_km == pytest.approx(10.0)


def test_events_per_1000_km_are_the_rate_times_the_share_with_variances_added():
    kinds = (
        tradeoff.Nuisance("a", 20.0, Proportion(10, 100), Proportion(30, 100)),
        tradeoff.Nuisance("b", 50.0, Proportion(4, 200), Proportion(4, 200)),
    )
    p = tradeoff.DesignPoint("x", None, {}, Proportion(1, 2), kinds)
    assert p.hard_per_1000_km == pytest.approx(20 * 0.1 + 50 * 0.02)
    var = 20**2 * 0.1 * 0.9 / 100 + 50**2 * 0.02 * 0.98 / 200
    lo, hi = p.hard_interval
    assert hi - p.hard_per_1000_km == pytest.approx(1.959963984540054 * var**0.5)
    assert lo == pytest.approx(max(0.0, 3.0 - 1.959963984540054 * var**0.5))
    d = p.to_dict()["by_kind"][0]
    assert d["hard_braking_per_1000_km_interval"] == pytest.approx(
        [20 * x for x in Proportion(10, 100).interval]
    )


def test_the_packaged_tradeoff_varies_each_setting_alone_and_names_the_2018_design():
    s = spec.load("nuisance-tradeoff")
    labels = [label for label, _, _ in tradeoff.designs(s)]
    assert labels[0] == "as persistent-tracking"
    assert "planner.suppression_s = 1" not in labels  # the design's own value: its own point
    assert "planner.motion_trust_s = 1.5" in labels  # unconfirmed: held on the axis
    assert "the 2018 design (history reset)" in labels
    assert {o.name for o in s.tradeoff.objects} == {
        "plastic bag",
        "overhead sign",
        "parked car at the kerb",
        "road debris",
    }
    assert all(o.certainty == "U" and o.source for o in s.tradeoff.objects)
    held = tradeoff.design_spec(s, {"planner.motion_trust_s": 3.0})
    assert "planner.motion_trust_s" not in held.distributions()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('extends = "tempe-2018"\n[tradeoff]\nrunz = 3\n', "unknown key"),
        (
            'extends = "tempe-2018"\n[tradeoff]\n[tradeoff.axes]\n"planner.x" = [1]\n',
            "not a parameter",
        ),
        (PHANTOM.replace("seen_s = 0.3", "seen_s = { uniform = [0.0, 1.0] }"), "outside 0.05..30"),
        (
            PHANTOM.replace(
                '"planner.suppression_s" = [0.0, 1.0]', '"planner.suppression_s" = [-1.0]'
            ),
            "negative",
        ),
        (PHANTOM.replace("confusion = { other = 1.0 }", "confusion = { other = 0.5 }"), "add up"),
    ],
)
def test_a_bad_tradeoff_table_is_a_one_line_error(text, words):
    with pytest.raises(ScenarioError) as info:
        spec.loads(text, path="bad.toml")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_the_tradeoff_command_writes_json_and_a_figure(tmp_path, capsys):
    f = tmp_path / "phantom.toml"
    f.write_text(PHANTOM)
    out = tmp_path / "t"
    assert main(["scenario", "tradeoff", str(f), "--out", str(out), "--runs", "50"]) == 0
    printed = capsys.readouterr().out
    assert "nuisance hard braking per 1,000 km" in printed and "assumptions (U)" in printed
    data = json.loads((out / "tradeoff.json").read_text())
    assert [p["label"] for p in data["points"]] == [
        "as tempe-2018",
        "planner.suppression_s = 0",
    ]
    assert data["points"][1]["nuisance_hard_braking_per_1000_km"] == pytest.approx(10.0)
    assert data["points"][0]["avoided"]["interval"] == "Wilson score, 95 %"
    assert (out / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["scenario", "tradeoff", "tempe-2018", "--out", str(out)]) == 2  # no table
