"""Table-driven tests of hpa-explain's pure parts: quantities, message explanations, the
datadogmetric@ reference, HPA parsing (v2 and the v1 annotation), name/selector checks, the HPA
controller's arithmetic and what it then does."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from kubectl_datadog.collect.hpa_explain import configmap_keys
from kubectl_datadog.collect.hpa_explain_dca import _secret_key_lengths
from kubectl_datadog.snapshots.hpa_explain import ExternalMetric, Got, Hpa, HpaSnapshot, parse_datadogmetric_ref, parse_hpa
from kubectl_datadog.diagnose.hpa_explain_arithmetic import action as _action
from kubectl_datadog.diagnose.hpa_explain_arithmetic import arithmetic as _arithmetic
from kubectl_datadog.diagnose.hpa_explain_metric import name_checks as _name_checks
from kubectl_datadog.diagnose.hpa_explain_report import Arithmetic, MetricReport
from kubectl_datadog.install import DcaSettings, Install
from kubectl_datadog.objects import EnvVar
from kubectl_datadog.textformats.hpa_messages import explain_message
from kubectl_datadog.textformats.quantity import fmt_number, parse_quantity


@pytest.mark.parametrize("text,expected", [
    ("2472", 2472.0), ("824", 824.0), ("500m", 0.5), ("1k", 1000.0), ("1.5k", 1500.0), ("2Gi", 2.0 * 2**30),
    ("1e3", 1000.0), ("-3", -3.0), (".5", 0.5), (7, 7.0), ("abc", None), ("", None), (None, None), ("5x", None),
], ids=repr)
def test_parse_quantity(text, expected) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("value,expected", [
    (2472.0, "2472"), (824.0, "824"), (91.5555, "91.56"), (0.5, "0.5"), (2.472, "2.47"), (None, "<none>"),
    (0.00123, "0.0012"),
])
def test_fmt_number(value, expected) -> None:
    assert fmt_number(value) == expected


@pytest.mark.parametrize("message,code", [
    ("the HPA was unable to compute the replica count: unable to get external metric default/nginx.net.request_per_s/"
     "&LabelSelector{...}: unable to fetch metrics from external metrics API: the server could not find the requested "
     "resource (get nginx.net.request_per_s.external.metrics.k8s.io)", "external-metric-not-served"),
    ("failed to get nginx.net.request_per_s external metric: unable to get external metric ...: unable to fetch metrics "
     "from external metrics API: the server is currently unable to handle the request (get nginx.net.request_per_s."
     "external.metrics.k8s.io)", "external-metrics-unreachable"),
    # The Datadog API's own cause inside "DatadogMetric is invalid" wins: it says what to fix.
    ("unable to fetch metrics from external metrics API: DatadogMetric is invalid, err: Invalid metric (from backend)",
     "datadog-query-invalid"),
    ("unable to fetch metrics from external metrics API: DatadogMetric is invalid, err: no value", "datadogmetric-invalid"),
    # Datadog API errors by cause (the client's "API error <status>: <body>", inside the DCA's "query was:")
    ('API error 403 Forbidden: {"errors": ["Forbidden"]}, query was: avg:x{*}.rollup(30)', "datadog-api-auth"),
    ('error while executing metric query avg:x{*}: API error 401 Unauthorized: {"errors":["Unauthorized"]}',
     "datadog-api-auth"),
    ('API error 429 Too Many Requests: {"errors": ["Rate limit of 1600 requests in 3600 seconds reached"]}, query was: '
     "avg:x{*}", "datadog-api-rate-limited"),
    ('API error 400 Bad Request: {"errors": ["Error parsing query"]}, query was: avg:x{', "datadog-query-invalid"),
    ('error while executing metric query avg:x{*}: Get "https://api.datadoghq.com/api/v1/query": context deadline '
     "exceeded (Client.Timeout exceeded while awaiting headers)", "datadog-api-unavailable"),
    ('API error 502 Bad Gateway: <html>, query was: avg:x{*}', "datadog-api-unavailable"),
    ("DatadogMetric not found for metric name: datadogmetric@default:x, datadogmetricid: default/x",
     "datadogmetric-not-found"),
    ("ExternalMetric does not follow DatadogMetric format: datadogmetric@default/x", "datadogmetric-reference-malformed"),
    ("Query returned outdated result, check MaxAge setting, query: avg:x{*}", "datadog-value-outdated"),
    ("(datadogexternal.go:45 in queryDatadogExternal) | Returned series slice empty", "datadog-no-series"),
    ("no serie returned for this query, check data is available in the last 300 seconds", "datadog-no-series"),
    ("unable to get external metric default/x/nil: no metrics returned from external metrics API",
     "external-metric-empty"),
    ("the desired replica count is more than the maximum replica count", "pinned-at-max"),
    ("the desired replica count is less than the minimum replica count", "pinned-at-min"),
    ("scaling is disabled since the replica count of the target is zero", "scaling-disabled"),
    ("missing the api/app key pair to query Datadog", "dca-keys-missing"),
    ("something else entirely", None),
])
def test_explain_message(message: str, code: str | None) -> None:
    exp = explain_message(message)
    assert (exp.code if exp else None) == code


@pytest.mark.parametrize("name,expected", [
    ("datadogmetric@default:nginx-requests", ("default", "nginx-requests")),
    ("DatadogMetric@Default:Nginx", ("default", "nginx")),  # the DCA lower-cases first
    ("datadogmetric@default/nginx-requests", None),
    ("datadogmetric@default:", None),
    ("datadogmetric@-bad:x", None),
    ("datadogmetric@default:x_y", None),
    ("nginx.net.request_per_s", None),
])
def test_parse_datadogmetric_ref(name: str, expected) -> None:
    assert parse_datadogmetric_ref(name) == expected


def _v2(metric: dict, status: dict | None = None) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "namespace": "ns"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "minReplicas": 2, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}, metric]},
            "status": status or {"currentReplicas": 3}}


def test_parse_hpa_v2() -> None:
    h = parse_hpa(_v2({"type": "External", "external": {
        "metric": {"name": "a.b", "selector": {"matchLabels": {"k": "v"},
                                               "matchExpressions": [{"key": "e", "operator": "In", "values": ["x"]}]}},
        "target": {"type": "Value", "value": "250m"}}}))
    assert (h.min_replicas, h.max_replicas, h.current_replicas, h.scale_target) == (2, 5, 3, "Deployment/d")
    assert h.other_metrics == ("Resource cpu",)
    (m,) = h.external
    assert (m.index, m.name, dict(m.match_labels), m.target_type, m.target) == (1, "a.b", {"k": "v"}, "Value", "250m")
    assert m.match_expressions == ("e In ['x']",)


def test_parse_hpa_v1_annotation() -> None:
    obj = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "h", "namespace": "ns", "annotations": {
               "autoscaling.alpha.kubernetes.io/metrics": json.dumps([{"type": "External", "external": {
                   "metricName": "a.b", "metricSelector": {"matchLabels": {"k": "v"}}, "targetAverageValue": "9"}}]),
               "autoscaling.alpha.kubernetes.io/conditions": json.dumps([
                   {"type": "ScalingActive", "status": "False", "reason": "FailedGetExternalMetric", "message": "m"}])}},
           "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 80}, "status": {"currentReplicas": 1}}
    h = parse_hpa(obj)
    assert h.other_metrics == ("Resource cpu",)
    assert [(m.name, m.target_type, m.target) for m in h.external] == [("a.b", "AverageValue", "9")]
    assert [(c.type, c.status, c.reason) for c in h.conditions] == [("ScalingActive", "False", "FailedGetExternalMetric")]


def test_configmap_keys() -> None:
    h = parse_hpa(_v2({"type": "External", "external": {"metric": {"name": "m.x"}, "target": {"type": "Value", "value": "1"}}}))
    assert configmap_keys(h, h.external[0]) == ("external_metric-horizontal-ns-h-m.x", "external_metric-ns-h-m.x")


def test_secret_key_lengths_keep_no_values() -> None:
    lengths = _secret_key_lengths({"data": {"api-key": "MDEyMzQ1Njc4OQ==", "bad": "!!"}, "stringData": {"s": "abc"}})
    assert lengths == {"api-key": 10, "bad": 0, "s": 3}


# --- arithmetic and action ---------------------------------------------------------------------

def _hpa(current: int | None = 3, lo: int = 1, hi: int = 3, others: tuple[str, ...] = ()) -> Hpa:
    return Hpa("default", "nginxext", "autoscaling/v2", "Deployment/nginx", lo, hi, current, current, (), others, ())


def _metric(target_type: str = "AverageValue", target: str = "9", name: str = "nginx.net.request_per_s",
            labels: dict | None = None, exprs: tuple[str, ...] = ()) -> ExternalMetric:
    return ExternalMetric(0, name, labels if labels is not None else {"kube_container_name": "nginx"}, exprs,
                          target_type, target)


@pytest.mark.parametrize("target_type,target,value,current,per_pod,ratio,within,proposal", [
    ("AverageValue", "9", 2472, 3, 824, 91.5556, False, 275),  # the seed: ceil(2472 / 9)
    ("AverageValue", "800", 2472, 3, 824, 1.03, True, 3),  # within the 0.1 tolerance
    ("AverageValue", "1k", 1200, 3, 400, 0.4, False, 2),  # scale down: ceil(1200 / 1000)
    ("AverageValue", "10", 10, 3, 3.334, 0.3333, False, 1),  # the controller's milli-unit ceil for per pod
    ("Value", "1k", 2472, 3, None, 2.472, False, 8),  # ceil(2.472 x 3)
    ("Value", "2500", 2472, 3, None, 0.9888, True, 3),
    ("Value", "500m", 0.25, 4, None, 0.5, False, 2),
], ids=["seed", "avg-tolerance", "avg-down", "avg-milli", "value-up", "value-tolerance", "value-down"])
def test_arithmetic(target_type, target, value, current, per_pod, ratio, within, proposal) -> None:
    a = _arithmetic(_hpa(current, hi=10), _metric(target_type, target), float(value), None, "")
    assert a.per_pod == per_pod
    assert round(a.ratio, 4) == ratio
    assert (a.within_tolerance, a.proposal, a.value_from) == (within, proposal, "external metrics API")


def test_arithmetic_value_sources() -> None:
    m = replace(_metric(), current="824")
    assert _arithmetic(_hpa(), m, None, 100.0, "ConfigMap entry value").value_from == "ConfigMap entry value"
    a = _arithmetic(_hpa(), m, None, None, "")
    assert (a.value, a.value_from) == (2472.0, "HPA status (currentMetrics x replicas)")
    assert _arithmetic(_hpa(), _metric(), None, None, "").value is None


def _report(proposal: int | None, verdict: str = "ok") -> MetricReport:
    a = Arithmetic(1.0, "x", "AverageValue", 1.0, 3, 1.0, 1.0, False, proposal)
    return MetricReport(_metric(), (), verdict, a, "", None)


@pytest.mark.parametrize("hpa,proposals,action,final", [
    (_hpa(3, 1, 3), [275], "pinned-at-max", 3),
    (_hpa(3, 1, 10), [275], "scale-up", 10),
    (_hpa(3, 1, 10), [8], "scale-up", 8),
    (_hpa(3, 1, 10), [3], "steady", 3),
    (_hpa(3, 1, 10), [1], "scale-down", 1),
    (_hpa(3, 3, 10), [1], "pinned-at-min", 3),
    (_hpa(3, 1, 10), [2, 7], "scale-up", 7),  # the largest proposal wins
    (_hpa(0, 1, 10), [5], "scaling-disabled", None),
    (_hpa(None, 1, 10), [5], "cannot-compute", None),
], ids=["pinned-max", "capped", "up", "steady", "down", "pinned-min", "max-of-metrics", "zero", "no-status"])
def test_action(hpa: Hpa, proposals: list[int], action: str, final) -> None:
    got = _action(hpa, [_report(p) for p in proposals])
    assert (got[0], got[3]) == (action, final)


def test_action_with_a_failing_metric() -> None:
    # all failing: no change
    assert _action(_hpa(3, 1, 10), [_report(None, "dca-not-ready")])[0] == "cannot-compute"
    # one failing, the other asks to scale down: the HPA does not scale down
    assert _action(_hpa(3, 1, 10), [_report(1), _report(None, "metric-invalid")])[:1] == ("steady",)
    # one failing, the other asks to scale up: it does
    assert _action(_hpa(3, 1, 10), [_report(6), _report(None, "metric-invalid")])[0] == "scale-up"


# --- name and selector checks ------------------------------------------------------------------

def _snap(crd_mode: bool) -> HpaSnapshot:
    env = {"DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD": EnvVar("x", "true" if crd_mode else "false")}
    inst = Install("datadog", "datadog", "helm", "datadog-cluster-agent", (), (),
                   settings=DcaSettings.from_env(env, "datadog"))
    return HpaSnapshot(None, None, (), "v2", {}, None, Got(), Got(), (), inst, "", (), None, Got(), Got())


@pytest.mark.parametrize("name,labels,exprs,crd,code,warnings", [
    ("nginx.net.request_per_s", {"k": "nginx"}, (), False, None, []),
    ("nginx.net.request-per-s", {}, (), False, "metric-name-invalid", []),
    ("9lives", {}, (), False, "metric-name-invalid", []),
    ("a" * 201, {}, (), False, "metric-name-invalid", []),
    ("nginx.net.request_per_s", {"k": "Nginx"}, (), False, "metric-selector-uppercase", []),
    ("nginx.net.request_per_s", {"k": "nginx"}, ("env In ['prod']",), False, None,
     ["metric-selector-expressions-ignored"]),
    ("datadogmetric@default:x", {}, (), True, None, []),
    ("datadogmetric@default:x", {}, (), False, "datadogmetric-mode-disabled", []),
    ("datadogmetric@default/x", {}, (), True, "metric-reference-malformed", []),
    ("DataDogMetric@default:x", {}, ("e In ['a']",), True, None, []),  # selectors do not apply to references
], ids=["ok", "hyphen", "digit-first", "too-long", "uppercase", "expressions", "ref", "ref-legacy", "ref-malformed",
        "ref-mixed-case"])
def test_name_checks(name, labels, exprs, crd, code, warnings) -> None:
    link, broken, warns = _name_checks(_hpa(), _metric(name=name, labels=labels, exprs=exprs), _snap(crd))
    assert (broken.code if broken else None) == code
    assert link.state == ("broken" if code else "ok")
    assert [w.code for w in warns] == warnings


# --- parsing the chain's objects into the snapshot ---------------------------------------------

def test_endpoint_groups_prefer_the_endpoints_object_and_count_slice_readiness() -> None:
    from kubectl_datadog.snapshots.hpa_explain_objects import endpoint_groups
    endpoints = {"subsets": [{"ports": [{"name": "metricsapi", "port": 8443}],
                              "addresses": [{"ip": "10.0.0.1"}], "notReadyAddresses": [{"ip": "10.0.0.2"}]}]}
    slices = [{"ports": [{"name": "metricsapi", "port": 8443}],
               "endpoints": [{"conditions": {"ready": True}}, {"conditions": {}}, {"conditions": {"ready": False}}]}]
    [group] = endpoint_groups(endpoints, slices)
    assert (group.ready, group.not_ready) == (1, 1)
    [group] = endpoint_groups(None, slices)
    assert (group.ready, group.not_ready) == (2, 1)  # an unset `ready` is ready
    assert group.serves("metricsapi", None) and group.serves("", 8443) and not group.serves("other", 443)
    assert endpoint_groups(None, [{"endpoints": [{}]}])[0].serves("any", 1)  # no ports listed: every port


@pytest.mark.parametrize("raw,valid,value", [
    ('{"value": 12, "valid": true, "ts": 1700000000}', True, 12.0),
    ('{"value": "500m", "valid": "true"}', False, 0.5),  # only the JSON true is valid
    ('[1, 2]', None, None),
    ('not json', None, None),
])
def test_configmap_entry(raw, valid, value) -> None:
    from kubectl_datadog.snapshots.hpa_explain_objects import parse_configmap_entry
    entry = parse_configmap_entry("k", raw)
    assert (entry.valid if entry else None, entry.value if entry else None) == (valid, value)


def test_service_target_port_defaults_to_the_port() -> None:
    from kubectl_datadog.snapshots.hpa_explain_objects import parse_service
    svc = parse_service({"metadata": {"labels": {"a": "b"}}, "spec": {
        "selector": {"app": "dca"}, "ports": [{"port": 443}, {"name": "m", "port": 8443, "targetPort": "metricsapi"}]}})
    assert [(p.name, p.port, p.target_port) for p in svc.ports] == [("", 443, "443"), ("m", 8443, "metricsapi")]
    assert svc.selector == {"app": "dca"} and svc.labels == {"a": "b"}


# --- Datadog API errors in the Cluster Agent's log, by cause ----------------------------------

_Q = "avg:nginx.net.request_per_s{kube_container_name:nginx}.rollup(30)"
_PREFIX = "2026-11-27 11:59:00 UTC | CLUSTER | ERROR | (pkg/clusteragent/autoscaling/externalmetrics/metrics_retriever.go:84 in f) | "


@pytest.mark.parametrize("message,cause", [
    (f"Unable to fetch external metrics: error while executing metric query {_Q}: API error 401 Unauthorized: {{}}",
     "datadog-api-auth"),
    (f"Error while executing metric query {_Q}: API error 403 Forbidden: {{\"errors\": [\"Forbidden\"]}}",
     "datadog-api-auth"),
    (f"Unable to fetch external metrics: error while executing metric query {_Q}: API error 429 Too Many Requests: x",
     "datadog-api-rate-limited"),
    (f"Unable to fetch external metrics: error while executing metric query {_Q}: Rate limit of 300 requests in "
     "3600 seconds", "datadog-api-rate-limited"),
    (f"Error while executing metric query {_Q}: API error 400 Bad Request: {{\"errors\": [\"Error parsing query\"]}}",
     "datadog-query-invalid"),
    ("Returned series slice empty", "datadog-no-series"),
    (f"Unable to fetch external metrics: error while executing metric query {_Q}: API returned error: Query timed out",
     "datadog-api-unavailable"),
    (f"Unable to fetch external metrics: error while executing metric query {_Q}: API error 502 Bad Gateway: x",
     "datadog-api-unavailable"),
    (f"Unable to fetch external metrics: error while executing metric query {_Q}: Get \"https://api.datadoghq.com\": "
     "context deadline exceeded (Client.Timeout exceeded while awaiting headers)", "datadog-api-unavailable"),
])
def test_logged_datadog_api_errors_are_classified_by_cause(message: str, cause: str) -> None:
    from kubectl_datadog.textformats.hpa_messages import datadog_api_errors
    [found] = datadog_api_errors(_PREFIX + message + "\n")
    assert (found.cause.code, found.count) == (cause, 1)
    assert found.latest == "2026-11-27 11:59:00 UTC: " + message  # the log's own layout, cut to time and message


def test_only_lines_about_querying_datadog_count() -> None:
    from kubectl_datadog.textformats.hpa_messages import datadog_api_errors
    log = "\n".join([
        _PREFIX + "Could not refresh the leader lease: API error 403 Forbidden",  # not a metric query
        _PREFIX + "Updated 1 external metrics",
        _PREFIX + f"Error while executing metric query {_Q}: API error 403 Forbidden",
        _PREFIX + f"Error while executing metric query {_Q}: API error 403 Forbidden",
    ])
    assert [(e.cause.code, e.count) for e in datadog_api_errors(log)] == [("datadog-api-auth", 2)]
