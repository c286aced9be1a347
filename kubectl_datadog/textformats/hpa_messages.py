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


_PATTERNS: tuple[tuple[str, Explanation], ...] = (
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
