"""Collect for `doctor`: run every area's collection at once on shared reads, and read what doctor's
own checks need (pod health, images, disruption budgets, access reviews, other installs, the DCA's
`health`).

The areas are the other commands' collections, called as they are (each takes the Cluster and the
Request); they share one SharedReads, so what two of them read is asked of the API server once.
Install discovery runs first, once: its pod lists then answer every area's own discovery (a list
narrowed from one already made is filtered in memory, see collect/shared.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from kubectl_datadog.cluster import (
    APISERVICES,
    CLUSTER_ROLE_BINDINGS,
    DEPLOYMENTS,
    MUTATINGWEBHOOKCONFIGURATIONS,
    PDBS,
    PODS,
    VALIDATINGWEBHOOKCONFIGURATIONS,
    AccessCheck,
    Cluster,
)
from kubectl_datadog.collect import Fetched, gather, start
from kubectl_datadog.collect.clusterchecks import RUNNER_SELECTORS
from kubectl_datadog.collect.exec import run_dca_cli
from kubectl_datadog.collect.hpa_explain_dca import dca_access_checks
from kubectl_datadog.collect.install import EXTERNAL_METRICS_APISERVICE, discover, find_leftovers, require_installs
from kubectl_datadog.collect.request import Request
from kubectl_datadog.collect.shared import SharedReads
from kubectl_datadog.errors import Forbidden
from kubectl_datadog.install import Install, Leftover
from kubectl_datadog.objects import Pod
from kubectl_datadog.snapshots.doctor import (
    ROLE_AGENT,
    ROLE_DCA,
    ROLE_RUNNER,
    AccessNeed,
    Budget,
    DcaHealth,
    HealthReport,
    PodHealth,
    SweepSnapshot,
    binding_leftover,
    pod_health,
    webhook_leftover,
)

WEBHOOK_CONFIGURATIONS = (MUTATINGWEBHOOKCONFIGURATIONS, VALIDATINGWEBHOOKCONFIGURATIONS)
# Either lets the kubelet serve the Agent its pod list (the second with fine-grained kubelet authorization).
KUBELET_POD_LIST = ("nodes/proxy", "nodes/pods")
# What a Cluster Checks Runner's account needs whichever renders it: the chart binds it to the
# Agents' ClusterRole (with a Cluster Agent: `get endpoints`, the leader election check's rule),
# the Operator renders its own (get/list/watch endpoints among others). Kube-state-metrics core's
# list/watch on the runner is clusterchecks' check (its area), not repeated here.
RUNNER_NEEDS = (("the runner's Agent (as the chart and the Operator grant it)", "get", "endpoints", ""),)


@dataclass(frozen=True)
class DoctorOptions:
    """doctor's own flags. `ignore`: finding codes accepted by the user (not reported, not scored)."""

    ignore: frozenset[str] = frozenset()


AreaCollect = Callable[[Cluster, Request, DoctorOptions], Any]


def install_scopes(installs: list[Install], request: Request) -> list[str]:
    """The install namespaces to run a one-install collection in: each install's (with a Cluster
    Agent) when several are found and none was picked, else none (the collection picks its own)."""
    namespaces = sorted({i.namespace for i in installs if i.dca_pods})
    return namespaces if len(namespaces) > 1 and not request.install_namespace else []


def collect_areas(cluster: SharedReads, request: Request, options: DoctorOptions, areas: Mapping[str, AreaCollect],
                  per_install: frozenset[str] = frozenset()) -> tuple[list[Install], dict[str, Fetched[Any]]]:
    """The installs, then every area's collection, concurrently, on the shared reads. Discovery runs
    first and once as the areas will each ask it (with Agents): its pod lists then answer theirs. An
    area that cannot run comes back as its PluginError. Collections named in `per_install` judge one
    install: with several, each runs once per install namespace, as `<name>@<namespace>`. Raises
    what discovery raises: without the Datadog pods (Forbidden, NoInstall, OnlyLeftovers) there is
    nothing to sweep."""
    scope = request.install_namespace
    installs = require_installs(cluster, discover(cluster, namespace=scope, dca_selector=request.dca_selector,
                                                  agent_selector=request.agent_selector), scope)
    scopes = install_scopes(installs, request)
    calls: dict[str, Callable[[], Any]] = {}
    for name, fn in areas.items():
        if name in per_install and scopes:
            for ns in scopes:
                one = replace(request, install_namespace=ns)
                calls[f"{name}@{ns}"] = lambda fn=fn, one=one: fn(cluster, one, options)
        else:
            calls[name] = lambda fn=fn: fn(cluster, request, options)
    return installs, gather(calls)


# --- doctor's own reads -------------------------------------------------------------------------

def _health_of(cluster: Cluster, installs: list[Install]) -> list[PodHealth]:
    """The install pods' health, from the objects discovery already read (a get only for one it did not)."""
    known = cluster.seen(PODS) if isinstance(cluster, SharedReads) else {}
    out = []
    for inst in installs:
        for role, pods in ((ROLE_DCA, inst.dca_pods), (ROLE_AGENT, inst.agent_pods)):
            for p in pods:
                raw = known.get((p.namespace, p.name)) or cluster.get(PODS, p.name, p.namespace)
                if raw is not None:
                    out.append(pod_health(raw, role))
    return out


