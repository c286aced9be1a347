"""`leader` through the real CLI boundary on FakeCluster scenarios: verdicts, goldens, exit codes."""

from __future__ import annotations

import pytest

from tests.conftest import invoke_cli
from tests.fakes import FakeCluster, secret_values, writes

FORMATS = ["table", "wide", "json", "yaml"]
VERDICTS = {
    "helm": "healthy",
    "operator": "healthy",
    "legacy": "healthy",
    "leader-lease": "healthy",
    "leader-stale": "stale",
    "leader-no-lock": "no-leader",
    "leader-holder-gone": "holder-gone",
    "leader-holder-not-ready": "holder-not-ready",
    "leader-flapping": "flapping",
    "leader-disabled": "disabled",
    "leader-forbidden": "unknown",
    "leader-rbac": "healthy",
    "leader-noexec": "healthy",
    "leader-kind-mismatch": "healthy",
    "leader-second-lock": "healthy",
    "leader-status-failing": "healthy",
    "leader-check-not-loaded": "healthy",
    "helm-agents": "healthy",
    "leader-without-dca-stale": "stale",
    "leader-without-dca-holder-gone": "holder-gone",
    "leader-without-dca-rbac": "stale",
    "leftovers-only": "no-install",
    "leader-events-prereqs": "healthy",
    "leader-stale-node-notready": "stale",
    "leader-setting-unreadable": "healthy",
    "leader-setting-unreadable-no-lock": "unknown",
}


@pytest.mark.parametrize("scenario", sorted(VERDICTS))
def test_verdict(scenario: str) -> None:
    r = invoke_cli("leader", "-o", "json", scenario=scenario)
    assert r.exit_code == 0, r.stderr
    assert r.json["verdict"] == VERDICTS[scenario]
    assert r.json["kind"] == "LeaderReport" and r.json["apiVersion"] == "kubectl-datadog/v1alpha1"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", sorted(VERDICTS))
def test_golden(scenario: str, fmt: str, golden) -> None:
    r = invoke_cli("leader", "-o", fmt, scenario=scenario)
    assert r.exit_code == 0
    assert r.stderr == ""
    golden.check(f"leader/{scenario}.{fmt}", r.stdout)


@pytest.mark.parametrize("scenario", sorted(VERDICTS))
def test_read_only_and_no_secrets(scenario: str) -> None:
    r = invoke_cli("leader", "-o", "yaml", scenario=scenario)
    assert writes(r.fake.calls) == []
    for value in secret_values(scenario):
        assert value not in r.stdout and value not in r.stderr


def test_lease_lock_is_read_from_the_lease_not_the_empty_configmap() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="leader-lease")
    assert r.json["lock"]["kind"] == "Lease"
    assert r.json["lock"]["holderIdentity"] == "datadog-cluster-agent-8568545574-x9tc9"


def test_wide_lists_every_replica_with_its_role() -> None:
    r = invoke_cli("leader", "-o", "wide", scenario="helm")
    rows = [line.split() for line in r.stdout.splitlines() if line.startswith("datadog-cluster-agent-")]
    assert {(row[0], row[3]) for row in rows} == {("datadog-cluster-agent-8568545574-x9tc9", "leader"),
                                                  ("datadog-cluster-agent-8568545574-q2m7d", "follower")}


def test_exec_reads_the_leaders_status() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="helm")
    assert r.json["status"]["leaderElection"]["status"] == "Running"
    execs = [c for c in r.fake.calls if c.resource == "pods/exec"]
    assert [(c.name, c.detail) for c in execs] == [("datadog-cluster-agent-8568545574-x9tc9",
                                                    "datadog-cluster-agent status")]


def test_no_exec_keeps_it_api_only() -> None:
    r = invoke_cli("leader", "--no-exec", "-o", "json", scenario="helm")
    assert r.json["status"] is None
    assert not [c for c in r.fake.calls if c.resource == "pods/exec"]


def test_denied_exec_is_a_finding_not_a_crash() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="leader-noexec")
    assert r.exit_code == 0
    codes = {f["code"]: f for f in r.json["findings"]}
    assert "exec-failed" in codes and "pods/exec" in codes["exec-failed"]["message"]


def test_falls_back_to_agent_binary_when_the_image_has_no_datadog_cluster_agent() -> None:
    # The operator fixture's DCA image only answers `agent status` (as the current docs run it).
    r = invoke_cli("leader", "-o", "json", scenario="operator")
    assert r.json["status"]["command"] == ["agent", "status"]
    assert r.json["status"]["leaderElection"]["leaderName"] == "datadog-cluster-agent-8568545574-x9tc9"
    tried = [c.detail for c in r.fake.calls if c.resource == "pods/exec"]
    assert tried == ["datadog-cluster-agent status", "agent status"]


