"""`hpa-explain` through the real CLI boundary on FakeCluster scenarios: verdicts (the first broken
link of each chain), the seed's arithmetic, goldens for every format, exit codes and errors."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from tests import conftest
from tests.fakes import FakeCluster, secret_values, writes
from tests.scenario import Scenario, load_scenario

FORMATS = ["table", "wide", "json", "yaml"]

# scenario -> (verdict, the link the verdict names as broken, or None when the chain is healthy)
VERDICTS = {
    # the seed, legacy ConfigMap mode on the Helm base
    "hpa-nginxext": ("pinned-at-max", None),
    "hpa-healthy": ("steady", None),
    "hpa-value-target": ("scale-up", None),
    "hpa-autoscaling-v1": ("pinned-at-max", None),
    "hpa-apiservice-missing": ("apiservice-missing", "apiservice/v1beta1.external.metrics.k8s.io"),
    "hpa-apiservice-other-adapter": ("apiservice-other-adapter", "apiservice/v1beta1.external.metrics.k8s.io"),
    "hpa-apiservice-unavailable": ("apiservice-unavailable", "apiservice/v1beta1.external.metrics.k8s.io"),
    "hpa-service-missing": ("service-missing", "service/datadog/datadog-cluster-agent-metrics-api"),
    "hpa-service-wrong-port": ("service-port-mismatch", "service/datadog/datadog-cluster-agent-metrics-api"),
    "hpa-service-no-endpoints": ("service-no-endpoints", "service/datadog/datadog-cluster-agent-metrics-api"),
    "hpa-dca-down": ("dca-not-ready", "deployment/datadog/datadog-cluster-agent"),
    "hpa-provider-disabled": ("external-metrics-provider-disabled", "deployment/datadog/datadog-cluster-agent"),
    "hpa-keys-missing": ("dca-keys-missing", "deployment/datadog/datadog-cluster-agent"),
    "hpa-no-leader": ("dca-no-leader", "deployment/datadog/datadog-cluster-agent"),
    "hpa-legacy-invalid": ("metric-invalid", "configmap/datadog/datadog-custom-metrics"),
    "hpa-legacy-stale": ("metric-stale", "configmap/datadog/datadog-custom-metrics"),
    "hpa-bad-metric-name": ("metric-name-invalid", "hpa/default/nginxext"),
    "hpa-bad-selector": ("metric-selector-uppercase", "hpa/default/nginxext"),
    # DatadogMetric mode on the Operator base
    "hpa-dm": ("steady", None),
    "hpa-dm-value": ("steady", None),
    "hpa-dm-autogen": ("pinned-at-max", None),
    "hpa-dm-autogen-missing": ("datadogmetric-autogen-missing", "datadogmetric/datadog/dcaautogen-*"),
    "hpa-dm-invalid": ("datadogmetric-invalid", "datadogmetric/default/nginx-requests"),
    "hpa-dm-error": ("datadogmetric-error", "datadogmetric/default/nginx-requests"),
    "hpa-dm-error-403": ("datadogmetric-error", "datadogmetric/default/nginx-requests"),
    "hpa-independent-breaks": ("apiservice-other-adapter", "apiservice/v1beta1.external.metrics.k8s.io"),
    "hpa-dm-inactive": ("datadogmetric-inactive", "datadogmetric/default/nginx-requests"),
    "hpa-dm-not-found": ("datadogmetric-not-found", "datadogmetric/default/nginx-requests"),
    "hpa-dm-stale": ("datadogmetric-stale", "datadogmetric/default/nginx-requests"),
    "hpa-dm-malformed": ("metric-reference-malformed", "hpa/default/nginxext"),
    "hpa-dca-rbac": ("dca-rbac-missing", "deployment/datadog/datadog-cluster-agent"),
    # the leader's own log says why (Datadog API errors, by cause)
    "hpa-logs-auth": ("metric-invalid", "configmap/datadog/datadog-custom-metrics"),
    "hpa-dm-stale-logs": ("datadogmetric-stale", "datadogmetric/default/nginx-requests"),
    "hpa-logs-query": ("pinned-at-max", None),
    "hpa-rbac-independent": ("apiservice-other-adapter", "apiservice/v1beta1.external.metrics.k8s.io"),
    # no Datadog pod at all: what the install left behind (its APIService, lock, tokens) is the cause
    "leftovers-only": ("install-leftovers-only", "deployment/<none>"),
}
HEALTHY = [s for s, (_, link) in VERDICTS.items() if link is None]


@functools.lru_cache(maxsize=None)
def _scenario(name: str) -> Scenario:
    return load_scenario(name)  # parsing the YAML is most of a test's time; the command never mutates it


def invoke_cli(*args: str, scenario: str | None = None, **kw: Any) -> conftest.Result:
    if scenario is not None and "fake" not in kw:
        sc = _scenario(scenario)
        kw["fake"] = FakeCluster(objects=sc.objects, scenario=dict(sc.config), source=sc)
    return conftest.invoke_cli(*args, **kw)


def explain(scenario: str, *args: str) -> conftest.Result:
    return invoke_cli("hpa-explain", "nginxext", "-n", "default", *args, scenario=scenario)


@pytest.mark.parametrize("scenario", sorted(VERDICTS))
def test_verdict_names_the_first_broken_link(scenario: str) -> None:
    verdict, link = VERDICTS[scenario]
    r = explain(scenario, "-o", "json")
    assert (r.exit_code, r.stderr) == (0, "")
    hpa = r.json["hpas"][0]
    assert hpa["verdict"] == verdict
    broken = [lk["object"] for lk in hpa["metrics"][0]["chain"] if lk["state"] == "broken"]
    assert broken == ([] if link is None else [link])
    errors = [f for f in r.json["findings"] if f["severity"] == "error"]
    if link is None:
        assert errors == []
    else:  # one root error: the broken link, with a next step and a command to verify it; every other
        # error either names it as its cause (a symptom) or is a link checked on its own (independent)
        roots = [f for f in errors if not f["causedBy"]]
        # the verdict's finding is a root, or names a root its link cannot show (the leader's log)
        lead = next(f for f in errors if f["code"] == verdict)
        assert verdict in [f["code"] for f in roots] or set(lead["causedBy"]) <= {f["code"] for f in roots}
        assert all(f["causedBy"] == [verdict] or f["code"] == verdict for f in errors if f["causedBy"])
        chain = hpa["metrics"][0]["chain"]
        independent = {lk["object"] for lk in chain if lk["state"] == "independent"}
        for f in roots:
            if f["code"] != verdict and f["code"] not in lead["causedBy"]:
                assert f["object"] in independent or f["code"] in (
                    "dca-keys-missing", "external-metrics-provider-disabled", "dca-no-leader", "dca-rbac-missing"), f
        assert errors[0]["hint"] and errors[0]["command"]


@pytest.mark.parametrize("scenario", ["hpa-healthy", "hpa-value-target", "hpa-dm", "hpa-dm-value"])
def test_healthy_is_quiet(scenario: str) -> None:
    r = explain(scenario)
    assert "Findings:" not in r.stdout
    assert explain(scenario, "-o", "json").json["findings"] == []


def test_seed_nginxext_arithmetic_and_pinned_at_max() -> None:
    r = explain("hpa-nginxext")
    assert r.exit_code == 0
    out = r.stdout
    assert "value from Datadog   2472" in out
    assert "2472 / 3 replicas = 824" in out
    assert "824/9 (avg)" in out  # what `kubectl get hpa` shows, as in the seed
    assert "824 / 9 = 91.56x" in out
    assert "ceil(2472 / 9) = 275" in out
    assert "pinned at maxReplicas 3" in out
    m = explain("hpa-nginxext", "-o", "json").json["hpas"][0]
    assert m["action"] == "pinned-at-max" and m["proposedReplicas"] == 275 and m["replicasAfterLimits"] == 3
    a = m["metrics"][0]["arithmetic"]
    assert (a["value"], a["perPod"], a["target"], a["currentReplicas"]) == (2472, 824, 9, 3)
    assert a["valueFrom"] == "external metrics API"


def test_seed_arithmetic_on_the_operator_autogen_install() -> None:
    r = explain("hpa-dm-autogen")
    assert "ceil(2472 / 9) = 275" in r.stdout and "pinned at maxReplicas 3" in r.stdout
    chain = explain("hpa-dm-autogen", "-o", "json").json["hpas"][0]["metrics"][0]["chain"]
    assert any(lk["step"] == "source" and lk["object"].startswith("datadogmetric/datadog/dcaautogen-") for lk in chain)


def test_value_target_arithmetic() -> None:
    r = explain("hpa-value-target")
    assert "2472 / 1000 = 2.47x" in r.stdout
    assert "ceil(2.47 x 3 ready replicas) = 8" in r.stdout
    assert "scales up from 3 to 8" in r.stdout


def test_within_tolerance_keeps_replicas() -> None:
    a = explain("hpa-healthy", "-o", "json").json["hpas"][0]["metrics"][0]["arithmetic"]
    assert a["withinTolerance"] is True and a["proposedReplicas"] == 3


def test_the_live_value_command_is_shown() -> None:
    r = explain("hpa-nginxext")
    assert ('kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nginx.net.request_per_s'
            '?labelSelector=kube_container_name%3Dnginx"') in r.stdout
    raw = [c for c in r.fake.calls if c.resource == "raw" and "external.metrics" in (c.name or "")]
    assert raw and raw[0].detail == "labelSelector=kube_container_name=nginx"


def test_dca_down_reports_the_dca_and_marks_the_service_as_a_symptom() -> None:
    chain = explain("hpa-dca-down", "-o", "json").json["hpas"][0]["metrics"][0]["chain"]
    states = {lk["step"]: lk["state"] for lk in chain}
    assert states["service"] == "symptom" and states["cluster-agent"] == "broken"
    assert states["external-metrics-api"] == "skipped"


def test_seed_condition_and_event_texts_are_explained() -> None:
    # "could not find the requested resource": the APIService or the metric is not served
    d = explain("hpa-apiservice-missing", "-o", "json").json["hpas"][0]
    active = next(c for c in d["conditions"] if c["type"] == "ScalingActive")
    assert "could not find the requested resource" in active["message"]
    assert "APIService" in active["meaning"]
    # "the server is currently unable to handle the request": the backend does not answer
    d = explain("hpa-dca-down", "-o", "json").json["hpas"][0]
    assert any("currently unable to handle the request" in e["message"] and "metrics Service" in e["meaning"]
               for e in d["events"])
    # "DatadogMetric is invalid"
    d = explain("hpa-dm-invalid", "-o", "json").json["hpas"][0]
    assert any("DatadogMetric is invalid" in e["message"] and "no valid value" in e["meaning"] for e in d["events"])


def test_events_are_read_with_a_field_selector() -> None:
    r = explain("hpa-nginxext")
    lists = [c for c in r.fake.calls if c.verb == "list" and c.resource == "events"]
    assert lists == [lists[0]] and lists[0].namespace == "default"
    assert lists[0].detail == "|involvedObject.name=nginxext,involvedObject.kind=HorizontalPodAutoscaler"


def test_selector_warnings() -> None:
    codes = {f["code"]: f for f in explain("hpa-bad-selector", "-o", "json").json["findings"]}
    assert "kube_container_name=Nginx" in codes["metric-selector-uppercase"]["message"]
    assert codes["metric-selector-expressions-ignored"]["severity"] == "warning"


def test_datadogmetric_error_text_is_shown() -> None:
    f = explain("hpa-dm-error", "-o", "json").json["findings"][0]
    assert "Invalid metric (from backend)" in f["message"]
    assert f["command"] == "kubectl -n default get datadogmetric nginx-requests -o yaml"


@pytest.mark.parametrize(("scenario", "says", "not_says"), [
    # a query problem: fix the query
    ("hpa-dm-error", "fix the query", "DD_SITE"),
    # a 403 from Datadog: the keys or the site, not the query (before: "fix the DatadogMetric's query")
    ("hpa-dm-error-403", "check DD_API_KEY, DD_APP_KEY and DD_SITE", "fix the query"),
])
def test_a_datadog_api_error_gets_the_fix_of_its_cause(scenario: str, says: str, not_says: str) -> None:
    f = explain(scenario, "-o", "json").json["findings"][0]
    assert f["code"] == "datadogmetric-error"
    assert says in f["hint"] and not_says not in f["hint"]


def test_a_later_link_checked_on_its_own_is_an_independent_finding_not_skipped() -> None:
    """Another adapter owns the APIService (the verdict); the DatadogMetric's query failing is a second,
    independent problem: its link says so and its finding is reported (before: skipped, dropped)."""
    r = explain("hpa-independent-breaks", "-o", "json")
    chain = {lk["step"]: lk["state"] for lk in r.json["hpas"][0]["metrics"][0]["chain"]}
    assert chain["apiservice"] == "broken" and chain["source"] == "independent"
    assert chain["external-metrics-api"] == "skipped"  # what the HPA sees follows from the APIService
    found = {f["code"]: f for f in r.json["findings"]}
    assert set(found) == {"apiservice-other-adapter", "datadogmetric-error"}
    assert found["datadogmetric-error"]["causedBy"] == [] and "DD_SITE" in found["datadogmetric-error"]["hint"]


def test_a_source_the_dca_cannot_refresh_is_a_symptom_of_the_cluster_agent_link() -> None:
    r = explain("hpa-keys-missing", "-o", "json")
    codes = [f["code"] for f in r.json["findings"]]
    assert codes == ["dca-keys-missing", "metric-invalid"]
    stale = r.json["findings"][1]
    assert stale["causedBy"] == ["dca-keys-missing"] and stale["hint"].startswith("fix the cause first (dca-keys-missing)")


def test_keys_are_checked_by_presence_only() -> None:
    r = explain("hpa-keys-missing", "-o", "json")
    f = r.json["findings"][0]
    assert "secret datadog/datadog has no key app-key" in f["message"]
    assert f["command"] == "kubectl -n datadog describe secret datadog"


def test_no_leader_points_at_the_leader_command() -> None:
    f = explain("hpa-no-leader", "-o", "json").json["findings"][0]
    assert f["command"] == "kubectl datadog leader" and "expired" in f["message"]


def test_autoscaling_v1_annotation_is_read() -> None:
    r = explain("hpa-autoscaling-v1", "-o", "json")
    h = r.json["hpas"][0]
    assert r.json["autoscalingVersion"] == "autoscaling/v1" and h["apiVersion"] == "autoscaling/v1"
    assert h["metrics"][0]["target"] == {"type": "AverageValue", "value": "9"}
    assert h["proposedReplicas"] == 275


# --- summary mode (no NAME) ----------------------------------------------------------------------

def test_summary_lists_every_hpa_with_external_metrics() -> None:
    r = invoke_cli("hpa-explain", "-A", "-o", "json", scenario="hpa-summary")
    assert r.exit_code == 0 and r.json["kind"] == "HpaExplanationList"
    rows = {(h["namespace"], h["name"]): h["verdict"] for h in r.json["hpas"]}
    assert rows == {("default", "nginxext"): "pinned-at-max", ("shop", "web"): "datadogmetric-mode-disabled"}


def test_summary_respects_the_namespace() -> None:
    r = invoke_cli("hpa-explain", "-n", "shop", "-o", "json", scenario="hpa-summary")
    assert [h["name"] for h in r.json["hpas"]] == ["web"]


def test_summary_empty_goes_to_stderr() -> None:
    r = invoke_cli("hpa-explain", "-n", "kube-system", scenario="hpa-summary")
    assert (r.exit_code, r.stdout) == (0, "")
    assert r.stderr == "No HorizontalPodAutoscalers with External metrics found in the kube-system namespace.\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_summary_golden(fmt: str, golden) -> None:
    r = invoke_cli("hpa-explain", "-A", "-o", fmt, scenario="hpa-summary")
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"hpa_explain/summary.{fmt}", r.stdout)


# --- goldens, exit codes, errors, hygiene --------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", sorted(VERDICTS))
def test_golden(scenario: str, fmt: str, golden) -> None:
    r = explain(scenario, "-o", fmt)
    assert (r.exit_code, r.stderr) == (0, "")
    golden.check(f"hpa_explain/{scenario}.{fmt}", r.stdout)


@pytest.mark.parametrize("scenario,fail_on,code", [
    ("hpa-apiservice-missing", "error", 3),
    ("hpa-apiservice-missing", "never", 0),
    ("hpa-nginxext", "error", 0),
    ("hpa-nginxext", "info", 3),  # pinned at max is an info finding
    ("hpa-healthy", "info", 0),
    ("hpa-bad-selector", "warning", 3),
])
def test_fail_on_exit_codes(scenario: str, fail_on: str, code: int) -> None:
    assert explain(scenario, "--fail-on", fail_on).exit_code == code


def test_hpa_not_found() -> None:
    r = invoke_cli("hpa-explain", "nope", "-n", "default", scenario="hpa-nginxext")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == ('error: horizontalpodautoscaler "nope" not found in the namespace "default" '
                        "(list them with: kubectl get hpa -n default)\n")


def test_hpa_without_external_metrics() -> None:
    r = invoke_cli("hpa-explain", "api", "-n", "shop", scenario="hpa-summary")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: hpa shop/api has no External metrics (it uses: Resource cpu)")


def test_name_with_all_namespaces_is_a_usage_error() -> None:
    r = invoke_cli("hpa-explain", "nginxext", "-A", scenario="hpa-nginxext")
    assert r.exit_code == 2 and r.stderr.startswith("error: a NAME cannot be combined with -A")


def test_bad_output_is_a_usage_error() -> None:
    assert invoke_cli("hpa-explain", "-o", "xml", scenario="hpa-nginxext").exit_code == 2


def test_unreachable_cluster() -> None:
    from tests.fakes import FakeCluster

    r = invoke_cli("hpa-explain", "nginxext", fake=FakeCluster.from_scenario("hpa-nginxext", unreachable=True))
    assert r.exit_code == 1 and r.stderr.startswith("error: cannot reach the API server")


def test_forbidden_secrets_and_apiservice_become_info_not_a_crash() -> None:
    from tests.fakes import FakeCluster

    fake = FakeCluster.from_scenario("hpa-nginxext")
    fake.scenario = {**fake.scenario, "forbidden": [{"verb": "get", "resource": "secrets"},
                                                     {"verb": "get", "resource": "apiservices.apiregistration.k8s.io"}]}
    r = invoke_cli("hpa-explain", "nginxext", "-n", "default", "-o", "json", fake=fake)
    assert r.exit_code == 0 and r.json["hpas"][0]["verdict"] == "pinned-at-max"
    codes = [(f["code"], f["severity"]) for f in r.json["findings"]]
    assert ("rbac-forbidden", "info") in codes


@pytest.mark.parametrize("scenario", sorted(VERDICTS) + ["hpa-summary"])
def test_read_only_and_no_secrets(scenario: str) -> None:
    for fmt in ("table", "yaml"):
        r = invoke_cli("hpa-explain", "-A", "-o", fmt, scenario=scenario)
        assert writes(r.fake.calls) == []
        for value in secret_values(scenario):
            assert value not in r.stdout and value not in r.stderr


def test_leftovers_only_is_the_root_cause_and_no_leader_is_judged() -> None:
    r = explain("leftovers-only", "-o", "json")
    codes = [f["code"] for f in r.json["findings"]]
    assert codes == ["install-leftovers-only"]
    message = r.json["findings"][0]["message"]
    assert "apiservice/v1beta1.external.metrics.k8s.io (served by service datadog/datadog-cluster-agent-metrics-api, " \
           "which does not exist)" in message
    chain = {lk["step"]: lk["state"] for lk in r.json["hpas"][0]["metrics"][0]["chain"]}
    assert chain["cluster-agent"] == "broken" and chain["service"] == "symptom"
    # Without HPAs the same one finding is the whole answer.
    fake = FakeCluster(objects=[o for o in _scenario("leftovers-only").objects
                                if o.get("kind") != "HorizontalPodAutoscaler"])
    r = invoke_cli("hpa-explain", "-A", "-o", "json", fake=fake)
    assert [f["code"] for f in r.json["findings"]] == ["install-leftovers-only"]


def test_provider_setting_from_an_unreadable_secret_is_unknown_not_disabled() -> None:
    """Before: the unread Secret made DD_EXTERNAL_METRICS_PROVIDER_ENABLED false, and the verdict
    external-metrics-provider-disabled rested on that guess."""
    r = invoke_cli("hpa-explain", "nginxext", "-n", "default", "-o", "json", scenario="hpa-setting-unreadable")
    codes = [f["code"] for f in r.json["findings"]]
    assert "external-metrics-provider-disabled" not in codes and "dca-setting-unknown" in codes
    assert r.json["hpas"][0]["verdict"] == "pinned-at-max"
    (f,) = [f for f in r.json["findings"] if f["code"] == "dca-setting-unknown"]
    assert "DD_EXTERNAL_METRICS_PROVIDER_ENABLED is unknown" in f["message"]
    assert 'cannot get secrets "datadog-cluster-agent-settings"' in f["message"]


def test_the_cluster_agents_rbac_is_checked_by_access_review_for_its_service_account() -> None:
    """The DCA's metrics server needs system:auth-delegator (create subjectaccessreviews and
    tokenreviews) and, in DatadogMetric mode, list/watch on datadogmetrics: asked for its service
    account, each denied permission named, and the verdict when the rest of the chain is sound."""
    sc = _scenario("hpa-dca-rbac")
    fake = FakeCluster(objects=sc.objects, scenario=dict(sc.config), source=sc)
    r = invoke_cli("hpa-explain", "nginxext", "-n", "default", "-o", "json", fake=fake)
    f = r.json["findings"][0]
    assert (f["code"], f["object"]) == ("dca-rbac-missing", "serviceaccount/datadog/datadog-cluster-agent")
    for permission in ("create subjectaccessreviews.authorization.k8s.io", "create tokenreviews.authentication.k8s.io",
                       "list datadogmetrics.datadoghq.com", "watch datadogmetrics.datadoghq.com"):
        assert permission in f["message"]
    assert f["command"].endswith("--as system:serviceaccount:datadog:datadog-cluster-agent")
    reviewed = {c.detail for c in fake.calls if c.resource == "subjectaccessreviews"}
    assert "list horizontalpodautoscalers.autoscaling" in reviewed  # asked, allowed: not reported
    assert "list horizontalpodautoscalers.autoscaling" not in f["message"]
    assert r.json["hpas"][0]["verdict"] == "dca-rbac-missing"


def test_the_cluster_agents_rbac_is_checked_even_when_an_earlier_link_is_broken() -> None:
    """Issue 13: another adapter owns the APIService (the verdict); the DCA's missing RBAC and the
    DatadogMetric's error are checked on their own, and each is an independent finding."""
    r = explain("hpa-rbac-independent", "-o", "json")
    chain = {lk["step"]: lk["state"] for lk in r.json["hpas"][0]["metrics"][0]["chain"]}
    assert (chain["apiservice"], chain["cluster-agent"], chain["source"]) == ("broken", "independent", "independent")
    found = {f["code"]: f for f in r.json["findings"]}
    assert set(found) == {"apiservice-other-adapter", "dca-rbac-missing", "datadogmetric-error"}
    assert all(f["causedBy"] == [] for f in found.values())


