"""Section 5: inverse images: what each class and hidden unit responds to most (activation
maximisation, Simonyan et al. 2013), the first layer's weights and how edge-like they are,
saliency, inputs the network cannot tell apart (Mahendran & Vedaldi 2015), and which weights
matter (zeroing the weights ranked by |dC/dw|)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fragility import inversion as inv
from fragility._fmt import pct as _pct
from fragility.contract import predict
from fragility.figures import inversion as figs
from fragility.figures import to_png
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

SLUG = "inverse"
TITLE = TITLES[SLUG]
FRACTIONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
SHOWN_FRACTION = 0.05  # the share quoted in the text
RANK_IMAGES = 2000  # training images that rank the weights (all of digits' 1,347)


def _budget(quick: bool) -> dict[str, int]:
    if quick:
        return {"steps": 40, "restarts": 2, "inversion_steps": 60}
    return {"steps": 100, "restarts": 3, "inversion_steps": 150}


def _sized(ctx: ReportContext) -> tuple[Any, int]:
    """The data the section scans and how many training images rank the weights: all of it,
    except in a quick report on large models (ReportContext.within): then the best training
    image per unit is sought among the first images a pass may cost, and the weight-removal
    curve, 3 x 7 passes, is measured on as many test images as that leaves."""
    data = ctx.data
    n_train = ctx.within(len(data.x_train))
    n_test = ctx.within(len(data.x_test), passes=3 * len(FRACTIONS))
    rank = ctx.within(RANK_IMAGES, passes=3)  # a forward and a per-example backward pass
    if (n_train, n_test) != (len(data.x_train), len(data.x_test)):
        data = dataclasses.replace(
            data,
            x_train=data.x_train[:n_train],
            y_train=data.y_train[:n_train],
            x_test=data.x_test[:n_test],
            y_test=data.y_test[:n_test],
        )
    return data, rank


def _analyse(t: Classifier, ctx: ReportContext) -> dict[str, Any]:
    """Every analysis of the section on one classifier: results, not yet numbers."""
    b = _budget(ctx.quick)
    data, rank = _sized(ctx)
    model, shape = t.model, data.input_shape
    cfg = inv.MaximizeConfig(
        steps=b["steps"], l2=0.001, restarts=b["restarts"], start="noise", seed=ctx.seed
    )
    found = inv.analyse(
        model,
        data,
        ("classes", "weights", "saliency", "inversion"),
        cfg,
        initial_model=t.initial_model(seed=ctx.seed),
        inversion_steps=b["inversion_steps"],
        fractions=FRACTIONS,
        rank_images=rank,
    )
    # Simonyan et al.'s point: maximising the posterior instead of the score.
    one = inv.MaximizeConfig(steps=b["steps"], l2=0.001, seed=ctx.seed)
    by_prob = inv.maximize(
        model,
        inv.class_units(data.num_classes),
        shape,
        dataclasses.replace(one, probability=True),
    )
    hidden_units = [
        u for layer in inv.hidden_layers(model)[:2] for u in inv.units_of(model, layer, shape)
    ]
    # Each unit is an image climbed for `steps` forward and backward passes.
    hidden_units = hidden_units[: ctx.within(len(hidden_units), passes=3 * b["steps"], least=16)]
    hidden = inv.maximize(
        model,
        hidden_units,
        shape,
        dataclasses.replace(one, start="noise"),
        training_images=data.x_train,
    )
    return {
        "found": found,
        "by_prob": by_prob,
        "prob_own_score": predict(model, by_prob.best).diagonal(),
        "hidden": hidden,
    }


def _numbers(r: dict[str, Any]) -> dict[str, Any]:
    """The metrics of one classifier: each analysis's own `to_dict` (the names inversion.json
    uses), and the class's own score at the images that maximise its probability."""
    return {
        **r["found"].to_dict(),
        "hidden": r["hidden"].to_dict(),
        "by_probability": r["by_prob"].to_dict(),
        "by_probability_own_score": float(r["prob_own_score"].mean()),
    }


def _at(curve: dict[str, Any], key: str, fraction: float = SHOWN_FRACTION) -> float:
    return curve[key][curve["fractions"].index(fraction)]


