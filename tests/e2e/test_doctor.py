"""`doctor` on a real kube-apiserver: real RBAC for the access reviews (the scenarios' ClusterRoles
and bindings, `system:auth-delegator`), real exec of the DCA's `health` and `metamap` through kwok,
pod statuses as a kubelet writes them, and the `viewer` user's partial view."""

from __future__ import annotations

import json
from collections import Counter
from xml.etree import ElementTree as ET

import pytest

from tests.fakes import secret_values

pytestmark = pytest.mark.e2e

FAULTS = {"pod-crash-looping": "pods", "pod-oom-killed": "pods", "serviceaccount-permission-missing": "permissions",
          "old-install-leftovers": "installs", "dca-unhealthy-components": "dca-health",
          "agent-dca-version-skew": "placement"}


def run(c, *args, user="admin"):
    r = c.run(["kubectl-datadog", "doctor", *args], user=user)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def run_json(c, *args, user="admin", code=0):
    r = run(c, "-o", "json", *args, user=user)
    assert r.returncode == code, (r.stdout[-3000:], r.stderr)
    return json.loads(r.stdout)


@pytest.mark.parametrize("scenario", ["doctor-helm", "doctor-operator"])
def test_healthy_installs_report_no_warning(e2e_cluster, scenario):
    c = e2e_cluster(scenario)
    doc = run_json(c)
    assert [f for f in doc["findings"] if f["severity"] in ("warning", "error")] == [], doc["findings"]
    assert doc["notChecked"] == [] and doc["score"] == 100
    areas = {a["area"]: a for a in doc["areas"]}
    # every area really ran: access reviews answered by the apiserver's RBAC, health and metamap by exec
    assert areas["permissions"]["checks"] and areas["dca-health"]["checks"] and areas["metamap"]["checks"]
    assert areas["leader"]["verdict"] == "healthy"
    for value in secret_values(scenario):
        assert value not in json.dumps(doc)


def test_several_independent_faults_each_reported_root_cause_first(e2e_cluster):
    c = e2e_cluster("doctor-faults")
    doc = run_json(c, code=3)
    by_area = {a["area"]: {f["code"] for f in a["findings"]} for a in doc["areas"]}
    for code, area in FAULTS.items():
        assert code in by_area[area], (code, by_area)
    codes = [f["code"] for f in doc["findings"]]
    assert codes.index("pod-oom-killed") < codes.index("pod-crash-looping")
    crash = next(f for f in doc["findings"] if f["code"] == "pod-crash-looping")
    assert crash["causedBy"] == ["pod-oom-killed"]
    # the real RBAC denies what the missing auth-delegator binding would grant, and nothing else
    missing = next(f for f in doc["findings"] if f["code"] == "serviceaccount-permission-missing")
    assert "subjectaccessreviews" in missing["message"] and "tokenreviews" in missing["message"]
    assert missing["object"] == "serviceaccount/datadog/datadog-cluster-agent"
    # the table: areas, root causes first, then the symptoms' commands
    table = run(c).stdout
    assert table.index("Findings (installs):") < table.index("Findings (pods):") < table.index("Findings (dca-health):")


def test_a_runner_account_nothing_binds_is_denied_by_the_real_rbac(e2e_cluster):
    c = e2e_cluster("doctor-runner-rbac")
    doc = run_json(c, code=3)
    permissions = next(a for a in doc["areas"] if a["area"] == "permissions")
    # the apiserver's RBAC denies the runner's account (no binding names it) and nothing else
    assert [(f["code"], f["object"]) for f in permissions["findings"]] == [
        ("serviceaccount-permission-missing", "serviceaccount/datadog/datadog-cluster-checks")]
    assert "may not get endpoints" in permissions["findings"][0]["message"]


def test_an_invalid_api_key_in_the_leaders_status_read_by_real_exec(e2e_cluster):
    c = e2e_cluster("doctor-api-key-invalid")
    doc = run_json(c, code=3)
    status = next(a for a in doc["areas"] if a["area"] == "dca-status")
    assert [(f["code"], f["severity"]) for f in status["findings"]] == [("dca-api-key-invalid", "error")]
    assert status["apiKeys"] == [{"ending": "4f2a1", "status": "API Key invalid"}]


