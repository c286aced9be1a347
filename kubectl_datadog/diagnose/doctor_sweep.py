"""doctor's install-wide checks: the Datadog service accounts' permissions against the features
their settings turn on, more than one install or leftovers of an old one, and the Cluster Agent's
own `health`. Pure."""

from __future__ import annotations

from kubectl_datadog.diagnose.doctor import Unchecked, exec_unchecked
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.doctor import ROLE_AGENT, ROLE_DCA, ROLE_RUNNER, AccessNeed, ApiKeyState, CheckState, \
    SweepSnapshot

SHOWN = 4
# Permissions of which one suffices (collect.doctor.KUBELET_POD_LIST: the kubelet's pod list through
# nodes/proxy, or nodes/pods with fine-grained kubelet authorization).
ANY_OF = (frozenset({"nodes/proxy", "nodes/pods"}),)


# The account's owner as findings name it.
WHO = {ROLE_DCA: "Cluster Agent", ROLE_AGENT: "node Agent", ROLE_RUNNER: "Cluster Checks Runner"}


def access_findings(snap: SweepSnapshot, area: str) -> tuple[list[Finding], list[str], list[Unchecked]]:
    """One finding per (account, feature) with every denied permission of it."""
    denied: dict[tuple[str, str, str], list[AccessNeed]] = {}
    checked: list[str] = []
    unknown: list[AccessNeed] = []
    for need in snap.access:
        subject = f"serviceaccount/{need.account}"
        if need.allowed is not None and subject not in checked:  # judged only on what was answered
            checked.append(subject)
        if need.allowed is None:
            unknown.append(need)
        elif need.allowed is False:
            denied.setdefault((subject, need.role, need.feature), []).append(need)
    for group in ANY_OF:  # one allowed member satisfies its group: its denied members are no fault
        for key, needs in list(denied.items()):
            account = needs[0].account
            if any(n.account == account and n.check.resource in group and n.allowed for n in snap.access):
                denied[key] = [n for n in needs if n.check.resource not in group]
                if not denied[key]:
                    del denied[key]
    findings = []
    for (subject, role, feature), needs in sorted(denied.items()):
        ns, sa = needs[0].account.split("/", 1)
        what = ", ".join(n.check.describe() for n in needs)
        who = WHO[role]
        findings.append(Finding(
            "serviceaccount-permission-missing", Severity.ERROR, subject,
            f"the {who}'s service account may not {what}, which {feature} needs",
            f"grant it in the {who}'s ClusterRole (the chart and the Operator render these rules: check that the "
            "ClusterRoleBinding names this service account)",
            f"kubectl auth can-i {needs[0].check.verb} {needs[0].check.resource}"
            + (f".{needs[0].check.group}" if needs[0].check.group else "")
            + (f" -n {needs[0].check.namespace}" if needs[0].check.namespace else "")
            + f" --as system:serviceaccount:{ns}:{sa}"))
    unchecked = []
    if unknown:
        accounts = sorted({n.account for n in unknown})
        unchecked.append(Unchecked(area, f"the permissions of the service accounts {', '.join(accounts)} "
                                         f"({len(unknown)} access reviews)",
                                   "create subjectaccessreviews.authorization.k8s.io",
                                   "kubectl auth can-i create subjectaccessreviews.authorization.k8s.io"))
    return findings, checked, unchecked


def install_findings(snap: SweepSnapshot) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    with_dca = [i for i in snap.installs if i.dca_pods]
    checked = [f"namespace/{i.namespace}" for i in snap.installs]
    if len(with_dca) > 1:
        labels = ", ".join(i.label for i in with_dca)
        findings.append(Finding(
            "several-installs", Severity.WARNING, "cluster",
            f"{len(with_dca)} Cluster Agents run in this cluster ({labels}): only one can serve the external "
            "metrics APIService and the admission webhooks, and each Agent must use its own install's",
            "keep one install, or make sure only one registers the APIService and the webhooks",
            "kubectl get deployments -A -l app.kubernetes.io/component=cluster-agent"))
    if snap.leftovers:
        shown = "; ".join(lo.ref + (f" ({lo.detail})" if lo.detail else "") for lo in snap.leftovers[:SHOWN])
        more = f" and {len(snap.leftovers) - SHOWN} more" if len(snap.leftovers) > SHOWN else ""
        running = ", ".join(sorted({i.namespace for i in snap.installs})) or "none"
        severity = Severity.ERROR if any(lo.role == "external-metrics-apiservice" for lo in snap.leftovers) \
            else Severity.WARNING
        findings.append(Finding(
            "old-install-leftovers", severity, "cluster",
            f"objects of a Datadog install remain outside the running install's namespace ({running}): "
            f"{shown}{more}",
            "delete what the old install left behind (an APIService or a webhook configuration calling a Service "
            "nobody serves breaks external metrics or slows every pod creation)",
            "kubectl get apiservices,mutatingwebhookconfigurations,validatingwebhookconfigurations,"
            "clusterrolebindings,deployments,daemonsets -A | grep -i datadog"))
    checked.append("cluster")
    return findings, checked


