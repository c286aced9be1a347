"""doctor's report: each area's findings, what it checked and what it could not, the score. Pure.

An area is one command's diagnosis (leader, env-check, hpa-explain, metamap) or one of doctor's own
checks; each gives an AreaResult. A check is one object an area judged (a lock, an Agent's
DaemonSet, an HPA, a pod's workload): it passes when no finding about it is a warning or an error.

Score (docs/doctor.md): each check counts 1 when its worst finding is at most INFO, 0.5 when it is
a WARNING and 0 when it is an ERROR; an area's score and the overall score are 100 x the sum over
the checks / the number of checks, rounded down. Checks that could not run are listed apart and do
not count either way (a permission we lack is not a fault of the install).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable, Mapping

from kubectl_datadog.diagnose.forbidden import CODE as RBAC_FORBIDDEN
from kubectl_datadog.errors import Forbidden, PluginError
from kubectl_datadog.model import Finding, Severity, sort_findings, worst

RESERVED_KEYS = frozenset({"area", "summary", "score", "checks", "findings", "ignored", "notChecked"})
POINTS = {Severity.OK: 1.0, Severity.INFO: 1.0, Severity.WARNING: 0.5, Severity.ERROR: 0.0}


@dataclass(frozen=True)
class Unchecked:
    """Something an area could not check, and the permission (or flag) that would let it."""

    area: str
    what: str
    permission: str  # "get secrets in datadog", "create pods/exec", "--no-exec was given"...
    command: str = ""  # how to check the permission (kubectl auth can-i ...)

    def to_dict(self) -> dict[str, object]:
        return {"area": self.area, "what": self.what, "needs": self.permission, "command": self.command or None}


@dataclass(frozen=True)
class Check:
    area: str
    subject: str
    findings: tuple[Finding, ...]

    @property
    def severity(self) -> Severity:
        return worst(self.findings)

    @property
    def points(self) -> float:
        return POINTS[self.severity]


@dataclass(frozen=True)
class AreaResult:
    area: str
    summary: str  # the area's own one line: "verdict healthy", "3 HPAs: 2 ok, 1 broken"
    findings: tuple[Finding, ...] = ()
    checked: tuple[str, ...] = ()  # subjects judged; findings' subjects are added
    unchecked: tuple[Unchecked, ...] = ()
    ignored: tuple[Finding, ...] = ()
    data: Mapping[str, object] = field(default_factory=dict)

    @cached_property
    def checks(self) -> tuple[Check, ...]:
        # An ignored finding's object was still checked: it passes.
        by_subject: dict[str, list[Finding]] = {s: [] for s in self.checked}
        for f in self.ignored:
            by_subject.setdefault(f.subject, [])
        for f in self.findings:
            by_subject.setdefault(f.subject, []).append(f)
        return tuple(Check(self.area, s, tuple(fs)) for s, fs in by_subject.items())

    @cached_property
    def score(self) -> int | None:
        return score(self.checks)

    def summary_line(self) -> str:
        counts = {sev: sum(f.severity == sev for f in self.findings) for sev in Severity}
        checks = self.checks
        passed = sum(c.severity < Severity.WARNING for c in checks)
        head = (f"{self.area}: {passed}/{len(checks)} checks passed, {counts[Severity.ERROR]} error(s), "
                f"{counts[Severity.WARNING]} warning(s)")
        if self.score is not None:
            head += f", score {self.score}"
        if self.unchecked:
            head += f", {len(self.unchecked)} not checked"
        if self.ignored:
            head += f", {len(self.ignored)} ignored"
        return head + (f" ({self.summary})" if self.summary else "")

    def to_dict(self) -> dict[str, object]:
        return {"area": self.area, "summary": self.summary, "score": self.score,
                "checks": [{"object": c.subject, "result": c.severity.label} for c in self.checks],
                "findings": [f.to_dict() for f in self.findings], "ignored": [f.code for f in self.ignored],
                "notChecked": [u.to_dict() for u in self.unchecked], **dict(self.data)}


def score(checks: Iterable[Check]) -> int | None:
    items = list(checks)
    if not items:
        return None
    return int(100 * sum(c.points for c in items) // len(items))


def needed_permission(command: str) -> str:
    """`kubectl auth can-i create pods/exec -n datadog` -> `create pods/exec in datadog` ("" otherwise)."""
    words = command.split()
    if words[:3] != ["kubectl", "auth", "can-i"] or len(words) < 5:
        return ""
    verb, resource, rest = words[3], words[4], words[5:]
    ns = rest[rest.index("-n") + 1] if "-n" in rest[:-1] else ""
    return f"{verb} {resource}" + (f" in {ns}" if ns else "")


def _unchecked_of(area: str, f: Finding) -> Unchecked:
    permission = needed_permission(f.command) or (f.hint.removeprefix("ask for ") if f.hint.startswith("ask for ")
                                                  else f.hint)
    return Unchecked(area, f.message, permission, f.command)


def exec_unchecked(area: str, what: str, pod: str) -> Unchecked:
    """`what` needs an exec into `pod` (namespace/name) that we may not make."""
    ns = pod.split("/", 1)[0]
    return Unchecked(area, what, f"create pods/exec in {ns}", f"kubectl auth can-i create pods/exec -n {ns}")


def area_result(area: str, findings: Iterable[Finding], *, summary: str = "", checked: Iterable[str] = (),
                unchecked: Iterable[Unchecked] = (), data: Mapping[str, object] | None = None,
                ignore: frozenset[str] = frozenset()) -> AreaResult:
    """An area's result. Its `rbac-forbidden` findings become what it could not check (doctor lists
    them apart, with the permission, instead of counting a missing permission against the install);
    findings whose code the user ignores are kept aside."""
    clash = set(data or {}) & RESERVED_KEYS
    if clash:
        raise ValueError(f"area data may not use the report's own keys: {sorted(clash)}")
    items = list(findings)
    missing = [_unchecked_of(area, f) for f in items if f.code == RBAC_FORBIDDEN]
    kept = [f for f in items if f.code != RBAC_FORBIDDEN]
    return AreaResult(area, summary, sort_findings([f for f in kept if f.code not in ignore]), tuple(checked),
                      (*unchecked, *missing), tuple(f for f in kept if f.code in ignore), dict(data or {}))


def failed_area(area: str, error: PluginError) -> AreaResult:
    """An area whose collection could not run at all: nothing judged, one thing not checked."""
    if isinstance(error, Forbidden):
        where = f" in {error.namespace}" if error.namespace else ""
        permission = f"{error.verb} {error.resource}{where}"
        command = f"kubectl auth can-i {error.verb} {error.resource}" + (f" -n {error.namespace}" if error.namespace else "")
    else:
        permission, command = error.hint or "", ""
    return AreaResult(area, "not run", unchecked=(Unchecked(area, f"the whole area: {error.message}", permission,
                                                            command),))


def skipped_area(area: str, why: str, needs: str) -> AreaResult:
    return AreaResult(area, "not run", unchecked=(Unchecked(area, f"the whole area: {why}", needs),))


# What the other areas report when no Cluster Agent replica serves (leader's holder not Ready, the
# lock left stale, the Agents' and the API server's calls unanswered, no map to read).
DCA_DOWN_CAUSES = ("pod-crash-looping", "pod-image-pull-failing", "pod-unschedulable", "pod-failed")
DCA_DOWN_SYMPTOMS = frozenset({
    "leader-stale", "leader-holder-not-ready", "leader-no-holder", "agent-dca-unreachable", "agent-dca-retrying",
    "dca-not-ready", "apiservice-unavailable", "service-no-endpoints", "external-metrics-unavailable",
    "dca-metamap-unavailable"})


# Findings of the other areas about a workload that is not Ready, whose pods doctor sees failing.
SAME_WORKLOAD_SYMPTOMS = frozenset({"clusterchecks-runners-not-ready"})


def link_pod_causes(areas: tuple[AreaResult, ...], dca_down: tuple[str, ...]) -> tuple[AreaResult, ...]:
    """Name the pod findings as the cause of what follows from them in the other areas: a workload's
    not-Ready finding (same object), and, when the only install's Cluster Agent has no Ready
    replica, what its absence causes (link_dca_down)."""
    failing: dict[str, tuple[str, ...]] = {}
    for a in areas:
        for f in a.findings:
            if f.code in DCA_DOWN_CAUSES:
                failing[f.subject] = tuple(dict.fromkeys((*failing.get(f.subject, ()), f.code)))
    linked = tuple(replace(a, findings=sort_findings([
        replace(f, caused_by=tuple(dict.fromkeys((*f.caused_by, *failing[f.subject]))))
        if f.code in SAME_WORKLOAD_SYMPTOMS and f.subject in failing else f
        for f in a.findings])) for a in areas)
    return link_dca_down(linked, dca_down)


def link_dca_down(areas: tuple[AreaResult, ...], dca_down: tuple[str, ...]) -> tuple[AreaResult, ...]:
    """Name the pod findings that keep the only install's Cluster Agent from serving (`dca_down`:
    its Deployment, when none of its replicas is Ready) as the cause of the other areas' findings
    that follow from it, so the report leads with the pods. Only with one such Deployment: with
    several installs a symptom cannot be tied to one of them."""
    if len(dca_down) != 1:
        return areas
    causes = tuple(dict.fromkeys(f.code for a in areas for f in a.findings
                                 if f.subject == dca_down[0] and f.code in DCA_DOWN_CAUSES))
    if not causes:
        return areas
    return tuple(replace(a, findings=sort_findings([
        replace(f, caused_by=tuple(dict.fromkeys((*f.caused_by, *causes)))) if f.code in DCA_DOWN_SYMPTOMS else f
        for f in a.findings])) for a in areas)


@dataclass(frozen=True)
class DoctorReport:
    areas: tuple[AreaResult, ...]
    installs: tuple[str, ...]  # labels of the installs found

    @cached_property
    def findings(self) -> tuple[Finding, ...]:
        """Every area's findings, root cause first across areas."""
        return sort_findings([f for a in self.areas for f in a.findings])

    @cached_property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for a in self.areas for c in a.checks)

    @cached_property
    def score(self) -> int | None:
        return score(self.checks)

    @property
    def unchecked(self) -> tuple[Unchecked, ...]:
        return tuple(u for a in self.areas for u in a.unchecked)

    def summary_line(self) -> str:
        checks = self.checks
        passed = sum(c.severity < Severity.WARNING for c in checks)
        errors = sum(f.severity == Severity.ERROR for f in self.findings)
        warnings = sum(f.severity == Severity.WARNING for f in self.findings)
        text = (f"Score {self.score if self.score is not None else '-'}/100: {passed}/{len(checks)} checks passed "
                f"in {len(self.areas)} areas, {errors} error(s), {warnings} warning(s)")
        if self.unchecked:
            text += f"; {len(self.unchecked)} thing(s) could not be checked (see NOT CHECKED)"
        return text + "."

    def to_dict(self) -> dict[str, object]:
        return {"installs": list(self.installs), "score": self.score,
                "summary": {"checks": len(self.checks),
                            "passed": sum(c.severity < Severity.WARNING for c in self.checks),
                            "notChecked": len(self.unchecked)},
                "areas": [a.to_dict() for a in self.areas],
                "notChecked": [u.to_dict() for u in self.unchecked]}


def with_ignored(result: AreaResult, ignore: frozenset[str]) -> AreaResult:
    """Apply --ignore to a result built without it."""
    if not ignore:
        return result
    return replace(result, findings=tuple(f for f in result.findings if f.code not in ignore),
                   ignored=(*result.ignored, *(f for f in result.findings if f.code in ignore)))
