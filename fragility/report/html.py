"""Render sections as one self-contained HTML page (images embedded, no network needed).

Jinja2 with autoescaping: every string from an analysis is text, never markup. Used by the
failure report and by the scenario case study, so both look and read alike.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from fragility.report.section import (
    Block,
    Bullets,
    FigureBlock,
    Heading,
    Note,
    PageBreak,
    Paragraph,
    Section,
)

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\*\*(?P<strong>[^*]+)\*\*"
    r"|\*(?P<em>[^*\s][^*]*)\*"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>(?:https?://|#|mailto:)[^)\s]+)\)"
)


def inline(text: str) -> Any:
    """Escape `text`, then turn its inline markup into HTML: `code`, **strong**, *emphasis*,
    [text](url) for http(s), mailto and in-page (#anchor) links. Returns markup Jinja will not
    escape again. Nothing else in the text can become a tag."""
    from markupsafe import Markup

    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[last : m.start()], quote=False))
        if m["code"] is not None:
            out.append(f"<code>{html.escape(m['code'], quote=False)}</code>")
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


def _block(b: Block) -> dict[str, Any]:
    if isinstance(b, Paragraph):
        return {"kind": "paragraph", "text": inline(b.text)}
    if isinstance(b, Heading):
        return {"kind": "heading", "text": b.text}
    if isinstance(b, Bullets):
        return {"kind": "bullets", "entries": [inline(i) for i in b.items], "ordered": b.ordered}
    if isinstance(b, Note):
        return {"kind": "note", "text": inline(b.text), "style": b.kind}
    if isinstance(b, PageBreak):
        return {"kind": "pagebreak"}
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
