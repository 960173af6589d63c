"""Render sections as one self-contained HTML page (images embedded, no network needed).

Jinja2 with autoescaping: every string from an analysis is text, never markup. Used by the
failure report and by the scenario case study, so both look and read alike.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from fragility.report.section import FigureBlock, Paragraph, Section, Table


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


def _block(b: Paragraph | FigureBlock | Table) -> dict[str, Any]:
    if isinstance(b, Paragraph):
        return {"kind": "paragraph", "text": b.text}
    if isinstance(b, FigureBlock):
        return {
            "kind": "figure",
            "data": base64.b64encode(b.png).decode("ascii"),
            "caption": b.caption,
            "alt": b.alt,
        }
    return {"kind": "table", "caption": b.caption, "header": b.header, "rows": b.rows}


def render(
    title: str,
    sections: Sequence[Section],
    *,
    subtitle: str = "",
    summary: Sequence[str] = (),
    footer: str = "",
) -> str:
    """The page: title, headline findings, contents, then each section in order."""
    css = resources.files("fragility.report").joinpath("templates/page.css").read_text()
    page = [
        {
            "slug": s.slug,
            "title": s.title,
            "intro": s.intro,
            "blocks": [_block(b) for b in s.blocks],
        }
        for s in sections
    ]
    template = _environment().get_template("page.html")
    return template.render(
        title=title, subtitle=subtitle, summary=list(summary), sections=page, footer=footer, css=css
    )
