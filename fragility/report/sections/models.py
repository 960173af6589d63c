"""Section 1: the models, their size, how they trained and how well they do on clean data."""

from __future__ import annotations

import torch

from fragility._fmt import pct
from fragility.contract import predict
from fragility.figures import to_png
from fragility.figures.training import confusion_matrices, training_curves
from fragility.metrics import accuracy
from fragility.metrics import confusion_matrix as confusion_counts
from fragility.models import parameter_counts
from fragility.report.section import (
    Comparison,
    FigureBlock,
    Paragraph,
    ReportContext,
    Section,
    Table,
)
from fragility.report.sections import TITLES

SLUG = "models"
TITLE = TITLES[SLUG]


def _layers(model: torch.nn.Module) -> str:
    parts = []
    for name, m in model.named_children():
        if isinstance(m, torch.nn.Linear):
            parts.append(f"{name} {m.in_features}->{m.out_features}")
        elif isinstance(m, torch.nn.Conv2d):
            k = m.kernel_size[0]
            parts.append(f"{name} {m.out_channels} kernels {k}x{k}")
        elif isinstance(m, torch.nn.MaxPool2d):
            parts.append("max-pool 2x2")
        elif isinstance(m, torch.nn.Dropout):
            parts.append(f"dropout {m.p:g}")
        elif isinstance(m, torch.nn.Sigmoid | torch.nn.ReLU | torch.nn.Tanh):
            parts.append(type(m).__name__.lower())
    return ", ".join(parts) + ", softmax"


def _without_time(epoch: dict) -> dict:
    return {k: v for k, v in epoch.items() if k != "seconds"}


def build(ctx: ReportContext) -> Section:
    data = ctx.data
    rows, matrices, metrics = [], {}, {}
    for name, t in ctx.classifiers.items():
        counts = parameter_counts(t.model)
        logits = predict(t.model, data.x_test)
        acc = accuracy(logits, data.y_test)
        matrix = confusion_counts(logits.argmax(1), data.y_test, data.num_classes)
        rows.append(
            (
                name,
                t.spec.name,
                f"{counts['weights']:,}",
                f"{counts['total']:,}",
                f"{t.config.epochs} epochs, batch {t.config.batch_size}, {t.config.optimizer}",
                pct(acc),
            )
        )
        metrics[name] = {
            "spec": t.spec.name,
            "layers": _layers(t.model),
            "parameters": counts,
            "epochs": t.config.epochs,
            "test_accuracy": acc,
            "confusion_matrix": matrix.tolist(),
            # the training curve; epoch timings stay in the checkpoint, out of the metrics
            "history": [_without_time(e.to_dict()) for e in t.result.history],
        }
        matrices[name] = matrix
    curves = FigureBlock(
        "models-training",
        to_png(training_curves({n: t.result for n, t in ctx.classifiers.items()})),
        "Loss and test accuracy after each pass over the training images (epoch).",
        "Training curves: loss falling and test accuracy rising per epoch",
    )
    confusion = FigureBlock(
        "models-confusion",
        to_png(confusion_matrices(matrices, data.class_names)),
        f"Confusion matrices on the {len(data.x_test)} test images: the diagonal counts correct "
        "answers, everything off it is a mistake (row: the true class, column: the answer).",
        "Confusion matrix per model",
    )
    layer_text = [Paragraph(f"{name}: {metrics[name]['layers']}.") for name in ctx.classifiers]
    table = Table(
        f"The classifiers on {data.name} ({data.input_shape[1]}x{data.input_shape[2]} images)",
        ("model", "architecture", "weights", "parameters", "training", "test accuracy"),
        tuple(rows),
    )
    ae_text = []
    if ctx.autoencoder is not None:
        err = float(ctx.autoencoder.model.reconstruction_error(data.x_test).mean().detach())
        metrics["autoencoder"] = {"spec": ctx.autoencoder.spec.name, "test_reconstruction_mse": err}
        ae_text.append(
            Paragraph(
                f"An autoencoder ({ctx.autoencoder.spec.name}) squeezes each image into "
                f"{ctx.autoencoder.spec.code_size} numbers and rebuilds it; its mean squared "
                f"error per pixel on the test images is {err:.4f}. Later sections use that error "
                "to ask whether an input looks like the training data at all."
            )
        )
    best = max(metrics[n]["test_accuracy"] for n in ctx.classifiers)
    names = " and ".join(ctx.classifiers)
    intro = (
        f"We trained {len(ctx.classifiers)} small neural networks ({names}) to recognise "
        f"{data.description.split(';')[0]}. Each sees an image as a grid of "
        f"{data.input_shape[1] * data.input_shape[2]} grey values and answers with one of "
        f"{data.num_classes} classes. On {len(data.x_test)} images they never saw in training, "
        f"the best gets {pct(best)} right. That is the number people usually quote; the "
        "rest of this report is about what it hides."
    )
    comparisons = []
    if "mlp" in ctx.classifiers and data.name == "digits":
        comparisons.append(
            Comparison(
                "seed 16-16 sigmoid MLP, digits test accuracy",
                pct(metrics["mlp"]["test_accuracy"]),
                "about 96 % (an MLP with (16, 16) hidden units)",
                "scikit-learn digits, papers.md baselines",
            )
        )
    if "mlp" in ctx.classifiers and data.input_shape[1:] == (28, 28):
        counts = metrics["mlp"]["parameters"]
        comparisons.append(
            Comparison(
                "seed MLP at 28x28: weights / parameters",
                f"{counts['weights']:,} / {counts['total']:,}",
                "12,960 / about 13,000",
                "the lecture (784x16 + 16x16 + 16x10)",
            )
        )
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=intro,
        blocks=(table, *layer_text, curves, confusion, *ae_text),
        metrics=metrics,
        findings=tuple(
            f"{n}: {pct(metrics[n]['test_accuracy'])} test accuracy "
            f"({metrics[n]['parameters']['total']:,} parameters)"
            for n in ctx.classifiers
        ),
        comparisons=tuple(comparisons),
    )
