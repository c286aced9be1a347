"""The large-output fast paths give exactly the text of the general ones: the table's plain-ASCII
path against tabulate, json_text against json.dumps(indent=2), to_plain's shortcuts."""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

import pytest

from kubectl_datadog.output import table
from kubectl_datadog.output.render import json_text, to_plain
from kubectl_datadog.output.table import kubectl_table, plain_ascii_table, tabulate_table

_ALPHABET = string.ascii_letters + string.digits + "-_.:/,<>%=*"


def _cell(rnd: random.Random) -> str:
    r = rnd.random()
    if r < 0.1:
        return ""
    if r < 0.15:
        return rnd.choice([" lead", "trail ", "in side", "a  b"])
    return "".join(rnd.choice(_ALPHABET) for _ in range(rnd.randint(1, 14)))


@pytest.mark.parametrize("seed", range(20))
def test_plain_ascii_table_is_tabulates_text(seed: int) -> None:
    rnd = random.Random(seed)
    compared = 0
    for _ in range(100):
        ncols = rnd.randint(1, 6)
        headers = ["".join(rnd.choice(string.ascii_uppercase) for _ in range(rnd.randint(0, 9))) for _ in range(ncols)]
        rows = [[_cell(rnd) for _ in range(ncols)] for _ in range(rnd.randint(1, 8))]
        for no_headers in (False, True):
            fast = plain_ascii_table(headers, rows, no_headers=no_headers)
            if fast is None:  # cells with surrounding spaces: tabulate strips them, no fast path
                assert any(c != c.strip() for r in rows for c in r) or any(h != h.strip() for h in headers)
                continue
            compared += 1
            assert fast == tabulate_table(headers, rows, no_headers=no_headers), (headers, rows, no_headers)
    assert compared > 100


@pytest.mark.parametrize("rows", [
    [["日本語", "x"]],             # wide characters: tabulate measures display width
    [["e\u0301", "x"]],            # combining accent
    [["two\nlines", "x"]],         # multi-line cell
    [["\x1b[31mred\x1b[0m", "x"]],  # ANSI colour: tabulate ignores it in widths
    [["tab\there", "x"]],
    [[" padded", "x"]],            # tabulate strips cells
    [[None, "x"]],                 # tabulate prints missingval
    [["short"]],                   # ragged row
], ids=["wide", "combining", "newline", "ansi", "tab", "leading-space", "none", "ragged"])
def test_plain_ascii_table_declines_what_tabulate_does_differently(rows: list) -> None:
    assert plain_ascii_table(["A", "B"], rows) is None
    big = rows * table.FAST_PATH_MIN_ROWS
    if all(len(r) == 2 for r in rows):  # kubectl_table then falls back to tabulate for the whole table
        assert kubectl_table(["A", "B"], big) == tabulate_table(["A", "B"], big)


def test_large_tables_take_the_fast_path_with_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [[f"node-{i % 7}", f"ns-{i % 3}", f"pod-{i}", "<none>" if i % 5 == 0 else f"svc-{i % 11},svc-x"]
            for i in range(table.FAST_PATH_MIN_ROWS + 5)]
    headers = ["NODE", "NAMESPACE", "POD", "SERVICES"]
    expected, expected_no_headers = tabulate_table(headers, rows), tabulate_table(headers, rows, no_headers=True)
    called = []
    monkeypatch.setattr(table, "tabulate_table", lambda *a, **k: called.append(a) or "")
    assert kubectl_table(headers, rows) == expected
    assert kubectl_table(headers, rows, no_headers=True) == expected_no_headers
    assert called == []
    kubectl_table(headers, rows[:10])  # small tables keep tabulate
    assert len(called) == 1


def _random_value(rnd: random.Random, depth: int = 0) -> object:
    r = rnd.random()
    if depth < 4 and r < 0.25:
        return {rnd.choice(["a", "é", 'q"uote', "new\nline", "", "日本", "\u2028"]) + str(rnd.randint(0, 9)):
                _random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    if depth < 4 and r < 0.45:
        return [_random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    return rnd.choice([None, True, False, 0, -5, 10 ** 20, 1.5, 1e-7, 3.0, -0.0, "x", "", "é\x00\t\\",
                       "😀", ("tuple", 1), float("nan"), float("inf"), {1: "int key"}, {None: 1}])


@pytest.mark.parametrize("seed", range(10))
def test_json_text_is_json_dumps_indent_2(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(300):
        value = _random_value(rnd)
        assert json_text(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_json_text_falls_back_for_what_json_dumps_rejects() -> None:
    with pytest.raises(TypeError):
        json_text({"a": object()})


class _Color(str, Enum):
    RED = "red"


class _Level(Enum):
    HIGH = 3


@dataclass(frozen=True)
class _Point:
    x: int
    tags: tuple[str, ...]


def _rich_value(rnd: random.Random, depth: int = 0) -> object:
    r = rnd.random()
    if depth < 4 and r < 0.2:
        keys = ["a", "b", 1, "1", None, _Color.RED, 2.5]
        return {rnd.choice(keys): _rich_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    if depth < 4 and r < 0.35:
        return [_rich_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    if depth < 4 and r < 0.45:
        return tuple(_rich_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3)))
    return rnd.choice([_Color.RED, _Level.HIGH, {"z", "y"}, frozenset({3, 1}), _Point(1, ("t",)),
                       datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc), None, 7, 1.25, "s", float("nan"),
                       [_Color.RED], {"k": _Point(2, ())}])


@pytest.mark.parametrize("seed", range(10))
def test_json_text_converting_as_it_writes_is_json_of_to_plain(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(300):
        value = _rich_value(rnd)
        assert json_text(value, convert=to_plain) == json.dumps(to_plain(value), indent=2, ensure_ascii=False)


def test_to_plain_shortcuts_keep_conversions() -> None:
    value = {"s": "x", 1: [1, 2.5, None, True], "e": _Color.RED, "t": ("a",), "set": {"b", "a"},
             "nested": [{"e": _Color.RED}], _Color.RED: "key"}
    assert to_plain(value) == {"s": "x", "1": [1, 2.5, None, True], "e": "red", "t": ["a"], "set": ["a", "b"],
                               "nested": [{"e": "red"}], str(_Color.RED): "key"}
