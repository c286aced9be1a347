"""Collect what `hpa-explain` needs to walk an HPA's external-metric chain.

Phase 1 (one round trip): the HPA(s), the autoscaling API versions, the HPA events, the APIService,
the DatadogMetric CRD, and the Datadog install (discovery runs its own reads).
Phase 2 (one round trip): the APIService's Service and its endpoints, the key Secrets, the leader
lock, the metric sources (DatadogMetrics or the legacy ConfigMap) and the live values of the
external metrics API, all at once.

Parsing of the HPA shapes (autoscaling/v2, v2beta2, and v1 with its metrics annotation) lives here
too, as pure functions, like the lock parsing in collect/leader.py.
"""

from __future__ import annotations

from typing import Any, Callable

from kubectl_datadog.cluster import (
    APISERVICES,
    CONFIGMAPS,
    CRDS,
    DATADOGMETRICS,
    ENDPOINTS,
    ENDPOINTSLICES,
    EVENTS,
    HPAS_V1,
    HPAS_V2,
    HPAS_V2BETA2,
    SECRETS,
    SERVICES,
    Cluster,
    Resource,
)
from kubectl_datadog.collect import gather
from kubectl_datadog.collect.hpa_explain_dca import dca_access_checks, dca_log_tail, key_checks, secret_names
from kubectl_datadog.collect.install import discover, find_leftovers, pick_install
from kubectl_datadog.collect.leader import lock_kind, read_lock
from kubectl_datadog.collect.request import Request
from kubectl_datadog.errors import (
    NotFound,
    PluginError,
    SeveralInstalls,
    UsageError,
)
from kubectl_datadog.install import Install
from kubectl_datadog.snapshots.hpa_explain import (
    APISERVICE_NAME,
    DATADOGMETRIC_CRD,
    ExternalMetric,
    Got,
    Hpa,
    HpaSnapshot,
    LiveValue,
    MetricSource,
    parse_datadogmetric_ref,
    parse_hpa,
    read_error,
)
from kubectl_datadog.snapshots.hpa_explain_objects import (
    ApiService,
    DatadogMetricState,
    HpaEvent,
    configmap_data,
    endpoint_groups,
    parse_apiservice,
    parse_configmap_entry,
    parse_datadogmetric,
    parse_event,
    parse_service,
)



# --- collection ----------------------------------------------------------------------------------

def _autoscaling_version(doc: dict[str, Any] | None) -> str:
    """The newest HPA version the cluster serves; v2 when discovery gives no answer."""
    if not doc:
        return "v2"
    served = {str(v.get("version")) for v in doc.get("versions") or []}
    for version in ("v2", "v2beta2", "v1"):
        if version in served:
            return version
    return "v2"


HPA_RESOURCES = {"v2": HPAS_V2, "v2beta2": HPAS_V2BETA2, "v1": HPAS_V1}


def _read_hpas(cluster: Cluster, resource: Resource, namespace: str | None, name: str | None) -> list[dict[str, Any]]:
    if name:
        obj = cluster.get(resource, name, namespace)
        return [obj] if obj is not None else []
    return list(cluster.list(resource, namespace))


def _pick(installs: list[Install], apiservice: ApiService | None) -> Install | None:
    if not installs:
        return None
    svc_ns = apiservice.service_namespace if apiservice else ""
    with_dca = [i for i in installs if i.dca_pods] or installs
    if len(with_dca) > 1 and svc_ns:
        same = [i for i in with_dca if i.namespace == svc_ns]
        if len(same) == 1:
            return same[0]
    return pick_install(installs)


def configmap_keys(hpa: Hpa, metric: ExternalMetric) -> tuple[str, ...]:
    """The legacy store's data key for this HPA metric (current format, then the deprecated one)."""
    return (f"external_metric-horizontal-{hpa.namespace}-{hpa.name}-{metric.name}",
            f"external_metric-{hpa.namespace}-{hpa.name}-{metric.name}")


def _live(cluster: Cluster, hpa: Hpa, metric: ExternalMetric) -> LiveValue:
    try:
        doc = cluster.get_raw(metric.raw_path(hpa.namespace), metric.raw_query())
    except PluginError as exc:
        return LiveValue(error=read_error(exc))
    items = tuple((str(i.get("value", "")), i.get("timestamp")) for i in doc.get("items") or [])
    return LiveValue(items=items)


