"""Report section: confident garbage (noise survey, fooling images, detectors, the papers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from fragility._fmt import pct as _pct
from fragility.figures import garbage as fg
from fragility.figures import to_png
from fragility.garbage.ascent import PATIENCE
from fragility.garbage.evolve import POPULATION
from fragility.garbage.noise import noise_families, other_data_note, other_dataset
from fragility.garbage.study import FOOLING, StudyConfig, StudyResult, run_study
from fragility.metrics import saturated_share
from fragility.report.section import (
    Comparison,
    FigureBlock,
    Paragraph,
    ReportContext,
    Section,
    Table,
)
from fragility.report.sections import TITLES

SLUG = "garbage"
TITLE = TITLES[SLUG]

METHODS = ("survey", "ascent", "evolve-direct", "evolve-cppn")
FULL = {"samples": 1000, "generations": 200, "population": POPULATION, "ascent_steps": 300}
# A quick report also cuts the witness search (one image at a time through L-BFGS-B, for each
# class ascent left short): with 1,000 iterations it took most of a quick report's time on a
# small CIFAR-10 CNN.
QUICK = {
    "samples": 300,
    "generations": 40,
    "population": 200,
    "ascent_steps": 150,
    "witness_iterations": 100,
}
ROW_NAMES = {"ascent": "ascent", "evolve-direct": "direct", "evolve-cppn": "CPPN"}
KIND_NAMES = {
    "ascent": "gradient ascent",
    "evolve-direct": "evolution, direct encoding",
    "evolve-cppn": "evolution, CPPN encoding",
}

# From the published-figures sheet; each with its source and setting.
PUBLISHED = {
    "goodfellow_rubbish": {
        "source": "Goodfellow, Shlens & Szegedy 2015 (ICLR), rubbish-class appendix",
        "setting": "MNIST; 10,000 samples of N(0, I); an error when max p > 0.5",
        "share_above_0.5": {
            "maxout": 0.9835,
            "sigmoid output": 0.68,
            "softmax regression": 0.598,
            "RBF network": 0.0,
        },
        "mean_confidence": {"maxout": 0.928, "sigmoid output": 0.879, "softmax regression": 0.708},
    },
    "hendrycks_gimpel": {
        "source": "Hendrycks & Gimpel 2017 (ICLR), max-softmax baseline",
        "setting": "MNIST 3-layer MLP; all 10,000 test images vs 10,000 noise images: "
        "Gaussian N(0, 1) per pixel, not clipped (their code: np.random.normal), uniform "
        "U(0, 1); here the same noise (gaussian-unclipped, uniform)",
        "auroc": {"gaussian": 0.90, "uniform": 0.99},
        "mean_confidence": {"gaussian": 0.91, "uniform": 0.83},
    },
    "nguyen": {
        "source": "Nguyen, Yosinski & Clune 2015 (CVPR)",
        "setting": "MNIST LeNet; direct encoding, MAP-Elites with one elite per class, 200 "
        "children per generation (their code's MNIST setting), mutation rate 0.1, polynomial "
        "mutation strength 15",
        "generations_to_all": 50,  # "in under 50 generations", every class at >= 99.99 %
        "population": 200,
    },
}


def _config(ctx: ReportContext) -> StudyConfig:
    """The study's budget. A quick report on large models (ReportContext.within) surveys
    fewer images per noise family (one pass per family), evolves for fewer generations (each a
    population of images; at least 10) and climbs fewer ascent steps (at least 50)."""
    budget = dict(QUICK if ctx.quick else FULL)
    if ctx.quick:
        families = 10  # the survey's families, the shuffled and other-data ones included
        budget["samples"] = ctx.within(budget["samples"], passes=families, least=100)
        population = budget["population"]
        images = ctx.within(budget["generations"] * population, least=10 * population)
        budget["generations"] = images // population
        # Ascent climbs one image per class, a forward and backward pass per step.
        passes = 3 * ctx.data.num_classes
        budget["ascent_steps"] = ctx.within(budget["ascent_steps"], passes=passes, least=50)
    return StudyConfig(methods=METHODS, seed=ctx.seed, **budget)


def build(ctx: ReportContext) -> Section:
    config = _config(ctx)
    results = _studies(ctx, config)
    metrics = _metrics(ctx, config, results)
    comparisons = tuple(_comparisons(metrics))
    blocks = [
        *_survey_blocks(ctx, config, metrics),
        *_fooling_blocks(ctx, results, metrics),
        *_detector_blocks(ctx, metrics),
        *_published_blocks(metrics, comparisons),
    ]
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=_intro(ctx, metrics),
        blocks=tuple(blocks),
        metrics=metrics,
        findings=_findings(metrics),
        comparisons=comparisons,
    )


def _saturation(ctx: ReportContext, name: str, samples: int) -> dict[str, float] | None:
    """Share of the first sigmoid layer's units saturated on noise, real images and black."""
    model = ctx.classifiers[name].model
    g = torch.Generator().manual_seed(ctx.seed)
    shape = ctx.data.input_shape
    inputs = {
        "uniform": torch.rand((samples, *shape), generator=g),
        "test": ctx.data.x_test[:samples],
        "black": torch.zeros((1, *shape)),
    }
    shares = {k: saturated_share(model, x) for k, x in inputs.items()}
    return None if not shares["test"] else {k: v[0] for k, v in shares.items()}


