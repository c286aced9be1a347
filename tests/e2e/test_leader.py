"""`leader` on a real kube-apiserver: the kubernetes client, real RBAC, real exec through kwok."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def run_json(c, *args, user="admin"):
    r = c.run(["kubectl-datadog", "leader", "-o", "json", *args], user=user)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize(("scenario", "verdict"), [
    ("helm", "healthy"), ("operator", "healthy"), ("legacy", "healthy"), ("leader-lease", "healthy"),
    ("leader-stale", "stale"), ("leader-holder-gone", "holder-gone"), ("leader-no-lock", "no-leader"),
])
def test_verdicts_on_a_real_apiserver(e2e_cluster, scenario, verdict):
    c = e2e_cluster(scenario)
    doc = run_json(c)
    assert doc["verdict"] == verdict
    assert doc["install"]["flavor"] == {"operator": "operator", "legacy": "manifest"}.get(scenario, "helm")


def test_healthy_leader_exec_status_and_real_access_reviews(e2e_cluster):
    c = e2e_cluster("helm")
    doc = run_json(c)
    assert doc["status"]["ok"] is True
    assert doc["status"]["leaderElection"]["leaderName"] == "datadog-cluster-agent-8568545574-x9tc9"
    # The ClusterRole in the scenario grants everything: the real SubjectAccessReviews say so.
    assert doc["clusterAgentPermissions"] and all(p["allowed"] for p in doc["clusterAgentPermissions"])
    assert doc["findings"] == []


def test_missing_dca_rbac_is_found_by_the_real_authorizer(e2e_cluster):
    c = e2e_cluster("leader-rbac")
    doc = run_json(c)
    denied = sorted(p["check"] for p in doc["clusterAgentPermissions"] if p["allowed"] is False)
    assert denied == ["get events", "list events", 'update configmaps "datadog-leader-election" in "datadog"',
                      'update configmaps "datadogtoken" in "datadog"', "watch events"]
    assert "agents-leader-election" in {f["code"] for f in doc["findings"]}


def test_every_event_prerequisite_is_reported_by_the_real_authorizer(e2e_cluster):
    """Collection off AND no access to events: both reported, the access reviewed although collection
    is off (before: only the setting)."""
    c = e2e_cluster("leader-events-prereqs")
    doc = run_json(c)
    denied = sorted(p["check"] for p in doc["clusterAgentPermissions"] if p["allowed"] is False)
    assert denied == ["get events", "list events", "watch events"]
    codes = [f["code"] for f in doc["findings"]]
    assert "events-collection-disabled" in codes and codes.count("dca-rbac-missing") == 3


def test_a_stale_lock_names_the_holders_notready_node_and_the_unready_replica(e2e_cluster):
    c = e2e_cluster("leader-stale-node-notready")
    doc = run_json(c)
    assert doc["verdict"] == "stale"
    (f,) = [f for f in doc["findings"] if f["code"] == "leader-stale"]
    assert "runs on the node gke-test-default-pool-068cb9c0-wntj, which is NotReady" in f["message"]
    assert "datadog-cluster-agent-8568545574-q2m7d is Running, not Ready" in f["message"]


def test_a_setting_from_a_secret_the_viewer_cannot_read_is_unknown(e2e_cluster):
    c = e2e_cluster("leader-setting-unreadable")
    doc = run_json(c, user="viewer")  # view: no secrets
    codes = {f["code"] for f in doc["findings"]}
    assert "dca-setting-unknown" in codes and "leader-election-disabled" not in codes
    assert doc["verdict"] == "healthy"  # the lock the harness renews, not the setting
    admin = run_json(c)  # may read the Secret: the setting is known and true
    assert "dca-setting-unknown" not in {f["code"] for f in admin["findings"]}
    assert admin["install"]["settings"]["leaderElection"] is True


def test_restricted_users_get_findings_not_crashes(e2e_cluster):
    c = e2e_cluster("helm")
    viewer = run_json(c, user="viewer")  # view: no pods/exec, no access reviews
    codes = {f["code"] for f in viewer["findings"]}
    assert viewer["verdict"] == "healthy" and {"exec-failed", "dca-rbac-unchecked"} <= codes
    assert any('pods/exec' in f["message"] for f in viewer["findings"] if f["code"] == "exec-failed")
    noexec = run_json(c, user="noexec")
    assert "exec-failed" in {f["code"] for f in noexec["findings"]}


def test_through_real_kubectl_plugin_mechanism(e2e_cluster):
    c = e2e_cluster("helm")
    r = c.kubectl("datadog", "leader", "--no-headers")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:3] == ["datadog", "configmap/datadog-leader-election",
                                    "datadog-cluster-agent-8568545574-x9tc9"]


def test_check_that_failed_to_load_fails_on_warning(e2e_cluster):
    """The leader's status (rendered from the DCA's own templates) lists kubernetes_apiserver only
    under Loading Errors: no events are collected, and `--fail-on warning` exits 3."""
    c = e2e_cluster("leader-check-not-loaded")
    r = c.run(["kubectl-datadog", "leader", "-o", "json", "--fail-on", "warning"])
    assert r.returncode == 3, r.stderr
    [f] = [f for f in json.loads(r.stdout)["findings"] if f["code"] == "events-check-not-loaded"]
    assert "Could not configure check kubernetes_apiserver" in f["message"]


def test_legacy_html_escaped_status_is_read(e2e_cluster):
    c = e2e_cluster("legacy")
    doc = run_json(c)
    assert doc["status"]["leaderElection"]["leaderName"] == "datadog-cluster-agent-8568545574-x9tc9"
    assert doc["status"]["leaderElection"]["status"] == "Running"


def test_fail_on_exit_code(e2e_cluster):
    c = e2e_cluster("leader-stale")
    r = c.run(["kubectl-datadog", "leader", "--fail-on", "error"])
    assert r.returncode == 3 and "leader-stale" in r.stdout


def test_read_only_in_the_audit_log(e2e_cluster):
    c = e2e_cluster("helm")
    c.run(["kubectl-datadog", "leader"], user="nosecrets")
    events = c.audit_events(user="nosecrets")
    assert events
    bad = [(e["verb"], e.get("objectRef", {}).get("resource"), e.get("objectRef", {}).get("subresource"))
           for e in events
           if e["verb"] not in ("get", "list", "watch")
           and not (e["verb"] == "create" and e.get("objectRef", {}).get("subresource") == "exec")
           and e.get("objectRef", {}).get("resource") not in ("subjectaccessreviews", "selfsubjectaccessreviews")]
    assert bad == []


def _variant_kubeconfig(c, tmp_path, mutate):
    import yaml

    cfg = yaml.safe_load(open(c.kubeconfig("admin")))
    mutate(cfg)
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_expired_credentials_are_one_line_401(e2e_cluster, tmp_path):
    c = e2e_cluster("helm")

    def bogus_token(cfg):
        for u in cfg["users"]:
            u["user"] = {"token": "expired-or-revoked"}

    r = c.run(["kubectl-datadog", "leader", "--kubeconfig", _variant_kubeconfig(c, tmp_path, bogus_token)])
    assert r.returncode == 1
    assert r.stderr.strip() == ("error: the API server rejected the credentials (401 Unauthorized) "
                                "(the token or certificate may have expired; log in again)")


def test_tls_failure_is_one_line(e2e_cluster, tmp_path):
    c = e2e_cluster("helm")

    def drop_ca(cfg):
        for cl in cfg["clusters"]:
            cl["cluster"].pop("certificate-authority-data", None)
            cl["cluster"].pop("certificate-authority", None)

    r = c.run(["kubectl-datadog", "leader", "--kubeconfig", _variant_kubeconfig(c, tmp_path, drop_ca)])
    assert r.returncode == 1
    line = r.stderr.strip()
    assert line.startswith("error: TLS handshake with https://127.0.0.1:") and "certificate" in line
    assert "\n" not in line and "Traceback" not in line
