"""Numbers as the report and the CLI print them: one rule per kind of number.

- a share or an accuracy: a percentage with one decimal (`pct`);
- a model's confidence: a percentage rounded down, so it never shows a threshold it did not
  reach (`confidence`);
- a very small or very large quantity: two significant digits times a power of ten,
  "1.4 × 10⁻¹⁷", never "1.4e-17" (`sci`);
- a count: digits grouped by thousands ("13,706", written inline as f"{n:,}");
- an estimated share with its interval (a probability over simulated worlds): whole percents,
  or one decimal when any of the three lies within a point of 0 or 100 %; the interval's ends
  round outward and the share never rounds to 0 or 100 % unless it is ("73 % (68-77 %)",
  "0.3 % (0.0-1.4 %)"; `share_interval`, and `share` for a share alone).
"""

from __future__ import annotations

import datetime as _dt
import math


def pct(x: float | None, digits: int = 1) -> str:
    """0.1234 -> '12.3 %'; None or NaN -> 'n/a'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.{digits}f} %"


def share_interval(p: float, low: float, high: float, *, between: str = "-", note: str = "") -> str:
    """A share with its interval: 0.7303, 0.68, 0.77 -> '73 % (68-77 %)'. `between` joins the
    ends (" to " in prose), `note` follows them inside the brackets (", 95 % interval")."""
    d = _near_ends(p, low, high)  # one decimal for all three, or none
    ends = f"{_share(low, False, 'low', d)}{between}{_share(high, True, 'high', d)}"
    return f"{_share(p, True, 'p', d)} ({ends}{note})"


def share(p: float) -> str:
    """An estimated share alone, by the rule of `share_interval`: 0.173 -> '17 %', 0.0073 ->
    '0.8 %', 1.0 -> '100 %'."""
    return _share(p, True, "p", _near_ends(p))


def _share(x: float, sign: bool, way: str, decimals: bool) -> str:
    """A share as a percent, whole or to one decimal; an interval's ends round outward (`way`
    'low', 'high'), and a share ('p') rounds toward 50 % so it never reads 0 or 100 % unless it
    is."""
    v = 100 * x
    if (v in (0, 100) and way == "p") or not decimals:
        s = f"{v:.0f}"
    else:
        down = way == "low" or (way == "p" and v > 50)
        s = f"{(math.floor(v * 10) if down else math.ceil(v * 10)) / 10:.1f}"
    return s + (" %" if sign else "")


def _near_ends(*xs: float) -> bool:
    return any(0 < 100 * x < 1 or 99 < 100 * x < 100 for x in xs)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float | None, digits: int = 2) -> str:
    """`digits` significant digits times a power of ten: 1.4e-17 -> '1.4 × 10⁻¹⁷'; numbers
    between 0.001 and 10,000 are written plainly ('0.0085'); None -> 'n/a'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def confidence(p: float | None) -> str:
    """A model's probability as a percentage that never overstates it: rounded down, to one
    decimal below 99 % and to two from 99 % on. 0.999902 -> '99.99 %' (it did reach 99.99 %),
    0.999879 -> '99.98 %' (it did not), 0.9876 -> '98.7 %'. None -> 'n/a'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    digits = 1 if p < 0.99 else 2
    scale = 10 ** (digits + 2)
    shown = math.floor(p * scale + 1e-7) / scale
    return f"{100 * shown:.{digits}f} %"


def model_name(name: str) -> str:
    """How a page or figure names a model: 'mlp' -> 'MLP', 'cnn' -> 'CNN'; longer names as
    written."""
    return name.upper() if len(name) <= 4 and name.isalpha() else name


def timestamp(iso: str) -> str:
    """'2026-12-02T05:01:10+00:00' -> '2 December 2026, 05:01 UTC' (a reader's date; the
    manifest keeps the ISO form)."""
    t = _dt.datetime.fromisoformat(iso)
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
    zone = " UTC" if t.tzinfo is not None else ""
    return f"{t.day} {t:%B %Y, %H:%M}{zone}"
