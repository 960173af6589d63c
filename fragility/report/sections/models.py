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
    Classifier,
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
    """The lecture's networks layer by layer; any other module by its kinds of layers."""
    known = (
        torch.nn.Linear,
        torch.nn.Conv2d,
        torch.nn.MaxPool2d,
        torch.nn.Dropout,
        torch.nn.Sigmoid,
        torch.nn.ReLU,
        torch.nn.Tanh,
        torch.nn.Flatten,
    )
    children = list(model.named_children())
    if not children or not all(isinstance(m, known) for _, m in children):
        return architecture(model)
    parts = []
    for name, m in children:
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


def architecture(model: torch.nn.Module) -> str:
    """Any module in one line: its class, its layers counted by kind in order of first use,
    and the head: 'ResNet: 20 Conv2d, 20 BatchNorm2d, 17 ReLU, 1 MaxPool2d, ..., head
    Linear 512->10'."""
    from fragility.sources import Normalized

    prefix = ""
    if isinstance(model, Normalized):
        prefix, model = "inputs normalised inside, then ", model.model
    counts: dict[str, int] = {}
    head = None
    for m in model.modules():
        if next(m.children(), None) is not None:
            continue
        kind = type(m).__name__
        counts[kind] = counts.get(kind, 0) + 1
        if isinstance(m, torch.nn.Linear | torch.nn.Conv2d):
            head = m
    layers = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no layers"
    text = f"{prefix}{type(model).__name__}: {layers}"
    if isinstance(head, torch.nn.Linear):
        text += f"; head Linear {head.in_features}->{head.out_features}"
    return text


def _training(c: Classifier) -> str:
    if c.trained is None:
        return "not trained by fragility"
    cfg = c.trained.config
    return f"{cfg.epochs} epochs, batch {cfg.batch_size}, {cfg.optimizer}"


def _intro(ctx: ReportContext, metrics: dict, best: float) -> str:
    data = ctx.data
    c, h, w = data.input_shape
    task = data.description.split(";")[0]
    pixels = f"{h * w} grey values" if c == 1 else f"{h * w} colour pixels ({h}x{w}, RGB)"
    here = ctx.trained_here
    brought = [n for n in ctx.classifiers if n not in here]
    if not brought:
        names = " and ".join(ctx.classifiers)
        opening = (
            f"We trained {len(ctx.classifiers)} small neural networks ({names}) to recognise "
            f"{task}."
        )
    else:
        theirs = "; ".join(f"{n} ({ctx.classifiers[n].origin()})" for n in brought)
        opening = f"This report studies {theirs}, on {data.name}: {task}."
        if here:
            opening += (
                f" For comparison, fragility trained the lecture's {' and '.join(here)} on the "
                "same images."
            )
    many = len(ctx.classifiers) > 1
    return (
        f"{opening} {'Each model' if many else 'The model'} sees an image as a grid of "
        f"{pixels} and answers with one of {data.num_classes} classes. On {len(data.x_test)} "
        f"images {'they' if many else 'it'} never saw in training, "
        f"{'the best gets' if many else 'it gets'} {pct(best)} right. That is the number "
        "people usually quote; the rest of this report is about what it hides."
    )


def _without_time(epoch: dict) -> dict:
    return {k: v for k, v in epoch.items() if k != "seconds"}


def build(ctx: ReportContext) -> Section:
    data = ctx.data
    rows, matrices, metrics = [], {}, {}
    for name, c in ctx.classifiers.items():
        counts = parameter_counts(c.model)
        logits = predict(c.model, data.x_test)
        acc = accuracy(logits, data.y_test)
        matrix = confusion_counts(logits.argmax(1), data.y_test, data.num_classes)
        layers = _layers(c.model) if c.spec is not None else architecture(c.model)
        rows.append(
            (
                name,
                c.spec.name if c.spec is not None else layers.split(":")[0],
                f"{counts['weights']:,}",
                f"{counts['total']:,}",
                _training(c),
                pct(acc),
            )
        )
        metrics[name] = {
            "spec": c.spec.name if c.spec is not None else None,
            "origin": c.origin(),
            "layers": layers,
            "parameters": counts,
            "epochs": c.trained.config.epochs if c.trained is not None else None,
            "test_accuracy": acc,
            "confusion_matrix": matrix.tolist(),
            # the training curve; epoch timings stay in the checkpoint, out of the metrics
            "history": [_without_time(e.to_dict()) for e in c.trained.result.history]
            if c.trained is not None
            else [],
        }
        matrices[name] = matrix
    curves = []
    with_history = {n: c.trained.result for n, c in ctx.classifiers.items() if c.trained}
    if with_history:
        curves.append(
            FigureBlock(
                "models-training",
                to_png(training_curves(with_history)),
                "Loss and test accuracy after each pass over the training images (epoch).",
                "Training curves: loss falling and test accuracy rising per epoch",
            )
        )
    untrained = [n for n, c in ctx.classifiers.items() if c.trained is None]
    if untrained:
        curves.append(
            Paragraph(
                f"{' and '.join(untrained)} {'were' if len(untrained) > 1 else 'was'} trained "
                "outside fragility, so no training curve is shown: the toolkit did not see "
                "that training. Everything below is measured here, on the test images."
            )
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
        (
            "model",
            "architecture",
            "weights (matrices and kernels)",
            "parameters",
            "training",
            "test accuracy",
        ),
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
                + (
                    " fragility trained it on the same training images as a helper; it is not "
                    "part of the models studied."
                    if len(ctx.trained_here) < len(ctx.classifiers)
                    else ""
                )
            )
        )
    best = max(metrics[n]["test_accuracy"] for n in ctx.classifiers)
    intro = _intro(ctx, metrics, best)
    comparisons = []
    lecture_mlp = "mlp" in ctx.trained_here
    if lecture_mlp and data.name == "digits":
        comparisons.append(
            Comparison(
                "seed 16-16 sigmoid MLP, digits test accuracy",
                pct(metrics["mlp"]["test_accuracy"]),
                "about 96 % (an MLP with (16, 16) hidden units)",
                "scikit-learn digits, papers.md baselines",
            )
        )
    if lecture_mlp and data.input_shape[1:] == (28, 28):
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
        blocks=(table, *layer_text, *curves, confusion, *ae_text),
        metrics=metrics,
        findings=tuple(
            f"{n}: {pct(metrics[n]['test_accuracy'])} test accuracy "
            f"({metrics[n]['parameters']['total']:,} parameters)"
            for n in ctx.classifiers
        ),
        comparisons=tuple(comparisons),
    )