def _intro(name: str, m: dict[str, Any], n_train: int) -> str:
    c, h, v, p = m["classes"], m["hidden"], m["inversion"], m["pruning"]
    e = m["first_layer_weights"]
    mean, best = c["mean_best_activation"], c["mean_training_activation"]
    all_classes = (
        f"for every one of the {c['n_units']} classes"
        if c["beats_training"] == c["n_units"]
        else f"for {c['beats_training']} of the {c['n_units']} classes"
    )
    strokes = (
        "this time they don't"
        if e["n_edge_like"] <= e["n_units"] // 2
        else "partly they do, but only partly"
    )
    return (
        "A trained network can be run backwards: instead of asking which class an image "
        "shows, we ask which image would make the network most sure of a class, and let it "
        f"paint that image pixel by pixel. For the {name}, {all_classes} the painting scores "
        f"higher than every one of the {n_train:,} real training images (on average "
        f"{mean:.1f} against {best:.1f}), yet it looks like static, not like what it is "
        f"supposed to show; {h['beats_training']} of its {h['n_units']} hidden units likewise "
        "respond more to their painted image than to any real one. We might hope the first "
        f"layer had learned pen strokes and the next loops: {strokes}. Of its "
        f"{e['n_units']} first-layer weight patterns, {e['n_edge_like']} match an oriented "
        "stroke or edge better than 95 % of shuffled copies of themselves, and the "
        f"best-matching stroke explains only {100 * e['mean_gabor_variance_explained']:.0f} % "
        "of a pattern on average. The gradient tells us which changes matter most: zeroing "
        f"the {100 * SHOWN_FRACTION:.0f} % of weights it ranks highest drops test accuracy "
        f"from {_pct(p['top'][0])} to {_pct(_at(p, 'top'))}, while a random "
        f"{100 * SHOWN_FRACTION:.0f} % leaves {_pct(_at(p, 'random'))} and the lowest-ranked "
        f"leave {_pct(_at(p, 'bottom'))}. And images that look nothing alike can be the same "
        "to the network: starting from noise we found images whose hidden code matches a real "
        f"image's to within {100 * v['mean_code_distance']:.0f} %, classified the same in "
        f"{_pct(v['prediction_agreement'])} of cases, yet further from the original (RMS "
        f"{v['mean_pixel_distance']:.2f}) than two different real test images are from each "
        f"other ({v['typical_pixel_distance']:.2f})."
    )


def findings(metrics: dict[str, Any]) -> tuple[str, ...]:
    """One line per model for the report's headline summary."""
    out = []
    for name, m in metrics.items():
        c, p = m["classes"], m["pruning"]
        out.append(
            f"{name}: {c['beats_training']} of {c['n_units']} class maxima beat every training "
            f"image; zeroing the top {100 * SHOWN_FRACTION:.0f} % of weights by |dC/dw| leaves "
            f"{_pct(_at(p, 'top'))} accuracy (random: {_pct(_at(p, 'random'))})"
        )
    return tuple(out)


def _figures(name: str, r: dict[str, Any], ctx: ReportContext) -> list[FigureBlock]:
    data, names = ctx.data, ctx.data.class_names
    found, h = r["found"], r["hidden"]
    c, e, v = found.classes, found.first_layer, found.inversion
    layers = " and ".join(dict.fromkeys(u.layer for u in h.units))
    blocks = [
        FigureBlock(
            f"inverse-classes-{name}",
            to_png(figs.maxima_gallery(c, names, training_images=data.x_train)),
            f"{name}: for each class, {c.images.shape[1]} images painted from random starts "
            "to maximise its score (pre-softmax), titled with the best score reached; the "
            "bottom row is the training image that scores highest, with its score.",
            f"Gallery of the {name}'s class maxima beside the best training images",
        ),
        FigureBlock(
            f"inverse-weights-{name}",
            to_png(figs.weights_gallery(e)),
            f"{name}: first-layer weights ({e.layer}) as images, "
            + (
                "each an RGB patch (mid-grey is zero; a filter that weighs red up and blue down "
                "looks red). "
                if e.weights.shape[1] == 3
                else "red positive, blue negative. "
            )
            + "g is the best match to an oriented stroke or edge (1: exactly one), chance the "
            "same for the pattern's pixels shuffled; * marks a pattern above 95 % of its "
            "shuffles.",
            f"The {name}'s first-layer weights drawn as images",
        ),
        FigureBlock(
            f"inverse-saliency-{name}",
            to_png(figs.saliency_figure(found.saliency, names, labels=found.saliency_labels)),
            f"{name}: one test image per class, how much each pixel would change the score of "
            "the class the model says (|gradient|), and that times the pixel (gradient x "
            "input). Bright: a change there matters most.",
            f"Saliency maps of the {name}",
        ),
    ]
    if ctx.quick:
        # Rendering dominates the quick budget: the smoke run keeps the numbers of these two
        # (in the table) and leaves their galleries to the full report.
        return blocks
    return [
        *blocks,
        FigureBlock(
            f"inverse-hidden-{name}",
            to_png(figs.maxima_gallery(h, training_images=data.x_train, columns=16)),
            f"{name}: the input that maximises each unit of {layers} (its weighted sum before "
            "the activation), with the value reached and the best training image's.",
            f"Gallery of the {name}'s hidden-unit maxima",
        ),
        FigureBlock(
            f"inverse-inversion-{name}",
            to_png(figs.inversion_figure(v, names)),
            f"{name}: top, real test images; bottom, images found from noise whose "
            f"{v.layer} code matches, with the model's answer and the RMS pixel distance "
            "(d) to the original.",
            f"Real images and look-alikes to the {name}",
        ),
    ]


