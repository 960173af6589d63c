"""Write a Report: index.html, metrics.json, manifest.json, figures/*.png, optionally a PDF.

The folder is written atomically: an interrupted run leaves the previous report or none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from fragility._io import atomic_dir, to_json
from fragility.errors import FragilityError
from fragility.report.html import render

if TYPE_CHECKING:  # the build imports torch; printing a scenario's pages needs none of it
    from fragility.report.build import Report

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


def print_pdf(html: Path, pdf: Path, timeout_s: float = 120.0) -> None:
    """Print `html` to `pdf` with headless Chromium."""
    chromium = require_chromium()
    profile = pdf.parent / ".chromium-profile"
    cmd = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        html.resolve().as_uri(),
    ]
    try:
        subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise FragilityError(
            f"Chromium took over {timeout_s:.0f} s to print the PDF; try again without --pdf"
        ) from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise FragilityError(f"Chromium did not write {pdf.name}; try again without --pdf")


def write(report: Report, out: str | os.PathLike, *, pdf: bool = False) -> Path:
    out = Path(out)
    with atomic_dir(out) as tmp:
        figures = tmp / "figures"
        figures.mkdir()
        for section in report.sections:
            for fig in section.figures:
                (figures / f"{fig.name}.png").write_bytes(fig.png)
        page = render(
            report.title,
            report.sections,
            subtitle=f"Generated {report.manifest['created']} by fragility "
            f"{report.manifest['versions']['fragility']} (seed {report.manifest['seed']}).",
            summary=report.summary,
            footer="Made with fragility. Figures are also in figures/, numbers in metrics.json.",
        )
        (tmp / "index.html").write_text(page, encoding="utf-8")
        (tmp / "metrics.json").write_text(to_json(report.metrics))
        (tmp / "manifest.json").write_text(to_json(report.manifest))
        if pdf:
            print_pdf(tmp / "index.html", tmp / "report.pdf")
    return out
