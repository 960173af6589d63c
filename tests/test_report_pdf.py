"""Print the quick report as `fragility report --pdf` does, on A4 and on Letter, and read the
pages back with poppler: the paper size asked for, a page count that fits the content (no page
more than half empty except the last, pages on average well filled), a page number on every
page, a PDF bookmark for every section, and nothing of the screen-only page (scroll hints) on
paper.

Skipped where Chromium or poppler-utils is absent; CI installs both (.ci/run) and sets
FRAGILITY_REQUIRE_CHROMIUM=1, which turns the skip into a failure.
"""

from __future__ import annotations

import html as html_module
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fragility.report.writer import find_chromium, print_pdf, write

POPPLER = ("pdfinfo", "pdftotext", "pdftoppm", "pdftohtml")
READY = find_chromium() is not None and all(shutil.which(t) for t in POPPLER)
if not READY and os.environ.get("FRAGILITY_REQUIRE_CHROMIUM"):
    raise RuntimeError("FRAGILITY_REQUIRE_CHROMIUM is set but Chromium or poppler-utils is missing")
pytestmark = pytest.mark.skipif(not READY, reason="needs headless Chromium and poppler-utils")

PAPERS = {"a4": (595, 842), "letter": (612, 792)}  # points
MARGIN_TOP_MM, MARGIN_BOTTOM_MM = 16, 18  # the page's @page margins
DPI = 30


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout


def _pgm(path: Path) -> np.ndarray:
    """A binary PGM (P5) as a (H, W) array of grey levels."""
    width, height, pixels = re.match(
        rb"P5\s+(\d+)\s+(\d+)\s+\d+\s(.*)", path.read_bytes(), re.S
    ).groups()
    w, h = int(width), int(height)
    return np.frombuffer(pixels, np.uint8)[: w * h].reshape(h, w)


def _emptiness(page: np.ndarray) -> float:
    """The share of the page's text area, between the top and bottom margins, below its last
    ink (the page number sits in the bottom margin and does not count)."""
    height_mm = 297.0 if page.shape[0] / page.shape[1] > 1.35 else 279.4  # A4 or Letter
    per_mm = page.shape[0] / height_mm
    top = int(MARGIN_TOP_MM * per_mm)
    bottom = page.shape[0] - int(MARGIN_BOTTOM_MM * per_mm)
    inked = np.flatnonzero((page[top:bottom] < 200).any(axis=1))
    last = inked[-1] if len(inked) else 0
    return 1 - (last + 1) / (bottom - top)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, quick_report):
    out = tmp_path_factory.mktemp("pdf") / "report"
    write(quick_report, out, pdf=True)  # A4, as --pdf prints by default
    return out


@pytest.fixture(scope="module", params=sorted(PAPERS))
def printed(request, report_dir, tmp_path_factory):
    if request.param == "a4":
        return "a4", report_dir / "report.pdf"
    pdf = tmp_path_factory.mktemp("letter") / "report.pdf"
    print_pdf(report_dir / "index.html", pdf, paper="letter")
    return "letter", pdf


def test_paper_and_page_numbers(printed, quick_report):
    paper, pdf = printed
    info = _run("pdfinfo", str(pdf))
    width, height = (
        float(v) for v in re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups()
    )
    assert (round(width), round(height)) == PAPERS[paper]
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    text = _run("pdftotext", "-layout", str(pdf), "-").split("\f")
    assert len([t for t in text if t.strip()]) == pages
    for i, page in enumerate(text[:pages], start=1):
        assert re.search(rf"\b{i} / {pages}\b", page), f"page {i} has no page number"
    assert "Scroll the table sideways" not in "".join(text)  # screen-only hints stay off paper
    # A bookmark for the title, the overview and every section, pointing into the document.
    outline = html_module.unescape(_run("pdftohtml", "-xml", "-i", "-stdout", str(pdf)))
    items = re.findall(r'<item page="(\d+)">([^<]*)</item>', outline)
    titles = [t.strip() for _, t in items]
    for n, s in enumerate(quick_report.sections, start=1):
        assert f"{n} {s.title}" in titles
    assert all(1 <= int(p) <= pages for p, _ in items)
    assert [int(p) for p, _ in items] == sorted(int(p) for p, _ in items)


def test_pages_are_filled(printed, quick_report, tmp_path):
    _, pdf = printed
    _run("pdftoppm", "-gray", "-r", str(DPI), str(pdf), str(tmp_path / "page"))
    pages = [_pgm(p) for p in sorted(tmp_path.glob("page-*.pgm"))]
    # A report of this size: its sections, each figure at most half a page, its tables.
    figures = sum(len(s.figures) for s in quick_report.sections)
    assert len(quick_report.sections) <= len(pages) <= len(quick_report.sections) + figures
    empty = [round(_emptiness(p), 2) for p in pages]
    half_empty = [i + 1 for i, e in enumerate(empty[:-1]) if e > 0.5]
    assert half_empty == [], f"pages more than half empty: {half_empty} ({empty})"
    assert np.mean(empty[:-1]) < 0.2  # sections start where they fall, not on a new page
