"""Figures of adversarial examples: accuracy curves, galleries and the transfer matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from matplotlib.figure import Figure

from fragility.figures import image_grid, new_figure

if TYPE_CHECKING:
    from fragility.attacks import AttackResult, RobustAccuracy, Transfer


def accuracy_curves(curves: Mapping[str, Mapping[str, RobustAccuracy]], title: str) -> Figure:
    """Robust accuracy (%) against epsilon: one colour per model (outer key), one line style
    per attack (inner key). Linf curves get a top axis in grey levels of 255."""
    fig = new_figure(5.4, 3.4)
    ax = fig.subplots()
    norms = set()
    styles: dict[str, str] = {}
    for i, (model, by_attack) in enumerate(curves.items()):
        for attack, c in by_attack.items():
            style = styles.setdefault(attack, ("-", "--", ":", "-.")[len(styles) % 4])
            ax.plot(
                c.epsilons,
                [100 * a for a in c.accuracy],
                style,
                color=f"C{i}",
                marker="o",
                ms=2.5,
                label=f"{model} {attack}" if len(curves) > 1 else attack,
            )
            norms.add(c.norm)
    norm = norms.pop() if len(norms) == 1 else "mixed"
    ax.set(
        xlabel=f"epsilon ({'Linf' if norm == 'linf' else 'L2' if norm == 'l2' else 'norm'})",
        ylabel="accuracy under attack (%)",
        title=title,
        ylim=(-2, 102),
    )
    if norm == "linf":
        top = ax.secondary_xaxis("top", functions=(lambda e: 255 * e, lambda g: g / 255))
        top.set_xlabel("grey levels of 255", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def gallery(
    x: torch.Tensor,
    clean_logits: torch.Tensor,
    result: AttackResult,
    y: torch.Tensor,
    class_names: Sequence[str],
    *,
    columns: int = 8,
) -> Figure:
    """Originals (top), perturbations amplified around mid-grey (middle) and adversarials
    (bottom) for the first `columns` images, with labels and softmax confidences."""
    n = min(columns, len(x))
    delta = result.adversarial[:n] - x[:n]
    peak = float(delta.abs().max()) or 1.0
    amplify = 0.5 / peak
    p_clean = clean_logits[:n].softmax(1)
    p_adv = result.logits[:n].softmax(1)
    images, titles = [], []
    for i in range(n):
        c = int(p_clean[i].argmax())
        wrong = "" if c == int(y[i]) else f"\n(true {class_names[int(y[i])]})"
        images.append(x[i])
        titles.append(f"says {class_names[c]} {100 * p_clean[i, c]:.0f} %{wrong}")
    for i in range(n):
        images.append((0.5 + amplify * delta[i]).clamp(0, 1))
        titles.append(f"L2 {float(result.l2[i]):.2f}")
    for i in range(n):
        a = int(p_adv[i].argmax())
        held = "" if bool(result.success[i]) else "\n(attack failed)"
        images.append(result.adversarial[i])
        titles.append(f"says {class_names[a]} {100 * p_adv[i, a]:.0f} %{held}")
    eps = "" if result.epsilon is None else f", epsilon {result.epsilon:g}"
    return image_grid(
        torch.stack(images),
        titles,
        columns=n,
        cell=1.2,
        suptitle=f"{result.attack}{eps}",
        row_labels=["original", f"perturbation\nx{amplify:.0f}", "adversarial"],
    )


def transfer_matrix(t: Transfer) -> Figure:
    """Accuracy (%) of each model (columns) on the adversarials made on each model (rows)."""
    k = len(t.names)
    fig = new_figure(1.1 * k + 2.2, 0.9 * k + 1.4)
    ax = fig.subplots()
    values = [[100 * v for v in row] for row in t.accuracy]
    ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=100)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{values[i][j]:.0f} %", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(k), t.names)
    ax.set_yticks(range(k), t.names)
    ax.set(
        xlabel="scored on",
        ylabel="adversarials made on",
        title=f"{t.attack}, epsilon {t.epsilon:g}",
    )
    return fig
