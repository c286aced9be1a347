"""Why an HPA on Datadog external metrics does or does not scale. Pure.

For each External metric the chain the HPA controller depends on is walked, and the FIRST broken
link is the metric's verdict (one ERROR finding naming it, with the command that proves it):

  apiservice  v1beta1.external.metrics.k8s.io exists, is the Cluster Agent's (not another adapter's),
              and is Available
  service     the Service it names exists, its port reaches the DCA's metrics port, and it has
              ready endpoints
  cluster-agent  DCA pods ready, external metrics provider enabled, API and app keys present, a
              leader exists
  metric      the name/selector can be served (name regex, datadogmetric@ format, lower-case tags)
  source      the DatadogMetric (Active, Valid, no Error) or the legacy ConfigMap entry (valid)
  freshness   the value is younger than the max age
  external-metrics-api  the live value the HPA controller would read
  hpa         the HPA's own conditions

Links after the verdict's are still checked where they can be on their own: a broken one is
`independent` (its own finding: the metric name, the DatadogMetric or ConfigMap entry, the keys,
the provider setting), or a symptom naming the verdict (a source the Cluster Agent could not
refresh because it has no keys, no leader or does not run); what the HPA controller sees (the live
API, its conditions) follows from the verdict and is `skipped`.

An unavailable APIService is a symptom, so its cause is looked for first: a missing Service or DCA,
a wrong port, no endpoints, or a disabled provider each win over `apiservice-unavailable`; a
Service without endpoints because every DCA pod is down is reported as the DCA being down.

Then the HPA controller's arithmetic is replayed (k8s pkg/controller/podautoscaler/replica_calculator.go):
  AverageValue: ratio = value / (target * current); if |ratio - 1| > tolerance: desired = ceil(value / target)
  Value:        ratio = value / target;             if |ratio - 1| > tolerance: desired = ceil(ratio * current)
The HPA takes the largest proposal over its metrics, clamps it to [minReplicas, maxReplicas], and does
not scale down while one of its metrics is failing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Mapping

from kubectl_datadog.install import Install
from kubectl_datadog.diagnose.leftovers import leftovers_finding
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.diagnose.settings import unknown_setting_findings
from kubectl_datadog.model import Finding, Severity, sort_findings
from kubectl_datadog.objects import Condition, Pod, conditions, endpoint_ready, selector_selects
from kubectl_datadog.output.humanize import ago, human_duration
from kubectl_datadog.times import parse_go_duration, parse_time
from kubectl_datadog.snapshots.hpa_explain import (
    APISERVICE_NAME,
    DATADOGMETRIC_CRD,
    DATADOGMETRIC_PREFIX,
    ExternalMetric,
    Got,
    Hpa,
    HpaSnapshot,
    LiveValue,
    MetricSource,
    parse_datadogmetric_ref,
)
from kubectl_datadog.textformats.hpa_messages import Explanation, explain_message
from kubectl_datadog.textformats.quantity import fmt_number, parse_quantity

TOLERANCE = 0.1  # kube-controller-manager --horizontal-pod-autoscaler-tolerance default
METRIC_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.]{0,199}$")  # the DCA's check before it builds a query
MAX_EVENTS = 10
KNOWN_DCA_SERVICES = ("cluster-agent-metrics-api", "cluster-agent-metrics-server", "custom-metrics-server")

# Link states
OK, BROKEN, UNKNOWN, SKIPPED = "ok", "broken", "unknown", "skipped"
# A link after the verdict's that was checked on its own and is broken too: its own problem (keys
# missing, the DatadogMetric's state), reported as its own finding, not a consequence of the verdict.
INDEPENDENT = "independent"
# Broken links of the shared chain that follow from the verdict's when it is one of these: a Service
# without endpoints, an unavailable APIService and a missing leader are what a DCA that is down (or a
# Service that cannot reach it) looks like from the API server.
_INFRA_SYMPTOMS: dict[str, tuple[str, ...]] = {
    "service-no-endpoints": ("service-missing", "service-port-mismatch", "dca-not-found", "dca-not-ready",
                             "install-leftovers-only"),
    "apiservice-unavailable": ("service-missing", "service-port-mismatch", "dca-not-found", "dca-not-ready",
                               "service-no-endpoints", "external-metrics-provider-disabled", "install-leftovers-only"),
    "dca-no-leader": ("dca-not-found", "dca-not-ready", "install-leftovers-only"),
}


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


# --- small helpers -----------------------------------------------------------------------------

def _f(code: str, subject: str, message: str, hint: str, command: str, sev: Severity = Severity.ERROR) -> Finding:
    return Finding(code, sev, subject, message, hint, command)


def _dca_ref(inst: Install | None) -> str:
    if inst is None:
        return "deployment/<none>"
    return f"deployment/{inst.namespace}/{inst.dca_deployment or inst.name}"


# --- the shared part of the chain: APIService -> Service -> Cluster Agent ------------------------

@dataclass(frozen=True)
class _Infra:
    links: tuple[Link, ...]
    broken: Finding | None  # the first broken link of the shared chain
    step: str  # the step of that link
    notes: tuple[Finding, ...]  # "could not check" findings, and the other broken links' own findings


def _metrics_port(inst: Install | None) -> tuple[int | None, str]:
    """The port the DCA's metrics server listens on, and where that number comes from."""
    if inst is None or inst.settings is None:
        return None, ""
    env = inst.settings.env
    if "DD_EXTERNAL_METRICS_PROVIDER_PORT" in env:
        return inst.settings.external_metrics_port, "DD_EXTERNAL_METRICS_PROVIDER_PORT"
    named = inst.dca_pods[0].port_named("metricsapi") if inst.dca_pods else None
    if named:
        return named, "container port metricsapi"
    return inst.settings.external_metrics_port, "the default DD_EXTERNAL_METRICS_PROVIDER_PORT"


def _container_port(inst: Install | None, name: str) -> int | None:
    return inst.dca_pods[0].port_named(name) if inst and inst.dca_pods else None


