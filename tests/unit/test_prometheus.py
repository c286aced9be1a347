"""The Prometheus text parser (textformats/prometheus.py), table-driven."""

from __future__ import annotations

import math

import pytest

from kubectl_datadog.textformats.prometheus import PrometheusParseError, Sample, parse_prometheus


@pytest.mark.parametrize("text, want", [
    ("go_goroutines 412\n", [Sample("go_goroutines", {}, 412.0)]),
    ('# HELP x h\n# TYPE x gauge\nx{a="1",b="two"} 3.5 1700000000000\n', [Sample("x", {"a": "1", "b": "two"}, 3.5)]),
    ('x{path="a\\"b\\\\c\\nd"} 1\n', [Sample("x", {"path": 'a"b\\c\nd'}, 1.0)]),
    ('x{a="1",} 2\n', [Sample("x", {"a": "1"}, 2.0)]),  # a trailing comma is allowed
    ('x{a="has } and , inside"} 2\n', [Sample("x", {"a": "has } and , inside"}, 2.0)]),
    ("x +Inf\ny -Inf\n", [Sample("x", {}, math.inf), Sample("y", {}, -math.inf)]),
    ("x{} 1e3\n\n   \n", [Sample("x", {}, 1000.0)]),
    ("cluster_checks__nodes_reporting 2\n", [Sample("cluster_checks__nodes_reporting", {}, 2.0)]),
    ("", []),
])
def test_samples(text: str, want: list[Sample]) -> None:
    assert parse_prometheus(text) == want


def test_nan_is_a_value() -> None:
    (s,) = parse_prometheus("x NaN\n")
    assert math.isnan(s.value)


@pytest.mark.parametrize("text, line", [
    ("<html><body>404 page not found</body></html>\n", 1),
    ("ok 1\nx{a=\"1\" 2\n", 2),              # unterminated label set
    ("x{a=1} 2\n", 1),                        # unquoted label value
    ("x\n", 1),                               # no value
    ("x one\n", 1),                           # not a number
    ("x 1 2 3\n", 1),                         # too many fields
])
def test_bad_text_names_the_line(text: str, line: int) -> None:
    with pytest.raises(PrometheusParseError, match=f"line {line}:"):
        parse_prometheus(text)