def test_rbac_that_cannot_be_reviewed_is_unchecked_not_missing() -> None:
    sc = _scenario("hpa-dm")
    fake = FakeCluster(objects=sc.objects, scenario={**sc.config, "accessReviews": {"unavailable": True}}, source=sc)
    r = invoke_cli("hpa-explain", "nginxext", "-n", "default", "-o", "json", fake=fake)
    assert [(f["code"], f["severity"]) for f in r.json["findings"]] == [("dca-rbac-unchecked", "info")]
    assert r.json["hpas"][0]["verdict"] == "steady"


def test_no_access_review_for_a_provider_that_is_off() -> None:
    # The charts grant these permissions with the provider: asking while it is off would report noise.
    sc = _scenario("hpa-provider-disabled")
    fake = FakeCluster(objects=sc.objects, scenario=dict(sc.config), source=sc)
    invoke_cli("hpa-explain", "nginxext", "-n", "default", fake=fake)
    assert not [c for c in fake.calls if c.resource == "subjectaccessreviews"]


@pytest.mark.parametrize(("scenario", "logged"), [
    ("hpa-logs-auth", {"dca-logs-datadog-api-auth": 3}),
    ("hpa-dm-stale-logs", {"dca-logs-datadog-api-rate-limited": 1, "dca-logs-datadog-api-unavailable": 3}),
    ("hpa-logs-query", {"dca-logs-datadog-query-invalid": 1, "dca-logs-datadog-no-series": 1}),
])
def test_the_leaders_log_names_the_cause_of_datadog_api_errors(scenario: str, logged: dict[str, int]) -> None:
    """Issue 13 §3: the Datadog API errors the leader logged, one finding per cause with that cause's
    fix, read from the leader's log only (the replica that queries Datadog)."""
    sc = _scenario(scenario)
    fake = FakeCluster(objects=sc.objects, scenario=dict(sc.config), source=sc)
    r = invoke_cli("hpa-explain", "nginxext", "-n", "default", "-o", "json", fake=fake)
    found = {f["code"]: f for f in r.json["findings"] if f["code"].startswith("dca-logs-")}
    assert {code: int(f["message"].split("logged ")[1].split(" ")[0]) for code, f in found.items()} == logged
    assert all(f["object"] == "pod/datadog/datadog-cluster-agent-8568545574-x9tc9" for f in found.values())
    read = [c for c in fake.calls if c.resource == "pods/log"]
    assert [(c.name, c.detail) for c in read] == [("datadog-cluster-agent-8568545574-x9tc9", "cluster-agent")]


