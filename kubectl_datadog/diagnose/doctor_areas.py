"""Each doctor area's explain: a command's own diagnosis (or one of doctor's sweep checks), turned
into an AreaResult (findings, what was judged, one summary line). Pure.

Adding a command to doctor is one function here (its explain + what it judged) and one entry in
pipelines/doctor.AREAS.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from kubectl_datadog.diagnose import admission as admission_diagnosis
from kubectl_datadog.diagnose import clusterchecks as clusterchecks_diagnosis
from kubectl_datadog.diagnose import doctor_pods, doctor_sweep
from kubectl_datadog.diagnose import env_check as env_check_diagnosis
from kubectl_datadog.diagnose import hpa_explain as hpa_diagnosis
from kubectl_datadog.diagnose import leader as leader_diagnosis
from kubectl_datadog.diagnose import metamap as metamap_diagnosis
from kubectl_datadog.model import Severity
from kubectl_datadog.diagnose.doctor import AreaResult, Unchecked, area_result, exec_unchecked
from kubectl_datadog.snapshots.admission import AdmissionSnapshot
from kubectl_datadog.snapshots.clusterchecks import ClusterChecksSnapshot
from kubectl_datadog.snapshots.doctor import ROLE_DCA, SweepSnapshot, api_key_states, collector_checks
from kubectl_datadog.snapshots.env_check import EnvCheckSnapshot
from kubectl_datadog.snapshots.hpa_explain import HpaSnapshot
from kubectl_datadog.snapshots.leader import LeaderSnapshot
from kubectl_datadog.snapshots.metamap import MetamapSnapshot


def _counted(values: list[str]) -> str:
    return ", ".join(f"{n} {v}" for v, n in sorted(Counter(values).items()))


# --- the commands --------------------------------------------------------------------------------

def leader_area(area: str, snap: LeaderSnapshot, now: datetime) -> AreaResult:
    report = leader_diagnosis.explain(snap, now=now)
    holder = report.lock.holder or "nobody"
    findings, unchecked = list(report.findings), []
    # What leader reports as INFO because it could not look is, for doctor, something not checked.
    if snap.status is not None and snap.status.forbidden is not None:
        findings = [f for f in findings if f.code != "exec-failed"]
        unchecked.append(exec_unchecked(area, "the leader's own `status` (leader election, running checks)",
                                        snap.status.pod))
    if any(f.code == "dca-rbac-unchecked" for f in findings):
        findings = [f for f in findings if f.code != "dca-rbac-unchecked"]
        unchecked.append(Unchecked(area, "the Cluster Agent's permissions on its lock and on events",
                                   "create subjectaccessreviews.authorization.k8s.io",
                                   "kubectl auth can-i create subjectaccessreviews.authorization.k8s.io"))
    return area_result(area, findings, checked=(report.lock.ref,), unchecked=unchecked,
                       summary=f"verdict {report.verdict}, held by {holder}",
                       data={"verdict": report.verdict, "lock": report.lock.ref, "holder": report.lock.holder or None})


def dca_status_area(area: str, snap: LeaderSnapshot, now: datetime) -> AreaResult:
    """The leader's `status` (read once, for `leader` too): the Collector's other checks and the
    Forwarder's API keys."""
    status = snap.status
    if status is None:
        return AreaResult(area, "no leader status to read", unchecked=(
            Unchecked(area, "the leader's `status` Collector section", "a running leader Cluster Agent"),))
    if status.forbidden is not None:
        return AreaResult(area, "not run", unchecked=(
            exec_unchecked(area, "the leader's `status` Collector section", status.pod),))
    if not status.ok:
        return AreaResult(area, "not run", unchecked=(
            Unchecked(area, f"the leader's `status`: {status.problem}", "", status.command),))
    checks = collector_checks(status.stdout)
    keys = api_key_states(status.stdout)
    findings = [*doctor_sweep.status_findings(checks, status.pod, status.container),
                *doctor_sweep.api_key_findings(keys, status.pod, status.container)]
    others = [c for c in checks if c.name not in doctor_sweep.LEADERS_CHECKS]
    summary = f"{len(others)} other cluster check(s) in the leader's status: " + (
        _counted([c.state for c in others]) if others else "none")
    if keys:
        summary += f"; {sum(k.invalid for k in keys)}/{len(keys)} API key(s) invalid"
    return area_result(area, findings, checked=(f"pod/{status.pod}",), summary=summary,
                       data={"collectorChecks": [{"name": c.name, "state": c.state} for c in checks],
                             "apiKeys": [{"ending": k.ending, "status": k.status} for k in keys]})


