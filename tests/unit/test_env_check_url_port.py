"""`env-check`: an Agent whose DD_CLUSTER_AGENT_URL names the Cluster Agent's own Service dials the
URL's port (https 443 when none is written) on the Service's ClusterIP, so the Service must expose
that port and forward it to the DCA's cmd port (5005). Through the real CLI with --no-exec: nothing
but the specs can tell, so the rule must not rest on the Agent's own view."""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_datadog.diagnose.env_check import url_port
from tests.conftest import invoke_cli
from tests.fakes import FakeCluster

AGENTS = ("datadog-9d5bl", "datadog-k4x2n")
CODE = "dca-url-port-not-served"


def check(url: str, ports: list[dict[str, Any]] | None = None, headless: bool = False) -> dict[str, Any]:
    """env-check --no-exec on the Helm install, the Agents given `url`, the DCA Service `ports`."""
    fake = FakeCluster.from_scenario("helm")
    svc = next(o for o in fake.objects if o["kind"] == "Service" and o["metadata"]["name"] == "datadog-cluster-agent")
    if ports is not None:
        svc["spec"]["ports"] = ports
    if headless:
        svc["spec"]["clusterIP"], svc["spec"]["clusterIPs"] = "None", ["None"]
    for o in fake.objects:
        if o["kind"] == "Pod" and o["metadata"]["name"] in AGENTS:
            for c in o["spec"]["containers"]:
                c["env"] = [*c.get("env", []), {"name": "DD_CLUSTER_AGENT_URL",
                                                "value": url.format(dca_ip=svc["spec"]["clusterIP"])}]
    r = invoke_cli("env-check", "--no-exec", "--no-logs", "-o", "json", fake=fake)
    assert r.stderr == ""
    return r.json


def port_findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["code"] == CODE]


@pytest.mark.parametrize("url, port", [
    ("https://dca.datadog.svc", 443),
    ("http://dca.datadog.svc", 80),
    ("https://dca.datadog.svc:5005", 5005),
    ("https://10.1.0.1:8443/", 8443),
    ("https://[fd00::1]", 443),
    ("https://dca.datadog.svc:http", None),  # not a number: unknown, never judged
])
def test_url_port_is_the_written_one_else_the_schemes_default(url: str, port: int | None) -> None:
    assert url_port(url) == port


@pytest.mark.parametrize("url", [
    "https://{dca_ip}:5005",
    "https://datadog-cluster-agent:5005",
    "https://datadog-cluster-agent.datadog:5005",
    "https://datadog-cluster-agent.datadog.svc:5005",
    "https://datadog-cluster-agent.datadog.svc.cluster.local:5005",
    "datadog-cluster-agent.datadog.svc:5005",  # no scheme: https
])
def test_the_supported_url_forms_on_the_served_port_stay_ok(url: str) -> None:
    doc = check(url)
    assert {a["verdict"] for a in doc["agents"]} == {"ok"}
    assert doc["findings"] == []


@pytest.mark.parametrize("url", [
    "https://datadog-cluster-agent.datadog.svc",
    "https://{dca_ip}",
    "datadog-cluster-agent.datadog.svc",
])
def test_a_url_without_a_port_dials_443_which_the_service_does_not_expose(url: str) -> None:
    doc = check(url)
    assert {a["verdict"] for a in doc["agents"]} == {"error"}
    assert all(CODE in a["findings"] for a in doc["agents"])
    (f,) = port_findings(doc)
    assert f["severity"] == "error" and f["object"] == "daemonset/datadog/datadog"
    assert ("the Agent connects to port 443 (no port written: the https default) of the Service "
            "datadog/datadog-cluster-agent, which exposes only port 5005") in f["message"]
    (written,) = {a["endpoint"]["url"] for a in doc["agents"]}  # the URL, https:// prefixed
    assert f["hint"].startswith(f"set DD_CLUSTER_AGENT_URL={written}:5005 on the Agents")
    assert f["command"] == ("kubectl -n datadog get svc datadog-cluster-agent "
                            "-o jsonpath='{range .spec.ports[*]}{.port}->{.targetPort}{\" \"}{end}'")