def _runners(cluster: Cluster, scope: str | None) -> list[dict[str, Any]]:
    got = gather({s: (lambda s=s: list(cluster.list(PODS, scope, label_selector=s))) for s in RUNNER_SELECTORS})
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for fetched in got.values():
        for obj in fetched.require():
            meta = obj.get("metadata") or {}
            seen.setdefault((str(meta.get("namespace", "")), str(meta.get("name", ""))), obj)
    return [seen[k] for k in sorted(seen)]


def access_needs(inst: Install) -> list[tuple[str, str, str, AccessCheck]]:
    """(account, role, feature, check) for what the install's settings turn on. Event collection
    and the leader lock are `leader`'s checks (reported in its area), not repeated here; the
    external metrics ones are hpa-explain's list, reported here once (its area leaves them out)."""
    out: list[tuple[str, str, str, AccessCheck]] = []
    s = inst.settings
    if s is not None and inst.dca_pods:
        sa = inst.dca_pods[0].service_account
        account, user = f"{inst.namespace}/{sa}", f"system:serviceaccount:{inst.namespace}:{sa}"

        def need(feature: str, verb: str, resource: str, group: str = "", namespace: str | None = None,
                 name: str | None = None) -> None:
            out.append((account, ROLE_DCA, feature, AccessCheck(verb, resource, group, namespace, name, user)))

        mapper = "the pod -> services map (kube_service tags)"
        for verb in ("list", "watch"):
            need(mapper, verb, "pods")
            need(mapper, verb, "services")
            need(mapper, verb, "nodes")
            if s.known("DD_KUBERNETES_USE_ENDPOINT_SLICES"):
                if s.use_endpoint_slices:
                    need(f"{mapper}, from EndpointSlices (DD_KUBERNETES_USE_ENDPOINT_SLICES=true)", verb,
                         "endpointslices", "discovery.k8s.io")
                else:
                    need(f"{mapper}, from Endpoints", verb, "endpoints")
        # External metrics: hpa-explain's rule (the checks it makes for the same account).
        em = "external metrics (DD_EXTERNAL_METRICS_PROVIDER_ENABLED)"
        out += [(account, ROLE_DCA, em, check) for check in dca_access_checks(inst)]
    # Node Agents read their kubelet with their own token: the kubelet asks the API server whether
    # that account may get nodes/stats, nodes/metrics, nodes/spec, and for the pod list nodes/proxy
    # or, with the chart's datadog.kubelet.fineGrainedAuthorization, nodes/pods.
    for sa in sorted({p.service_account for p in inst.agent_pods}):
        user = f"system:serviceaccount:{inst.namespace}:{sa}"
        kubelet = "the kubelet check (its stats, metrics, spec and pod list)"
        for sub in ("nodes/stats", "nodes/metrics", "nodes/spec", *KUBELET_POD_LIST):
            out.append((f"{inst.namespace}/{sa}", ROLE_AGENT, kubelet, AccessCheck("get", sub, "", None, None, user)))
    return out


def runner_access_needs(runners: list[Pod]) -> list[tuple[str, str, str, AccessCheck]]:
    """(account, role, feature, check) for each Cluster Checks Runner service account, from the
    runner pods the sweep read (clusterchecks' selectors)."""
    out: list[tuple[str, str, str, AccessCheck]] = []
    for ns, sa in sorted({(p.namespace, p.service_account or "default") for p in runners}):
        user = f"system:serviceaccount:{ns}:{sa}"
        for feature, verb, resource, group in RUNNER_NEEDS:
            out.append((f"{ns}/{sa}", ROLE_RUNNER, feature, AccessCheck(verb, resource, group, None, None, user)))
    return out


def _runs_pods(lo: Leftover) -> bool:
    """A Datadog-named Deployment or DaemonSet with ready pods is something that runs (a user's own
    forwarder, say), not what an old install left: find_leftovers lists every one, as it is only
    asked when no Datadog pod runs at all. Its detail is "<ready>/<desired> pods ready"."""
    return lo.role == "workload" and not lo.detail.startswith("0/")


