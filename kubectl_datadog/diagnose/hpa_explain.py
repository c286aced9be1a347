"""Why an HPA on Datadog external metrics does or does not scale. Pure.

For each External metric the chain the HPA controller depends on is walked, and the FIRST broken
link is the metric's verdict (one ERROR finding naming it, with the command that proves it):

  apiservice  v1beta1.external.metrics.k8s.io exists, is the Cluster Agent's (not another adapter's),
              and is Available
  service     the Service it names exists, its port reaches the DCA's metrics port, and it has
              ready endpoints
  cluster-agent  DCA pods ready, external metrics provider enabled, API and app keys present, its
              service account's RBAC (access reviews), a leader exists
  metric      the name/selector can be served (name regex, datadogmetric@ format, lower-case tags)
  source      the DatadogMetric (Active, Valid, no Error) or the legacy ConfigMap entry (valid)
  freshness   the value is younger than the max age
  external-metrics-api  the live value the HPA controller would read
  hpa         the HPA's own conditions

Links after the verdict's are still checked where they can be on their own: a broken one is
`independent` (its own finding: the metric name, the DatadogMetric or ConfigMap entry, the keys,
the provider setting, the Cluster Agent's RBAC), or a symptom naming the verdict (a source the Cluster Agent could not
refresh because it has no keys, no leader or does not run); what the HPA controller sees (the live
API, its conditions) follows from the verdict and is `skipped`.

An unavailable APIService is a symptom, so its cause is looked for first: a missing Service or DCA,
a wrong port, no endpoints, or a disabled provider each win over `apiservice-unavailable`; a
Service without endpoints because every DCA pod is down is reported as the DCA being down.

Then the HPA controller's arithmetic is replayed (hpa_explain_arithmetic).

The stages live in their own modules: the report types (hpa_explain_report), the shared chain
(hpa_explain_chain) and its Cluster Agent link (hpa_explain_dca), the metric's name, live value and
HPA conditions (hpa_explain_metric), its source and freshness (hpa_explain_source), and the Datadog
API errors in the leader's log (hpa_explain_logs). This module walks one metric's chain and names
the verdict.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from kubectl_datadog.diagnose.discovery import discovery_findings
from kubectl_datadog.diagnose.hpa_explain_arithmetic import action as replica_action
from kubectl_datadog.diagnose.hpa_explain_arithmetic import arithmetic
from kubectl_datadog.diagnose.hpa_explain_chain import Infra, infrastructure
from kubectl_datadog.diagnose.hpa_explain_logs import EXPLAINED_BY_LOG, Logged, cause_in_log, logged_api_errors, query_needle
from kubectl_datadog.diagnose.hpa_explain_metric import hpa_link, live_link, name_checks
from kubectl_datadog.diagnose.hpa_explain_report import (
    BROKEN,
    INDEPENDENT,
    SKIPPED,
    TOLERANCE,
    Explained,
    HpaExplainReport,
    HpaReport,
    Link,
    MetricReport,
    finding,
)
from kubectl_datadog.diagnose.hpa_explain_source import source
from kubectl_datadog.diagnose.leftovers import leftovers_finding
from kubectl_datadog.model import Finding, Severity, sort_findings
from kubectl_datadog.snapshots.hpa_explain import ExternalMetric, Hpa, HpaSnapshot
from kubectl_datadog.snapshots.hpa_explain_objects import HpaEvent
from kubectl_datadog.textformats.hpa_messages import explain_message

__all__ = ["TOLERANCE", "HpaExplainReport", "HpaReport", "Link", "MetricReport", "explain"]

MAX_EVENTS = 10


def _metric_report(hpa: Hpa, metric: ExternalMetric, snap: HpaSnapshot, infra: Infra, now: datetime,
                   logged: list[Logged]) -> tuple[MetricReport, list[Finding]]:
    key = (hpa.namespace, hpa.name, metric.index)
    findings: list[Finding] = []
    links: list[Link] = list(infra.links)
    first: Finding | None = infra.broken
    first_step = infra.step

    later: list[tuple[Finding, str]] = []  # broken links after the verdict's, each with its own finding

    def note(found: Finding | None, step: str) -> None:
        nonlocal first, first_step
        if found is not None and first is None:
            first, first_step = found, step
        elif found is not None:
            later.append((found, step))

    name_link, name_broken, warnings = name_checks(hpa, metric, snap)
    findings += warnings
    links.append(name_link)
    note(name_broken, "metric")

    src = snap.sources.get(key)
    source_value: float | None = None
    if name_broken is None:
        src_links, src_broken, source_value, notes = source(hpa, metric, src, snap, now)
        findings += notes
        links += src_links
        broken_step = next((lk.step for lk in src_links if lk.state == BROKEN), "source")
        note(src_broken, broken_step)
        if src_broken is not None and broken_step == "source":
            source_value = None  # an invalid value is not what the HPA would get: do not compute with it
    else:
        links.append(Link("source", "<not checked>", SKIPPED, "the metric name cannot be served"))

    live = snap.live.get(key)
    api_link, live_broken, live_value = live_link(hpa, metric, live)
    links.append(api_link)
    if live_broken is not None and live_broken.severity < Severity.ERROR:
        findings.append(live_broken)  # could not look: not a broken link
        live_broken = None
    note(live_broken, "external-metrics-api")

    conditions_link, hpa_broken = hpa_link(hpa)
    links.append(conditions_link)
    note(hpa_broken, "hpa")

    if first is not None:
        findings.append(first)
    # What the HPA controller sees (the live API, the HPA's conditions) follows from the verdict's link:
    # not reported again. The metric's name and its source were checked on their own: their own
    # problems (independent), except a source the Cluster Agent could not refresh because of the
    # verdict (no leader, no keys, not running): then a symptom naming it.
    independent_steps: set[str] = set(infra.independent)
    for found, step in later:
        if step in ("external-metrics-api", "hpa"):
            continue
        if first is not None and first_step == "cluster-agent" and step in ("source", "freshness"):
            findings.append(_symptom_of(found, first))
            continue
        independent_steps.add(step)
        findings.append(found)
    # An invalid or stale value says nothing of why; the leader's log does when it names this query.
    cause = cause_in_log(logged, query_needle(metric, src))
    if cause is not None:
        findings = [_symptom_of(f, cause) if f.code in EXPLAINED_BY_LOG and not f.caused_by else f for f in findings]
    source_label = "DatadogMetric status.currentValue" if (src and (src.datadogmetric or src.autogen)) else \
        "ConfigMap entry value"
    arith = arithmetic(hpa, metric, live_value, source_value, source_label)
    return MetricReport(metric, _finalize(links, first_step if first else "", independent_steps),
                        first.code if first else "ok",
                        arith, metric.kubectl_raw(hpa.namespace), live), findings


def _symptom_of(symptom: Finding, cause: Finding) -> Finding:
    """The symptom names its cause, and its hint is the cause's fix."""
    return replace(symptom, caused_by=(cause.code,), hint=f"fix the cause first ({cause.code}): {cause.hint}")


