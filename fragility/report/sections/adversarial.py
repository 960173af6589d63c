"""Section 3: adversarial examples. Robust accuracy against epsilon under FGSM and PGD for
each classifier, galleries, the smallest perturbations DeepFool and Carlini-Wagner find,
transfer between the models, and the published figures they compare with."""

from __future__ import annotations

from typing import Any

import torch

from fragility._fmt import pct as _pct
from fragility.attacks import (
    PGD,
    CarliniWagnerL2,
    DeepFool,
    fgsm,
    grey_levels,
    robust_accuracy,
    transfer_matrix,
)
from fragility.contract import predict
from fragility.figures import attacks as figs
from fragility.figures import to_png
from fragility.report.section import (
    Comparison,
    FigureBlock,
    Paragraph,
    ReportContext,
    Section,
    Table,
)
from fragility.report.sections import TITLES

SLUG = "adversarial"
TITLE = TITLES[SLUG]
GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)  # Linf budgets shown in the table
FINE = tuple(i / 100 for i in range(31))  # FGSM's curve, fine enough to read its smallest step
SHOWN = 0.1  # the budget quoted in the text and used for the gallery and transfer
RHO = r"$\rho_{\text{adv}}$"  # DeepFool's relative perturbation size, typeset


def _budget(quick: bool, n_test: int, ctx: ReportContext | None = None) -> dict[str, int]:
    """Sized so the section builds in about 5 s (1.5 s quick) on digits on 2 cores. A quick
    report on large models attacks fewer images (ReportContext.within): FGSM's 31 budgets and
    PGD-10's 7, each a forward and backward pass per step, cost up to about 300 passes an
    image, DeepFool about 100."""
    if quick:
        within = ctx.within if ctx is not None else (lambda n, passes=1, least=0: n)
        return {
            "n": within(min(100, n_test), passes=300, least=32),
            "pgd_steps": 10,
            "minimal_n": within(min(60, n_test), passes=100, least=16),
            "cw_n": 0,
            "cw_steps": 0,
            "shown": 4,
        }
    return {
        "n": min(450, n_test),
        "pgd_steps": 20,
        "minimal_n": min(200, n_test),
        "cw_n": min(30, n_test),
        "cw_steps": 100,
        "shown": 8,
    }


def _rho(l2: torch.Tensor, x: torch.Tensor, keep: torch.Tensor) -> float | None:
    """DeepFool's rho_adv: the mean of ||r||_2 / ||x||_2 over the images fooled."""
    if not bool(keep.any()):
        return None
    return float((l2[keep].double() / x[keep].flatten(1).norm(dim=1).double()).mean())


def _median(v: torch.Tensor) -> float | None:
    return float(v.median()) if len(v) else None


def _success_rate(success: torch.Tensor, correct: torch.Tensor) -> float | None:
    """The share of the correctly classified images that the attack fooled (None if none were
    correct: NaN would not survive metrics.json)."""
    n = int(correct.sum())
    return float((success & correct).sum()) / n if n else None


def _analyse(model: torch.nn.Module, x, y, b: dict[str, int], ctx: ReportContext) -> dict:
    seed = ctx.seed
    pgd = PGD(steps=b["pgd_steps"])
    curves = {
        "FGSM": robust_accuracy(model, x, y, fgsm(), FINE, seed=seed, progress=ctx.progress),
        pgd.name: robust_accuracy(model, x, y, pgd, GRID, seed=seed, progress=ctx.progress),
    }
    fg = curves["FGSM"]
    correct = fg.broken_at > 0
    k = b["minimal_n"]
    deepfool = DeepFool().run(model, x[:k], y[:k])
    # Compared at equal success: over the images both attacks fooled.
    both = deepfool.success & correct[:k] & torch.isfinite(fg.broken_at[:k])
    out: dict[str, Any] = {
        "curves": curves,
        "pgd": pgd,
        "clean": fg.clean_accuracy,
        "deepfool": deepfool,
        "cw_result": None,
        # Numbers of no single attack: two attacks compared on the images both fooled.
        "compared": {
            "images": int(both.sum()),
            "fgsm_rho_adv": _rho(fg.l2[:k], x[:k], both),
            "deepfool_rho_adv": _rho(deepfool.l2, x[:k], both),
            "fgsm_median_l2": _median(fg.l2[:k][both]),
            "deepfool_median_l2": _median(deepfool.l2[both]),
            "deepfool_success_rate_on_correct": _success_rate(deepfool.success, correct[:k]),
        },
        "cw": None,
    }
    if b["cw_n"]:
        k = b["cw_n"]
        cw = CarliniWagnerL2(steps=b["cw_steps"]).run(model, x[:k], y[:k])
        won = cw.success & both[:k]
        out["cw_result"] = cw
        out["cw"] = {
            "images": int(won.sum()),
            "cw_success_rate_on_correct": _success_rate(cw.success, correct[:k]),
            "fgsm_median_l2": _median(fg.l2[:k][won]),
            "deepfool_median_l2": _median(deepfool.l2[:k][won]),
            "cw_median_l2": _median(cw.l2[won]),
        }
    gallery_x, gallery_y = x[correct][: b["shown"]], y[correct][: b["shown"]]
    out["gallery"] = (
        gallery_x,
        gallery_y,
        predict(model, gallery_x),
        pgd.run(model, gallery_x, gallery_y, SHOWN, seed=seed),
    )
    return out


