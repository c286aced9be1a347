"""`env-check` decisions that a mutmut run (docs/mutation-testing.md) found no test pinned: how a
DD_CLUSTER_AGENT_URL host is matched to a Service (a ClusterIP, or a `name[.namespace[.svc...]]`
DNS name), and what the Agent's own status says about its contact with the DCA; through the real
CLI on a scenario changed in one place."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import pytest

from kubectl_datadog.cluster import ExecResult
from tests.conftest import invoke_cli
from tests.fakes import FakeCluster

AGENTS = ("datadog-9d5bl", "datadog-k4x2n")


def with_url(url: str) -> dict[str, Any]:
    fake = FakeCluster.from_scenario("helm")
    dca_ip = next(o["spec"]["clusterIP"] for o in fake.objects
                  if o["kind"] == "Service" and o["metadata"]["name"] == "datadog-cluster-agent")
    for o in fake.objects:
        if o["kind"] == "Pod" and o["metadata"]["name"] in AGENTS:
            for c in o["spec"]["containers"]:
                c["env"] = [*c.get("env", []), {"name": "DD_CLUSTER_AGENT_URL", "value": url.format(dca_ip=dca_ip)}]
    r = invoke_cli("env-check", "--no-exec", "-o", "json", fake=fake)
    assert r.stderr == ""
    return r.json


def agent_findings(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["code"], f["severity"], f["message"]) for f in doc["findings"] if f["code"].startswith("agent-")]


@pytest.mark.parametrize("url", [
    "https://{dca_ip}:5005",                                    # the Service's ClusterIP
    "https://datadog-cluster-agent:5005",                       # a name in the Agent's namespace
    "https://datadog-cluster-agent.datadog:5005",
    "https://datadog-cluster-agent.datadog.svc:5005",
    "https://datadog-cluster-agent.datadog.svc.cluster.local:5005",
])
def test_a_url_naming_the_dca_service_resolves_to_it(url: str) -> None:
    doc = with_url(url)
    for agent in doc["agents"]:
        assert agent["endpoint"]["source"] == "url"
        assert agent["endpoint"]["service"] == "datadog/datadog-cluster-agent"
        assert agent["verdict"] == "ok"
    assert agent_findings(doc) == []


def test_a_url_naming_a_service_in_another_namespace_is_looked_up_there() -> None:
    doc = with_url("https://datadog-cluster-agent.elsewhere:5005")
    assert {(a["endpoint"]["url"], a["endpoint"]["service"]) for a in doc["agents"]} == {
        ("https://datadog-cluster-agent.elsewhere:5005", None)}
    assert [(code, severity) for code, severity, _ in agent_findings(doc)] == [("agent-dca-service-missing", "error")]
    (f,) = [f for f in doc["findings"] if f["code"] == "agent-dca-service-missing"]
    assert f["message"].endswith("DD_CLUSTER_AGENT_URL names the Service elsewhere/datadog-cluster-agent, "
                                 "which does not exist")
    assert (f["hint"], f["command"]) == ("point DD_CLUSTER_AGENT_URL at the Cluster Agent's Service",
                                         "kubectl -n elsewhere get service datadog-cluster-agent")


def test_a_url_with_an_ip_no_service_has_cannot_be_verified() -> None:
    doc = with_url("https://10.99.99.99:5005")
    assert {(a["endpoint"]["url"], a["endpoint"]["service"]) for a in doc["agents"]} == {
        ("https://10.99.99.99:5005", None)}
    assert [(code, severity) for code, severity, _ in agent_findings(doc)] == [("agent-dca-url-unverified", "warning")]


# --- what the Agent's own status says about its contact with the DCA ----------------------------

CONNECTED = ("    - Datadog Cluster Agent endpoint detected: https://127.96.10.10:5005\n"
             "    Successfully connected to the Datadog Cluster Agent.\n"
             "    - Running: 7.62.2+commit.2b3f1c4\n")
RETRYING = "temporary failure in clusterAgentClient, will retry later: "


@dataclass
class StatusSays(FakeCluster):
    """The scenario, with every node Agent's `agent status` DCA section replaced by `section`."""

    section: str = ""

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout: float | None = None) -> ExecResult:
        result = super().exec(namespace, pod, container, argv, timeout)
        if pod in AGENTS and CONNECTED in result.stdout:
            return replace(result, stdout=result.stdout.replace(CONNECTED, self.section))
        return result


def contact(scenario: str, *lines: str) -> dict[str, Any]:
    """The one finding about the Agents' contact with their DCA (grouped over both Agents)."""
    fake = StatusSays.from_scenario(scenario)
    assert isinstance(fake, StatusSays)
    fake.section = "".join(f"    - {line}\n" for line in lines)
    r = invoke_cli("env-check", "-o", "json", fake=fake)
    assert r.stderr == ""
    (f,) = [f for f in r.json["findings"] if f["code"].startswith(("agent-dca-", "agent-token-"))]
    return f


def test_a_401_means_the_agent_sent_no_usable_token() -> None:
    f = contact("env-helm", "Could not detect the Datadog Cluster Agent's endpoint: " + RETRYING
                + '"https://127.96.10.10:5005/version" is unavailable: 401 Unauthorized')
    assert f["code"] == "agent-dca-refused" and f["severity"] == "error"
    assert ("the Agent found the Cluster Agent at https://127.96.10.10:5005 and was refused at first contact: "
            "401 Unauthorized: the Agent sent no usable auth token") in f["message"]
    assert f["hint"] == ("give the Agents and the Cluster Agent the same DD_CLUSTER_AGENT_AUTH_TOKEN (one Secret), "
                         "then restart both")


