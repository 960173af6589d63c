"""A shortcut, like the crosswalk: a class-specific mark planted in the training data, the
model that learns it, the four tests, the sweep over correlation, where the model looks, and
the remedy (fragility.shortcut)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fragility import shortcut as sc
from fragility._fmt import pct as _pct
from fragility.data import DataBundle, subset
from fragility.figures import shortcut as figs
from fragility.figures import to_png
from fragility.figures.inversion import maxima_gallery
from fragility.models import default_spec
from fragility.report.section import (
    Comparison,
    FigureBlock,
    Paragraph,
    ReportContext,
    Section,
    Table,
)
from fragility.report.sections import TITLES
from fragility.train import default_config

SLUG = "shortcut"
TITLE = TITLES[SLUG]
CUE = "stripes"
CORRELATION = 0.9
REMEDY = "randomise"
HELPER = "cnn"  # the lesson's stand-in when the report's models were trained elsewhere


# On the 60,000-image sets the lesson trains on a stratified subset, so that its eight to ten
# trainings fit the report's budget; the text says so.
LARGE = 10_000
SUBSET_TRAIN, SUBSET_TEST, SUBSET_EPOCHS = 6_000, 2_000, 10


def _lesson_data(ctx: ReportContext) -> tuple[DataBundle, int | None]:
    """The data the lesson trains on, and the epochs (None: the default for that data)."""
    if len(ctx.data.x_train) <= LARGE:
        return ctx.data, None
    return subset(ctx.data, SUBSET_TRAIN, SUBSET_TEST, seed=ctx.seed), SUBSET_EPOCHS


def _kinds(ctx: ReportContext) -> list[str]:
    """The networks the lesson retrains: the lecture's networks of this report, or, for a
    report on models trained elsewhere, fragility's small CNN as a stand-in (HELPER)."""
    return ctx.trained_here or [HELPER]


