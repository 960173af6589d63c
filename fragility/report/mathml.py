"""A small subset of TeX turned into MathML, which browsers render without scripts.

Enough for the report's formulas: letters (italic), numbers, operators, sub- and superscripts
(`x_1`, `x^{2}`), `\\frac{a}{b}`, `\\sqrt{x}`, norms (`\\|r\\|_2`), Greek letters, `\\text{..}`
and `\\mathrm{..}` for upright words, and a few named operators (`\\cdot`, `\\times`,
`\\approx`, `\\le`, `\\to`, `\\partial`, ...). Anything else raises ValueError: a formula in
the report is written by the program, so an unknown command is a bug to fix, not to guess at.
Every piece of text is escaped.
"""

from __future__ import annotations

import html
import re

GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ϵ",
    "varepsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
    "Delta": "Δ",
    "Sigma": "Σ",
    "Omega": "Ω",
}
OPERATORS = {
    "cdot": "·",
    "times": "×",
    "approx": "≈",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "pm": "±",
    "partial": "∂",
    "nabla": "∇",
    "sum": "∑",
    "infty": "∞",
    "in": "∈",
    "mid": "|",
    "lVert": "‖",
    "rVert": "‖",
    "|": "‖",
    "{": "{",
    "}": "}",
    "ldots": "…",
    "dots": "…",
    "odot": "⊙",
    "propto": "∝",
    "min": "min",
    "max": "max",
    "log": "log",
    "exp": "exp",
    "ln": "ln",
    "arg": "arg",
}
SPACES = {",": "0.1667em", ";": "0.2778em", "quad": "1em", " ": "0.25em"}
NAMED_FUNCTIONS = {"min", "max", "log", "exp", "ln", "arg"}
MINUS = "\u2212"  # a minus sign, not a hyphen

_TOKEN = re.compile(r"\\([A-Za-z]+|.)|(\d+(?:\.\d+)?)|([A-Za-z])|(\s+)|(.)")


def _tokens(tex: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(tex):
        if m[1] is not None:
            out.append(("cmd", m[1]))
        elif m[2] is not None:
            out.append(("num", m[2]))
        elif m[3] is not None:
            out.append(("letter", m[3]))
        elif m[4] is not None:
            continue  # TeX ignores spaces in maths
        else:
            out.append(("char", m[5]))
    return out


class _Parser:
    def __init__(self, tex: str) -> None:
        self.tex = tex
        self.toks = _tokens(tex)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ValueError(f"formula ends too early: {self.tex!r}")
        self.i += 1
        return tok

    def group(self) -> str:
        """`{...}` as an mrow, or the next atom alone."""
        tok = self.peek()
        if tok == ("char", "{"):
            self.take()
            inner = self.sequence(until="}")
            self.take()
            return f"<mrow>{inner}</mrow>"
        return self.atom()

    def raw_group(self) -> str:
        if self.take() != ("char", "{"):
            raise ValueError(f"expected {{ after a command in {self.tex!r}")
        depth, start = 1, self.i
        while depth:
            kind, value = self.take()
            depth += (kind, value) == ("char", "{")
            depth -= (kind, value) == ("char", "}")
        # Rebuild the text of the group from the source (spaces matter in \text).
        text_tokens = self.toks[start : self.i - 1]
        return "".join(("\\" + v if k == "cmd" else v) for k, v in text_tokens)

    def atom(self) -> str:
        kind, value = self.take()
        if kind == "num":
            return f"<mn>{value}</mn>"
        if kind == "letter":
            return f"<mi>{value}</mi>"
        if kind == "char":
            if value == "{":
                inner = self.sequence(until="}")
                self.take()
                return f"<mrow>{inner}</mrow>"
            if value in "()[]|":
                return f'<mo stretchy="false">{html.escape(value)}</mo>'
            return f"<mo>{html.escape(MINUS if value == '-' else value)}</mo>"
        return self.command(value)

    def command(self, name: str) -> str:
        if name == "frac":
            return f"<mfrac>{self.group()}{self.group()}</mfrac>"
        if name == "sqrt":
            return f"<msqrt>{self.group()}</msqrt>"
        if name == "text":
            return f"<mtext>{html.escape(self._text())}</mtext>"
        if name in ("mathrm", "operatorname"):
            return f'<mi mathvariant="normal">{html.escape(self._text())}</mi>'
        if name in SPACES:
            return f'<mspace width="{SPACES[name]}"/>'
        if name in GREEK:
            return f"<mi>{GREEK[name]}</mi>"
        if name in NAMED_FUNCTIONS:
            return f"<mi>{name}</mi>"
        if name in OPERATORS:
            stretch = ' stretchy="false"' if OPERATORS[name] in "‖|" else ""
            return f"<mo{stretch}>{html.escape(OPERATORS[name])}</mo>"
        raise ValueError(f"unknown TeX command \\{name} in {self.tex!r}")

    def _text(self) -> str:
        text = self.raw_group()
        return text.replace("\\,", " ").replace("\\ ", " ")

    def sequence(self, until: str | None = None) -> str:
        parts = []
        while (tok := self.peek()) is not None and tok != ("char", until):
            if tok == ("char", "}"):
                raise ValueError(f"unbalanced }} in {self.tex!r}")
            base = self.atom()
            sub = sup = None
            while (t := self.peek()) in (("char", "_"), ("char", "^")):
                self.take()
                if t == ("char", "_"):
                    sub = self.group()
                else:
                    sup = self.group()
            if sub is not None and sup is not None:
                base = f"<msubsup>{base}{sub}{sup}</msubsup>"
            elif sub is not None:
                base = f"<msub>{base}{sub}</msub>"
            elif sup is not None:
                base = f"<msup>{base}{sup}</msup>"
            parts.append(base)
        if until is not None and self.peek() is None:
            raise ValueError(f"unbalanced {{ in {self.tex!r}")
        return "".join(parts)


def to_mathml(tex: str, *, display: bool = False) -> str:
    """`tex` (the subset above) as a <math> element; display=True for a formula on its own
    line. The TeX source is kept as an annotation, for copying and for screen readers."""
    body = _Parser(tex).sequence()
    mode = "block" if display else "inline"
    return (
        f'<math display="{mode}"><semantics><mrow>{body}</mrow>'
        f'<annotation encoding="application/x-tex">{html.escape(tex)}</annotation>'
        "</semantics></math>"
    )
