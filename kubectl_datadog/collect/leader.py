"""Collect what `leader` needs: the lock objects, the DCA and Agent pods, the DCA service account's
permissions, and (with exec) the leader's own `status`."""

from __future__ import annotations

from kubectl_datadog.cluster import CONFIGMAPS, LEASES, NODES, AccessCheck, Cluster
from kubectl_datadog.collect import gather, start
from kubectl_datadog.collect.exec import run_dca_cli
from kubectl_datadog.collect.request import Request
from kubectl_datadog.collect.install import agent_env, dca_env, discover, pick_install, require_installs
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import DEFAULT_LEASE_NAME, DcaSettings, Install
from kubectl_datadog.objects import EnvVar, Pod, as_bool, conditions
from kubectl_datadog.snapshots.leader import (
    ELECTOR_AGENTS,
    ELECTOR_DCA,
    ELECTOR_NONE,
    LeaderSnapshot,
    LockRecord,
    lock_from_configmap,
    lock_from_lease,
)


def lock_kind(setting: str, served: bool | None) -> str:
    if setting == "lease":
        return "Lease"
    if setting == "configmap":
        return "ConfigMap"
    return "Lease" if served is not False else "ConfigMap"


def leases_served(cluster: Cluster) -> bool | None:
    try:
        doc = cluster.get_raw("/apis/coordination.k8s.io/v1")
    except Exception:  # noqa: BLE001 - discovery failing means "unknown", the DCA then tries Leases
        return None
    return any(r.get("name") == "leases" for r in doc.get("resources") or [])


def read_lock(cluster: Cluster, kind: str, namespace: str, name: str) -> LockRecord:
    resource = LEASES if kind == "Lease" else CONFIGMAPS
    try:
        obj = cluster.get(resource, name, namespace)
    except Forbidden as exc:
        return LockRecord(kind, namespace, name, False, forbidden=exc)
    if obj is None:
        return LockRecord(kind, namespace, name, False)
    return lock_from_lease(obj, namespace, name) if kind == "Lease" else lock_from_configmap(obj, namespace, name)


def dca_access_checks(install: Install, kind: str) -> list[AccessCheck]:
    s = install.settings
    if s is None or not install.dca_pods:
        return []
    return election_access_checks(s, install.namespace, install.dca_pods[0].service_account, kind)


def election_access_checks(s: DcaSettings, namespace: str, service_account: str, kind: str) -> list[AccessCheck]:
    """What an elector's service account needs: the lock, and for event collection the events (watch,
    list, get) and the token ConfigMap (the same for a DCA and for node Agents electing among
    themselves). The event permissions are checked whether collection is on or not: each
    prerequisite is reported on its own, so turning collection on does not reveal the next one."""
    user = f"system:serviceaccount:{namespace}:{service_account}"
    group, plural = ("coordination.k8s.io", "leases") if kind == "Lease" else ("", "configmaps")
    ns = s.resources_namespace
    return [AccessCheck("get", plural, group, ns, s.lease_name, user),
            AccessCheck("update", plural, group, ns, s.lease_name, user),
            AccessCheck("create", plural, group, ns, None, user),
            AccessCheck("watch", "events", "", None, None, user),
            AccessCheck("list", "events", "", None, None, user),
            AccessCheck("get", "events", "", None, None, user),
            AccessCheck("get", "configmaps", "", ns, s.token_configmap, user),
            AccessCheck("update", "configmaps", "", ns, s.token_configmap, user)]


def _runs_leader_election(pod: Pod) -> bool:
    var = agent_env(pod).get("DD_LEADER_ELECTION")
    return as_bool(var.value if var is not None else None)


