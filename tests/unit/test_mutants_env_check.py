"""`env-check` decisions that a mutmut run (docs/mutation-testing.md) found no test pinned: how a
DD_CLUSTER_AGENT_URL host is matched to a Service (a ClusterIP, or a `name[.namespace[.svc...]]`
DNS name), through the real CLI on the helm scenario with the URL set on its node Agents."""

from __future__ import annotations

from typing import Any

import pytest

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
    assert [(code, severity) for code, severity, _ in agent_findings(doc)] == [("agent-dca-service-missing", "error")]
    assert ("DD_CLUSTER_AGENT_URL names the Service elsewhere/datadog-cluster-agent, which does not exist"
            in agent_findings(doc)[0][2])


def test_a_url_with_an_ip_no_service_has_cannot_be_verified() -> None:
    doc = with_url("https://10.99.99.99:5005")
    assert {a["endpoint"]["service"] for a in doc["agents"]} == {None}
    assert [(code, severity) for code, severity, _ in agent_findings(doc)] == [("agent-dca-url-unverified", "warning")]
