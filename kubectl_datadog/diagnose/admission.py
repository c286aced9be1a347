"""admission-explain: the install's chain, each pod's verdict, the owners' evidence, as one report.

Pod findings are grouped by workload (a Deployment's 300 pods created before the webhook are one
finding naming a few of them), so the findings stay readable on a namespace of thousands of pods.
Each names the chain finding it follows from (`caused_by`), so the root cause is printed first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from kubectl_datadog.diagnose.admission_chain import Chain, explain_chain
from kubectl_datadog.diagnose.admission_evidence import (
    OwnerFailure,
    owner_failures,
    owner_findings,
    platform_findings,
    psa_findings,
)
from kubectl_datadog.diagnose.admission_pods import PodVerdict, judge_pod
from kubectl_datadog.diagnose.admission_step import ChainStep
from kubectl_datadog.diagnose.discovery import discovery_findings
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, Severity, sort_findings
from kubectl_datadog.snapshots.admission import AdmissionSnapshot, AppPod

VERDICTS = ("mutated", "injection-partial", "admission-disabled", "webhook-missing", "not-selected",
            "ssi-not-targeted", "created-before-webhook", "created-while-dca-unavailable", "certificate-invalid",
            "webhook-unreachable", "not-mutated", "unknown")
OWNER_VERDICTS = ("rejected-by-policy", "webhook-unreachable", "certificate-invalid", "webhook-failed")
NAMED_IN_FINDING = 3  # pods named in a grouped finding
POD_TEMPLATE_HASH = "pod-template-hash"  # the Deployment controller's label: its ReplicaSet's name suffix


def workload(pod: AppPod) -> tuple[str, str]:
    """(kind, name) of what recreates the pod: a ReplicaSet's Deployment, else the owner itself."""
    if pod.owner_kind == "ReplicaSet":
        hash_ = pod.labels.get(POD_TEMPLATE_HASH)
        if hash_ and pod.owner_name.endswith("-" + hash_):
            return "deployment", pod.owner_name[: -len(hash_) - 1]
        return "deployment", re.sub(r"-[a-z0-9]{5,10}$", "", pod.owner_name)
    if pod.owner_kind:
        return pod.owner_kind.lower(), pod.owner_name
    return "pod", pod.name


def recreate_command(pod: AppPod) -> str:
    kind, name = workload(pod)
    if kind in ("deployment", "statefulset", "daemonset"):
        return f"kubectl -n {pod.namespace} rollout restart {kind}/{name}"
    if kind == "pod":
        return f"kubectl -n {pod.namespace} delete pod {pod.name}   # then create it again"
    return f"kubectl -n {pod.namespace} delete pod {pod.name}   # its {kind} creates a new one"


@dataclass(frozen=True)
class AdmissionReport:
    namespace: str | None
    pod_name: str | None
    chain: Chain
    rows: tuple[PodVerdict, ...]
    owners: tuple[OwnerFailure, ...]
    findings: tuple[Finding, ...]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        return {v: counts[v] for v in VERDICTS if v in counts}

    def summary_line(self) -> str:
        parts = [f"{n} {v}" for v, n in self.summary().items()]
        if self.owners:
            parts.append(f"{len(self.owners)} owner(s) failing to create pods")
        return f"{len(self.rows)} pod(s): " + (", ".join(parts) if parts else "none")

    def to_dict(self) -> dict[str, object]:
        s = self.chain.settings
        return {
            "namespace": self.namespace, "pod": self.pod_name,
            "install": self.chain.install_ref or None, "settings": s.to_dict() if s else None,
            "chain": [step.to_dict() for step in self.chain.steps],
            "summary": self.summary(),
            "pods": [_row_dict(r) for r in self.rows],
            "owners": [o.to_dict() for o in self.owners],
        }


def _row_dict(r: PodVerdict) -> dict[str, object]:
    p = r.pod
    return {"namespace": p.namespace, "name": p.name, "owner": p.owner or None,
            "created": p.created, "mode": r.mode or None, "mutated": r.mutated,
            "verdict": r.verdict, "reason": r.reason, "webhooks": [c.to_dict() for c in r.calls],
            "injections": [i.to_dict() for i in r.injections], "notes": list(r.notes)}


