"""Label and field selector matching, as the API server does it. Used to filter on the client when
a server cannot (and by the test fake, so it filters exactly like a server)."""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_CMP = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w./-]*))?\s*$")


def _split_terms(selector: str) -> list[str]:
    terms, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur)
    return [t for t in terms if t.strip()]


def parse_label_selector(selector: str) -> Callable[[Mapping[str, str]], bool]:
    """Compile `a=b,c!=d,e in (f,g),!h,i` into a predicate. Raises ValueError on bad syntax."""
    preds: list[Callable[[Mapping[str, str]], bool]] = []
    for term in _split_terms(selector or ""):
        m = _SET.match(term)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                preds.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                preds.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            continue
        m = _CMP.match(term)
        if not m:
            raise ValueError(f"invalid label selector term {term.strip()!r}")
        neg, key, op, value = m.groups()
        if op is None:
            preds.append((lambda labels, k=key: k not in labels) if neg else (lambda labels, k=key: k in labels))
        elif neg:
            raise ValueError(f"invalid label selector term {term.strip()!r}")
        elif op == "!=":
            preds.append(lambda labels, k=key, v=value: labels.get(k) != v)
        else:
            preds.append(lambda labels, k=key, v=value: labels.get(k) == v)
    return lambda labels: all(p(labels) for p in preds)


def match_labels_selector(match_labels: Mapping[str, str]) -> str:
    """The label selector string for a `matchLabels` map, sorted for stable requests."""
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


def field_value(obj: Mapping[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, Mapping) else None
    return "" if cur is None else str(cur)


def _field_test(key: str, value: str, *, equal: bool) -> Callable[[Mapping[str, Any]], bool]:
    return lambda obj: (field_value(obj, key) == value) == equal


def parse_field_selector(selector: str) -> Callable[[Mapping[str, Any]], bool]:
    preds: list[Callable[[Mapping[str, Any]], bool]] = []
    for term in _split_terms(selector or ""):
        if "!=" in term:
            k, v = term.split("!=", 1)
            preds.append(_field_test(k.strip(), v.strip(), equal=False))
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            preds.append(_field_test(k.strip(), v.strip(), equal=True))
        else:
            raise ValueError(f"invalid field selector term {term.strip()!r}")
    return lambda o: all(p(o) for p in preds)
