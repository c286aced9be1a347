"""admission-explain, the API's own evidence: FailedCreate events of the pods' owners (webhook call
failures, PodSecurity rejections), the namespaces' PodSecurity labels against socket-mode hostPath
injection, and platform hints (GKE, EKS, AKS, Autopilot, OpenShift) where the nodes show them.

Error strings: shared/reference/admission-and-clusterchecks.md A7.1; platforms: A8.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.diagnose.admission_chain import Chain
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.admission import PSA_ENFORCE_LABEL, AdmissionSnapshot, OwnerEvent

POLICY_MARKERS = ("violates PodSecurity", "security context constraint", "denied by autogke",
                  "Privilege escalation container is not allowed")
WEBHOOK_MARKERS = ("failed calling webhook", "Timeout: request did not complete within requested timeout")


@dataclass(frozen=True)
class OwnerFailure:
    """An owner (ReplicaSet, Job, StatefulSet...) whose pod creates failed at admission."""

    kind: str
    namespace: str
    name: str
    verdict: str  # rejected-by-policy | webhook-unreachable | certificate-invalid | webhook-failed
    message: str  # the latest event's message, verbatim
    count: int

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, object]:
        return {"owner": self.ref, "verdict": self.verdict, "message": self.message, "count": self.count}


def classify(message: str, webhook_name: str) -> str:
    """The verdict an owner's FailedCreate message stands for ("" when it is not about admission)."""
    if any(m in message for m in POLICY_MARKERS):
        return "rejected-by-policy"
    ours = webhook_name.replace("-", ".").replace("_", ".")
    about_webhook = any(m in message for m in WEBHOOK_MARKERS)
    if not about_webhook or ("failed calling webhook" in message and ours not in message
                             and "datadog" not in message):
        return ""
    if "x509" in message or "certificate" in message:
        return "certificate-invalid"
    if any(m in message for m in ("context deadline exceeded", "no endpoints available", "connection refused",
                                  "Address is not allowed", "i/o timeout", "not found")):
        return "webhook-unreachable"
    return "webhook-failed"


def owner_failures(events: tuple[OwnerEvent, ...], webhook_name: str) -> tuple[OwnerFailure, ...]:
    latest: dict[tuple[str, str, str], OwnerEvent] = {}
    counts: dict[tuple[str, str, str], int] = {}
    for ev in events:
        if ev.reason != "FailedCreate" or not classify(ev.message, webhook_name):
            continue
        key = (ev.kind, ev.namespace, ev.name)
        counts[key] = counts.get(key, 0) + ev.count
        if key not in latest or (ev.last and latest[key].last and ev.last > latest[key].last):  # type: ignore[operator]
            latest[key] = ev
    return tuple(OwnerFailure(k[0], k[1], k[2], classify(ev.message, webhook_name), ev.message, counts[k])
                 for k, ev in sorted(latest.items()))


def owner_findings(failures: tuple[OwnerFailure, ...], chain: Chain) -> list[Finding]:
    out = []
    for f in failures:
        if f.verdict == "rejected-by-policy":
            hostpath = "hostPath" in f.message or "datadog" in f.message
            out.append(Finding(
                "admission-rejected-by-policy", Severity.ERROR, f.ref,
                f"{f.ref} cannot create pods ({f.count}x): {f.message}",
                ("the injected socket volume is a hostPath: use hostip/service/csi mode, or label the pods "
                 "admission.datadoghq.com/config.mode=hostip" if hostpath else
                 "give the injected init containers a securityContext "
                 "(DD_ADMISSION_CONTROLLER_AUTO_INSTRUMENTATION_INIT_SECURITY_CONTEXT)"),
                f"kubectl -n {f.namespace} describe {f.kind.lower()} {f.name}"))
            continue
        cause = {"certificate-invalid": chain.certificate_because,
                 "webhook-unreachable": chain.unreachable_because}.get(f.verdict, "")
        out.append(Finding(
            "admission-owner-create-failed", Severity.ERROR, f.ref,
            f"{f.ref} cannot create pods ({f.count}x): {f.message}",
            "the webhook has failurePolicy Fail and the API server cannot call it: fix the cause above, or set the "
            "failure policy to Ignore", f"kubectl -n {f.namespace} get events --field-selector "
            f"involvedObject.name={f.name},reason=FailedCreate", (cause,) if cause else ()))
    return out


def psa_findings(snap: AdmissionSnapshot, socket_namespaces: dict[str, int]) -> list[Finding]:
    """Namespaces whose PodSecurity level rejects the hostPath volume socket mode injects."""
    out = []
    for ns, count in sorted(socket_namespaces.items()):
        info = snap.namespaces.get(ns)
        level = (info.labels.get(PSA_ENFORCE_LABEL, "") if info else "")
        if level in ("baseline", "restricted"):
            out.append(Finding(
                "admission-psa-hostpath", Severity.WARNING, f"namespace/{ns}",
                f"namespace {ns} enforces PodSecurity {level!r}, and the webhook injects a hostPath volume into "
                f"its {count} selected pod(s) (socket mode): new pods are rejected (`violates PodSecurity "
                f"\"{level}:latest\": hostPath volumes`)",
                "use hostip, service or csi mode there (label the pods admission.datadoghq.com/config.mode=hostip)",
                f"kubectl get namespace {ns} --show-labels"))
    return out


def platform_findings(snap: AdmissionSnapshot, chain: Chain, unexplained: int, socket_pods: int) -> list[Finding]:
    out = []
    port = chain.settings.port if chain.settings else 8000
    hints = []
    if "gke" in snap.platform:
        hints.append(f"GKE: a private cluster's firewall must allow the control plane to reach the nodes on TCP {port}")
    if "eks" in snap.platform:
        hints.append(f"EKS: allow TCP {port} from the cluster security group; with a custom CNI (Calico, Cilium "
                     "overlay) the control plane cannot reach pod IPs: run the Cluster Agent with hostNetwork")
    if "aks" in snap.platform and chain.settings is not None and not chain.settings.add_aks_selectors:
        hints.append("AKS: set providers.aks.enabled (DD_ADMISSION_CONTROLLER_ADD_AKS_SELECTORS), or the AKS "
                     "admissions enforcer and the Cluster Agent keep rewriting the webhook")
    if unexplained and not hints:
        hints.append(f"make sure the API server can reach the Cluster Agent pods on TCP {port}")
    if unexplained:
        out.append(Finding("admission-platform-hint", Severity.INFO, "cluster",
                           f"{unexplained} selected pod(s) are not mutated with no visible cause; " + "; ".join(hints),
                           "after fixing, recreate the pods (admission acts only at creation)", ""))
    strict = [p for p in snap.platform if p in ("gke-autopilot", "openshift")]
    if strict and socket_pods:
        out.append(Finding("admission-socket-mode-platform", Severity.WARNING, "cluster",
                           f"{strict[0]} rejects the hostPath volume that socket mode injects into {socket_pods} "
                           "selected pod(s)", "use hostip mode (Helm does so with providers.gke.autopilot)", ""))
    return out
