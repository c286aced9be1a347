"""hpa-explain's Cluster Agent link: its pods are ready, its external metrics provider is on, it has
an API and an application key, and a replica leads. Pure."""

from __future__ import annotations

from datetime import datetime

from kubectl_datadog.diagnose.hpa_explain_report import (
    BROKEN,
    OK,
    UNKNOWN,
    Link,
    Walk,
    dca_ref,
    finding,
    forbidden_note,
)
from kubectl_datadog.diagnose.leftovers import leftovers_finding
from kubectl_datadog.diagnose.settings import unknown_setting_findings
from kubectl_datadog.install import DcaSettings, Install
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.objects import Pod
from kubectl_datadog.output.humanize import ago
from kubectl_datadog.snapshots.hpa_explain import HpaSnapshot


def serving_pods(inst: Install | None) -> list[Pod]:
    return [p for p in (inst.dca_pods if inst else ()) if p.ready and p.phase == "Running" and not p.deleting]


def dca_link(snap: HpaSnapshot, svc_ns: str, now: datetime, walk: Walk) -> None:
    """The Cluster Agent: pods ready, provider enabled, keys present, a leader."""
    inst = snap.install
    subject = dca_ref(inst)
    if inst is None or not inst.dca_pods:
        if snap.install_error:
            walk.links.append(Link("cluster-agent", subject, UNKNOWN, snap.install_error))
            walk.notes.append(forbidden_note("namespace/" + (svc_ns or "<all>"), "the Cluster Agent pods",
                                             snap.install_error, "kubectl auth can-i list pods -A"))
            return
        walk.links.append(Link("cluster-agent", subject, BROKEN, "no Cluster Agent pod found"))
        if snap.leftovers:
            walk.broken("cluster-agent", leftovers_finding(
                snap.leftovers, snap.install_scope, "nothing serves the external metrics", Severity.ERROR))
        walk.broken("cluster-agent", finding(
            "dca-not-found", f"namespace/{svc_ns or 'datadog'}",
            "no Cluster Agent pod was found: nothing serves the external metrics",
            "deploy the Cluster Agent with its external metrics provider, or pass --dca-selector if it is "
            "labelled differently", "kubectl get pods -A -l app.kubernetes.io/component=cluster-agent"))
        return
    s = inst.settings
    assert s is not None
    ready_pods = serving_pods(inst)
    details = [f"{len(ready_pods)}/{len(inst.dca_pods)} pods ready"]
    before = len(walk.candidates)
    if not ready_pods:
        bad = inst.dca_pods[0]
        states = ", ".join(sorted({_pod_state(p) for p in inst.dca_pods}))
        walk.broken("cluster-agent", finding(
            "dca-not-ready", subject,
            f"no Cluster Agent pod is ready ({states}): the metrics Service has no endpoints and the HPA gets "
            "\"the server is currently unable to handle the request\"",
            "find out why the Cluster Agent does not start or pass its readiness probe",
            f"kubectl -n {bad.namespace} describe pod {bad.name}"))
    details.append(_provider(inst, s, subject, walk))
    details += _keys(snap, inst, subject, walk)
    details += _rbac(snap, inst, walk)
    if s.leader_election:
        details.append(_leader(snap, inst, s, subject, now, walk))
    broken_here = len(walk.candidates) > before  # each check above adds its own code when it fails
    walk.links.append(Link("cluster-agent", subject, BROKEN if broken_here else OK,
                           ", ".join(d for d in details if d)))


def _provider(inst: Install, s: DcaSettings, subject: str, walk: Walk) -> str:
    if not s.known("DD_EXTERNAL_METRICS_PROVIDER_ENABLED"):
        walk.notes += unknown_setting_findings(inst, ("DD_EXTERNAL_METRICS_PROVIDER_ENABLED",))
        return "external metrics provider UNKNOWN (its setting could not be read)"
    if not s.external_metrics:
        walk.broken("cluster-agent", finding(
            "external-metrics-provider-disabled", subject,
            "DD_EXTERNAL_METRICS_PROVIDER_ENABLED is not true on the Cluster Agent: it does not serve external "
            "metrics",
            "enable it (Helm: clusterAgent.metricsProvider.enabled=true, Operator: "
            "features.externalMetricsServer.enabled=true)",
            f"kubectl -n {inst.namespace} get deploy {inst.dca_deployment} -o yaml | grep -A1 "
            "DD_EXTERNAL_METRICS_PROVIDER_ENABLED"))
        return "external metrics provider DISABLED"
    return "provider enabled" + (", DatadogMetric mode" if s.use_datadogmetric_crd else ", ConfigMap mode")


