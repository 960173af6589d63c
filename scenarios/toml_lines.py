"""Where each key of a TOML text is set: a small scan of the source (tomllib gives no positions).

Not a TOML parser: it follows table headers, `key =` lines, inline tables and the items of
multi-line arrays, which is all that error messages need to name a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r'^\s*((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|\'[^\']*\'|'
    r"[A-Za-z0-9_\-]+))*)\s*="
)
_INLINE_KEY = re.compile(r'[{,]\s*("[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)\s*=')


def _split_dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+)', text)
    return tuple(a or b or c for a, b, c in parts)


def line_index(text: str) -> dict[tuple, int]:
    """Map key paths (tuples; array items by index) to the 1-based line that sets them."""
    index: dict[tuple, int] = {}
    prefix: tuple = ()
    aot: dict[tuple, int] = {}  # array-of-tables counters
    array_key: tuple | None = None
    depth = 0
    item = -1
    for no, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if array_key is not None:  # inside a multi-line array value
            stripped = line.lstrip()
            if depth == 1 and stripped.startswith(("{", "[")):
                item += 1
                index.setdefault((*array_key, item), no)
                for k in _INLINE_KEY.findall(line):
                    index.setdefault((*array_key, item, *_split_dotted(k)), no)
            depth += _bracket_balance(line)
            if depth <= 0:
                array_key = None
            continue
        m = _HEADER.match(line)
        if m and not _KEY.match(line):
            path = _split_dotted(m.group(2))
            if m.group(1) == "[[":
                aot[path] = aot.get(path, -1) + 1
                prefix = (*path, aot[path])
            else:
                prefix = path
            index.setdefault(prefix, no)
            continue
        m = _KEY.match(line)
        if not m:
            continue
        key = (*prefix, *_split_dotted(m.group(1)))
        index.setdefault(key, no)
        rest = line[m.end() :]
        for k in _INLINE_KEY.findall(rest):
            index.setdefault((*key, *_split_dotted(k)), no)
        balance = _bracket_balance(rest)
        if rest.lstrip().startswith("[") and balance > 0:
            array_key, depth, item = key, balance, -1
    return index


def _unquoted(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) of every character outside quoted strings (quotes left out)."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        else:
            yield i, ch


def _strip_comment(line: str) -> str:
    return next((line[:i] for i, ch in _unquoted(line) if ch == "#"), line)


def _bracket_balance(text: str) -> int:
    return sum((ch in "[{") - (ch in "]}") for _, ch in _unquoted(text))
