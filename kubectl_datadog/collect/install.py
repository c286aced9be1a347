"""Find the Datadog install(s): Cluster Agent and node Agent pods of Helm (old and new labels),
Operator and plain-manifest installs, in any namespace, with server-side label selectors.

Phase 1 lists every candidate selector at once (one round trip); phase 2 only runs for what phase 1
could not settle (old Helm agents known only by their DaemonSet, env values from ConfigMaps).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable

from kubectl_datadog.cluster import (
    APISERVICES,
    CONFIGMAPS,
    DAEMONSETS,
    DEPLOYMENTS,
    LEASES,
    PODS,
    SECRETS,
    SERVICES,
    Cluster,
)
from kubectl_datadog.cluster.selectors import match_labels_selector
from kubectl_datadog.collect import gather
from kubectl_datadog.collect.shared import SharedReads
from kubectl_datadog.errors import Forbidden, NoInstall, OnlyLeftovers, SeveralInstalls
from kubectl_datadog.install import (
    AGENT_CONTAINER,
    DCA_CONTAINER,
    DEFAULT_LEASE_NAME,
    DEFAULT_TOKEN_CONFIGMAP,
    SETTING_NAMES,
    DcaSettings,
    Install,
    Leftover,
    UnreadSetting,
)
from kubectl_datadog.objects import EnvVar, Pod, resolve_field, setting_from_secret
from kubectl_datadog.snapshots.leader import LEADER_ANNOTATION, lock_from_configmap, lock_from_lease

# Operator and Helm >= 3.140 set agent.datadoghq.com/component; every Helm chart sets
# app.kubernetes.io/component on the DCA; plain manifests from the docs use app=datadog-*.
# (label, its value on the DCA, its value on node Agents)
KNOWN_LABELS = (("agent.datadoghq.com/component", "cluster-agent", "agent"),
                ("app.kubernetes.io/component", "cluster-agent", "agent"),
                ("app", "datadog-cluster-agent", "datadog-agent"))
DCA_SELECTORS = tuple(f"{k}={dca}" for k, dca, _ in KNOWN_LABELS)
AGENT_SELECTORS = tuple(f"{k}={agent}" for k, _, agent in KNOWN_LABELS)


def _dca_container(pod: Pod) -> str:
    if pod.container(DCA_CONTAINER):
        return DCA_CONTAINER
    named = next((c.name for c in pod.containers if "cluster-agent" in c.image), "")
    return named or (pod.containers[0].name if pod.containers else DCA_CONTAINER)


def _deployment_of(pod: Pod, env: dict[str, EnvVar]) -> str:
    declared = env.get("CLUSTER_AGENT_DEPLOYMENT")
    if declared and declared.value:
        return declared.value
    if pod.owner_kind == "ReplicaSet":
        pth = pod.labels.get("pod-template-hash")
        if pth and pod.owner_name.endswith("-" + pth):
            return pod.owner_name[: -len(pth) - 1]
        return re.sub(r"-[a-z0-9]{5,10}$", "", pod.owner_name)
    return pod.owner_name or pod.labels.get("app", "") or pod.name


def _flavor(pod: Pod, env: dict[str, EnvVar]) -> str:
    managed = pod.labels.get("app.kubernetes.io/managed-by", "").lower()
    if managed == "datadog-operator" or "DATADOGAGENT_CR_NAME" in env or "agent.datadoghq.com/name" in pod.labels:
        return "operator"
    if managed == "helm" or "helm.sh/chart" in pod.labels or "CHART_RELEASE_NAME" in env:
        return "helm"
    return "manifest"


def _install_name(pod: Pod, env: dict[str, EnvVar], flavor: str, deployment: str) -> str:
    if flavor == "operator":
        dda = env.get("DATADOGAGENT_CR_NAME")
        return (dda.value if dda and dda.value else "") or pod.labels.get("agent.datadoghq.com/name", "") \
            or deployment.removesuffix("-cluster-agent")
    daemonset = env.get("AGENT_DAEMONSET")
    if daemonset and daemonset.value:
        return daemonset.value
    return deployment.removesuffix("-cluster-agent") or deployment


def _unique(pods: Iterable[dict]) -> list[Pod]:
    seen: dict[tuple[str, str], Pod] = {}
    for obj in pods:
        pod = Pod.from_dict(obj)
        seen.setdefault((pod.namespace, pod.name), pod)
    return sorted(seen.values(), key=lambda p: (p.namespace, p.name))


def discover(cluster: Cluster, *, namespace: str | None = None, dca_selector: str = "",
             agent_selector: str = "", need_agents: bool = True, fallback_namespace: str | None = None) -> list[Install]:
    """Every install visible with these filters, sorted. Raises what the pod lists raise
    (e.g. Forbidden to list pods: without pods nothing can be checked).

    A user who may read only some namespaces cannot list pods at the cluster scope: with no
    `namespace` asked, discovery then looks in `fallback_namespace` (the one --install-namespace, -n
    or the context names) and goes on with what it finds there, each install carrying the denied
    list (Install.scope_forbidden) for the command to name; finding nothing there is NoInstall
    naming both.

    On a sweep's shared reads (doctor: collect/shared.py) it runs once per set of filters: the
    other collections asking the same get the same installs, without parsing the pods again."""
    if isinstance(cluster, SharedReads):
        key = ("discover", namespace, dca_selector, agent_selector, need_agents, fallback_namespace)
        return list(cluster.once(key, lambda: _discover_or_fallback(cluster, namespace, dca_selector, agent_selector,
                                                                    need_agents, fallback_namespace)))
    return _discover_or_fallback(cluster, namespace, dca_selector, agent_selector, need_agents, fallback_namespace)


def _discover_or_fallback(cluster: Cluster, namespace: str | None, dca_selector: str, agent_selector: str,
                          need_agents: bool, fallback_namespace: str | None) -> list[Install]:
    try:
        return _discover(cluster, namespace, dca_selector, agent_selector, need_agents)
    except Forbidden as denied:
        if namespace is not None or not fallback_namespace:
            raise
        cluster_wide = denied
    try:
        installs = _discover(cluster, fallback_namespace, dca_selector, agent_selector, need_agents)
    except Forbidden as also_denied:
        also_denied.message = (f"forbidden: cannot {cluster_wide.verb} {cluster_wide.resource} at the cluster scope, "
                               f"nor in the namespace {fallback_namespace} (from -n or the context)")
        also_denied.hint = (f"pass --install-namespace with the install's namespace (check with: kubectl auth can-i "
                            f"{cluster_wide.verb} {cluster_wide.resource} -n NAMESPACE)")
        raise
    if not installs:
        raise NoInstall(f"no Datadog install found in the namespace {fallback_namespace}, the only one searched: "
                        f"{cluster_wide.message}",
                        hint="pass --install-namespace with the install's namespace, or ask for list on pods at "
                             "the cluster scope (kubectl auth can-i list pods --all-namespaces)")
    return [replace(i, scope_forbidden=cluster_wide) for i in installs]


def _discover(cluster: Cluster, namespace: str | None, dca_selector: str, agent_selector: str,
              need_agents: bool) -> list[Install]:
    if need_agents and not dca_selector and not agent_selector:
        # One set-based list per known label answers for both kinds of pod: 3 requests, not 6.
        calls = {k: (lambda k=k, d=d, a=a: list(cluster.list(PODS, namespace, label_selector=f"{k} in ({d},{a})")))
                 for k, d, a in KNOWN_LABELS}
        got = gather(calls)
        objs = [(k, o) for k, f in got.items() for o in f.require()]
        role = {k: (d, a) for k, d, a in KNOWN_LABELS}
        dca_objs = [o for k, o in objs if (o.get("metadata") or {}).get("labels", {}).get(k) == role[k][0]]
        agent_objs = [o for k, o in objs if (o.get("metadata") or {}).get("labels", {}).get(k) == role[k][1]]
    else:
        dca_sels = (dca_selector,) if dca_selector else DCA_SELECTORS
        agent_sels = ((agent_selector,) if agent_selector else AGENT_SELECTORS) if need_agents else ()
        calls = {f"dca:{s}": (lambda s=s: list(cluster.list(PODS, namespace, label_selector=s))) for s in dca_sels}
        calls.update({f"agent:{s}": (lambda s=s: list(cluster.list(PODS, namespace, label_selector=s)))
                      for s in agent_sels})
        got = gather(calls)
        dca_objs = [o for k, f in got.items() if k.startswith("dca:") for o in f.require()]
        agent_objs = [o for k, f in got.items() if k.startswith("agent:") for o in f.require()]
    dca_pods = _unique(dca_objs)
    agent_pods = [p for p in _unique(agent_objs) if p.container(AGENT_CONTAINER) or agent_selector]
    dca_names = {(p.namespace, p.name) for p in dca_pods}
    agent_pods = [p for p in agent_pods if (p.namespace, p.name) not in dca_names]

    groups: dict[tuple[str, str], list[Pod]] = {}
    for pod in dca_pods:
        env = _env_of(pod, _dca_container(pod))
        groups.setdefault((pod.namespace, _deployment_of(pod, env)), []).append(pod)

    installs: list[Install] = []
    for (ns, deployment), pods in sorted(groups.items()):
        lead = pods[0]
        container = _dca_container(lead)
        env = _env_of(lead, container)
        flavor = _flavor(lead, env)
        installs.append(Install(namespace=ns, name=_install_name(lead, env, flavor, deployment), flavor=flavor,
                                dca_deployment=deployment, dca_pods=tuple(pods), agent_pods=(),
                                dca_container=container))
    # Node Agents belong to the install in their namespace; Agents without a DCA form their own.
    for ns in sorted({p.namespace for p in agent_pods}):
        pods = tuple(p for p in agent_pods if p.namespace == ns)
        same_ns = [i for i in installs if i.namespace == ns]
        if not same_ns:
            flavor = _flavor(pods[0], _env_of(pods[0], AGENT_CONTAINER))
            owner = pods[0].owner_name if pods[0].owner_kind == "DaemonSet" else pods[0].labels.get("app", "datadog")
            installs.append(Install(namespace=ns, name=owner, flavor=flavor, dca_deployment="", dca_pods=(),
                                    agent_pods=pods))
        else:
            for inst in same_ns:
                idx = installs.index(inst)
                installs[idx] = replace(inst, agent_pods=_agents_for(inst, pods, len(same_ns)))
    installs.sort(key=lambda i: (i.namespace, i.dca_deployment, i.name))
    if need_agents and not agent_selector:
        installs = _old_helm_agents(cluster, installs)
    if not need_agents:
        installs = [replace(i, agents_searched=False) for i in installs]
    return [_with_settings(cluster, i) for i in installs]


def _agents_for(inst: Install, pods: tuple[Pod, ...], installs_in_ns: int) -> tuple[Pod, ...]:
    """With two installs in one namespace, give each the Agents of its own DaemonSet."""
    if installs_in_ns == 1:
        return pods
    daemonset = _env_of(inst.dca_pods[0], inst.dca_container).get("AGENT_DAEMONSET")
    want = daemonset.value if daemonset and daemonset.value else inst.name
    return tuple(p for p in pods if p.owner_name == want)


def _old_helm_agents(cluster: Cluster, installs: list[Install]) -> list[Install]:
    """Helm charts before 3.140 label node Agents only `app: <fullname>`; find them through the
    DaemonSet the DCA names in AGENT_DAEMONSET."""
    todo = {}
    for inst in installs:
        if inst.agent_pods or not inst.dca_pods:
            continue
        daemonset = _env_of(inst.dca_pods[0], inst.dca_container).get("AGENT_DAEMONSET")
        if daemonset and daemonset.value:
            todo[inst.namespace + "/" + inst.dca_deployment] = (inst, daemonset.value)
    if not todo:
        return installs
    got = gather({k: (lambda i=i, ds=ds: cluster.get(DAEMONSETS, ds, i.namespace)) for k, (i, ds) in todo.items()})
    selectors = {}
    for key, fetched in got.items():
        ds_obj = fetched.value
        labels = ((ds_obj or {}).get("spec") or {}).get("selector", {}).get("matchLabels") if ds_obj else None
        if labels:
            selectors[key] = match_labels_selector(labels)
    pods_got = gather({k: (lambda k=k, s=s: list(cluster.list(PODS, todo[k][0].namespace, label_selector=s)))
                       for k, s in selectors.items()})
    out = []
    for inst in installs:
        key = inst.namespace + "/" + inst.dca_deployment
        fetched = pods_got.get(key)
        if fetched is not None and fetched.value:
            inst = replace(inst, agent_pods=tuple(_unique(fetched.value)))
        out.append(inst)
    return out


def _env_of(pod: Pod, container: str) -> dict[str, EnvVar]:
    c = pod.container(container) or (pod.containers[0] if pod.containers else None)
    if c is None:
        return {}
    env = c.env_map()
    for name, var in env.items():
        if var.source == "field":
            env[name] = replace(var, value=resolve_field(pod, var.ref_name))
    return env


def _with_settings(cluster: Cluster, inst: Install) -> Install:
    """Read the DCA settings from its pod spec, resolving the settings' values that come from a
    ConfigMap or Secret. A read that fails leaves that setting unknown (DcaSettings.unread), never
    its default: a forbidden ConfigMap does not turn DD_LEADER_ELECTION into false."""
    if not inst.dca_pods:
        return inst
    env = _env_of(inst.dca_pods[0], inst.dca_container)
    refs = {name: var for name, var in env.items()
            if name in SETTING_NAMES and var.source in ("configmap", "secret") and var.ref_name}
    wanted = sorted({(v.source, v.ref_name) for v in refs.values()})
    unread: list[UnreadSetting] = []
    if wanted:
        got = gather({f"{kind}/{n}": (lambda kind=kind, n=n: cluster.get(SECRETS if kind == "secret" else CONFIGMAPS,
                                                                          n, inst.namespace))
                      for kind, n in wanted})
        for name, var in refs.items():
            fetched = got[f"{var.source}/{var.ref_name}"]
            if fetched.error is not None:
                unread.append(UnreadSetting(name, var.source, inst.namespace, var.ref_name, var.ref_key,
                                            fetched.error.message))
                continue
            if var.source == "secret":
                value = setting_from_secret(fetched.value, var.ref_key)
            else:
                value = ((fetched.value or {}).get("data") or {}).get(var.ref_key)
            env[name] = replace(var, value=value)
    return replace(inst, settings=DcaSettings.from_env(env, inst.namespace, tuple(unread)))


def agent_env(pod: Pod) -> dict[str, EnvVar]:
    """The node Agent container's env, with field references resolved."""
    return _env_of(pod, AGENT_CONTAINER)


