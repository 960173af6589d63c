"""Section 6: accuracy under common corruptions: MNIST-C (Mu & Gilmer 2019) for grey images,
CIFAR-10-C (Hendrycks & Dietterich 2019) at five severities for colour ones."""

from __future__ import annotations

from fragility._fmt import pct
from fragility.corruptions import MNIST_C, corrupt_all, corruption_accuracy, family_for
from fragility.figures import to_png
from fragility.figures.corruptions import accuracy_bars, example_strip
from fragility.report.section import Comparison, FigureBlock, ReportContext, Section, Table
from fragility.report.sections import TITLES

SLUG = "corruptions"
TITLE = TITLES[SLUG]
N_QUICK = 300


def build(ctx: ReportContext) -> Section:
    data = ctx.data
    family = family_for(data.x_test[:1])
    n = min(len(data.x_test), N_QUICK if ctx.quick else 2000)
    # One pass per corruption and severity, and the clean one (fewer on large models, quick).
    n = ctx.within(n, passes=1 + len(family.names) * len(family.severities), least=100)
    x, y = data.x_test[:n], data.y_test[:n]
    corrupted = corrupt_all(x, seed=ctx.seed)
    shown = {c: corrupted[(c, family.default_severity)] for c in family.names}
    results = {
        name: corruption_accuracy(t.model, x, y, seed=ctx.seed, corrupted=corrupted)
        for name, t in ctx.classifiers.items()
    }
    models = list(results)
    rows = (
        ("(clean)", *(pct(results[m].clean_accuracy) for m in models)),
        *((c, *(pct(results[m].accuracy[c]) for m in models)) for c in family.names),
    )
    worst = {m: min(results[m].accuracy, key=results[m].accuracy.get) for m in models}
    first = models[0]
    r = results[first]
    if family is MNIST_C:
        what = (
            "People read a digit through noise, blur, a tilt or a scribble across it. We applied "
            "15 such changes (after the MNIST-C benchmark) to "
        )
        levels = ""
    else:
        what = (
            "People recognise a photo through noise, blur, snow, fog or JPEG blocks. We applied "
            "the 15 corruptions of the CIFAR-10-C benchmark, each at its five severities, to "
        )
        levels = " (the mean over the five severities)"
    intro = (
        f"{what}{n} test images and asked the models again. The {first} falls from "
        f"{pct(r.clean_accuracy)} on clean images to {pct(r.mean_accuracy)} on "
        f"average{levels}, and to {pct(r.accuracy[worst[first]])} under {worst[first]}: "
        "changes that do not fool a person fool the network."
    )
    strip = FigureBlock(
        "corruptions-examples",
        to_png(example_strip(x[:3], {c: v[:3] for c, v in shown.items()})),
        "Three test images, clean and under each corruption"
        + ("." if family is MNIST_C else f" at severity {family.default_severity} of 5."),
        "Example strip: the same images under each corruption",
    )
    bars = FigureBlock(
        "corruptions-accuracy",
        to_png(accuracy_bars(results)),
        "Test accuracy under each corruption; the dashed lines mark clean accuracy.",
        "Bar chart of accuracy per corruption and model",
    )
    table = Table(f"Accuracy on {n} test images per corruption", ("corruption", *models), rows)
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=intro,
        blocks=(strip, bars, table),
        metrics={m: results[m].to_dict() for m in models},
        findings=tuple(
            f"{m}: {pct(results[m].clean_accuracy)} clean, "
            f"{pct(results[m].accuracy[worst[m]])} under {worst[m]}"
            for m in models
        ),
        comparisons=(
            Comparison(
                "corruptions tested",
                f"{len(family.names)}",
                f"{len(family.names)} ({', '.join(family.names)})",
                family.citation,
            ),
        ),
    )
