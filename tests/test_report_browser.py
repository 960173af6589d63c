"""Open the report and the case study in a real headless Chromium, as a reader would, at a
phone's width (390 CSS px) and a laptop's (1366 px): no console errors, every image decodes,
every section heading is there; the body is set in the intended sans face (not a serif
fallback) with real line spacing and a readable line length; no figure renders a label below
11 px; nothing sticks out of the viewport; the contents stays reachable. Screenshots at both
widths go into the test's output folder.

Skipped only where Chromium is absent. CI installs it (.ci/run) and sets
FRAGILITY_REQUIRE_CHROMIUM=1, which turns the skip into a failure.
"""

from __future__ import annotations

import html as html_module
import json
import os
import re
import subprocess

import pytest

from fragility.report.html import MIN_LABEL_PX
from fragility.report.writer import CHROMIUM_FLAGS, find_chromium, write

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("FRAGILITY_REQUIRE_CHROMIUM"):
    raise RuntimeError("FRAGILITY_REQUIRE_CHROMIUM is set but Chromium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")

PHONE, LAPTOP = 390, 1366

# Injected before the page's own content: records errors, then on load writes what it saw
# into a <pre> that --dump-dom prints. Scrollbars are hidden, as a phone overlays them.
PROBE = """<style>html { scrollbar-width: none; }</style><script>
window.__errors = [];
const _err = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); _err(...a); };
window.addEventListener('error', e => {
  window.__errors.push(e.message || ('failed to load ' + (e.target.src || e.target.href)));
}, true);
window.addEventListener('load', () => {
  const vw = document.documentElement.clientWidth;
  const body = getComputedStyle(document.body);
  const ctx = document.createElement('canvas').getContext('2d');
  const sample = 'Confidently wrong: 16 of 450 test images, 96.4 % accuracy';
  const measure = (family, text) => {
    ctx.font = body.fontSize + ' ' + family; return ctx.measureText(text || sample).width;
  };
  const imgs = [...document.images];
  const figures = [...document.querySelectorAll('img[data-width-in]')].map(img => {
    const w = img.getBoundingClientRect().width;
    return {alt: img.alt, rendered: w,
            label_px: parseFloat(img.dataset.minFontPt) / 72 * w / parseFloat(img.dataset.widthIn)};
  });
  const scrolls = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) {
        return p.getBoundingClientRect().right <= vw + 0.5;
      }
    }
    return false;
  };
  const overflow = [...document.body.querySelectorAll('*')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > vw + 0.5 && !scrolls(el);
  }).map(el => el.tagName.toLowerCase() + '.' + el.className);
  const intro = document.querySelector('p.intro');
  const perChar = measure(body.fontFamily, intro.textContent) / intro.textContent.length;
  const shown = sel => { const e = document.querySelector(sel);
                         return !!e && getComputedStyle(e).display !== 'none'; };
  const out = {
    errors: window.__errors,
    images: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
    headings: [...document.querySelectorAll('section.report-section > h2')].map(h => h.textContent),
    width: document.documentElement.scrollWidth,
    viewport: vw,
    font_family: body.fontFamily,
    font_px: parseFloat(body.fontSize),
    line_height_px: parseFloat(body.lineHeight),
    width_body: measure(body.fontFamily),
    width_serif: measure('serif'),
    width_mono: measure('monospace'),
    chars_per_line: intro.getBoundingClientRect().width / perChar,
    figures: figures,
    overflow: overflow,
    side_contents: shown('.toc-side'),
    side_sticky: getComputedStyle(document.querySelector('.toc-side nav')).position,
    menu: shown('.toc-menu'),
    to_top: shown('.to-top'),
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""

# The page in a frame of the given width (headless Chromium will not make its own window
# narrower than 500 px); the frame's probe result is copied out.
FRAME = """<html><body style="margin:0">
<iframe id="f" src="probed.html" style="border:0;width:{width}px;height:900px"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {{
  const probe = document.getElementById('f').contentDocument.getElementById('probe');
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = probe ? probe.textContent : 'null';
  document.body.appendChild(pre);
}});
</script></body></html>"""


def _chromium(*args: str, tmp) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def _probe(page: str, width: int, tmp) -> tuple[dict, str]:
    folder = tmp / f"probe-{width}"
    folder.mkdir()
    (folder / "probed.html").write_text(page.replace("<head>", "<head>" + PROBE, 1))
    (folder / "frame.html").write_text(FRAME.format(width=width))
    result = _chromium(
        "--enable-logging=stderr",
        "--virtual-time-budget=15000",
        "--allow-file-access-from-files",
        "--window-size=1400,1000",
        "--dump-dom",
        (folder / "frame.html").as_uri(),
        tmp=folder,
    )
    match = re.search(r'<pre id="result">(\{.*?\})</pre>', result.stdout, re.S)
    assert match, f"the probe did not report; chromium said: {result.stderr[-2000:]}"
    return json.loads(html_module.unescape(match.group(1))), result.stderr


def _screenshot(page_path, width: int, height: int, shot, tmp) -> None:
    _chromium(
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        page_path.as_uri(),
        tmp=tmp,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == width


CASE_PAGES = ("index", "handout", "roles", "instructor")
PAGES = ("report", *(f"case {name}" for name in CASE_PAGES))


@pytest.fixture(scope="module")
def pages(tmp_path_factory, quick_report):
    """The quick digits report and every page of the case study (instructor audience),
    written as a user's commands write them."""
    from fragility.cli import main

    root = tmp_path_factory.mktemp("browser")
    write(quick_report, root / "report")
    case = ["scenario", "case-study", "--runs", "64", "--audience", "instructor"]
    assert main([*case, "--out", str(root / "case")]) == 0
    return {
        "report": root / "report" / "index.html",
        **{f"case {name}": root / "case" / f"{name}.html" for name in CASE_PAGES},
    }


