"""Render sections as one self-contained HTML page (images embedded, no network, no script).

Jinja2 with autoescaping: every string from an analysis is text, never markup; the only markup
is the small inline language of `inline` and the page's own stylesheet. Used by the failure
report and by the scenario case study, so both look and read alike.

Figures are numbered and sized from what their PNG records (`fragility.figures.to_png`): shown
at their drawn width on a wide screen, never so narrow on a phone that a label drops below
`MIN_LABEL_PX` (a figure that would is given a minimum width and scrolls in its frame).
Tables are numbered; each cell is classed (numbers right-aligned, short cells kept on one
line, long ones given room), and a table longer than `APPENDIX_ROWS` moves to the reference
tables at the end, with a link where it stood.
"""

from __future__ import annotations

import base64
import html
import math
import re
import struct
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from fragility.report.mathml import to_mathml
from fragility.report.section import (
    Block,
    Bullets,
    FigureBlock,
    Heading,
    Note,
    PageBreak,
    Paragraph,
    Section,
    Table,
)

MIN_LABEL_PX = 11.0  # the smallest label a figure may render, in CSS pixels, on any screen
PHONE_COLUMN_PX = 358  # the text column of a 390 px phone (the page pads it by 2 x 0.9 rem)
APPENDIX_ROWS = 15  # longer tables move to the reference tables at the end
# On paper a figure is printed at its drawn size (9 pt stays 9 pt), shrunk only to fit the
# text width or to stay under this height: a figure pushed to the next page then leaves at
# most about half a page (A4 or Letter) empty, and two such figures share a page.
PRINT_MAX_HEIGHT_IN = 92 / 25.4
PRINT_MAX_WIDTH_IN = 6.9
NOTE_LABELS = {"plain": "In plain words", "caution": "Caution", "instructor": "For the instructor"}

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\$\$(?P<display>[^$]+)\$\$"
    r"|\$(?=\S)(?P<math>[^$]+?)(?<=\S)\$(?!\d)"
    r"|\*\*(?P<strong>[^*]+)\*\*"
    r"|\*(?P<em>[^*\s][^*]*)\*"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>(?:https?://|#|mailto:|\.\.?/)[^)\s]+)\)"
)
_NUMBER = re.compile(
    r"[<>≥≤~≈]?\s*[-+−]?(\d[\d,]*(\.\d+)?|\.\d+)(e[-+]?\d+)?"
    r"(\s*(%|s|ms|m|mph|m/s|x|px|pt|grey levels))?"
    r"(\s*(/|of|±)\s*[-+−]?\d[\d,]*(\.\d+)?\s*%?)?"
)


def inline(text: str) -> Any:
    """Escape `text`, then turn its inline markup into HTML: `code`, **strong**, *emphasis*,
    [text](url) for http(s), mailto, in-page (#anchor) and relative (./ or ../) links, and
    maths in TeX between dollars ($x^2$ inline, $$...$$ on its own line) as MathML. Returns
    markup Jinja will not escape again. Nothing else in the text can become a tag."""
    from markupsafe import Markup

    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[last : m.start()], quote=False))
        if m["code"] is not None:
            out.append(f"<code>{html.escape(m['code'], quote=False)}</code>")
        elif m["display"] is not None:
            out.append(to_mathml(m["display"], display=True))
        elif m["math"] is not None:
            out.append(to_mathml(m["math"]))
        elif m["strong"] is not None:
            out.append(f"<strong>{html.escape(m['strong'], quote=False)}</strong>")
        elif m["em"] is not None:
            out.append(f"<em>{html.escape(m['em'], quote=False)}</em>")
        else:
            out.append(
                f'<a href="{html.escape(m["url"])}">{html.escape(m["text"], quote=False)}</a>'
            )
        last = m.end()
    out.append(html.escape(text[last:], quote=False))
    return Markup("".join(out))


def png_info(png: bytes) -> dict[str, Any]:
    """Pixel size, and what `fragility.figures.to_png` recorded: the figure's width in
    inches and its smallest font in points (absent for a PNG from elsewhere)."""
    width, height = struct.unpack(">II", png[16:24])
    info: dict[str, Any] = {"width_px": width, "height_px": height}
    pos = 8
    while pos + 8 <= len(png):
        length = struct.unpack(">I", png[pos : pos + 4])[0]
        kind = png[pos + 4 : pos + 8]
        if kind == b"tEXt":
            key, _, value = png[pos + 8 : pos + 8 + length].partition(b"\0")
            if key.startswith(b"fragility:"):
                info[key[len(b"fragility:") :].decode("latin-1")] = float(value)
        if kind == b"IEND":
            break
        pos += 12 + length
    return info


def figure_geometry(png: bytes) -> dict[str, Any]:
    """How the page shows a figure: its width and height on a wide screen (CSS px), and the
    minimum width below which its smallest label would render under MIN_LABEL_PX."""
    from fragility.figures.style import DISPLAY_DPI

    info = png_info(png)
    if "width-in" not in info:
        return {"width": info["width_px"], "height": info["height_px"]}
    width_in, font = info["width-in"], info["min-font-pt"]
    height_in = width_in * info["height_px"] / info["width_px"]
    width = round(width_in * DISPLAY_DPI)
    needed = math.ceil(MIN_LABEL_PX * 72 * width_in / font)
    printed = min(width_in, PRINT_MAX_WIDTH_IN, width_in * PRINT_MAX_HEIGHT_IN / height_in)
    return {
        "print_in": f"{printed:.2f}",
        "width": width,
        "height": round(width * info["height_px"] / info["width_px"]),
        "width_in": f"{width_in:.4f}",
        "min_font_pt": f"{font:.2f}",
        "min_width": needed if needed > PHONE_COLUMN_PX else None,
        "scroll": needed > PHONE_COLUMN_PX,
    }