def env_check_area(area: str, snap: EnvCheckSnapshot, now: datetime) -> AreaResult:
    report = env_check_diagnosis.explain(snap, now=now)
    workloads = sorted({f"{r.pod.owner_kind.lower() or 'pod'}/{r.pod.namespace}/{r.pod.owner_name or r.pod.name}"
                        for r in report.rows})
    summary = report.summary_line().rstrip(".")
    return area_result(area, report.findings, checked=workloads, summary=summary,
                       data={"agents": {"checked": len(report.rows), **report.counts}})


# doctor's permissions area makes hpa-explain's access reviews of the Cluster Agent's external-metrics
# permissions (the same list, one answer each) for every install, with or without HPAs: an HPA broken
# by a denied one follows from that finding, and "could not check" is listed there once.
PERMISSIONS_ROOT = "serviceaccount-permission-missing"


def hpa_area(area: str, snap: HpaSnapshot, now: datetime) -> AreaResult:
    report = hpa_diagnosis.explain(snap, now=now)
    verdicts = [h.verdict for h in report.hpas]
    summary = f"{len(report.hpas)} HPA(s) on external metrics" + (f": {_counted(verdicts)}" if verdicts else "")
    findings = [replace(f, caused_by=(*f.caused_by, PERMISSIONS_ROOT)) if f.code == "dca-rbac-missing" else f
                for f in report.findings if f.code != "dca-rbac-unchecked"]
    return area_result(area, findings, checked=[h.hpa.ref for h in report.hpas], summary=summary,
                       data={"hpas": [{"object": h.hpa.ref, "verdict": h.verdict} for h in report.hpas]})


# A feature the install does not turn on is an ERROR when one asks why a pod was not mutated, and no
# fault of the install in a sweep: doctor says it (INFO) and judges nothing more there.
FEATURE_OFF = {"admission-disabled"}


def admission_area(area: str, snap: AdmissionSnapshot, now: datetime) -> AreaResult:
    report = admission_diagnosis.explain(snap, now)
    if any(f.code in FEATURE_OFF for f in report.findings):
        off = [replace(f, severity=Severity.INFO) for f in report.findings if f.code in FEATURE_OFF]
        return area_result(area, off, summary="the admission controller is not enabled: no pod to judge")
    verdicts = [r.verdict for r in report.rows]
    namespaces = sorted({f"namespace/{r.pod.namespace}" for r in report.rows})
    summary = f"{len(report.rows)} pod(s) in {len(namespaces)} namespace(s)" + (
        f": {_counted(verdicts)}" if verdicts else "")
    return area_result(area, report.findings, checked=namespaces, summary=summary,
                       data={"pods": report.summary()})


def clusterchecks_area(area: str, snap: ClusterChecksSnapshot, now: datetime) -> AreaResult:
    report = clusterchecks_diagnosis.explain(snap)
    verdicts = [r.verdict for r in report.rows]
    summary = f"{len(report.rows)} check config(s)" + (f": {_counted(verdicts)}" if verdicts else "")
    return area_result(area, report.findings, checked=sorted({r.source for r in report.rows}), summary=summary,
                       data={"configs": [{"check": r.check, "source": r.source, "verdict": r.verdict}
                                         for r in report.rows]})


