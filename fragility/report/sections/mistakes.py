"""Section 2: confidently wrong on real data: the surest mistakes and how calibrated the
confidence is (reliability diagram and ECE, Guo et al. 2017, 15 equal-width bins)."""

from __future__ import annotations

from fragility._fmt import pct
from fragility.contract import predict
from fragility.figures import to_png
from fragility.figures.calibration import confident_mistakes, reliability_diagram
from fragility.metrics import mistakes
from fragility.report.section import (
    Comparison,
    FigureBlock,
    Paragraph,
    ReportContext,
    Section,
    Table,
)
from fragility.report.sections import TITLES

SLUG = "mistakes"
TITLE = TITLES[SLUG]
N_SHOWN = 10


def build(ctx: ReportContext) -> Section:
    data = ctx.data
    names = data.class_names
    metrics, rows, galleries, cals = {}, [], [], {}
    for name, t in ctx.classifiers.items():
        found = mistakes(predict(t.model, data.x_test), data.y_test, shown=N_SHOWN)
        cals[name] = found.calibration
        m = metrics[name] = found.to_dict(names)
        rows.append(
            (
                name,
                f"{m['errors']} of {m['n']}",
                f"{m['confident_errors']}",
                pct(m["mean_confidence_when_wrong"]),
                pct(m["calibration"]["ece"], 2),
                pct(m["misclassification_auroc"]),
            )
        )
        if found.worst:
            worst = list(found.worst)
            fig = confident_mistakes(
                data.x_test[worst],
                [w["true"] for w in m["most_confident_mistakes"]],
                [w["predicted"] for w in m["most_confident_mistakes"]],
                list(found.worst_confidence),
                f"{name}: its {len(worst)} most confident mistakes",
            )
            galleries.append(
                FigureBlock(
                    f"mistakes-gallery-{name}",
                    to_png(fig),
                    f"The {name}'s most confident wrong answers on real test images, most "
                    "confident first: what it said, how sure it was, and the true label.",
                    f"Gallery of the {name}'s most confident mistakes",
                )
            )
    table = Table(
        "Mistakes and calibration on the test set",
        (
            "model",
            "wrong",
            "wrong at > 90 % confidence",
            "mean confidence when wrong",
            "ECE (15 bins)",
            "confidence separates right from wrong (AUROC)",
        ),
        tuple(rows),
    )
    diagram = FigureBlock(
        "mistakes-reliability",
        to_png(reliability_diagram(cals)),
        "Reliability diagram: test images grouped by the model's confidence; in a calibrated "
        "model each bar reaches the diagonal (of the answers given with 80 % confidence, 80 % "
        "are right). Hatching shows the gap; the numbers above count the test images in each "
        "bin.",
        "Reliability diagram per model",
    )
    first = next(iter(ctx.classifiers))
    m = metrics[first]
    intro = (
        "A network's answer comes with a confidence, a number between 0 and 100 % that people "
        "read as 'how sure it is'. Here we look at the test images it got wrong. The "
        f"{first} made {m['errors']} mistakes out of {m['n']}, and "
        f"{m['confident_errors']} of them with more than 90 % confidence. "
        "We also check calibration: among answers given with, say, 80 % confidence, are 80 % "
        f"right? The gap, averaged over confidence levels (ECE), is "
        f"{100 * m['calibration']['ece']:.1f} "
        "percentage points. A confident answer is not a correct one."
    )
    comparisons = [
        Comparison(
            f"misclassification detection by max softmax, {n}",
            f"{pct(metrics[n]['misclassification_auroc'])} AUROC",
            "97 % AUROC (MNIST, 3-layer MLP)",
            "Hendrycks & Gimpel 2017",
        )
        for n in ctx.classifiers
        if metrics[n]["misclassification_auroc"] is not None
    ]
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=intro,
        blocks=(
            table,
            diagram,
            *galleries,
            Paragraph(
                "ECE: expected calibration error, the test-set-weighted mean of |accuracy - "
                "confidence| over 15 equal-width confidence bins (Guo et al. 2017)."
            ),
        ),
        metrics=metrics,
        findings=tuple(
            f"{n}: {metrics[n]['confident_errors']} test mistakes made with > 90 % "
            f"confidence; ECE {pct(metrics[n]['calibration']['ece'])}"
            for n in ctx.classifiers
        ),
        comparisons=tuple(comparisons),
    )