def _endpoint_counts(snap: HpaSnapshot, port_name: str, port: int | None) -> tuple[int, int]:
    """(ready, not ready) addresses serving the Service's port, from Endpoints or EndpointSlices."""
    def port_ok(ports: list[Mapping[str, Any]]) -> bool:
        return not ports or any((p.get("name") or "") == port_name or p.get("port") == port for p in ports)

    ep = snap.endpoints.obj
    if ep is not None:
        ready = not_ready = 0
        for subset in ep.get("subsets") or []:
            if not port_ok(subset.get("ports") or []):
                continue
            ready += len(subset.get("addresses") or [])
            not_ready += len(subset.get("notReadyAddresses") or [])
        return ready, not_ready
    ready = not_ready = 0
    for sl in snap.endpoint_slices:
        if not port_ok(sl.get("ports") or []):
            continue
        for e in sl.get("endpoints") or []:
            if endpoint_ready(e):
                ready += 1
            else:
                not_ready += 1
    return ready, not_ready


def _forbidden_note(subject: str, what: str, err_message: str, command: str) -> Finding:
    return forbidden_finding(subject, f"could not check {what}: {err_message}", Severity.INFO,
                             hint="ask for read access to it, or run as a user who has it", command=command)


def _infrastructure(snap: HpaSnapshot, now: datetime) -> _Infra:
    links: list[Link] = []
    notes: list[Finding] = []
    candidates: dict[str, tuple[str, Finding]] = {}  # code -> (step, finding); the first in priority wins
    inst = snap.install
    s = inst.settings if inst else None
    api_ref = f"apiservice/{APISERVICE_NAME}"
    api_cmd = f"kubectl get apiservice {APISERVICE_NAME} -o yaml"

    # APIService
    api = snap.apiservice
    svc_ref: Mapping[str, Any] = ((api.obj or {}).get("spec") or {}).get("service") or {}
    svc_ns, svc_name = str(svc_ref.get("namespace", "")), str(svc_ref.get("name", ""))
    svc_port = int(svc_ref.get("port") or 443)
    available: Condition | None = conditions(api.obj).get("Available") if api.obj else None
    owned = False
    if api.error is not None and api.error.kind == "forbidden":
        links.append(Link("apiservice", api_ref, UNKNOWN, "cannot read it (forbidden)"))
        notes.append(_forbidden_note(api_ref, "the APIService", api.error.message, "kubectl auth can-i get apiservices"))
    elif api.error is not None:
        links.append(Link("apiservice", api_ref, UNKNOWN, api.error.message))
    elif api.obj is None:
        links.append(Link("apiservice", api_ref, BROKEN, "does not exist: nothing serves external.metrics.k8s.io"))
        candidates["apiservice-missing"] = ("apiservice", _f(
            "apiservice-missing", api_ref,
            f"the APIService {APISERVICE_NAME} does not exist: the API server serves no external metrics, so "
            "the HPA gets \"the server could not find the requested resource\"",
            "enable the Cluster Agent's external metrics provider (Helm: clusterAgent.metricsProvider.enabled=true, "
            "Operator: features.externalMetricsServer.enabled=true)", f"kubectl get apiservice {APISERVICE_NAME}"))
    elif not svc_name:
        links.append(Link("apiservice", api_ref, BROKEN, "has no spec.service: served locally, not by the Cluster Agent"))
        candidates["apiservice-other-adapter"] = ("apiservice", _f(
            "apiservice-other-adapter", api_ref,
            f"{APISERVICE_NAME} has no spec.service, so it is not served by the Cluster Agent",
            "point it at the Cluster Agent's metrics Service (Helm: clusterAgent.metricsProvider.registerAPIService=true)",
            api_cmd))
    else:
        svc_obj = snap.service.obj or {}
        dca_labels = [p.labels for p in (inst.dca_pods if inst else ())]
        selects_dca = bool(svc_obj) and any(selector_selects((svc_obj.get("spec") or {}).get("selector") or {}, lb)
                                            for lb in dca_labels)
        named_like_dca = any(svc_name.endswith(n) for n in KNOWN_DCA_SERVICES) and (
            inst is None or svc_ns == inst.namespace)
        svc_labels = (svc_obj or {}).get("metadata", {}).get("labels") or {}
        labelled_dca = "agent.datadoghq.com/name" in svc_labels or (
            inst is not None and svc_labels.get("app.kubernetes.io/name") == inst.name)
        # A Service that is the DCA's by name or labels stays the DCA's even when its selector is
        # wrong: that is then reported as "no endpoints", not as another adapter.
        owned = selects_dca or named_like_dca or labelled_dca
        state = "Available" if available and available.status == "True" else (
            f"not Available ({available.reason})" if available else "no Available condition yet")
        if owned:
            links.append(Link("apiservice", api_ref, OK, f"served by service {svc_ns}/{svc_name}:{svc_port}, {state}"))
        else:
            links.append(Link("apiservice", api_ref, BROKEN,
                              f"served by service {svc_ns}/{svc_name}, which is not the Cluster Agent's"))
            candidates["apiservice-other-adapter"] = ("apiservice", _f(
                "apiservice-other-adapter", api_ref,
                f"{APISERVICE_NAME} is served by service {svc_ns}/{svc_name}, not by the Cluster Agent: another "
                "adapter (KEDA, prometheus-adapter, ...) owns external.metrics.k8s.io, and only one can",
                "remove the other adapter's APIService or let the Cluster Agent register its own "
                "(Helm: clusterAgent.metricsProvider.registerAPIService=true)",
                f"kubectl get apiservice {APISERVICE_NAME} -o jsonpath='{{.spec.service}}'"))

    # Service and its endpoints
    svc_subject = f"service/{svc_ns}/{svc_name}" if svc_name else "service/<none>"
    metrics_port, port_source = _metrics_port(inst)
    ready_pods = [p for p in (inst.dca_pods if inst else ()) if p.ready and p.phase == "Running" and not p.deleting]
    if not svc_name or not owned:
        links.append(Link("service", svc_subject, SKIPPED, ""))
    elif snap.service.error is not None:
        links.append(Link("service", svc_subject, UNKNOWN, snap.service.error.message))
        if snap.service.error.kind == "forbidden":
            notes.append(_forbidden_note(svc_subject, "the Service", snap.service.error.message,
                                         f"kubectl auth can-i get services -n {svc_ns}"))
    elif snap.service.obj is None:
        links.append(Link("service", svc_subject, BROKEN, "does not exist"))
        candidates["service-missing"] = ("service", _f(
            "service-missing", svc_subject,
            f"the APIService sends external-metrics requests to service {svc_ns}/{svc_name}, which does not exist: "
            "the HPA gets \"the server is currently unable to handle the request\"",
            "recreate the Cluster Agent's metrics Service (reinstall or upgrade the Helm release / Operator)",
            f"kubectl -n {svc_ns} get service {svc_name}"))
    else:
        spec = snap.service.obj.get("spec") or {}
        ports = spec.get("ports") or []
        sp = next((p for p in ports if int(p.get("port", 0)) == svc_port), None)
        exposed = ", ".join(str(p.get("port")) for p in ports) or "none"
        if sp is None:
            links.append(Link("service", svc_subject, BROKEN, f"no port {svc_port} (exposes {exposed})"))
            candidates["service-port-mismatch"] = ("service", _f(
                "service-port-mismatch", svc_subject,
                f"the APIService uses port {svc_port} but service {svc_ns}/{svc_name} exposes {exposed}",
                "make the APIService's spec.service.port match the Service's metrics port",
                f"kubectl -n {svc_ns} get service {svc_name} -o yaml"))
        else:
            target = str(sp.get("targetPort", sp.get("port")))
            resolved = int(target) if target.isdigit() else _container_port(inst, target)
            ready, not_ready = _endpoint_counts(snap, str(sp.get("name") or ""), resolved)
            if metrics_port is not None and resolved != metrics_port:
                what = f"targetPort {target}" + (f" (= {resolved})" if resolved and not target.isdigit() else
                                                 " (no such container port)" if resolved is None else "")
                links.append(Link("service", svc_subject, BROKEN,
                                  f"port {svc_port} -> {what}, but the Cluster Agent listens on {metrics_port}"))
                candidates["service-port-mismatch"] = ("service", _f(
                    "service-port-mismatch", svc_subject,
                    f"service port {svc_port} forwards to {what}, but the Cluster Agent's metrics server listens on "
                    f"{metrics_port} ({port_source})",
                    f"set the Service's targetPort to {metrics_port}, or DD_EXTERNAL_METRICS_PROVIDER_PORT to match",
                    f"kubectl -n {svc_ns} get service {svc_name} -o yaml"))
            elif ready == 0:
                links.append(Link("service", svc_subject, BROKEN,
                                  f"port {svc_port} -> {target}, no ready endpoints ({not_ready} not ready)"))
                if inst is not None and inst.dca_pods and not ready_pods:
                    pass  # the Cluster Agent itself is down: reported on its own link
                else:
                    sel = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
                    candidates["service-no-endpoints"] = ("service", _f(
                        "service-no-endpoints", svc_subject,
                        f"service {svc_ns}/{svc_name} has no ready endpoints"
                        + (f" although {len(ready_pods)} Cluster Agent pod(s) are ready: its selector {sel} does "
                           "not match them" if ready_pods else f" (selector {sel})"),
                        "make the Service's selector match the Cluster Agent pods' labels",
                        f"kubectl -n {svc_ns} get endpoints {svc_name}"))
            else:
                links.append(Link("service", svc_subject, OK,
                                  f"port {svc_port} -> {target}, {ready} ready endpoint(s)"))

    # The Cluster Agent
    dca_subject = _dca_ref(inst)
    if inst is None or not inst.dca_pods:
        if snap.install_error:
            links.append(Link("cluster-agent", dca_subject, UNKNOWN, snap.install_error))
            notes.append(_forbidden_note("namespace/" + (svc_ns or "<all>"), "the Cluster Agent pods",
                                         snap.install_error, "kubectl auth can-i list pods -A"))
        else:
            links.append(Link("cluster-agent", dca_subject, BROKEN, "no Cluster Agent pod found"))
            if snap.leftovers:
                candidates["install-leftovers-only"] = ("cluster-agent", leftovers_finding(
                    snap.leftovers, snap.install_scope, "nothing serves the external metrics", Severity.ERROR))
            candidates["dca-not-found"] = ("cluster-agent", _f(
                "dca-not-found", f"namespace/{svc_ns or 'datadog'}",
                "no Cluster Agent pod was found: nothing serves the external metrics",
                "deploy the Cluster Agent with its external metrics provider, or pass --dca-selector if it is "
                "labelled differently", "kubectl get pods -A -l app.kubernetes.io/component=cluster-agent"))
    else:
        assert s is not None
        details = [f"{len(ready_pods)}/{len(inst.dca_pods)} pods ready"]
        broken_here = False
        if not ready_pods:
            broken_here = True
            bad = inst.dca_pods[0]
            states = ", ".join(sorted({_pod_state(p) for p in inst.dca_pods}))
            candidates["dca-not-ready"] = ("cluster-agent", _f(
                "dca-not-ready", dca_subject,
                f"no Cluster Agent pod is ready ({states}): the metrics Service has no endpoints and the HPA gets "
                "\"the server is currently unable to handle the request\"",
                "find out why the Cluster Agent does not start or pass its readiness probe",
                f"kubectl -n {bad.namespace} describe pod {bad.name}"))
        if not s.known("DD_EXTERNAL_METRICS_PROVIDER_ENABLED"):
            details.append("external metrics provider UNKNOWN (its setting could not be read)")
            notes += unknown_setting_findings(inst, ("DD_EXTERNAL_METRICS_PROVIDER_ENABLED",))
        elif not s.external_metrics:
            broken_here = True
            details.append("external metrics provider DISABLED")
            candidates["external-metrics-provider-disabled"] = ("cluster-agent", _f(
                "external-metrics-provider-disabled", dca_subject,
                "DD_EXTERNAL_METRICS_PROVIDER_ENABLED is not true on the Cluster Agent: it does not serve external "
                "metrics",
                "enable it (Helm: clusterAgent.metricsProvider.enabled=true, Operator: "
                "features.externalMetricsServer.enabled=true)",
                f"kubectl -n {inst.namespace} get deploy {inst.dca_deployment} -o yaml | grep -A1 "
                "DD_EXTERNAL_METRICS_PROVIDER_ENABLED"))
        else:
            details.append("provider enabled" + (", DatadogMetric mode" if s.use_datadogmetric_crd
                                                 else ", ConfigMap mode"))
        missing = [k for k in snap.keys if k.present is False]
        unknown_keys = [k for k in snap.keys if k.present is None]
        if missing:
            broken_here = True
            details.append("keys MISSING: " + ", ".join(k.var for k in missing))
            first = missing[0]
            secret = first.source.split(" ")[1] if first.source.startswith("secret ") else ""
            candidates["dca-keys-missing"] = ("cluster-agent", _f(
                "dca-keys-missing", dca_subject,
                "the Cluster Agent cannot query Datadog: " + "; ".join(k.problem for k in missing)
                + " (it logs \"missing the api/app key pair to query Datadog\")",
                "give the Cluster Agent both an API key and an application key (Helm: datadog.apiKey/appKey or "
                "apiKeyExistingSecret/appKeyExistingSecret)",
                f"kubectl -n {secret.split('/')[0]} describe secret {secret.split('/')[1]}" if "/" in secret
                else f"kubectl -n {inst.namespace} get deploy {inst.dca_deployment} -o yaml | grep -A4 _KEY"))
        elif unknown_keys:
            details.append("keys not checked")
            notes.append(_forbidden_note(dca_subject, "the API/app key Secrets",
                                         "; ".join(k.problem for k in unknown_keys),
                                         f"kubectl auth can-i get secrets -n {inst.namespace}"))
        elif snap.keys:
            details.append("API and app keys set")
        lock = snap.lock
        if s.leader_election:
            holder_pod = next((p for p in inst.dca_pods if lock is not None and p.name == lock.holder), None)
            stale = lock is not None and lock.expired(now, s.lease_duration)
            if lock is not None and lock.forbidden is not None:
                details.append("leader not checked")
                notes.append(_forbidden_note(lock.ref, "the leader lock", lock.forbidden.message,
                                             f"kubectl auth can-i get {lock.kind.lower()}s -n {lock.namespace}"))
            elif lock is None or not lock.holder or stale or holder_pod is None:
                broken_here = True
                why = ("no lock exists" if lock is None or not lock.exists else
                       "the lock names no holder" if not lock.holder else
                       f"the lock held by {lock.holder} expired {ago(lock.renewed, now)}" if stale else
                       f"the holder {lock.holder} is not a current Cluster Agent pod")
                details.append("NO LEADER")
                candidates["dca-no-leader"] = ("cluster-agent", _f(
                    "dca-no-leader", lock.ref if lock else dca_subject,
                    f"no Cluster Agent leads ({why}): only the leader queries Datadog, so metric values stop updating",
                    "run `kubectl datadog leader` to see why no replica leads", "kubectl datadog leader"))
            else:
                details.append(f"leader {lock.holder}")
        links.append(Link("cluster-agent", dca_subject, BROKEN if broken_here else OK, ", ".join(details)))

    if owned and available is not None and available.status != "True":
        candidates["apiservice-unavailable"] = ("apiservice", _f(
            "apiservice-unavailable", api_ref,
            f"{APISERVICE_NAME} is not Available ({available.reason}): {available.message}",
            "the API server cannot reach the Cluster Agent's metrics server; check its TLS and network policies",
            f"kubectl describe apiservice {APISERVICE_NAME}"))
        links[0] = Link("apiservice", api_ref, BROKEN, links[0].detail)

    priority = ("install-leftovers-only", "apiservice-missing", "apiservice-other-adapter", "service-missing",
                "service-port-mismatch", "dca-not-found", "dca-not-ready", "service-no-endpoints",
                "external-metrics-provider-disabled",
                "apiservice-unavailable", "dca-keys-missing", "dca-no-leader")
    step, broken = next((candidates[c] for c in priority if c in candidates), ("", None))
    # Every other broken link that does not follow from the verdict's is reported too, as its own
    # problem (keys missing while the Service also has the wrong port: two things to fix). Those that
    # follow from it stay what the chain shows them as (symptom / skipped).
    for code in priority:
        if code not in candidates or broken is None or code == broken.code:
            continue
        if broken.code == "install-leftovers-only" or broken.code in _INFRA_SYMPTOMS.get(code, ()):
            continue
        notes.append(candidates[code][1])
    return _Infra(tuple(links), broken, step, tuple(notes))


