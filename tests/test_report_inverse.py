from __future__ import annotations

import json

from fragility.report.section import FigureBlock, Table
from fragility.report.sections import inverse


def test_inverse_section_numbers_text_and_figures(quick_context):
    ctx = quick_context
    s = inverse.build(ctx)
    assert (s.slug, s.title) == ("inverse", "Inverse images: what the neurons respond to")
    m = s.metrics
    assert set(m) == {"mlp", "cnn"}
    json.dumps(m)  # fit for metrics.json
    for name in ("mlp", "cnn"):
        p = m[name]["pruning"]
        k = p["fractions"].index(inverse.SHOWN_FRACTION)
        assert p["top"][k] < p["random"][k] <= p["bottom"][k] + 0.01
        assert m[name]["classes"]["n_units"] == 10
    assert m["mlp"]["first_layer_weights"]["n_units"] == 16
    assert m["mlp"]["hidden"]["layers"] == ["fc1", "fc2"]
    # the analyses' own numbers, under the names inversion.json uses
    assert set(m["mlp"]) >= {"classes", "first_layer_weights", "saliency", "inversion"}
    assert m["mlp"]["by_probability"]["config"]["probability"] is True
    # The plain-language opening quotes the numbers it rests on.
    c = m["mlp"]["classes"]
    beaten = (
        "for every one of the 10 classes"
        if c["beats_training"] == 10
        else f"for {c['beats_training']} of the 10 classes"
    )
    assert beaten in s.intro
    assert f"{100 * m['mlp']['pruning']['top'][0]:.1f} %" in s.intro
    assert "we might hope" in s.intro.lower()
    figures = [b for b in s.blocks if isinstance(b, FigureBlock)]
    assert all(f.png.startswith(b"\x89PNG") for f in figures)
    assert len({f.name for f in figures}) == len(figures)
    # Quick: the galleries of hidden units and look-alikes are left to the full report.
    per_model = ("classes", "weights", "saliency")
    assert {f.name for f in figures} == {
        "inverse-pruning",
        *(f"inverse-{part}-{name}" for name in ("mlp", "cnn") for part in per_model),
    }
    assert any(isinstance(b, Table) for b in s.blocks)
    assert len(inverse.findings(m)) == 2
    # Same seed, same numbers.
    assert inverse.build(ctx).metrics == m