def build(ctx: ReportContext) -> Section:
    if not ctx.classifiers:
        return Section(SLUG, TITLE, "No classifier was trained for this report: nothing to attack.")
    data = ctx.data
    b = _budget(ctx.quick, len(data.x_test), ctx)
    x, y = data.x_test[: b["n"]], data.y_test[: b["n"]]
    results = {name: _analyse(t.model, x, y, b, ctx) for name, t in ctx.classifiers.items()}
    transfer = None
    if len(ctx.classifiers) > 1:
        models = {name: t.model for name, t in ctx.classifiers.items()}
        transfer = transfer_matrix(models, x, y, PGD(steps=b["pgd_steps"]), SHOWN, seed=ctx.seed)
    metrics = _metrics(results, transfer, b, data.name)
    blocks = _blocks(results, transfer, b, data)
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=_intro(results, b, data.name),
        blocks=tuple(blocks),
        metrics=metrics,
        findings=_findings(results),
        comparisons=_comparisons(results),
    )


def _findings(results: dict[str, Any]) -> tuple[str, ...]:
    out = []
    for name, r in results.items():
        pgd = r["curves"][r["pgd"].name]
        out.append(
            f"{name}: {_pct(r['clean'])} clean, {_pct(pgd.at(SHOWN))} under "
            f"{r['pgd'].name} at epsilon {SHOWN} ({grey_levels(SHOWN):.0f} grey levels)"
        )
    return tuple(out)


def _comparisons(results: dict[str, Any]) -> tuple[Comparison, ...]:
    out = []
    for name, r in results.items():
        fg = r["curves"]["FGSM"]
        pgd = r["curves"][r["pgd"].name]
        out += [
            Comparison(
                f"FGSM error at epsilon 0.25, {name}",
                _pct(1 - fg.at(0.25)),
                "99.9 % (shallow softmax), 89.4 % (maxout)",
                "Goodfellow et al. 2015, MNIST",
            ),
            Comparison(
                f"accuracy under FGSM / PGD at epsilon 0.3, {name}",
                f"{_pct(fg.at(0.3))} / {_pct(pgd.at(0.3))}",
                "6.4 % under FGSM, naturally trained CNN",
                "Madry et al. 2018, MNIST",
            ),
            Comparison(
                f"{RHO} DeepFool vs FGSM, {name}",
                f"{_num(r['compared']['deepfool_rho_adv'])} vs "
                f"{_num(r['compared']['fgsm_rho_adv'])}",
                "0.20 vs 1.0 (LeNet), 0.11 vs 0.39 (MLP)",
                "Moosavi-Dezfooli et al. 2016, MNIST",
            ),
        ]
    return tuple(out)


def _intro(results: dict[str, Any], b: dict[str, int], dataset: str) -> str:
    name, r = max(results.items(), key=lambda kv: kv[1]["clean"])
    pgd = r["curves"][r["pgd"].name]
    return (
        f"An adversarial example is an image changed so slightly that a person sees no "
        f"difference, yet the network now names a different class. We took {b['n']} test "
        f"images of {dataset} and let an attacker move every pixel by at most {SHOWN} on a "
        f"scale where black is 0 and white is 1 (about {grey_levels(SHOWN):.0f} of 255 grey "
        f"levels), each pixel in whichever direction hurts the network most. The {name} "
        f"network, which reads {_pct(r['clean'])} of the untouched images correctly, read "
        f"only {_pct(pgd.at(SHOWN))} correctly after this attack, and "
        f"{_pct(pgd.at(0.3))} when the budget grew to 0.3 ({grey_levels(0.3):.0f} "
        f"grey levels), where the digits are still plain to read. Nothing was wrong with the "
        f"images: the network's decision simply depends on patterns a person never looks at, "
        f"which is why a high test score says little about behaviour under deliberate or "
        f"unlucky changes."
    )