def _pod_state(p: Pod) -> str:
    if p.deleting:
        return f"{p.name} terminating"
    waiting = "" if p.phase == "Running" else p.phase
    return f"{p.name} {waiting or 'Running, not Ready'}"


# --- per metric ---------------------------------------------------------------------------------

def _condition(obj: Mapping[str, Any], kind: str) -> Condition | None:
    return conditions(obj).get(kind)


def _dm_link(hpa: Hpa, metric: ExternalMetric, obj: dict[str, Any], max_age: float, now: datetime,
             ) -> tuple[list[Link], Finding | None, float | None, str]:
    """Source and freshness links of a DatadogMetric; its value; a one-word state for the table."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    subject = f"datadogmetric/{ns}/{name}"
    cmd = f"kubectl -n {ns} get datadogmetric {name} -o yaml"
    status = obj.get("status") or {}
    value = parse_quantity(status.get("currentValue"))
    active, valid, error, updated = (_condition(obj, t) for t in ("Active", "Valid", "Error", "Updated"))
    query = (obj.get("spec") or {}).get("query", "")
    facts = ", ".join(f"{c.type}={c.status}" for c in (active, valid, error) if c) or "no conditions yet"
    detail = f"{facts}, value {status.get('currentValue', '<none>')}" + (f", query {query}" if query else "")
    finding: Finding | None = None
    if active is not None and active.status != "True":
        finding = _f("datadogmetric-inactive", subject,
                     f"the DatadogMetric is not Active: the Cluster Agent leader does not see an autoscaler using it, "
                     f"so it does not query Datadog{': ' + active.message if active.message else ''}",
                     f"check the HPA references it as datadogmetric@{ns}:{name} and that the leader watches HPAs "
                     "(RBAC: list/watch horizontalpodautoscalers)", cmd)
    elif error is not None and error.status == "True":
        finding = _f("datadogmetric-error", subject,
                     f"querying Datadog fails ({error.reason or 'Error'}): {error.message or 'no message'}",
                     _hint_for(error.message, "fix the DatadogMetric's query, or check the leader's logs"), cmd)
    elif valid is not None and valid.status != "True":
        finding = _f("datadogmetric-invalid", subject,
                     f"the DatadogMetric's value is not Valid{': ' + valid.message if valid.message else ''}; the "
                     "Cluster Agent answers \"DatadogMetric is invalid\" to the HPA",
                     _hint_for(valid.message, "check its Error condition and the Cluster Agent leader's logs"), cmd)
    links = [Link("source", subject, BROKEN if finding else OK, detail)]
    if finding is not None:
        return links, finding, value, finding.code
    spec_age = parse_go_duration((obj.get("spec") or {}).get("maxAge"))
    limit = spec_age or max_age
    stamp = (updated.last_update or updated.last_transition) if updated else None
    if stamp is not None and (now - stamp).total_seconds() > limit:
        finding = _f("datadogmetric-stale", subject,
                     f"the DatadogMetric was last updated {ago(stamp, now)}, beyond its max age of "
                     f"{human_duration(limit)}{' (spec.maxAge)' if spec_age else ''}: the leader has stopped updating it",
                     "check the Cluster Agent leader is running and can reach Datadog (`kubectl datadog leader`)", cmd)
        links.append(Link("freshness", subject, BROKEN, f"updated {ago(stamp, now)}, max age {int(limit)}s"))
        return links, finding, value, finding.code
    links.append(Link("freshness", subject, OK if stamp else UNKNOWN,
                      f"updated {ago(stamp, now)}, max age {int(limit)}s" if stamp else "no Updated time"))
    return links, None, value, "ok"


def _hint_for(message: str, default: str) -> str:
    exp = explain_message(message or "")
    return f"{exp.meaning}; {exp.next_step}" if exp and exp.next_step else default


def _source(hpa: Hpa, metric: ExternalMetric, src: MetricSource | None, snap: HpaSnapshot, now: datetime,
            ) -> tuple[list[Link], Finding | None, float | None, list[Finding]]:
    s = snap.install.settings if snap.install else None
    notes: list[Finding] = []
    if src is None or s is None:
        return [Link("source", "<unknown>", UNKNOWN, "the Cluster Agent's settings are unknown")], None, None, notes
    max_age = float(s.max_age)
    if src.datadogmetric is not None:  # datadogmetric@ns:name
        ref = parse_datadogmetric_ref(metric.name)
        assert ref is not None
        subject = f"datadogmetric/{ref[0]}/{ref[1]}"
        got: Got = src.datadogmetric
        if got.error is not None:
            if got.error.kind == "forbidden":
                notes.append(_forbidden_note(subject, "the DatadogMetric", got.error.message,
                                             f"kubectl auth can-i get datadogmetrics.datadoghq.com -n {ref[0]}"))
            return [Link("source", subject, UNKNOWN, got.error.message)], None, None, notes
        if got.obj is None:
            if snap.crd.obj is None and snap.crd.error is None:
                return [Link("source", subject, BROKEN, "the DatadogMetric CRD is not installed")], _f(
                    "datadogmetric-crd-missing", f"customresourcedefinition/{DATADOGMETRIC_CRD}",
                    f"the HPA references {metric.name} but the DatadogMetric CRD is not installed",
                    "install the datadog-crds chart (Helm) or let the Operator install its CRDs",
                    f"kubectl get crd {DATADOGMETRIC_CRD}"), None, notes
            return [Link("source", subject, BROKEN, "does not exist")], _f(
                "datadogmetric-not-found", subject,
                f"the HPA references {metric.name} but DatadogMetric {ref[0]}/{ref[1]} does not exist: the Cluster "
                "Agent answers \"DatadogMetric not found for metric name\"",
                "create the DatadogMetric, or fix the reference in the HPA (datadogmetric@<namespace>:<name>)",
                f"kubectl -n {ref[0]} get datadogmetrics"), None, notes
        links, finding, value, _ = _dm_link(hpa, metric, got.obj, max_age, now)
        return links, finding, value, notes
    if s.use_datadogmetric_crd:  # plain metric name: served from an autogen DatadogMetric
        ns = s.resources_namespace
        if snap.datadogmetrics_error is not None:
            if snap.datadogmetrics_error.kind == "forbidden":
                notes.append(_forbidden_note(f"namespace/{ns}", "the autogen DatadogMetrics",
                                             snap.datadogmetrics_error.message,
                                             f"kubectl auth can-i list datadogmetrics.datadoghq.com -n {ns}"))
            return [Link("source", f"datadogmetric/{ns}/dcaautogen-*", UNKNOWN,
                         snap.datadogmetrics_error.message)], None, None, notes
        if not src.autogen:
            return [Link("source", f"datadogmetric/{ns}/dcaautogen-*", BROKEN, "no autogen DatadogMetric")], _f(
                "datadogmetric-autogen-missing", hpa.ref,
                f"the Cluster Agent uses DatadogMetrics, but there is no autogen DatadogMetric (dcaautogen-*) in {ns} "
                f"for {metric.name}: the leader has not processed this HPA (or autogen is disabled)",
                "check the leader's logs and RBAC (create datadogmetrics), or reference a DatadogMetric with "
                "datadogmetric@<namespace>:<name>", f"kubectl -n {ns} get datadogmetrics"), None, notes
        links, finding, value, _ = _dm_link(hpa, metric, src.autogen[0], max_age, now)
        return links, finding, value, notes
    # Legacy ConfigMap store
    cm_ns, cm_name = s.resources_namespace, s.hpa_configmap
    subject = f"configmap/{cm_ns}/{cm_name}"
    cmd = f"kubectl -n {cm_ns} get configmap {cm_name} -o yaml"
    cm = snap.configmap
    if cm.error is not None:
        if cm.error.kind == "forbidden":
            notes.append(_forbidden_note(subject, "the external metrics ConfigMap", cm.error.message,
                                         f"kubectl auth can-i get configmaps -n {cm_ns}"))
        return [Link("source", subject, UNKNOWN, cm.error.message)], None, None, notes
    if cm.obj is None:
        return [Link("source", subject, BROKEN, "does not exist")], _f(
            "metrics-configmap-missing", subject,
            f"the Cluster Agent's external metrics store {cm_ns}/{cm_name} does not exist: the leader has never "
            "stored a metric (it creates it on start)",
            "check the leader's logs and its RBAC on configmaps in its namespace", cmd), None, notes
    key = src.configmap_key
    entry = src.configmap_entry
    if entry is None and src.configmap_entry_raw is None:
        return [Link("source", subject, BROKEN, f"no entry {key}")], _f(
            "metrics-configmap-entry-missing", subject,
            f"{cm_name} has no entry {key}: the Cluster Agent leader has not picked this HPA metric up",
            "check the leader's logs for this HPA; it needs list/watch on horizontalpodautoscalers", cmd), None, notes
    if entry is None:
        return [Link("source", subject, BROKEN, f"entry {key} is not JSON")], _f(
            "metrics-configmap-entry-invalid", subject, f"the entry {key} is not valid JSON",
            "delete the entry; the leader writes it again", cmd), None, notes
    value = parse_quantity(entry.get("value"))
    ts = _unix(entry.get("ts"))
    age = (now - ts).total_seconds() if ts else None
    deprecated = not key.startswith("external_metric-horizontal-")
    detail = f"{key}: valid={str(entry.get('valid')).lower()}, value {fmt_number(value)}" + (
        f", ts {ago(ts, now)}" if ts else "")
    if deprecated or entry.get("valid") is not True:
        stale_note = f"; its ts is {ago(ts, now)}, beyond the max age of {int(max_age)}s" if age and age > max_age else ""
        return [Link("source", subject, BROKEN, detail)], _f(
            "metric-invalid", subject,
            (f"only the deprecated entry {key} exists (read as invalid)" if deprecated else
             f"the entry {key} is valid:false{stale_note}: the metric is not served to the HPA"),
            "the leader could not get a fresh value from Datadog: check the metric and its tags exist in Datadog "
            "(tags are lower-case) and the Cluster Agent leader's logs",
            cmd), value, notes
    links = [Link("source", subject, OK, detail)]
    if age is not None and age > max_age:
        links.append(Link("freshness", subject, BROKEN, f"ts {ago(ts, now)}, max age {int(max_age)}s"))
        return links, _f("metric-stale", subject,
                         f"the entry {key} was last written {ago(ts, now)}, beyond the max age of {int(max_age)}s: "
                         "the leader has stopped refreshing it",
                         "check the Cluster Agent leader is running and can reach Datadog (`kubectl datadog leader`)",
                         cmd), value, notes
    links.append(Link("freshness", subject, OK if ts else UNKNOWN,
                      f"ts {ago(ts, now)}, max age {int(max_age)}s" if ts else "no ts"))
    return links, None, value, notes


def _unix(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _name_checks(hpa: Hpa, metric: ExternalMetric, snap: HpaSnapshot) -> tuple[Link, Finding | None, list[Finding]]:
    s = snap.install.settings if snap.install else None
    subject = hpa.ref
    cmd = f"kubectl -n {hpa.namespace} get hpa {hpa.name} -o yaml"
    warnings: list[Finding] = []
    if metric.match_expressions and parse_datadogmetric_ref(metric.name) is None:
        warnings.append(_f(
            "metric-selector-expressions-ignored", subject,
            f"the selector of {metric.name} has matchExpressions ({'; '.join(metric.match_expressions)}): the "
            "Cluster Agent ignores them and queries Datadog with matchLabels only",
            "express the filter with matchLabels, or use a DatadogMetric with an explicit query", cmd,
            Severity.WARNING))
    if metric.name.lower().startswith(DATADOGMETRIC_PREFIX):
        if parse_datadogmetric_ref(metric.name) is None:
            return Link("metric", subject, BROKEN, f"{metric.name}: not datadogmetric@<namespace>:<name>"), _f(
                "metric-reference-malformed", subject,
                f"the metric name {metric.name} is not a valid datadogmetric@<namespace>:<name> reference: the "
                "Cluster Agent answers \"ExternalMetric does not follow DatadogMetric format\"",
                "write it as datadogmetric@<namespace>:<name>, both lower-case DNS labels", cmd), warnings
        if s is not None and not s.use_datadogmetric_crd:
            return Link("metric", subject, BROKEN, f"{metric.name}: the Cluster Agent does not use DatadogMetrics"), _f(
                "datadogmetric-mode-disabled", subject,
                f"the HPA references {metric.name}, but the Cluster Agent does not use DatadogMetrics "
                "(DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD is not true)",
                "enable it (Helm: clusterAgent.metricsProvider.useDatadogMetrics=true) or use a plain metric name",
                cmd), warnings
        return Link("metric", subject, OK, f"{metric.name}: well-formed DatadogMetric reference"), None, warnings
    if not METRIC_NAME.match(metric.name):
        return Link("metric", subject, BROKEN, f"{metric.name}: invalid metric name"), _f(
            "metric-name-invalid", subject,
            f"the metric name {metric.name!r} does not match ^[a-zA-Z][a-zA-Z0-9_.]{{0,199}}$: the Cluster Agent "
            "rejects it (\"metric name ... is invalid\")",
            "use the Datadog metric name exactly (letters, digits, _ and .), or a DatadogMetric for complex queries",
            cmd), warnings
    upper = sorted(f"{k}={v}" for k, v in metric.match_labels.items() if v != v.lower())
    if upper:
        return Link("metric", subject, BROKEN, f"upper-case label values: {', '.join(upper)}"), _f(
            "metric-selector-uppercase", subject,
            f"the selector of {metric.name} has upper-case values ({', '.join(upper)}): Datadog tags are lower-case, "
            "so the query matches no series",
            "write the label values in lower case, as the tags appear in Datadog", cmd), warnings
    sel = metric.label_selector or "no labels"
    return Link("metric", subject, OK, f"{metric.name} {{{sel}}}"), None, warnings


def _live_link(hpa: Hpa, metric: ExternalMetric, live: LiveValue | None) -> tuple[Link, Finding | None, float | None]:
    subject = f"external.metrics.k8s.io/{hpa.namespace}/{metric.name.lower()}"
    cmd = metric.kubectl_raw(hpa.namespace)
    if live is None:
        return Link("external-metrics-api", subject, UNKNOWN, "not read"), None, None
    if live.error is not None:
        err = live.error
        # The aggregator's own 503/404 bodies are terse ("service unavailable"); client-go, and so the
        # HPA controller, words them as below: explain by status when the text says nothing.
        canonical = {404: "the server could not find the requested resource",
                     503: "the server is currently unable to handle the request"}.get(err.status or 0, "")
        exp = explain_message(err.message) or explain_message(canonical)
        if err.kind == "forbidden":
            return Link("external-metrics-api", subject, UNKNOWN, "cannot read it (forbidden)"), forbidden_finding(
                subject, f"could not read the live value: {err.message}", Severity.INFO,
                hint="ask for get on external.metrics.k8s.io", command=cmd), None
        code = {"not-found": "external-metric-not-found", "unavailable": "external-metrics-unavailable"}.get(
            err.kind, "external-metric-error")
        meaning = exp.meaning if exp else "the external metrics API returned an error"
        said = err.message if not canonical or canonical in err.message else f"{err.message}, i.e. \"{canonical}\""
        return Link("external-metrics-api", subject, BROKEN, f"{err.status or ''} {said}".strip()), _f(
            code, subject, f"the external metrics API answers {err.status or 'an error'}: {said} ({meaning})",
            exp.next_step if exp and exp.next_step else "check the Cluster Agent's logs for this metric", cmd), None
    if not live.items:
        return Link("external-metrics-api", subject, BROKEN, "empty answer"), _f(
            "external-metric-empty", subject,
            "the external metrics API returned no value for this metric and selector: the HPA reports "
            "\"no metrics returned from external metrics API\"",
            "compare the HPA's selector with the labels the Cluster Agent stored for the metric", cmd), None
    total = sum(parse_quantity(v) or 0.0 for v, _ in live.items)
    return Link("external-metrics-api", subject, OK, f"{fmt_number(total)}"), None, total


def _hpa_link(hpa: Hpa) -> tuple[Link, Finding | None]:
    subject = hpa.ref
    cmd = f"kubectl -n {hpa.namespace} describe hpa {hpa.name}"
    by_type = {c.type: c for c in hpa.conditions}
    active, able = by_type.get("ScalingActive"), by_type.get("AbleToScale")
    if able is not None and able.status == "False":
        exp = explain_message(able.message)
        return Link("hpa", subject, BROKEN, f"AbleToScale=False {able.reason}"), _f(
            "hpa-unable-to-scale", subject, f"the HPA cannot scale its target ({able.reason}): {able.message}",
            exp.next_step if exp and exp.next_step else f"check the scale target {hpa.scale_target} exists", cmd)
    if active is not None and active.status == "False":
        exp = explain_message(active.message)
        return Link("hpa", subject, BROKEN, f"ScalingActive=False {active.reason}"), _f(
            "hpa-scaling-inactive", subject,
            f"the HPA is not scaling ({active.reason}): {exp.meaning if exp else active.message}",
            exp.next_step if exp and exp.next_step else "read the HPA's events", cmd)
    state = ", ".join(f"{c.type}={c.status} {c.reason}".strip() for c in hpa.conditions) or "no conditions yet"
    return Link("hpa", subject, OK, state), None


def _arithmetic(hpa: Hpa, metric: ExternalMetric, live_value: float | None, source_value: float | None,
                source_label: str) -> Arithmetic:
    target = parse_quantity(metric.target)
    current = hpa.current_replicas
    value: float | None
    if live_value is not None:
        value, origin = live_value, "external metrics API"
    elif source_value is not None:
        value, origin = source_value, source_label
    else:
        cur = parse_quantity(metric.current)
        if cur is not None and metric.target_type == "AverageValue" and current:
            value, origin = cur * current, "HPA status (currentMetrics x replicas)"
        else:
            value, origin = cur, "HPA status (currentMetrics)" if cur is not None else ""
    per_pod = ratio = None
    within = None
    proposal = None
    if value is not None and target:
        if metric.target_type == "AverageValue":
            if current:
                per_pod = math.ceil(value * 1000 / current) / 1000  # the controller works in milli-units
                ratio = value / (target * current)
                within = abs(ratio - 1) <= TOLERANCE
                proposal = current if within else math.ceil(value / target)
            else:
                ratio = None
        else:
            ratio = value / target
            if current:
                within = abs(ratio - 1) <= TOLERANCE
                proposal = current if within else math.ceil(ratio * current)
    return Arithmetic(value, origin, metric.target_type, target, current, per_pod, ratio, within, proposal)


def _metric_report(hpa: Hpa, metric: ExternalMetric, snap: HpaSnapshot, infra: _Infra, now: datetime,
                   ) -> tuple[MetricReport, list[Finding]]:
    key = (hpa.namespace, hpa.name, metric.index)
    findings: list[Finding] = []
    links: list[Link] = list(infra.links)
    first: Finding | None = infra.broken
    first_step = infra.step

    later: list[tuple[Finding, str]] = []  # broken links after the verdict's, each with its own finding

    def note(found: Finding | None, step: str) -> None:
        nonlocal first, first_step
        if found is not None and first is None:
            first, first_step = found, step
        elif found is not None:
            later.append((found, step))

    name_link, name_broken, warnings = _name_checks(hpa, metric, snap)
    findings += warnings
    links.append(name_link)
    note(name_broken, "metric")

    src = snap.sources.get(key)
    source_value: float | None = None
    if name_broken is None:
        src_links, src_broken, source_value, notes = _source(hpa, metric, src, snap, now)
        findings += notes
        links += src_links
        broken_step = next((lk.step for lk in src_links if lk.state == BROKEN), "source")
        note(src_broken, broken_step)
        if src_broken is not None and broken_step == "source":
            source_value = None  # an invalid value is not what the HPA would get: do not compute with it
    else:
        links.append(Link("source", "<not checked>", SKIPPED, "the metric name cannot be served"))

    live = snap.live.get(key)
    live_link, live_broken, live_value = _live_link(hpa, metric, live)
    links.append(live_link)
    if live_broken is not None and live_broken.severity < Severity.ERROR:
        findings.append(live_broken)  # could not look: not a broken link
        live_broken = None
    note(live_broken, "external-metrics-api")

    hpa_link, hpa_broken = _hpa_link(hpa)
    links.append(hpa_link)
    note(hpa_broken, "hpa")

    if first is not None:
        findings.append(first)
    # What the HPA controller sees (the live API, the HPA's conditions) follows from the verdict's link:
    # not reported again. The metric's name and its source were checked on their own: their own
    # problems (independent), except a source the Cluster Agent could not refresh because of the
    # verdict (no leader, no keys, not running): then a symptom naming it.
    independent_steps: set[str] = set()
    for found, step in later:
        if step in ("external-metrics-api", "hpa"):
            continue
        if first is not None and first_step == "cluster-agent" and step in ("source", "freshness"):
            findings.append(_symptom_of(found, first))
            continue
        independent_steps.add(step)
        findings.append(found)
    source_label = "DatadogMetric status.currentValue" if (src and (src.datadogmetric or src.autogen)) else \
        "ConfigMap entry value"
    arith = _arithmetic(hpa, metric, live_value, source_value, source_label)
    return MetricReport(metric, _finalize(links, first_step if first else "", independent_steps),
                        first.code if first else "ok",
                        arith, metric.kubectl_raw(hpa.namespace), live), findings


def _symptom_of(symptom: Finding, cause: Finding) -> Finding:
    """The symptom names its cause, and its hint is the cause's fix."""
    return replace(symptom, caused_by=(cause.code,), hint=f"fix the cause first ({cause.code}): {cause.hint}")


