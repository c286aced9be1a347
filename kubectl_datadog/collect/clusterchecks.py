"""Collect what `clusterchecks` needs: the install, its Cluster Checks Runners, the annotated
Services and their endpoints, the DCA's conf.d files, the nodes, the leader, the permissions of
whoever runs kube-state-metrics core, and the leader's own account: its `clusterchecks` and `status`
with exec, else (or when they fail) its telemetry (`cluster_checks_*` on :5000) through pods/proxy.

Reads run concurrently in two rounds: what the install and the Services say, then what they
point at (endpoints of the annotated Services, the conf.d ConfigMaps), with the access reviews
and the execs going on meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from kubectl_datadog.cluster import CONFIGMAPS, DEPLOYMENTS, ENDPOINTS, ENDPOINTSLICES, NODES, PODS, SERVICES, \
    AccessCheck, Cluster
from kubectl_datadog.cluster.selectors import parse_label_selector
from kubectl_datadog.collect import gather, start
from kubectl_datadog.collect.exec import run_dca_cli
from kubectl_datadog.collect.install import agent_env, discover, pick_install, require_installs
from kubectl_datadog.collect.request import Request
from kubectl_datadog.errors import Forbidden, NotFound, PluginError
from kubectl_datadog.install import AGENT_CONTAINER, Install
from kubectl_datadog.objects import EnvVar, Pod, conditions
from kubectl_datadog.snapshots.clusterchecks import (
    KSM_CORE,
    SETTING_ENV,
    ClusterChecksSnapshot,
    DcaView,
    DispatchSettings,
    RunnerDeployment,
    TelemetryRead,
    Worker,
    worker_providers,
)
from kubectl_datadog.snapshots import Fetched
from kubectl_datadog.snapshots.clusterchecks_configs import (
    AnnotatedService,
    ConfdFile,
    annotated_service,
    confd_file,
    endpoints_addresses,
    slice_addresses,
)
from kubectl_datadog.textformats.clusterchecks import ClusterChecksParseError, dispatching_status, parse_clusterchecks
from kubectl_datadog.textformats.clusterchecks_telemetry import cluster_checks_telemetry
from kubectl_datadog.textformats.prometheus import PrometheusParseError, parse_prometheus

# Helm (agent.datadoghq.com/component since 3.140, app.kubernetes.io/component before) and the Operator.
RUNNER_SELECTORS = ("agent.datadoghq.com/component=cluster-checks-runner",
                    "app.kubernetes.io/component=clusterchecks-agent")
CONFD_MOUNT_HINTS = ("conf.d", "/confd")
METRICS_PORT_NAME = "agentmetrics"  # Helm's name for the DCA's telemetry port
DEFAULT_METRICS_PORT = 5000

# What kube-state-metrics core lists and watches (its default collectors' kinds): missing any of
# them makes the check fail with "... is forbidden" on the runner (datadog-operator#253).
KSM_KINDS = (("", "pods"), ("", "nodes"), ("", "namespaces"), ("", "services"), ("", "persistentvolumeclaims"),
             ("apps", "deployments"), ("apps", "daemonsets"), ("apps", "replicasets"), ("apps", "statefulsets"),
             ("batch", "jobs"), ("batch", "cronjobs"))


@dataclass(frozen=True)
class ClusterChecksOptions:
    check: str = ""  # CHECK: only configs of this check


def _runner_pods(cluster: Cluster, namespace: str) -> list[Pod]:
    seen: dict[str, Pod] = {}
    for sel in RUNNER_SELECTORS:
        for obj in cluster.list(PODS, namespace, label_selector=sel):
            pod = Pod.from_dict(obj)
            seen.setdefault(pod.name, pod)
    return sorted(seen.values(), key=lambda p: p.name)


def _template_labels(obj: dict[str, Any]) -> dict[str, str]:
    return ((((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})


def _runner_deployment(objs: list[dict[str, Any]]) -> RunnerDeployment | None:
    for obj in objs:
        labels = _template_labels(obj)
        if any(parse_label_selector(s)(labels) for s in RUNNER_SELECTORS):
            meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
            pod_spec = (spec.get("template") or {}).get("spec") or {}
            return RunnerDeployment(meta.get("namespace", ""), meta.get("name", ""),
                                    int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1),
                                    int(status.get("readyReplicas") or 0),
                                    pod_spec.get("serviceAccountName") or "default")
    return None


def _confd_configmaps(deployment: dict[str, Any] | None, container: str) -> list[tuple[str, str]]:
    """(ConfigMap name, check directory or "") of every ConfigMap volume the DCA container mounts
    under a conf.d path (Helm `<fullname>-cluster-agent-confd` at /conf.d; the Operator's
    kube-state-metrics core ConfigMap at conf.d/kubernetes_state_core.d)."""
    if deployment is None:
        return []
    pod_spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    volumes = {v.get("name"): (v.get("configMap") or {}).get("name") for v in pod_spec.get("volumes") or []
               if v.get("configMap")}
    out = []
    for c in pod_spec.get("containers") or []:
        if c.get("name") != container:
            continue
        for m in c.get("volumeMounts") or []:
            path = str(m.get("mountPath", ""))
            cm = volumes.get(m.get("name"))
            if cm and any(h in path for h in CONFD_MOUNT_HINTS):
                last = path.rstrip("/").rsplit("/", 1)[-1]
                out.append((cm, last[:-2] if last.endswith(".d") and last != "conf.d" else ""))
    return out


def _ksm_access(sa_namespace: str, service_account: str) -> list[AccessCheck]:
    user = f"system:serviceaccount:{sa_namespace}:{service_account}"
    return [AccessCheck(verb, plural, group, None, None, user) for group, plural in KSM_KINDS
            for verb in ("list", "watch")]


def _endpoint_reads(cluster: Cluster, services: list[AnnotatedService],
                    use_slices: bool) -> dict[str, Callable[[], Any]]:
    """One read per Service with endpoint check annotations: its Endpoints, or its EndpointSlices when
    the DCA uses them (the kube_endpoints provider reads the same)."""
    reads: dict[str, Callable[[], Any]] = {}
    for svc in services:
        if svc.endpoints is None or svc.endpoints.error:
            continue
        if use_slices:
            reads[f"ep/{svc.namespace}/{svc.name}"] = (lambda s=svc: list(cluster.list(
                ENDPOINTSLICES, s.namespace, label_selector=f"kubernetes.io/service-name={s.name}")))
        else:
            reads[f"ep/{svc.namespace}/{svc.name}"] = (lambda s=svc: cluster.get(ENDPOINTS, s.name, s.namespace))
    return reads


def _with_endpoints(svc: AnnotatedService, fetched: Fetched[Any] | None, use_slices: bool) -> AnnotatedService:
    if fetched is None:
        return svc
    if fetched.forbidden is not None:
        return replace(svc, endpoints_read=False, endpoints_forbidden=fetched.forbidden)
    value = fetched.get()
    addrs, not_ready = slice_addresses(value or []) if use_slices else endpoints_addresses(value or {})
    return replace(svc, endpoints_read=True, endpoints_exist=bool(value) if use_slices else value is not None,
                   addresses=addrs, not_ready=not_ready)


def _with_missing_targets(cluster: Cluster, files: list[ConfdFile]) -> list[ConfdFile]:
    """Each file bound to Services or Endpoints (advanced_ad_identifiers), with those that do not
    exist. A target we may not read is not called missing."""
    wanted = sorted({t for f in files for t in f.targets})
    if not wanted:
        return files
    got = gather({f"{k}/{ns}/{n}": (lambda k=k, ns=ns, n=n: cluster.get(SERVICES if k == "kube_service" else ENDPOINTS,
                                                                       n, ns)) for k, ns, n in wanted})
    gone = {t for t in wanted if got[f"{t[0]}/{t[1]}/{t[2]}"].error is None and got[f"{t[0]}/{t[1]}/{t[2]}"].value is None}
    return [replace(f, missing=tuple(t for t in f.targets if t in gone)) for f in files]


def _provider_access(install: Install) -> list[AccessCheck]:
    user = f"system:serviceaccount:{install.namespace}:{install.dca_pods[0].service_account}"
    slices = install.settings is not None and install.settings.use_endpoint_slices
    kinds = [("", "services"), ("discovery.k8s.io", "endpointslices") if slices else ("", "endpoints")]
    return [AccessCheck(verb, plural, group, None, None, user) for group, plural in kinds for verb in ("list", "watch")]


def _node_ready(obj: dict[str, Any]) -> bool:
    ready = conditions(obj).get("Ready")
    return ready is not None and ready.status == "True"


def collect_clusterchecks(cluster: Cluster, request: Request, options: ClusterChecksOptions) -> ClusterChecksSnapshot:
    from kubectl_datadog.collect.metamap import choose_dca_pod

    installs = require_installs(cluster, discover(cluster, namespace=request.install_namespace,
                                                  dca_selector=request.dca_selector,
                                                  agent_selector=request.agent_selector,
                                                  fallback_namespace=request.namespace_in(cluster)),
                                request.install_namespace)
    install = pick_install(installs)
    ns_filter = None if request.all_namespaces or not request.namespace else request.namespace
    ns = install.namespace
    first: dict[str, Callable[[], Any]] = {
        "runners": lambda: _runner_pods(cluster, ns),
        "deployments": lambda: list(cluster.list(DEPLOYMENTS, ns)),
        "services": lambda: [s for s in (annotated_service(o) for o in cluster.list(SERVICES, ns_filter)) if s],
        "nodes": lambda: {(o.get("metadata") or {}).get("name", ""): _node_ready(o) for o in cluster.list(NODES)},
    }
    if install.dca_pods:
        first["leader"] = lambda: choose_dca_pod(cluster, install)
    got = gather(first)
    runner_pods = got["runners"].get() or []
    deployments = got["deployments"].get() or []
    runner_deployment = _runner_deployment(deployments)
    forbidden = got["runners"].forbidden or got["deployments"].forbidden
    leader_pod, leader_why = got["leader"].require() if "leader" in got else (None, "there is no Cluster Agent")
    leader = leader_pod.name if leader_pod is not None and leader_why == "leader" else ""

    settings = None
    if install.settings is not None:
        hidden = _env_from_may_set(install.dca_pods[0], install.dca_container, install.settings.env)
        settings = DispatchSettings.from_env(install.settings.env,
                                             tuple(u.name for u in install.settings.unread) + hidden)
    dca_deployment = next((d for d in deployments if (d.get("metadata") or {}).get("name") == install.dca_deployment),
                          None)
    confd_maps = _confd_configmaps(dca_deployment, install.dca_container)

    # Whoever runs kube-state-metrics core needs its list/watch: the runners when its file is a
    # cluster check and runners exist, else the DCA itself. Both are asked: which one applies is
    # known once the conf.d files are read, and the reviews run meanwhile.
    subjects: dict[str, list[AccessCheck]] = {}
    if runner_deployment is not None:
        subjects["runner"] = _ksm_access(ns, runner_deployment.service_account)
    if install.dca_pods:
        subjects["dca"] = _ksm_access(ns, install.dca_pods[0].service_account)
    # What the DCA's own config providers read: kube_services lists and watches Services,
    # kube_endpoints Endpoints (or EndpointSlices with DD_KUBERNETES_USE_ENDPOINT_SLICES).
    if install.dca_pods:
        subjects["providers"] = _provider_access(install)
    reviews = start({k: (lambda c=c: cluster.access(c)) for k, c in subjects.items()})
    views = start({"dca": lambda: _ask_dca(cluster, request.request_timeout, install, leader_pod, leader_why,
                                           request.exec_allowed)}) if install.dca_pods else None
    services = got["services"].get() or []
    use_slices = install.settings.use_endpoint_slices if install.settings else False
    second: dict[str, Callable[[], Any]] = {
        f"cm/{name}": (lambda name=name: cluster.get(CONFIGMAPS, name, ns)) for name, _ in confd_maps}
    second.update(_endpoint_reads(cluster, services, use_slices))
    more = gather(second)
    read_services = [_with_endpoints(svc, more.get(f"ep/{svc.namespace}/{svc.name}"), use_slices) for svc in services]
    maps = [(name, check_dir, more[f"cm/{name}"]) for name, check_dir in confd_maps]
    unread = [f"{name} ({read.error.message})" for name, _, read in maps if read.error is not None]
    files = [f for name, check_dir, read in maps if read.error is None
             for key, text in sorted(((read.value or {}).get("data") or {}).items())
             if (f := confd_file(name, key, str(text), check_dir)) is not None]
    confd = _with_missing_targets(cluster, files)

    workers = [Worker(p, "node-agent", _providers(p)) for p in install.agent_pods]
    workers += [Worker(p, "runner", _providers(p)) for p in runner_pods]
    ksm = next((f for f in confd if f.check == KSM_CORE), None)
    on_runners = ksm is not None and ksm.cluster_check and runner_deployment is not None
    who = "runner" if on_runners else "dca"
    access = reviews.results().get(who)
    checks = subjects.get(who, [])
    answers = (access.get() or []) if access is not None else []
    subject = (f"{ns}/{runner_deployment.service_account}" if who == "runner" and runner_deployment
               else f"{ns}/{install.dca_pods[0].service_account}" if install.dca_pods else "")
    view = views.results()["dca"].require() if views is not None else None
    return ClusterChecksSnapshot(
        install=install, settings=settings, workers=tuple(workers), runner_deployment=runner_deployment,
        runner_lookup_forbidden=forbidden, nodes=got["nodes"].get(), services=tuple(read_services),
        services_forbidden=got["services"].forbidden, confd=tuple(confd), confd_unread=tuple(unread),
        leader=leader, leader_why=leader_why,
        access=tuple(zip(checks, answers, strict=False)) if ksm is not None else (),
        access_subject=subject if ksm is not None else "",
        provider_access=tuple(zip(subjects.get("providers", []),
                                  (reviews.results()["providers"].get() or []) if "providers" in subjects else [],
                                  strict=False)),
        dca=view, exec_allowed=request.exec_allowed,
        check_filter=options.check, namespace_filter=ns_filter)


def _env_from_may_set(pod: Pod, container: str, env: Mapping[str, EnvVar],
                      names: tuple[str, ...] = SETTING_ENV) -> tuple[str, ...]:
    """The settings an envFrom ConfigMap/Secret of the container may set (their prefix matches) and
    that no explicit env var sets: unknown, never their default."""
    c = pod.container(container)
    sources = [e for e in (c.env if c is not None else ()) if e.is_env_from]
    return tuple(n for n in names if n not in env and any(s.env_from_key(n) is not None for s in sources))


def _providers(pod: Pod) -> frozenset[str] | None:
    env = agent_env(pod)
    if _env_from_may_set(pod, AGENT_CONTAINER, env, ("DD_EXTRA_CONFIG_PROVIDERS",)):
        return None
    return worker_providers(env)


def _ask_dca(cluster: Cluster, timeout: float | None, install: Install, pod: Pod | None, why: str,
             exec_allowed: bool) -> DcaView:
    """The DCA's own account: its `clusterchecks` and `status` when exec is allowed, else (or when
    they give no state) its telemetry through pods/proxy."""
    if pod is None:
        return DcaView("", why, None, None, None, None)
    view = _exec_view(cluster, timeout, install, pod, why) if exec_allowed else \
        DcaView(f"{pod.namespace}/{pod.name}", why, None, None, None, None)
    if view.state is not None:
        return view
    telemetry = _read_telemetry(cluster, timeout, install, pod)
    return replace(view, telemetry=telemetry,
                   state=telemetry.telemetry.state() if telemetry.telemetry is not None else None)


def _metrics_port(install: Install, pod: Pod) -> int:
    """The DCA's telemetry port: the container port Helm names `agentmetrics`, else DD_METRICS_PORT,
    else the default 5000 (reference datadog-agent.md §5.1)."""
    named = pod.port_named(METRICS_PORT_NAME)
    if named:
        return named
    var = install.settings.env.get("DD_METRICS_PORT") if install.settings is not None else None
    if var is not None and var.value and var.value.isdigit():
        return int(var.value)
    return DEFAULT_METRICS_PORT


def _read_telemetry(cluster: Cluster, timeout: float | None, install: Install, pod: Pod) -> TelemetryRead:
    read = TelemetryRead(f"{pod.namespace}/{pod.name}", _metrics_port(install, pod))
    try:
        text = cluster.proxy_get(pod.namespace, pod.name, read.port, read.path, timeout=timeout)
    except Forbidden as exc:
        return replace(read, forbidden=exc)
    except NotFound:
        return replace(read, error=f"the pod serves no /{read.path} on port {read.port} (404)")
    except PluginError as exc:
        return replace(read, error=f"could not read it through the API server's proxy: {exc.message}")
    try:
        samples = parse_prometheus(text)
    except PrometheusParseError as exc:
        return replace(read, error=f"its answer is not Prometheus text: {exc}")
    telemetry = cluster_checks_telemetry(samples)
    if telemetry.state() is None:
        return replace(read, telemetry=telemetry,
                       error="its telemetry has no cluster_checks_* series: cluster checks are off, this pod "
                             "does not dispatch, or the leader is still warming up")
    return replace(read, telemetry=telemetry)


def _exec_view(cluster: Cluster, timeout: float | None, install: Install, pod: Pod, why: str) -> DcaView:
    # The whole answer even for one CHECK (not `--check`): the rows are filtered after the comparison,
    # and a check the API does not show is still matched against everything the DCA holds.
    calls = {"cc": lambda: run_dca_cli(cluster, install, pod, ["clusterchecks"], timeout=timeout),
             "status": lambda: run_dca_cli(cluster, install, pod, ["status"], timeout=timeout)}
    got = gather(calls)
    cc, status = got["cc"].require(), got["status"].require()
    state = None
    error = ""
    if cc.ok:
        try:
            state = parse_clusterchecks(cc.stdout)
        except ClusterChecksParseError as exc:
            error = str(exc)
    dispatching = dispatching_status(status.stdout) if status.ok else None
    return DcaView(f"{pod.namespace}/{pod.name}", why, cc, state, status, dispatching, error)
