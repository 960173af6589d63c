"""Appendix of the failure report: two neurons make a net, derived by hand with numbers.

The lecture's worked derivation, checked against torch autograd, the 2x2 exercise, both nets
trained by gradient descent, and the cost of a gradient counted two ways (summing over paths
against backpropagation). Needs no trained model: it runs on its own small nets.
"""

from __future__ import annotations

from fragility import neurons
from fragility._fmt import sci
from fragility.figures import to_png
from fragility.figures.neurons import appendix_figures
from fragility.report.section import FigureBlock, Paragraph, ReportContext, Section, Table
from fragility.report.sections import TITLES

SLUG = "appendix"
TITLE = TITLES[SLUG]

SHOWN_DEPTHS = (1, 2, 4, 8, 12)  # rows of the cost table in the report


def build(ctx: ReportContext) -> Section:
    walk = neurons.walkthrough(seed=ctx.seed)
    timings = neurons.time_gradients(
        max_path_sum_multiply_adds=200_000 if ctx.quick else 1_000_000,
        repeats=1 if ctx.quick else 3,
        seed=ctx.seed,
    )
    figures = appendix_figures(walk, timings)
    f, g = walk.forward, walk.gradient
    c2, c22 = walk.curves
    cost = walk.cost
    d_max, w_max = cost.depths[-1], cost.widths[-1]
    intro = (
        "Every network in this report learns the same way as the smallest one that is a net: "
        f"two neurons in a chain. With input x = {f.x:g}, weights {f.w1:g} and {f.w2:g} and "
        f"target {f.d:g}, the net answers {f.z:.3f}; the chain rule, worked out by hand one "
        f"factor at a time, says how much each weight is to blame ({g.dL_dw1:.4f} and "
        f"{g.dL_dw2:.4f}), and torch's automatic differentiation agrees to within "
        f"{sci(walk.autograd_max_abs_difference, 1)}, as close as the computer's arithmetic "
        "allows. Repeating that small correction "
        f"{len(c2.losses) - 1} times drives the error from {c2.first:.3f} to {sci(c2.last)}. "
        "The same bookkeeping scales: counting every route from input to output through a net "
        f"{w_max} neurons wide and {d_max} layers deep gives {cost.paths[-1][-1]:,} routes, yet "
        f"backpropagation needs only {cost.backprop[-1][-1]:,} multiply-adds to get every "
        "weight's share, because it reuses what the layer above already computed. That is why "
        "networks with millions of weights can be trained at all."
    )
    blocks = [
        Paragraph(_net_text(walk)),
        _forward_table(walk),
        _backward_table(walk),
        Paragraph(_sign_text(walk)),
        _two_by_two_table(walk),
        FigureBlock(
            "neurons-loss",
            to_png(figures["neurons-loss"]),
            f"Gradient descent with the hand-derived gradients (rate {c2.learning_rate:g}): "
            f"two neurons on the worked example, {c2.first:.4f} to {sci(c2.last)}; the 2x2 net "
            f"on the swap task, {c22.first:.4f} to {sci(c22.last)}.",
            "Loss against step on a log scale: both curves fall; the two-neuron curve falls "
            "steadily, the 2x2 curve stays flat for some 50 steps and then falls.",
        ),
        _cost_table(walk),
        FigureBlock(
            "neurons-paths",
            to_png(figures["neurons-paths"]),
            "Exact counts on a log scale: input-to-output paths and the multiply-adds of a "
            "naive sum over paths rise as straight lines with depth (exponential growth); "
            "backprop's multiply-adds stay almost flat (linear in depth, quadratic in width).",
            "Two log-scale plots of counts against depth and against width: the path and "
            "path-sum lines climb steeply, the backprop line stays low.",
        ),
        Paragraph(_timing_text(timings, cost)),
        FigureBlock(
            "neurons-timing",
            to_png(figures["neurons-timing"]),
            "Seconds per gradient in pure Python, the naive path sum against backprop, for "
            "every width and depth where the path sum still finishes quickly.",
            "Timing against depth on a log scale: path-sum times climb steeply, backprop "
            "times grow slowly.",
        ),
    ]
    return Section(
        slug=SLUG,
        title=TITLE,
        intro=intro,
        blocks=tuple(blocks),
        metrics=walk.to_dict(),  # the numbers of `fragility neurons --out`: neurons.json
    )


def _net_text(w: neurons.Walkthrough) -> str:
    f = w.forward
    return (
        r"The net: $x$ → $P_1 = w_1 x$ → $y = \sigma(P_1)$ → $P_2 = w_2 y$ → $z = \sigma(P_2)$, "
        r"with loss $L = \frac{1}{2}(d - z)^2$, no biases (as in the lecture), "
        f"$x = {f.x:g}$, $d = {f.d:g}$, $w_1 = {f.w1:g}$, $w_2 = {f.w2:g}$. The sigmoid's slope "
        r"is $\beta(1 - \beta)$, a function of its output $\beta$ alone. At each phase of the "
        "backward pass, the product of the factors already computed is reused and only the last "
        "three factors are new."
    )


def _forward_table(w: neurons.Walkthrough) -> Table:
    f = w.forward
    rows = (
        ("$P_1$", "$w_1 x$", f"{f.P1:.6f}"),
        ("$y$", r"$\sigma(P_1)$", f"{f.y:.6f}"),
        ("$P_2$", "$w_2 y$", f"{f.P2:.6f}"),
        ("$z$", r"$\sigma(P_2)$", f"{f.z:.6f}"),
        ("$L$", r"$\frac{1}{2}(d - z)^2$", f"{f.loss:.6f}"),
    )
    return Table("Forward pass", ("quantity", "formula", "value"), rows)


