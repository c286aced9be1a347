"""Why the DCA's own map lacks what the API maps (`metamap --source both`). Pure.

The DCA builds its map from informers: EndpointSlices or Endpoints (per its
DD_KUBERNETES_USE_ENDPOINT_SLICES) for the pod -> service entries, and Nodes (with Pods and Services,
workloadmeta's Kubernetes collectors) for the nodes; it lists the nodes again for every all-nodes
answer. What it lacks therefore follows from one of:
  dca-rbac-missing          its service account may not list or watch one of those (access reviews)
  dca-mapper-list-failing   its log shows an informer failing to list or watch one of those
                            (caused by dca-rbac-missing when the API server answered forbidden)
When the map lacks nodes or pods, one `dca-metamap-incomplete` finding says how much, caused by
those; each lacking node and pod (metamap-node-missing, metamap-missing-service) and the DCA's own
warnings about them are its symptoms. With no cause found, the finding says what was checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.metamap import MapperChecks

INCOMPLETE = "dca-metamap-incomplete"
RBAC_MISSING = "dca-rbac-missing"
LIST_FAILING = "dca-mapper-list-failing"
NEEDS = "list and watch on endpointslices or endpoints (per DD_KUBERNETES_USE_ENDPOINT_SLICES), nodes, pods and services"


def _and(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def _qualified(resource: str) -> str:
    return "endpointslices.discovery.k8s.io" if resource == "endpointslices" else resource


@dataclass(frozen=True)
class MapperCauses:
    """The causes found (root first), and how to fix them in one sentence for their symptoms' hints."""

    findings: tuple[Finding, ...]
    fix: str
    node_codes: tuple[str, ...]  # the causes that keep the DCA from listing nodes

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.code for f in self.findings))


def mapper_causes(checks: MapperChecks | None) -> MapperCauses:
    if checks is None:
        return MapperCauses((), "", ())
    sa_ns, sa = checks.service_account.split(":")[2:4] if checks.service_account.count(":") >= 3 else ("", "")
    subject = f"serviceaccount/{sa_ns}/{sa}"
    out: list[Finding] = []
    denied = [c for c, allowed in checks.access if allowed is False]
    denied_resources = {c.resource for c in denied}
    grant = ""
    if denied:
        verbs: dict[str, list[str]] = {}
        for c in denied:
            verbs.setdefault(_qualified(c.resource), []).append(c.verb)
        wanted = _and([f"{_and(v)} on {r}" for r, v in verbs.items()])
        grant = f"grant the Cluster Agent's service account {sa_ns}/{sa} {wanted} (its ClusterRole)"
    for c in denied:
        out.append(Finding(
            RBAC_MISSING, Severity.ERROR, subject,
            f"the Cluster Agent's service account cannot {c.describe()}: its metadata mapper needs it to build "
            "the pod -> service map", grant + "; its informers retry by themselves",
            f"kubectl auth can-i {c.verb} {_qualified(c.resource)} --as {c.user}"))
    node_codes: list[str] = [RBAC_MISSING] if "nodes" in denied_resources else []
    other: list[str] = []
    for failure in checks.log.failures if checks.log is not None else ():
        explained = failure.forbidden and failure.resource in denied_resources
        out.append(Finding(
            LIST_FAILING, Severity.ERROR, f"pod/{checks.pod}" if checks.pod else subject,
            f"the Cluster Agent's log shows its informer failing to {failure.verb} {_qualified(failure.resource)} "
            f"({failure.count} line(s)): {failure.message}",
            (grant if explained else
             f"grant {failure.verb} on {_qualified(failure.resource)} to the Cluster Agent's service account"
             if failure.forbidden else "the DCA cannot read it from the API server: check the API server and "
             "the DCA's connection to it"), checks.log_command, (RBAC_MISSING,) if explained else ()))
        if failure.resource == "nodes":
            node_codes.append(LIST_FAILING)
        if not explained:
            other.append(f"{failure.verb} {_qualified(failure.resource)}: {failure.message}")
    fix = "; ".join(x for x in (grant, *(f"fix what the DCA's log reports ({o})" for o in other[:1])) if x)
    return MapperCauses(tuple(out), fix, tuple(dict.fromkeys(node_codes)))


def incomplete_findings(checks: MapperChecks | None, causes: MapperCauses, subject: str, *,
                        lacking_nodes: int, api_nodes: int, lacking_pods: int, api_pods: int) -> list[Finding]:
    """The one finding that says how much the DCA's map lacks and why, and what could not be checked."""
    out: list[Finding] = []
    parts = []
    if lacking_nodes:
        parts.append(f"{lacking_nodes} of the {api_nodes} node(s) the API lists")
    if lacking_pods:
        parts.append(f"{lacking_pods} of the {api_pods} pod(s) the API maps to services")
    what = f"the Cluster Agent's map lacks {' and '.join(parts)}"
    if causes.findings:
        out.append(Finding(INCOMPLETE, Severity.WARNING, subject, what, causes.fix, "", causes.codes))
        return out
    known: list[str] = []
    if checks is not None:
        answers = [allowed for _, allowed in checks.access]
        if answers and all(a is True for a in answers):
            resources = _and(list(dict.fromkeys(_qualified(c.resource) for c, _ in checks.access)))
            known.append(f"its service account may list and watch {resources}")
        elif any(a is None for a in answers):
            out.append(Finding("dca-rbac-unchecked", Severity.INFO, subject,
                               "could not check what the Cluster Agent's service account may list and watch for "
                               "its map: you may not create subjectaccessreviews",
                               "run with a user allowed to create subjectaccessreviews.authorization.k8s.io"))
        if checks.log is not None:
            known.append(f"its log (last {checks.log.lines} lines) shows no informer failure")
        elif checks.log_forbidden is not None:
            out.append(forbidden_finding(subject, "cannot read the Cluster Agent's log: what it says about its "
                                         "metadata mapper is unknown", Severity.INFO, verb="get",
                                         resource="pods/log", namespace=checks.log_forbidden.namespace))
        else:
            out.append(Finding("logs-unavailable", Severity.INFO, subject,
                               f"could not read the Cluster Agent's log: {checks.log_problem}",
                               "what it says about its metadata mapper stays unknown", checks.log_command))
    out.append(Finding(
        INCOMPLETE, Severity.WARNING, subject, what + ("; " + " and ".join(known) if known else ""),
        "the map fills as the DCA's informers sync (a DCA that just started); if it stays incomplete, restart "
        f"the DCA and check its log at debug level (it needs {NEEDS})",
        checks.log_command if checks is not None else ""))
    return out


def symptom_hint(causes: MapperCauses) -> str:
    """The hint of what the incomplete map causes: how to fix its cause, when one was found."""
    if causes.fix:
        return f"the DCA's map is incomplete ({INCOMPLETE}): {causes.fix}"
    return f"the DCA's map is incomplete ({INCOMPLETE}): see that finding"
