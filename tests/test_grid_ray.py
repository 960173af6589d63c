"""The same grid on a local Ray instance and on local worker processes: the same numbers."""

from __future__ import annotations

import os

import pytest

from fragility import grid
from fragility.grid.coordinator import run
from fragility.grid.store import Store

if os.environ.get("FRAGILITY_REQUIRE_RAY") == "1":
    import ray  # CI installs the extra: a missing Ray fails here instead of skipping
else:
    ray = pytest.importorskip("ray", reason="Ray is the optional extra fragility[ray]")

SMALL = """\
name = "small"
cache = false
seeds = [0, 1]

[[models]]
name = "mlp"
lecture = { kind = "mlp", hidden = [16] }
train = { epochs = 3 }

[[analyses]]
kind = "attack"
epsilons = [0.1, 0.2]
steps = 5
n = 60

[[analyses]]
kind = "garbage"
methods = ["survey"]
samples = 50
reference_images = 20
"""


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_a_grid_on_ray_gives_exactly_the_numbers_of_local_workers(local_ray, tmp_path):
    (tmp_path / "g.toml").write_text(SMALL)
    spec = grid.load(tmp_path / "g.toml")
    on_ray = run(spec, tmp_path / "ray", ray="auto")
    local = run(spec, tmp_path / "local", workers=2)
    assert on_ray.counts["done"] == local.counts["done"] == 6
    a, b = Store.open(tmp_path / "ray"), Store.open(tmp_path / "local")
    assert [r["executor"] for r in a.runs()] == ["ray"]
    rows_a, rows_b = a.jobs(), b.jobs()
    assert [r.id for r in rows_a] == [r.id for r in rows_b]
    for x, y in zip(rows_a, rows_b, strict=True):
        assert x.result == y.result, x.id  # trained weights, attacks and garbage alike
        assert (x.weights_hash, x.data_hash) == (y.weights_hash, y.data_hash), x.id
    assert ray.is_initialized()  # the grid used the caller's Ray and left it running
