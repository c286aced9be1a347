"""Kubernetes resource quantities (`824`, `500m`, `1.5k`, `2Gi`, `1e3`) as numbers, and back.

The HPA's targets and the external metrics API's values are quantities; the arithmetic the HPA
controller does on them is plain float math (it works in milli-units), so a float is enough here.
"""

from __future__ import annotations

import math
import re

_SUFFIX = {
    "": 1.0, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


def parse_quantity(value: object) -> float | None:
    """A quantity string (or a JSON number) as a float; None when it is not a quantity."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = _QUANTITY.match(str(value).strip())
    if not m:
        return None
    number, exponent, suffix = m.groups()
    if exponent:
        return float(number + exponent)
    return float(number) * _SUFFIX[suffix or ""]


def fmt_number(value: float | None, digits: int = 2) -> str:
    """2472 -> "2472", 91.5555 -> "91.56", 0.5 -> "0.5"; no exponent for ordinary magnitudes."""
    if value is None or math.isnan(value):
        return "<none>"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    if text in ("0", "-0"):  # tiny values: keep significant digits
        return f"{value:.{digits}g}"
    return text
