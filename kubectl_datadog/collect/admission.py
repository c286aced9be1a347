"""Collect what `admission-explain` needs to walk a pod's admission chain.

Phase 1 (one round trip): the pod(s), the mutating webhook configurations (all of them: one small
cluster-scoped list), the namespaces, the FailedCreate events, the first nodes (platform hints)
and the Datadog install (discovery runs its own reads).
Phase 2 (one round trip, needs the install's settings): the admission Service and its
EndpointSlices, the certificate Secret, the DCA pods' Ready times, and with exec the DCA's status.
So one namespace of many pods costs about one list plus the install reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from kubectl_datadog.cluster import (
    ENDPOINTSLICES,
    EVENTS,
    MUTATINGWEBHOOKCONFIGURATIONS,
    NAMESPACES,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    Cluster,
)
from kubectl_datadog.collect import gather
from kubectl_datadog.collect.exec import run_dca_cli
from kubectl_datadog.collect.install import discover, pick_install
from kubectl_datadog.collect.leader import lock_kind, read_lock
from kubectl_datadog.collect.request import Request
from kubectl_datadog.errors import NotFound, PluginError, SeveralInstalls, UsageError
from kubectl_datadog.install import ADMISSION_SETTING_NAMES, Install
from kubectl_datadog.objects import Service, endpoint_ready
from kubectl_datadog.snapshots.admission import (
    AdmissionSnapshot,
    NamespaceInfo,
    ServiceEndpoints,
    WebhookConfig,
    parse_app_pod,
    parse_dca_replica,
    parse_event,
    parse_ssi_targets,
    parse_webhook_config,
)
from kubectl_datadog.snapshots.admission_cert import parse_certificate_secret
from kubectl_datadog.snapshots.hpa_explain import read_error
from kubectl_datadog.textformats.admission_status import admission_status

PLATFORM_NODES = 20  # node labels of the first page say which platform it is; no need for all nodes
# (label prefix or name, platform), as the providers label their nodes
PLATFORM_LABELS = (("cloud.google.com/gke-provisioning", "gke-autopilot"), ("cloud.google.com/gke-nodepool", "gke"),
                   ("eks.amazonaws.com/", "eks"), ("kubernetes.azure.com/", "aks"),
                   ("node.openshift.io/", "openshift"))


@dataclass(frozen=True)
class AdmissionOptions:
    pod: str | None = None
    selector: str = ""  # -l: which app pods


def _platforms(nodes: list[dict[str, Any]]) -> tuple[str, ...]:
    found: list[str] = []
    for n in nodes:
        labels = (n.get("metadata") or {}).get("labels") or {}
        for prefix, platform in PLATFORM_LABELS:
            if any(k.startswith(prefix) for k in labels) and platform not in found:
                if platform == "gke" and "gke-autopilot" in found:
                    continue
                found.append(platform)
    if "gke-autopilot" in found and "gke" in found:
        found.remove("gke")
    return tuple(found)


def _first(items: Any, n: int) -> list[dict[str, Any]]:
    out = []
    for obj in items:
        out.append(obj)
        if len(out) >= n:
            break
    return out


def _pick(installs: list[Install], webhook_namespaces: set[str]) -> Install | None:
    if not installs:
        return None
    with_dca = [i for i in installs if i.dca_pods] or installs
    if len(with_dca) > 1:
        same = [i for i in with_dca if i.namespace in webhook_namespaces]
        if len(same) == 1:
            return same[0]
    return pick_install(installs)


def _endpoints(slices: list[dict[str, Any]], target_port: int | None) -> ServiceEndpoints:
    ready: list[str] = []
    not_ready: list[str] = []
    ports: set[int] = set()
    for s in slices:
        slice_ports = {int(p.get("port") or 0) for p in s.get("ports") or []}
        ports |= slice_ports
        if target_port is not None and slice_ports and target_port not in slice_ports:
            continue
        for ep in s.get("endpoints") or []:
            (ready if endpoint_ready(ep) else not_ready).extend(str(a) for a in ep.get("addresses") or [])
    return ServiceEndpoints(tuple(sorted(set(ready))), tuple(sorted(set(not_ready))), tuple(sorted(ports)))


def target_port_of(service: Service | None, port: int) -> int | None:
    """The numeric targetPort behind Service port `port` (None: named, or no such port)."""
    sp = next((p for p in (service.ports if service else ()) if p.port == port), None)
    if sp is None:
        return None
    return int(sp.target_port) if sp.target_port.isdigit() else None


def collect_admission(cluster: Cluster, request: Request, options: AdmissionOptions) -> AdmissionSnapshot:
    if options.pod and request.all_namespaces:
        raise UsageError("a POD cannot be combined with -A/--all-namespaces", hint="pass -n NAMESPACE instead")
    namespace = None if request.all_namespaces else request.namespace_in(cluster)

    def pods() -> list[dict[str, Any]]:
        if options.pod:
            obj = cluster.get(PODS, options.pod, namespace)
            return [obj] if obj is not None else []
        return list(cluster.list(PODS, namespace, label_selector=options.selector))

    phase1: dict[str, Callable[[], Any]] = {
        "installs": lambda: discover(cluster, namespace=request.install_namespace, dca_selector=request.dca_selector,
                                     agent_selector=request.agent_selector, need_agents=False,
                                     fallback_namespace=request.namespace_in(cluster)),
        "pods": pods,
        "mwcs": lambda: list(cluster.list(MUTATINGWEBHOOKCONFIGURATIONS)),
        "namespaces": lambda: list(cluster.list(NAMESPACES, metadata_only=True)),
        "events": lambda: list(cluster.list(EVENTS, namespace, field_selector="reason=FailedCreate")),
        "nodes": lambda: _first(cluster.list(NODES, metadata_only=True, page_size=PLATFORM_NODES), PLATFORM_NODES),
    }
    got = gather(phase1)
    raw_pods = got["pods"].require()
    if options.pod and not raw_pods:
        raise NotFound(f'pod "{options.pod}" not found in the namespace "{namespace}"',
                       hint=f"list them with: kubectl get pods -n {namespace}")
    app_pods = sorted((parse_app_pod(o) for o in raw_pods), key=lambda p: (p.namespace, p.name))

    install: Install | None = None
    install_error = ""
    mwcs = [parse_webhook_config(o) for o in (got["mwcs"].value or [])]
    webhook_namespaces = {e.service_namespace for c in mwcs for e in c.entries if e.role in ("config", "tags", "lib")}
    try:
        install = _pick(got["installs"].get() or [], webhook_namespaces)
    except SeveralInstalls:
        raise
    except PluginError as exc:
        install_error = exc.message
    if got["installs"].forbidden is not None:
        install_error = got["installs"].forbidden.message
    dca_pod_names = {(p.namespace, p.name) for p in (install.dca_pods if install else ())}
    app_pods = [p for p in app_pods if (p.namespace, p.name) not in dca_pod_names or options.pod]

    settings = install.settings.admission if install and install.settings else None
    unknown = tuple(u.name for u in (install.settings.unread if install and install.settings else ())
                    if u.name in ADMISSION_SETTING_NAMES)
    ours: WebhookConfig | None = None
    if settings is not None:
        ours = next((c for c in mwcs if c.name == settings.webhook_name), None)
    else:
        ours = next((c for c in mwcs if any(e.role in ("config", "tags", "lib") for e in c.entries)), None)
    others = tuple(sorted(c.name for c in mwcs if c is not ours and any(e.creates_pods for e in c.entries)))

    # Phase 2: what depends on the install and its webhook configuration.
    entry = next((e for e in (ours.entries if ours else ()) if e.role in ("config", "tags", "lib") and e.service_name),
                 None)
    if entry is not None:
        svc_ns, svc_name, svc_port = entry.service_namespace, entry.service_name, entry.service_port
    elif install is not None and install.settings is not None and settings is not None:
        svc_ns, svc_name, svc_port = install.settings.resources_namespace, settings.service_name, 443
    else:
        svc_ns, svc_name, svc_port = "", "", 443
    calls: dict[str, Callable[[], Any]] = {}
    if svc_name:
        calls["service"] = lambda: cluster.get(SERVICES, svc_name, svc_ns)
        calls["slices"] = lambda: list(cluster.list(ENDPOINTSLICES, svc_ns,
                                                    label_selector=f"kubernetes.io/service-name={svc_name}"))
    if install is not None and install.settings is not None and settings is not None:
        secret_ns, secret_name = install.settings.resources_namespace, settings.certificate_secret
        calls["secret"] = lambda: cluster.get(SECRETS, secret_name, secret_ns)
    for p in install.dca_pods if install else ():
        calls[f"dca:{p.name}"] = lambda p=p: cluster.get(PODS, p.name, p.namespace)
    want_status = bool(install is not None and install.dca_pods and request.exec_allowed and settings is not None
                       and settings.enabled)
    if want_status and install is not None and install.settings is not None and install.settings.leader_election:
        # The leader reconciles the webhook and runs the connectivity probe: its status says most.
        dcas = install.settings
        kinds = [lock_kind(dcas.lock_resource, None)] if dcas.lock_resource else ["Lease", "ConfigMap"]
        for kind in kinds:
            calls[f"lock:{kind}"] = lambda k=kind: read_lock(cluster, k, dcas.resources_namespace, dcas.lease_name)
    got2 = gather(calls)

    service_obj = got2["service"].value if "service" in got2 else None
    service = Service.from_dict(service_obj) if service_obj else None
    endpoints = None
    if "slices" in got2 and got2["slices"].error is None:
        endpoints = _endpoints(got2["slices"].value or [], target_port_of(service, svc_port))
    secret = got2.get("secret")
    certificate = parse_certificate_secret(secret.value) if secret is not None and secret.value else None
    replicas = tuple(parse_dca_replica(got2[k].value) for k in got2 if k.startswith("dca:") and got2[k].value)
    status, status_pod, status_error = None, "", ""
    if want_status and install is not None:
        holders = {got2[k].value.holder for k in got2 if k.startswith("lock:") and got2[k].value is not None}
        ready = [p for p in install.dca_pods if p.ready] or list(install.dca_pods)
        pod = next((p for p in ready if p.name in holders), ready[0])
        outcome = run_dca_cli(cluster, install, pod, ("status",), timeout=request.request_timeout)
        status_pod = pod.name
        if outcome.ok:
            status = admission_status(outcome.stdout)
            status_error = "" if status is not None else "its status has no Admission Controller section"
        else:
            status_error = outcome.problem
    targets, targets_error = parse_ssi_targets(settings.ssi_targets if settings else "")
    return AdmissionSnapshot(
        namespace=namespace, pod_name=options.pod, selector=options.selector, install=install,
        install_error=install_error, settings=settings, unknown_settings=unknown, mutating=ours,
        mutating_error=read_error(got["mwcs"].error), service=service,
        service_error=read_error(got2["service"].error) if "service" in got2 else None, endpoints=endpoints,
        endpoints_error=read_error(got2["slices"].error) if "slices" in got2 else None, dca_replicas=replicas,
        certificate=certificate, certificate_error=read_error(secret.error) if secret is not None else None,
        namespaces={str((o.get("metadata") or {}).get("name", "")): NamespaceInfo(
            str((o.get("metadata") or {}).get("name", "")), dict((o.get("metadata") or {}).get("labels") or {}))
            for o in got["namespaces"].value or []},
        namespaces_error=read_error(got["namespaces"].error), pods=tuple(app_pods),
        events=tuple(parse_event(o) for o in got["events"].value or []), events_error=read_error(got["events"].error),
        ssi_targets=targets, ssi_targets_error=targets_error, platform=_platforms(got["nodes"].value or []), status=status, status_pod=status_pod, status_error=status_error,
        other_webhooks=others)
