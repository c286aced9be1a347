"""`env-check` on a real kube-apiserver: the kubernetes client, real RBAC (viewer/noexec/nosecrets),
real exec and logs through kwok, EndpointSlices written by the real controllers."""

from __future__ import annotations

import json

import pytest

from tests.fakes import secret_values

pytestmark = pytest.mark.e2e


def run(c, *args, user="admin"):
    r = c.run(["kubectl-datadog", "env-check", *args], user=user)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def run_json(c, *args, user="admin", code=0):
    r = run(c, "-o", "json", *args, user=user)
    assert r.returncode == code, (r.stdout[-3000:], r.stderr)
    return json.loads(r.stdout)


@pytest.mark.parametrize(("scenario", "code", "verdicts", "finding"), [
    ("env-helm", 0, {"ok"}, None),
    ("env-operator", 0, {"ok"}, None),
    ("env-token-short", 3, {"error"}, "token-too-short"),
    ("env-token-short-mismatch", 3, {"error"}, "token-mismatch"),
    ("env-token-mismatch", 3, {"error"}, "token-mismatch"),
    ("env-token-retry-delay", 3, {"error"}, "agent-dca-refused"),
    ("env-status-silent", 3, {"error"}, "agent-status-silent"),
    ("env-service-late", 3, {"error"}, "agent-service-links-missing"),
    ("env-wrong-service-name", 3, {"error"}, "agent-dca-service-missing"),
    ("env-no-endpoints", 3, {"error"}, "dca-service-selector-mismatch"),
    ("env-wrong-port", 3, {"error"}, "dca-service-wrong-port"),
    ("env-url-port", 3, {"error"}, "dca-url-port-not-served"),
    ("env-dca-disabled", 3, {"error"}, "agent-dca-disabled"),
    ("env-two-installs", 3, {"ok", "error"}, "agent-dca-other-install"),
])
def test_verdicts_on_a_real_apiserver(e2e_cluster, scenario, code, verdicts, finding):
    c = e2e_cluster(scenario)
    doc = run_json(c, code=code)
    assert {a["verdict"] for a in doc["agents"]} == verdicts
    if finding:
        assert finding in {f["code"] for f in doc["findings"]}
    else:
        assert doc["findings"] == []
    # exec really ran through kwok (an Agent with the DCA disabled is not asked)
    expected = {None} if scenario == "env-dca-disabled" else {"yes", "no"}
    assert {a["connected"] for a in doc["agents"]} <= expected, doc["findings"]


@pytest.mark.parametrize(("scenario", "codes", "source"), [
    ("env-token-mismatch", {"agent-dca-refused"}, ""),
    ("env-token-retry-delay", {"agent-dca-refused"}, "its status only says \"try delay not elapsed yet\""),
    ("env-status-silent", {"agent-status-silent", "agent-dca-refused"}, "its status section is empty"),
])
def test_refusal_at_first_contact_read_from_status_or_log(e2e_cluster, scenario, codes, source):
    """The Agents' status text is rendered from the Agent's own template: a 403 at first contact is a
    refusal (tokens differ), not "endpoint not detected"; a hidden cause comes from the real log."""
    c = e2e_cluster(scenario)
    doc = run_json(c, code=3)
    found = {f["code"]: f["message"] for f in doc["findings"]}
    assert codes <= set(found) and "agent-dca-not-detected" not in found
    refused = found["agent-dca-refused"]
    assert "refused at first contact: 403 Forbidden" in refused
    assert refused.endswith(f"(from the Agent's log: {source})") if source else "Agent's log" not in refused
    assert {a["connected"] for a in doc["agents"]} == {"no"}


def test_healthy_endpoint_is_the_real_cluster_ip(e2e_cluster):
    c = e2e_cluster("env-helm")
    doc = run_json(c)
    ip = c.cluster_ip("datadog", "datadog-cluster-agent")
    assert {a["endpoint"]["url"] for a in doc["agents"]} == {f"https://{ip}:5005"}
    assert {a["tagCollector"] for a in doc["agents"]} == {"connected"}
    assert {a["token"] for a in doc["agents"]} == {"ok"}


