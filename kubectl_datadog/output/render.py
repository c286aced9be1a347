"""One view model per command result, one renderer for every output format.

json/yaml serialize the report's data (not the table cells) in a versioned envelope, so scripts can
rely on it; tables are kubectl-style; findings follow the tables. Results go to `out` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Callable, Mapping, Sequence, TextIO

from kubectl_datadog.model import Finding
from kubectl_datadog.output.humanize import NONE, rfc3339

_encode_str = json.encoder.encode_basestring  # json.dumps's own (C) string encoder for ensure_ascii=False
_INF = float("inf")

API_VERSION = "kubectl-datadog/v1alpha1"
FORMATS = ("table", "wide", "json", "yaml")
JUNIT = "junit"  # only views with test_cases offer it (doctor)


@dataclass(frozen=True)
class Column:
    header: str  # UPPERCASE, kubectl style
    value: Callable[[Any], object]
    wide: bool = False  # only with -o wide


@dataclass(frozen=True)
class Table:
    columns: Sequence[Column]
    rows: Sequence[Any]
    title: str = ""  # printed above the table when it is not the first section
    wide_only: bool = False


@dataclass(frozen=True)
class Text:
    """A preformatted block (e.g. hpa-explain's arithmetic), printed as is in table/wide mode."""

    text: str
    wide_only: bool = False


@dataclass(frozen=True)
class TestCase:
    """One check as CI systems show it (-o junit): a suite (the area), a name (the object), and its
    failure, or why it was skipped; `output` holds what passed but is worth reading (INFO findings)."""

    suite: str
    name: str
    failure: str = ""  # one line; "" when the check passed
    failure_type: str = ""  # the worst severity
    details: str = ""
    skipped: str = ""
    output: str = ""


@dataclass(frozen=True)
class View:
    kind: str  # the json/yaml `kind`, e.g. "LeaderReport"
    data: dict[str, Any]  # everything behind the tables, for json/yaml
    sections: Sequence[Table | Text]
    findings: Sequence[Finding] = ()
    empty_message: str = ""  # stderr, when every table is empty (kubectl: "No resources found ...")
    metadata: dict[str, Any] = field(default_factory=dict)
    # Formats of this view's own (metamap's dca-text): the text on stdout, each finding a warning on stderr.
    own_formats: Mapping[str, Callable[[], str]] = field(default_factory=dict)
    # Findings printed in titled blocks (doctor: one per area) instead of one "Findings:" block;
    # `findings` still holds them all, for json/yaml and the exit code.
    finding_groups: Sequence[tuple[str, Sequence[Finding]]] = ()
    test_cases: Sequence[TestCase] = ()  # -o junit


def to_plain(value: Any) -> Any:
    """Dataclasses, enums, datetimes and tuples to JSON-able values (numbers stay numbers)."""
    # Exact str/int/dict/list first: a report can hold hundreds of thousands of them (metamap)
    # and none has a to_dict; subclasses (str enums...) take the general path below.
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool or kind is float:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): to_plain(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) is str else to_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return to_plain(value.to_dict())
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_plain(v) for v in value]
        return sorted(items) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Enum):
        return value.name.lower() if isinstance(value.value, int) else value.value
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def document(view: View, *, plain_data: bool = True) -> dict[str, Any]:
    """The json/yaml envelope. plain_data=False leaves view.data as the view holds it, for
    json_text(..., convert=to_plain), which converts while it writes (one walk instead of two)."""
    doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": view.kind}
    if view.metadata:
        doc["metadata"] = to_plain(view.metadata)
    doc.update(to_plain(view.data) if plain_data else view.data)
    doc["findings"] = [f.to_dict() for f in view.findings]
    return doc


class _NotPlain(Exception):
    pass


def json_text(doc: Any, convert: Callable[[Any], Any] | None = None) -> str:
    """`json.dumps(doc, indent=2, ensure_ascii=False)`, byte for byte, for documents made of
    dicts with str keys, lists, str, int, finite floats, bools and None; anything else goes to
    json.dumps itself. The standard library only has a C encoder for indent=None: with an indent
    it runs its pure-Python one, ~7 µs per value, which was a quarter of `metamap -o json`'s
    wall time at 100,000 pods. This writer emits the same text with about half the work.

    convert (to_plain): write `convert(doc)` instead, converting only the values that are not
    already plain, as they come (exact dicts with str keys, lists, tuples and scalars are what
    to_plain returns unchanged or rebuilds identically)."""
    parts: list[str] = []
    try:
        _emit(doc, "\n", parts.append, convert)
    except (_NotPlain, RecursionError):
        return json.dumps(convert(doc) if convert else doc, indent=2, ensure_ascii=False)
    return "".join(parts)


