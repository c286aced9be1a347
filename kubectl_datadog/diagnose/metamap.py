"""The pod -> services map, and where the DCA's copy disagrees with the API. Pure.

Differences (`--source both`), one row per pod (or node) that differs:
  stale      the DCA tags the pod with a kube_service the API no longer maps to it
  missing    the API maps the pod to a service the DCA's map lacks
  not-ready  the DCA maps a notReadyAddresses entry (newer DCAs do; the node Agent skips
             kube_service on pods that are not Ready anyway)
  node-missing  the API lists the node but the DCA's map has no entry for it: the node Agent
             there gets no kube_service tag at all (one row per pod of that node the API maps)
What the DCA lacks (node-missing, missing) is the symptom of one dca-metamap-incomplete finding,
whose causes diagnose/metamap_causes.py finds (its service account's permissions, its log).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, NamedTuple, Sequence, overload

from kubectl_datadog.snapshots.metamap import MetamapSnapshot
from kubectl_datadog.diagnose.discovery import discovery_findings
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.diagnose.metamap_causes import (INCOMPLETE, MapperCauses, incomplete_findings, mapper_causes,
                                                     symptom_hint)
from kubectl_datadog.model import Finding, Severity, sort_findings
from kubectl_datadog.textformats.metamap import MetaMap

MAX_POD_FINDINGS = 20  # the diff table lists every pod; findings stay readable on big clusters
_NODE_WARNING_PREFIX = "Node "


class MapRow(NamedTuple):
    """One table row. A tuple, not a dataclass: there is one per pod (100,000 on a big cluster)."""

    node: str
    namespace: str
    pod: str
    services: tuple[str, ...]


class MapRows(Sequence[MapRow]):
    """The map's rows, sorted like the DCA prints them, produced as they are read: -o json/yaml
    never read them, and a table reads them once, so they are not kept in memory."""

    def __init__(self, m: MetaMap) -> None:
        self._map = m

    def __iter__(self) -> Iterator[MapRow]:
        return map(MapRow._make, self._map.rows())

    def __bool__(self) -> bool:
        return bool(self._map.nodes)  # every node gives at least one row

    def __len__(self) -> int:
        return sum(sum(len(pods) for pods in nss.values()) or 1 for nss in self._map.nodes.values())

    @overload
    def __getitem__(self, index: int) -> MapRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[MapRow]: ...

    def __getitem__(self, index: int | slice) -> MapRow | list[MapRow]:
        return list(self)[index]


@dataclass(frozen=True)
class DiffRow:
    node: str
    namespace: str
    pod: str
    api: tuple[str, ...]
    dca: tuple[str, ...]
    difference: str  # stale | missing | stale+missing | not-ready | node-missing

    def to_dict(self) -> dict[str, object]:
        return {"node": self.node, "namespace": self.namespace or None, "pod": self.pod or None,
                "api": list(self.api), "dca": list(self.dca), "difference": self.difference}


@dataclass(frozen=True)
class MetamapReport:
    snapshot: MetamapSnapshot
    map: MetaMap  # what the table shows: the API's map (api, both) or the DCA's (dca)
    dca_map: MetaMap | None  # the DCA's, filtered like the API's
    differences: tuple[DiffRow, ...]
    findings: tuple[Finding, ...]

    def rows(self) -> MapRows:
        return MapRows(self.map)

    def to_dict(self) -> dict[str, object]:
        snap = self.snapshot
        f = snap.filters
        doc: dict[str, object] = {
            "source": snap.source,
            "mode": snap.mode or None,
            "modeReason": snap.mode_reason if snap.mode else None,
            "filters": {"node": f.node, "namespace": f.namespace, "pod": f.pod},
            "install": snap.install.to_dict() if snap.install else None,
            "summary": {"nodes": len(self.map.nodes), "pods": self.map.pod_count},
            **self.map.to_dict(),
        }
        if snap.api is not None:
            doc["api"] = snap.api.to_dict()
        if snap.dca is not None:
            dca: dict[str, object] = snap.dca.to_dict()
            if snap.source == "both" and self.dca_map is not None:
                dca.update(self.dca_map.to_dict())
            elif self.dca_map is not None:
                dca.update({"warnings": list(self.dca_map.warnings), "errors": self.dca_map.errors or None})
            doc["dca"] = dca
        if snap.source == "both":
            doc["differences"] = [d.to_dict() for d in self.differences]
        return doc


def _kubectl_endpoints(mode: str, namespace: str, service: str) -> str:
    if mode == "endpointslices":
        return f"kubectl -n {namespace} get endpointslices -l kubernetes.io/service-name={service} -o yaml"
    return f"kubectl -n {namespace} get endpoints {service} -o yaml"


def compare(api: MetaMap, dca: MetaMap, *, api_nodes: frozenset[str] | None,
            not_ready: set[tuple[str, str, str, str]] | frozenset[tuple[str, str, str, str]] = frozenset(),
            ) -> list[DiffRow]:
    """Every pod (and node) on which the two maps disagree, sorted by node, namespace, pod."""
    out: list[DiffRow] = []
    missing_nodes = {n for n in (api_nodes or ()) if n not in dca.nodes}
    for node in missing_nodes:
        # Every pod the DCA lacks is a row, not only the node's count: they are what loses its tags.
        namespaces = api.nodes.get(node, {})
        rows = [DiffRow(node, ns, pod, tuple(sorted(svcs)), (), "node-missing")
                for ns, pods in namespaces.items() for pod, svcs in pods.items()]
        out += rows or [DiffRow(node, "", "", (), (), "node-missing")]
    for node in sorted(set(api.nodes) | set(dca.nodes)):
        if node in missing_nodes:
            continue
        a_ns, d_ns = api.nodes.get(node, {}), dca.nodes.get(node, {})
        for ns in sorted(set(a_ns) | set(d_ns)):
            a_pods, d_pods = a_ns.get(ns, {}), d_ns.get(ns, {})
            for pod in sorted(set(a_pods) | set(d_pods)):
                a, d = a_pods.get(pod, set()), d_pods.get(pod, set())
                if a == d:
                    continue
                stale = {s for s in d - a if (node, ns, pod, s) not in not_ready}
                explained = (d - a) - stale
                missing = a - d
                kinds = (["stale"] if stale else []) + (["missing"] if missing else [])
                out.append(DiffRow(node, ns, pod, tuple(sorted(a)), tuple(sorted(d)),
                                   "+".join(kinds) if kinds else ("not-ready" if explained else "stale")))
    out.sort(key=lambda r: (r.node, r.namespace, r.pod))
    return out


def _diff_findings(rows: list[DiffRow], mode: str, dca_command: str, symptom_of: tuple[str, ...],
                   hint: str) -> list[Finding]:
    """One finding per node the DCA lacks and per pod that differs; what the DCA lacks is caused by
    its incomplete map (`symptom_of`) and its hint points at that cause."""
    out: list[Finding] = []
    pod_rows = [r for r in rows if r.difference not in ("node-missing",)]
    lacking: dict[str, list[DiffRow]] = {}
    for r in rows:
        if r.difference == "node-missing":
            lacking.setdefault(r.node, []).extend([r] if r.pod else [])
    for node, node_pods in sorted(lacking.items()):
        out.append(Finding(
            "metamap-node-missing", Severity.WARNING, f"node/{node}",
            f"the DCA's map has no entry for node {node}: the node Agent there gets no kube_service tags"
            + (f" ({len(node_pods)} pod(s) there have services)" if node_pods else ""),
            hint, dca_command, symptom_of))
    for r in pod_rows[:MAX_POD_FINDINGS]:
        subject = f"pod/{r.namespace}/{r.pod}"
        api_set, dca_set = set(r.api), set(r.dca)
        if r.difference == "not-ready":
            out.append(Finding(
                "metamap-not-ready-mapped", Severity.INFO, subject,
                f"the DCA maps the not-ready address of {r.pod} to {', '.join(sorted(dca_set - api_set))} "
                "(newer DCAs include notReadyAddresses)",
                "nothing to do: the node Agent adds no kube_service tag to a pod that is not Ready", dca_command))
            continue
        stale, missing = sorted(dca_set - api_set), sorted(api_set - dca_set)
        if stale:
            out.append(Finding(
                "metamap-stale-service", Severity.WARNING, subject,
                f"the DCA tags {r.pod} on {r.node} with " + ", ".join(f"kube_service:{s}" for s in stale)
                + " but the API no longer maps it there",
                "the DCA's map is out of date: check the DCA logs for metadata controller errors and its "
                "list/watch RBAC on endpoints and endpointslices",
                _kubectl_endpoints(mode, r.namespace, stale[0])))
        if missing:
            out.append(Finding(
                "metamap-missing-service", Severity.WARNING, subject,
                f"the API maps {r.pod} on {r.node} to " + ", ".join(missing)
                + " but the DCA's map has no " + ", ".join(f"kube_service:{s}" for s in missing),
                hint, _kubectl_endpoints(mode, r.namespace, missing[0]), symptom_of))
    if len(pod_rows) > MAX_POD_FINDINGS:
        out.append(Finding(
            "metamap-more-differences", Severity.WARNING, "metamap/differences",
            f"{len(pod_rows) - MAX_POD_FINDINGS} more pods differ between the DCA's map and the API",
            "see the differences table, or -o json for all of them"))
    return out


def _dca_findings(snap: MetamapSnapshot, dca_map: MetaMap | None, causes: MapperCauses,
                  lacking_nodes: set[str]) -> list[Finding]:
    dca = snap.dca
    if dca is None:
        return []
    subject = f"pod/{dca.pod}" if dca.pod else f"namespace/{snap.install.namespace if snap.install else ''}"
    command = dca.outcome.command if dca.outcome else ""
    out: list[Finding] = []
    if dca.map is None:
        out.append(Finding("dca-metamap-unavailable", Severity.WARNING, subject,
                           f"could not get the DCA's own map: {dca.problem}",
                           "use --source api, or check exec permissions and the DCA pod", command))
        return out
    if dca.chosen_because != "leader":
        out.append(Finding("dca-metamap-not-leader", Severity.INFO, subject,
                           f"asked {dca.pod.partition('/')[2]} for its map because {dca.chosen_because}",
                           "run `kubectl datadog leader` to see the leadership"))
    if dca.map.errors:
        # The all-nodes answer lists the nodes with the DCA's own service account.
        out.append(Finding("dca-metamap-error", Severity.ERROR, subject,
                           f"the DCA could not build its map: {dca.map.errors}",
                           causes.fix if causes.node_codes else
                           "check the DCA's logs and its RBAC on nodes (it lists them for the map)", command,
                           causes.node_codes))
    for w in (dca_map or dca.map).warnings:
        node = w[len(_NODE_WARNING_PREFIX):].split(" ", 1)[0] if w.startswith(_NODE_WARNING_PREFIX) else ""
        if snap.filters.node and node and node != snap.filters.node:
            continue
        lacking = node in lacking_nodes
        out.append(Finding("dca-metamap-warning", Severity.WARNING, f"node/{node}" if node else subject, w,
                           symptom_hint(causes) if lacking else
                           "the DCA has no map for this node yet: its metadata controller may be failing; "
                           "check the DCA logs", command, (INCOMPLETE,) if lacking else ()))
    return out


def _api_findings(snap: MetamapSnapshot) -> list[Finding]:
    out: list[Finding] = []
    api = snap.api
    if snap.api_forbidden is not None:
        out.append(forbidden_finding("metamap/api", f"cannot compute the map from the API: {snap.api_forbidden.message}",
                                     Severity.WARNING, verb="list", resource=snap.api_forbidden.resource,
                                     hint="ask for list on endpoints and endpointslices.discovery.k8s.io"))
    if snap.install_forbidden is not None:  # only asked in --mode auto: the mode is the agent's default
        denied = snap.install_forbidden
        out.append(forbidden_finding(
            "metamap/api", f"cannot look for the Cluster Agent ({denied.message}): the map is computed from "
            "Endpoints, the agent's default",
            Severity.WARNING, verb=denied.verb, resource=denied.resource,
            hint="pass --install-namespace where you may list pods, or --mode to choose the map's source"))
    if snap.mode and snap.install is None and snap.mode_reason.startswith("no Cluster Agent"):
        out.append(Finding("metamap-no-install", Severity.INFO, "metamap/api",
                           "no Cluster Agent found, so the map is computed from Endpoints (the agent's default)",
                           "pass --mode endpointslices if your DCA sets DD_KUBERNETES_USE_ENDPOINT_SLICES=true"))
    if api is None:
        return out
    if api.scope_forbidden is not None:
        denied = api.scope_forbidden
        out.append(forbidden_finding(
            "metamap/api", f"cannot {denied.verb} {denied.resource} at the cluster scope: the map shows only the "
            f"namespace {snap.filters.namespace} (from -n or the context)", Severity.WARNING,
            hint=f"ask for {denied.verb} on {denied.resource} at the cluster scope, or pass -n for another namespace",
            command=f"kubectl auth can-i {denied.verb} {denied.resource} --all-namespaces"))
    if api.nodes_forbidden is not None:
        out.append(forbidden_finding("metamap/nodes",
                                     f"cannot list nodes ({api.nodes_forbidden.message}): nodes without mapped pods "
                                     "are not shown and nodes missing from the DCA's map are not checked",
                                     Severity.WARNING, verb="list", resource="nodes"))
    if api.nodes is not None:
        f = snap.filters
        if f.node and f.node not in api.nodes:
            out.append(Finding("metamap-node-not-found", Severity.ERROR, f"node/{f.node}",
                               f"the API lists no node {f.node}", "list them with: kubectl get nodes",
                               f"kubectl get node {f.node}"))
        for node in sorted(n for n in api.map.nodes if n not in api.nodes):
            pods = sum(len(p) for p in api.map.nodes[node].values())
            out.append(Finding("metamap-unknown-node", Severity.INFO, f"node/{node}",
                               f"{pods} endpoint pod(s) name node {node}, which the API does not list: the DCA "
                               "serves no map for it", "these endpoints are stale; the endpoints controller "
                               "should remove them", f"kubectl get node {node}"))
    return out


def explain(snap: MetamapSnapshot) -> MetamapReport:
    f = snap.filters
    dca_map = snap.dca.map.filtered(node=f.node, namespace=f.namespace, pod=f.pod) \
        if snap.dca is not None and snap.dca.map is not None else None
    checks = snap.dca.mapper if snap.dca is not None else None
    causes = mapper_causes(checks)
    findings = _api_findings(snap) + list(causes.findings) + discovery_findings([snap.install])
    diffs: list[DiffRow] = []
    lacking_nodes: set[str] = set()
    if snap.source == "both" and snap.api is not None and dca_map is not None and not dca_map.errors:
        api_map = snap.api.map
        api_nodes = snap.api.nodes if not f.narrowed else None
        diffs = compare(api_map, dca_map, api_nodes=api_nodes, not_ready=snap.api.not_ready)
        command = snap.dca.outcome.command if snap.dca and snap.dca.outcome else ""
        lacking_nodes = {r.node for r in diffs if r.difference == "node-missing"}
        lacking_pods = sum(1 for r in diffs if r.pod and (r.difference == "node-missing" or "missing" in r.difference))
        if lacking_nodes or lacking_pods:
            findings += incomplete_findings(
                checks, causes, f"pod/{snap.dca.pod}" if snap.dca else "metamap/dca", lacking_nodes=len(lacking_nodes),
                api_nodes=len(api_nodes if api_nodes is not None else api_map.nodes), lacking_pods=lacking_pods,
                api_pods=api_map.pod_count)
        findings += _diff_findings(diffs, snap.mode, command, (INCOMPLETE,), symptom_hint(causes))
    findings += _dca_findings(snap, dca_map, causes, lacking_nodes)
    if snap.api is not None:
        shown = snap.api.map
    elif dca_map is not None:
        shown = dca_map
    else:
        shown = MetaMap()
    return MetamapReport(snap, shown, dca_map, tuple(diffs), sort_findings(findings))