def test_discovery_reads_the_lock_name_from_the_dca_env() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="helm")
    gets = {(c.resource, c.name) for c in r.fake.calls if c.verb == "get"}
    assert ("configmaps", "datadog-leader-election") in gets
    assert r.json["install"]["flavor"] == "helm"


@pytest.mark.parametrize(("scenario", "fail_on", "code"), [
    ("helm", "error", 0), ("helm", "info", 0), ("leader-stale", "error", 3), ("leader-stale", "never", 0),
    ("leader-flapping", "error", 0), ("leader-flapping", "warning", 3), ("leader-forbidden", "info", 3),
])
def test_fail_on_exit_codes(scenario: str, fail_on: str, code: int) -> None:
    assert invoke_cli("leader", "--fail-on", fail_on, scenario=scenario).exit_code == code


def test_leader_flags_on_agents_and_rbac() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="leader-rbac")
    codes = sorted(f["code"] for f in r.json["findings"])
    # update on the lock, update on the token ConfigMap, and watch, list, get events
    assert codes == ["agents-leader-election"] + ["dca-rbac-missing"] * 5
    assert any("watch events" in f["message"] for f in r.json["findings"])


def test_every_event_collection_prerequisite_is_reported_whatever_the_others_say() -> None:
    """Collection off does not hide the missing access to events (before: only the setting, and the
    access review for events was not even made)."""
    r = invoke_cli("leader", "-o", "json", scenario="leader-events-prereqs")
    by_code: dict[str, list[dict]] = {}
    for f in r.json["findings"]:
        by_code.setdefault(f["code"], []).append(f)
    assert by_code["events-collection-disabled"][0]["severity"] == "info"
    missing = {f["message"].split(" cannot ")[1].split(":")[0] for f in by_code["dca-rbac-missing"]}
    assert missing == {"watch events", "list events", "get events"}
    assert {f["severity"] for f in by_code["dca-rbac-missing"]} == {"warning"}
    checked = {p["check"] for p in r.json["clusterAgentPermissions"]}
    assert {"watch events", "list events", "get events"} <= checked
    # leader election off too: reported besides the others
    d = invoke_cli("leader", "-o", "json", scenario="leader-disabled")
    assert {"leader-election-disabled", "events-collection-disabled"} <= {f["code"] for f in d.json["findings"]}


@pytest.mark.parametrize("scenario", ["leader-setting-unreadable", "leader-setting-unreadable-no-lock"])
def test_a_setting_from_an_unreadable_secret_is_unknown_not_false(scenario: str) -> None:
    """Before: DD_LEADER_ELECTION from a Secret we may not read became false, an ERROR
    leader-election-disabled; now it is its own finding naming the failed read, and no verdict rests
    on it (without a lock: unknown, not no-leader)."""
    r = invoke_cli("leader", "-o", "json", scenario=scenario)
    codes = {f["code"] for f in r.json["findings"]}
    assert "leader-election-disabled" not in codes and "leader-no-lock" not in codes
    (f,) = [f for f in r.json["findings"] if f["code"] == "dca-setting-unknown"]
    assert f["message"].startswith("DD_LEADER_ELECTION is unknown: the Cluster Agent takes it from secret "
                                   "datadog/datadog-cluster-agent-settings key leader-election")
    assert 'cannot get secrets "datadog-cluster-agent-settings"' in f["message"]
    assert f["command"] == "kubectl auth can-i get secrets/datadog-cluster-agent-settings -n datadog"
    assert r.json["install"]["settings"]["unknown"][0]["name"] == "DD_LEADER_ELECTION"


def test_a_stale_lock_says_what_happened_to_its_holder_and_why_nobody_took_over() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="leader-stale-node-notready")
    (f,) = [f for f in r.json["findings"] if f["code"] == "leader-stale"]
    assert "runs on the node gke-test-default-pool-068cb9c0-wntj, which is NotReady" in f["message"]
    assert "datadog-cluster-agent-8568545574-q2m7d is Running, not Ready" in f["message"]
    assert "drain" in f["hint"]
    rbac = invoke_cli("leader", "-o", "json", scenario="leader-without-dca-rbac")
    (f,) = [f for f in rbac.json["findings"] if f["code"] == "leader-stale"]
    assert 'cannot update configmaps "datadog-leader-election"' in f["message"]
    assert f["causedBy"] == ["agent-rbac-missing"]
    codes = [g["code"] for g in rbac.json["findings"]]
    assert codes.index("agent-rbac-missing") < codes.index("leader-stale")


@pytest.mark.parametrize(("scenario", "codes"), [
    ("leader-kind-mismatch", ["leader-lock-kind-mismatch"]),
    ("leader-second-lock", ["leader-second-lock-active"]),
    ("leader-status-failing", ["dca-leader-election-failing", "events-check-error"]),
])
def test_findings_beyond_the_verdict(scenario: str, codes: list[str]) -> None:
    r = invoke_cli("leader", "-o", "json", scenario=scenario)
    assert sorted(f["code"] for f in r.json["findings"]) == codes