def _blocks(results, transfer, b, data) -> list:
    pgd_name = next(iter(results.values()))["pgd"].name
    blocks: list = [
        Paragraph(
            f"Attacks: FGSM (Goodfellow et al. 2015), one step of size epsilon along the sign "
            f"of the gradient, on a grid of 0.01; {pgd_name} (Madry et al. 2018), "
            f"{b['pgd_steps']} steps of 2.5 epsilon / {b['pgd_steps']} from a random start in "
            f"the ball. An image counts as robust at epsilon only if no adversarial was found "
            f"inside its epsilon ball; once fooled at one epsilon it counts as fooled at every "
            f"larger one. The sweep stops attacking an image once it is fooled, which gives "
            f"exactly the numbers of attacking every image at every epsilon. "
            f"{b['n']} test images per model; budgets kept small so the report builds in "
            f"seconds (the command `fragility attack` runs longer attacks)."
        )
    ]
    by_model = {name: r["curves"] for name, r in results.items()}
    curves = {f"{name} {label}": c for name, cs in by_model.items() for label, c in cs.items()}
    blocks.append(
        FigureBlock(
            "adversarial-curves",
            to_png(figs.accuracy_curves(by_model, f"Accuracy under attack, {data.name}")),
            "Accuracy under attack against the Linf budget epsilon (top axis: grey levels).",
            "Line chart: accuracy of each model under FGSM and PGD falls as epsilon grows.",
        )
    )
    header = ("epsilon", "grey levels", *curves)
    rows = tuple(
        (f"{e:g}", f"{grey_levels(e):.1f}", *(_pct(c.at(e)) for c in curves.values())) for e in GRID
    )
    blocks.append(Table("Accuracy under attack (Linf).", header, rows))
    for name, r in results.items():
        gx, gy, clean, res = r["gallery"]
        fig = figs.gallery(gx, clean, res, gy, data.class_names)
        blocks.append(
            FigureBlock(
                f"adversarial-gallery-{name}",
                to_png(fig),
                f"{name}: originals, the perturbation (amplified around mid-grey) and the "
                f"adversarial images under {res.attack} at epsilon {SHOWN}.",
                f"Three rows of {len(gx)} digits: the originals, noisy grey perturbations and "
                "adversarials that look like the originals but carry other labels.",
            )
        )
    blocks.append(_minimal_table(results, b))
    if transfer is not None:
        blocks.append(
            FigureBlock(
                "adversarial-transfer",
                to_png(figs.transfer_matrix(transfer)),
                f"Accuracy of each model (columns) on the {transfer.attack} adversarials made on "
                f"each model (rows) at epsilon {SHOWN}. The diagonal is the white-box attack.",
                "A heat map of accuracies: low on the diagonal, higher off it.",
            )
        )
        blocks.append(Paragraph(_transfer_text(transfer)))
    blocks.append(Paragraph(_published_text(results, data.name)))
    return blocks


