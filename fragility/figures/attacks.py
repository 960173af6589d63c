"""Figures of adversarial examples: accuracy curves, galleries and the transfer matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fragility._fmt import model_name
from fragility.figures import COLUMN_IN, new_figure, rgb, styled
from fragility.figures import gallery as image_gallery
from fragility.figures.style import GREY, STYLES, model_colour

if TYPE_CHECKING:
    from fragility.attacks import AttackResult, RobustAccuracy, Transfer


@styled
def accuracy_curves(curves: Mapping[str, Mapping[str, RobustAccuracy]], title: str) -> Figure:
    """Robust accuracy (%) against epsilon: one colour per model (outer key), one line style
    per attack (inner key). Linf curves get a top axis in grey levels of 255."""
    fig = new_figure(COLUMN_IN, 3.9)
    ax = fig.subplots()
    norms = set()
    styles: dict[str, str] = {}
    for model, by_attack in curves.items():
        for attack, c in by_attack.items():
            style = styles.setdefault(attack, STYLES[len(styles) % len(STYLES)])
            ax.plot(
                c.epsilons,
                [100 * a for a in c.accuracy],
                style,
                color=model_colour(model),
                marker="o" if len(c.epsilons) <= 12 else None,
                ms=3,
            )
            norms.add(c.norm)
    norm = norms.pop() if len(norms) == 1 else "mixed"
    ax.set(
        xlabel=f"epsilon ({'Linf' if norm == 'linf' else 'L2' if norm == 'l2' else 'norm'})",
        ylabel="accuracy under attack (%)",
        ylim=(-2, 102),
    )
    ax.set_title(title, pad=24 if norm == "linf" else 6)
    if norm == "linf":
        top = ax.secondary_xaxis("top", functions=(lambda e: 255 * e, lambda g: g / 255))
        top.set_xlabel("grey levels of 255")
    ax.grid(alpha=0.5)
    handles = [Line2D([], [], color=model_colour(m), label=model_name(m)) for m in curves]
    handles += [Line2D([], [], color=GREY, ls=s, label=a) for a, s in styles.items()]
    ax.legend(handles=handles, loc="upper right", ncol=1 if len(handles) <= 4 else 2)
    return fig


@styled
def gallery(
    x: torch.Tensor,
    clean_logits: torch.Tensor,
    result: AttackResult,
    y: torch.Tensor,
    class_names: Sequence[str],
    *,
    columns: int = 8,
) -> Figure:
    """For the first `columns` images: the original, the perturbation amplified around
    mid-grey, and the adversarial image, each captioned with the model's answer and its
    softmax confidence (the perturbation with its L2 size)."""
    n = min(columns, len(x))
    delta = result.adversarial[:n] - x[:n]
    peak = float(delta.abs().max()) or 1.0
    amplify = 0.5 / peak
    p_clean = clean_logits[:n].softmax(1)
    p_adv = result.logits[:n].softmax(1)
    items, captions = [], []
    for i in range(n):
        c, a = int(p_clean[i].argmax()), int(p_adv[i].argmax())
        wrong = "" if c == int(y[i]) else f"\n(is {class_names[int(y[i])]})"
        held = "" if bool(result.success[i]) else "\n(held)"
        items.append(
            [rgb(x[i]), rgb((0.5 + amplify * delta[i]).clamp(0, 1)), rgb(result.adversarial[i])]
        )
        captions.append(
            [
                f"{class_names[c]}: {100 * p_clean[i, c]:.0f} %{wrong}",
                f"L2 {float(result.l2[i]):.2f}",
                f"{class_names[a]}: {100 * p_adv[i, a]:.0f} %{held}",
            ]
        )
    eps = "" if result.epsilon is None else f", epsilon {result.epsilon:g}"
    return image_gallery(
        items,
        captions=captions,
        row_labels=["original", f"change\nx{amplify:.0f}", "adversarial"],
        title=f"{result.attack}{eps}: the answer and its confidence",
    )


@styled
def transfer_matrix(t: Transfer) -> Figure:
    """Accuracy (%) of each model (columns) on the adversarials made on each model (rows)."""
    from matplotlib import colormaps

    k = len(t.names)
    side = min(0.75 * k + 1.6, COLUMN_IN - 0.9)
    fig = new_figure(COLUMN_IN, side + 0.2)
    ax = fig.subplots()
    values = [[100 * v for v in row] for row in t.accuracy]
    cmap = colormaps["cividis"]
    im = ax.imshow(values, cmap=cmap, vmin=0, vmax=100)
    for i in range(k):
        for j in range(k):
            r, g, b, _ = cmap(values[i][j] / 100)
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.55
            ax.text(
                j,
                i,
                f"{values[i][j]:.0f} %",
                ha="center",
                va="center",
                color="white" if dark else "black",
                weight="bold",
            )
    names = [model_name(n) for n in t.names]
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.tick_params(length=0)
    for side_ in ax.spines.values():
        side_.set_visible(False)
    ax.set(xlabel="scored on", ylabel="adversarials made on")
    ax.set_title(f"{t.attack}, epsilon {t.epsilon:g}")
    bar = fig.colorbar(im, ax=ax, shrink=0.85, pad=0.04)
    bar.set_label("accuracy (%)")
    bar.outline.set_linewidth(0.5)
    return fig
