"""`datadog-cluster-agent status` / `agent status` text: sections and the fields we read."""

from __future__ import annotations

import re
from dataclasses import dataclass


def sections(text: str) -> dict[str, list[str]]:
    """Split status output into {title: body lines}. A section title is a line followed by a line
    of only `=` (the status banner: `====`, title, `====`, or title, `====`)."""
    lines = text.splitlines()
    out: dict[str, list[str]] = {}
    current: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and not set(line.strip()) <= {"="} and nxt.strip() and set(nxt.strip()) <= {"="}:
            current = line.strip()
            out.setdefault(current, [])
            i += 2
            continue
        if current is not None and not (line.strip() and set(line.strip()) <= {"="}):
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


def check_counters(text: str, check: str) -> CheckCounters | None:
    """The counters of one check in the Running Checks / Collector section, e.g. kubernetes_apiserver."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != check and not line.strip().startswith(check + " "):
            continue
        if i + 1 >= len(lines) or not set(lines[i + 1].strip()) <= {"-"} or not lines[i + 1].strip():
            continue
        indent = len(line) - len(line.lstrip())
        values: dict[str, tuple[int | None, int | None]] = {}
        error = ""
        for body in lines[i + 2:]:
            if body.strip() and len(body) - len(body.lstrip()) <= indent:
                break
            key, sep, rest = body.strip().partition(":")
            if sep and key in ("Total Runs", "Events", "Service Checks", "Metrics", "Metric Samples"):
                values[key] = _last_and_total(rest)
            if key in ("Error", "Last Error") and sep:
                error = rest.strip()
        events = values.get("Events", (None, None))
        service_checks = values.get("Service Checks", (None, None))
        return CheckCounters(check, values.get("Total Runs", (None, None))[0], events[0], events[1],
                             service_checks[0], service_checks[1], error)
    return None


def _number(text: str) -> int | None:
    digits = text.replace(",", "").strip()
    return int(digits) if digits.isdigit() else None


def _last_and_total(rest: str) -> tuple[int | None, int | None]:
    """`736` | `0, Total Events: 100` (old) | `Last Run: 0, Total: 100` (current) -> (last, total)."""
    num = r"(\d{1,3}(?:,\d{3})+|\d+)"  # 2,193 is a thousands separator; "0, Total" is a list
    m = re.match(rf"\s*(?:Last Run:\s*)?{num}\s*(?:,\s*Total[^:]*:\s*{num})?", rest)
    if not m:
        return None, None
    return _number(m.group(1)), _number(m.group(2) or "")
