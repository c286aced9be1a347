"""`hpa-explain` on a real kube-apiserver: the real HPA controller computes the HPA's status, the
real aggregation layer serves (or fails to serve) external.metrics.k8s.io, the DatadogMetric CRD is
served by the apiserver, RBAC is enforced."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def run(c, *args, user="admin"):
    r = c.run(["kubectl-datadog", "hpa-explain", *args], user=user)
    assert "Traceback" not in r.stderr
    return r


def run_json(c, *args, user="admin"):
    r = run(c, *args, "-o", "json", user=user)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_seed_nginxext_arithmetic_on_the_real_hpa_controller(e2e_cluster):
    c = e2e_cluster("hpa-nginxext")
    r = run(c, "nginxext", "-n", "default")
    assert r.returncode == 0, r.stderr
    assert "value from Datadog   2472   (external metrics API)" in r.stdout
    assert "2472 / 3 replicas = 824" in r.stdout and "ceil(2472 / 9) = 275" in r.stdout
    assert "pinned at maxReplicas 3" in r.stdout
    doc = run_json(c, "nginxext", "-n", "default")
    hpa = doc["hpas"][0]
    assert hpa["verdict"] == "pinned-at-max"
    # the real HPA controller did the same arithmetic: its status says 824 per pod and TooManyReplicas
    assert any(cond["reason"] == "TooManyReplicas" for cond in hpa["conditions"])
    assert hpa["metrics"][0]["current"] == "824"
    assert [f["code"] for f in doc["findings"]] == ["hpa-pinned-at-max"]
    # kubectl itself shows the seed's 824/9 (avg)
    got = c.kubectl("get", "hpa", "nginxext", "-n", "default")
    assert "824/9 (avg)" in got.stdout


def test_apiservice_missing_and_the_real_controller_error(e2e_cluster):
    c = e2e_cluster("hpa-apiservice-missing")
    doc = run_json(c, "nginxext", "-n", "default")
    hpa = doc["hpas"][0]
    assert hpa["verdict"] == "apiservice-missing"
    assert [f["code"] for f in doc["findings"] if f["severity"] == "error"] == ["apiservice-missing"]
    r = run(c, "nginxext", "-n", "default", "--fail-on", "error")
    assert r.returncode == 3


def test_dca_down_real_aggregator_unavailable(e2e_cluster):
    c = e2e_cluster("hpa-dca-down")
    doc = run_json(c, "nginxext", "-n", "default")
    metric = doc["hpas"][0]["metrics"][0]
    assert doc["hpas"][0]["verdict"] == "dca-not-ready"
    assert metric["externalMetricsAPI"]["error"]["status"] == 503  # the real aggregator, no backend
    live = next(lk for lk in metric["chain"] if lk["step"] == "external-metrics-api")
    assert "the server is currently unable to handle the request" in live["detail"]


@pytest.mark.parametrize(("scenario", "verdict"), [
    ("hpa-dm", "steady"),
    ("hpa-dm-error", "datadogmetric-error"),
    ("hpa-dm-error-403", "datadogmetric-error"),
    ("hpa-independent-breaks", "apiservice-other-adapter"),
    ("hpa-dm-not-found", "datadogmetric-not-found"),
])
def test_datadogmetric_mode_on_the_real_crd(e2e_cluster, scenario, verdict):
    c = e2e_cluster(scenario)
    doc = run_json(c, "nginxext", "-n", "default")
    assert doc["hpas"][0]["verdict"] == verdict
    if scenario == "hpa-dm-error-403":  # the DatadogMetric's status as written: the hint is the keys/site
        assert "DD_SITE" in doc["findings"][0]["hint"]
    if scenario == "hpa-independent-breaks":  # the DatadogMetric's error is its own finding, not skipped
        chain = {lk["step"]: lk["state"] for lk in doc["hpas"][0]["metrics"][0]["chain"]}
        assert chain["source"] == "independent"
        assert "datadogmetric-error" in {f["code"] for f in doc["findings"]}
    if verdict == "steady":
        assert doc["findings"] == []
        assert doc["hpas"][0]["metrics"][0]["arithmetic"]["value"] == 2472


def test_summary_and_restricted_viewer(e2e_cluster):
    c = e2e_cluster("hpa-nginxext")
    r = run(c, "-A")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["NAMESPACE", "NAME", "METRIC", "VALUE", "TARGET", "MINPODS",
                                                "MAXPODS", "REPLICAS", "VERDICT"]
    assert "nginxext" in r.stdout and "pinned-at-max" in r.stdout
    # viewer: no secrets, no apiservices: those links become "could not check", the verdict stands
    doc = run_json(c, "nginxext", "-n", "default", user="viewer")
    assert doc["hpas"][0]["verdict"] == "pinned-at-max"
    assert "rbac-forbidden" in {f["code"] for f in doc["findings"]}
    assert all(f["severity"] != "error" for f in doc["findings"])


def test_not_found_and_read_only(e2e_cluster):
    c = e2e_cluster("hpa-nginxext")
    r = run(c, "nope", "-n", "default")
    assert r.returncode == 1 and 'horizontalpodautoscaler "nope" not found' in r.stderr
    writes = [e for e in c.audit_events(user="admin") if e.get("verb") not in ("get", "list", "watch")
              and "kubectl-datadog" in (e.get("userAgent") or "")]
    assert writes == []


def test_through_real_kubectl_plugin_mechanism(e2e_cluster):
    c = e2e_cluster("hpa-nginxext")
    r = c.run(["kubectl", "datadog", "hpa-explain", "nginxext", "-n", "default"])
    assert r.returncode == 0, r.stderr
    assert "ceil(2472 / 9) = 275" in r.stdout


def test_provider_setting_from_an_unreadable_secret_is_unknown_not_disabled(e2e_cluster):
    """viewer may not read the Secret DD_EXTERNAL_METRICS_PROVIDER_ENABLED comes from: unknown, said
    once, and not the verdict external-metrics-provider-disabled (the chain's evidence decides)."""
    c = e2e_cluster("hpa-setting-unreadable")
    doc = run_json(c, "nginxext", "-n", "default", user="viewer")
    codes = {f["code"] for f in doc["findings"]}
    assert "dca-setting-unknown" in codes and "external-metrics-provider-disabled" not in codes
    assert doc["hpas"][0]["verdict"] == "pinned-at-max"


@pytest.mark.parametrize(("scenario", "verdict", "denied"), [
    # no system:auth-delegator binding, no datadogmetrics rule in the DCA's ClusterRole
    ("hpa-dca-rbac", "dca-rbac-missing", ["create subjectaccessreviews.authorization.k8s.io",
                                          "create tokenreviews.authentication.k8s.io",
                                          "list datadogmetrics.datadoghq.com", "watch datadogmetrics.datadoghq.com"]),
    # the same RBAC gap beside another adapter's APIService: an independent finding, not skipped
    ("hpa-rbac-independent", "apiservice-other-adapter", ["list datadogmetrics.datadoghq.com",
                                                          "watch datadogmetrics.datadoghq.com"]),
])
def test_the_cluster_agents_rbac_by_real_access_reviews(e2e_cluster, scenario, verdict, denied):
    """The real RBAC authorizer answers the access reviews for the DCA's service account: exactly the
    permissions its ClusterRole and bindings lack are named, whatever the rest of the chain says."""
    c = e2e_cluster(scenario)
    doc = run_json(c, "nginxext", "-n", "default")
    assert doc["hpas"][0]["verdict"] == verdict
    rbac = next(f for f in doc["findings"] if f["code"] == "dca-rbac-missing")
    named = rbac["message"].split("cannot ", 1)[1].split(": ", 1)[0].split(", ")
    assert named == denied
    chain = {lk["step"]: lk["state"] for lk in doc["hpas"][0]["metrics"][0]["chain"]}
    assert chain["cluster-agent"] == ("broken" if verdict == "dca-rbac-missing" else "independent")


@pytest.mark.parametrize(("scenario", "logged"), [
    ("hpa-logs-auth", {"dca-logs-datadog-api-auth": 3}),
    ("hpa-dm-stale-logs", {"dca-logs-datadog-api-rate-limited": 1, "dca-logs-datadog-api-unavailable": 3}),
    ("hpa-logs-query", {"dca-logs-datadog-query-invalid": 1, "dca-logs-datadog-no-series": 1}),
])
def test_the_leaders_log_through_the_kubelet_names_the_cause(e2e_cluster, scenario, logged):
    """The leader's log read through the real pods/log path (kwok as the kubelet): each Datadog API
    error cause it records is one finding with that cause's fix."""
    c = e2e_cluster(scenario)
    doc = run_json(c, "nginxext", "-n", "default")
    found = {f["code"]: f for f in doc["findings"] if f["code"].startswith("dca-logs-")}
    assert {code: int(f["message"].split("logged ")[1].split(" ")[0]) for code, f in found.items()} == logged
    if scenario == "hpa-logs-auth":  # the valid:false entry's cause is the logged 403: the keys or DD_SITE
        assert "DD_SITE" in found["dca-logs-datadog-api-auth"]["hint"]
        invalid = next(f for f in doc["findings"] if f["code"] == "metric-invalid")
        assert invalid["causedBy"] == ["dca-logs-datadog-api-auth"]
