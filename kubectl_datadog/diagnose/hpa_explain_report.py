"""hpa-explain's report: the chain's links, the HPA controller's arithmetic, and the explained
conditions and events, per metric and per HPA; the helpers every stage uses to word its findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.install import Install
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.hpa_explain import ExternalMetric, Hpa, HpaSnapshot, LiveValue
from kubectl_datadog.textformats.hpa_messages import Explanation

TOLERANCE = 0.1  # kube-controller-manager --horizontal-pod-autoscaler-tolerance default

# Link states
OK, BROKEN, UNKNOWN, SKIPPED = "ok", "broken", "unknown", "skipped"
# A link after the verdict's that was checked on its own and is broken too: its own problem (keys
# missing, the DatadogMetric's state), reported as its own finding, not a consequence of the verdict.
INDEPENDENT = "independent"


@dataclass(frozen=True)
class Link:
    step: str
    subject: str
    state: str
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"step": self.step, "object": self.subject, "state": self.state, "detail": self.detail}


@dataclass(frozen=True)
class Arithmetic:
    value: float | None
    value_from: str
    target_type: str
    target: float | None
    replicas: int | None
    per_pod: float | None
    ratio: float | None
    within_tolerance: bool | None
    proposal: int | None  # this metric's replica proposal, before min/max

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "valueFrom": self.value_from or None, "targetType": self.target_type,
                "target": self.target, "currentReplicas": self.replicas, "perPod": self.per_pod,
                "ratio": None if self.ratio is None else round(self.ratio, 4), "tolerance": TOLERANCE,
                "withinTolerance": self.within_tolerance, "proposedReplicas": self.proposal}


@dataclass(frozen=True)
class MetricReport:
    metric: ExternalMetric
    links: tuple[Link, ...]
    verdict: str  # the broken link's code, or "ok"
    arithmetic: Arithmetic
    command: str  # the `kubectl get --raw` that shows what the HPA reads
    live: LiveValue | None

    @property
    def broken(self) -> bool:
        return self.verdict != "ok"

    def to_dict(self) -> dict[str, object]:
        return {**self.metric.to_dict(), "verdict": self.verdict, "chain": [lk.to_dict() for lk in self.links],
                "arithmetic": self.arithmetic.to_dict(), "command": self.command,
                "externalMetricsAPI": self.live.to_dict() if self.live else None}


@dataclass(frozen=True)
class Explained:
    """An HPA condition or event with what its text means."""

    kind: str  # condition | event
    type: str  # condition type, or event type (Normal/Warning)
    status: str  # condition status, or the event reason
    reason: str
    message: str
    when: datetime | None
    count: int
    meaning: Explanation | None

    def to_dict(self) -> dict[str, object]:
        base: dict[str, object] = {"type": self.type, "reason": self.reason, "message": self.message,
                                   "meaning": self.meaning.meaning if self.meaning else None,
                                   "next": (self.meaning.next_step or None) if self.meaning else None}
        if self.kind == "condition":
            return {**base, "status": self.status, "lastTransitionTime": self.when}
        return {**base, "count": self.count, "lastTimestamp": self.when}


@dataclass(frozen=True)
class HpaReport:
    hpa: Hpa
    metrics: tuple[MetricReport, ...]
    action: str  # pinned-at-max | pinned-at-min | steady | scale-up | scale-down | cannot-compute | scaling-disabled
    action_text: str
    desired: int | None  # the largest proposal, before min/max
    final: int | None  # after min/max: what the HPA will set
    conditions: tuple[Explained, ...]
    events: tuple[Explained, ...]

    @property
    def verdict(self) -> str:
        return next((m.verdict for m in self.metrics if m.broken), self.action)

    @property
    def lead_metric(self) -> MetricReport:
        """The metric that explains the verdict: the first broken one, else the largest proposal."""
        broken = [m for m in self.metrics if m.broken]
        if broken:
            return broken[0]
        return max(self.metrics, key=lambda m: m.arithmetic.proposal if m.arithmetic.proposal is not None else -1)

    def to_dict(self) -> dict[str, object]:
        h = self.hpa
        return {"namespace": h.namespace, "name": h.name, "apiVersion": h.api_version,
                "scaleTargetRef": h.scale_target, "minReplicas": h.min_replicas, "maxReplicas": h.max_replicas,
                "currentReplicas": h.current_replicas, "statusDesiredReplicas": h.desired_replicas,
                "otherMetrics": list(h.other_metrics), "verdict": self.verdict, "action": self.action,
                "explanation": self.action_text, "proposedReplicas": self.desired, "replicasAfterLimits": self.final,
                "metrics": [m.to_dict() for m in self.metrics],
                "conditions": [c.to_dict() for c in self.conditions], "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class HpaExplainReport:
    hpas: tuple[HpaReport, ...]
    infrastructure: tuple[Link, ...]
    findings: tuple[Finding, ...]
    snapshot: HpaSnapshot

    def to_dict(self) -> dict[str, object]:
        snap = self.snapshot
        return {"install": snap.install.to_dict() if snap.install else None,
                "autoscalingVersion": f"autoscaling/{snap.autoscaling_version}",
                "infrastructure": [lk.to_dict() for lk in self.infrastructure],
                "hpas": [h.to_dict() for h in self.hpas]}


@dataclass
class Walk:
    """What the links found so far: the chain, "could not check" notes, and each broken link's
    finding by code, with its step."""

    links: list[Link] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    candidates: dict[str, tuple[str, Finding]] = field(default_factory=dict)

    def broken(self, step: str, found: Finding) -> None:
        self.candidates[found.code] = (step, found)


def finding(code: str, subject: str, message: str, hint: str, command: str, sev: Severity = Severity.ERROR,
            ) -> Finding:
    return Finding(code, sev, subject, message, hint, command)


def dca_ref(inst: Install | None) -> str:
    if inst is None:
        return "deployment/<none>"
    return f"deployment/{inst.namespace}/{inst.dca_deployment or inst.name}"


def forbidden_note(subject: str, what: str, err_message: str, command: str) -> Finding:
    return forbidden_finding(subject, f"could not check {what}: {err_message}", Severity.INFO,
                             hint="ask for read access to it, or run as a user who has it", command=command)
