"""What the HPA controller's condition and event texts mean when the metric comes from Datadog.

The texts are the HPA controller's (`unable to get external metric ...: unable to fetch metrics from
external metrics API: <apiserver error>`), with the apiserver/aggregator error and the Cluster
Agent's own serving errors inside (reference §3.2-3.4, and the troubleshooting guide's examples).
The most specific pattern wins, so the table is ordered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    code: str  # stable kebab-case id of the pattern
    meaning: str  # one line: what it means here
    next_step: str  # one line: where to look next


# Errors of the Datadog API itself, as the Cluster Agent reports them (reference §3.3-3.4: a query
# error is `error while executing metric query %s: %w` / `%v, query was: %s`, with the API client's
# `API error <status>: <body>` inside), classified by cause: each has its own fix. They come first:
# inside "DatadogMetric is invalid, err: ..." the API's status is the more specific cause.
_DATADOG_CONTEXT = r"(?:API error|error while executing metric query|query was:|from backend|Datadog)"
_DATADOG_API_PATTERNS: tuple[tuple[str, Explanation], ...] = (
    (r"API error 40[13]\b|" + _DATADOG_CONTEXT + r".*\b40[13] (?:Forbidden|Unauthorized)\b", Explanation(
        "datadog-api-auth",
        "Datadog refused the Cluster Agent's query (401/403): its API or application key is invalid, revoked or "
        "lacks the scope to query metrics, or DD_SITE points at another Datadog site than the keys' organization",
        "check DD_API_KEY, DD_APP_KEY and DD_SITE (or DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT) on the Cluster Agent "
        "against the organization the keys belong to")),
    (r"API error 429\b|\b429 Too Many Requests\b|" + _DATADOG_CONTEXT + r".*rate.?limit", Explanation(
        "datadog-api-rate-limited",
        "Datadog rate-limits the Cluster Agent's metric queries (429): the value is refreshed late or not at all",
        "query less (fewer distinct metrics or DatadogMetrics, a longer DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD) "
        "or ask Datadog support to raise the query rate limit")),
    (r"API error 400\b|\b400 Bad Request\b|Invalid metric \(from backend\)|Cannot resolve query", Explanation(
        "datadog-query-invalid",
        "Datadog rejected the query itself (400, invalid query): its syntax, metric name or tags",
        "fix the query (the DatadogMetric's spec.query, or the HPA's metric name and labels) and try it in "
        "Datadog's metric explorer")),
    (r"API error 5\d\d\b|" + _DATADOG_CONTEXT
     + r".*(?:Client\.Timeout|deadline exceeded|i/o timeout|TLS handshake timeout|connection reset|no such host"
       r"|[Qq]uery timed out|\b50[0234] )", Explanation(
        "datadog-api-unavailable",
        "the Cluster Agent got no answer from Datadog (a timeout or a 5xx): the Datadog side, or the cluster's "
        "network egress to it",
        "check the Cluster Agent leader's egress to api.<DD_SITE> (proxy, firewall, DNS) and status.datadoghq.com; "
        "it retries on its own")),
)

_PATTERNS: tuple[tuple[str, Explanation], ...] = _DATADOG_API_PATTERNS + (
    (r"ExternalMetric does not follow DatadogMetric format", Explanation(
        "datadogmetric-reference-malformed",
        "the metric name starts with datadogmetric@ but is not `datadogmetric@<namespace>:<name>`",
        "fix the HPA's metric name; names are lower-case DNS labels")),
    (r"DatadogMetric not found for metric name", Explanation(
        "datadogmetric-not-found",
        "the Cluster Agent has no DatadogMetric for this metric (a wrong reference, or the autogen one is not "
        "created yet)",
        "kubectl get datadogmetrics -A")),
    (r"DatadogMetric is invalid", Explanation(
        "datadogmetric-invalid",
        "the DatadogMetric exists but holds no valid value: its query failed, returned no data, or is outdated",
        "read the DatadogMetric's Valid and Error conditions")),
    (r"Query returned outdated result", Explanation(
        "datadog-value-outdated",
        "Datadog's latest point is older than the metric's maxAge, so the value is not used",
        "check the metric still reports in Datadog, or raise maxAge")),
    (r"no serie returned for this query|Returned series slice empty", Explanation(
        "datadog-no-series",
        "the Datadog query returned no series: the metric name or its tags have no data in the query window",
        "check the metric name and tags in Datadog's metric explorer (tags are lower-case)")),
    (r"multiple series found", Explanation(
        "datadog-multiple-series",
        "the Datadog query returns several series; the Cluster Agent needs exactly one",
        "aggregate the query (e.g. avg:metric{tags}) or narrow its tags")),
    (r"Global error \(all queries\) from backend", Explanation(
        "datadog-query-rejected",
        "Datadog rejected the batch of queries, most often an invalid query syntax",
        "check the Cluster Agent leader's logs for the query it sent")),
    (r"missing the api/app key pair", Explanation(
        "dca-keys-missing",
        "the Cluster Agent has no Datadog API key and application key to query Datadog with",
        "set DD_API_KEY and DD_APP_KEY on the Cluster Agent")),
    (r"external metrics invalid", Explanation(
        "dca-local-copy-stale",
        "the serving Cluster Agent's copy of the metrics ConfigMap is too old (legacy mode)",
        "check that the leader updates the metrics ConfigMap")),
    (r"no metrics returned from external metrics API", Explanation(
        "external-metric-empty",
        "the external metrics API answered with no value for this metric and selector",
        "compare the HPA's selector with the labels the Cluster Agent stored for the metric")),
    (r"could not find the requested resource", Explanation(
        "external-metric-not-served",
        "the external metrics API does not know this metric: the APIService v1beta1.external.metrics.k8s.io is "
        "missing or served by another adapter, or the Cluster Agent has no such metric",
        "kubectl get apiservice v1beta1.external.metrics.k8s.io")),
    (r"currently unable to handle the request", Explanation(
        "external-metrics-unreachable",
        "the API server cannot reach the APIService's backend: the Cluster Agent's metrics Service has no ready "
        "endpoints, the wrong port, or the Cluster Agent is down",
        "kubectl get apiservice v1beta1.external.metrics.k8s.io -o yaml")),
    (r"(is forbidden|Forbidden).*external\.metrics\.k8s\.io|external\.metrics\.k8s\.io.*(is forbidden|Forbidden)",
     Explanation(
         "hpa-controller-forbidden",
         "the HPA controller may not read external.metrics.k8s.io (the external-metrics-reader binding for "
         "kube-system/horizontal-pod-autoscaler is missing)",
         "kubectl auth can-i list external.metrics.k8s.io --as system:serviceaccount:kube-system:horizontal-pod-autoscaler")),
    (r"the desired replica count is more than the maximum replica count|TooManyReplicas", Explanation(
        "pinned-at-max",
        "the metrics ask for more replicas than maxReplicas allows: the HPA stays at its maximum",
        "raise maxReplicas, or the target, if the load is real")),
    (r"the desired replica count is less than the minimum replica count|TooFewReplicas", Explanation(
        "pinned-at-min",
        "the metrics ask for fewer replicas than minReplicas: the HPA stays at its minimum",
        "lower minReplicas if fewer replicas would do")),
    (r"scaling is disabled since the replica count of the target is zero", Explanation(
        "scaling-disabled",
        "the scale target has 0 replicas, and the HPA does not scale from zero",
        "scale the target to at least 1 replica")),
    (r"successfully calculate a replica count", Explanation(
        "metric-ok", "the HPA read the metric and computed a replica count", "")),
    (r"recommended size matches current size", Explanation(
        "steady", "the HPA computed the same replica count the target already has", "")),
    (r"New size: \d+; reason:", Explanation(
        "rescaled", "the HPA changed the target's replica count", "")),
    (r"unable to get external metric|failed to get .* external metric", Explanation(
        "external-metric-failed",
        "the HPA could not read the external metric",
        "run the `kubectl get --raw` command shown for the metric to see the API's own error")),
)

_COMPILED = tuple((re.compile(p, re.IGNORECASE), e) for p, e in _PATTERNS)


def explain_message(text: str) -> Explanation | None:
    """The explanation of an HPA condition/event message (or a raw API error), None if unknown."""
    for pattern, explanation in _COMPILED:
        if pattern.search(text or ""):
            return explanation
    return None


# The causes of a Datadog API error, each with its own fix (the five of issue 13 §3).
DATADOG_API_CAUSES = ("datadog-api-auth", "datadog-api-rate-limited", "datadog-query-invalid", "datadog-api-unavailable",
                      "datadog-no-series")
# A log line about the Cluster Agent querying Datadog: `Unable to fetch external metrics: %v` (DatadogMetric
# mode) around `error while executing metric query %s: %w`, the legacy `Error while executing metric query
# %s: %s`, and the legacy "no series" error (reference §3.3-3.4).
_QUERY_LOG_LINE = re.compile(r"Unable to fetch external metrics|error while executing metric query|"
                             r"Returned series slice empty|no serie returned for this query", re.IGNORECASE)
MAX_LOGGED_LINE = 300  # characters of a log line shown in a finding


@dataclass(frozen=True)
class LoggedApiError:
    """The Datadog API errors of one cause in a Cluster Agent's log."""

    cause: Explanation
    count: int
    latest: str  # the last such line (its time and message), cut to MAX_LOGGED_LINE
    lines: tuple[tuple[int, str], ...]  # every such line, whole, with its index in the log (which query, when)


def _log_message(line: str) -> str:
    """`<time> | <logger> | <level> | (<file:line> in <func>) | <message>` as `<time>: <message>`;
    a line in another layout as it is."""
    parts = line.split(" | ", 4)
    return f"{parts[0]}: {parts[4]}" if len(parts) == 5 else line


def datadog_api_errors(log_text: str) -> tuple[LoggedApiError, ...]:
    """The Cluster Agent's log lines about querying Datadog, grouped by cause, in the order the
    causes first appear."""
    by_cause: dict[str, tuple[Explanation, list[tuple[int, str]]]] = {}
    for index, line in enumerate(log_text.splitlines()):
        if not _QUERY_LOG_LINE.search(line):
            continue
        exp = explain_message(line)
        if exp is None or exp.code not in DATADOG_API_CAUSES:
            continue
        by_cause.setdefault(exp.code, (exp, []))[1].append((index, line.strip()))
    out = []
    for exp, lines in by_cause.values():
        latest = _log_message(lines[-1][1])
        out.append(LoggedApiError(exp, len(lines), latest if len(latest) <= MAX_LOGGED_LINE
                                  else latest[:MAX_LOGGED_LINE] + "...", tuple(lines)))
    return tuple(out)