def test_a_401_follows_from_the_missing_token_secret() -> None:
    f = contact("env-token-secret-missing", "Could not detect the Datadog Cluster Agent's endpoint: " + RETRYING
                + '"https://127.96.10.10:5005/version" is unavailable: 401 Unauthorized')
    assert f["code"] == "agent-dca-refused" and f["causedBy"] == ["token-secret-missing"]
    assert f["hint"].endswith("(token-secret-missing)")


def test_an_endpoint_not_found_without_a_known_cause_points_at_the_other_findings() -> None:
    f = contact("env-helm", "Could not detect the Datadog Cluster Agent's endpoint: " + RETRYING
                + "cannot get a cluster agent endpoint for kubernetes service datadog-cluster-agent, "
                "env DATADOG_CLUSTER_AGENT_SERVICE_HOST is empty")
    assert (f["code"], f["causedBy"]) == ("agent-dca-not-detected", [])
    assert f["hint"] == "fix how the Agent finds the DCA (see the other findings)"


def test_a_refused_connection_after_a_first_success_is_not_called_first_contact() -> None:
    f = contact("env-helm", "Datadog Cluster Agent endpoint detected: https://127.96.10.10:5005",
                'Could not reach the Datadog Cluster Agent: "https://127.96.10.10:5005/version" is unavailable: '
                "dial tcp 127.96.10.10:5005: connect: connection refused")
    assert (f["code"], f["causedBy"]) == ("agent-dca-unreachable", [])
    assert "could not reach the Cluster Agent at https://127.96.10.10:5005: connection refused" in f["message"]
    assert f["hint"].startswith("check the DCA Service's endpoints and port")


def test_a_too_short_literal_token_has_no_secret_to_measure() -> None:
    """A token written in the pod spec: the finding says so, with no `kubectl get secret` command
    (the scenario's Secret-held token has one: see test_token_too_short_names_the_length_and_the_secret)."""
    fake = FakeCluster.from_scenario("env-helm")
    for o in fake.objects:
        if o["kind"] == "Pod":
            for c in o["spec"]["containers"]:
                for e in c.get("env", []):
                    if e["name"] == "DD_CLUSTER_AGENT_AUTH_TOKEN":
                        e.pop("valueFrom", None)
                        e["value"] = "abcdefghij012345"
    r = invoke_cli("env-check", "--no-exec", "-o", "json", fake=fake)
    short = {f["object"]: f for f in r.json["findings"] if f["code"] == "token-too-short"}
    assert sorted(short) == ["daemonset/datadog/datadog", "deployment/datadog/datadog-cluster-agent"]
    for f in short.values():
        assert "auth token (literal value in the pod spec) is 16 characters; at least 32" in f["message"]
        assert f["severity"] == "error" and f["command"] is None


def test_a_silent_status_whose_log_names_no_cause_says_so_and_guesses_nothing() -> None:
    fake = StatusSays.from_scenario("env-helm")  # its Agents' logs name no DCA error
    assert isinstance(fake, StatusSays)
    r = invoke_cli("env-check", "-o", "json", fake=fake)  # section "": the build that prints nothing
    agent = [f for f in r.json["findings"] if f["code"].startswith("agent-")]
    assert [(f["code"], f["severity"]) for f in agent] == [("agent-status-silent", "warning")]
    assert agent[0]["message"].endswith("its log names no cause either")


def test_an_agent_refusing_its_token_that_we_may_not_read_is_its_own_error() -> None:
    """The Secret is forbidden to us, so no token-too-short finding can be the cause: the Agent's
    own refusal is the error, with the fix and the status command that shows it."""
    f = contact("env-token-forbidden", "Could not detect the Datadog Cluster Agent's endpoint: " + RETRYING
                + "authentication token must be at least 32 characters long")
    assert (f["code"], f["severity"], f["object"], f["causedBy"]) == (
        "agent-token-rejected", "error", "daemonset/datadog/datadog", [])
    assert f["message"].endswith("the Agent refuses its own auth token and never calls the Cluster Agent: "
                                 "authentication token must be at least 32 characters long")
    assert f["hint"] == "use a token of 32+ characters a-zA-Z0-9 on both sides (Helm: clusterAgent.token)"
    assert f["command"] == "kubectl -n datadog exec datadog-9d5bl -c agent -- agent status"


def test_a_url_without_a_scheme_is_https() -> None:
    doc = with_url("datadog-cluster-agent.datadog.svc:5005")
    assert {a["endpoint"]["url"] for a in doc["agents"]} == {"https://datadog-cluster-agent.datadog.svc:5005"}
    assert agent_findings(doc) == []


def test_a_plain_http_url_is_refused_by_the_agent() -> None:
    doc = with_url("http://datadog-cluster-agent.datadog.svc:5005")
    assert {(a["endpoint"]["url"], a["verdict"]) for a in doc["agents"]} == {
        ("http://datadog-cluster-agent.datadog.svc:5005", "error")}
    (f,) = [f for f in doc["findings"] if f["code"] == "agent-dca-url-not-https"]
    assert (f["severity"], f["object"], f["command"]) == (
        "error", "daemonset/datadog/datadog", "kubectl -n datadog exec datadog-9d5bl -c agent -- agent status")
    assert f["message"].endswith("DD_CLUSTER_AGENT_URL is http://datadog-cluster-agent.datadog.svc:5005: the Agent "
                                 "accepts only https (\"not a https scheme\")")