def _finalize(links: list[Link], verdict_step: str, independent: set[str] | frozenset[str] = frozenset(),
              ) -> tuple[Link, ...]:
    """The verdict's link stays `broken`; other broken links before it are its symptoms (e.g. a
    Service without endpoints because the DCA is down); those after it that were checked on their
    own (`independent`: the metric's name, its DatadogMetric or ConfigMap entry) are `independent`
    problems with their own findings; the rest follow from the verdict (`skipped` as causes)."""
    if not verdict_step:
        return tuple(links)
    index = next(i for i, lk in enumerate(links) if lk.step == verdict_step)
    out = []
    for i, lk in enumerate(links):
        if i != index and lk.state == BROKEN:
            state = "symptom" if i < index else INDEPENDENT if lk.step in independent else SKIPPED
            lk = Link(lk.step, lk.subject, state, lk.detail)
        elif i == index and lk.state != BROKEN:
            lk = Link(lk.step, lk.subject, BROKEN, lk.detail)
        out.append(lk)
    return tuple(out)


# --- the HPA as a whole -------------------------------------------------------------------------

def _action(hpa: Hpa, metrics: list[MetricReport]) -> tuple[str, str, int | None, int | None]:
    current = hpa.current_replicas
    lo, hi = hpa.min_replicas, hpa.max_replicas
    if current == 0:
        return "scaling-disabled", "does not scale: its target has 0 replicas and it does not scale from zero", None, None
    usable = [m for m in metrics if not m.broken and m.arithmetic.proposal is not None]
    failing = [m for m in metrics if m.broken]
    if current is None:
        return "cannot-compute", "has not reported its current replicas yet", None, None
    if not usable:
        return ("cannot-compute", f"cannot read its external metric(s), so it keeps {current} replica(s) "
                "and does not scale", None, current)
    desired = max(m.arithmetic.proposal for m in usable if m.arithmetic.proposal is not None)
    proposal = desired
    note = ""
    if hpa.other_metrics:
        note = f" (not counting its other metrics: {', '.join(hpa.other_metrics)})"
    if failing and proposal < current:
        return ("steady", f"stays at {current}: it does not scale down while a metric is failing{note}",
                desired, current)
    final = min(max(proposal, lo), hi) if hi else max(proposal, lo)
    if final == current:
        if proposal > hi:
            return ("pinned-at-max", f"stays at {current}: pinned at maxReplicas {hi} (the metrics ask for "
                    f"{proposal}){note}", desired, final)
        if proposal < lo:
            return ("pinned-at-min", f"stays at {current}: pinned at minReplicas {lo} (the metrics ask for "
                    f"{proposal}){note}", desired, final)
        return "steady", f"stays at {current}: the metrics are within the {TOLERANCE} tolerance{note}", desired, final
    if final > current:
        cap = f", capped by maxReplicas {hi} (the metrics ask for {proposal})" if proposal > hi else ""
        return "scale-up", f"scales up from {current} to {final}{cap}{note}", desired, final
    floor = f", floored by minReplicas {lo} (the metrics ask for {proposal})" if proposal < lo else ""
    return ("scale-down", f"scales down from {current} to {final}{floor}, after its scale-down stabilization "
            f"window (5m by default){note}", desired, final)