def _study(ctx: ReportContext, data: DataBundle, epochs: int | None) -> sc.ShortcutStudy:
    cue = sc.Cue(CUE, data.input_shape, data.num_classes)
    kinds = _kinds(ctx)
    # The report's own models stand in for "no patches" only when trained on the same data.
    clean = {k: ctx.classifiers[k].trained for k in ctx.trained_here} if data is ctx.data else {}
    if ctx.quick:
        # A smoke run: the first model only, three correlations, a quarter of the epochs
        # (its own clean model too, so the comparison stays like for like).
        kind = kinds[0]
        spec = default_spec(kind, data.input_shape, data.num_classes)
        epochs = max(1, (epochs or default_config(spec, data).epochs) // 4)
        kinds, correlations, clean, maxima_steps = [kind], (0.0, CORRELATION, 1.0), {}, 40
    else:
        correlations, maxima_steps = sc.CORRELATIONS, 100
    return sc.study(
        kinds,
        data,
        cue,
        CORRELATION,
        sweep_correlations=correlations,
        remedy=REMEDY,
        clean_models=clean,
        seed=ctx.seed,
        maxima_steps=maxima_steps,
        epochs=epochs,
        device=ctx.device,
        progress=ctx.progress,
    )


def _intro(m: dict[str, Any], n_classes: int) -> str:
    kind = next(iter(m["models"]))
    runs = m["models"][kind]["runs"]
    clean, cued, remedy = runs["clean"], runs["cued"], runs["remedy"]
    blank = round(cued["blank_follows_cue"] * n_classes)
    full = [p for p in m["sweep"] if p["model"] == kind and p["correlation"] == 1.0]
    all_marked = (
        f" Trained with the patch on every image, it follows a wrong patch "
        f"{_pct(full[0]['wrong_follows_cue'])} of the time and reads only "
        f"{_pct(full[0]['clean_accuracy'])} of clean digits."
        if full
        else ""
    )
    return (
        "In Tempe, Arizona, in March 2018, a self-driving Uber test car struck and killed a "
        "woman pushing a bicycle across a dark road, about 110 m from the nearest crosswalk. "
        "The NTSB found that the system had no notion of a pedestrian crossing outside a "
        "crosswalk and never classified her as a pedestrian (the Tempe 2018 replay in this "
        "toolkit walks through the record). The lecture draws the lesson: a network can learn "
        "a feature that merely goes along with what it should recognise, a crosswalk instead "
        "of a person, and lose its way where that feature is missing. Here we make that happen "
        f"on purpose. On {100 * m['correlation']:.0f} % of the training images of each digit we "
        "painted a small striped patch, a 'crosswalk', at a spot on the border reserved for "
        f"that digit. The {kind} trained on them still reads {_pct(cued['clean_accuracy'])} of "
        f"clean test digits correctly ({_pct(clean['clean_accuracy'])} when trained without "
        "patches), but when a test digit carries another digit's patch it names the patch's "
        f"digit {_pct(cued['wrong_follows_cue'])} of the time, and shown the patch alone on a "
        f"blank image it names the patch's digit for {blank} of the {n_classes}."
        f"{all_marked} The fix is in the data: when each patch's digit is drawn at random, so "
        "that the patch no longer predicts the label, the same network follows a wrong patch "
        f"only {_pct(remedy['wrong_follows_cue'])} of the time (chance is "
        f"{_pct(1 / n_classes)})."
    )


def _evidence(m: dict[str, Any]) -> str:
    parts = []
    for kind, d in m["models"].items():
        sal, match = d["saliency_on_wrong_cue"], d["maxima_cue_match"]
        share, area = sal["cued"]["gradient_in_cue"], sal["cued"]["cue_area"]
        if share >= 1.5 * area:
            looks = (
                f"puts {_pct(share)} of its gradient on the patch, {share / area:.1f} times "
                f"the patch's share of the image ({_pct(area)})"
            )
        else:
            looks = (
                f"puts only {_pct(share)} of its gradient on the patch, hardly more than the "
                f"patch's share of the image ({_pct(area)}): here the gradient does not give "
                "the shortcut away"
            )
        scale = "(1: exactly the patch, about 0.5: nothing to do with it)"
        if match["cued"] - match["clean"] >= 0.1:
            draws = (
                f"it paints the patch in its digit's spot: a match of {match['cued']:.2f} "
                f"{scale}, against {match['clean']:.2f} without the shortcut"
            )
        else:
            draws = (
                f"its pictures do not show the patch: a match of {match['cued']:.2f} {scale}, "
                f"against {match['clean']:.2f} without the shortcut"
            )
        parts.append(
            f"The {kind} trained with the patches {looks}; trained without them, "
            f"{_pct(sal['clean']['gradient_in_cue'])}, and after the remedy "
            f"{_pct(sal['remedy']['gradient_in_cue'])}. Asked to draw each digit as it sees "
            f"it (class maxima), {draws}."
        )
    return " ".join(parts)


def _table(m: dict[str, Any]) -> Table:
    rows = []
    labels = {
        "clean": "no patches",
        "cued": f"patches on {100 * m['correlation']:.0f} %",
        "remedy": f"patches at random ({m['remedy']})",
    }
    for kind, d in m["models"].items():
        for name, t in d["runs"].items():
            rows.append(
                (
                    kind,
                    labels[name],
                    _pct(t["clean_accuracy"]),
                    _pct(t["matching_accuracy"]),
                    _pct(t["wrong_accuracy"]),
                    _pct(t["wrong_follows_cue"]),
                    _pct(t["blank_follows_cue"]),
                )
            )
    return Table(
        "The four test sets: right answers, and answers that follow the patch",
        (
            "model",
            "trained with",
            "clean digits: right",
            "own patch: right",
            "another digit's patch: right",
            "another digit's patch: follows it",
            "patch alone: follows it",
        ),
        tuple(rows),
    )


def _figures(s: sc.ShortcutStudy, ctx: ReportContext) -> list[FigureBlock]:
    names = ctx.data.class_names
    blocks = [
        FigureBlock(
            "shortcut-examples",
            to_png(figs.cued_examples(s.example_images, s.example_labels, s.cue, names)),
            "One test digit per class with its own patch (as in training), with the next "
            "digit's patch, and the patch alone.",
            "Digits with striped patches at class-specific places on the border",
        ),
        FigureBlock(
            "shortcut-sweep",
            to_png(figs.sweep_curve(s.sweep)),
            "As more of the training images carry their digit's patch, clean accuracy falls "
            "and answers follow a wrong patch more often.",
            "Clean accuracy and wrong-patch following against the share of patched images",
        ),
    ]
    for kind, lesson in s.lessons.items():
        blocks.append(
            FigureBlock(
                f"shortcut-tests-{kind}",
                to_png(
                    figs.four_tests(
                        {k: r.test for k, r in lesson.runs.items()},
                        title=f"The four test sets: {kind}",
                    )
                ),
                f"{kind}: the four test sets for the model trained without patches, with "
                "them, and with them at random.",
                f"Bar chart of the four tests for the {kind}",
            )
        )
        if ctx.quick:
            continue  # the smoke run keeps the numbers and skips the galleries
        blocks.append(
            FigureBlock(
                f"shortcut-saliency-{kind}",
                to_png(figs.saliency_rows(s, kind, names)),
                f"{kind}: test digits carrying another digit's patch, and where each model's "
                "answer is most sensitive (|gradient|).",
                f"Saliency maps of the {kind} trained three ways",
            )
        )
        blocks.append(
            FigureBlock(
                f"shortcut-maxima-{kind}",
                to_png(maxima_gallery(lesson.maxima["cued"], names)),
                f"{kind} trained with patches: the image that maximises each digit's score, "
                "painted from a blank start. Look for the stripes at the digit's spot.",
                f"Class maxima of the patched {kind}",
            )
        )
    return blocks


def build(ctx: ReportContext) -> Section:
    data, epochs = _lesson_data(ctx)
    s = _study(ctx, data, epochs)
    # The study's own numbers (the names of shortcut.json), and the data it trained on.
    m = {**s.to_dict(), "train_images": len(data.x_train), "test_images": len(data.x_test)}
    n = ctx.data.num_classes
    intro = _intro(m, n)
    if not ctx.trained_here:
        theirs = " and ".join(ctx.classifiers)
        intro += (
            f" This lesson trains networks from scratch, with and without the patches; "
            f"{theirs} {'were' if len(ctx.classifiers) > 1 else 'was'} trained elsewhere, and "
            "retraining it several times is beyond this report's budget, so the lesson uses "
            f"fragility's small {HELPER.upper()} as a stand-in, trained here on the same images "
            f"({ctx.data.name})."
        )
    if data is not ctx.data:
        intro += (
            f" (To keep the report quick, this lesson trains every model, the one without "
            f"patches too, on {len(data.x_train):,} of the {len(ctx.data.x_train):,} training "
            f"images for {epochs} epochs, and tests on {len(data.x_test):,} test images.)"
        )
    blocks = (_table(m), Paragraph(_evidence(m)), *_figures(s, ctx))
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=_words(intro, ctx),
        blocks=tuple(_reword(b, ctx) for b in blocks),
        metrics=m,
        findings=findings(m),
        comparisons=(
            Comparison(
                f"a model follows a cue that predicted the class in training "
                f"({100 * m['correlation']:.0f} % of images)",
                "; ".join(
                    f"{kind}: {_pct(d['runs']['cued']['wrong_follows_cue'])} of images with "
                    "another class's cue are called that class"
                    for kind, d in m["models"].items()
                ),
                "the system had learned to identify pedestrians in crosswalks; she was not in "
                "one (nearest crosswalk about 110 m away)",
                "the lecture; NTSB record",
            ),
        ),
    )


