"""The report's overview: what fails and how badly in a few plain sentences, each linking to its
section, and a scorecard of model x test with a verdict that reads without colour.

Everything here is read from the report's numbers (`Report.metrics`, the content of
metrics.json), and each number through ONE accessor in `READ` below: when a section renames a
key, the fix is one line there. A test that a section did not run, or a model it did not
cover, shows as "not run", never as a guess.

The verdict rules are fixed thresholds, printed under the scorecard (`Test.rule`), so a reader
can disagree with them knowingly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fragility._fmt import pct

# ---------------------------------------------------------------------------------------------
# Where each number lives in metrics.json. One line per number.

Metrics = Mapping[str, Any]

READ: dict[str, Callable[[Metrics, str], Any]] = {
    "n_test": lambda r, m: r["dataset"]["n_test"],
    "test_accuracy": lambda r, m: r["sections"]["models"][m]["test_accuracy"],
    "errors": lambda r, m: r["sections"]["mistakes"][m]["errors"],
    "sure_errors": lambda r, m: r["sections"]["mistakes"][m]["confident_errors"],
    "attack_epsilons": lambda r, m: _first_model(r["sections"]["adversarial"])["pgd"]["epsilons"],
    "attack_grey_levels": lambda r, m: _first_model(r["sections"]["adversarial"])["pgd"][
        "grey_levels"
    ],
    "attack_clean": lambda r, m: r["sections"]["adversarial"]["models"][m]["pgd"]["clean_accuracy"],
    "attack_pgd": lambda r, m: r["sections"]["adversarial"]["models"][m]["pgd"]["robust_accuracy"],
    "noise_sure": lambda r, m: r["sections"]["garbage"]["models"][m]["survey"]["families"][
        "uniform"
    ]["share_above"]["0.9"],
    "damage_by_kind": lambda r, m: r["sections"]["corruptions"][m]["accuracy"],
    "shortcut_follows": lambda r, m: r["sections"]["shortcut"]["models"][m]["runs"]["cued"][
        "wrong_follows_cue"
    ],
    "shortcut_correlation": lambda r, m: r["sections"]["shortcut"]["correlation"],
}


def _first_model(section: Metrics) -> Metrics:
    return next(iter(section["models"].values()))


ATTACK_EPSILON = 0.1  # the budget the overview quotes: about 26 of 255 grey levels


def _read(metrics: Metrics, key: str, model: str = "") -> Any:
    """The number, or None when its section (or the model in it) is not in this report."""
    try:
        return READ[key](metrics, model)
    except (KeyError, IndexError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True)
class Cell:
    level: str  # "fails", "weak", "holds", "none" (not run) or "plain" (a number, no verdict)
    value: str = ""  # the number behind the verdict, short: "11.8 %"
    note: str = ""  # the same in words, shown on hover

    @property
    def symbol(self) -> str:
        return {"fails": "✗", "weak": "!", "holds": "✓", "none": "–"}.get(self.level, "")

    @property
    def word(self) -> str:
        return {"fails": "fails", "weak": "weak", "holds": "holds", "none": "not run"}.get(
            self.level, ""
        )


def _grade(x: float, fails: float, weak: float, *, higher_is_worse: bool) -> str:
    if higher_is_worse:
        return "fails" if x > fails else "weak" if x > weak else "holds"
    return "fails" if x < fails else "weak" if x < weak else "holds"


@dataclass(frozen=True)
class Test:
    key: str
    name: str  # the scorecard's column
    slug: str  # the section it links to
    rule: str  # the verdict's rule, in words
    grade: Callable[[Metrics, str], Cell]


def _accuracy(s: Metrics, m: str) -> Cell:
    acc = _read(s, "test_accuracy", m)
    return Cell("plain", pct(acc), "") if acc is not None else Cell("none")


def _sure_wrong(s: Metrics, m: str) -> Cell:
    sure, n = _read(s, "sure_errors", m), _read(s, "n_test", m)
    if sure is None or not n:
        return Cell("none")
    share = sure / n
    return Cell(
        _grade(share, 0.01, 0.002, higher_is_worse=True),
        f"{sure} of {n:,}",
        f"{sure} of {n:,} test images answered wrongly with more than 90 % confidence",
    )


def _attack_index(s: Metrics) -> int | None:
    eps = _read(s, "attack_epsilons")
    return eps.index(ATTACK_EPSILON) if eps and ATTACK_EPSILON in eps else None


def _attack(s: Metrics, m: str) -> Cell:
    i, pgd, clean = _attack_index(s), _read(s, "attack_pgd", m), _read(s, "attack_clean", m)
    if i is None or pgd is None or clean is None:
        return Cell("none")
    level = "fails" if pgd[i] < 0.5 else "weak" if pgd[i] < 0.9 * clean else "holds"
    return Cell(level, pct(pgd[i]), f"{pct(pgd[i])} correct under attack ({pct(clean)} clean)")


def _bad_share(share: float | None, fails: float, weak: float, note: str) -> Cell:
    """A share of bad outcomes: fails above `fails`, weak above `weak`; `note` has a {} for
    the share."""
    if share is None:
        return Cell("none")
    grade = _grade(share, fails, weak, higher_is_worse=True)
    return Cell(grade, pct(share), note.format(pct(share)))


def _noise(s: Metrics, m: str) -> Cell:
    return _bad_share(
        _read(s, "noise_sure", m),
        0.05,
        0.005,
        "{} of random-noise images called a class with more than 90 % confidence",
    )


def _worst_damage(s: Metrics, m: str) -> tuple[str, float] | None:
    by_kind = _read(s, "damage_by_kind", m)
    if not by_kind:
        return None
    kind = min(by_kind, key=by_kind.get)
    return kind, by_kind[kind]


def _damage(s: Metrics, m: str) -> Cell:
    worst = _worst_damage(s, m)
    if worst is None:
        return Cell("none")
    kind, acc = worst
    return Cell(
        _grade(acc, 0.5, 0.8, higher_is_worse=False),
        pct(acc),
        f"{pct(acc)} correct under {kind}, the worst of the corruptions",
    )


def _shortcut(s: Metrics, m: str) -> Cell:
    return _bad_share(
        _read(s, "shortcut_follows", m),
        0.5,
        0.1,
        "follows a wrong class's patch on {} of test images",
    )


TESTS = (
    Test("accuracy", "Clean accuracy", "models", "", _accuracy),
    Test(
        "sure-wrong",
        "Sure but wrong",
        "mistakes",
        "test images answered wrongly at > 90 % confidence: fails above 1 %, weak above 0.2 %",
        _sure_wrong,
    ),
    Test(
        "attack",
        "Invisible changes",
        "adversarial",
        "accuracy when each pixel may move 26 of 255 grey levels (PGD, epsilon 0.1): fails "
        "below 50 %, weak below 90 % of clean accuracy",
        _attack,
    ),
    Test(
        "noise",
        "Sees a class in noise",
        "garbage",
        "random noise called a class at > 90 %: fails above 5 %, weak above 0.5 %",
        _noise,
    ),
    Test(
        "damage",
        "Everyday damage",
        "corruptions",
        "accuracy under the worst corruption: fails below 50 %, weak below 80 %",
        _damage,
    ),
    Test(
        "shortcut",
        "Takes a shortcut",
        "shortcut",
        "follows a misleading patch: fails above 50 %, weak above 10 %",
        _shortcut,
    ),
)


# ---------------------------------------------------------------------------------------------
# Words


def display_name(model: str) -> str:
    """'mlp' -> 'MLP', 'cnn' -> 'CNN'; longer names are kept as written."""
    return model.upper() if len(model) <= 4 and model.isalpha() else model


def _list(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _sentences(s: Metrics, models: Sequence[str], thing: str) -> list[str]:
    out = []
    names = {m: f"the {display_name(m)}" for m in models}

    have = [m for m in models if _read(s, "sure_errors", m) is not None]
    if have:
        n = _read(s, "n_test", have[0])
        parts = [
            f"{names[m]} got {_read(s, 'errors', m)} wrong, "
            f"{_read(s, 'sure_errors', m)} of them with more than 90 % confidence"
            for m in have[:1]
        ]
        parts += [
            f"{names[m]} {_read(s, 'errors', m)}, {_read(s, 'sure_errors', m)} of them that sure"
            for m in have[1:]
        ]
        out.append(
            f"[Confidence is no guide to being right](#mistakes): of {n:,} test images, "
            f"{'; '.join(parts)}."
        )

    i = _attack_index(s)
    have = [m for m in models if _read(s, "attack_pgd", m) is not None]
    if have and i is not None:
        grey = _read(s, "attack_grey_levels")[i]
        parts = [
            f"{names[m]} from {pct(_read(s, 'attack_clean', m))} to "
            f"{pct(_read(s, 'attack_pgd', m)[i])} correct"
            for m in have
        ]
        parts[1:] = [p.replace(" correct", "") for p in parts[1:]]
        out.append(
            f"[Changes too small to see](#adversarial) break them: moving each pixel by at most "
            f"{grey:.0f} of 255 grey levels takes {_list(parts)}."
        )

    have = [m for m in models if _read(s, "noise_sure", m) is not None]
    if have:
        parts = [f"{names[m]} {pct(_read(s, 'noise_sure', m))}" for m in have]
        parts[0] = (
            f"{names[have[0]]} calls {pct(_read(s, 'noise_sure', have[0]))} of random-noise "
            f"images {_article(thing)} {thing} with more than 90 % confidence"
        )
        things = "classes" if thing == "class" else f"{thing}s"
        out.append(f"[They see {things} in pure noise](#garbage): {', '.join(parts)}.")

    have = [m for m in models if _worst_damage(s, m) is not None]
    if have:
        worst = {m: _worst_damage(s, m) for m in have}
        kinds = {kind for kind, _ in worst.values()}  # type: ignore[misc]
        if len(kinds) == 1:
            parts = [f"{names[m]} {pct(acc)}" for m, (_, acc) in worst.items()]  # type: ignore[misc]
            first = worst[have[0]][1]  # type: ignore[index]
            said = (
                f"under {kinds.pop()}, {names[have[0]]} reads only {pct(first)} of the test "
                "images correctly" + "".join(f", {p}" for p in parts[1:])
            )
        else:
            said = "; ".join(
                f"{names[m]} reads {pct(acc)} correctly under {kind}"
                for m, (kind, acc) in worst.items()  # type: ignore[misc]
            )
        out.append(
            f"[Damage a person reads through](#corruptions) defeats them: {said} (the worst of "
            "the corruptions tried)."
        )

    have = [m for m in models if _read(s, "shortcut_follows", m) is not None]
    if have:
        corr = _read(s, "shortcut_correlation")
        parts = [f"{names[m]} {pct(_read(s, 'shortcut_follows', m))}" for m in have]
        parts[0] = (
            f"{names[have[0]]} follows a patch that points to the wrong class "
            f"{pct(_read(s, 'shortcut_follows', have[0]))} of the time"
        )
        out.append(
            f"[Offered a shortcut, they take it](#shortcut): trained with a patch that marks "
            f"each class on {pct(corr, 0)} of the images, {', '.join(parts)}."
        )
    return out


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


# ---------------------------------------------------------------------------------------------
# The overview


@dataclass(frozen=True)
class Overview:
    heading: str
    sentences: tuple[str, ...]  # inline markup, each with a link to its section
    models: tuple[str, ...]
    tests: tuple[Test, ...]  # the scorecard's columns (only those this report ran)
    cells: tuple[tuple[Cell, ...], ...]  # [model][test]

    def to_page(self) -> dict[str, Any]:
        """What the page template needs (strings already marked up): one row per test, one
        column per model (few models, several tests: it fits a phone)."""
        from fragility.report.html import inline

        if not self.tests:
            scorecard = None
        else:
            scorecard = {
                "models": [display_name(m) for m in self.models],
                "rows": [
                    {
                        "name": t.name,
                        "slug": t.slug,
                        "rule": t.rule,
                        "cells": [
                            {
                                "level": row[j].level,
                                "symbol": row[j].symbol,
                                "word": row[j].word,
                                "value": row[j].value,
                                "note": row[j].note,
                            }
                            for row in self.cells
                        ],
                    }
                    for j, t in enumerate(self.tests)
                ],
                "key": "✗ fails, ! weak, ✓ holds: each test's rule is under its name.",
            }
        return {
            "heading": self.heading,
            "sentences": [inline(x) for x in self.sentences],
            "scorecard": scorecard,
        }


def build(metrics: Metrics) -> Overview:
    """The overview of a failure report from its metrics (metrics.json)."""
    models = tuple(m for m in metrics.get("models", {}) if m != "autoencoder")
    classes = metrics.get("dataset", {}).get("class_names", [])
    thing = "digit" if list(classes) == [str(i) for i in range(10)] else "class"
    tests = tuple(t for t in TESTS if t.slug in metrics.get("sections", {}))
    cells = tuple(tuple(t.grade(metrics, m) for t in tests) for m in models)
    return Overview(
        heading="What this report found",
        sentences=tuple(_sentences(metrics, models, thing)),
        models=models,
        tests=tests,
        cells=cells,
    )


def title(dataset: str, models: Sequence[str]) -> str:
    """The page's title: 'Failure report: digits, MLP and CNN'."""
    return f"Failure report: {dataset}, {_list([display_name(m) for m in models])}"
