"""Facts on the page: the text, its certainty mark and its sources, always together.

A fact is written `text [Q] (source link; source link)`, never its text alone, so that a reader
can tell a record from an account from an assumption and follow each to where it comes from.
Prose refers to facts by placeholder and `expand` puts them in:

  {f:herzberg}        a fact of scenarios.tempe2018_responsibility
  {r:speed-at-impact} a fact of the NTSB technical record, scenarios.tempe2018
  {x:volvo-simulation} a conclusion of the outside record, scenarios.tempe2018.OUTSIDE (what
                      others concluded about the outcome, set beside the simulation's)

The marks' meanings are the responsibility module's `CERTAINTY` (a superset of the record's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from scenarios import tempe2018
from scenarios import tempe2018_responsibility as resp

MARKS = resp.CERTAINTY
_PLACEHOLDER = re.compile(r"\{(?P<kind>[frx]):(?P<id>[a-z0-9.\-]+)\}")


def source_link(src: resp.Source) -> str:
    """The citation as inline markup: a link where the source has one."""
    label = src.label
    return f"[{label}]({src.url})" if src.url else label


def citation(mark: str, sources: Iterable[resp.Source]) -> str:
    """` [Q] (link; link)`: the mark and every source, for appending to a fact's text."""
    if mark not in MARKS:
        raise ValueError(f"unknown certainty mark {mark!r}")
    links = "; ".join(source_link(s) for s in sources)
    if not links:
        raise ValueError("a fact needs at least one source")
    return f" [{mark}] ({links})"


def fact(fact_id: str) -> str:
    """A responsibility fact with its mark and sources."""
    f = resp.fact(fact_id)
    return f.text + citation(f.certainty, (resp.SOURCES[s] for s in f.sources))


def record(fact_id: str) -> str:
    """A fact of the NTSB technical record with its mark and sources."""
    f = tempe2018.fact(fact_id)
    return f.text + citation(f.certainty, resp.record_sources(f))


def outside(fact_id: str) -> str:
    """A conclusion of the outside record with its mark and sources."""
    f = tempe2018.OUTSIDE[fact_id]
    return f.text + citation(f.certainty, resp.record_sources(f))


def expand(text: str) -> str:
    """Replace every {f:id}, {r:id} and {x:id} placeholder by the cited fact."""
    cite = {"f": fact, "r": record, "x": outside}

    def one(m: re.Match) -> str:
        return cite[m["kind"]](m["id"])

    return _PLACEHOLDER.sub(one, text)


def used(text: str) -> list[tuple[str, str]]:
    """The (kind, id) of every placeholder in `text`."""
    return [(m["kind"], m["id"]) for m in _PLACEHOLDER.finditer(text)]


def legend() -> str:
    """The marks in one sentence."""
    return "; ".join(f"**{k}** {v}" for k, v in MARKS.items()) + "."