def test_kind_mismatch_reports_the_lock_that_holds_the_leadership() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="leader-kind-mismatch")
    assert r.json["configuredLockKind"] == "Lease" and r.json["lock"]["kind"] == "ConfigMap"


def test_discovery_costs_three_pod_lists_with_set_based_selectors() -> None:
    r = invoke_cli("leader", "--no-exec", scenario="helm")
    lists = sorted(c.detail for c in r.fake.calls if c.verb == "list" and c.resource == "pods")
    assert lists == ["agent.datadoghq.com/component in (cluster-agent,agent)|",
                     "app in (datadog-cluster-agent,datadog-agent)|",
                     "app.kubernetes.io/component in (cluster-agent,agent)|"]


def test_custom_selectors_are_used_as_given() -> None:
    r = invoke_cli("leader", "--no-exec", "--dca-selector", "app=datadog-cluster-agent", "-o", "json",
                   scenario="helm")
    assert r.json["verdict"] == "healthy"
    lists = {c.detail for c in r.fake.calls if c.verb == "list" and c.resource == "pods"}
    assert "app=datadog-cluster-agent|" in lists and "agent.datadoghq.com/component=agent|" in lists


def test_check_that_failed_to_load_means_no_events() -> None:
    """kubernetes_apiserver listed only under Loading Errors (rendered from the DCA's own template):
    reported as not loaded, with its error, and it fails `--fail-on warning`."""
    r = invoke_cli("leader", "-o", "json", "--fail-on", "warning", scenario="leader-check-not-loaded")
    assert r.exit_code == 3, r.stderr
    [f] = [f for f in r.json["findings"] if f["code"] == "events-check-not-loaded"]
    assert f["severity"] == "warning" and "no events are collected" in f["message"]
    assert "Could not configure check kubernetes_apiserver" in f["message"]
    assert invoke_cli("leader", "-o", "json", "--fail-on", "warning", scenario="helm").exit_code == 0


# --- installs without a Cluster Agent (Helm clusterAgent.enabled=false) ----------------------------

def test_agent_side_election_is_recognised_and_shows_the_node_agent_holder() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="helm-agents")
    assert r.json["elector"] == "node-agents" and r.json["verdict"] == "healthy"
    assert r.json["install"]["clusterAgentPods"] == []
    assert [(p["name"], p["node"], p["ready"], p["role"]) for p in r.json["replicas"]] == [
        ("datadog-9d5bl", "gke-test-default-pool-068cb9c0-sf1w", True, "leader")]
    # One line says there is no Cluster Agent; nothing else, and no DCA error.
    assert [(f["code"], f["severity"]) for f in r.json["findings"]] == [("no-cluster-agent", "info")]
    assert "no Cluster Agent" in r.json["findings"][0]["message"]
    # The node Agent's own settings name the lock: the Agent default, not the DCA's <fullname>-leader-election.
    assert r.json["lock"]["name"] == "datadog-leader-election" and r.json["lock"]["kind"] == "ConfigMap"
    assert not [c for c in r.fake.calls if c.resource == "pods/exec"]


def test_agent_side_holder_is_shown_without_wide() -> None:
    r = invoke_cli("leader", scenario="helm-agents")
    lines = r.stdout.splitlines()
    assert "LEADER (NODE AGENT)" in lines
    holder = lines[lines.index("LEADER (NODE AGENT)") + 2].split()
    assert holder[:5] == ["datadog-9d5bl", "2/2", "Running", "leader", "gke-test-default-pool-068cb9c0-sf1w"]
    assert "CLUSTER AGENT REPLICAS" not in r.stdout


@pytest.mark.parametrize(("scenario", "code", "needle"), [
    ("leader-without-dca-stale", "leader-stale", "datadog-9d5bl last renewed the lock 5m ago"),
    ("leader-without-dca-holder-gone", "leader-holder-gone", "datadog-zz9k2 is not a current node Agent pod"),
])
def test_agent_side_stale_lock_and_gone_holder_are_still_errors(scenario: str, code: str, needle: str) -> None:
    r = invoke_cli("leader", "-o", "json", "--fail-on", "error", scenario=scenario)
    assert r.exit_code == 3
    errors = [f for f in r.json["findings"] if f["severity"] == "error"]
    assert [f["code"] for f in errors] == [code] and needle in errors[0]["message"]
    assert "Cluster Agent" not in errors[0]["message"] and "DCA" not in errors[0]["hint"]
    assert {f["code"] for f in r.json["findings"]} == {code, "no-cluster-agent"}


