"""Strict TOML files: every mistake names the file, the line and the key, and says what to fix.

Shared by the scenario files (`scenarios.spec`) and the grid files (`fragility.grid.spec`):

- `read` / `parse`: TOML text to a dict plus `line_index`, where each key is set (tomllib gives
  no positions), with syntax errors as one line "file:line: not valid TOML: ...";
- `Where`: turns a key path into "file:line: key.path: message" errors;
- a schema as dataclass field metadata (`num`, `whole`, `flag`, `choice`, `text`, `numbers`,
  `wholes`, `words`, `table`, `records`, `mapping`), and `parse_table`, which checks a table
  against a dataclass: unknown keys are errors with "did you mean", wrong types and values
  out of range name their key and line (HighwayEnv's `configure` accepts typos silently;
  this does not).

`line_index` is not a TOML parser: it follows table headers, `key =` lines, inline tables and
the items of multi-line arrays, which is all that error messages need to name a line.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from fragility.errors import FragilityError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_ITEMS = 1000  # a list in a file; keeps a malformed file from asking for hours of work


# ---------------------------------------------------------------------------------------------
# Reading


def parse(text: str, path: str, error: type[FragilityError]) -> tuple[dict, dict[tuple, int]]:
    """(data, line_index(text)); malformed TOML raises `error` naming the file and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        where = f"{path}:{m.group(1)}" if m else path
        msg = re.sub(r"\s*\(at .*\)$", "", str(exc))
        raise error(f"{where}: not valid TOML: {msg}") from None
    except (RecursionError, ValueError) as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    return data, line_index(text)