def metamap_area(area: str, snap: MetamapSnapshot, now: datetime) -> AreaResult:
    report = metamap_diagnosis.explain(snap)
    kinds = [d.difference for d in report.differences]
    findings, unchecked = list(report.findings), []
    dca = snap.dca
    if dca is not None and dca.outcome is not None and dca.outcome.forbidden is not None:
        findings = [f for f in findings if f.code != "dca-metamap-unavailable"]
        unchecked.append(exec_unchecked(area, "the Cluster Agent's own map, to compare with the API's", dca.pod))
    if report.dca_map is None:
        summary = "the Cluster Agent's map could not be read"
    else:
        summary = (f"the Cluster Agent's map against the API's over {report.map.pod_count} pod(s): "
                   + (_counted(kinds) if kinds else "no differences"))
    checked = ("metamap/comparison",) if report.dca_map is not None else ()
    return area_result(area, findings, checked=checked, unchecked=unchecked, summary=summary,
                       data={"differences": len(kinds), "pods": report.map.pod_count})


# --- doctor's own checks: one SweepSnapshot, several areas ------------------------------------------

def installs_area(area: str, snap: SweepSnapshot, now: datetime) -> AreaResult:
    findings, checked = doctor_sweep.install_findings(snap)
    unchecked = [Unchecked(area, f"leftovers of an old install among the {f.resource}", f"{f.verb} {f.resource}",
                           f"kubectl auth can-i {f.verb} {f.resource}") for f in snap.leftovers_forbidden]
    return area_result(area, findings, checked=checked, unchecked=unchecked,
                       summary=f"{len(snap.installs)} install(s): " + ", ".join(i.label for i in snap.installs),
                       data={"installs": [i.label for i in snap.installs],
                             "leftovers": [lo.to_dict() for lo in snap.leftovers]})


def pods_area(area: str, snap: SweepSnapshot, now: datetime) -> AreaResult:
    findings, checked = doctor_pods.pod_findings(snap)
    roles = Counter(p.role for p in snap.pods)
    unchecked = () if snap.runners_forbidden is None else (
        Unchecked(area, "the cluster checks runner pods", "list pods", "kubectl auth can-i list pods -A"),)
    return area_result(area, findings, checked=checked, unchecked=unchecked,
                       summary=", ".join(f"{n} {role} pod(s)" for role, n in sorted(roles.items())),
                       data={"pods": dict(sorted(roles.items())), "clusterAgentsDown": list(dca_down(snap))})


def dca_down(snap: SweepSnapshot) -> tuple[str, ...]:
    """The Cluster Agent Deployments none of whose replicas is Ready."""
    ready: dict[str, bool] = {}
    for p in snap.pods:
        if p.role == ROLE_DCA:
            ready[p.workload] = ready.get(p.workload, False) or (p.ready and not p.deleting)
    return tuple(sorted(w for w, ok in ready.items() if not ok))


def placement_area(area: str, snap: SweepSnapshot, now: datetime) -> AreaResult:
    findings, checked = doctor_pods.placement_findings(snap)
    version, version_checked = doctor_pods.version_findings(snap)
    unchecked = () if snap.budgets_forbidden is None else (
        Unchecked(area, "whether a PodDisruptionBudget covers the Cluster Agent",
                  "list poddisruptionbudgets.policy", "kubectl auth can-i list poddisruptionbudgets.policy"),)
    return area_result(area, [*findings, *version], checked=[*checked, *version_checked], unchecked=unchecked,
                       summary="replicas, PDB, spread, CPU limit, images and versions")


def permissions_area(area: str, snap: SweepSnapshot, now: datetime) -> AreaResult:
    findings, checked, unchecked = doctor_sweep.access_findings(snap, area)
    asked = [n for n in snap.access if n.allowed is not None]
    return area_result(area, findings, checked=checked, unchecked=unchecked,
                       summary=f"{sum(bool(n.allowed) for n in asked)}/{len(asked)} needed permissions granted")


def health_area(area: str, snap: SweepSnapshot, now: datetime) -> AreaResult:
    findings, checked, unchecked = doctor_sweep.health_findings(snap, area)
    return area_result(area, findings, checked=checked, unchecked=unchecked,
                       summary=f"`health` read from {len(checked)} Cluster Agent pod(s)")
