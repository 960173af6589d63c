"""The README's tour prints what the code prints (tests/readme_tour.py regenerates it).

Runs the fast blocks of the tour (every block but garbage, shortcut, the report and the case
study, which take minutes) in a temporary folder under the tour's conditions and compares them
with README.md, timings normalised. A failure means the README is stale: run
`python tests/readme_tour.py`.
"""

from __future__ import annotations

import readme_tour


def test_the_readme_tour_matches_what_the_commands_print(tmp_path):
    text = readme_tour.README.read_text()
    new, ran = readme_tour.regenerate(text, tmp_path, fast_only=True)
    commands = [c for block in ran for c in block.commands]
    for expected in (
        "fragility train --out runs/mlp",
        "fragility invert --checkpoint runs/mlp --out out/invert",
        "fragility scenario run tempe-2018 --out out/tempe",
    ):
        assert expected in commands
    old_lines, new_lines = text.split("\n"), new.split("\n")
    assert len(new_lines) == len(old_lines), "README.md is stale: run tests/readme_tour.py"
    for block in ran:  # so each block that ran spans the same lines in both texts
        was = readme_tour.normalise("\n".join(old_lines[block.start : block.end]))
        now = readme_tour.normalise("\n".join(new_lines[block.start : block.end]))
        assert now == was, f"README.md is stale at line {block.start}: run tests/readme_tour.py"


def test_normalise_replaces_timings_only():
    n = readme_tour.normalise
    assert n("accuracy 98.9 %, trained in 2.7 s -> runs/cnn") == n(
        "accuracy 98.9 %, trained in 14.25 s -> runs/cnn"
    )
    # a table's last column (garbage's "time"), wider or narrower
    assert n("ascent    10/10  54 steps        0.09 s") == n("ascent  10/10  54 steps  10.29 s")
    assert n("wrote x (9 sections) in 16.0 s") == "wrote x (9 sections) in <seconds>"
    assert n("sweep: 3,500 runs in 4.5 s (35 cells)") == "sweep: 3,500 runs in <seconds> (35 cells)"
    # Simulated times are compared exactly.
    assert n("braking 0.20 s (ADS slowdown) before impact") != n(
        "braking 0.30 s (ADS slowdown) before impact"
    )
    assert n("accuracy 98.9 %") != n("accuracy 98.8 %")
    # where Debian's dataset packages are installed, or not, but nothing else in the listing
    found = "fashion-mnist      28x28      /usr/share/datasets/fashion-mnist"
    missing = "fashion-mnist      28x28      not found: on Debian: apt-get install it"
    assert n(found) == n(missing)
    assert n("kmnist  28x28  not found: pass --download") != n("kmnist  28x28  /data/kmnist")