def collect_leader(cluster: Cluster, opts: Request) -> LeaderSnapshot:
    scope = opts.install_namespace or opts.namespace
    installs = require_installs(cluster, discover(cluster, namespace=scope, dca_selector=opts.dca_selector,
                                                  agent_selector=opts.agent_selector,
                                                  fallback_namespace=opts.namespace_in(cluster)), scope)
    install = pick_install(installs)
    agents_le = tuple(sorted(p.name for p in install.agent_pods if _runs_leader_election(p)))
    # Without a Cluster Agent the node Agents elect a leader among themselves (Helm
    # clusterAgent.enabled=false renders DD_LEADER_ELECTION* on the DaemonSet): their settings
    # then name the lock, read from the same config keys as the DCA's.
    if install.dca_pods:
        elector, s = ELECTOR_DCA, install.settings
    elif agents_le:
        first = next(p for p in install.agent_pods if p.name == agents_le[0])
        elector, s = ELECTOR_AGENTS, DcaSettings.from_env(agent_env(first), install.namespace)
    else:
        elector, s = ELECTOR_NONE, None
    ns = s.resources_namespace if s else install.namespace
    name = s.lease_name if s else DEFAULT_LEASE_NAME
    setting = s.lock_resource if s else "configmap"

    candidates = [("Lease", name), ("ConfigMap", name)]
    if name != DEFAULT_LEASE_NAME:
        candidates += [("ConfigMap", DEFAULT_LEASE_NAME), ("Lease", DEFAULT_LEASE_NAME)]
    calls = {f"{k}/{n}": (lambda k=k, n=n: read_lock(cluster, k, ns, n)) for k, n in candidates}
    if setting == "":
        calls["served"] = lambda: leases_served(cluster)
    # Which kind will be used is known before the reads when the setting is explicit, so the access
    # reviews can run in the same round; in auto mode ask about both kinds.
    kinds = [lock_kind(setting, None)] if setting else ["Lease", "ConfigMap"]
    if elector == ELECTOR_AGENTS and s is not None:
        voter = next(p for p in install.agent_pods if p.name == agents_le[0])
        checks_for = lambda k: election_access_checks(s, install.namespace, voter.service_account, k)  # noqa: E731
    else:
        checks_for = lambda k: dca_access_checks(install, k)  # noqa: E731
    checks = [c for k in kinds for c in checks_for(k)]
    # The access reviews go on while the leader's status is fetched: nothing before it needs them.
    reviews = start({"access": lambda: cluster.access(checks)})
    got = gather(calls)
    served = got["served"].value if "served" in got else None
    kind = lock_kind(setting, served)

    locks = [got[f"{k}/{n}"].require() for k, n in candidates]
    locks.sort(key=lambda lk: (lk.name != name, lk.kind != kind))

    status = None
    holder = next((lk.holder for lk in locks if lk.holder), "")
    electors = install.dca_pods if elector == ELECTOR_DCA else install.agent_pods
    holder_pod = next((p for p in electors if p.name == holder), None)
    # The holder's node (why a stale holder stopped renewing) is read while the status exec runs.
    node = start({"ready": lambda: _node_ready(cluster, holder_pod.node if holder_pod is not None else "")})
    target = next((p for p in install.dca_pods if p.name == holder and p.phase == "Running"), None)
    if opts.exec_allowed and target is not None:
        status = run_dca_cli(cluster, install, target, ["status"], timeout=opts.request_timeout)
    access = reviews.results()["access"].get() or []
    wanted = {(c.resource, c.verb, c.name) for c in checks_for(kind)}
    # strict=False: `access` is empty when the access reviews could not run.
    elector_access = tuple((c, a) for c, a in zip(checks, access, strict=False)
                           if (c.resource, c.verb, c.name) in wanted)
    dca_access, agent_access = (elector_access, ()) if elector != ELECTOR_AGENTS else ((), elector_access)
    without = tuple(p.name for p in install.dca_pods
                    if elector == ELECTOR_DCA and _election_off(dca_env(install, p)))
    return LeaderSnapshot(install, kind, tuple(locks), agents_le, dca_access, status, elector, s, agent_access,
                          node.results()["ready"].get() or "", without)


def _node_ready(cluster: Cluster, node: str) -> str:
    """The node's Ready condition status, or "" when it cannot be told (no node, gone, forbidden)."""
    if not node:
        return ""
    try:
        obj = cluster.get(NODES, node)
    except Forbidden:
        return ""
    ready = conditions(obj).get("Ready") if obj is not None else None
    return ready.status if ready is not None else ""


def _election_off(env: dict[str, EnvVar]) -> bool:
    """The pod's own spec sets DD_LEADER_ELECTION to a value that is not true. A value read from
    elsewhere (a ConfigMap or Secret) is not resolved here: unknown, so not off."""
    var = env.get("DD_LEADER_ELECTION")
    return var is None or (var.source == "value" and not as_bool(var.value))
