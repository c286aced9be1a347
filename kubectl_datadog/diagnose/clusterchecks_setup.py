"""clusterchecks, the setup: is the feature on, who can run dispatched checks, is there a leader to
dispatch them, where kube-state-metrics core runs and whether it may read what it needs. Pure.

Each prerequisite is reported on its own, so fixing one does not reveal the next; the per-config
findings (clusterchecks_configs) name these codes in `caused_by`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.clusterchecks import KSM_CORE, ClusterChecksSnapshot

DISABLED = "clusterchecks-disabled"
DCA_PROVIDER_MISSING = "clusterchecks-dca-provider-missing"
NO_LEADER = "clusterchecks-no-leader"
LEADER_UNKNOWN = "clusterchecks-leader-unknown"
RUNNERS_NOT_READY = "clusterchecks-runners-not-ready"
RUNNER_PROVIDER_MISSING = "clusterchecks-runner-provider-missing"
NO_WORKER = "clusterchecks-no-worker"
AGENTS_IN_POOL = "clusterchecks-node-agents-in-runner-pool"
ENDPOINTSCHECKS_MISSING = "clusterchecks-endpointschecks-provider-missing"
KSM_ON_DCA = "clusterchecks-ksm-on-dca"
RBAC_MISSING = "clusterchecks-rbac-missing"
RBAC_UNCHECKED = "clusterchecks-rbac-unchecked"
DCA_RBAC_MISSING = "clusterchecks-dca-rbac-missing"

PROVIDER_FOR = {"service": "kube_services", "endpoints": "kube_endpoints"}


@dataclass(frozen=True)
class Setup:
    """What the setup lets happen, for the per-config verdicts."""

    enabled: bool | None  # DD_CLUSTER_CHECKS_ENABLED on the DCA (None: unknown, no DCA)
    dca_providers: frozenset[str] | None
    cluster_workers: int  # Ready pods that run the `clusterchecks` provider
    cluster_workers_unknown: bool  # some pod's providers could not be read
    endpoint_nodes: frozenset[str]  # nodes with a Ready node Agent running `endpointschecks`
    agent_nodes: frozenset[str]  # nodes with a Ready node Agent at all
    endpoint_providers_unknown: bool
    runners: bool  # a runner Deployment exists
    leader: bool
    causes: tuple[str, ...]  # root-cause codes found, for caused_by of what they prevent
    not_ready_nodes: frozenset[str] = frozenset()  # nodes the API lists as not Ready

    def to_dict(self) -> dict[str, object]:
        return {"clusterChecksEnabled": self.enabled, "dcaConfigProviders": sorted(self.dca_providers or ()),
                "readyClusterCheckWorkers": self.cluster_workers, "runnersDeployed": self.runners,
                "leaderKnown": self.leader,
                "nodesWithEndpointChecksAgent": sorted(self.endpoint_nodes)}


def _dca_subject(snap: ClusterChecksSnapshot) -> str:
    inst = snap.install
    return f"deployment/{inst.namespace}/{inst.dca_deployment}" if inst.dca_deployment else f"namespace/{inst.namespace}"


def setup_of(snap: ClusterChecksSnapshot, wants: set[str]) -> tuple[Setup, list[Finding]]:
    """`wants`: which kinds of config exist ("service", "endpoints", "cluster" for anything to
    dispatch to a worker, "endpoint" for pod-bound endpoint checks)."""
    out: list[Finding] = []
    inst = snap.install
    s = snap.settings
    subject = _dca_subject(snap)
    cmd = f"kubectl -n {inst.namespace} get deploy {inst.dca_deployment} -o yaml | grep -A1 -E " \
          "'DD_CLUSTER_CHECKS_ENABLED|DD_EXTRA_CONFIG_PROVIDERS'"
    enabled: bool | None = None
    providers: frozenset[str] | None = None
    if s is not None:
        enabled = s.enabled if s.known("DD_CLUSTER_CHECKS_ENABLED") else None
        providers = frozenset(s.config_providers) if s.known("DD_EXTRA_CONFIG_PROVIDERS") else None
        if enabled is False:
            needed = bool(wants & {"cluster", "endpoint"})
            out.append(Finding(
                DISABLED, Severity.ERROR if needed else Severity.INFO, subject,
                "cluster checks are disabled on the Cluster Agent (DD_CLUSTER_CHECKS_ENABLED is not true)"
                + (": no annotated Service or cluster_check file is dispatched" if needed else
                   "; no config asks for them"),
                "Helm: datadog.clusterChecks.enabled=true; Operator: spec.features.clusterChecks.enabled=true",
                cmd))
        if enabled is not False and providers is not None:
            for kind in ("service", "endpoints"):
                if kind in wants and PROVIDER_FOR[kind] not in providers:
                    out.append(Finding(
                        DCA_PROVIDER_MISSING, Severity.ERROR, subject,
                        f"Services carry ad.datadoghq.com/{kind}.* annotations but the Cluster Agent's "
                        f"DD_EXTRA_CONFIG_PROVIDERS ({' '.join(sorted(providers)) or 'unset'}) lacks "
                        f"{PROVIDER_FOR[kind]}: it never reads them",
                        "set DD_EXTRA_CONFIG_PROVIDERS and DD_EXTRA_LISTENERS to 'kube_endpoints kube_services' "
                        "(Helm and the Operator do with cluster checks enabled)", cmd))
    if inst.dca_pods and inst.settings is not None and inst.settings.leader_election and not snap.leader:
        if snap.leader_why.startswith("cannot read the leader lock"):
            # Unknown, not absent: the dispatch verdicts do not rest on it.
            out.append(Finding(
                LEADER_UNKNOWN, Severity.WARNING, subject,
                f"which Cluster Agent leads is unknown ({snap.leader_why}): only the leader dispatches, and its "
                "answer was not asked for", "ask for get on the leader lock, or run `kubectl datadog leader`",
                "kubectl datadog leader"))
        else:
            out.append(Finding(
                NO_LEADER, Severity.ERROR, subject,
                f"no Cluster Agent leader is known ({snap.leader_why}): only the leader dispatches cluster checks",
                "run `kubectl datadog leader` to see why", "kubectl datadog leader"))

    out += _provider_rbac(snap, wants, subject)
    rd = snap.runner_deployment
    runners = snap.runners
    if snap.runner_lookup_forbidden is not None:
        f = snap.runner_lookup_forbidden
        out.append(forbidden_finding(f"namespace/{inst.namespace}",
                                     f"cannot look for Cluster Checks Runners ({f.message}): whether they run is unknown",
                                     Severity.WARNING, verb=f.verb or "list", resource=f.resource or "pods",
                                     namespace=inst.namespace))
    if rd is not None:
        ready = sum(1 for w in runners if w.pod.ready and not w.pod.deleting)
        if ready < max(rd.replicas, 1) or rd.ready < rd.replicas:
            what = (f"{ready}/{rd.replicas} runner pod(s) Ready" if rd.replicas else
                    "scaled to 0 replicas")
            not_ready = [w.pod.name for w in runners if not w.pod.ready]
            out.append(Finding(
                RUNNERS_NOT_READY, Severity.ERROR if ready == 0 else Severity.WARNING,
                f"deployment/{rd.namespace}/{rd.name}",
                f"the Cluster Checks Runners are not all Ready: {what}"
                + (f" (not Ready: {', '.join(not_ready)})" if not_ready else ""),
                "describe the runner pods and read their logs (RBAC, DCA token, crash loops)",
                f"kubectl -n {rd.namespace} describe deploy {rd.name}"))
        for w in runners:
            if w.runs("clusterchecks") is False:
                out.append(Finding(
                    RUNNER_PROVIDER_MISSING, Severity.ERROR, w.pod.ref,
                    f"runner {w.pod.name} does not run the clusterchecks config provider "
                    f"(DD_EXTRA_CONFIG_PROVIDERS={' '.join(sorted(w.providers or ())) or 'unset'}): "
                    "it never asks the DCA for checks",
                    "set DD_EXTRA_CONFIG_PROVIDERS=clusterchecks on the runner container",
                    f"kubectl -n {w.pod.namespace} get pod {w.pod.name} -o yaml | grep -A1 DD_EXTRA_CONFIG_PROVIDERS"))

    ready_cluster = [w for w in snap.workers if w.pod.ready and not w.pod.deleting and w.runs("clusterchecks")]
    unknown_cluster = any(w.providers is None for w in snap.workers)
    causes = [f.code for f in out if f.severity >= Severity.WARNING]
    if "cluster" in wants and not ready_cluster and not unknown_cluster and enabled is not False:
        caused = tuple(c for c in (RUNNERS_NOT_READY, RUNNER_PROVIDER_MISSING) if c in causes)
        out.append(Finding(
            NO_WORKER, Severity.ERROR, f"namespace/{inst.namespace}",
            "no Ready Agent runs the clusterchecks config provider (no Ready Cluster Checks Runner, and the node "
            "Agents do not list clusterchecks): the DCA logs \"No available node to dispatch\" and no cluster "
            "check runs",
            "deploy the Cluster Checks Runners (Helm clusterChecksRunner.enabled=true) or add clusterchecks to "
            "the node Agents' DD_EXTRA_CONFIG_PROVIDERS", f"kubectl -n {inst.namespace} get deploy,pods",
            caused_by=caused))
        causes.append(NO_WORKER)
    agents_in_pool = [w for w in snap.node_agents if w.runs("clusterchecks")]
    if rd is not None and agents_in_pool:
        adv = snap.settings.advanced_dispatching if snap.settings else False
        out.append(Finding(
            AGENTS_IN_POOL, Severity.WARNING if adv else Severity.INFO, f"namespace/{inst.namespace}",
            f"both the Cluster Checks Runners and {len(agents_in_pool)} node Agent(s) run the clusterchecks "
            "provider: checks land on node Agents too"
            + (", and the DCA disables advanced dispatching (\"Node agents detected in cluster check pool\")"
               if adv else ""),
            "with runners, give the node Agents only endpointschecks (what Helm and the Operator render)"))
    endpoint_nodes = frozenset(w.pod.node for w in snap.node_agents
                               if w.pod.ready and w.pod.node and w.runs("endpointschecks"))
    agent_nodes = frozenset(w.pod.node for w in snap.node_agents if w.pod.ready and w.pod.node)
    ep_unknown = any(w.providers is None for w in snap.node_agents)
    if "endpoint" in wants and snap.node_agents and not ep_unknown \
            and not any(w.runs("endpointschecks") for w in snap.node_agents):
        out.append(Finding(
            ENDPOINTSCHECKS_MISSING, Severity.ERROR, f"namespace/{inst.namespace}",
            "endpoint checks exist but no node Agent runs the endpointschecks config provider: none of them runs",
            "add endpointschecks to the node Agents' DD_EXTRA_CONFIG_PROVIDERS (Helm and the Operator do with "
            "cluster checks enabled)", caused_by=(DISABLED,) if enabled is False else ()))
        causes.append(ENDPOINTSCHECKS_MISSING)
    out += _ksm(snap)
    return Setup(enabled, providers, len(ready_cluster), unknown_cluster, endpoint_nodes, agent_nodes, ep_unknown,
                 rd is not None, bool(snap.leader) or not (inst.settings and inst.settings.leader_election),
                 tuple(dict.fromkeys(causes)),
                 frozenset(n for n, ready in (snap.nodes or {}).items() if not ready)), out


def _provider_rbac(snap: ClusterChecksSnapshot, wants: set[str], subject: str) -> list[Finding]:
    """The DCA's own service account against what its kube_services/kube_endpoints providers list and
    watch: without it, annotations are never seen (asked whether or not annotations exist, so adding
    the first one does not reveal it)."""
    denied = [c for c, allowed in snap.provider_access if allowed is False]
    if not denied:
        return []
    inst = snap.install
    who = denied[0].user or ""
    what = ", ".join(f"{c.verb} {c.resource}{'.' + c.group if c.group else ''}" for c in denied)
    return [Finding(
        DCA_RBAC_MISSING, Severity.ERROR if wants & {"service", "endpoints"} else Severity.WARNING, subject,
        f"the Cluster Agent runs as {who}, which may not {what}: its config providers never see the Services' "
        "check annotations", "grant the DCA's ClusterRole get/list/watch on services, endpoints and "
        "endpointslices.discovery.k8s.io (Helm and the Operator do)",
        f"kubectl auth can-i list services --as {who}")] if inst.dca_pods else []


def _ksm(snap: ClusterChecksSnapshot) -> list[Finding]:
    out: list[Finding] = []
    ksm = next((f for f in snap.confd if f.check == KSM_CORE), None)
    if ksm is None:
        return out
    rd = snap.runner_deployment
    if rd is not None and not ksm.cluster_check:
        out.append(Finding(
            KSM_ON_DCA, Severity.INFO, ksm.ref,
            f"kube-state-metrics core runs on the Cluster Agent itself ({ksm.key} has no cluster_check: true), "
            f"not on the runners of {rd.name}",
            "to move it: Helm datadog.kubeStateMetricsCore.useClusterCheckRunners=true (the Operator: "
            "useClusterChecksRunners); the DCA must restart to pick the change up"))
    denied = [c for c, allowed in snap.access if allowed is False]
    unknown = [c for c, allowed in snap.access if allowed is None]
    who = f"system:serviceaccount:{snap.access_subject.replace('/', ':')}"
    if denied:
        verbs: dict[str, set[str]] = {}
        for c in denied:
            verbs.setdefault(f"{c.resource}{'.' + c.group if c.group else ''}", set()).add(c.verb)
        kinds = [f"{'/'.join(sorted(v))} {r}" for r, v in sorted(verbs.items())]
        out.append(Finding(
            RBAC_MISSING, Severity.ERROR, f"serviceaccount/{snap.access_subject}",
            f"kube-state-metrics core runs as {who}, which may not " + ", ".join(kinds)
            + ": the check fails with \"... is forbidden\"",
            "bind the kube-state-metrics core ClusterRole to this service account (Helm and the Operator do it)",
            f"kubectl auth can-i --list --as {who}"))
    elif unknown and snap.access:
        out.append(Finding(
            RBAC_UNCHECKED, Severity.INFO, f"serviceaccount/{snap.access_subject}",
            f"could not ask whether {who} may list and watch what kube-state-metrics core reads (access reviews "
            "not allowed)", "ask for create on subjectaccessreviews.authorization.k8s.io",
            "kubectl auth can-i create subjectaccessreviews.authorization.k8s.io"))
    return out
