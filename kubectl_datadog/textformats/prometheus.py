"""The Prometheus text exposition format (version 0.0.4), as the Agents serve their telemetry on
`/metrics`: enough of it to read gauges and counters. Pure parsing, no I/O.

A sample line is `name{label="value",...} value [timestamp]`; label values escape `\\`, `\"` and
`\n`; `#` lines are HELP/TYPE comments; values may be `NaN`, `+Inf`, `-Inf`. Histogram and summary
series are ordinary samples here (`_bucket`, `_sum`, `_count`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class PrometheusParseError(ValueError):
    pass


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    value: float = math.nan


def _labels(line: str, i: int, lineno: int) -> tuple[dict[str, str], int]:
    """The label set starting after `{` at i; returns it and the index after `}`."""
    labels: dict[str, str] = {}
    while True:
        while i < len(line) and line[i] in " \t,":
            i += 1
        if i < len(line) and line[i] == "}":
            return labels, i + 1
        m = _LABEL_NAME.match(line, i)
        if m is None or line[m.end():m.end() + 2] != '="':
            raise PrometheusParseError(f"line {lineno}: bad label at column {i + 1}: {line!r}")
        name, i = m.group(), m.end() + 2
        value: list[str] = []
        while True:
            if i >= len(line):
                raise PrometheusParseError(f"line {lineno}: unterminated label value: {line!r}")
            ch = line[i]
            if ch == "\\" and i + 1 < len(line):
                value.append(_ESCAPES.get(line[i + 1], "\\" + line[i + 1]))
                i += 2
            elif ch == '"':
                i += 1
                break
            else:
                value.append(ch)
                i += 1
        labels[name] = "".join(value)


def _value(text: str, lineno: int) -> float:
    try:
        return float(text)  # float() reads NaN, +Inf and -Inf as Prometheus writes them
    except ValueError:
        raise PrometheusParseError(f"line {lineno}: bad value {text!r}") from None


def parse_prometheus(text: str) -> list[Sample]:
    """Every sample, in order. Raises PrometheusParseError naming the first bad line (an HTML error
    page or a truncated answer is not telemetry)."""
    out: list[Sample] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _NAME.match(line)
        if m is None:
            raise PrometheusParseError(f"line {lineno}: not a sample: {line!r}")
        i = m.end()
        labels: dict[str, str] = {}
        if i < len(line) and line[i] == "{":
            labels, i = _labels(line, i + 1, lineno)
        rest = line[i:].split()
        if not rest or len(rest) > 2:
            raise PrometheusParseError(f"line {lineno}: expected a value (and a timestamp): {line!r}")
        out.append(Sample(m.group(), labels, _value(rest[0], lineno)))
    return out