def dca_env(inst: Install, pod: Pod | None = None) -> dict[str, EnvVar]:
    target = pod or (inst.dca_pods[0] if inst.dca_pods else None)
    return _env_of(target, inst.dca_container) if target else {}


def pick_install(installs: list[Install], *, namespace_hint: str | None = None) -> Install:
    """The one install to inspect, or a clear error listing the choices."""
    if not installs:
        raise NoInstall("no Datadog install found (no Cluster Agent or node Agent pods matched the Helm, "
                        "Operator or manifest labels)",
                        hint="pass --install-namespace, --dca-selector or --agent-selector if yours is labelled "
                             "differently")
    with_dca = [i for i in installs if i.dca_pods] or installs
    if len(with_dca) == 1:
        return with_dca[0]
    choices = ", ".join(i.label for i in with_dca)
    namespaces = {i.namespace for i in with_dca}
    how = "--install-namespace NS" if len(namespaces) == len(with_dca) else "--dca-selector SELECTOR"
    raise SeveralInstalls(f"found {len(with_dca)} Datadog installs: {choices}", hint=f"pick one with {how}")


# --- leftovers: an install known only by what outlives its pods ----------------------------------

EXTERNAL_METRICS_APISERVICE = "v1beta1.external.metrics.k8s.io"
EVENT_TOKEN_KEY = "event.tokenKey"  # the event-collection state ConfigMap's key (cluster_agent.token_name)