def _made(mm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A model's fooling methods that ran, by name, with their numbers; ascent's as the search
    ended, with the ceiling's witness where it finished a class (`ascent_with_witness`)."""
    made = {kind: mm[kind] for kind in FOOLING if mm.get(kind) is not None}
    if "ascent" in made and mm.get("ascent_with_witness"):
        made["ascent"] = {**made["ascent"], **mm["ascent_with_witness"]}
    return made


def _restarts(m: dict[str, Any]) -> str:
    said = [
        f"{mm['ascent']['n_restarted']} classes for the {name}"
        for name, mm in m["models"].items()
        if (mm.get("ascent") or {}).get("n_restarted")
    ]
    return f" (here: {', '.join(said)})" if said else " (here: never needed)"


def _findings(m: dict[str, Any]) -> tuple[str, ...]:
    out = []
    for name, mm in m["models"].items():
        parts = []
        u = mm["survey"]["families"].get("uniform")
        if u is not None:
            share = _pct(u["share_above"]["0.9"], 0)
            parts.append(f"{share} of uniform noise called a class at > 90 %")
        for kind, f in _made(mm).items():
            parts.append(
                f"{KIND_NAMES.get(kind, kind)}: {f['classes_reached']} classes at "
                f">= {_conf(m['settings']['target'])} (worst {_conf(f['worst_confidence'])})"
            )
        parts += _reach_findings(mm["confidence_ceiling"], m["class_names"])
        out.append(f"{name}: " + "; ".join(parts))
    return tuple(out)


def _studies(ctx: ReportContext, config: StudyConfig) -> dict[str, StudyResult]:
    names = list(ctx.classifiers)
    ae = ctx.autoencoder.model if ctx.autoencoder is not None else None
    other_images = ctx.other_data.x_test if ctx.other_data is not None else None
    other_note = _other_note(ctx)
    results = {}
    for i, name in enumerate(names):
        partner = _partner(names, i)
        other = ctx.classifiers[partner].model if partner is not None else None
        results[name] = run_study(
            ctx.classifiers[name].model,
            ctx.data,
            config,
            autoencoder=ae,
            other_model=other,
            other_images=other_images,
            other_note=other_note,
            progress=ctx.progress,
        )
    return results


def _other_note(ctx: ReportContext) -> str:
    """Which dataset the other-data family comes from (a different task), or why it is out."""
    if ctx.other_data is None:  # the report takes no --other-dataset: say what does
        return other_dataset(ctx.data.name, lambda _: False)[1].replace(
            "choose one with --other-dataset", "fragility garbage --other-dataset NAME chooses one"
        )
    return other_data_note(ctx.data.name, ctx.other_data.name)


def _partner(names: list[str], i: int) -> str | None:
    """The model that names[i]'s fooling images are tried on (transfer): the next, if any."""
    return names[(i + 1) % len(names)] if len(names) > 1 else None


# ---------------------------------------------------------------------------------------------
# Numbers: every number the section shows, under stable keys


def _metrics(
    ctx: ReportContext, config: StudyConfig, results: Mapping[str, StudyResult]
) -> dict[str, Any]:
    """Each model's study as `StudyResult.to_dict` writes it (the names of garbage.json), with
    the settings once, the model its fooling images were tried on and its saturation."""
    names = list(results)
    models = {}
    for i, (name, r) in enumerate(results.items()):
        study = r.to_dict()
        del study["settings"]  # the same for every model: once, below
        study["transfer_model"] = _partner(names, i)
        study["saturation"] = _saturation(ctx, name, config.samples)
        models[name] = study
    return {
        "settings": {
            **config.to_dict(),
            "quick": ctx.quick,
            "autoencoder": ctx.autoencoder is not None,
            "other_data": ctx.other_data.name if ctx.other_data is not None else None,
            "other_data_note": _other_note(ctx),
        },
        "models": models,
        "class_names": list(ctx.data.class_names),
        "published": PUBLISHED,
    }


# ---------------------------------------------------------------------------------------------
# Words and pictures


def _conf(x: float | None) -> str:
    return "n/a" if x is None else fg.confidence_label(x)


def _top(family: dict[str, Any]) -> str:
    """The class that took most of a family, with its share: '8 (65 %)'."""
    top = family["top_classes"]
    return f"{top[0]['name']} ({_pct(top[0]['share'], 0)})" if top else "-"


def _auroc(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _things(ctx: ReportContext) -> str:
    return "digits" if "digit" in ctx.data.description.lower() else f"{ctx.data.name} images"


def _studied(ctx: ReportContext) -> str:
    """'the networks trained here', or the models brought by name."""
    if not any(c.brought for c in ctx.classifiers.values()):
        return "the networks trained here"
    return " and ".join(ctx.classifiers)


def _intro(ctx: ReportContext, m: dict[str, Any]) -> str:
    models = m["models"]
    target = _conf(m["settings"]["target"])
    things = _things(ctx)
    other = m["settings"]["other_data"]
    parts = [
        f"A network trained on {ctx.data.name} always answers with one of its "
        f"{ctx.data.num_classes} classes, and with a confidence. We showed "
        f"{_studied(ctx)} things that are not {things} at all: random noise, blank pages, random "
        "pen strokes and shuffled pixels"
        + (
            f", and images of another task: {m['settings']['other_data_note']}."
            if other  # or why not: a family left out is said, never silently dropped
            else f". The family of another task's images was {m['settings']['other_data_note']}."
        )
    ]
    for name, mm in models.items():
        u = mm["survey"]["families"].get("uniform")
        if u is not None:
            parts.append(
                f"The {name} calls {_pct(u['share_above']['0.9'], 0)} of random-noise images "
                f"one of its classes with more than 90 % confidence."
            )
    for name, mm in models.items():
        f = _made(mm)
        reached = {k: v["classes_reached"] for k, v in f.items()}
        k = ctx.data.num_classes
        if reached.get("ascent") == k:
            parts.append(
                f"Nudging pixels in the direction that raises its confidence (gradient ascent) "
                f"turned noise into images the {name} labels as each of the {k} classes with at "
                f"least {target}, in at most {f['ascent']['most_steps']} small steps."
            )
        direct = f.get("evolve-direct")
        if direct is not None and direct["generations_to_all"] is not None:
            parts.append(
                "Blind trial and error that only reads the answers (evolution, as Nguyen, "
                f"Yosinski and Clune did in 2015) got there in {direct['generations_to_all']} "
                "generations."
            )
        ceiling = mm["confidence_ceiling"]
        if _all_out_of_reach(ceiling):
            best = max(v["worst_confidence"] for v in f.values())
            parts.append(
                f"The {name} cannot be pushed to {target} at all: its layers cap every class "
                f"below {_conf(ceiling['max_bound'])} (a proof, not a failed search); still, "
                f"it labels garbage with {_conf(best)} or more for every class."
            )
    first = next(iter(models.values()))
    ascent_ood = first["ood"].get("ascent")
    if ascent_ood is not None:
        text = (
            "The usual warning light, the network's own confidence (Hendrycks and Gimpel 2017), "
            f"{'does not flag' if ascent_ood['auroc_max_softmax'] <= 0.5 else 'barely flags'} "
            f"these fooling images (AUROC {_auroc(ascent_ood['auroc_max_softmax'])}, where 0.5 is "
            "a coin toss)"
        )
        if ascent_ood["auroc_autoencoder"] is not None:
            text += (
                "; a second network trained only to redraw the training images (an autoencoder) "
                "finds them by how badly it redraws them (AUROC "
                f"{_auroc(ascent_ood['auroc_autoencoder'])})"
            )
        parts.append(text + ". High confidence is not understanding.")
    if m["settings"]["quick"]:
        parts.append(
            f"(Quick run: {m['settings']['generations']} generations of "
            f"{m['settings']['population']} and {m['settings']['samples']} images per noise "
            "family; the full report uses more.)"
        )
    return " ".join(parts)


def _survey_blocks(
    ctx: ReportContext, config: StudyConfig, m: dict[str, Any]
) -> list[Paragraph | FigureBlock | Table]:
    shape = ctx.data.input_shape
    other = ctx.other_data.x_test if ctx.other_data is not None else None
    fams = noise_families(
        6, shape, seed=config.seed, test_images=ctx.data.x_test, other_images=other
    )
    fig = fg.family_samples(fams)
    blocks: list[Paragraph | FigureBlock | Table] = [
        Paragraph(
            "The noise survey: for each family of non-images, the share the model labels with "
            "a maximum probability above 50 %, 90 % and 99 %, the mean of that maximum, and the "
            "class that takes most of them. Gaussian noise is N(0, 1) per pixel as in "
            "Goodfellow et al.'s rubbish-class test, clipped to [0, 1]; the unclipped draw "
            "(outside the images' range, as in that paper and as Hendrycks and Gimpel's "
            "Gaussian set, which their code draws with mean 0 and variance 1 and never clips) "
            "is listed too, and is the one set beside their AUROC. The first row is the real "
            "test set, for reference."
        ),
        FigureBlock(
            "garbage-families",
            to_png(fig),
            "Samples of each noise family, as the models see them.",
            "Rows of small images: uniform noise, clipped Gaussian noise, a black and a white "
            "image, salt-and-pepper noise, random strokes, shuffled test images"
            + (", images of another dataset" if other is not None else "")
            + ".",
        ),
    ]
    for name, mm in m["models"].items():
        rows = tuple(
            (
                family,
                s["description"],
                _pct(s["share_above"]["0.5"]),
                _pct(s["share_above"]["0.9"]),
                _pct(s["share_above"]["0.99"]),
                _pct(s["mean_confidence"]),
                _top(s),
            )
            for family, s in mm["survey"]["families"].items()
        )
        blocks.append(
            Table(
                f"{name}: how confidently it labels things that are not {_things(ctx)} "
                f"({m['settings']['samples']} images per family).",
                ("family", "what", "max p > 0.5", "> 0.9", "> 0.99", "mean max p", "mostly"),
                rows,
            )
        )
    return blocks


def _fooling_blocks(
    ctx: ReportContext, results: Mapping[str, StudyResult], m: dict[str, Any]
) -> list[Paragraph | FigureBlock | Table]:
    names = ctx.data.class_names
    s = m["settings"]
    rows = {
        f"{model}: {ROW_NAMES[kind]}": data
        for model, r in results.items()
        for kind, data in r.fooling().items()
    }
    gallery = fg.fooling_gallery(rows, names, "Fooling images and the model's confidence")
    curves = {
        f"{model} {enc}": (e.curve("worst"), e.curve("median"))
        for model, r in results.items()
        for enc, e in (("direct", r.direct), ("CPPN", r.cppn))
        if e is not None
    }
    evolution = fg.evolution_curves(curves, s["target"], "Evolution: the archive per generation")
    table_rows = []
    for model, mm in m["models"].items():
        for kind, f in _made(mm).items():
            if kind == "ascent":
                effort = f"{f['most_steps']} steps at most"
            elif f["generations_to_all"] is not None:
                effort = f"all by generation {f['generations_to_all']}"
            else:
                effort = f"not all in {f['generations']} generations"
            table_rows.append(
                (
                    model,
                    KIND_NAMES[kind],
                    f"{f['classes_reached']}/{len(f['per_class'])}",
                    _conf(f["worst_confidence"]),
                    _conf(f["median_confidence"]),
                    effort,
                )
            )
    blocks: list[Paragraph | FigureBlock | Table] = [
        Paragraph(
            "Fooling images, one per class, made three ways. Gradient ascent starts from uniform "
            "noise and moves every pixel by 0.01 per step in the direction that raises log "
            "p(class), until p reaches the target; an image whose p has not risen for "
            f"{PATIENCE} steps is stuck at a local maximum and starts once more from a black "
            f"image{_restarts(m)}. Evolution uses only the model's answers: "
            "MAP-Elites keeps the best image per class and breeds "
            f"{s['population']} children per generation from those still below the target, in "
            "one batched pass through the model. The direct encoding mutates pixels (10 % of "
            "them per child, polynomial mutation, as Nguyen et al.); the CPPN encoding evolves "
            "small networks that draw an image from the pixel coordinates, which gives regular "
            "patterns such as stripes and blobs."
        ),
        FigureBlock(
            "garbage-fooling",
            to_png(gallery),
            f"Fooling images for every class and the probability the model gives that class "
            f"(target {_conf(s['target'])}).",
            "Rows of small noise-like or striped images, one per class and method, each "
            "captioned with a class name and a confidence close to 100 %.",
        ),
        Table(
            f"How far each method got: classes at or above {_conf(s['target'])}, the worst and "
            "median class, and the effort.",
            ("model", "method", "classes reached", "worst class", "median class", "effort"),
            tuple(table_rows),
        ),
        FigureBlock(
            "garbage-evolution",
            to_png(evolution),
            "The evolving archive: the worst and the median class's probability per "
            "generation, on a scale where each step is another 9 after the decimal point.",
            "Rising curves of confidence against generation for each model and encoding, "
            "with a dotted line at the target.",
        ),
    ]
    for model, mm in m["models"].items():
        sat, f = mm["saturation"], _made(mm)
        direct = f.get("evolve-direct")
        stuck = (f.get("ascent") or {}).get("n_restarted", 0)
        far_below = any(v["worst_confidence"] < 0.5 for v in f.values())
        if sat and far_below and sat["uniform"] > sat["test"]:
            blocks.append(
                Paragraph(
                    f"Why noise is a poor start for the {model}: on uniform noise "
                    f"{_pct(sat['uniform'], 0)} of its first hidden layer's sigmoid units are "
                    "saturated (within 0.001 of 0 or 1, where a small change to the input no "
                    f"longer moves them), against {_pct(sat['test'], 0)} on real test images "
                    f"and {_pct(sat['black'], 0)} on a black image. Gradient ascent got stuck "
                    f"from noise for {stuck} classes and went on from black; evolution, "
                    "which only mutates what it has, "
                    + (
                        f"ended with its worst class at {_conf(direct['worst_confidence'])}."
                        if direct
                        else "was not run."
                    )
                )
            )
        text = _ceiling_paragraph(model, mm, names)
        if text:
            blocks.append(Paragraph(text))
    return blocks


# ---------------------------------------------------------------------------------------------
# What the proved ceiling says, per class (fragility.garbage.ceiling)


def _all_out_of_reach(c: dict[str, Any] | None) -> bool:
    return c is not None and len(c["unreachable"]) == len(c["per_class"])


def _named(classes: list[int], names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(names[k] for k in classes)


def _reach_findings(c: dict[str, Any] | None, names: list[str]) -> list[str]:
    if c is None:
        return []
    out = []
    if _all_out_of_reach(c):
        out.append(f"out of reach for this model: its ceiling is {_conf(c['max_bound'])}")
    elif c["unreachable"]:
        out.append(f"out of reach (proved) for {_named(c['unreachable'], names)}")
    if c["open"]:
        out.append(f"undecided for {_named(c['open'], names)} (ceiling above the target)")
    return out


def _ceiling_paragraph(
    model: str, mm: dict[str, Any], names: list[str] | tuple[str, ...]
) -> str | None:
    c = mm["confidence_ceiling"]
    finished = (mm.get("ascent_with_witness") or {}).get("finished_by_witness", [])
    if c is None or not (c["unreachable"] or c["open"] or finished):
        return None
    bounds = [row["bound"] for row in c["per_class"]]
    text = (
        f"How high the {model} can go at all: bounding each layer's values over every possible "
        "input (interval arithmetic) boxes in its last hidden layer, and the best confidence "
        "in class k over that box is a concave problem solved exactly, so it is a ceiling no "
        "input, however garbled, goes above. "
    )
    if _all_out_of_reach(c):
        hardest = int(np.argmin(bounds))
        text += (
            f"Every ceiling is below {_conf(c['target'])}: {_conf(max(bounds))} for its easiest "
            f"class and {_conf(bounds[hardest])} for {names[hardest]}."
        )
    elif c["unreachable"]:
        text += (
            f"It is below {_conf(c['target'])} for {_named(c['unreachable'], names)} (proved "
            "out of reach) and above it for the other classes."
        )
    if finished:
        text += (
            " Where the ceiling allows the target and gradient ascent stopped short, a finer "
            "search (L-BFGS-B on the pixels in double precision, from the ascent's image) "
            f"reached it for {_named(finished, names)}; the model's own "
            "forward pass confirms each confidence."
        )
    if c["open"]:
        best = [c["per_class"][k]["witness_confidence"] or 0.0 for k in c["open"]]
        text += (
            f" For {_named(c['open'], names)} the question stays open: the ceiling allows "
            f"{_conf(c['target'])}, but the best input found gets at most {_conf(max(best))}; "
            "the ceiling is a bound, not a promise, since the hidden units cannot all take "
            "their extremes at once."
        )
    return text


def _detector_blocks(ctx: ReportContext, m: dict[str, Any]) -> list[Paragraph | Table]:
    has_ae = m["settings"]["autoencoder"]
    blocks: list[Paragraph | Table] = [
        Paragraph(
            "Can the garbage be caught? The baseline detector of Hendrycks and Gimpel (2017) "
            "flags an input when the model's maximum probability is low; the second detector "
            "flags it when an autoencoder trained on the same data redraws it badly "
            "(reconstruction error). AUROC is the chance that a random real test image looks "
            "more normal to the detector than a random garbage image: 1 catches everything, "
            "0.5 is a coin toss, below 0.5 the detector trusts the garbage more than real data."
            + (
                ""
                if has_ae
                else " No autoencoder was given to this report, so only the max-softmax "
                "detector is shown and the distance table has no reconstruction errors."
            )
        )
    ]
    for model, mm in m["models"].items():
        rows = tuple(
            (
                family,
                _conf(o["mean_confidence"]),
                _auroc(o["auroc_max_softmax"]),
                _auroc(o["auroc_autoencoder"]),
                ", ".join(o["evades"]) or "-",
            )
            for family, o in mm["ood"].items()
        )
        blocks.append(
            Table(
                f"{model}: telling its test images from each kind of garbage.",
                ("garbage", "mean max p", "AUROC max-softmax", "AUROC autoencoder", "evades"),
                rows,
            )
        )
    dist_rows = []
    for model, mm in m["models"].items():
        for kind, d in mm["unrecognisability"].items():
            t = mm["transfer"].get(kind)
            dist_rows.append(
                (
                    model,
                    kind,
                    f"{d['nearest_train_rms']['mean']:.3f}",
                    "n/a" if d["recon_error"] is None else f"{d['recon_error']['mean']:.4f}",
                    "-" if t is None else f"{_pct(t['same_class'], 0)} ({mm['transfer_model']})",
                    "-" if t is None else _pct(t["mean_confidence"]),
                )
            )
    blocks.append(
        Table(
            "How unlike the data they are: root-mean-square pixel distance to the nearest "
            "training image and the autoencoder's reconstruction error (means), beside real test "
            "images and uniform noise; and whether the fooling images fool the other model "
            "(share it gives the same class, its mean probability for that class).",
            (
                "model",
                "images",
                "to nearest training image",
                "reconstruction error",
                "same class on other model",
                "other model's p",
            ),
            tuple(dist_rows),
        )
    )
    return blocks


def _comparisons(m: dict[str, Any]) -> list[Comparison]:
    pub = m["published"]
    g, h, n = pub["goodfellow_rubbish"], pub["hendrycks_gimpel"], pub["nguyen"]
    models = m["models"]
    goodfellow, hendrycks, nguyen = [], [], []
    for name, mm in models.items():
        families = mm["survey"]["families"]
        raw, clipped = families.get("gaussian-unclipped"), families.get("gaussian")
        if raw is not None and clipped is not None:
            goodfellow.append(
                f"{name} {_pct(raw['share_above']['0.5'])} "
                f"(mean {_pct(raw['mean_confidence'])}), "
                f"clipped to [0, 1] {_pct(clipped['share_above']['0.5'])}"
            )
        ood = mm["ood"]
        if "gaussian-unclipped" in ood and "uniform" in ood:
            hendrycks.append(
                f"{name}: Gaussian {_auroc(ood['gaussian-unclipped']['auroc_max_softmax'])} "
                f"({_pct(ood['gaussian-unclipped']['mean_confidence'], 0)}), uniform "
                f"{_auroc(ood['uniform']['auroc_max_softmax'])} "
                f"({_pct(ood['uniform']['mean_confidence'], 0)})"
            )
        direct = mm["evolve-direct"]
        if direct is not None:
            gens, pop = direct["generations_to_all"], m["settings"]["population"]
            if gens is not None:
                got = f"all by generation {gens} ({gens * pop:,} images evaluated)"
                if gens >= n["generations_to_all"]:
                    got += " (a gap to the paper's LeNet: another network and other data)"
            else:
                got = f"{direct['classes_reached']} classes in {direct['generations']}"
                ceiling = mm["confidence_ceiling"]
                if _all_out_of_reach(ceiling):
                    got += f" (out of reach: ceiling {_conf(ceiling['max_bound'])})"
            nguyen.append(f"{name}: {got}")
    rows = []
    if goodfellow:
        rows.append(
            Comparison(
                f"share of N(0, I) noise called a digit with p > 0.5 ({g['setting']})",
                "; ".join(goodfellow),
                "maxout 98.35 % (mean 92.8 %), sigmoid output 68 % (87.9 %), softmax "
                "regression 59.8 % (70.8 %), RBF network 0 %",
                g["source"],
            )
        )
    if hendrycks:
        rows.append(
            Comparison(
                f"max-softmax AUROC, test set vs noise (mean max p) ({h['setting']})",
                "; ".join(hendrycks),
                "Gaussian 0.90 (91 %), uniform 0.99 (83 %)",
                h["source"],
            )
        )
    if nguyen:
        rows.append(
            Comparison(
                f"generations until every class is at >= 99.99 % ({n['setting']})",
                "; ".join(nguyen) + f" ({m['settings']['population']} children per generation)",
                f"under {n['generations_to_all']} (under "
                f"{n['generations_to_all'] * n['population']:,} images evaluated)",
                n["source"],
            )
        )
    return rows


def _published_blocks(
    m: dict[str, Any], comparisons: tuple[Comparison, ...]
) -> list[Paragraph | Table]:
    rows = tuple((f"{c.source}; {c.quantity}", c.published, c.ours) for c in comparisons)
    return [
        Paragraph(
            "Against the papers. The settings differ (their MNIST is 28x28 with tens of "
            f"thousands of training images; this run uses {m['settings']['samples']} noise "
            "images per family and the models of this report), so read the comparison as "
            "orders of magnitude. Nguyen et al. also retrained their network with the fooling "
            "images as an extra class and could still fool it; that experiment retrains a "
            "model, which does not fit this report's time budget: run "
            "fragility garbage --method retrain to repeat it."
        ),
        Table(
            "Published figures beside this run's.",
            ("source and setting", "published", "here"),
            rows,
        ),
    ]