def test_degraded_pods_as_a_kubelet_and_scheduler_leave_them(e2e_cluster):
    c = e2e_cluster("doctor-degraded")
    doc = run_json(c, code=3)
    by_area = {a["area"]: {f["code"] for f in a["findings"]} for a in doc["areas"]}
    assert by_area["pods"] == {"pod-image-pull-failing", "pod-not-ready", "pod-restarting", "pod-unschedulable"}
    assert by_area["placement"] == {"dca-cpu-limited", "dca-single-replica", "image-differs-across-replicas"}


def test_junit_on_a_real_cluster(e2e_cluster):
    c = e2e_cluster("doctor-faults")
    r = run(c, "-o", "junit")
    assert r.returncode == 3, r.stderr
    root = ET.fromstring(r.stdout)
    failed = {(t.get("classname"), t.get("name")) for t in root.iter("testcase") if t.find("failure") is not None}
    assert ("pods", "daemonset/datadog/datadog") in failed
    assert ("dca-health", "pod/datadog/datadog-cluster-agent-8568545574-x9tc9") in failed


def test_view_only_user_gets_what_can_be_checked_and_what_would_allow_the_rest(e2e_cluster):
    c = e2e_cluster("doctor-helm")
    doc = run_json(c, user="viewer")
    assert [f for f in doc["findings"] if f["severity"] in ("warning", "error")] == [], doc["findings"]
    needs = Counter(u["needs"] for u in doc["notChecked"])
    assert needs["create pods/exec in datadog"] >= 3  # leader status, metamap, each DCA's health
    assert any("subjectaccessreviews" in n for n in needs)
    ran = {a["area"] for a in doc["areas"] if a["checks"]}
    assert {"installs", "pods", "placement", "leader", "env-check"} <= ran


def test_no_exec_runs_every_api_check(e2e_cluster):
    c = e2e_cluster("doctor-helm")
    doc = run_json(c, "--no-exec")
    skipped = {u["area"] for u in doc["notChecked"]}
    assert skipped == {"metamap", "dca-health", "dca-status"}
    assert [f for f in doc["findings"] if f["severity"] != "info"] == [] and doc["score"] == 100


def test_a_cluster_agent_down_leads_the_report(e2e_cluster):
    c = e2e_cluster("doctor-dca-down")
    doc = run_json(c, code=3)
    first = doc["findings"][0]
    assert (first["code"], first["object"]) == ("pod-crash-looping", "deployment/datadog/datadog-cluster-agent")
    leader = next(a for a in doc["areas"] if a["area"] == "leader")
    assert leader["findings"] and all("pod-crash-looping" in f["causedBy"] for f in leader["findings"]
                                      if f["severity"] != "info")


def test_the_same_object_is_never_fetched_twice_and_nothing_is_written(e2e_cluster):
    """The apiserver's own audit log of one doctor run (a user no other test of this file uses)."""
    c = e2e_cluster("doctor-helm")
    before = len(c.audit_events(user="nosecrets"))
    run(c, "-o", "json", user="nosecrets")
    events = c.audit_events(user="nosecrets")[before:]
    # (a streamed request, an exec, is audited at ResponseStarted too: count each request once)
    reads = Counter(e["requestURI"] for e in events if e["verb"] in ("get", "list")
                    and e.get("stage") == "ResponseComplete")
    assert reads and [uri for uri, n in reads.items() if n > 1] == []
    assert any("/exec?command=datadog-cluster-agent&command=health" in uri for uri in reads)
    # every area really read: discovery's pod lists, the lock, the PDBs, the DCA Deployment
    assert any("/pods?" in uri and "labelSelector" in uri for uri in reads)
    assert any("/configmaps/datadog-leader-election" in uri for uri in reads) or \
        any(uri.startswith("/api/v1/configmaps") for uri in reads)
    assert any("poddisruptionbudgets" in uri for uri in reads)
    writes = [(e["verb"], e.get("objectRef", {}).get("resource"), e.get("objectRef", {}).get("subresource"))
              for e in events if e["verb"] not in ("get", "list", "watch")
              and e.get("objectRef", {}).get("subresource") != "exec"
              and e.get("objectRef", {}).get("resource") not in ("subjectaccessreviews", "selfsubjectaccessreviews")]
    assert writes == []