def cell_kind(text: str) -> str:
    """num: a number (right-aligned, one line); short: a few words kept on one line; text
    and long: prose that wraps but keeps a readable width."""
    t = text.strip()
    if t in ("", "-", "–", "n/a", "never") or _NUMBER.fullmatch(t):
        return "num"
    if len(t) <= 18:
        return "short"
    return "long" if len(t) > 60 else "text"


_WIDTH_EM = {"text": 8.0, "long": 14.0}


def _table(t: Table, number: str, slug: str) -> dict[str, Any]:
    kinds = [[cell_kind(c) for c in row] for row in t.rows]
    columns = len(t.header)
    column_kind = [
        "num" if all(row[j] == "num" for row in kinds if j < len(row)) and kinds else "text"
        for j in range(columns)
    ]
    width = 0.0
    for j in range(columns):
        cells = [
            _WIDTH_EM.get(kinds[i][j], 0.56 * len(t.rows[i][j]))
            for i in range(len(t.rows))
            if j < len(t.rows[i])
        ]
        head = max((0.56 * len(w) for w in t.header[j].split()), default=0.0)
        width += max([head, *cells]) + 1.3
    return {
        "kind": "table",
        "id": f"table-{slug}-{number}".lower(),
        "number": number,
        "caption": inline(t.caption),
        "header": [inline(h) for h in t.header],
        "kinds": column_kind,
        "rows": [
            [{"text": inline(c), "kind": k} for c, k in zip(row, ks, strict=False)]
            for row, ks in zip(t.rows, kinds, strict=True)
        ],
        "wide": width > 21.0,  # em: wider than a phone's column
    }


def _short_caption(caption: str) -> str:
    """The caption's first sentence, without a parenthesis it cannot close, for a link."""
    first = re.split(r"(?<=[.;])\s", caption.strip(), maxsplit=1)[0]
    if " (" in first and (first.count("(") != first.count(")") or len(first) > 90):
        first = first.split(" (")[0]
    if ": " in first and len(first) > 90:
        first = first.split(": ")[0]
    first = first.rstrip(".:; ")
    return first if len(first) <= 90 else first[:87].rstrip() + "..."


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("fragility.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class _Numbering:
    def __init__(self) -> None:
        self.figures = 0
        self.tables = 0
        self.appendix: list[dict[str, Any]] = []


def _block(b: Block, section: Section, n: _Numbering, moves: bool) -> dict[str, Any]:
    if isinstance(b, Paragraph):
        return {"kind": "paragraph", "text": inline(b.text)}
    if isinstance(b, Heading):
        return {"kind": "heading", "text": inline(b.text)}
    if isinstance(b, Bullets):
        return {"kind": "bullets", "entries": [inline(i) for i in b.items], "ordered": b.ordered}
    if isinstance(b, Note):
        return {
            "kind": "note",
            "text": inline(b.text),
            "style": b.kind,
            "label": NOTE_LABELS.get(b.kind, b.kind.capitalize()),
        }
    if isinstance(b, PageBreak):
        return {"kind": "pagebreak"}
    if isinstance(b, FigureBlock):
        n.figures += 1
        return {
            "kind": "figure",
            "name": b.name,
            "number": n.figures,
            "data": base64.b64encode(b.png).decode("ascii"),
            "caption": inline(b.caption),
            "alt": b.alt,
            **figure_geometry(b.png),
        }
    if moves and len(b.rows) > APPENDIX_ROWS:
        number = f"A{len(n.appendix) + 1}"
        table = _table(b, number, section.slug)
        table["back"], table["back_title"] = section.slug, section.title
        n.appendix.append(table)
        return {
            "kind": "appendix-link",
            "id": table["id"],
            "number": number,
            "caption_short": _short_caption(b.caption),
            "rows": len(b.rows),
        }
    n.tables += 1
    return _table(b, str(n.tables), section.slug)


def render(
    title: str,
    sections: Sequence[Section],
    *,
    subtitle: str = "",
    summary: Sequence[str] = (),
    footer: str = "",
    overview: Any = None,
    kicker: str = "",
    meta: str = "",
) -> str:
    """The page: title, an overview (a `fragility.report.overview.Overview`, or else the
    `summary` sentences), contents, each section in order, then the reference tables."""
    from markupsafe import Markup

    css = resources.files("fragility.report").joinpath("templates/page.css").read_text()
    numbering = _Numbering()
    page = []
    for i, s in enumerate(sections, start=1):
        # A table that is its section's only block is the section: it stays.
        moves = len(s.blocks) > 1
        page.append(
            {
                "n": i,
                "slug": s.slug,
                "title": s.title,
                "intro": inline(s.intro),
                "blocks": [_block(b, s, numbering, moves) for b in s.blocks],
            }
        )
    template = _environment().get_template("page.html")
    return template.render(
        title=title,
        kicker=kicker,
        subtitle=subtitle,
        meta=meta,
        overview=overview.to_page() if overview is not None else None,
        summary=[inline(line) for line in summary],
        sections=page,
        appendix=numbering.appendix,
        footer=inline(footer),
        css=Markup(css),  # the page's own stylesheet: escaping would break its quotes
    )