def build(ctx: ReportContext) -> Section:
    results = {name: _analyse(t, ctx) for name, t in ctx.classifiers.items()}
    metrics = {name: _numbers(r) for name, r in results.items()}
    blocks: list[Any] = []
    rows = []
    for name, m in metrics.items():
        c, h, v = m["classes"], m["hidden"], m["inversion"]
        e, e0 = m["first_layer_weights"], m["first_layer_weights_at_init"]
        rows.append(
            (
                name,
                f"{c['beats_training']} of {c['n_units']}",
                f"{h['beats_training']} of {h['n_units']}",
                f"{e['n_edge_like']} of {e['n_units']} (at start: {e0['n_edge_like']})",
                f"{e['mean_neighbour_correlation']:.2f} (at start: "
                f"{e0['mean_neighbour_correlation']:.2f})",
                f"{_pct(m['saliency']['mean_gradient_on_ink'])} on "
                f"{_pct(m['saliency']['mean_ink_area'])} of the image",
                f"{v['mean_pixel_distance']:.2f} at {_pct(v['prediction_agreement'])} agreement",
            )
        )
    blocks.append(
        Table(
            "Inverse images in numbers",
            (
                "model",
                "class maxima above every training image",
                "hidden-unit maxima above every training image",
                "edge-like first-layer patterns",
                "weight smoothness (neighbour correlation)",
                "|gradient| on the ink",
                "look-alike distance (RMS)",
            ),
            tuple(rows),
        )
    )
    for name, r in results.items():
        blocks += _figures(name, r, ctx)
    curves = {name: r["found"].pruning for name, r in results.items()}
    blocks.append(
        FigureBlock(
            "inverse-pruning",
            to_png(figs.prune_figure(curves, chance=1 / ctx.data.num_classes)),
            "Test accuracy after zeroing a share of the weights: those with the largest "
            "|dC/dw| summed over the training images first (solid), a random draw (dashed), the "
            "smallest first (dotted); one colour per model.",
            "Accuracy against the share of weights zeroed, per model",
        )
    )
    blocks.append(_pruning_table(metrics))
    blocks.append(Paragraph(_details(metrics)))
    first = next(iter(metrics))
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=_intro(first, metrics[first], ctx.within(len(ctx.data.x_train))),
        blocks=tuple(blocks),
        metrics=metrics,
        findings=findings(metrics),
        comparisons=_comparisons(metrics),
    )


def _comparisons(metrics: dict[str, Any]) -> tuple[Comparison, ...]:
    return tuple(
        Comparison(
            f"class score reached by maximising the softmax vs the score itself, {name}",
            f"{m['by_probability_own_score']:.1f} vs {m['classes']['mean_best_activation']:.1f}",
            "the softmax posterior gives poorer pictures: maximise the pre-softmax score",
            "Simonyan et al. 2013",
        )
        for name, m in metrics.items()
    )


def _pruning_table(metrics: dict[str, Any]) -> Table:
    rows = []
    for name, m in metrics.items():
        p = m["pruning"]
        for k, t, r, b in zip(p["fractions"], p["top"], p["random"], p["bottom"], strict=True):
            rows.append((name, f"{100 * k:g} %", _pct(t), _pct(r), _pct(b)))
    return Table(
        "Test accuracy after zeroing weights, ranked by |dC/dw| over the training set",
        ("model", "weights zeroed", "highest first", "random", "lowest first"),
        tuple(rows),
    )


def _details(metrics: dict[str, Any]) -> str:
    parts = []
    for name, m in metrics.items():
        parts.append(
            f"{name}: maximising the probability instead of the score reaches "
            f"{_pct(m['by_probability']['mean_best_activation'])} confidence with the class's "
            f"own score at {m['by_probability_own_score']:.1f}, against "
            f"{m['classes']['mean_best_activation']:.1f} when the score itself is maximised: the "
            "probability also rises when the other classes' scores fall, which is why "
            "Simonyan et al. maximise the score."
        )
    return (
        "How it was done: gradient ascent on the input (Adam, 0.1 per step) of the unit's "
        "value minus 0.001 times the squared length of the image, which is kept in [0, 1] "
        "(Simonyan et al. 2013); hidden units are the weighted sums before their activation. "
        "Edge-likeness is the best |cosine similarity| with a bank of Gabor filters (12 "
        "orientations, bars and edges, several widths and positions); smoothness is the "
        "correlation between neighbouring weights (0: noise, 1: smooth). " + " ".join(parts)
    )
