"""`clusterchecks` on a real kube-apiserver: Service annotations and EndpointSlices written by the real
controllers, real SubjectAccessReviews for kube-state-metrics core's permissions, the DCA leader's
`clusterchecks` through kwok exec (stand-ins printing the scenario's texts)."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.e2e

RUNNER_A, RUNNER_B = "datadog-clusterchecks-7d9c6b5f4-2xk8p", "datadog-clusterchecks-7d9c6b5f4-9qv7m"
N1, N2 = "gke-test-default-pool-068cb9c0-sf1w", "gke-test-default-pool-068cb9c0-wntj"
TAINTED = "gke-test-tainted-pool-5f1c2a3b-q8zv"


def _doc(c, *args: str, user: str = "admin") -> dict:
    r = c.run(["kubectl-datadog", "clusterchecks", "-o", "json", *args], user=user)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout)


def _rows(doc: dict) -> dict:
    return {(c["check"], c["node"]): (c["dcaSays"], c["verdict"]) for c in doc["configs"]}


def _until_endpoints(c, *args: str, want: int = 1, user: str = "admin") -> dict:
    """The EndpointSlice controller fills nginx's slice asynchronously: wait until `want` endpoint rows."""
    deadline = time.monotonic() + 60
    doc = _doc(c, *args, user=user)
    while sum(1 for r in doc["configs"] if r["origin"] == "endpoints-annotation" and r["node"]) < want \
            and time.monotonic() < deadline:
        time.sleep(1)
        doc = _doc(c, *args, user=user)
    return doc