def _backward_table(w: neurons.Walkthrough) -> Table:
    g = w.gradient
    auto = w.autograd
    rows = (
        ("1", _d("L", "z"), "$z - d$", f"{g.dL_dz:.6f}", ""),
        ("1", _d("z", "P_2"), "$z(1 - z)$", f"{g.dz_dP2:.6f}", ""),
        ("1", _d("P_2", "w_2"), "$y$", f"{g.dP2_dw2:.6f}", ""),
        (
            "1",
            _d("L", "w_2"),
            "product of the three above",
            f"{g.dL_dw2:.6f}",
            f"{auto['dL_dw2']:.6f}",
        ),
        ("2", _d("L", "P_2"), "the first two above, reused", f"{g.dL_dP2:.6f}", ""),
        ("2", _d("P_2", "y"), "$w_2$", f"{g.dP2_dy:.6f}", ""),
        ("2", _d("y", "P_1"), "$y(1 - y)$", f"{g.dy_dP1:.6f}", ""),
        ("2", _d("P_1", "w_1"), "$x$", f"{g.dP1_dw1:.6f}", ""),
        (
            "2",
            _d("L", "w_1"),
            f"{_d('L', 'P_2')} and the three new",
            f"{g.dL_dw1:.6f}",
            f"{auto['dL_dw1']:.6f}",
        ),
    )
    return Table(
        "Backward pass, factor by factor, beside torch autograd in float64 (largest difference "
        f"{sci(w.autograd_max_abs_difference)})",
        ("phase", "factor", "formula", "by hand", "autograd"),
        rows,
    )


def _sign_text(w: neurons.Walkthrough) -> str:
    g = w.gradient
    return (
        f"Sign convention: this appendix shows the slope of the loss, "
        f"${_tex_d('L', 'z')} = z - d = {g.dL_dz:.6f}$, and descends it "
        rf"($w \leftarrow w - r\,{_tex_d('L', 'w')}$). The lecture writes "
        f"$d - z = {w.lecture_dP_dz:.6f}$ because it climbs a performance $P = -L$ "
        rf"($w \leftarrow w + r\,{_tex_d('P', 'w')}$): the same step, with the derivative's "
        "sign flipped."
    )


def _two_by_two_table(w: neurons.Walkthrough) -> Table:
    rows = tuple(
        (_weight(k), f"{w.two_by_two_by_hand[k]:.6f}", f"{w.two_by_two_backprop[k]:.6f}",
         f"{w.two_by_two_autograd[k]:.6f}")
        for k in w.two_by_two_by_hand
    )  # fmt: skip
    x, d = w.two_by_two_input, w.two_by_two_desired
    return Table(
        f"The lecture's exercise: all 8 weight partials of the 2x2 net at x = ({x[0]:g}, "
        f"{x[1]:g}), d = ({d[0]:g}, {d[1]:g}); $w^{{(1)}}_{{ji}}$ joins input $i$ to hidden "
        "unit $j$, $w^{(2)}_{kj}$ hidden unit $j$ to output $k$. Written out by hand: "
        f"${_tex_d('L', 'w^{(2)}_{kj}')} = e_k h_j$ with $e_k = (z_k - d_k) z_k (1 - z_k)$, "
        f"${_tex_d('L', 'w^{(1)}_{ji}')} = (e_1 w^{{(2)}}_{{1j}} + e_2 w^{{(2)}}_{{2j}}) h_j "
        "(1 - h_j) x_i$. Largest difference "
        f"from autograd {sci(w.two_by_two_max_abs_difference)}.",
        ("weight", "by hand", "backprop", "autograd"),
        rows,
    )


def _tex_d(y: str, x: str) -> str:
    """TeX for the partial derivative of y with respect to x, written inline."""
    return rf"\partial {y} / \partial {x}"


def _d(y: str, x: str) -> str:
    return f"${_tex_d(y, x)}$"


def _weight(name: str) -> str:
    """'w2_11' (layer 2, to unit 1 from unit 1) as TeX: $w^{(2)}_{11}$."""
    layer, _, units = name[1:].partition("_")
    return f"$w^{{({layer})}}_{{{units}}}$"


def _cost_table(w: neurons.Walkthrough) -> Table:
    c = w.cost
    rows = []
    for d in SHOWN_DEPTHS:
        i = c.depths.index(d)
        for v in (2, 8):
            j = c.widths.index(v)
            rows.append(
                (str(d), str(v), f"{c.paths[i][j]:,}", f"{c.path_sum[i][j]:,}",
                 f"{c.backprop[i][j]:,}")
            )  # fmt: skip
    return Table(
        "Exact counts for W inputs then D layers of W neurons: input-to-output paths, and the "
        "multiply-adds of the gradient of every weight by a sum over paths and by backprop",
        ("D", "W", "paths", "path-sum multiply-adds", "backprop multiply-adds"),
        tuple(rows),
    )


def _timing_text(timings: tuple[neurons.GradientTiming, ...], cost: neurons.CostTable) -> str:
    if not timings:
        return "No timing was taken."
    slowest = max(timings, key=lambda t: t.path_sum_multiply_adds)
    rate_s = slowest.path_sum_s / slowest.path_sum_multiply_adds  # seconds per multiply-add
    days = cost.path_sum[-1][-1] * rate_s / 86_400
    return (
        "Timed in this run, in the same pure Python for both: at width "
        f"{slowest.width} and depth {slowest.depth} the path sum took "
        f"{1000 * slowest.path_sum_s:.2f} ms per gradient and backprop "
        f"{1000 * slowest.backprop_s:.3f} ms ({slowest.path_sum_s / slowest.backprop_s:.0f} "
        f"times less). At that path sum's rate, width {cost.widths[-1]} and depth "
        f"{cost.depths[-1]} would take about {days:,.0f} days for one gradient."
    )
