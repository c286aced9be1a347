"""The shared part of hpa-explain's chain: APIService -> Service -> Cluster Agent. Pure.

Each link is checked whatever the others say; every broken one is a candidate verdict. The first in
`PRIORITY` is the verdict (causes before the symptoms they produce: an unavailable APIService is
looked past for a missing Service or DCA, a wrong port, no endpoints or a disabled provider), and
the other broken links are reported on their own unless they follow from it (`INFRA_SYMPTOMS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubectl_datadog.diagnose.hpa_explain_report import (
    BROKEN,
    OK,
    SKIPPED,
    UNKNOWN,
    Link,
    Walk,
    finding,
    forbidden_note,
)
from kubectl_datadog.diagnose.hpa_explain_dca import dca_link, serving_pods
from kubectl_datadog.install import Install
from kubectl_datadog.model import Finding
from kubectl_datadog.objects import selector_selects
from kubectl_datadog.snapshots.hpa_explain import APISERVICE_NAME, HpaSnapshot
from kubectl_datadog.snapshots.hpa_explain_objects import ApiService

KNOWN_DCA_SERVICES = ("cluster-agent-metrics-api", "cluster-agent-metrics-server", "custom-metrics-server")
PRIORITY = ("install-leftovers-only", "apiservice-missing", "apiservice-other-adapter", "service-missing",
            "service-port-mismatch", "dca-not-found", "dca-not-ready", "service-no-endpoints",
            "external-metrics-provider-disabled", "apiservice-unavailable", "dca-keys-missing", "dca-rbac-missing",
            "dca-no-leader")
# Broken links of the shared chain that follow from the verdict's when it is one of these: a Service
# without endpoints, an unavailable APIService and a missing leader are what a DCA that is down (or a
# Service that cannot reach it) looks like from the API server.
INFRA_SYMPTOMS: dict[str, tuple[str, ...]] = {
    "service-no-endpoints": ("service-missing", "service-port-mismatch", "dca-not-found", "dca-not-ready",
                             "install-leftovers-only"),
    "apiservice-unavailable": ("service-missing", "service-port-mismatch", "dca-not-found", "dca-not-ready",
                               "service-no-endpoints", "external-metrics-provider-disabled", "install-leftovers-only"),
    "dca-no-leader": ("dca-not-found", "dca-not-ready", "install-leftovers-only"),
}
API_REF = f"apiservice/{APISERVICE_NAME}"


@dataclass(frozen=True)
class Infra:
    links: tuple[Link, ...]
    broken: Finding | None  # the first broken link of the shared chain
    step: str  # the step of that link
    notes: tuple[Finding, ...]  # "could not check" findings, and the other broken links' own findings
    independent: frozenset[str] = frozenset()  # steps broken on their own, beside the verdict's


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
    """(ready, not ready) addresses serving the Service's port."""
    groups = [g for g in snap.endpoints if g.serves(port_name, port)]
    return sum(g.ready for g in groups), sum(g.not_ready for g in groups)


