"""Installs without a Cluster Agent, on a real kube-apiserver: node Agents that elect their own
leader (the Helm chart's clusterAgent.enabled=false render), a Cluster Agent without node Agents,
and an install known only by what it left behind. Real RBAC, real exec through kwok, the real
aggregator's view of an APIService whose Service is gone."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def run_json(c, command, *args, user="admin", code=0):
    r = c.run(["kubectl-datadog", command, "-o", "json", *args], user=user)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == code, (r.stdout[-3000:], r.stderr)
    return json.loads(r.stdout)


def codes(doc):
    return [f["code"] for f in doc["findings"]]


@pytest.mark.parametrize("user", ["admin", "viewer"])
def test_agent_side_election_is_healthy_with_one_info_line(e2e_cluster, user):
    c = e2e_cluster("helm-agents")
    doc = run_json(c, "leader", "--fail-on", "warning", user=user)
    assert doc["elector"] == "node-agents" and doc["verdict"] == "healthy"
    assert doc["lock"]["name"] == "datadog-leader-election" and doc["lock"]["holderIdentity"] == "datadog-9d5bl"
    assert [(p["name"], p["node"], p["ready"], p["role"]) for p in doc["replicas"]] == [
        ("datadog-9d5bl", "gke-test-default-pool-068cb9c0-sf1w", True, "leader")]
    if user == "admin":  # the real SubjectAccessReviews against the chart's Agent ClusterRole
        assert codes(doc) == ["no-cluster-agent"]
        assert doc["nodeAgentPermissions"] and all(p["allowed"] for p in doc["nodeAgentPermissions"])
    else:  # view may not create access reviews: said, not guessed
        assert codes(doc) == ["agent-rbac-unchecked", "no-cluster-agent"]


def test_agent_side_missing_rbac_is_found_by_the_real_authorizer(e2e_cluster):
    c = e2e_cluster("leader-without-dca-rbac")
    doc = run_json(c, "leader")
    assert doc["verdict"] == "stale"
    denied = [p["check"] for p in doc["nodeAgentPermissions"] if p["allowed"] is False]
    assert denied == ['update configmaps "datadog-leader-election" in "datadog"']
    assert sorted(codes(doc)) == ["agent-rbac-missing", "leader-stale", "no-cluster-agent"]


def test_agent_side_holder_in_the_table(e2e_cluster):
    c = e2e_cluster("helm-agents")
    r = c.kubectl("datadog", "leader")
    assert r.returncode == 0, r.stderr
    assert "LEADER (NODE AGENT)" in r.stdout and "datadog-9d5bl" in r.stdout
    assert "ERROR" not in r.stdout and "dca-not-found" not in r.stdout


@pytest.mark.parametrize(("scenario", "verdict", "code", "holder"), [
    ("leader-without-dca-stale", "stale", "leader-stale", "datadog-9d5bl"),
    ("leader-without-dca-holder-gone", "holder-gone", "leader-holder-gone", "datadog-zz9k2"),
])
def test_agent_side_stale_lock_and_gone_holder(e2e_cluster, scenario, verdict, code, holder):
    c = e2e_cluster(scenario)
    doc = run_json(c, "leader", "--fail-on", "error", code=3)
    assert doc["elector"] == "node-agents" and doc["verdict"] == verdict
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert [f["code"] for f in errors] == [code] and holder in errors[0]["message"]
    assert "Cluster Agent" not in errors[0]["message"]


def test_env_check_on_agents_without_a_dca(e2e_cluster):
    c = e2e_cluster("helm-agents")
    doc = run_json(c, "env-check")
    assert {a["verdict"] for a in doc["agents"]} == {"dca-disabled"} and len(doc["agents"]) == 2
    assert doc["findings"] == []


def test_env_check_on_a_dca_without_node_agents(e2e_cluster):
    c = e2e_cluster("env-dca-only")
    doc = run_json(c, "env-check")
    assert doc["agents"] == [] and codes(doc) == ["no-node-agents"]
    assert run_json(c, "env-check", "--fail-on", "warning", code=3)["agents"] == []
    r = c.run(["kubectl-datadog", "env-check", "--node", "gke-test-default-pool-068cb9c0-sf1w"])
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: no node Agent pod found on node gke-test-default-pool-068cb9c0-sf1w")


def test_every_command_on_leftovers_only_is_one_finding(e2e_cluster):
    c = e2e_cluster("leftovers-only")
    leader = run_json(c, "leader")
    assert leader["install"] is None and leader["verdict"] == "no-install"
    assert codes(leader) == ["install-leftovers-only"]
    found = {lo["object"]: lo for lo in leader["leftovers"]}
    assert set(found) == {"apiservice/v1beta1.external.metrics.k8s.io", "configmap/datadog/datadog-leader-election",
                          "configmap/datadog/datadogtoken", "secret/datadog/datadog-cluster-agent"}
    assert found["apiservice/v1beta1.external.metrics.k8s.io"]["detail"].endswith("which does not exist")
    env = run_json(c, "env-check")
    assert env["agents"] == [] and codes(env) == ["install-leftovers-only"]
    metamap = run_json(c, "metamap", "--source", "dca")
    assert codes(metamap) == ["install-leftovers-only"]
    hpa = run_json(c, "hpa-explain", "nginxext", "-n", "default")
    assert codes(hpa) == ["install-leftovers-only"]
    assert hpa["hpas"][0]["verdict"] == "install-leftovers-only"


def test_leftovers_without_secret_access_still_say_what_was_found(e2e_cluster):
    c = e2e_cluster("leftovers-only")
    doc = run_json(c, "leader", user="viewer")  # view: no secrets
    assert codes(doc) == ["install-leftovers-only"]
    assert "configmap/datadog/datadog-leader-election" in {lo["object"] for lo in doc["leftovers"]}
    assert "secret/datadog/datadog-cluster-agent" not in {lo["object"] for lo in doc["leftovers"]}


def test_read_only_in_the_audit_log(e2e_cluster):
    c = e2e_cluster("leftovers-only")
    for command in ("leader", "env-check"):
        c.run(["kubectl-datadog", command], user="nosecrets")
    events = c.audit_events(user="nosecrets")
    assert events
    assert not [e for e in events if e["verb"] not in ("get", "list", "watch")]
