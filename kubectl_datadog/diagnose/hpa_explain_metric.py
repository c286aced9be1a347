"""hpa-explain's per-metric links outside the source: whether the metric's name and selector can be
served, what the external metrics API answers (what the HPA controller reads), and the HPA's own
conditions. Pure."""

from __future__ import annotations

import re

from kubectl_datadog.diagnose.forbidden import forbidden_finding
from kubectl_datadog.diagnose.hpa_explain_report import BROKEN, OK, UNKNOWN, Link, finding
from kubectl_datadog.model import Finding, Severity
from kubectl_datadog.snapshots.hpa_explain import (
    DATADOGMETRIC_PREFIX,
    ExternalMetric,
    Hpa,
    HpaSnapshot,
    LiveValue,
    parse_datadogmetric_ref,
)
from kubectl_datadog.textformats.hpa_messages import explain_message
from kubectl_datadog.textformats.quantity import fmt_number, parse_quantity

METRIC_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.]{0,199}$")  # the DCA's check before it builds a query


def name_checks(hpa: Hpa, metric: ExternalMetric, snap: HpaSnapshot) -> tuple[Link, Finding | None, list[Finding]]:
    s = snap.install.settings if snap.install else None
    subject = hpa.ref
    cmd = f"kubectl -n {hpa.namespace} get hpa {hpa.name} -o yaml"
    warnings: list[Finding] = []
    if metric.match_expressions and parse_datadogmetric_ref(metric.name) is None:
        warnings.append(finding(
            "metric-selector-expressions-ignored", subject,
            f"the selector of {metric.name} has matchExpressions ({'; '.join(metric.match_expressions)}): the "
            "Cluster Agent ignores them and queries Datadog with matchLabels only",
            "express the filter with matchLabels, or use a DatadogMetric with an explicit query", cmd,
            Severity.WARNING))
    if metric.name.lower().startswith(DATADOGMETRIC_PREFIX):
        if parse_datadogmetric_ref(metric.name) is None:
            return Link("metric", subject, BROKEN, f"{metric.name}: not datadogmetric@<namespace>:<name>"), finding(
                "metric-reference-malformed", subject,
                f"the metric name {metric.name} is not a valid datadogmetric@<namespace>:<name> reference: the "
                "Cluster Agent answers \"ExternalMetric does not follow DatadogMetric format\"",
                "write it as datadogmetric@<namespace>:<name>, both lower-case DNS labels", cmd), warnings
        if s is not None and not s.use_datadogmetric_crd:
            return Link("metric", subject, BROKEN, f"{metric.name}: the Cluster Agent does not use DatadogMetrics"), finding(
                "datadogmetric-mode-disabled", subject,
                f"the HPA references {metric.name}, but the Cluster Agent does not use DatadogMetrics "
                "(DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD is not true)",
                "enable it (Helm: clusterAgent.metricsProvider.useDatadogMetrics=true) or use a plain metric name",
                cmd), warnings
        return Link("metric", subject, OK, f"{metric.name}: well-formed DatadogMetric reference"), None, warnings
    if not METRIC_NAME.match(metric.name):
        return Link("metric", subject, BROKEN, f"{metric.name}: invalid metric name"), finding(
            "metric-name-invalid", subject,
            f"the metric name {metric.name!r} does not match ^[a-zA-Z][a-zA-Z0-9_.]{{0,199}}$: the Cluster Agent "
            "rejects it (\"metric name ... is invalid\")",
            "use the Datadog metric name exactly (letters, digits, _ and .), or a DatadogMetric for complex queries",
            cmd), warnings
    upper = sorted(f"{k}={v}" for k, v in metric.match_labels.items() if v != v.lower())
    if upper:
        return Link("metric", subject, BROKEN, f"upper-case label values: {', '.join(upper)}"), finding(
            "metric-selector-uppercase", subject,
            f"the selector of {metric.name} has upper-case values ({', '.join(upper)}): Datadog tags are lower-case, "
            "so the query matches no series",
            "write the label values in lower case, as the tags appear in Datadog", cmd), warnings
    sel = metric.label_selector or "no labels"
    return Link("metric", subject, OK, f"{metric.name} {{{sel}}}"), None, warnings


def live_link(hpa: Hpa, metric: ExternalMetric, live: LiveValue | None) -> tuple[Link, Finding | None, float | None]:
    subject = f"external.metrics.k8s.io/{hpa.namespace}/{metric.name.lower()}"
    cmd = metric.kubectl_raw(hpa.namespace)
    if live is None:
        return Link("external-metrics-api", subject, UNKNOWN, "not read"), None, None
    if live.error is not None:
        err = live.error
        # The aggregator's own 503/404 bodies are terse ("service unavailable"); client-go, and so the
        # HPA controller, words them as below: explain by status when the text says nothing.
        canonical = {404: "the server could not find the requested resource",
                     503: "the server is currently unable to handle the request"}.get(err.status or 0, "")
        exp = explain_message(err.message) or explain_message(canonical)
        if err.kind == "forbidden":
            return Link("external-metrics-api", subject, UNKNOWN, "cannot read it (forbidden)"), forbidden_finding(
                subject, f"could not read the live value: {err.message}", Severity.INFO,
                hint="ask for get on external.metrics.k8s.io", command=cmd), None
        code = {"not-found": "external-metric-not-found", "unavailable": "external-metrics-unavailable"}.get(
            err.kind, "external-metric-error")
        meaning = exp.meaning if exp else "the external metrics API returned an error"
        said = err.message if not canonical or canonical in err.message else f"{err.message}, i.e. \"{canonical}\""
        return Link("external-metrics-api", subject, BROKEN, f"{err.status or ''} {said}".strip()), finding(
            code, subject, f"the external metrics API answers {err.status or 'an error'}: {said} ({meaning})",
            exp.next_step if exp and exp.next_step else "check the Cluster Agent's logs for this metric", cmd), None
    if not live.items:
        return Link("external-metrics-api", subject, BROKEN, "empty answer"), finding(
            "external-metric-empty", subject,
            "the external metrics API returned no value for this metric and selector: the HPA reports "
            "\"no metrics returned from external metrics API\"",
            "compare the HPA's selector with the labels the Cluster Agent stored for the metric", cmd), None
    total = sum(parse_quantity(v) or 0.0 for v, _ in live.items)
    return Link("external-metrics-api", subject, OK, f"{fmt_number(total)}"), None, total


def hpa_link(hpa: Hpa) -> tuple[Link, Finding | None]:
    subject = hpa.ref
    cmd = f"kubectl -n {hpa.namespace} describe hpa {hpa.name}"
    active, able = hpa.condition("ScalingActive"), hpa.condition("AbleToScale")
    if able is not None and able.status == "False":
        exp = explain_message(able.message)
        return Link("hpa", subject, BROKEN, f"AbleToScale=False {able.reason}"), finding(
            "hpa-unable-to-scale", subject, f"the HPA cannot scale its target ({able.reason}): {able.message}",
            exp.next_step if exp and exp.next_step else f"check the scale target {hpa.scale_target} exists", cmd)
    if active is not None and active.status == "False":
        exp = explain_message(active.message)
        return Link("hpa", subject, BROKEN, f"ScalingActive=False {active.reason}"), finding(
            "hpa-scaling-inactive", subject,
            f"the HPA is not scaling ({active.reason}): {exp.meaning if exp else active.message}",
            exp.next_step if exp and exp.next_step else "read the HPA's events", cmd)
    state = ", ".join(f"{c.type}={c.status} {c.reason}".strip() for c in hpa.conditions) or "no conditions yet"
    return Link("hpa", subject, OK, state), None