def _apiservice_link(snap: HpaSnapshot, walk: Walk) -> bool:
    """The APIService's link; whether it is the Cluster Agent's (its Service is then checked)."""
    api, inst = snap.apiservice, snap.install
    if api.error is not None and api.error.kind == "forbidden":
        walk.links.append(Link("apiservice", API_REF, UNKNOWN, "cannot read it (forbidden)"))
        walk.notes.append(forbidden_note(API_REF, "the APIService", api.error.message,
                                         "kubectl auth can-i get apiservices"))
        return False
    if api.error is not None:
        walk.links.append(Link("apiservice", API_REF, UNKNOWN, api.error.message))
        return False
    if api.value is None:
        walk.links.append(Link("apiservice", API_REF, BROKEN, "does not exist: nothing serves external.metrics.k8s.io"))
        walk.broken("apiservice", finding(
            "apiservice-missing", API_REF,
            f"the APIService {APISERVICE_NAME} does not exist: the API server serves no external metrics, so "
            "the HPA gets \"the server could not find the requested resource\"",
            "enable the Cluster Agent's external metrics provider (Helm: clusterAgent.metricsProvider.enabled=true, "
            "Operator: features.externalMetricsServer.enabled=true)", f"kubectl get apiservice {APISERVICE_NAME}"))
        return False
    ref = api.value
    if not ref.service_name:
        walk.links.append(Link("apiservice", API_REF, BROKEN,
                               "has no spec.service: served locally, not by the Cluster Agent"))
        walk.broken("apiservice", finding(
            "apiservice-other-adapter", API_REF,
            f"{APISERVICE_NAME} has no spec.service, so it is not served by the Cluster Agent",
            "point it at the Cluster Agent's metrics Service (Helm: clusterAgent.metricsProvider.registerAPIService=true)",
            f"kubectl get apiservice {APISERVICE_NAME} -o yaml"))
        return False
    svc_ns, svc_name = ref.service_namespace, ref.service_name
    svc = snap.service.value
    selects_dca = svc is not None and any(selector_selects(svc.selector, p.labels)
                                          for p in (inst.dca_pods if inst else ()))
    named_like_dca = any(svc_name.endswith(n) for n in KNOWN_DCA_SERVICES) and (
        inst is None or svc_ns == inst.namespace)
    svc_labels = svc.labels if svc is not None else {}
    labelled_dca = "agent.datadoghq.com/name" in svc_labels or (
        inst is not None and svc_labels.get("app.kubernetes.io/name") == inst.name)
    # A Service that is the DCA's by name or labels stays the DCA's even when its selector is
    # wrong: that is then reported as "no endpoints", not as another adapter.
    owned = selects_dca or named_like_dca or labelled_dca
    available = ref.available
    state = "Available" if available and available.status == "True" else (
        f"not Available ({available.reason})" if available else "no Available condition yet")
    if owned:
        walk.links.append(Link("apiservice", API_REF, OK,
                               f"served by service {svc_ns}/{svc_name}:{ref.service_port}, {state}"))
    else:
        walk.links.append(Link("apiservice", API_REF, BROKEN,
                               f"served by service {svc_ns}/{svc_name}, which is not the Cluster Agent's"))
        walk.broken("apiservice", finding(
            "apiservice-other-adapter", API_REF,
            f"{APISERVICE_NAME} is served by service {svc_ns}/{svc_name}, not by the Cluster Agent: another "
            "adapter (KEDA, prometheus-adapter, ...) owns external.metrics.k8s.io, and only one can",
            "remove the other adapter's APIService or let the Cluster Agent register its own "
            "(Helm: clusterAgent.metricsProvider.registerAPIService=true)",
            f"kubectl get apiservice {APISERVICE_NAME} -o jsonpath='{{.spec.service}}'"))
    return owned


