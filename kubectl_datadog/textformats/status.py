"""`datadog-cluster-agent status` / `agent status` text: sections and the fields we read.

Real releases print this text from Go templates that changed over the years (the fixture corpus in
tests/statusfixtures/ renders them): DCA 1.0-1.5 and Agent 6.x used html/template, which escapes
quotes in values (`configmaps &#34;x&#34; is forbidden`); sections are framed with `====` lines, or
with `====` under an indented title; counters are `2,193` or, in the 1.x era, `1.2 M`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_ESCAPED = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot|apos);")


def plain_text(text: str) -> str:
    """The status text with html/template's escapes undone (`&#34;` -> `"`, `&#43;` -> `+`); text/template
    output, which never contains such entities, is returned as it is."""
    return html.unescape(text) if _ESCAPED.search(text) else text


def _rule(line: str) -> bool:
    s = line.strip()
    return bool(s) and set(s) <= {"="}


def sections(text: str) -> dict[str, list[str]]:
    """Split status output into {title: body lines}. A section title is a line followed by a line
    of only `=` (the status banner: `====`, title, `====`, or title, `====`). The 6.x Agent's
    "Datadog Cluster Agent" template glued its first line to the closing `====`: that rest is the
    section's first body line."""
    lines = plain_text(text).splitlines()
    out: dict[str, list[str]] = {}
    current: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        title = line.strip()
        if title and not _rule(line) and nxt.strip():
            if _rule(nxt):
                current = title
                out.setdefault(current, [])
                i += 2
                continue
            bar = "=" * len(title)
            if len(title) > 3 and nxt.startswith(bar) and nxt[len(bar):].strip() and nxt[len(bar)] != "=":
                current = title
                out.setdefault(current, []).append(nxt[len(bar):])
                i += 2
                continue
        if current is not None and not _rule(line):
            out[current].append(line)
        i += 1
    return out


@dataclass(frozen=True)
class LeaderElectionStatus:
    status: str  # Running | Failing | "" (section missing)
    leader: str = ""
    acquired: str = ""
    renewed: str = ""
    transitions: int | None = None
    error: str = ""


def leader_election(text: str) -> LeaderElectionStatus | None:
    body = sections(text).get("Leader Election")
    if body is None:
        return None
    fields: dict[str, str] = {}
    for line in body:
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    transitions = None
    m = re.match(r"(\d+)", fields.get("Number of leader transitions", ""))
    if m:
        transitions = int(m.group(1))
    return LeaderElectionStatus(
        status=fields.get("Leader Election Status", ""), leader=fields.get("Leader Name is", ""),
        acquired=fields.get("Last Acquisition of the lease", ""), renewed=fields.get("Renewed leadership", ""),
        transitions=transitions, error=fields.get("Error", ""))


@dataclass(frozen=True)
class CheckCounters:
    name: str
    total_runs: int | None = None
    events: int | None = None
    total_events: int | None = None
    service_checks: int | None = None
    total_service_checks: int | None = None
    last_error: str = ""
    state: str = "running"  # running | not-loaded (listed only under Loading Errors and the like)
    load_error: str = ""  # e.g. "Core Check Loader: Could not configure check kubernetes_apiserver: ..."


# Collector subsections that list a check which never got scheduled, with the reason.
_NOT_LOADED_SECTIONS = ("Loading Errors", "Check Initialization Errors", "Config Errors")
_COUNTERS = ("Total Runs", "Events", "Service Checks", "Metrics", "Metric Samples")


def _check_block(body: list[str], check: str) -> list[str] | None:
    """The lines under `check`'s name-and-dashes heading in a collector subsection, or None."""
    for i, line in enumerate(body):
        name = line.strip()
        if name != check and not name.startswith(check + " ("):
            continue
        if i + 1 >= len(body) or not body[i + 1].strip() or set(body[i + 1].strip()) - {"-"}:
            continue
        indent = len(line) - len(line.lstrip())
        block = []
        for text in body[i + 2:]:
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            block.append(text)
        return block
    return None


def check_counters(text: str, check: str) -> CheckCounters | None:
    """One check of the collector section (e.g. kubernetes_apiserver): its counters when it is under
    Running Checks, or state "not-loaded" with the loader's error when it is only under Loading
    Errors (both subsections give a check the same name-and-dashes heading); None when absent."""
    parts = sections(text)
    block = _check_block(parts.get("Running Checks", []), check)
    if block is not None:
        values: dict[str, tuple[int | None, int | None]] = {}
        error = ""
        for body in block:
            key, sep, rest = body.strip().partition(":")
            if sep and key in _COUNTERS:
                values[key] = _last_and_total(rest)
            if key in ("Error", "Last Error") and sep:
                error = rest.strip()
        events = values.get("Events", (None, None))
        service_checks = values.get("Service Checks", (None, None))
        return CheckCounters(check, values.get("Total Runs", (None, None))[0], events[0], events[1],
                             service_checks[0], service_checks[1], error)
    for title in _NOT_LOADED_SECTIONS:
        block = _check_block(parts.get(title, []), check)
        if block is not None:
            reason = " ".join(line.strip() for line in block if line.strip())
            return CheckCounters(check, state="not-loaded", load_error=reason or f"listed under {title}")
    return None


_SI = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
# `2,193` (thousands), `1.2 M` / `1.2M` (1.x-era humanize), `over 1M` (the oldest era's lower bound)
_NUM = r"(?:over\s+)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?[kKMGTP](?![A-Za-z]))?"


def _number(text: str) -> int | None:
    m = re.fullmatch(r"(?:over\s+)?([\d,]+(?:\.\d+)?)\s?([kKMGTP]?)", text.strip())
    if not m:
        return None
    return round(float(m.group(1).replace(",", "")) * _SI[m.group(2)])


def _last_and_total(rest: str) -> tuple[int | None, int | None]:
    """`736` | `0, Total Events: 100` (old) | `Last Run: 0, Total: 100` (current) | `Last Run: 3, Total:
    1.2 M` (1.x) -> (last, total). "2,193" is a thousands separator; "0, Total" is a list."""
    m = re.match(rf"\s*(?:Last Run:\s*)?({_NUM})\s*(?:,\s*Total[^:]*:\s*({_NUM}))?", rest)
    if not m:
        return None, None
    return _number(m.group(1)), _number(m.group(2) or "")