def _datadog_named(name: str) -> bool:
    return "datadog" in name.lower()


def _lock_name(name: str) -> bool:
    return name == DEFAULT_LEASE_NAME or (_datadog_named(name) and name.endswith("-leader-election"))


def _leftover_configmaps(objs: Iterable[dict]) -> list[Leftover]:
    out = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        name, ns = str(meta.get("name", "")), str(meta.get("namespace", ""))
        if LEADER_ANNOTATION in (meta.get("annotations") or {}) and _lock_name(name):
            holder = lock_from_configmap(obj, ns, name).holder
            out.append(Leftover("ConfigMap", ns, name, "leader-lock", f"last held by {holder}" if holder else ""))
        elif EVENT_TOKEN_KEY in (obj.get("data") or {}) and (name == DEFAULT_TOKEN_CONFIGMAP or _datadog_named(name)):
            out.append(Leftover("ConfigMap", ns, name, "event-token"))
    return out


def _leftover_leases(objs: Iterable[dict]) -> list[Leftover]:
    out = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        name, ns = str(meta.get("name", "")), str(meta.get("namespace", ""))
        if _lock_name(name):
            holder = lock_from_lease(obj, ns, name).holder
            out.append(Leftover("Lease", ns, name, "leader-lock", f"last held by {holder}" if holder else ""))
    return out