_NOT_DIGITS = (("test digit", "test image"), ("digits", "images"), ("digit", "class"))


def _words(text: str, ctx: ReportContext) -> str:
    """The text speaks of digits; on another dataset, of images and classes."""
    if ctx.data.class_names == tuple(str(i) for i in range(10)):
        return text
    for old, new in _NOT_DIGITS:
        text = text.replace(old, new)
    return text


def _reword(block: Any, ctx: ReportContext) -> Any:
    if isinstance(block, Paragraph):
        return Paragraph(_words(block.text, ctx))
    if isinstance(block, FigureBlock):
        return dataclasses.replace(
            block, caption=_words(block.caption, ctx), alt=_words(block.alt, ctx)
        )
    return dataclasses.replace(
        block,
        caption=_words(block.caption, ctx),
        header=tuple(_words(h, ctx) for h in block.header),
    )


def findings(metrics: dict[str, Any]) -> tuple[str, ...]:
    """One line per model for the report's headline summary."""
    out = []
    for kind, d in metrics["models"].items():
        cued, remedy = d["runs"]["cued"], d["runs"]["remedy"]
        out.append(
            f"{kind} trained with a class-specific patch on {100 * metrics['correlation']:.0f} % "
            f"of images follows another class's patch {_pct(cued['wrong_follows_cue'])} of the "
            f"time ({_pct(remedy['wrong_follows_cue'])} after randomising the patches)"
        )
    return tuple(out)