def _emit(value: Any, newline: str, add: Callable[[str], object],
          convert: Callable[[Any], Any] | None = None) -> None:
    """Append the JSON text of `value`; `newline` is "\n" plus the current indentation."""
    kind = type(value)
    if kind is str:
        add(_encode_str(value))
    elif kind is dict:
        if not value:
            add("{}")
            return
        if any(type(k) is not str for k in value):
            if convert is None:
                raise _NotPlain
            _emit(convert(value), newline, add)
            return
        inner = newline + "  "
        sep = "{" + inner
        for k, v in value.items():
            if type(v) is str:
                add(sep + _encode_str(k) + ": " + _encode_str(v))
            else:
                add(sep + _encode_str(k) + ": ")
                _emit(v, inner, add, convert)
            sep = "," + inner
        add(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            add("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for v in value:
            if type(v) is str:
                add(sep + _encode_str(v))
            else:
                add(sep)
                _emit(v, inner, add, convert)
            sep = "," + inner
        add(newline + "]")
    elif value is None:
        add("null")
    elif value is True:
        add("true")
    elif value is False:
        add("false")
    elif kind is int:
        add(int.__repr__(value))
    elif kind is float and value == value and value not in (_INF, -_INF):
        add(float.__repr__(value))
    elif convert is not None and kind is not float:
        _emit(convert(value), newline, add)
    else:
        raise _NotPlain


def _cell(value: object) -> str:
    if type(value) is str and value:  # the common case, first: tables can have 400,000 cells
        return value
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) if value else NONE
    return str(value)


def render(view: View, fmt: str, out: TextIO, err: TextIO, *, no_headers: bool = False) -> None:
    if fmt in view.own_formats:
        out.write(view.own_formats[fmt]())
        for f in view.findings:
            err.write(f"warning: {f.code}: {f.subject}: {f.message}\n")
        return
    if fmt == "json":
        out.write(json_text(document(view, plain_data=False), convert=to_plain) + "\n")
        return
    if fmt == JUNIT:
        from kubectl_datadog.output.junit import junit_xml

        out.write(junit_xml(view.kind, view.test_cases))
        return
    if fmt == "yaml":
        import yaml

        out.write(yaml.safe_dump(document(view), sort_keys=False, allow_unicode=True, width=1_000_000))
        return
    from kubectl_datadog.output.table import kubectl_table

    wide = fmt == "wide"
    blocks: list[str] = []
    any_rows = False
    for section in view.sections:
        if section.wide_only and not wide:
            continue
        if isinstance(section, Text):
            if section.text:
                blocks.append(section.text.rstrip("\n"))
            continue
        if not section.rows:
            continue
        any_rows = True
        cols = [c for c in section.columns if wide or not c.wide]
        getters = [c.value for c in cols]
        text = kubectl_table([c.header for c in cols], [[_cell(get(r)) for get in getters] for r in section.rows],
                             no_headers=no_headers)
        if blocks and section.title:
            text = f"{section.title}\n{text}"
        blocks.append(text)
    if view.finding_groups:
        blocks += [findings_text(group, title=f"Findings ({name})", context=view.findings)
                   for name, group in view.finding_groups if group]
    elif view.findings:
        blocks.append(findings_text(view.findings))
    if not any_rows and view.empty_message:
        err.write(view.empty_message + "\n")
    if blocks:
        out.write("\n\n".join(blocks) + "\n")


def _cause_text(code: str, finding: Finding, findings: Sequence[Finding]) -> str:
    """The cause's own message when it is reported (the one about the same object if there are
    several), else just its code."""
    same = [c for c in findings if c.code == code]
    if not same:
        return code
    cause = next((c for c in same if c.subject == finding.subject), same[0])
    return f"{code} ({cause.subject}): {cause.message}"


def findings_text(findings: Sequence[Finding], title: str = "Findings", context: Sequence[Finding] = ()) -> str:
    """`context`: every finding of the report, where a cause named in `findings` is looked up (a
    group's cause may be in another group)."""
    lines = [f"{title}:"]
    for f in findings:
        sev = f.severity.label.upper()
        lines.append(f"  {sev:<8} {f.code}   {f.subject}")
        lines.append(f"           {f.message}")
        for code in f.caused_by:
            lines.append(f"           because {_cause_text(code, f, context or findings)}")
        if f.hint:
            lines.append(f"           Fix:    {f.hint}")
        if f.command:
            lines.append(f"           Verify: {f.command}")
    return "\n".join(lines)
