"""The overview: plain sentences with the report's own numbers, each linking to its section,
and a scorecard whose verdicts follow the stated thresholds and read without colour."""

from __future__ import annotations

import re

from fragility.report import overview
from fragility.report.html import render


def _metrics(pgd: float, noise: float, sure: int, worst: float, follows: float) -> dict:
    """The parts of metrics.json the overview reads, for one model 'mlp'."""
    return {
        "dataset": {"n_test": 450, "class_names": [str(i) for i in range(10)]},
        "models": {"mlp": {}, "autoencoder": {}},
        "sections": {
            "models": {"mlp": {"test_accuracy": 0.964}},
            "mistakes": {"mlp": {"errors": 16, "confident_errors": sure}},
            "adversarial": {
                "models": {
                    "mlp": {
                        "pgd": {
                            "epsilons": [0.0, 0.05, 0.1],
                            "grey_levels": [0.0, 12.75, 25.5],
                            "clean_accuracy": 0.964,
                            "robust_accuracy": [0.964, 0.6, pgd],
                        }
                    }
                }
            },
            "garbage": {
                "models": {
                    "mlp": {"survey": {"families": {"uniform": {"share_above": {"0.9": noise}}}}}
                }
            },
            "corruptions": {"mlp": {"accuracy": {"shot noise": 0.9, "canny edges": worst}}},
            "shortcut": {
                "correlation": 0.9,
                "models": {"mlp": {"runs": {"cued": {"wrong_follows_cue": follows}}}},
            },
        },
    }


def _levels(o: overview.Overview) -> dict[str, str]:
    return {t.key: c.level for t, c in zip(o.tests, o.cells[0], strict=True)}


def test_verdicts_follow_the_thresholds():
    bad = overview.build(_metrics(pgd=0.118, noise=0.29, sure=8, worst=0.10, follows=0.724))
    assert bad.models == ("mlp",)  # the autoencoder is not scored
    assert _levels(bad) == {
        "accuracy": "plain",
        "sure-wrong": "fails",  # 8 of 450 = 1.8 % > 1 %
        "attack": "fails",  # 11.8 % < 50 %
        "noise": "fails",  # 29 % > 5 %
        "damage": "fails",  # 10 % < 50 %
        "shortcut": "fails",  # 72.4 % > 50 %
    }
    weak = overview.build(_metrics(pgd=0.593, noise=0.01, sure=2, worst=0.7, follows=0.2))
    assert set(_levels(weak).values()) == {"plain", "weak"}
    good = overview.build(_metrics(pgd=0.95, noise=0.0, sure=0, worst=0.9, follows=0.02))
    assert set(_levels(good).values()) == {"plain", "holds"}
    # Readable without colour: a symbol and a word in every graded cell.
    cells = {(c.symbol, c.word) for row in (bad.cells, weak.cells, good.cells) for c in row[0]}
    assert {("✗", "fails"), ("!", "weak"), ("✓", "holds")} <= cells


def test_sentences_carry_the_numbers_and_link_their_sections():
    o = overview.build(_metrics(pgd=0.118, noise=0.29, sure=8, worst=0.10, follows=0.724))
    text = " ".join(o.sentences)
    assert 3 <= len(o.sentences) <= 5
    assert [re.search(r"\]\(#([a-z]+)\)", s).group(1) for s in o.sentences] == [
        "mistakes",
        "adversarial",
        "garbage",
        "corruptions",
        "shortcut",
    ]
    for number in (
        "16 wrong, 8 of them",
        "26 of 255",
        "96.4 % to 11.8 %",
        "29.0 %",
        "10.0 %",
        "72.4 %",
    ):
        assert number in text, number
    assert "digit" in text


def test_a_section_not_run_is_said_not_guessed():
    m = _metrics(pgd=0.118, noise=0.29, sure=8, worst=0.10, follows=0.724)
    del m["sections"]["shortcut"]
    m["sections"]["garbage"]["models"] = {}
    o = overview.build(m)
    assert "shortcut" not in [t.key for t in o.tests]
    assert _levels(o)["noise"] == "none" and o.cells[0][3].word == "not run"
    assert not any("#shortcut" in s or "#garbage" in s for s in o.sentences)


def test_the_report_overview_on_the_page(quick_report):
    o = overview.build(quick_report.metrics)
    slugs = {s.slug for s in quick_report.sections}
    assert o.models == ("mlp", "cnn") and len(o.sentences) == 5
    assert all(t.slug in slugs for t in o.tests)
    # Every cell is graded, except the quick run's shortcut lesson, which trains the MLP only.
    none = [
        (m, t.key)
        for m, row in zip(o.models, o.cells, strict=True)
        for t, c in zip(o.tests, row, strict=True)
        if c.level == "none"
    ]
    assert set(none) <= {("cnn", "shortcut")}
    page = render("t", quick_report.sections, overview=o)
    assert page.index('id="overview"') < page.index('id="models"')
    assert page.count('class="verdict v-') == sum(
        c.level not in ("plain",) for row in o.cells for c in row
    )
