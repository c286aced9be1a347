"""The `doctor` command once parsed: every area's collection at once on shared reads, each area's
explain, the report and its view.

AREAS is the list of what doctor checks. An area is a collection (a command's collect function,
called with the Cluster, the Request and DoctorOptions) and an explain that turns its snapshot into
an AreaResult (diagnose/doctor_areas.py). Areas that name the same collection share one run of it
(doctor's own checks read one SweepSnapshot). Adding a command is one entry here.

Order is the report's: install-wide causes first (installs, pods, placement, permissions), then
the commands that show their symptoms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable

from kubectl_datadog.app import App
from kubectl_datadog.cluster import ENDPOINTS, ENDPOINTSLICES, Cluster
from kubectl_datadog.collect.admission import AdmissionOptions, collect_admission
from kubectl_datadog.collect.clusterchecks import ClusterChecksOptions, collect_clusterchecks
from kubectl_datadog.collect.doctor import AreaCollect, DoctorOptions, collect_areas, collect_sweep
from kubectl_datadog.collect.env_check import EnvCheckOptions, collect_env_check
from kubectl_datadog.collect.hpa_explain import collect_hpa_explain
from kubectl_datadog.collect.leader import collect_leader
from kubectl_datadog.collect.metamap import collect_metamap
from kubectl_datadog.collect.request import Request
from kubectl_datadog.collect.shared import SharedReads
from kubectl_datadog.diagnose import doctor_areas as areas
from kubectl_datadog.diagnose.doctor import AreaResult, Check, DoctorReport, link_pod_causes, failed_area, skipped_area, with_ignored
from kubectl_datadog.errors import OnlyLeftovers
from kubectl_datadog.model import Severity
from kubectl_datadog.output.render import Column, Table, TestCase, Text, View
from kubectl_datadog.pipelines import request_of
from kubectl_datadog.pipelines.leftovers import leftovers_view
from kubectl_datadog.snapshots.metamap import Filters


@dataclass(frozen=True)
class Area:
    name: str
    collect: AreaCollect
    explain: Callable[[str, Any, datetime], AreaResult]
    needs_exec: str = ""  # what the area cannot do without exec ("": it runs with --no-exec too)
    per_install: bool = False  # its collection judges one install: with several, one area per install


def _leader(cluster: Cluster, request: Request, options: DoctorOptions) -> Any:
    return collect_leader(cluster, request)


def _env_check(cluster: Cluster, request: Request, options: DoctorOptions) -> Any:
    return collect_env_check(cluster, request, EnvCheckOptions())


def _hpas(cluster: Cluster, request: Request, options: DoctorOptions) -> Any:
    # Every HPA on Datadog metrics, in every namespace.
    return collect_hpa_explain(cluster, replace(request, all_namespaces=True, namespace=None), None)


def _admission(cluster: Cluster, request: Request, options: DoctorOptions) -> Any:
    # Every pod, in every namespace: which of them the webhooks select and whether they were mutated.
    return collect_admission(cluster, replace(request, all_namespaces=True, namespace=None), AdmissionOptions())


def _clusterchecks(cluster: Cluster, request: Request, options: DoctorOptions) -> Any:
    return collect_clusterchecks(cluster, request, ClusterChecksOptions())


def _metamap(cluster: Cluster, request: Request, options: DoctorOptions) -> Any:
    return collect_metamap(cluster, request, source="both", mode="auto", filters=Filters())


AREAS: tuple[Area, ...] = (
    Area("installs", collect_sweep, areas.installs_area),
    Area("pods", collect_sweep, areas.pods_area),
    Area("placement", collect_sweep, areas.placement_area),
    Area("permissions", collect_sweep, areas.permissions_area),
    Area("leader", _leader, areas.leader_area, per_install=True),
    Area("env-check", _env_check, areas.env_check_area),
    Area("hpa-explain", _hpas, areas.hpa_area),
    Area("metamap", _metamap, areas.metamap_area, needs_exec="the Cluster Agent's map (`metamap`) to compare",
         per_install=True),
    Area("admission-explain", _admission, areas.admission_area, per_install=True),
    Area("clusterchecks", _clusterchecks, areas.clusterchecks_area, per_install=True),
    Area("dca-health", collect_sweep, areas.health_area),
    Area("dca-status", _leader, areas.dca_status_area, needs_exec="the leader's `status`", per_install=True),
)


def collection_keys(chosen: tuple[Area, ...]) -> dict[AreaCollect, str]:
    """Each distinct collection, named after the first area that uses it (areas sharing one share its run)."""
    keys: dict[AreaCollect, str] = {}
    for area in chosen:
        keys.setdefault(area.collect, area.name)
    return keys


def explain_areas(chosen: tuple[Area, ...], collected: dict[str, Any], request: Request, ignore: frozenset[str],
                  now: datetime) -> tuple[AreaResult, ...]:
    results = []
    for area in chosen:
        if area.needs_exec and not request.exec_allowed:
            results.append(skipped_area(area.name, f"{area.needs_exec} needs exec", "exec (--no-exec was given)"))
            continue
        key = collection_keys(chosen)[area.collect]
        runs = [(area.name, collected[key])] if key in collected else \
            [(f"{area.name} ({k.split('@', 1)[1]})", f) for k, f in collected.items() if k.startswith(key + "@")]
        for name, fetched in runs:
            if fetched.error is not None:
                results.append(failed_area(name, fetched.error))
            else:
                results.append(with_ignored(area.explain(name, fetched.value, now), ignore))
    return tuple(results)


def run(app: App, ignore: tuple[str, ...]) -> int:
    # -n narrows the installs, as in leader and env-check; every area then sees the same scope.
    shared_flags = request_of(app)
    request = replace(shared_flags, namespace=None,
                      install_namespace=shared_flags.install_namespace or shared_flags.namespace)
    options = DoctorOptions(ignore=frozenset(ignore))
    # Only metamap reads whole Endpoints/EndpointSlices lists, reducing them page by page.
    shared = SharedReads(app.cluster(), streamed=(ENDPOINTS, ENDPOINTSLICES))
    chosen = AREAS
    keys = collection_keys(chosen)
    collectors = {keys[a.collect]: a.collect for a in chosen if request.exec_allowed or not a.needs_exec}
    try:
        installs, collected = collect_areas(shared, request, options, collectors,
                                            frozenset(keys[a.collect] for a in chosen if a.per_install))
    except OnlyLeftovers as found:
        view = leftovers_view("DoctorReport", found, app, "there is no install to check", {"score": None, "areas": []})
        cases = [check_case("installs", Check("installs", f.subject, (f,))) for f in view.findings]
        return app.finish(replace(view, test_cases=cases))
    results = explain_areas(chosen, collected, request, options.ignore, app.now())
    sweep = collected.get(keys[collect_sweep])
    down = areas.dca_down(sweep.value) if sweep is not None and sweep.value is not None else ()
    report = DoctorReport(link_pod_causes(results, down), tuple(i.label for i in installs))
    return app.finish(doctor_view(report, app))


def check_case(suite: str, check: Check) -> TestCase:
    """A check as a JUnit testcase: failed by its warnings and errors, INFO findings as its output."""
    failing = [f for f in check.findings if f.severity >= Severity.WARNING]
    info = [f for f in check.findings if f.severity < Severity.WARNING]
    lead = max(failing, key=lambda f: f.severity) if failing else None  # the message names the worst
    return TestCase(suite, check.subject,
                    failure=f"{lead.code}: {lead.message}" if lead else "",
                    failure_type=check.severity.label if failing else "",
                    details="\n\n".join(_finding_text(f) for f in failing),
                    output="\n\n".join(_finding_text(f) for f in info))


def _cases(report: DoctorReport) -> list[TestCase]:
    cases = []
    for area in report.areas:
        cases += [check_case(area.area, check) for check in area.checks]
        for u in area.unchecked:
            cases.append(TestCase(area.area, u.what, skipped=f"not checked: needs {u.permission}" if u.permission
                                  else "not checked"))
    return cases


def _finding_text(f: Any) -> str:
    lines = [f"{f.severity.label.upper()} {f.code} {f.subject}", f.message]
    lines += [f"because {c}" for c in f.caused_by]
    lines += [f"Fix: {f.hint}"] if f.hint else []
    lines += [f"Verify: {f.command}"] if f.command else []
    return "\n".join(lines)


def doctor_view(report: DoctorReport, app: App) -> View:
    area_columns = [
        Column("AREA", lambda a: a.area),
        Column("CHECKS", lambda a: f"{sum(c.severity < Severity.WARNING for c in a.checks)}/{len(a.checks)}"),
        Column("ERRORS", lambda a: sum(f.severity == Severity.ERROR for f in a.findings)),
        Column("WARNINGS", lambda a: sum(f.severity == Severity.WARNING for f in a.findings)),
        Column("NOT-CHECKED", lambda a: len(a.unchecked)),
        Column("SCORE", lambda a: a.score),
        Column("IGNORED", lambda a: len(a.ignored), wide=True),
        Column("SUMMARY", lambda a: a.summary),
    ]
    unchecked_columns = [
        Column("AREA", lambda u: u.area),
        Column("NOT CHECKED", lambda u: u.what),
        Column("NEEDS", lambda u: u.permission),
        Column("CHECK WITH", lambda u: u.command, wide=True),
    ]
    return View(
        kind="DoctorReport",
        data=report.to_dict(),
        sections=[Table(area_columns, list(report.areas)), Text(report.summary_line()),
                  Table(unchecked_columns, list(report.unchecked), title="NOT CHECKED")],
        findings=report.findings,
        finding_groups=[(a.area, a.findings) for a in report.areas],
        test_cases=_cases(report),
        metadata={"context": app.cluster().context.name, "generatedAt": app.now()},
    )