_POD_FINDINGS = {
    # verdict: (code, severity, what happened, hint)
    "created-before-webhook": ("admission-created-before-webhook", Severity.WARNING,
                               "created before the webhook existed, so never mutated (admission acts only at creation)",
                               "recreate the pods"),
    "created-while-dca-unavailable": ("admission-created-while-dca-unavailable", Severity.WARNING,
                                      "created while no running Cluster Agent was Ready; with failurePolicy Ignore "
                                      "they were admitted unmutated", "recreate the pods"),
    "injection-partial": ("admission-injection-partial", Severity.WARNING, "only partly mutated",
                          "see `kubectl datadog admission-explain POD` for what is missing; recreate the pods"),
    "not-mutated": ("admission-not-mutated", Severity.WARNING,
                    "selected by the webhook yet not mutated, and nothing the API shows explains it (the API "
                    "server probably could not reach the webhook, and failurePolicy Ignore let them in)",
                    "check the network path from the control plane to the Cluster Agent on its admission port"),
    "certificate-invalid": ("admission-pods-unmutated", Severity.WARNING,
                            "not mutated: the API server cannot verify the webhook's certificate",
                            "fix the certificate (the finding above), then recreate the pods"),
    "webhook-unreachable": ("admission-pods-unmutated", Severity.WARNING,
                            "not mutated: the API server cannot reach the webhook",
                            "fix the cause (the finding above), then recreate the pods"),
    "not-selected": ("admission-not-selected", Severity.INFO, "not selected by the Datadog webhooks",
                     "label the pod template admission.datadoghq.com/enabled=\"true\", or turn on mutateUnlabelled"),
    "ssi-not-targeted": ("admission-ssi-not-targeted", Severity.INFO, "outside Single Step Instrumentation's targets",
                         "add the namespace to the SSI targets (or label the pods admission.datadoghq.com/enabled=true)"),
}


def _pod_findings(rows: tuple[PodVerdict, ...], chain: Chain, single: bool) -> list[Finding]:
    groups: dict[tuple[str, str, str, str], list[PodVerdict]] = {}
    for r in rows:
        if r.verdict not in _POD_FINDINGS:
            continue
        if r.verdict in ("not-selected", "ssi-not-targeted") and not single:
            key = (r.verdict, r.pod.namespace, "namespace", r.pod.namespace)  # expected config: one line a namespace
        else:
            key = (r.verdict, r.pod.namespace, *workload(r.pod))
        groups.setdefault(key, []).append(r)
    out = []
    for (verdict, ns, kind, name), members in sorted(groups.items()):
        code, severity, what, hint = _POD_FINDINGS[verdict]
        names = ", ".join(m.pod.name for m in members[:NAMED_IN_FINDING])
        more = f" and {len(members) - NAMED_IN_FINDING} more" if len(members) > NAMED_IN_FINDING else ""
        subject = f"namespace/{ns}" if kind == "namespace" else f"{kind}/{ns}/{name}"
        reason = members[0].reason
        cause = {"certificate-invalid": chain.certificate_because,
                 "webhook-unreachable": chain.unreachable_because}.get(verdict, "")
        first = members[0].pod
        if verdict in ("not-selected", "ssi-not-targeted"):
            command = f"kubectl -n {ns} get pod {first.name} --show-labels"
        else:
            hint = f"{hint}: {recreate_command(first)}"
            command = f"kubectl datadog admission-explain {first.name} -n {ns}"
        detail = f" ({reason})" if verdict in ("injection-partial", "not-selected", "ssi-not-targeted") else ""
        out.append(Finding(code, severity, subject, f"{len(members)} pod(s) {what}: {names}{more}{detail}", hint,
                           command, (cause,) if cause else ()))
    return out


def explain(snap: AdmissionSnapshot, now: datetime) -> AdmissionReport:
    chain = explain_chain(snap, now)
    findings: list[Finding] = [*chain.findings, *discovery_findings([snap.install])]
    if snap.namespaces_error is not None and snap.namespaces_error.kind == "forbidden":
        findings.append(forbidden_finding("namespaces", "cannot read the namespaces' labels: whether each "
                                          "webhook's namespaceSelector takes a pod is unknown", Severity.WARNING,
                                          verb="list", resource="namespaces"))
    if snap.events_error is not None and snap.events_error.kind == "forbidden":
        findings.append(forbidden_finding("events", "cannot read events: failed pod creates are not shown",
                                          Severity.INFO, verb="list", resource="events", namespace=snap.namespace))
    rows = tuple(judge_pod(p, chain, snap.namespaces[p.namespace].labels if p.namespace in snap.namespaces else None)
                 for p in snap.pods)
    findings += _pod_findings(rows, chain, single=snap.pod_name is not None)
    webhook_name = chain.settings.webhook_name if chain.settings else "datadog-webhook"
    owners = owner_failures(snap.events, webhook_name)
    if snap.pod_name and rows:
        kind, name = rows[0].pod.owner_kind, rows[0].pod.owner_name
        owners = tuple(o for o in owners if o.kind == kind and o.name == name)
    findings += owner_findings(owners, chain)
    socket: dict[str, int] = {}
    for r in rows:
        config = next((i for i in r.injections if i.role == "config"), None)
        if r.mode == "socket" and config is not None and config.expected:
            socket[r.pod.namespace] = socket.get(r.pod.namespace, 0) + 1
    findings += psa_findings(snap, socket)
    unexplained = sum(1 for r in rows if r.verdict == "not-mutated")
    findings += platform_findings(snap, chain, unexplained, sum(socket.values()))
    return AdmissionReport(snap.namespace, snap.pod_name, chain, rows, owners, sort_findings(findings))


__all__ = ["VERDICTS", "AdmissionReport", "ChainStep", "explain"]
