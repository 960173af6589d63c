"""fragility neurons: the two-neuron derivation with numbers, checked against autograd."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from fragility.cli.common import real, seed_number, table

# Beyond this a sigmoid is exactly 0 or 1 in float64 and every derivative vanishes.
_VALUE = real(-1e6, 1e6, "a finite number from -1e6 to 1e6")
_DESIRED = real(0, 1, "a desired output from 0 to 1, the range of a sigmoid")

if TYPE_CHECKING:
    from fragility.neurons import Walkthrough

HELP = "hand-derived backprop for two neurons, checked against autograd"


def register(sub: argparse._SubParsersAction) -> None:
    from fragility.neurons import DEFAULT_EXAMPLE

    p = sub.add_parser(
        "neurons",
        help=HELP,
        description="Walk through the chain rule for x -> y = sigmoid(w1 x) -> "
        "z = sigmoid(w2 y), L = 1/2 (d - z)^2, factor by factor with numbers; check it against "
        "torch autograd; give all 8 partials of the lecture's 2x2 net; train both by gradient "
        "descent; count paths against backprop's multiply-adds.",
    )
    for name, what, kind in (
        ("x", "the input", _VALUE),
        ("d", "the desired output, in [0, 1]", _DESIRED),
    ):
        p.add_argument(
            f"--{name}",
            type=kind,
            default=DEFAULT_EXAMPLE[name],
            help=f"{what} (default: %(default)g)",
        )
    for name in ("w1", "w2"):
        p.add_argument(
            f"--{name}",
            type=_VALUE,
            default=DEFAULT_EXAMPLE[name],
            help="a weight (default: %(default)g)",
        )
    for name in ("b1", "b2"):
        p.add_argument(f"--{name}", type=_VALUE, default=None, help="a bias (default: none)")
    p.add_argument(
        "--seed", type=seed_number, default=0, help="initial weights of the 2x2 net (default: 0)"
    )
    p.add_argument("--json", action="store_true", help="print the numbers as JSON instead")
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="also write DIR/neurons.json and the figures (times the naive path sum)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fragility import neurons
    from fragility._io import to_json

    walk = neurons.walkthrough(args.x, args.d, args.w1, args.w2, args.b1, args.b2, seed=args.seed)
    payload = walk.to_dict()
    if args.out is not None:
        from fragility.cli.common import write_outputs
        from fragility.figures.neurons import appendix_figures

        timings = neurons.time_gradients(seed=args.seed)
        payload_out = {**payload, "timing": [t.to_dict() for t in timings]}
        write_outputs(args.out, "neurons.json", payload_out, appendix_figures(walk, timings))
    if args.json:
        print(to_json(payload), end="")
    else:
        print(render(walk))
        if args.out is not None:
            print(f"\nwrote {args.out}/neurons.json and figures")
    return 0


def _n(v: float) -> str:
    return f"{v:.6f}" if v == 0 or abs(v) >= 1e-4 else f"{v:.4e}"


def _g(v: float) -> str:
    return f"{v:g}"


def _signed(v: float) -> str:
    """' + 0.1' or ' - 0.2': a term added to a product, with its sign written once."""
    return f" - {_g(-v)}" if v < 0 else f" + {_g(v)}"


def _line(lhs: str, symbols: str, numbers: str, value: float) -> str:
    """'  dz/dP2  = z (1 - z)   = 0.4274 × 0.5726   = 0.244731', numbers optional."""
    middle = f"= {numbers:<21} " if numbers else " " * 24
    return f"  {lhs:<8}= {symbols:<34} {middle}= {_n(value)}"


def render(w: Walkthrough) -> str:
    return "\n\n".join(
        [_render_derivation(w), _render_check(w), _render_two_by_two(w), _render_cost(w)]
    )


def _render_derivation(w: Walkthrough) -> str:
    f, g = w.forward, w.gradient
    plus1 = "" if f.b1 is None else " + b1"
    plus2 = "" if f.b2 is None else " + b2"
    add1 = "" if f.b1 is None else _signed(f.b1)
    add2 = "" if f.b2 is None else _signed(f.b2)
    given = f"x = {_g(f.x)}, d = {_g(f.d)}, w1 = {_g(f.w1)}, w2 = {_g(f.w2)}"
    given += "" if f.b1 is None else f", b1 = {_g(f.b1)}"
    given += "" if f.b2 is None else f", b2 = {_g(f.b2)}"
    lines = [
        "Two neurons make a net",
        f"  x -> P1 = w1 x{plus1} -> y = sigmoid(P1) -> P2 = w2 y{plus2} -> z = sigmoid(P2)",
        f"  L = 1/2 (d - z)^2, with {given}",
        "",
        "Forward pass",
        _line("P1", f"w1 x{plus1}", f"{_g(f.w1)} × {_g(f.x)}{add1}", f.P1),
        _line("y", "sigmoid(P1) = 1 / (1 + e^-P1)", f"1 / (1 + e^{-f.P1:.4f})", f.y),
        _line("P2", f"w2 y{plus2}", f"{_g(f.w2)} × {f.y:.4f}{add2}", f.P2),
        _line("z", "sigmoid(P2) = 1 / (1 + e^-P2)", f"1 / (1 + e^{-f.P2:.4f})", f.z),
        _line("L", "1/2 (d - z)^2", f"1/2 ({_g(f.d)} - {f.z:.4f})^2", f.loss),
        "",
        "Backward pass, phase 1: the output neuron",
        _line("dL/dz", "z - d", f"{f.z:.4f} - {_g(f.d)}", g.dL_dz),
        _line("dz/dP2", "z (1 - z)", f"{f.z:.4f} × {1 - f.z:.4f}", g.dz_dP2),
        _line("dP2/dw2", "y", "", g.dP2_dw2),
        _line("dL/dw2", "dL/dz · dz/dP2 · dP2/dw2", "", g.dL_dw2),
        "",
        f"Backward pass, phase 2: dL/dP2 = dL/dz · dz/dP2 = {_n(g.dL_dP2)} is known;",
        "only the last three factors are new",
        _line("dP2/dy", "w2", "", g.dP2_dy),
        _line("dy/dP1", "y (1 - y)", f"{f.y:.4f} × {1 - f.y:.4f}", g.dy_dP1),
        _line("dP1/dw1", "x", "", g.dP1_dw1),
        _line("dL/dw1", "dL/dP2 · dP2/dy · dy/dP1 · dP1/dw1", "", g.dL_dw1),
    ]
    if g.dL_db2 is not None:
        lines.append(_line("dL/db2", "dL/dP2 · dP2/db2 (= 1)", "", g.dL_db2))
    if g.dL_db1 is not None:
        lines.append(_line("dL/db1", "dL/dP2 · dP2/dy · dy/dP1 · 1", "", g.dL_db1))
    lines += ["", _sign_text(w)]
    return "\n".join(lines)


def _sign_text(w: Walkthrough) -> str:
    g = w.gradient
    moves = []
    for name, v in (("w1", g.dL_dw1), ("w2", g.dL_dw2)):
        if v != 0:
            moves.append(f"{'raises' if v < 0 else 'lowers'} {name}")
    moved = " and ".join(moves) if moves else "leaves both weights alone"
    return (
        f"Sign: dL/dz = z - d = {_n(g.dL_dz)} is the slope of the loss; gradient descent,\n"
        f"w <- w - r dL/dw, here {moved}. The lecture writes d - z = {_n(w.lecture_dP_dz)}:\n"
        "the slope of its performance P = -L, which it climbs (w <- w + r dP/dw).\n"
        "Same step, opposite sign of the derivative."
    )


def _render_check(w: Walkthrough) -> str:
    mine = w.gradient.to_dict()
    rows = [[k.replace("_", "/"), _n(mine[k]), _n(v)] for k, v in sorted(w.autograd.items())]
    c2, c22 = w.curves
    return (
        "Check against torch autograd (float64)\n"
        + _indent(table(rows, ["partial", "by hand", "autograd"]))
        + f"\n  max |difference| = {w.autograd_max_abs_difference:.1e}\n\n"
        f"Gradient descent (r = {_g(c2.learning_rate)}, {len(c2.losses) - 1} steps): "
        f"L falls from {_n(c2.first)} to {_n(c2.last)} ({c2.name}),\n"
        f"and from {_n(c22.first)} to {_n(c22.last)} ({c22.name})"
    )


def _render_two_by_two(w: Walkthrough) -> str:
    x, d = w.two_by_two_input, w.two_by_two_desired
    (u, v) = w.two_by_two_net.weights
    rows = [
        [k, _n(w.two_by_two_by_hand[k]), _n(w.two_by_two_backprop[k]), _n(w.two_by_two_autograd[k])]
        for k in w.two_by_two_by_hand  # phase order: the output layer first
    ]
    return "\n".join(
        [
            "The 2x2 net (the lecture's exercise): h = sigmoid(W1 x), z = sigmoid(W2 h)",
            f"  x = ({_g(x[0])}, {_g(x[1])}), d = ({_g(d[0])}, {_g(d[1])}), "
            f"W1 = {u.tolist()}, W2 = {v.tolist()}",
            "  dL/dw2_kj = e_k h_j with e_k = (z_k - d_k) z_k (1 - z_k)",
            "  dL/dw1_ji = (e_1 w2_1j + e_2 w2_2j) h_j (1 - h_j) x_i",
            "",
            _indent(table(rows, ["weight", "by hand", "backprop", "autograd"])),
            f"  max |difference| = {w.two_by_two_max_abs_difference:.1e}",
        ]
    )


def _render_cost(w: Walkthrough) -> str:
    c = w.cost
    header = ["D \\ W", *(str(v) for v in c.widths)]
    paths = [[d, *row] for d, row in zip(c.depths, c.paths, strict=True)]
    backprop = [[d, *row] for d, row in zip(c.depths, c.backprop, strict=True)]
    d_max, w_max = c.depths[-1], c.widths[-1]
    return "\n".join(
        [
            "Cost of the gradient (W inputs, then D layers of W sigmoid neurons)",
            "Input-to-output paths: W^(D+1), exponential in depth",
            _indent(table(paths, header)),
            "",
            "Backprop multiply-adds: linear in depth, quadratic in width",
            _indent(table(backprop, header)),
            "",
            f"At D = {d_max}, W = {w_max} a naive sum over paths needs "
            f"{c.path_sum[-1][-1]:,} multiply-adds; backprop needs {c.backprop[-1][-1]:,}.",
        ]
    )


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
