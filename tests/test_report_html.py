from __future__ import annotations

import base64

import pytest

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


def test_stylesheet_is_not_escaped():
    # Autoescaping turned "Segoe UI" into &#34;Segoe UI&#34;, which voids the whole font rule.
    page = render("t", [Section("s", "S", "intro")])
    assert '"Segoe UI"' in page and "&#34;" not in page.split("</style>")[0]


def test_figure_is_sized_from_what_its_png_records():
    from fragility.figures import styled
    from fragility.report.html import MIN_LABEL_PX, PHONE_COLUMN_PX, figure_geometry, png_info

    @styled
    def chart(width: float):
        fig = new_figure(width, 2.0)
        fig.subplots().plot([0, 1], [1, 0])
        return fig

    png = to_png(chart(4.0))
    info = png_info(png)
    assert info["width-in"] == 4.0 and info["min-font-pt"] == 9.0  # the house style's smallest
    assert info["width_px"] == 4 * 224  # drawn at twice the display resolution
    g = figure_geometry(png)
    assert g["width"] == 448 and not g["scroll"]  # 4 in at 112 px/in; fits a phone
    # At the phone's column, its 9 pt labels render at 9/72 * 358/4 px, at least 11 px.
    assert 9 / 72 * PHONE_COLUMN_PX / 4.0 >= MIN_LABEL_PX
    wide = figure_geometry(to_png(chart(8.0)))  # 9 pt on 8 in would be 5.6 px on a phone
    assert wide["scroll"] and wide["min_width"] == 704  # so it keeps 704 px and scrolls
    assert float(wide["print_in"]) <= 6.9  # and prints within the text width
    plain = figure_geometry(
        png[:8] + png[8 : png.index(b"tEXt") - 4] + png[png.index(b"IEND") - 4 :]
    )
    assert plain == {"width": 896, "height": 448}  # a PNG from elsewhere: its own size


def test_cells_are_classed_and_long_tables_move_to_the_appendix():
    from fragility.report.html import cell_kind

    assert [cell_kind(c) for c in ("96.4 %", "1,482", "0.154", "16 of 450", "n/a")] == ["num"] * 5
    assert cell_kind("40 epochs") == "short"
    assert cell_kind("pixels N(0, 1) clipped to [0, 1] again") == "text"
    long_rows = tuple((str(i), f"row {i}") for i in range(20))
    s = Section(
        "made",
        "Made",
        "intro",
        (Paragraph("before"), Table("Every step: a long list", ("step", "what"), long_rows)),
    )
    page = render(
        "t", [s, Section("alone", "Alone", "i", (Table("Facts", ("a",), (("x",),) * 30),))]
    )
    body = page.split('id="reference-tables"')
    assert len(body) == 2, "a reference-tables section"
    assert (
        'href="#table-made-a1"' in body[0]
        and "Table A1</a>, Every step: a long list (20 rows)" in body[0]
    )
    assert 'id="table-made-a1"' in body[1] and "row 19" in body[1] and "row 19" not in body[0]
    assert "Table 1.</span> Facts" in body[0]  # a table that is its section stays in place


def test_maths_becomes_mathml_and_text_stays_text():
    from fragility.report.html import inline
    from fragility.report.mathml import to_mathml

    out = str(inline(r"rho is $\|r\|_2 / \|x\|_2$ and a < b costs $5, not $6"))
    assert '<math display="inline">' in out and '<msub><mo stretchy="false">‖</mo><mn>2</mn>' in out
    assert "a &lt; b costs $5, not $6" in out  # prices are not maths
    frac = to_mathml(r"\frac{\partial L}{\partial w_1} = \sigma(x)^{2}", display=True)
    assert frac.startswith('<math display="block">') and "<mfrac>" in frac and "<msup>" in frac
    assert "<mi>σ</mi>" in frac
    assert "&lt;script&gt;" in to_mathml(r"\text{<script>}")
    with pytest.raises(ValueError, match="unknown TeX command"):
        to_mathml(r"\evil{x}")
    with pytest.raises(ValueError, match="unbalanced"):
        to_mathml("x^{2")


def test_numbers_by_one_rule():
    from fragility._fmt import confidence, model_name, pct, timestamp

    assert confidence(0.999902) == "99.99 %" and confidence(0.999879) == "99.98 %"
    assert confidence(0.99995) == "99.99 %"  # rounded down: never shown reaching 100 %
    assert confidence(0.9876) == "98.7 %" and confidence(None) == "n/a"
    assert pct(0.1234) == "12.3 %"
    assert model_name("mlp") == "MLP" and model_name("resnet18") == "resnet18"
    assert timestamp("2026-12-02T05:01:10+00:00") == "2 December 2026, 05:01 UTC"


def test_a_share_with_its_interval_by_one_rule():
    from fragility._fmt import share, share_interval

    assert share_interval(0.7303, 0.6816, 0.7729) == "73 % (68-77 %)"
    assert share(0.173) == "17 %" and share(0.0073) == "0.8 %" and share(0.995) == "99.5 %"
    assert share(1.0) == "100 %" and share(0.0) == "0 %"
    # Within a point of an end, all three take one decimal; the ends round outward and the
    # share never reads 0 or 100 % unless it is.
    assert share_interval(0.00245, 0.00043, 0.01375) == "0.3 % (0.0-1.4 %)"
    assert share_interval(0.0, 0.0, 0.00937) == "0 % (0.0-1.0 %)"
    assert share_interval(0.99951, 0.9861, 0.99999) == "99.9 % (98.6-100.0 %)"
    assert share_interval(0.5, 0.25, 0.75, between=" to ", note=", 95 % interval") == (
        "50 % (25 to 75 %, 95 % interval)"
    )