def test_healthy_helm_with_runners_is_quiet(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-helm")
    doc = _until_endpoints(c)
    assert _rows(doc) == {("redisdb", None): (RUNNER_A, "dispatched"), ("nginx", N2): (N2, "dispatched"),
                          ("kubernetes_state_core", None): (RUNNER_B, "dispatched")}
    assert doc["findings"] == []
    # kube-state-metrics core's service account, asked of the real authorizer
    perms = doc["kubeStateMetricsCorePermissions"]
    assert perms["serviceAccount"] == "datadog/datadog-cluster-checks"
    assert perms["checks"] and all(p["allowed"] for p in perms["checks"])
    r = c.kubectl("datadog", "clusterchecks", "--fail-on", "info")
    assert r.returncode == 0, r.stdout + r.stderr


def test_healthy_operator_without_runners_is_quiet(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-operator")
    doc = _until_endpoints(c)
    assert _rows(doc) == {("redisdb", None): (N1, "dispatched"), ("nginx", N2): (N2, "dispatched"),
                          ("kubernetes_state_core", None): (None, "runs-on-dca")}
    assert doc["findings"] == [] and doc["install"]["flavor"] == "operator"


@pytest.mark.parametrize(("scenario", "runner_a"), [("clusterchecks-helm-no-runners", None),
                                                    ("clusterchecks-operator-runners",
                                                     "datadog-cluster-checks-runner-6f8d7c9b5-4hz2w")])
def test_helm_without_and_operator_with_runners_are_quiet(e2e_cluster, scenario: str, runner_a: str | None) -> None:
    c = e2e_cluster(scenario)
    doc = _until_endpoints(c)
    assert _rows(doc)[("redisdb", None)] == (runner_a or N1, "dispatched")
    assert doc["findings"] == []
    assert [w["role"] for w in doc["workers"]].count("runner") == (2 if runner_a else 0)


def test_invalid_json_annotation(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-invalid-json")
    doc = _until_endpoints(c)
    assert [(f["code"], f["object"]) for f in doc["findings"]] == [
        ("clusterchecks-annotation-invalid", "service/default/memcached")]


def test_endpoint_check_on_a_node_without_agent(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-endpoint-no-agent")
    doc = _until_endpoints(c, want=2)
    assert _rows(doc)[("nginx", TAINTED)] == (TAINTED, "no-agent")
    assert _rows(doc)[("nginx", N2)] == (N2, "dispatched")
    (finding,) = doc["findings"]
    assert finding["code"] == "clusterchecks-endpoint-no-agent" and TAINTED in finding["message"]


def test_runners_not_ready_root_cause_first(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-runners-not-ready")
    doc = _until_endpoints(c)
    assert [f["code"] for f in doc["findings"]] == [
        "clusterchecks-runners-not-ready", "clusterchecks-no-worker", "clusterchecks-zero-reporting"]
    assert doc["findings"][1]["causedBy"] == ["clusterchecks-runners-not-ready"]
    assert _rows(doc)[("redisdb", None)] == ("unassigned", "no-worker")


def test_disabled_while_annotations_exist(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-disabled")
    doc = _until_endpoints(c)
    assert [f["code"] for f in doc["findings"]] == ["clusterchecks-disabled",
                                                    "clusterchecks-endpointschecks-provider-missing"]
    assert {r["verdict"] for r in doc["configs"] if r["origin"] != "confd"} == {"not-dispatched"}
    r = c.kubectl("datadog", "clusterchecks", "--fail-on", "error")
    assert r.returncode == 3


@pytest.mark.parametrize(("scenario", "check", "verdict", "code"), [
    ("clusterchecks-check-error", "redisdb", "error", "clusterchecks-check-error"),
    ("clusterchecks-not-picked-up", "postgres", "unknown-to-dca", "clusterchecks-unknown-to-dca"),
    ("clusterchecks-warmup", "redisdb", "expected", "clusterchecks-warmup"),
])
def test_the_dca_view_against_the_api(e2e_cluster, scenario: str, check: str, verdict: str, code: str) -> None:
    c = e2e_cluster(scenario)
    doc = _until_endpoints(c)
    assert _rows(doc)[(check, None)][1] == verdict
    assert [f["code"] for f in doc["findings"]] == [code]


def test_missing_ksm_binding_is_found_by_the_real_authorizer(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-ksm-rbac")
    doc = _until_endpoints(c)
    assert [f["code"] for f in doc["findings"]] == ["clusterchecks-rbac-missing"]
    assert all(p["allowed"] is False for p in doc["kubeStateMetricsCorePermissions"]["checks"])


def test_a_dca_that_may_not_list_services_is_found_by_the_real_authorizer(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-dca-rbac")
    doc = _until_endpoints(c)
    denied = sorted(p["check"] for p in doc["clusterAgentPermissions"] if p["allowed"] is False)
    assert denied == ["list endpointslices.discovery.k8s.io", "list services",
                      "watch endpointslices.discovery.k8s.io", "watch services"]
    codes = [f["code"] for f in doc["findings"]]
    assert codes[0] == "clusterchecks-dca-rbac-missing" and codes.count("clusterchecks-unknown-to-dca") == 2
    assert all(f["causedBy"] == ["clusterchecks-dca-rbac-missing"] for f in doc["findings"][1:])


def test_viewer_without_exec_or_access_reviews_says_what_it_could_not_see(e2e_cluster) -> None:
    c = e2e_cluster("clusterchecks-helm")
    doc = _until_endpoints(c, user="viewer")
    codes = [f["code"] for f in doc["findings"]]
    # `view` may neither exec, nor read the DCA's telemetry through pods/proxy, nor create access
    # reviews: each is said by the real RBAC authorizer's answer, no verdict rests on them
    assert codes == ["rbac-forbidden", "rbac-forbidden", "clusterchecks-rbac-unchecked"], codes
    assert {f["command"] for f in doc["findings"] if f["code"] == "rbac-forbidden"} == {
        "kubectl auth can-i create pods/exec -n datadog", "kubectl auth can-i get pods/proxy -n datadog"}
    proxy = next(f for f in doc["findings"] if "pods/proxy" in f["command"])
    assert 'cannot get resource "pods/proxy"' in proxy["message"] or "pods/proxy" in proxy["message"]
    assert {r["verdict"] for r in doc["configs"]} == {"expected"}
    assert doc["dca"]["source"] is None and doc["dca"]["telemetry"]["problem"].startswith("get pods/proxy is forbidden")


def test_noexec_user_asks_the_real_proxy_and_a_failed_read_is_not_called_rbac(e2e_cluster) -> None:
    """`noexec` may get every resource, pods/proxy included, but not exec: the plugin asks the real API
    server's pods/proxy for the DCA's :5000/metrics. Nothing serves the kwok pods' fixture IPs (and the
    API server refuses to proxy to loopback pod IPs, so the harness cannot stand in for the DCA), so
    the read fails on the way to the pod: that is said as what could not be seen, with the reason,
    and is not an RBAC finding (the API server's own 403 is a Status with reason Forbidden)."""
    c = e2e_cluster("clusterchecks-telemetry")
    doc = _until_endpoints(c, "--request-timeout", "10s", user="noexec")
    codes = [f["code"] for f in doc["findings"]]
    assert [f["command"] for f in doc["findings"] if f["code"] == "rbac-forbidden"] == [
        "kubectl auth can-i create pods/exec -n datadog"], codes
    unseen = next(f for f in doc["findings"] if f["code"] == "clusterchecks-dispatch-unseen")
    assert "its telemetry: could not read it through the API server's proxy" in unseen["message"]
    telemetry = doc["dca"]["telemetry"]
    assert telemetry["port"] == 5000 and telemetry["problem"] and not telemetry["problem"].startswith("get pods/proxy is")
    assert doc["dca"]["source"] is None
    assert {r["verdict"] for r in doc["configs"]} == {"expected"}
