"""Write a CaseStudy to a folder, atomically: one HTML file per page, every figure as a PNG,
the facts and the numbers as JSON, and (with `pdf`) the printable pages as PDFs, printed by the
failure report's headless-Chromium printer.

    DIR/index.html        the case, every source
    DIR/handout.html      the student handout        (+ handout.pdf)
    DIR/roles.html        the role-play briefs        (+ roles.pdf)
    DIR/instructor.html   instructor notes, for the instructor audience (+ instructor.pdf)
    DIR/figures/*.png     every figure
    DIR/facts.json        every fact with its mark and sources; the sources with their links
    DIR/metrics.json      every number the pages show
"""

from __future__ import annotations

import os
from pathlib import Path

from fragility._io import atomic_dir, to_json
from fragility.report.writer import print_pdf
from scenarios import tempe2018
from scenarios import tempe2018_responsibility as resp
from scenarios.case_study.build import CaseStudy

PRINTED = ("handout", "roles", "instructor")  # the pages that get a PDF with `pdf`


def facts_data() -> dict:
    return {
        "certainty": resp.CERTAINTY,
        "record": {
            k: {**f.to_dict(), "sources": [s.id for s in resp.record_sources(f)]}
            for k, f in tempe2018.FACTS.items()
        },
        "outside": {
            k: {**f.to_dict(), "sources": [s.id for s in resp.record_sources(f)]}
            for k, f in tempe2018.OUTSIDE.items()
        },
        "responsibility": {k: f.to_dict() for k, f in resp.FACTS.items()},
        "sources": {k: s.to_dict() for k, s in resp.SOURCES.items()},
    }


def write(case: CaseStudy, out: str | os.PathLike, *, pdf: bool = False) -> list[Path]:
    """Write the case into `out` (replaced as a whole); returns the files written, relative."""
    out = Path(out)
    written: list[Path] = []
    with atomic_dir(out) as tmp:
        figures = tmp / "figures"
        figures.mkdir()
        for fig in case.figures:
            (figures / f"{fig.name}.png").write_bytes(fig.png)
            written.append(Path("figures") / f"{fig.name}.png")
        for page in case.pages:
            (tmp / f"{page.name}.html").write_text(page.html(), encoding="utf-8")
            written.append(Path(f"{page.name}.html"))
        (tmp / "facts.json").write_text(to_json(facts_data()))
        (tmp / "metrics.json").write_text(to_json({"audience": case.audience, **case.metrics}))
        written += [Path("facts.json"), Path("metrics.json")]
        if pdf:
            for page in case.pages:
                if page.name in PRINTED:
                    print_pdf(tmp / f"{page.name}.html", tmp / f"{page.name}.pdf")
                    written.append(Path(f"{page.name}.pdf"))
    return written
