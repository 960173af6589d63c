"""Every packaged scenario gives the numbers it gave before the simulator became one.

The record is tests/data/scenario_golden.json, written by tests/scenario_golden.py (see there
for what it keeps and when to rewrite it).
"""

from __future__ import annotations

import json
import math

import pytest
from scenario_golden import GOLDEN, recorded, snapshot


def _diff(a, b, path: str = "") -> list[str]:
    """Where two JSON-like values differ (numbers to 1e-8 relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: missing" for k in a.keys() ^ b.keys()]
        for k in a.keys() & b.keys():
            out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    if numbers and (isinstance(a, float) or isinstance(b, float)):
        close = math.isclose(a, b, rel_tol=1e-8, abs_tol=1e-9)
        return [] if close else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.fixture(scope="module")
def now() -> dict:
    return snapshot()


@pytest.fixture(scope="module")
def before() -> dict:
    return json.loads(GOLDEN.read_text())


def test_the_record_covers_every_packaged_scenario(before):
    from scenarios import spec

    names = {n for n in spec.packaged_names() if recorded(spec.load(n))}
    assert set(before["runs"]) | set(before["sweeps"]) == names


@pytest.mark.parametrize("part", ["runs", "sweeps"])
def test_same_numbers_as_before(now, before, part):
    diffs = _diff(before[part], now[part], part)
    assert not diffs, "\n".join(diffs[:20])