def _finalize(links: list[Link], verdict_step: str, independent: set[str] | frozenset[str] = frozenset(),
              ) -> tuple[Link, ...]:
    """The verdict's link stays `broken`; other broken links that were checked on their own
    (`independent`: the metric's name, its DatadogMetric or ConfigMap entry, a Cluster Agent link
    whose problem does not follow from the verdict) are `independent` problems with their own
    findings; other broken links before it are its symptoms (e.g. a Service without endpoints because
    the DCA is down); the rest follow from the verdict (`skipped` as causes)."""
    if not verdict_step:
        return tuple(links)
    index = next(i for i, lk in enumerate(links) if lk.step == verdict_step)
    out = []
    for i, lk in enumerate(links):
        if i != index and lk.state == BROKEN:
            state = INDEPENDENT if lk.step in independent else "symptom" if i < index else SKIPPED
            lk = Link(lk.step, lk.subject, state, lk.detail)
        elif i == index and lk.state != BROKEN:
            lk = Link(lk.step, lk.subject, BROKEN, lk.detail)
        out.append(lk)
    return tuple(out)



def _explained_conditions(hpa: Hpa) -> tuple[Explained, ...]:
    return tuple(Explained("condition", c.type, c.status, c.reason, c.message, c.last_transition, 0,
                           explain_message(c.message) or explain_message(c.reason)) for c in hpa.conditions)


def _explained_events(events: tuple[HpaEvent, ...]) -> tuple[Explained, ...]:
    out = [Explained("event", ev.type, ev.reason, ev.reason, ev.message, ev.when, ev.count, explain_message(ev.message))
           for ev in events]
    out.sort(key=lambda e: (e.when or datetime.min.replace(tzinfo=timezone.utc), e.reason, e.message), reverse=True)
    return tuple(out[:MAX_EVENTS])


def explain(snap: HpaSnapshot, *, now: datetime) -> HpaExplainReport:
    infra = infrastructure(snap, now)
    findings: list[Finding] = [*infra.notes, *discovery_findings([snap.install])]
    logged = logged_api_errors(snap)
    reports: list[HpaReport] = []
    for hpa in snap.hpas:
        metrics: list[MetricReport] = []
        for metric in hpa.external:
            rep, found = _metric_report(hpa, metric, snap, infra, now, logged)
            metrics.append(rep)
            findings += found
        action, text, desired, final = replica_action(hpa, metrics)
        if action in ("pinned-at-max", "pinned-at-min") and not any(m.broken for m in metrics):
            lim = "maxReplicas" if action == "pinned-at-max" else "minReplicas"
            findings.append(finding(
                f"hpa-{action}", hpa.ref, f"the HPA {text}",
                f"raise {lim} or the target if the load is real" if action == "pinned-at-max"
                else f"lower {lim} if fewer replicas would do",
                f"kubectl -n {hpa.namespace} get hpa {hpa.name}", Severity.INFO))
        reports.append(HpaReport(hpa, tuple(metrics), action, text, desired, final, _explained_conditions(hpa),
                                 _explained_events(snap.events.get((hpa.namespace, hpa.name), ()))))
    # A logged cause of an ERROR is an ERROR itself: the root of what is broken.
    causes = {c for f in findings if f.severity == Severity.ERROR for c in f.caused_by}
    findings += [replace(lg.finding, severity=Severity.ERROR) if lg.finding.code in causes else lg.finding
                 for lg in logged]
    if snap.leftovers and not snap.hpas:
        findings.append(leftovers_finding(snap.leftovers, snap.install_scope, "nothing serves the external metrics"))
    return HpaExplainReport(tuple(reports), infra.links, sort_findings(findings), snap)