def test_restricted_users_get_findings_not_crashes(e2e_cluster):
    c = e2e_cluster("env-helm")
    viewer = run_json(c, user="viewer")  # no secrets, no pods/exec
    codes = {f["code"]: f for f in viewer["findings"]}
    assert "rbac-forbidden" in codes
    msgs = [f["message"] for f in viewer["findings"] if f["code"] == "rbac-forbidden"]
    assert any("cannot get secrets in the namespace datadog" in m for m in msgs)
    assert any("pods/exec" in m for m in msgs)
    assert {a["token"] for a in viewer["agents"]} == {"forbidden"}
    nosecrets = run_json(c, user="nosecrets")
    assert {a["connected"] for a in nosecrets["agents"]} == {"yes"}
    r = run(c, "--fail-on", "warning", user="viewer")
    assert r.returncode == 3


def test_no_secret_value_in_any_output(e2e_cluster):
    c = e2e_cluster("env-token-mismatch")
    values = secret_values("env-token-mismatch")
    for fmt in ("wide", "json", "yaml"):
        r = run(c, "-o", fmt)
        for v in values:
            assert v not in r.stdout and v not in r.stderr


def test_node_selection_and_wide_table(e2e_cluster):
    c = e2e_cluster("env-helm")
    r = run(c, "--node", "gke-test-default-pool-068cb9c0-wntj", "-o", "wide", "--no-headers")
    assert r.returncode == 0, r.stderr
    (line,) = [ln for ln in r.stdout.splitlines() if ln.startswith("gke-")]
    assert line.split()[1] == "datadog-k4x2n" and "service-links" in line


def test_through_real_kubectl_plugin_mechanism(e2e_cluster):
    c = e2e_cluster("env-helm")
    r = c.kubectl("datadog", "env-check", "--no-headers")
    assert r.returncode == 0, r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("gke-")]
    assert [row[1] for row in rows] == ["datadog-9d5bl", "datadog-k4x2n"]
    assert {row[-1] for row in rows} == {"ok"}


def test_read_only_in_the_audit_log(e2e_cluster):
    c = e2e_cluster("env-helm")
    run(c, user="nosecrets")
    events = c.audit_events(user="nosecrets")
    assert events
    bad = [(e["verb"], e.get("objectRef", {}).get("resource"), e.get("objectRef", {}).get("subresource"))
           for e in events if e["verb"] not in ("get", "list", "watch")
           and e.get("objectRef", {}).get("subresource") != "exec"]
    assert bad == []


def test_agents_whose_own_view_cannot_be_read_are_unknown_not_ok(e2e_cluster):
    """`nsreader` reads the install's namespace but may neither exec into the Agents nor read their logs
    (the scenario's Role, enforced by the real apiserver): the specs look right, nothing says the Agents
    reach the DCA, so they are counted unknown."""
    c = e2e_cluster("env-agents-unread")
    doc = run_json(c, "--install-namespace", "datadog", user="nsreader")
    assert doc["summary"] == {"agents": 2, "ok": 0, "warning": 0, "error": 0, "unknown": 2, "dca-disabled": 0}
    missing = {f["command"] for f in doc["findings"] if f["code"] == "rbac-forbidden"}
    assert {"kubectl auth can-i create pods/exec -n datadog", "kubectl auth can-i get pods/log -n datadog"} <= missing
    r = run(c, "--install-namespace", "datadog", user="nsreader")
    assert "0 ok, 0 warning, 0 error, 2 unknown (their own view could not be read)" in r.stdout
    assert run_json(c, "--install-namespace", "datadog", "--no-exec", user="nsreader")["summary"]["ok"] == 2


def test_a_url_port_the_dca_service_does_not_expose_is_found_without_exec(e2e_cluster):
    """DD_CLUSTER_AGENT_URL names the DCA Service without a port: the Agents dial 443, the real Service
    exposes 5005 only. The specs alone tell it: --no-exec still reports it, as the root cause."""
    c = e2e_cluster("env-url-port")
    doc = run_json(c, "--no-exec", "--no-logs", code=3)
    assert {a["verdict"] for a in doc["agents"]} == {"error"}
    (f,) = [f for f in doc["findings"] if f["code"] == "dca-url-port-not-served"]
    assert "connects to port 443 (no port written: the https default)" in f["message"]
    assert "exposes only port 5005" in f["message"]
    assert f["hint"].startswith("set DD_CLUSTER_AGENT_URL=https://datadog-cluster-agent.datadog.svc:5005")
    with_exec = run_json(c, code=3)
    unreachable = next(f for f in with_exec["findings"] if f["code"] == "agent-dca-unreachable")
    assert unreachable["causedBy"] == ["dca-url-port-not-served"]
    assert with_exec["findings"][0]["code"] == "dca-url-port-not-served"
