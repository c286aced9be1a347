"""hpa-explain's source and freshness links: where the Cluster Agent keeps the metric's value (a
referenced DatadogMetric, an autogen one, or the legacy ConfigMap store), whether that value is
valid, and whether it is fresh. Pure."""

from __future__ import annotations

from datetime import datetime

from kubectl_datadog.diagnose.hpa_explain_report import BROKEN, OK, UNKNOWN, Link, finding, forbidden_note
from kubectl_datadog.model import Finding
from kubectl_datadog.output.humanize import ago, human_duration
from kubectl_datadog.snapshots.hpa_explain import (
    DATADOGMETRIC_CRD,
    ExternalMetric,
    Hpa,
    HpaSnapshot,
    MetricSource,
    parse_datadogmetric_ref,
)
from kubectl_datadog.snapshots.hpa_explain_objects import DatadogMetricState
from kubectl_datadog.textformats.hpa_messages import explain_message
from kubectl_datadog.textformats.quantity import fmt_number, parse_quantity


def _dm_link(dm: DatadogMetricState, max_age: float, now: datetime) -> tuple[list[Link], Finding | None, float | None]:
    """Source and freshness links of a DatadogMetric, and its value."""
    ns, name, subject = dm.namespace, dm.name, dm.ref
    cmd = f"kubectl -n {ns} get datadogmetric {name} -o yaml"
    value = parse_quantity(dm.current_value)
    active, valid, error, updated = dm.active, dm.valid, dm.error, dm.updated
    query = dm.query
    facts = ", ".join(f"{c.type}={c.status}" for c in (active, valid, error) if c) or "no conditions yet"
    shown = "<none>" if dm.current_value is None else dm.current_value
    detail = f"{facts}, value {shown}" + (f", query {query}" if query else "")
    found: Finding | None = None
    if active is not None and active.status != "True":
        found = finding("datadogmetric-inactive", subject,
                        f"the DatadogMetric is not Active: the Cluster Agent leader does not see an autoscaler using it, "
                        f"so it does not query Datadog{': ' + active.message if active.message else ''}",
                        f"check the HPA references it as datadogmetric@{ns}:{name} and that the leader watches HPAs "
                        "(RBAC: list/watch horizontalpodautoscalers)", cmd)
    elif error is not None and error.status == "True":
        found = finding("datadogmetric-error", subject,
                        f"querying Datadog fails ({error.reason or 'Error'}): {error.message or 'no message'}",
                        hint_for(error.message, "fix the DatadogMetric's query, or check the leader's logs"), cmd)
    elif valid is not None and valid.status != "True":
        found = finding("datadogmetric-invalid", subject,
                        f"the DatadogMetric's value is not Valid{': ' + valid.message if valid.message else ''}; the "
                        "Cluster Agent answers \"DatadogMetric is invalid\" to the HPA",
                        hint_for(valid.message, "check its Error condition and the Cluster Agent leader's logs"), cmd)
    links = [Link("source", subject, BROKEN if found else OK, detail)]
    if found is not None:
        return links, found, value
    spec_age = dm.max_age
    limit = spec_age or max_age
    stamp = (updated.last_update or updated.last_transition) if updated else None
    if stamp is not None and (now - stamp).total_seconds() > limit:
        found = finding("datadogmetric-stale", subject,
                        f"the DatadogMetric was last updated {ago(stamp, now)}, beyond its max age of "
                        f"{human_duration(limit)}{' (spec.maxAge)' if spec_age else ''}: the leader has stopped updating it",
                        "check the Cluster Agent leader is running and can reach Datadog (`kubectl datadog leader`)", cmd)
        links.append(Link("freshness", subject, BROKEN, f"updated {ago(stamp, now)}, max age {int(limit)}s"))
        return links, found, value
    links.append(Link("freshness", subject, OK if stamp else UNKNOWN,
                      f"updated {ago(stamp, now)}, max age {int(limit)}s" if stamp else "no Updated time"))
    return links, None, value


def hint_for(message: str, default: str) -> str:
    exp = explain_message(message or "")
    return f"{exp.meaning}; {exp.next_step}" if exp and exp.next_step else default