def _minimal_table(results: dict[str, Any], b: dict[str, int]) -> Table:
    rows = []
    for name, r in results.items():
        c = r["compared"]
        rows.append(
            (
                f"{name} (FGSM, DeepFool)",
                str(c["images"]),
                _num(c["fgsm_rho_adv"]),
                _num(c["deepfool_rho_adv"]),
                f"{_num(c['fgsm_median_l2'])}, {_num(c['deepfool_median_l2'])}",
            )
        )
        cw = r["cw"]
        if cw is not None:
            rows.append(
                (
                    f"{name} (FGSM, DeepFool, CW-L2)",
                    str(cw["images"]),
                    "",
                    "",
                    ", ".join(
                        _num(cw[k])
                        for k in ("fgsm_median_l2", "deepfool_median_l2", "cw_median_l2")
                    ),
                )
            )
    return Table(
        "Smallest perturbations found, over the images every attack in the row fooled. "
        r"$\rho_{\text{adv}}$ is the mean of $\|r\|_2 / \|x\|_2$ over perturbations $r$ of "
        "images $x$ (Moosavi-Dezfooli et al. 2016); FGSM's perturbation is its smallest step on "
        "the 0.01 grid that fools the image."
        f" DeepFool runs on the first {b['minimal_n']} images; CW-L2 (5 values of c x "
        f"{b['cw_steps']} Adam steps) on the first {b['cw_n']} only, and not in a quick report.",
        ("attacks", "images", "FGSM ρ_adv", "DeepFool ρ_adv", "median L2, in that order"),
        tuple(rows),
    )


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _transfer_text(t) -> str:
    k = len(t.names)
    pairs = [
        f"made on {t.names[i]}, they leave {t.names[j]} {_pct(t.accuracy[i][j])} accuracy "
        f"(white-box: {_pct(t.accuracy[j][j])}, clean: {_pct(t.clean_accuracy[j])})"
        for i in range(k)
        for j in range(k)
        if i != j
    ]
    return (
        "Transfer: adversarials made on one network also fool a network the attacker never "
        "saw, though less often (Szegedy et al. 2014). Here, " + "; ".join(pairs) + "."
    )


def _published_text(results: dict[str, Any], dataset: str) -> str:
    parts = []
    for name, r in results.items():
        fg = r["curves"]["FGSM"]
        pgd = r["curves"][r["pgd"].name]
        parts.append(
            f"{name}: FGSM at 0.25 errs on {_pct(1 - fg.at(0.25))} of the images, "
            f"FGSM at 0.3 leaves {_pct(fg.at(0.3))} and {r['pgd'].name} at 0.3 "
            f"{_pct(pgd.at(0.3))}; DeepFool's {RHO} is "
            f"{_num(r['compared']['deepfool_rho_adv'])} against FGSM's "
            f"{_num(r['compared']['fgsm_rho_adv'])}"
            + (
                f"; on the images all three fooled, CW-L2's median L2 is "
                f"{_num(r['cw']['cw_median_l2'])} against DeepFool's "
                f"{_num(r['cw']['deepfool_median_l2'])}"
                if r["cw"]
                else ""
            )
        )
    return (
        f"Published figures, all on MNIST (28x28, 784 pixels), beside ours on {dataset}. "
        "Goodfellow et al. (ICLR 2015): FGSM at epsilon 0.25 made a shallow softmax "
        "classifier err on 99.9 % of MNIST test images and a maxout network on 89.4 %. "
        "Madry et al. (ICLR 2018): a naturally trained MNIST CNN (99.2 % clean) kept 6.4 % "
        "under FGSM at 0.3, and only adversarial training held 89.3 % against PGD-100 with 20 "
        f"restarts. Moosavi-Dezfooli et al. (CVPR 2016): {RHO} 0.20 for DeepFool against 1.0 "
        "for FGSM on LeNet, 0.11 against 0.39 on a 500-150-10 MLP. Carlini & Wagner (S&P 2017): "
        "a mean L2 of about 1.36 at 100 % success on MNIST (secondary sources, approximate). "
        "Ours: " + "; ".join(parts) + ". Smaller images need smaller L2 perturbations "
        "(there are fewer pixels to spread them over), so compare L2 sizes across datasets "
        f"with care; {RHO} and Linf budgets carry over better."
    )


def _metrics(results, transfer, b, dataset) -> dict[str, Any]:
    """Each attack's own `to_dict` (the names attack.json uses) per model, and the numbers that
    compare two attacks on the images both fooled."""
    models = {}
    for name, r in results.items():
        cw = r["cw_result"]
        models[name] = {
            "fgsm": r["curves"]["FGSM"].to_dict(),
            "pgd": r["curves"][r["pgd"].name].to_dict(),
            "deepfool": r["deepfool"].to_dict(),
            "cw": None if cw is None else cw.to_dict(),
            "compared": r["compared"],
            "compared_with_cw": r["cw"],
        }
    return {
        "dataset": dataset,
        "n_images": b["n"],
        "minimal_perturbation_images": b["minimal_n"],
        "cw_images": b["cw_n"],
        "pgd_steps": b["pgd_steps"],
        "models": models,
        "transfer": None if transfer is None else transfer.to_dict(),
    }