def read(path: Path, error: type[FragilityError]) -> tuple[dict, dict[tuple, int]]:
    """`parse` the UTF-8 file at `path`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return parse(text, str(path), error)


class Where:
    """Error context: names the file and line where a key path is set."""

    def __init__(
        self,
        path: str,
        lines: Mapping[tuple, int] | None = None,
        error: type[FragilityError] = FragilityError,
    ) -> None:
        self.path = path
        self.lines = lines or {}
        self.error_type = error

    def line(self, key: tuple) -> int | None:
        for n in range(len(key), 0, -1):
            if key[:n] in self.lines:
                return self.lines[key[:n]]
        return None

    def where(self, key: tuple) -> str:
        line = self.line(key)
        return f"{self.path}:{line}" if line else self.path

    def error(self, key: tuple | str, message: str) -> FragilityError:
        if isinstance(key, str):
            key = tuple(key.split(".")) if key else ()
        return self.error_type(f"{self.where(key)}: {key_name(key) or '(file)'}: {message}")


def key_name(key: tuple) -> str:
    """('models', 0, 'lecture') -> 'models[0].lecture'."""
    name = ""
    for k in key:
        name += f"[{k}]" if isinstance(k, int) else (f".{k}" if name else str(k))
    return name


def type_name(v: Any) -> str:
    return {
        bool: "a boolean",
        int: "a whole number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(v), type(v).__name__)


def did_you_mean(key: Any, known: Any) -> str:
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# The schema: what each key accepts, as dataclass field metadata


def meta(kind: str, doc: str, **kw: Any) -> Any:
    return field(metadata={"kind": kind, "doc": doc, **kw})


def num(
    doc: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    sample: bool = True,
    default: float | None = None,
    optional: bool = False,
) -> Any:
    """A finite number in [lo, hi] (or (lo, hi] with lo_open); `sample`: may vary per run;
    `default`: the value when a file leaves the key out; `optional`: None when it does."""
    return meta(
        "float",
        doc,
        lo=lo,
        hi=hi,
        lo_open=lo_open,
        sample=sample,
        default=default,
        optional=optional,
    )


def whole(doc: str, lo: int, hi: int, *, default: int | None = None, optional: bool = False) -> Any:
    return meta("int", doc, lo=lo, hi=hi, default=default, optional=optional)


def flag(doc: str, *, default: bool | None = None) -> Any:
    return meta("bool", doc, default=default)


def choice(doc: str, *options: str, default: str | None = None, optional: bool = False) -> Any:
    return meta("str", doc, options=options, default=default, optional=optional)


def text(doc: str, *, default: str | None = None, optional: bool = False) -> Any:
    return meta("text", doc, default=default, optional=optional)


def numbers(
    doc: str,
    lo: float,
    hi: float,
    *,
    items: tuple[int, int] = (1, MAX_ITEMS),
    default: Any = None,
    optional: bool = False,
) -> Any:
    """A list of distinct finite numbers, each in [lo, hi], with a count in `items`."""
    return meta("floats", doc, lo=lo, hi=hi, items=items, default=default, optional=optional)


def wholes(
    doc: str,
    lo: int,
    hi: int,
    *,
    items: tuple[int, int] = (1, MAX_ITEMS),
    default: Any = None,
    optional: bool = False,
    distinct: bool = True,
) -> Any:
    """A list of whole numbers, each in [lo, hi], with a count in `items`; each value once
    unless not `distinct`."""
    return meta(
        "ints",
        doc,
        lo=lo,
        hi=hi,
        items=items,
        default=default,
        optional=optional,
        distinct=distinct,
    )


def texts(doc: str, *, items: tuple[int, int] = (1, MAX_ITEMS)) -> Any:
    """A list of distinct strings, any strings."""
    return meta("texts", doc, items=items)


def words(doc: str, *options: str, default: Any = None, optional: bool = False) -> Any:
    """A list of distinct strings, each one of `options`."""
    return meta("strs", doc, options=options, default=default, optional=optional)


def table(doc: str, cls: type, *, default: Any = None, optional: bool = False) -> Any:
    return meta("table", doc, cls=cls, default=default, optional=optional)


def records(doc: str, cls: type, *, required: bool = True) -> Any:
    """A list of tables (an array of tables, `[[key]]`), each checked against `cls`."""
    return meta("records", doc, cls=cls, required=required)


def mapping(doc: str, *, optional: bool = False) -> Any:
    """A table of any keys and values (keyword arguments passed on); keys are not checked."""
    return meta("mapping", doc, optional=optional)


SCALAR_KINDS = ("float", "int", "bool", "str")
Parse = Callable[[dataclasses.Field, Any, tuple, Where], Any]


def parse_value(f: dataclasses.Field, v: Any, key: tuple, ctx: Where) -> Any:
    """The value of field `f` written as `v` at `key`, checked against its metadata."""
    m = f.metadata
    kind = m["kind"]
    if kind == "float":
        return parse_float(v, m, key, ctx)
    if kind == "int":
        return parse_int(v, m, key, ctx)
    if kind == "bool":
        if not isinstance(v, bool):
            raise ctx.error(key, f"expected true or false ({m['doc']}), got {type_name(v)}")
        return v
    if kind == "str":
        if not isinstance(v, str) or v not in m["options"]:
            opts = ", ".join(repr(o) for o in m["options"])
            got = repr(v) if isinstance(v, str) else type_name(v)
            hint = did_you_mean(v, m["options"]) if isinstance(v, str) else ""
            raise ctx.error(key, f"expected one of {opts}, got {got}{hint}")
        return v
    if kind == "text":
        if not isinstance(v, str):
            raise ctx.error(key, f"expected a string ({m['doc']}), got {type_name(v)}")
        return v
    if kind in ("floats", "ints", "strs", "texts"):
        return _parse_list(f, v, key, ctx)
    if kind == "table":
        return parse_table(m["cls"], v, key, ctx)
    if kind == "records":
        if not isinstance(v, list):
            raise ctx.error(key, f"expected a list of tables ({m['doc']}), got {type_name(v)}")
        if len(v) > MAX_ITEMS:
            raise ctx.error(key, f"more than {MAX_ITEMS} items")
        return tuple(parse_table(m["cls"], item, (*key, i), ctx) for i, item in enumerate(v))
    if kind == "mapping":
        if not isinstance(v, dict):
            raise ctx.error(key, f"expected a table ({m['doc']}), got {type_name(v)}")
        return tuple(sorted(v.items()))
    raise AssertionError(kind)  # pragma: no cover - the schemas have no other kinds


def parse_float(v: Any, m: Mapping, key: tuple, ctx: Where) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ctx.error(key, f"expected a number ({m['doc']}), got {type_name(v)}")
    try:
        v = float(v)
    except OverflowError:
        raise ctx.error(key, "expected a finite number, got a huge integer") from None
    if not math.isfinite(v):
        raise ctx.error(key, f"expected a finite number, got {v}")
    lo, hi = m["lo"], m["hi"]
    if lo is not None and (v < lo or (m.get("lo_open") and v == lo)):
        what = "negative" if lo == 0 and v < 0 else "too small"
        bound = f"above {lo:g}" if m.get("lo_open") else f"at least {lo:g}"
        raise ctx.error(key, f"{v:g} is {what}; {m['doc']} must be {bound}")
    if hi is not None and v > hi:
        raise ctx.error(key, f"{v:g} is too large; {m['doc']} must be at most {hi:g}")
    return v


def parse_int(v: Any, m: Mapping, key: tuple, ctx: Where) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ctx.error(key, f"expected a whole number ({m['doc']}), got {type_name(v)}")
    if not m["lo"] <= v <= m["hi"]:
        raise ctx.error(key, f"{v} is out of range: {m['doc']} must be in {m['lo']}..{m['hi']}")
    return v


def _parse_list(f: dataclasses.Field, v: Any, key: tuple, ctx: Where) -> tuple:
    m = f.metadata
    if not isinstance(v, list):
        raise ctx.error(key, f"expected a list ({m['doc']}), got {type_name(v)}")
    lo, hi = m.get("items", (1, MAX_ITEMS))
    if not lo <= len(v) <= hi:
        raise ctx.error(key, f"expected {lo} to {hi} items ({m['doc']}), got {len(v)}")
    one = {"floats": "float", "ints": "int", "strs": "str", "texts": "text"}[m["kind"]]
    item = dataclasses.field(metadata={**m, "kind": one})
    out = tuple(parse_value(item, x, (*key, i), ctx) for i, x in enumerate(v))
    if m.get("distinct", True) and len(set(out)) != len(out):
        raise ctx.error(key, "lists a value twice")
    return out


def parse_table(
    cls: type,
    v: Any,
    key: tuple,
    ctx: Where,
    *,
    parse: Parse = parse_value,
    aliases: Mapping[str, str] | None = None,
    missing_hint: str = "",
    also: tuple[str, ...] = (),
) -> Any:
    """`cls(**checked values)` from the table `v` at `key`. `parse` checks each value (a
    schema may unwrap annotations first); `aliases` maps field names to keys in the file where
    the key is a Python keyword; `also` names keys the caller reads itself, which `v` must not
    hold. A missing key takes its field's default, None where the field is optional, and is
    otherwise an error ending in `missing_hint`."""
    if not isinstance(v, dict) or "value" in v:
        raise ctx.error(key, f"expected a table of keys, got {type_name(v)}")
    names = {(aliases or {}).get(f.name, f.name): f for f in dataclasses.fields(cls)}
    for k in v:
        if k not in names:
            raise ctx.error(
                (*key, k),
                f"unknown key{did_you_mean(k, names)}; [{key_name(key)}] takes {', '.join(names)}",
            )
    out = {}
    for name, f in names.items():
        if name not in v:
            if f.metadata["kind"] == "records" and not f.metadata["required"]:
                out[f.name] = ()
                continue
            if f.metadata.get("default") is not None:
                out[f.name] = f.metadata["default"]
                continue
            if f.metadata.get("optional"):
                out[f.name] = None
                continue
            raise ctx.error((*key, name), f"missing ({f.metadata['doc']}); add it{missing_hint}")
        out[f.name] = parse(f, v[name], (*key, name), ctx)
    return cls(**out)


# ---------------------------------------------------------------------------------------------
# Where each key is set

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