def _leftover_secrets(objs: Iterable[dict]) -> list[Leftover]:
    """Token Secrets by name and key only: the values are dropped here, never kept."""
    out = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        if _datadog_named(name) and "token" in (obj.get("data") or {}) and (
                name.endswith("-cluster-agent") or "token" in name):
            out.append(Leftover("Secret", str(meta.get("namespace", "")), name, "cluster-agent-token"))
    return out


def _leftover_workloads(kind: str, objs: Iterable[dict]) -> list[Leftover]:
    """A DCA Deployment or Agent DaemonSet that runs no pod (scaled to zero, nothing schedulable)."""
    out = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        labels = {**(meta.get("labels") or {}),
                  **((((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})}
        if not (_datadog_named(name) or any(labels.get(k) in (dca, agent) for k, dca, agent in KNOWN_LABELS)):
            continue
        status = obj.get("status") or {}
        if kind == "Deployment":
            detail = f"{status.get('readyReplicas') or 0}/{(obj.get('spec') or {}).get('replicas', 1)} pods ready"
        else:
            detail = f"{status.get('numberReady') or 0}/{status.get('desiredNumberScheduled') or 0} pods ready"
        out.append(Leftover(kind, str(meta.get("namespace", "")), name, "workload", detail))
    return out


def find_leftovers(cluster: Cluster, namespace: str | None) -> tuple[Leftover, ...]:
    """What a Datadog install leaves behind in `namespace` (all when None): only asked when no
    Datadog pod was found, so its cluster-wide lists cost nothing on a healthy install. Lists we may
    not read are skipped: what was found is still true."""
    got = gather({"configmaps": lambda: list(cluster.list(CONFIGMAPS, namespace)),
                  "leases": lambda: list(cluster.list(LEASES, namespace)),
                  "secrets": lambda: list(cluster.list(SECRETS, namespace)),
                  "apiservice": lambda: cluster.get(APISERVICES, EXTERNAL_METRICS_APISERVICE),
                  "deployments": lambda: list(cluster.list(DEPLOYMENTS, namespace)),
                  "daemonsets": lambda: list(cluster.list(DAEMONSETS, namespace))})
    found = [*_leftover_configmaps(got["configmaps"].value or []), *_leftover_leases(got["leases"].value or []),
             *_leftover_secrets(got["secrets"].value or []),
             *_leftover_workloads("Deployment", got["deployments"].value or []),
             *_leftover_workloads("DaemonSet", got["daemonsets"].value or [])]
    svc = ((got["apiservice"].value or {}).get("spec") or {}).get("service") or {}
    svc_ns, svc_name = str(svc.get("namespace") or ""), str(svc.get("name") or "")
    if svc_name and (_datadog_named(svc_name) or "cluster-agent" in svc_name) and namespace in (None, svc_ns):
        exists = gather({"svc": lambda: cluster.get(SERVICES, svc_name, svc_ns)})["svc"]
        state = ("which does not exist" if exists.error is None and exists.value is None else
                 "which exists" if exists.value is not None else "which could not be read")
        found.append(Leftover("APIService", "", EXTERNAL_METRICS_APISERVICE, "external-metrics-apiservice",
                              f"served by service {svc_ns}/{svc_name}, {state}"))
    return tuple(sorted(found, key=lambda lo: (lo.namespace, lo.kind, lo.name)))


def require_installs(cluster: Cluster, installs: list[Install], namespace: str | None) -> list[Install]:
    """`installs` when there is one; else OnlyLeftovers when objects of an install remain, else the
    shared "no Datadog install found" error."""
    if not installs:
        leftovers = find_leftovers(cluster, namespace)
        if leftovers:
            raise OnlyLeftovers(leftovers, namespace)
        pick_install(installs)  # raises the shared "no Datadog install found" error
    return installs