def test_agent_side_expiry_uses_the_same_rule_as_the_dca() -> None:
    agents = invoke_cli("leader", "-o", "json", scenario="leader-without-dca-stale").json
    dca = invoke_cli("leader", "-o", "json", scenario="leader-stale").json
    for doc in (agents, dca):
        renewed = doc["lock"]["renewTime"]
        assert doc["expires"] > renewed and doc["verdict"] == "stale"
    assert agents["expires"] == "2026-11-27T11:56:00Z"  # renewed 11:55:00 + the 60 s lease it wrote


def test_agents_without_dca_and_without_election_are_one_info_line() -> None:
    fake = FakeCluster.from_scenario("helm-agents")
    for obj in fake.objects:
        if obj.get("kind") == "Pod":
            for c in obj["spec"]["containers"]:
                c["env"] = [e for e in c.get("env", []) if not e["name"].startswith("DD_LEADER_")]
    r = invoke_cli("leader", "-o", "json", fake=fake)
    assert r.exit_code == 0 and r.json["elector"] == "none" and r.json["verdict"] == "disabled"
    assert [(f["code"], f["severity"]) for f in r.json["findings"]] == [("no-cluster-agent", "info")]
    assert "do not run leader election" in r.json["findings"][0]["message"]


def test_agents_competing_with_a_dca_are_still_warned() -> None:
    r = invoke_cli("leader", "-o", "json", scenario="env-leader-election")
    assert r.json["elector"] == "cluster-agent"
    assert "agents-leader-election" in {f["code"] for f in r.json["findings"]}
    assert "no-cluster-agent" not in {f["code"] for f in r.json["findings"]}


def test_leftovers_only_is_one_finding_and_no_leader_verdict() -> None:
    r = invoke_cli("leader", "-o", "json", "--fail-on", "warning", scenario="leftovers-only")
    assert r.exit_code == 3 and r.stderr == ""
    assert r.json["install"] is None and r.json["verdict"] == "no-install"
    assert [f["code"] for f in r.json["findings"]] == ["install-leftovers-only"]
    message = r.json["findings"][0]["message"]
    for ref in ("configmap/datadog/datadog-leader-election", "configmap/datadog/datadogtoken",
                "secret/datadog/datadog-cluster-agent", "apiservice/v1beta1.external.metrics.k8s.io"):
        assert ref in message
    assert "No Cluster Agent pod and no node Agent pod" in message
    assert {lo["role"] for lo in r.json["leftovers"]} == {"leader-lock", "event-token", "cluster-agent-token",
                                                          "external-metrics-apiservice"}


def test_agent_side_rbac_is_checked_for_the_node_agents_service_account() -> None:
    fake = FakeCluster.from_scenario("leader-without-dca-stale")
    fake.scenario["accessReviews"] = {"deny": ['update configmaps "datadog-leader-election"']}
    r = invoke_cli("leader", "-o", "json", fake=fake)
    assert r.json["clusterAgentPermissions"] == []
    denied = [p["check"] for p in r.json["nodeAgentPermissions"] if p["allowed"] is False]
    assert denied == ['update configmaps "datadog-leader-election" in "datadog"']
    missing = [f for f in r.json["findings"] if f["code"] == "agent-rbac-missing"]
    assert [(f["object"], f["severity"]) for f in missing] == [("serviceaccount/datadog/datadog", "error")]
    assert missing[0]["command"].endswith("--as system:serviceaccount:datadog:datadog")
    assert "dca-rbac-missing" not in {f["code"] for f in r.json["findings"]}
    fake = FakeCluster.from_scenario("helm-agents")
    fake.scenario["accessReviews"] = {"unavailable": True}
    codes = {f["code"] for f in invoke_cli("leader", "-o", "json", fake=fake).json["findings"]}
    assert codes == {"no-cluster-agent", "agent-rbac-unchecked"}


def test_access_reviews_overlap_the_leaders_status_exec() -> None:
    """The DCA's access reviews need not finish before the leader's `status` exec starts (issue 18:
    on a distant cluster each is a round trip or more). Here they answer only once the exec has
    started: a collection that waited for them first would time out instead."""
    import threading

    from tests.fakes import FakeCluster

    class ReviewsAfterExec(FakeCluster):
        exec_started = threading.Event()

        def exec(self, *args, **kwargs):
            self.exec_started.set()
            return super().exec(*args, **kwargs)

        def access(self, checks):
            if checks:
                assert self.exec_started.wait(10), "the access reviews were awaited before the exec started"
            return super().access(checks)

    fake = ReviewsAfterExec.from_scenario("helm")
    r = invoke_cli("leader", "-o", "json", fake=fake)
    assert r.exit_code == 0, r.stderr
    assert r.json["verdict"] == "healthy"
    assert any(c.resource == "pods/exec" for c in fake.calls)
    assert any(c.resource == "subjectaccessreviews" for c in fake.calls)