def _keys(snap: HpaSnapshot, inst: Install, subject: str, walk: Walk) -> list[str]:
    missing = [k for k in snap.keys if k.present is False]
    unknown_keys = [k for k in snap.keys if k.present is None]
    if missing:
        first = missing[0]
        secret = first.source.split(" ")[1] if first.source.startswith("secret ") else ""
        walk.broken("cluster-agent", finding(
            "dca-keys-missing", subject,
            "the Cluster Agent cannot query Datadog: " + "; ".join(k.problem for k in missing)
            + " (it logs \"missing the api/app key pair to query Datadog\")",
            "give the Cluster Agent both an API key and an application key (Helm: datadog.apiKey/appKey or "
            "apiKeyExistingSecret/appKeyExistingSecret)",
            f"kubectl -n {secret.split('/')[0]} describe secret {secret.split('/')[1]}" if "/" in secret
            else f"kubectl -n {inst.namespace} get deploy {inst.dca_deployment} -o yaml | grep -A4 _KEY"))
        return ["keys MISSING: " + ", ".join(k.var for k in missing)]
    if unknown_keys:
        walk.notes.append(forbidden_note(subject, "the API/app key Secrets", "; ".join(k.problem for k in unknown_keys),
                                         f"kubectl auth can-i get secrets -n {inst.namespace}"))
        return ["keys not checked"]
    return ["API and app keys set"] if snap.keys else []


_AUTH_DELEGATION = ("its metrics server cannot authenticate and authorize the API server's requests "
                    "(system:auth-delegator), so every read of an external metric fails")
# Why each permission matters, by resource, in the words of a finding.
_NEEDED_FOR = {
    "subjectaccessreviews": _AUTH_DELEGATION,
    "tokenreviews": _AUTH_DELEGATION,
    "horizontalpodautoscalers": "the leader does not see the HPAs, so it queries no metric for them",
    "datadogmetrics": "it cannot read the DatadogMetrics it serves values from",
    "configmaps": "the leader cannot store metric values in its ConfigMap",
}


def _rbac(snap: HpaSnapshot, inst: Install, walk: Walk) -> list[str]:
    """The Cluster Agent's own permissions (access reviews for its service account): checked on their
    own, so a missing one is reported even when an earlier link is broken."""
    denied = [c for c, allowed in snap.dca_access if allowed is False]
    if denied:
        user = denied[0].user or ""
        first = denied[0]
        walk.broken("cluster-agent", finding(
            "dca-rbac-missing", f"serviceaccount/{inst.namespace}/{user.split(':')[-1]}",
            f"the Cluster Agent's service account cannot {', '.join(c.describe() for c in denied)}: "
            + "; ".join(dict.fromkeys(_NEEDED_FOR.get(c.resource, "") for c in denied)),
            "grant them to the Cluster Agent (Helm: rbac.create=true with clusterAgent.metricsProvider.enabled; the "
            "metrics server also needs a ClusterRoleBinding to system:auth-delegator)",
            f"kubectl auth can-i {first.verb} {first.resource}{'.' + first.group if first.group else ''}"
            + (f"/{first.name}" if first.name else "") + (f" -n {first.namespace}" if first.namespace else "")
            + f" --as {user}"))
        return ["RBAC MISSING: " + ", ".join(c.describe() for c in denied)]
    if any(allowed is None for _, allowed in snap.dca_access):
        walk.notes.append(Finding(
            "dca-rbac-unchecked", Severity.INFO, f"namespace/{inst.namespace}",
            "could not check the Cluster Agent's permissions: you may not create subjectaccessreviews",
            "run with a user allowed to create subjectaccessreviews.authorization.k8s.io"))
    return []


def _leader(snap: HpaSnapshot, inst: Install, s: DcaSettings, subject: str, now: datetime, walk: Walk) -> str:
    lock = snap.lock
    holder_pod = next((p for p in inst.dca_pods if lock is not None and p.name == lock.holder), None)
    stale = lock is not None and lock.expired(now, s.lease_duration)
    if lock is not None and lock.forbidden is not None:
        walk.notes.append(forbidden_note(lock.ref, "the leader lock", lock.forbidden.message,
                                         f"kubectl auth can-i get {lock.kind.lower()}s -n {lock.namespace}"))
        return "leader not checked"
    if lock is None or not lock.holder or stale or holder_pod is None:
        why = ("no lock exists" if lock is None or not lock.exists else
               "the lock names no holder" if not lock.holder else
               f"the lock held by {lock.holder} expired {ago(lock.renewed, now)}" if stale else
               f"the holder {lock.holder} is not a current Cluster Agent pod")
        walk.broken("cluster-agent", finding(
            "dca-no-leader", lock.ref if lock else subject,
            f"no Cluster Agent leads ({why}): only the leader queries Datadog, so metric values stop updating",
            "run `kubectl datadog leader` to see why no replica leads", "kubectl datadog leader"))
        return "NO LEADER"
    return f"leader {lock.holder}"


def _pod_state(p: Pod) -> str:
    if p.deleting:
        return f"{p.name} terminating"
    waiting = "" if p.phase == "Running" else p.phase
    return f"{p.name} {waiting or 'Running, not Ready'}"