@pytest.mark.parametrize("which", PAGES)
@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_page_reads_well_in_chromium(pages, quick_report, which, width, tmp_path):
    page = pages[which].read_text()
    seen, stderr = _probe(page, width, tmp_path)
    assert seen["errors"] == []
    assert not re.search(r"CONSOLE.*(Uncaught|Error)", stderr)
    assert seen["images"] == page.count('<img src="data:image/png;base64,')
    assert seen["images"] > 0 or which in ("case roles", "case instructor")
    assert seen["broken"] == []
    if which == "report":
        titles = [f"{i} {s.title}" for i, s in enumerate(quick_report.sections, 1)]
        assert seen["headings"][: len(titles)] == titles

    # Type: the intended sans stack, not the serif a broken `font:` rule falls back to.
    assert seen["font_family"].startswith("system-ui")
    assert abs(seen["width_body"] - seen["width_serif"]) > 1.0
    assert abs(seen["width_body"] - seen["width_mono"]) > 1.0
    assert 1.4 <= seen["line_height_px"] / seen["font_px"] <= 1.8
    assert 15 <= seen["font_px"] <= 18

    # Every figure's smallest label is at least MIN_LABEL_PX as rendered at this width.
    assert len(seen["figures"]) == seen["images"], "a figure does not carry its drawn size"
    small = [(f["alt"], round(f["label_px"], 2)) for f in seen["figures"]]
    assert [f for f in small if f[1] < MIN_LABEL_PX] == []

    # Nothing makes the page scroll sideways; wide tables and figures scroll in their frame.
    assert seen["overflow"] == []
    assert seen["width"] <= seen["viewport"]

    if width == PHONE:
        assert 300 < seen["viewport"] <= PHONE
        assert seen["menu"] and seen["to_top"] and not seen["side_contents"]
    else:
        assert seen["viewport"] == LAPTOP
        assert seen["side_contents"] and seen["side_sticky"] == "sticky"
        assert not seen["menu"] and not seen["to_top"]
        assert 55 <= seen["chars_per_line"] <= 85  # a line of about 70 characters


@pytest.mark.parametrize("which", ["report", "case index"])
def test_screenshots_at_both_widths(pages, which, tmp_path):
    name = which.replace(" ", "-")
    for width, height in ((PHONE, 2400), (LAPTOP, 1600)):
        shot = tmp_path / f"{name}-{width}.png"
        _screenshot(pages[which], width, height, shot, tmp_path)