def test_an_explicit_port_the_service_does_not_expose() -> None:
    (f,) = port_findings(check("https://datadog-cluster-agent.datadog.svc:8443"))
    assert "connects to port 8443 of the Service datadog/datadog-cluster-agent, which exposes only port 5005" \
        in f["message"]
    assert "default" not in f["message"]


def test_443_with_a_named_target_port_reaching_the_dca_is_served() -> None:
    """targetPort `agentport` is resolved through the DCA pod's container ports (Pod.port_named)."""
    doc = check("https://datadog-cluster-agent.datadog.svc",
                [{"name": "agentport", "port": 5005, "protocol": "TCP", "targetPort": 5005},
                 {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "agentport"}])
    assert port_findings(doc) == [] and {a["verdict"] for a in doc["agents"]} == {"ok"}


def test_443_with_a_named_target_port_of_another_container_port_is_not_served() -> None:
    doc = check("https://datadog-cluster-agent.datadog.svc",
                [{"name": "agentport", "port": 5005, "protocol": "TCP", "targetPort": 5005},
                 {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "metricsapi"}])
    (f,) = port_findings(doc)
    assert "forwards port 443 to metricsapi, but the Cluster Agent listens on 5005" in f["message"]
    assert "DD_CLUSTER_AGENT_URL=https://datadog-cluster-agent.datadog.svc:5005" in f["hint"]


def test_a_service_that_reaches_the_dca_on_no_port_is_the_services_problem_not_the_urls() -> None:
    """The URL's port exists but forwards to 5006, like every port: fixing the Service fixes the URL."""
    doc = check("https://datadog-cluster-agent.datadog.svc:5005",
                [{"name": "agentport", "port": 5005, "protocol": "TCP", "targetPort": 5006}])
    codes = {f["code"] for f in doc["findings"]}
    assert "dca-service-wrong-port" in codes and CODE not in codes


def test_a_url_port_missing_from_a_service_that_reaches_the_dca_on_no_port_names_both() -> None:
    doc = check("https://datadog-cluster-agent.datadog.svc",
                [{"name": "agentport", "port": 5005, "protocol": "TCP", "targetPort": 5006}])
    (f,) = port_findings(doc)
    assert "dca-service-wrong-port" in {g["code"] for g in doc["findings"]}
    assert "dca-service-wrong-port" in f["hint"]


@pytest.mark.parametrize("url, port", [
    ("https://datadog-cluster-agent.datadog.svc:5005", None),
    ("https://datadog-cluster-agent.datadog.svc:443", 443),
])
def test_a_headless_service_is_dialled_on_the_pods_own_port(url: str, port: int | None) -> None:
    """Its name resolves to the DCA pods: the URL's port is dialled on them, whatever the Service maps."""
    doc = check(url, [{"name": "agentport", "port": 443, "protocol": "TCP", "targetPort": 5005}], headless=True)
    found = port_findings(doc)
    if port is None:
        assert found == []
        return
    (f,) = found
    assert "connects to port 443 of the Service datadog/datadog-cluster-agent, which is headless" in f["message"]
    assert f["hint"].startswith("set DD_CLUSTER_AGENT_URL=https://datadog-cluster-agent.datadog.svc:5005 on the "
                                "Agents (the Cluster Agent's own port)")


def test_a_plain_http_url_stays_the_not_https_finding_only() -> None:
    doc = check("http://datadog-cluster-agent.datadog.svc")
    assert [f["code"] for f in doc["findings"]] == ["agent-dca-url-not-https"]


def test_the_wrong_port_is_the_root_cause_of_the_agents_failed_contact() -> None:
    r = invoke_cli("env-check", "-o", "json", scenario="env-url-port")
    found = r.json["findings"]
    assert [f["code"] for f in found][:2] == [CODE, "agent-dca-unreachable"]
    unreachable = next(f for f in found if f["code"] == "agent-dca-unreachable")
    assert unreachable["causedBy"] == [CODE]
    assert "DD_CLUSTER_AGENT_URL=https://datadog-cluster-agent.datadog.svc:5005" in unreachable["hint"]