def _explained_conditions(hpa: Hpa) -> tuple[Explained, ...]:
    return tuple(Explained("condition", c.type, c.status, c.reason, c.message, c.last_transition, 0,
                           explain_message(c.message) or explain_message(c.reason)) for c in hpa.conditions)


def _explained_events(events: tuple[dict[str, Any], ...]) -> tuple[Explained, ...]:
    out = []
    for ev in events:
        when = (parse_time(ev.get("lastTimestamp")) or parse_time(ev.get("eventTime"))
                or parse_time((ev.get("series") or {}).get("lastObservedTime")) or parse_time(ev.get("firstTimestamp")))
        count = int(ev.get("count") or (ev.get("series") or {}).get("count") or 1)
        msg = str(ev.get("message") or ev.get("note") or "")
        out.append(Explained("event", str(ev.get("type", "")), str(ev.get("reason", "")), str(ev.get("reason", "")),
                             msg, when, count, explain_message(msg)))
    out.sort(key=lambda e: (e.when or datetime.min.replace(tzinfo=timezone.utc), e.reason, e.message), reverse=True)
    return tuple(out[:MAX_EVENTS])


def explain(snap: HpaSnapshot, *, now: datetime) -> HpaExplainReport:
    infra = _infrastructure(snap, now)
    findings: list[Finding] = list(infra.notes)
    reports: list[HpaReport] = []
    for hpa in snap.hpas:
        metrics: list[MetricReport] = []
        for metric in hpa.external:
            rep, found = _metric_report(hpa, metric, snap, infra, now)
            metrics.append(rep)
            findings += found
        action, text, desired, final = _action(hpa, metrics)
        if action in ("pinned-at-max", "pinned-at-min") and not any(m.broken for m in metrics):
            lim = "maxReplicas" if action == "pinned-at-max" else "minReplicas"
            findings.append(_f(
                f"hpa-{action}", hpa.ref, f"the HPA {text}",
                f"raise {lim} or the target if the load is real" if action == "pinned-at-max"
                else f"lower {lim} if fewer replicas would do",
                f"kubectl -n {hpa.namespace} get hpa {hpa.name}", Severity.INFO))
        reports.append(HpaReport(hpa, tuple(metrics), action, text, desired, final, _explained_conditions(hpa),
                                 _explained_events(snap.events.get((hpa.namespace, hpa.name), ()))))
    if snap.leftovers and not snap.hpas:
        findings.append(leftovers_finding(snap.leftovers, snap.install_scope, "nothing serves the external metrics"))
    return HpaExplainReport(tuple(reports), infra.links, sort_findings(findings), snap)