def test_a_403_in_the_log_gets_the_keys_fix_not_the_querys() -> None:
    f = next(f for f in explain("hpa-logs-auth", "-o", "json").json["findings"] if f["code"].startswith("dca-logs-"))
    assert "DD_SITE" in f["hint"] and "fix the query" not in f["hint"]


def test_a_log_we_may_not_read_is_a_forbidden_note() -> None:
    sc = _scenario("hpa-logs-auth")
    config = {**sc.config, "forbidden": [{"verb": "get", "resource": "pods/log"}]}
    r = invoke_cli("hpa-explain", "nginxext", "-n", "default", "-o", "json",
                   fake=FakeCluster(objects=sc.objects, scenario=config, source=sc))
    codes = {f["code"]: f for f in r.json["findings"]}
    assert not [c for c in codes if c.startswith("dca-logs-")]
    assert codes["rbac-forbidden"]["severity"] == "info" and "pods/log" in codes["rbac-forbidden"]["command"]


@pytest.mark.parametrize(("scenario", "symptom", "cause"), [
    ("hpa-logs-auth", "metric-invalid", "dca-logs-datadog-api-auth"),
    # rate-limited at 11:52, then timeouts until 11:59: the value is stuck on the latest cause
    ("hpa-dm-stale-logs", "datadogmetric-stale", "dca-logs-datadog-api-unavailable"),
])
def test_a_value_the_leader_could_not_refresh_names_the_logged_cause(scenario: str, symptom: str, cause: str) -> None:
    """The ConfigMap entry and the DatadogMetric's staleness carry no error text; the leader's log
    lines naming this metric's query do: the logged cause comes first, as an ERROR, and the value's
    finding names it and points at its fix (before: "check the metric and its tags exist")."""
    findings = explain(scenario, "-o", "json").json["findings"]
    assert (findings[0]["code"], findings[0]["severity"]) == (cause, "error")
    found = next(f for f in findings if f["code"] == symptom)
    assert found["causedBy"] == [cause] and found["hint"].startswith(f"fix the cause first ({cause})")


def test_logged_errors_about_other_queries_stay_warnings_on_their_own() -> None:
    findings = explain("hpa-logs-query", "-o", "json").json["findings"]
    logged = [f for f in findings if f["code"].startswith("dca-logs-")]
    assert logged and all(f["severity"] == "warning" and f["causedBy"] == [] for f in logged)
    assert not [f for f in findings if f["causedBy"]]
