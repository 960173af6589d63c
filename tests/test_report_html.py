from __future__ import annotations

import base64

from fragility.figures import new_figure, to_png
from fragility.report.html import render
from fragility.report.section import FigureBlock, Paragraph, Section, Table


def _png() -> bytes:
    fig = new_figure(2, 1)
    fig.subplots().plot([0, 1], [1, 0])
    return to_png(fig)


def test_render_embeds_images_and_escapes_text():
    png = _png()
    s = Section(
        slug="models",
        title="The models & their <numbers>",
        intro="A <script>alert(1)</script> intro",
        blocks=(
            Paragraph("x < y"),
            FigureBlock("curve", png, "a caption", "a line falling"),
            Table("t", ("a", "b"), (("1", "<2>"),)),
        ),
    )
    page = render("Report", [s], summary=["found it"])
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "The models &amp; their &lt;numbers&gt;" in page
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in page
    assert 'alt="a line falling"' in page and '<td class="short">&lt;2&gt;</td>' in page
    assert 'id="models"' in page and 'href="#models"' in page
    assert "http://" not in page and "https://" not in page  # nothing fetched when viewed
    assert 'name="viewport"' in page


def test_png_is_deterministic():
    assert _png() == _png()


def test_inline_markup_is_rendered_and_everything_else_escaped():
    from fragility.report.html import inline

    out = str(inline("a `x<1>` **b** *c* [NTSB](https://www.ntsb.gov/) <script>"))
    assert out == (
        "a <code>x&lt;1&gt;</code> <strong>b</strong> <em>c</em> "
        '<a href="https://www.ntsb.gov/">NTSB</a> &lt;script&gt;'
    )
    # only http(s), mailto and in-page links become anchors
    assert "<a" not in str(inline("[x](javascript:alert(1))"))
    assert str(inline("2 * 3 * 4")) == "2 * 3 * 4"


def test_new_blocks_render():
    from fragility.report.html import render
    from fragility.report.section import Bullets, Heading, Note, Paragraph, Section

    page = render(
        "t",
        [
            Section(
                "s",
                "S",
                "intro",
                (
                    Heading("Sub"),
                    Bullets(("one", "**two**"), ordered=True),
                    Note("careful", kind="caution"),
                    Paragraph("see [below](#s)"),
                ),
            )
        ],
    )
    assert "<h3>Sub</h3>" in page
    assert "<ol>" in page and "<li><strong>two</strong></li>" in page
    assert 'class="note note-caution"' in page
    assert '<a href="#s">below</a>' in page
