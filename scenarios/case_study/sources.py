"""The last section of every page: each fact used, with its mark and sources, and the list of
sources with their links."""

from __future__ import annotations

from collections.abc import Iterable

from fragility.report.section import Bullets, Heading, Paragraph, Section, Table
from scenarios import tempe2018
from scenarios import tempe2018_responsibility as resp
from scenarios.case_study import cite

KINDS = (("r", tempe2018.FACTS), ("f", resp.FACTS), ("x", tempe2018.OUTSIDE))


def _fact(kind: str, fact_id: str):
    return dict(KINDS)[kind][fact_id]


def _sources_of(kind: str, fact_id: str) -> tuple[resp.Source, ...]:
    if kind == "f":
        return tuple(resp.SOURCES[s] for s in resp.fact(fact_id).sources)
    return resp.record_sources(_fact(kind, fact_id))


def facts_in(texts: Iterable[str]) -> list[tuple[str, str]]:
    """Every (kind, id) fact cited in `texts` (its text followed by its mark), in order of first
    appearance: "r" for the technical record, "f" for the responsibility facts, "x" for the
    outside record."""
    joined = "\n".join(texts)
    found = []
    for kind, facts in KINDS:
        for fid, f in facts.items():
            at = joined.find(f"{f.text} [{f.certainty}]")
            if at >= 0:
                found.append((at, kind, fid))
    return [(kind, fid) for _, kind, fid in sorted(found)]


def _entry(src: resp.Source, full: bool) -> str:
    """A source in the list; its address is written out, so a printed page can be followed."""
    where = f" [{src.url}]({src.url})" if src.url else ""
    if not full:
        return f"**{src.label}**:{where}" if src.url else f"**{src.label}**"
    publisher = f", {src.publisher}" if src.publisher else ""
    return f"**{src.label}**: {src.title}{publisher}.{where}"


def section(used: Iterable[tuple[str, str]], *, full: bool = True) -> Section:
    """`used`: the facts the page cites. `full`: a table of every fact, those of the record and
    of the responsibility layer the page does not cite included; otherwise only the sources of
    the cited facts (each fact already carries its mark and source where it is cited)."""
    used = list(used)
    keys = list(used)
    if full:
        keys += [(kind, f) for kind, facts in KINDS for f in facts if (kind, f) not in used]
    rows = []
    for kind, fid in keys:
        f = _fact(kind, fid)
        srcs = "; ".join(s.label for s in _sources_of(kind, fid))
        rows.append((f.text, f.certainty, srcs))
    sources = {s.id: s for kind, fid in keys for s in _sources_of(kind, fid)}
    listed = tuple(
        _entry(s, full) for s in sorted(sources.values(), key=lambda s: (not s.primary, s.label))
    )
    counts = {m: sum(r[1] == m for r in rows) for m in cite.MARKS}
    return Section(
        slug="sources",
        title="Sources and certainty",
        intro=(
            "Every fact of the case, with how sure we are of it and where it comes from, then "
            "the sources themselves. "
            if full
            else "The sources of the facts cited on these pages. "
        )
        + "Press reports are cited where they report an official act or document that this "
        "project could not read itself; they are marked S.",
        blocks=(
            Paragraph(cite.legend()),
            *((Table("The facts", ("fact", "mark", "sources"), tuple(rows)),) if full else ()),
            Heading("The sources"),
            Bullets(listed),
        ),
        metrics={"facts": len(rows), "sources": len(sources), "by_certainty": counts},
    )
