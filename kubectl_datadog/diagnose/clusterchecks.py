"""Which cluster and endpoint checks exist, who should run them, where the DCA says they run, and
why one does not run. Pure: snapshot in, report out.

Stages: the setup (clusterchecks_setup), each config (clusterchecks_configs), the DCA's own view
(clusterchecks_dca). Row verdicts:
  dispatched      the DCA runs it on a runner or node Agent (with exec)
  expected        nothing in the API stops it (where it runs was not seen, or the DCA warms up)
  runs-on-dca     a conf.d file without cluster_check: the DCA runs it itself
  dangling        the DCA holds it unassigned
  unknown-to-dca  the API shows it, the DCA leader does not list it
  error           it runs, but its last run failed (DCAs that print execution status)
  not-dispatched  cluster checks are off, or the DCA lacks the provider that reads it
  no-worker       no Ready Agent runs the clusterchecks provider
  no-agent        an endpoint check whose pod's node has no Ready node Agent with endpointschecks
  no-target       endpoints annotations without Endpoints or ready addresses
  excluded        in DD_CLUSTER_CHECKS_EXCLUDE_CHECKS
  invalid         the annotation or file does not parse
  unknown         what it needs could not be read
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_datadog.diagnose.clusterchecks_configs import ConfigRow, config_rows, wanted_kinds
from kubectl_datadog.diagnose.clusterchecks_dca import compare, dca_findings
from kubectl_datadog.diagnose.clusterchecks_setup import Setup, setup_of
from kubectl_datadog.diagnose.discovery import discovery_findings
from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.diagnose.settings import unknown_setting_findings
from kubectl_datadog.model import Finding, Severity, sort_findings
from kubectl_datadog.snapshots.clusterchecks import SETTING_ENV, ClusterChecksSnapshot

NO_CLUSTER_AGENT = "clusterchecks-no-cluster-agent"
CONFD_UNREADABLE = "clusterchecks-confd-unreadable"
SETTING_UNKNOWN = "clusterchecks-setting-unknown"

_ORDER = {"service-annotation": 0, "endpoints-annotation": 1, "confd": 2, "dca": 3}


@dataclass(frozen=True)
class ClusterChecksReport:
    snapshot: ClusterChecksSnapshot
    setup: Setup
    rows: tuple[ConfigRow, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, object]:
        snap = self.snapshot
        rd = snap.runner_deployment
        return {
            "install": snap.install.to_dict(),
            "check": snap.check_filter or None,
            "settings": snap.settings.to_dict() if snap.settings else None,
            "setup": self.setup.to_dict(),
            "leader": snap.leader or None,
            "runnerDeployment": rd.to_dict() if rd else None,
            "workers": [w.to_dict() for w in snap.workers],
            "configs": [r.to_dict() for r in self.rows],
            "summary": {v: sum(1 for r in self.rows if r.verdict == v)
                        for v in sorted({r.verdict for r in self.rows})},
            "kubeStateMetricsCorePermissions": {
                "serviceAccount": snap.access_subject or None,
                "checks": [{"check": c.describe(), "allowed": a} for c, a in snap.access]},
            "clusterAgentPermissions": [{"check": c.describe(), "allowed": a} for c, a in snap.provider_access],
            "dca": snap.dca.to_dict() if snap.dca else None,
        }


def _read_findings(snap: ClusterChecksSnapshot) -> list[Finding]:
    out: list[Finding] = []
    ns = snap.install.namespace
    if snap.services_forbidden is not None:
        f = snap.services_forbidden
        out.append(forbidden_finding("clusterchecks/services",
                                     f"cannot list Services ({f.message}): their check annotations are unknown",
                                     Severity.WARNING, verb="list", resource="services",
                                     namespace=snap.namespace_filter))
    for what in snap.confd_unread:
        out.append(Finding(CONFD_UNREADABLE, Severity.WARNING, f"configmap/{ns}/{what.split(' ', 1)[0]}",
                           f"cannot read the Cluster Agent's conf.d ConfigMap {what}: its checks (kube-state-metrics "
                           "core among them) are unknown", f"ask for get on configmaps in {ns}",
                           f"kubectl auth can-i get configmaps -n {ns}"))
    return out


def _env_from_findings(snap: ClusterChecksSnapshot) -> list[Finding]:
    """Settings an envFrom source of the DCA container may set (not read here): unknown."""
    inst = snap.install
    if snap.settings is None or inst.settings is None:
        return []
    read = {u.name for u in inst.settings.unread}
    names = [n for n in snap.settings.unknown if n not in read]
    if not names:
        return []
    return [Finding(SETTING_UNKNOWN, Severity.WARNING, f"deployment/{inst.namespace}/{inst.dca_deployment}",
                    f"{', '.join(names)} may be set by an envFrom source of the Cluster Agent container: unknown, so "
                    "no verdict rests on them", "set them as plain env vars to have them checked",
                    f"kubectl -n {inst.namespace} get deploy {inst.dca_deployment} -o yaml | grep -A3 envFrom")]


def explain(snap: ClusterChecksSnapshot) -> ClusterChecksReport:
    inst = snap.install
    findings: list[Finding] = discovery_findings([inst])
    if not inst.dca_pods:
        findings.append(Finding(
            NO_CLUSTER_AGENT, Severity.WARNING if snap.services or snap.confd else Severity.INFO,
            f"namespace/{inst.namespace}",
            "this install runs no Cluster Agent: nothing dispatches cluster or endpoint checks"
            + (f" ({len(snap.services)} annotated Service(s) wait for one)" if snap.services else ""),
            "deploy the Cluster Agent with cluster checks (Helm clusterAgent.enabled=true, "
            "datadog.clusterChecks.enabled=true)", f"kubectl -n {inst.namespace} get deploy,daemonset"))
    setup, setup_findings = setup_of(snap, wanted_kinds(snap))
    findings += setup_findings
    findings += unknown_setting_findings(inst, SETTING_ENV)
    findings += _env_from_findings(snap)
    findings += _read_findings(snap)
    rows, config_findings = config_rows(snap, setup)
    findings += config_findings
    if snap.dca is not None and snap.dca.state is not None and snap.dca.state.enabled \
            and not snap.dca.state.not_running:
        rows = compare(rows, snap.dca)
    if snap.check_filter:
        rows = [r for r in rows if snap.check_filter in r.check.split(",")]
    findings += dca_findings(snap, setup, rows)
    rows.sort(key=lambda r: (_ORDER.get(r.origin, 9), r.source, r.check, r.node, r.address))
    return ClusterChecksReport(snap, setup, tuple(rows), sort_findings(findings))