def _other_leftovers(cluster: Cluster, installs: list[Install],
                     scope: str | None) -> tuple[tuple[Leftover, ...], tuple[Forbidden, ...]]:
    """What an old install left where no install runs now: objects in such namespaces, the
    APIService, ClusterRoleBindings and webhook configurations pointing at one. Also the
    cluster-wide lists we may not make (what they would show is unknown)."""
    running = {i.namespace for i in installs}
    got = gather({"found": lambda: find_leftovers(cluster, scope),
                  "apiservice": lambda: cluster.get(APISERVICES, EXTERNAL_METRICS_APISERVICE),
                  "bindings": lambda: list(cluster.list(CLUSTER_ROLE_BINDINGS)),
                  **{r.kind: (lambda r=r: list(cluster.list(r))) for r in WEBHOOK_CONFIGURATIONS}})
    svc_ns = str((((got["apiservice"].value or {}).get("spec") or {}).get("service") or {}).get("namespace") or "")
    found = [lo for lo in got["found"].require()
             if (lo.kind == "APIService" and svc_ns not in running)
             or (lo.kind != "APIService" and lo.namespace not in running and not _runs_pods(lo))]
    found += [lo for o in got["bindings"].value or [] if (lo := binding_leftover(o, running)) is not None]
    for r in WEBHOOK_CONFIGURATIONS:
        found += [lo for o in got[r.kind].value or [] if (lo := webhook_leftover(o, r.kind, running)) is not None]
    forbidden = tuple(f.forbidden for k, f in got.items() if k != "found" and f.forbidden is not None)
    return tuple(sorted(found, key=lambda lo: (lo.namespace, lo.kind, lo.name))), forbidden


def collect_sweep(cluster: Cluster, request: Request, options: DoctorOptions) -> SweepSnapshot:
    scope = request.install_namespace
    installs = discover(cluster, namespace=scope, dca_selector=request.dca_selector,
                        agent_selector=request.agent_selector)
    needs = [n for inst in installs for n in access_needs(inst)]
    checks = [c for *_, c in needs]
    # Access reviews, budgets, replicas, runners and leftovers are independent: one round.
    calls: dict[str, Callable[[], Any]] = {
        "access": lambda: cluster.access(checks) if checks else [],
        "runners": lambda: _runners(cluster, scope),
        "leftovers": lambda: _other_leftovers(cluster, installs, scope),
    }
    for ns in sorted({i.namespace for i in installs if i.dca_pods}):
        calls[f"pdb:{ns}"] = lambda ns=ns: [Budget.from_dict(o) for o in cluster.list(PDBS, ns)]
    for inst in installs:
        if inst.dca_deployment and inst.dca_pods:
            calls[f"deploy:{inst.namespace}/{inst.dca_deployment}"] = \
                lambda i=inst: cluster.get(DEPLOYMENTS, i.dca_deployment, i.namespace)
    health_calls: dict[str, Callable[[], Any]] = {}
    if request.exec_allowed:
        for inst in installs:
            for p in inst.dca_pods:
                if p.phase == "Running" and not p.deleting:
                    health_calls[f"{p.namespace}/{p.name}"] = \
                        lambda i=inst, p=p: run_dca_cli(cluster, i, p, ["health"], timeout=request.request_timeout)
    execs = start(health_calls)
    got = gather(calls)

    pods = _health_of(cluster, installs)
    runners = got["runners"]
    pods += [pod_health(o, ROLE_RUNNER) for o in runners.value or []]
    # The runners' accounts are known once their pods are read: their reviews are a second round.
    runner_needs = runner_access_needs([Pod.from_dict(o) for o in runners.value or []])
    runner_answers = (gather({"access": lambda: cluster.access([c for *_, c in runner_needs])})["access"].get()
                      or []) if runner_needs else []
    budgets: list[Budget] = []
    budgets_forbidden = None
    for key, fetched in got.items():
        if key.startswith("pdb:"):
            budgets += fetched.get() or []
            budgets_forbidden = budgets_forbidden or fetched.forbidden
    replicas: dict[str, int | None] = {}
    for inst in installs:
        key = f"deploy:{inst.namespace}/{inst.dca_deployment}"
        if key in got:
            obj = got[key].value
            spec = (obj or {}).get("spec") or {}
            replicas[f"deployment/{inst.namespace}/{inst.dca_deployment}"] = \
                int(spec.get("replicas", 1)) if obj is not None else None
    answers = got["access"].get() or []
    access = tuple(AccessNeed(account, role, feature, check, answers[i] if i < len(answers) else None)
                   for i, (account, role, feature, check) in enumerate(needs))
    access += tuple(AccessNeed(account, role, feature, check, runner_answers[i] if i < len(runner_answers) else None)
                    for i, (account, role, feature, check) in enumerate(runner_needs))
    health = []
    for key, fetched in sorted(execs.results().items()):
        outcome = fetched.require()
        health.append(DcaHealth(key, outcome, HealthReport.parse(outcome.stdout) if outcome.stdout else None))
    leftovers, leftovers_forbidden = got["leftovers"].require()
    labels = {f"deployment/{i.namespace}/{i.dca_deployment}": dict(i.dca_pods[0].labels)
              for i in installs if i.dca_pods}
    return SweepSnapshot(
        installs=tuple(installs), scope=scope, pods=tuple(pods), dca_replicas=replicas, budgets=tuple(budgets),
        budgets_forbidden=budgets_forbidden, dca_labels=labels, runners_forbidden=runners.forbidden,
        access=access, leftovers=leftovers, leftovers_forbidden=leftovers_forbidden, health=tuple(health),
        exec_allowed=request.exec_allowed)