def collect_hpa_explain(cluster: Cluster, opts: Request, name: str | None) -> HpaSnapshot:
    if name and opts.all_namespaces:
        raise UsageError("a NAME cannot be combined with -A/--all-namespaces", hint="pass -n NAMESPACE instead")
    namespace = None if opts.all_namespaces else opts.namespace_in(cluster)

    # Phase 1. The HPA is read as v2 at once; another version only if discovery says v2 is not served.
    phase1: dict[str, Callable[[], Any]] = {
        "autoscaling": lambda: cluster.get_raw("/apis/autoscaling"),
        "hpas": lambda: _read_hpas(cluster, HPAS_V2, namespace, name),
        "apiservice": lambda: cluster.get(APISERVICES, APISERVICE_NAME),
        "crd": lambda: cluster.get(CRDS, DATADOGMETRIC_CRD),
        "installs": lambda: discover(cluster, namespace=opts.install_namespace, dca_selector=opts.dca_selector,
                                     agent_selector=opts.agent_selector, need_agents=False,
                                     fallback_namespace=opts.namespace_in(cluster)),
        "events": lambda: list(cluster.list(
            EVENTS, namespace, field_selector=(f"involvedObject.name={name}," if name else "")
            + "involvedObject.kind=HorizontalPodAutoscaler")),
    }
    got = gather(phase1)
    version = _autoscaling_version(got["autoscaling"].value)
    if version != "v2":
        raw_hpas = _read_hpas(cluster, HPA_RESOURCES[version], namespace, name)
    else:
        raw_hpas = got["hpas"].require()
    where = f'in the namespace "{namespace}"' if namespace else "in any namespace"
    if name and not raw_hpas:
        raise NotFound(f'horizontalpodautoscaler "{name}" not found {where}',
                       hint=f"list them with: kubectl get hpa {'-A' if namespace is None else '-n ' + namespace}")
    hpas = [parse_hpa(o) for o in raw_hpas]
    if name and not hpas[0].external:
        what = ", ".join(hpas[0].other_metrics) or "no metrics"
        raise NotFound(f"hpa {hpas[0].namespace}/{name} has no External metrics (it uses: {what})",
                       hint="hpa-explain explains HPAs on Datadog external metrics")
    hpas = sorted((h for h in hpas if h.external), key=lambda h: (h.namespace, h.name))

    apiservice = Got.of(got["apiservice"], parse_apiservice)
    install: Install | None = None
    install_error = ""
    try:
        install = _pick(got["installs"].get() or [], apiservice.value)
    except SeveralInstalls:
        raise
    except PluginError as exc:  # e.g. Forbidden to list pods: the DCA link becomes "unknown"
        install_error = exc.message
    if got["installs"].forbidden is not None:
        install_error = got["installs"].forbidden.message
    # No Datadog pod at all: what the install left behind is the whole cause of a broken chain.
    leftovers = find_leftovers(cluster, opts.install_namespace) \
        if install is None and not install_error and got["installs"].value == [] else ()

    events: dict[tuple[str, str], tuple[HpaEvent, ...]] = {}
    for ev in got["events"].value or []:
        inv = ev.get("involvedObject") or {}
        involved = (str(inv.get("namespace", "")), str(inv.get("name", "")))
        events[involved] = events.get(involved, ()) + (parse_event(ev),)

    # Phase 2: everything that depends on phase 1, at once.
    settings = install.settings if install else None
    calls: dict[str, Callable[[], Any]] = {}
    if apiservice.value is not None and apiservice.value.service_name:
        svc_ns, svc_name = apiservice.value.service_namespace, apiservice.value.service_name
        calls["service"] = lambda: cluster.get(SERVICES, svc_name, svc_ns)
        calls["endpoints"] = lambda: cluster.get(ENDPOINTS, svc_name, svc_ns)
        calls["slices"] = lambda: list(cluster.list(ENDPOINTSLICES, svc_ns,
                                                    label_selector=f"kubernetes.io/service-name={svc_name}"))
    for secret in (secret_names(install) if install else []):
        calls[f"secret:{secret}"] = lambda s=secret: cluster.get(SECRETS, s, install.namespace)  # type: ignore[union-attr]
    if settings is not None and settings.leader_election:
        kinds = [lock_kind(settings.lock_resource, None)] if settings.lock_resource else ["Lease", "ConfigMap"]
        for kind in kinds:
            calls[f"lock:{kind}"] = lambda k=kind: read_lock(cluster, k, settings.resources_namespace,
                                                             settings.lease_name)
    crd_mode = bool(settings and settings.use_datadogmetric_crd)
    if settings is not None and not crd_mode:
        calls["configmap"] = lambda: cluster.get(CONFIGMAPS, settings.hpa_configmap, settings.resources_namespace)
    refs: set[tuple[str, str]] = set()
    for hpa in hpas:
        for m in hpa.external:
            calls[f"live:{hpa.namespace}/{hpa.name}/{m.index}"] = lambda h=hpa, mm=m: _live(cluster, h, mm)
            ref = parse_datadogmetric_ref(m.name)
            if ref is not None:
                refs.add(ref)
    for ns, dm in sorted(refs):
        calls[f"dm:{ns}/{dm}"] = lambda ns=ns, dm=dm: cluster.get(DATADOGMETRICS, dm, ns)
    if crd_mode and any(parse_datadogmetric_ref(m.name) is None for h in hpas for m in h.external):
        calls["autogen"] = lambda: list(cluster.list(DATADOGMETRICS, settings.resources_namespace))  # type: ignore[union-attr]
    access_checks = dca_access_checks(install) if install else []
    if access_checks:
        calls["access"] = lambda: cluster.access(access_checks)
    got2 = gather(calls)
    answers = (got2["access"].value or []) if "access" in got2 else []
    # An answer missing (the reviews could not be made at all) is unknown, not allowed.
    dca_access = tuple((c, answers[i] if i < len(answers) else None) for i, c in enumerate(access_checks))

    secrets = {k.split(":", 1)[1]: v for k, v in got2.items() if k.startswith("secret:")}
    keys = key_checks(install, secrets) if install and install.dca_pods else ()
    locks = [got2[k].value for k in got2 if k.startswith("lock:") and got2[k].value is not None]
    lock = next((lk for lk in locks if lk.holder), locks[0] if locks else None)
    # Phase 3: the log of the replica that queries Datadog, once the lock has named it.
    dca_log = dca_log_tail(cluster, install, lock) if install and hpas else None
    configmap = Got.of(got2.get("configmap"), configmap_data)
    autogen_fetched = got2.get("autogen")
    autogen_all = [dm for dm in map(parse_datadogmetric, (autogen_fetched.value or []) if autogen_fetched else [])
                   if dm.name.startswith("dcaautogen-")]

    sources: dict[tuple[str, str, int], MetricSource] = {}
    live: dict[tuple[str, str, int], LiveValue] = {}
    cm_data = configmap.value or {}
    for hpa in hpas:
        for m in hpa.external:
            key = (hpa.namespace, hpa.name, m.index)
            live[key] = got2[f"live:{hpa.namespace}/{hpa.name}/{m.index}"].value or LiveValue(
                error=read_error(got2[f"live:{hpa.namespace}/{hpa.name}/{m.index}"].error))
            ref = parse_datadogmetric_ref(m.name)
            if ref is not None:
                sources[key] = MetricSource(datadogmetric=Got.of(got2.get(f"dm:{ref[0]}/{ref[1]}"), parse_datadogmetric))
            elif crd_mode:
                sources[key] = MetricSource(autogen=tuple(o for o in autogen_all if _autogen_matches(o, hpa, m)))
            else:
                entry_key = next((k for k in configmap_keys(hpa, m) if k in cm_data), configmap_keys(hpa, m)[0])
                raw = cm_data.get(entry_key)
                entry = parse_configmap_entry(entry_key, raw) if raw is not None else None
                sources[key] = MetricSource(configmap_key=entry_key, configmap_entry=entry,
                                            configmap_entry_malformed=raw is not None and entry is None)

    return HpaSnapshot(
        namespace=namespace, name=name, hpas=tuple(hpas), autoscaling_version=version, events=events,
        events_error=read_error(got["events"].error), apiservice=apiservice,
        service=Got.of(got2.get("service"), parse_service),
        endpoints=endpoint_groups(got2["endpoints"].value if "endpoints" in got2 else None,
                                  (got2["slices"].value or []) if "slices" in got2 else []),
        install=install, install_error=install_error, keys=keys, lock=lock,
        crd=Got.of(got["crd"], lambda _: DATADOGMETRIC_CRD),
        configmap=configmap, sources=sources, live=live, leftovers=leftovers, install_scope=opts.install_namespace,
        datadogmetrics_error=read_error(autogen_fetched.error) if autogen_fetched else None, dca_access=dca_access,
        dca_log=dca_log)


def _autogen_matches(dm: DatadogMetricState, hpa: Hpa, metric: ExternalMetric) -> bool:
    """An autogen DatadogMetric carries the metric name it serves and, once the leader processed
    the HPA, a reference to it; match on the name and prefer one that references this HPA."""
    if dm.external_metric_name.lower() != metric.name.lower():
        return False
    refs = dm.autoscaler_references
    return not refs or f"hpa:{hpa.namespace}/{hpa.name}" in refs


