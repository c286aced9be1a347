"""clusterchecks, each config: one row per check config the DCA should know, where it should run,
and what stops it, from the API alone. Pure.

Rows (reference B2):
  Service annotation ad.datadoghq.com/service.*     a cluster check (one per check template)
  Service annotation ad.datadoghq.com/endpoints.*   per ready address: an endpoint check bound to the
                                                    node of the address's pod, or (no pod, resolve=ip)
                                                    a cluster check
  conf.d file with cluster_check: true               a cluster check; without it the DCA runs it itself
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.diagnose.clusterchecks_setup import DISABLED, ENDPOINTSCHECKS_MISSING, NO_WORKER, Setup, \
    DCA_PROVIDER_MISSING, PROVIDER_FOR
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.clusterchecks import KSM_CORE, ClusterChecksSnapshot
from kubectl_datadog.snapshots.clusterchecks_configs import AnnotatedService, ConfdFile

ANNOTATION_INVALID = "clusterchecks-annotation-invalid"
CONFD_INVALID = "clusterchecks-confd-invalid"
ENDPOINTS_MISSING = "clusterchecks-endpoints-missing"
ENDPOINTS_NOT_READY = "clusterchecks-endpoints-not-ready"
ENDPOINT_NO_AGENT = "clusterchecks-endpoint-no-agent"
EXCLUDED = "clusterchecks-check-excluded"
RESOLVE_UNKNOWN = "clusterchecks-resolve-unknown"
TARGET_MISSING = "clusterchecks-target-missing"

# Verdicts from the API alone; the DCA stage may turn `expected` into dispatched/dangling/unknown-to-dca.
EXPECTED, RUNS_ON_DCA, INVALID, EXCLUDED_V, NOT_DISPATCHED, NO_TARGET, NO_AGENT, NO_WORKER_V = (
    "expected", "runs-on-dca", "invalid", "excluded", "not-dispatched", "no-target", "no-agent", "no-worker")


@dataclass(frozen=True)
class ConfigRow:
    check: str
    source: str  # service/<ns>/<name>, or configmap/<name>:<key>
    origin: str  # service-annotation | endpoints-annotation | confd
    kind: str  # cluster | endpoint | dca
    should_run: str
    verdict: str
    detail: str = ""
    address: str = ""  # the endpoint address (endpoints-annotation rows)
    node: str = ""  # the node of the endpoint's pod (endpoint checks)
    pod: str = ""  # namespace/name of the endpoint's pod
    dca_says: str | None = None  # where the DCA runs it (None: not asked)
    cause: tuple[str, ...] = ()  # codes of the setup findings that explain the verdict

    def to_dict(self) -> dict[str, object]:
        return {"check": self.check, "source": self.source, "origin": self.origin, "kind": self.kind,
                "shouldRun": self.should_run, "dcaSays": self.dca_says, "verdict": self.verdict,
                "detail": self.detail or None, "address": self.address or None, "node": self.node or None,
                "pod": self.pod or None}


def _service_cmd(svc: AnnotatedService) -> str:
    return f"kubectl -n {svc.namespace} get service {svc.name} -o jsonpath='{{.metadata.annotations}}'"


def _dispatch_verdict(setup: Setup, kind: str, check: str, excluded: tuple[str, ...],
                      origin_kind: str) -> tuple[str, str, tuple[str, ...]]:
    """The verdict every dispatched config shares, from the setup alone."""
    if check in excluded:
        return EXCLUDED_V, "in DD_CLUSTER_CHECKS_EXCLUDE_CHECKS", ()
    if setup.enabled is False:
        return NOT_DISPATCHED, "cluster checks are disabled on the DCA", (DISABLED,)
    if origin_kind in PROVIDER_FOR and setup.dca_providers is not None \
            and PROVIDER_FOR[origin_kind] not in setup.dca_providers:
        return NOT_DISPATCHED, f"the DCA does not run the {PROVIDER_FOR[origin_kind]} provider", (DCA_PROVIDER_MISSING,)
    if kind == "cluster" and NO_WORKER in setup.causes:
        return NO_WORKER_V, "no Ready Agent runs the clusterchecks provider", (NO_WORKER,)
    return EXPECTED, "", ()


def _where_cluster(setup: Setup) -> str:
    return "a runner" if setup.runners else "a node Agent"


def service_rows(svc: AnnotatedService, setup: Setup, excluded: tuple[str, ...]) -> tuple[list[ConfigRow], list[Finding]]:
    rows: list[ConfigRow] = []
    out: list[Finding] = []
    src = svc.ref
    for ann, origin in ((svc.service, "service-annotation"), (svc.endpoints, "endpoints-annotation")):
        if ann is None:
            continue
        if ann.error:
            names = ",".join(t.check for t in ann.templates) or "?"
            rows.append(ConfigRow(names, src, origin, "cluster" if origin == "service-annotation" else "endpoint",
                                  _where_cluster(setup), INVALID, ann.error))
            out.append(Finding(
                ANNOTATION_INVALID, Severity.ERROR, src,
                f"the {ann.key} annotation does not parse: {ann.error.removeprefix(ann.key + ': ')}; the DCA logs "
                f"\"Cannot parse {'service' if origin == 'service-annotation' else 'endpoint'} template\" and "
                "schedules none of its checks",
                "fix the annotation's JSON (a map of check name to {init_config, instances}, or the v1 trio "
                "check_names/init_configs/instances with as many items each)", _service_cmd(svc)))
            continue
        if origin == "service-annotation":
            for t in ann.templates:
                verdict, detail, cause = _dispatch_verdict(setup, "cluster", t.check, excluded, "service")
                rows.append(ConfigRow(t.check, src, origin, "cluster", _where_cluster(setup), verdict, detail,
                                      cause=cause))
            continue
        rows_e, out_e = _endpoint_rows(svc, setup, excluded)
        rows += rows_e
        out += out_e
    return rows, out


def _endpoint_rows(svc: AnnotatedService, setup: Setup, excluded: tuple[str, ...]) -> tuple[list[ConfigRow], list[Finding]]:
    assert svc.endpoints is not None
    rows: list[ConfigRow] = []
    out: list[Finding] = []
    src = svc.ref
    origin = "endpoints-annotation"
    templates = svc.endpoints.templates
    if svc.resolve not in ("auto", "ip"):
        out.append(Finding(RESOLVE_UNKNOWN, Severity.WARNING, src,
                           f"ad.datadoghq.com/endpoints.resolve is {svc.resolve!r}: the DCA falls back to auto",
                           "use auto (the default) or ip", _service_cmd(svc)))
    if svc.endpoints_forbidden is not None:
        f = svc.endpoints_forbidden
        out.append(forbidden_finding(src, f"cannot read the endpoints of {svc.name} ({f.message}): where its endpoint "
                                     "checks should run is unknown", Severity.WARNING, verb=f.verb or "get",
                                     resource=f.resource or "endpoints", namespace=svc.namespace))
        for t in templates:
            rows.append(ConfigRow(t.check, src, origin, "endpoint", "unknown", "unknown", "endpoints not readable"))
        return rows, out
    if not svc.endpoints_read:
        return rows, out
    if not svc.endpoints_exist or not svc.addresses:
        missing = not svc.endpoints_exist
        out.append(Finding(
            ENDPOINTS_MISSING if missing else ENDPOINTS_NOT_READY, Severity.ERROR if missing else Severity.WARNING, src,
            (f"{svc.name} carries endpoints check annotations but has no Endpoints: the DCA logs \"Cannot get "
             "Kubernetes endpoints\" and schedules no endpoint check" if missing else
             f"{svc.name} has no ready endpoint address ({svc.not_ready} not ready): its endpoint checks "
             f"({', '.join(t.check for t in templates)}) have nothing to run against"),
            "give the Service a selector that matches running pods (or put the annotations on the right Service)"
            if missing else "make the backing pods Ready; only ready addresses get a check",
            f"kubectl -n {svc.namespace} get endpoints {svc.name} -o wide"))
        for t in templates:
            rows.append(ConfigRow(t.check, src, origin, "endpoint", "the node Agent on each endpoint's node", NO_TARGET,
                                  "no Endpoints" if missing else "no ready address"))
        return rows, out
    no_agent: dict[str, list[str]] = {}
    for addr in svc.addresses:
        for t in templates:
            pod_bound = bool(addr.pod) and svc.resolve != "ip"
            kind = "endpoint" if pod_bound else "cluster"
            verdict, detail, cause = _dispatch_verdict(setup, kind, t.check, excluded, "endpoints")
            where = f"node Agent on {addr.node or '?'}" if pod_bound else _where_cluster(setup)
            if pod_bound and verdict == EXPECTED:
                if addr.node not in setup.endpoint_nodes and not setup.endpoint_providers_unknown:
                    has_agent = addr.node in setup.agent_nodes
                    verdict = NO_AGENT
                    detail = (f"the node Agent on {addr.node} does not run endpointschecks" if has_agent else
                              f"no Ready node Agent on {addr.node}")
                    cause = (ENDPOINTSCHECKS_MISSING,) if has_agent and ENDPOINTSCHECKS_MISSING in setup.causes else ()
                    no_agent.setdefault(addr.node, []).append(addr.pod)
            rows.append(ConfigRow(t.check, src, origin, kind, where, verdict, detail, addr.ip, addr.node if pod_bound
                                  else "", addr.pod, cause=cause))
    for node, pods in sorted(no_agent.items()):
        has_agent = node in setup.agent_nodes
        caused = (ENDPOINTSCHECKS_MISSING,) if has_agent and ENDPOINTSCHECKS_MISSING in setup.causes else ()
        pod_list = ", ".join(sorted(set(pods)))
        out.append(Finding(
            ENDPOINT_NO_AGENT, Severity.ERROR, src,
            f"the endpoint check(s) {', '.join(t.check for t in templates)} of Service {svc.name} for pod(s) {pod_list} "
            f"must run on node {node}, where "
            + ("the node Agent does not run the endpointschecks provider" if has_agent
               else "no Ready node Agent runs (the node is NotReady)" if node in setup.not_ready_nodes
               else "no Ready node Agent runs (taints, nodeSelector, or a virtual node)")
            + ": they never run, and the DCA does not say so",
            "tolerate the node's taints in the Agent DaemonSet (or set ad.datadoghq.com/endpoints.resolve: ip to "
            "run them as cluster checks)" if not has_agent else "add endpointschecks to the node Agents' "
            "DD_EXTRA_CONFIG_PROVIDERS",
            f"kubectl get pods -A -o wide --field-selector spec.nodeName={node}", caused_by=caused))
    return rows, out


def confd_rows(f: ConfdFile, setup: Setup, excluded: tuple[str, ...]) -> tuple[list[ConfigRow], list[Finding]]:
    src = f"{f.ref}:{f.key}"
    if f.error and f.error != "no instances":
        return [ConfigRow(f.check, src, "confd", "cluster" if f.cluster_check else "dca", "?", INVALID, f.error)], [
            Finding(CONFD_INVALID, Severity.ERROR, f.ref,
                    f"the Cluster Agent's conf.d file {f.key} does not parse: {f.error}; the check is not scheduled",
                    "fix the file's YAML in the ConfigMap", f"kubectl get {f.ref.replace('/', ' ', 1)} -o yaml")]
    if not f.cluster_check:
        return [ConfigRow(f.check, src, "confd", "dca", "the DCA itself", RUNS_ON_DCA,
                          "kube-state-metrics core on the DCA" if f.check == KSM_CORE else "no cluster_check: true")], []
    verdict, detail, cause = _dispatch_verdict(setup, "cluster", f.check, excluded, "confd")
    if f.missing and verdict == EXPECTED:
        names = ", ".join(f"{'service' if k == 'kube_service' else 'endpoints'} {ns}/{n}" for k, ns, n in f.missing)
        return [ConfigRow(f.check, src, "confd", "cluster", _where_cluster(setup), NO_TARGET, f"no {names}")], [
            Finding(TARGET_MISSING, Severity.ERROR, f.ref,
                    f"the Cluster Agent's conf.d file {f.key} is bound (advanced_ad_identifiers) to {names}, which "
                    "does not exist: the check is never scheduled",
                    "fix the name and namespace in advanced_ad_identifiers, or create the Service",
                    f"kubectl get {f.ref.replace('/', ' ', 1)} -o yaml")]
    return [ConfigRow(f.check, src, "confd", "cluster", _where_cluster(setup), verdict, detail, cause=cause)], []


def _wanted(rows: list[ConfigRow], check: str) -> bool:
    return not check or any(check in r.check.split(",") for r in rows)


def config_rows(snap: ClusterChecksSnapshot, setup: Setup) -> tuple[list[ConfigRow], list[Finding]]:
    """Every row, and the findings of the sources that hold the CHECK asked for (all without one);
    the rows themselves are filtered once the DCA's view is merged (clusterchecks.explain)."""
    excluded = snap.settings.exclude_checks if snap.settings else ()
    rows: list[ConfigRow] = []
    out: list[Finding] = []
    for svc in snap.services:
        r, f = service_rows(svc, setup, excluded)
        rows += r
        out += f if _wanted(r, snap.check_filter) else []
    for file in snap.confd:
        r, f = confd_rows(file, setup, excluded)
        rows += r
        out += f if _wanted(r, snap.check_filter) else []
    for check in sorted({r.check for r in rows if r.verdict == EXCLUDED_V}):
        if _wanted([r for r in rows if r.check == check], snap.check_filter):
            out.append(Finding(EXCLUDED, Severity.INFO, f"check/{check}",
                               f"{check} is in the DCA's DD_CLUSTER_CHECKS_EXCLUDE_CHECKS: it is never dispatched",
                               "remove it from the list if it should run"))
    return rows, out


def wanted_kinds(snap: ClusterChecksSnapshot) -> set[str]:
    """Which kinds of config exist, before any verdict (setup severities depend on it)."""
    wants: set[str] = set()
    for svc in snap.services:
        if svc.service is not None:
            wants |= {"service", "cluster"}
        if svc.endpoints is not None:
            wants.add("endpoints")
            if any(a.pod for a in svc.addresses) and svc.resolve != "ip":
                wants.add("endpoint")
            if any(not a.pod for a in svc.addresses) or svc.resolve == "ip" or not svc.endpoints_read:
                wants.add("cluster")
    if any(f.cluster_check for f in snap.confd):
        wants.add("cluster")
    return wants