def source(hpa: Hpa, metric: ExternalMetric, src: MetricSource | None, snap: HpaSnapshot, now: datetime,
            ) -> tuple[list[Link], Finding | None, float | None, list[Finding]]:
    s = snap.install.settings if snap.install else None
    notes: list[Finding] = []
    if src is None or s is None:
        return [Link("source", "<unknown>", UNKNOWN, "the Cluster Agent's settings are unknown")], None, None, notes
    max_age = float(s.max_age)
    if src.datadogmetric is not None:  # datadogmetric@ns:name
        ref = parse_datadogmetric_ref(metric.name)
        assert ref is not None
        subject = f"datadogmetric/{ref[0]}/{ref[1]}"
        got = src.datadogmetric
        if got.error is not None:
            if got.error.kind == "forbidden":
                notes.append(forbidden_note(subject, "the DatadogMetric", got.error.message,
                                             f"kubectl auth can-i get datadogmetrics.datadoghq.com -n {ref[0]}"))
            return [Link("source", subject, UNKNOWN, got.error.message)], None, None, notes
        if got.value is None:
            if snap.crd.value is None and snap.crd.error is None:
                return [Link("source", subject, BROKEN, "the DatadogMetric CRD is not installed")], finding(
                    "datadogmetric-crd-missing", f"customresourcedefinition/{DATADOGMETRIC_CRD}",
                    f"the HPA references {metric.name} but the DatadogMetric CRD is not installed",
                    "install the datadog-crds chart (Helm) or let the Operator install its CRDs",
                    f"kubectl get crd {DATADOGMETRIC_CRD}"), None, notes
            return [Link("source", subject, BROKEN, "does not exist")], finding(
                "datadogmetric-not-found", subject,
                f"the HPA references {metric.name} but DatadogMetric {ref[0]}/{ref[1]} does not exist: the Cluster "
                "Agent answers \"DatadogMetric not found for metric name\"",
                "create the DatadogMetric, or fix the reference in the HPA (datadogmetric@<namespace>:<name>)",
                f"kubectl -n {ref[0]} get datadogmetrics"), None, notes
        links, found, value = _dm_link(got.value, max_age, now)
        return links, found, value, notes
    if s.use_datadogmetric_crd:  # plain metric name: served from an autogen DatadogMetric
        ns = s.resources_namespace
        if snap.datadogmetrics_error is not None:
            if snap.datadogmetrics_error.kind == "forbidden":
                notes.append(forbidden_note(f"namespace/{ns}", "the autogen DatadogMetrics",
                                             snap.datadogmetrics_error.message,
                                             f"kubectl auth can-i list datadogmetrics.datadoghq.com -n {ns}"))
            return [Link("source", f"datadogmetric/{ns}/dcaautogen-*", UNKNOWN,
                         snap.datadogmetrics_error.message)], None, None, notes
        if not src.autogen:
            return [Link("source", f"datadogmetric/{ns}/dcaautogen-*", BROKEN, "no autogen DatadogMetric")], finding(
                "datadogmetric-autogen-missing", hpa.ref,
                f"the Cluster Agent uses DatadogMetrics, but there is no autogen DatadogMetric (dcaautogen-*) in {ns} "
                f"for {metric.name}: the leader has not processed this HPA (or autogen is disabled)",
                "check the leader's logs and RBAC (create datadogmetrics), or reference a DatadogMetric with "
                "datadogmetric@<namespace>:<name>", f"kubectl -n {ns} get datadogmetrics"), None, notes
        links, found, value = _dm_link(src.autogen[0], max_age, now)
        return links, found, value, notes
    # Legacy ConfigMap store
    cm_ns, cm_name = s.resources_namespace, s.hpa_configmap
    subject = f"configmap/{cm_ns}/{cm_name}"
    cmd = f"kubectl -n {cm_ns} get configmap {cm_name} -o yaml"
    cm = snap.configmap
    if cm.error is not None:
        if cm.error.kind == "forbidden":
            notes.append(forbidden_note(subject, "the external metrics ConfigMap", cm.error.message,
                                         f"kubectl auth can-i get configmaps -n {cm_ns}"))
        return [Link("source", subject, UNKNOWN, cm.error.message)], None, None, notes
    if cm.value is None:
        return [Link("source", subject, BROKEN, "does not exist")], finding(
            "metrics-configmap-missing", subject,
            f"the Cluster Agent's external metrics store {cm_ns}/{cm_name} does not exist: the leader has never "
            "stored a metric (it creates it on start)",
            "check the leader's logs and its RBAC on configmaps in its namespace", cmd), None, notes
    key = src.configmap_key
    entry = src.configmap_entry
    if entry is None and not src.configmap_entry_malformed:
        return [Link("source", subject, BROKEN, f"no entry {key}")], finding(
            "metrics-configmap-entry-missing", subject,
            f"{cm_name} has no entry {key}: the Cluster Agent leader has not picked this HPA metric up",
            "check the leader's logs for this HPA; it needs list/watch on horizontalpodautoscalers", cmd), None, notes
    if entry is None:
        return [Link("source", subject, BROKEN, f"entry {key} is not JSON")], finding(
            "metrics-configmap-entry-invalid", subject, f"the entry {key} is not valid JSON",
            "delete the entry; the leader writes it again", cmd), None, notes
    value, ts = entry.value, entry.ts
    age = (now - ts).total_seconds() if ts else None
    deprecated = not key.startswith("external_metric-horizontal-")
    detail = f"{key}: valid={entry.valid_text}, value {fmt_number(value)}" + (
        f", ts {ago(ts, now)}" if ts else "")
    if deprecated or not entry.valid:
        stale_note = f"; its ts is {ago(ts, now)}, beyond the max age of {int(max_age)}s" if age and age > max_age else ""
        return [Link("source", subject, BROKEN, detail)], finding(
            "metric-invalid", subject,
            (f"only the deprecated entry {key} exists (read as invalid)" if deprecated else
             f"the entry {key} is valid:false{stale_note}: the metric is not served to the HPA"),
            "the leader could not get a fresh value from Datadog: check the metric and its tags exist in Datadog "
            "(tags are lower-case) and the Cluster Agent leader's logs",
            cmd), value, notes
    links = [Link("source", subject, OK, detail)]
    if age is not None and age > max_age:
        links.append(Link("freshness", subject, BROKEN, f"ts {ago(ts, now)}, max age {int(max_age)}s"))
        return links, finding("metric-stale", subject,
                              f"the entry {key} was last written {ago(ts, now)}, beyond the max age of {int(max_age)}s: "
                              "the leader has stopped refreshing it",
                              "check the Cluster Agent leader is running and can reach Datadog (`kubectl datadog leader`)",
                              cmd), value, notes
    links.append(Link("freshness", subject, OK if ts else UNKNOWN,
                      f"ts {ago(ts, now)}, max age {int(max_age)}s" if ts else "no ts"))
    return links, None, value, notes

