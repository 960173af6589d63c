"""Write a Report: index.html, metrics.json, manifest.json, figures/*.png, optionally a PDF.

The folder is written atomically: an interrupted run leaves the previous report or none. The
PDF is the page printed by headless Chromium on A4 or Letter, with page numbers and a
bookmark per section (the page's print stylesheet does the layout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from fragility._fmt import timestamp
from fragility._io import atomic_dir, to_json
from fragility.errors import FragilityError
from fragility.report import overview
from fragility.report.html import render

if TYPE_CHECKING:  # the build imports torch; printing a scenario's pages needs none of it
    from fragility.report.build import Report

PAPERS = {"a4": "A4", "letter": "letter"}

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    env = os.environ.get("FRAGILITY_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


# Flags for a headless Chromium on a machine without a network or a display.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def require_chromium() -> str:
    """The Chromium binary, or the one-line error --pdf gives without one (checked by the CLI
    before any work, and again here)."""
    chromium = find_chromium()
    if chromium is None:
        raise FragilityError(
            "--pdf needs headless Chromium, which is not installed; on Debian: "
            "apt-get install chromium (or set FRAGILITY_CHROMIUM to a Chrome binary)"
        )
    return chromium


def print_pdf(html: Path, pdf: Path, timeout_s: float = 120.0, *, paper: str = "a4") -> None:
    """Print `html` to `pdf` with headless Chromium on `paper` ("a4" or "letter"), with the
    page's own page numbers and a PDF bookmark per heading."""
    if paper not in PAPERS:
        raise FragilityError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    chromium = require_chromium()
    profile = pdf.parent / ".chromium-profile"
    # The paper size is the page's @page rule: print a copy that names it.
    printed = pdf.parent / f".{pdf.stem}-print.html"
    page = html.read_text(encoding="utf-8")
    size = f"<style>@page {{ size: {PAPERS[paper]}; }}</style>"
    printed.write_text(page.replace("</head>", size + "</head>", 1), encoding="utf-8")
    cmd = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        "--generate-pdf-document-outline",
        f"--print-to-pdf={pdf}",
        printed.resolve().as_uri(),
    ]
    try:
        subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise FragilityError(
            f"Chromium took over {timeout_s:.0f} s to print the PDF; try again without --pdf"
        ) from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        printed.unlink(missing_ok=True)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise FragilityError(f"Chromium did not write {pdf.name}; try again without --pdf")


def page(report: Report) -> str:
    """The report as one self-contained HTML page."""
    m = report.manifest
    models = [k for k in report.metrics["models"] if k != "autoencoder"]
    data = report.metrics["dataset"]
    what = data.get("description", data["name"]).split(";")[0].split(" (")[0]
    return render(
        overview.title(data["name"], models),
        report.sections,
        kicker="fragility · failure report",
        subtitle=_subtitle(report.metrics["models"], models, what),
        meta=f"{timestamp(m['created'])} · fragility {m['versions']['fragility']} · "
        f"seed {m['seed']}" + (" · quick run (smaller budgets)" if m.get("quick") else ""),
        overview=overview.build(report.metrics),
        footer="Made with fragility. Every figure is also in `figures/`, every number in "
        "`metrics.json`, and how the report was made in `manifest.json`.",
    )


def _subtitle(recorded: dict, models: list[str], what: str) -> str:
    """'How two small neural networks trained on ... fail', or, for models brought from
    outside (recorded with their description), 'How resnet18 fails on ...'."""
    if any("description" in recorded[m] for m in models):
        verb = "fails" if len(models) == 1 else "fail"
        names = ", ".join(models[:-1]) + (" and " if len(models) > 1 else "") + models[-1]
        return f"How {names} {verb} on {what}, and how badly."
    return f"How {_count(len(models))} small neural networks trained on {what} fail, and how badly."


def _count(n: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(n, str(n))


def write(report: Report, out: str | os.PathLike, *, pdf: bool = False, paper: str = "a4") -> Path:
    out = Path(out)
    with atomic_dir(out) as tmp:
        figures = tmp / "figures"
        figures.mkdir()
        for section in report.sections:
            for fig in section.figures:
                (figures / f"{fig.name}.png").write_bytes(fig.png)
        (tmp / "index.html").write_text(page(report), encoding="utf-8")
        (tmp / "metrics.json").write_text(to_json(report.metrics))
        (tmp / "manifest.json").write_text(to_json(report.manifest))
        if pdf:
            print_pdf(tmp / "index.html", tmp / "report.pdf", paper=paper)
    return out