def health_findings(snap: SweepSnapshot, area: str) -> tuple[list[Finding], list[str], list[Unchecked]]:
    findings: list[Finding] = []
    checked: list[str] = []
    unchecked: list[Unchecked] = []
    if not snap.exec_allowed:
        unchecked.append(Unchecked(area, "the Cluster Agents' own health (`datadog-cluster-agent health`)",
                                   "exec (--no-exec was given)"))
        return findings, checked, unchecked
    for h in snap.health:
        subject = f"pod/{h.pod}"
        ns, name = h.pod.split("/", 1)
        if h.outcome.forbidden is not None:
            unchecked.append(exec_unchecked(area, f"the health of {h.pod}", h.pod))
            continue
        report = h.report
        if report is None or report.passed is None:
            unchecked.append(Unchecked(area, f"the health of {h.pod}: {h.outcome.problem or 'no health output'}",
                                       "", h.outcome.command))
            continue
        checked.append(subject)
        if report.passed and not report.unhealthy:
            continue
        parts = ", ".join(report.unhealthy) or "none named"
        findings.append(Finding(
            "dca-unhealthy-components", Severity.ERROR, subject,
            f"the Cluster Agent reports {len(report.unhealthy)} unhealthy component(s): {parts}",
            "read the Cluster Agent's log around these components; a stuck component fails its liveness "
            "probe and restarts the pod",
            f"kubectl -n {ns} exec {name} -- datadog-cluster-agent health"))
    return findings, checked, unchecked


# kubernetes_apiserver (events) is `leader`'s: it reads that check in the same output.
LEADERS_CHECKS = ("kubernetes_apiserver",)


def status_findings(checks: tuple[CheckState, ...], pod: str, container: str) -> list[Finding]:
    """The leader's `status` Collector: cluster-level checks failing or never loaded."""
    ns, name = pod.split("/", 1)
    out = []
    for c in checks:
        if c.name in LEADERS_CHECKS or c.state == "OK":
            continue
        if c.state == "not-loaded":
            out.append(Finding(
                "dca-check-not-loaded", Severity.WARNING, f"pod/{pod}",
                f"the Cluster Agent never scheduled the check {c.name}: {c.error}",
                "fix the check's configuration (its conf.d file or the annotations it comes from)",
                f"kubectl -n {ns} exec {name} -c {container} -- datadog-cluster-agent configcheck"))
        else:
            out.append(Finding(
                "dca-check-failing", Severity.ERROR if c.state == "ERROR" else Severity.WARNING, f"pod/{pod}",
                f"the Cluster Agent's check {c.name} is in {c.state}" + (f": {c.error}" if c.error else ""),
                "read the error: a forbidden list is a missing ClusterRole rule, a timeout an overloaded API server",
                f"kubectl -n {ns} exec {name} -c {container} -- datadog-cluster-agent status"))
    return out


def api_key_findings(keys: tuple[ApiKeyState, ...], pod: str, container: str) -> list[Finding]:
    """The leader's `status` Forwarder section: an API key the Datadog API refused (HTTP 403 from
    its validate endpoint). Named by its last five characters, as the DCA prints it."""
    ns, name = pod.split("/", 1)
    return [Finding(
        "dca-api-key-invalid", Severity.ERROR, f"pod/{pod}",
        f"the Cluster Agent's forwarder reports its API key ending with {k.ending} invalid: the Datadog API "
        "refuses it, so nothing the Cluster Agent sends is accepted",
        "set a valid API key for this site in the Secret the Cluster Agent reads DD_API_KEY from (the chart's "
        "datadog.apiKey/apiKeyExistingSecret, the Operator's spec.global.credentials), then restart it",
        f"kubectl -n {ns} exec {name} -c {container} -- datadog-cluster-agent status") for k in keys if k.invalid]