def _service_link(snap: HpaSnapshot, ref: ApiService | None, owned: bool, walk: Walk) -> None:
    """The Service the APIService names: it exists, its port reaches the DCA's, it has ready endpoints."""
    inst = snap.install
    svc_ns, svc_name = (ref.service_namespace, ref.service_name) if ref else ("", "")
    subject = f"service/{svc_ns}/{svc_name}" if svc_name else "service/<none>"
    if ref is None or not svc_name or not owned:
        walk.links.append(Link("service", subject, SKIPPED, ""))
        return
    if snap.service.error is not None:
        walk.links.append(Link("service", subject, UNKNOWN, snap.service.error.message))
        if snap.service.error.kind == "forbidden":
            walk.notes.append(forbidden_note(subject, "the Service", snap.service.error.message,
                                             f"kubectl auth can-i get services -n {svc_ns}"))
        return
    svc = snap.service.value
    if svc is None:
        walk.links.append(Link("service", subject, BROKEN, "does not exist"))
        walk.broken("service", finding(
            "service-missing", subject,
            f"the APIService sends external-metrics requests to service {svc_ns}/{svc_name}, which does not exist: "
            "the HPA gets \"the server is currently unable to handle the request\"",
            "recreate the Cluster Agent's metrics Service (reinstall or upgrade the Helm release / Operator)",
            f"kubectl -n {svc_ns} get service {svc_name}"))
        return
    svc_port = ref.service_port
    sp = next((p for p in svc.ports if p.port == svc_port), None)
    exposed = ", ".join(str(p.port) for p in svc.ports) or "none"
    yaml_cmd = f"kubectl -n {svc_ns} get service {svc_name} -o yaml"
    if sp is None:
        walk.links.append(Link("service", subject, BROKEN, f"no port {svc_port} (exposes {exposed})"))
        walk.broken("service", finding(
            "service-port-mismatch", subject,
            f"the APIService uses port {svc_port} but service {svc_ns}/{svc_name} exposes {exposed}",
            "make the APIService's spec.service.port match the Service's metrics port", yaml_cmd))
        return
    target = sp.target_port
    resolved = int(target) if target.isdigit() else _container_port(inst, target)
    ready, not_ready = _endpoint_counts(snap, sp.name, resolved)
    metrics_port, port_source = _metrics_port(inst)
    ready_pods = serving_pods(inst)
    if metrics_port is not None and resolved != metrics_port:
        what = f"targetPort {target}" + (f" (= {resolved})" if resolved and not target.isdigit() else
                                         " (no such container port)" if resolved is None else "")
        walk.links.append(Link("service", subject, BROKEN,
                               f"port {svc_port} -> {what}, but the Cluster Agent listens on {metrics_port}"))
        walk.broken("service", finding(
            "service-port-mismatch", subject,
            f"service port {svc_port} forwards to {what}, but the Cluster Agent's metrics server listens on "
            f"{metrics_port} ({port_source})",
            f"set the Service's targetPort to {metrics_port}, or DD_EXTERNAL_METRICS_PROVIDER_PORT to match", yaml_cmd))
    elif ready == 0:
        walk.links.append(Link("service", subject, BROKEN,
                               f"port {svc_port} -> {target}, no ready endpoints ({not_ready} not ready)"))
        if inst is None or not inst.dca_pods or ready_pods:  # else the DCA is down: reported on its own link
            sel = ",".join(f"{k}={v}" for k, v in sorted(svc.selector.items())) or "<none>"
            walk.broken("service", finding(
                "service-no-endpoints", subject,
                f"service {svc_ns}/{svc_name} has no ready endpoints"
                + (f" although {len(ready_pods)} Cluster Agent pod(s) are ready: its selector {sel} does "
                   "not match them" if ready_pods else f" (selector {sel})"),
                "make the Service's selector match the Cluster Agent pods' labels",
                f"kubectl -n {svc_ns} get endpoints {svc_name}"))
    else:
        walk.links.append(Link("service", subject, OK, f"port {svc_port} -> {target}, {ready} ready endpoint(s)"))


def infrastructure(snap: HpaSnapshot, now: datetime) -> Infra:
    walk = Walk()
    ref = snap.apiservice.value if snap.apiservice.error is None else None
    owned = _apiservice_link(snap, walk)
    _service_link(snap, ref, owned, walk)
    dca_link(snap, ref.service_namespace if ref else "", now, walk)
    available = ref.available if ref else None
    if owned and available is not None and available.status != "True":
        walk.broken("apiservice", finding(
            "apiservice-unavailable", API_REF,
            f"{APISERVICE_NAME} is not Available ({available.reason}): {available.message}",
            "the API server cannot reach the Cluster Agent's metrics server; check its TLS and network policies",
            f"kubectl describe apiservice {APISERVICE_NAME}"))
        walk.links[0] = Link("apiservice", API_REF, BROKEN, walk.links[0].detail)

    candidates = walk.candidates
    step, broken = next((candidates[c] for c in PRIORITY if c in candidates), ("", None))
    # Every other broken link that does not follow from the verdict's is reported too, as its own
    # problem (keys missing while the Service also has the wrong port: two things to fix). Those that
    # follow from it stay what the chain shows them as (symptom / skipped); those on their own are
    # `independent` (e.g. the DCA's RBAC while another adapter owns the APIService).
    independent: set[str] = set()
    for code in PRIORITY:
        if code not in candidates or broken is None or code == broken.code:
            continue
        if broken.code == "install-leftovers-only" or broken.code in INFRA_SYMPTOMS.get(code, ()):
            continue
        walk.notes.append(candidates[code][1])
        if candidates[code][0] != step:
            independent.add(candidates[code][0])
    return Infra(tuple(walk.links), broken, step, tuple(walk.notes), frozenset(independent))
