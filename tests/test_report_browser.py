"""Open the report in a real headless Chromium: no console errors, every image decodes, every
section heading is there; save a screenshot.

Skipped only where Chromium is absent. CI installs it (.ci/run) and sets
FRAGILITY_REQUIRE_CHROMIUM=1, which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from fragility.report.build import ReportConfig, build
from fragility.report.writer import CHROMIUM_FLAGS, find_chromium, write

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("FRAGILITY_REQUIRE_CHROMIUM"):
    raise RuntimeError("FRAGILITY_REQUIRE_CHROMIUM is set but Chromium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")

# Injected before the page's own content: records errors, then on load writes what it saw
# into a <pre> that --dump-dom prints.
PROBE = """<script>
window.__errors = [];
const _err = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); _err(...a); };
window.addEventListener('error', e => {
  window.__errors.push(e.message || ('failed to load ' + (e.target.src || e.target.href)));
}, true);
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const out = {
    errors: window.__errors,
    images: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
    headings: [...document.querySelectorAll('section.report-section > h2')].map(h => h.textContent),
    width: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


# The page in a phone-wide frame (390 CSS pixels); the frame's probe result is copied out.
FRAME = """<html><body><iframe id="f" src="probed.html" style="width:390px;height:844px"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const probe = document.getElementById('f').contentDocument.getElementById('probe');
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = probe ? probe.textContent : 'null';
  document.body.appendChild(pre);
});
</script></body></html>"""


def _chromium(*args: str, tmp) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, trained_mlp, trained_cnn, trained_autoencoder):
    out = tmp_path_factory.mktemp("browser") / "report"
    report = build(ReportConfig(quick=True))
    write(report, out)
    return report, out


def _probe(page: str, tmp_path) -> dict:
    """Open `page` in a phone-wide frame; what the probe saw, after checking the console."""
    (tmp_path / "probed.html").write_text(page.replace("<head>", "<head>" + PROBE, 1))
    (tmp_path / "frame.html").write_text(FRAME)
    result = _chromium(
        "--enable-logging=stderr",
        "--virtual-time-budget=10000",
        "--allow-file-access-from-files",
        "--dump-dom",
        (tmp_path / "frame.html").as_uri(),
        tmp=tmp_path,
    )
    match = re.search(r'<pre id="result">(\{.*?\})</pre>', result.stdout, re.S)
    assert match, f"the probe did not report; chromium said: {result.stderr[-2000:]}"
    seen = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert seen["errors"] == []
    assert not re.search(r"CONSOLE.*(Uncaught|Error)", result.stderr)
    return seen


def test_page_loads_cleanly_in_chromium(report_dir, tmp_path):
    report, out = report_dir
    seen = _probe((out / "index.html").read_text(), tmp_path)
    expected_images = sum(len(s.figures) for s in report.sections)
    assert seen["images"] == expected_images > 0
    assert seen["broken"] == []
    assert seen["headings"] == [f"{i}. {s.title}" for i, s in enumerate(report.sections, 1)]
    # Readable on a phone: nothing forces the page itself to scroll sideways.
    assert 300 < seen["viewport"] <= 390 and seen["width"] <= seen["viewport"]


def test_screenshot_on_a_phone_sized_window(report_dir, tmp_path):
    _, out = report_dir
    shot = out.parent / "screenshot-phone.png"
    _chromium(
        "--window-size=390,2400",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        (out / "index.html").as_uri(),
        tmp=tmp_path,
    )
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(shot.read_bytes()[16:20], "big")
    assert width == 390


def test_case_study_pages_load_cleanly_on_a_phone(tmp_path):
    from scenarios import case_study

    case = case_study.build(runs=16, audience="instructor")
    for page in case.pages:
        seen = _probe(page.html(), tmp_path)
        assert seen["images"] == len(page.figures) and seen["broken"] == []
        assert seen["headings"] == [f"{i}. {s.title}" for i, s in enumerate(page.sections, 1)]
        assert 300 < seen["viewport"] <= 390 and seen["width"] <= seen["viewport"], page.name
