"""Unit tests of env-check's pure parts: the Agent's status/env/log parsing and the diagnosis rules."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kubectl_datadog.collect.env_check import (NamespaceObjects, ReadyEndpoint, TokenRef, token_ref,
                                               url_namespace)
from kubectl_datadog.diagnose.env_check import group_findings, service_problem
from kubectl_datadog.install import Install
from kubectl_datadog.model import Finding, SecretValue, Severity
from kubectl_datadog.objects import Container, EnvVar, Pod, Service, ServicePort
from kubectl_datadog.textformats.agent_status import (dca_status, process_env, service_link_prefix,
                                                      tag_collector_log)

BANNER = "=====================\nDatadog Cluster Agent\n=====================\n"


@pytest.mark.parametrize("body, expect", [
    ("  - Datadog Cluster Agent endpoint detected: https://10.0.0.1:5005\n"
     "  Successfully connected to the Datadog Cluster Agent.\n  - Running: 7.62.2+commit.abc\n",
     dict(endpoint="https://10.0.0.1:5005", connected=True, version="7.62.2+commit.abc")),
    # the seed's capitalisation and old version format
    ("   - Datadog Cluster Agent endpoint detected: https://10.0.0.1:5005\n"
     "   Successfully Connected to the Datadog Cluster Agent.\n   - Running: {Major:1 Minor:0 Pre:xxx Meta:xxx Commit:xxxxx}\n",
     dict(connected=True, version="{Major:1 Minor:0 Pre:xxx Meta:xxx Commit:xxxxx}")),
    ("  - Could not detect the Datadog Cluster Agent's endpoint: env X is empty\n",
     dict(detection_error="env X is empty", connected=False)),
    ("  - Datadog Cluster Agent endpoint detected: https://10.0.0.1:5005\n"
     "  - Could not reach the Datadog Cluster Agent: 403 invalid session token\n",
     dict(connection_error="403 invalid session token", connected=False)),
    # every failure also prints the version line (clusteragent.tmpl: `if not .Version`)
    ("  - Datadog Cluster Agent endpoint detected: https://10.0.0.1:5005\n"
     "  - Could not reach the Datadog Cluster Agent: boom\n"
     "  - Could not retrieve the version of the Datadog Cluster Agent.\n",
     dict(connected=False, connection_error="boom", version="")),
], ids=["connected", "seed-format", "not-detected", "unreachable", "unreachable-no-version"])
def test_dca_status(body: str, expect: dict) -> None:
    text = "===========\nAgent (v7)\n===========\n  Pid: 1\n\n" + BANNER + "\n" + body + "\n=========\nEndpoints\n=========\n"
    st = dca_status(text)
    assert st is not None
    for key, value in expect.items():
        assert getattr(st, key) == value, key


def test_dca_status_absent_section() -> None:
    assert dca_status("===========\nAgent (v7)\n===========\n  Pid: 1\n") is None


def test_process_env_keeps_only_what_it_needs_and_masks_the_token() -> None:
    env = process_env("DD_API_KEY=abcdefabcdefabcdef\nDD_CLUSTER_AGENT_AUTH_TOKEN=0123456789abcdef0123456789abcdef\n"
                      "DATADOG_CLUSTER_AGENT_SERVICE_HOST=10.0.0.1\nDATADOG_CLUSTER_AGENT_SERVICE_PORT=5005\n"
                      "DD_CLUSTER_AGENT_ENABLED=true\nHOME=/root\nnot a var\n")
    assert env.token == SecretValue("0123456789abcdef0123456789abcdef")
    assert "DD_API_KEY" not in env.values and "HOME" not in env.values
    assert env.service_link("datadog-cluster-agent") == ("10.0.0.1", "5005")
    assert env.get("DD_CLUSTER_AGENT_ENABLED") == "true"
    assert "0123456789abcdef" not in repr(env)


@pytest.mark.parametrize("name, prefix", [("datadog-cluster-agent", "DATADOG_CLUSTER_AGENT"),
                                          ("dca", "DCA"), ("my-release-datadog-cluster-agent",
                                                           "MY_RELEASE_DATADOG_CLUSTER_AGENT")])
def test_service_link_prefix(name: str, prefix: str) -> None:
    assert service_link_prefix(name) == prefix


L = "2026-11-27 07:40:11 UTC | CORE | {lvl} | (x.go:1 in f) | {msg}"


@pytest.mark.parametrize("lines, state", [
    ([], "unknown"),
    ([L.format(lvl="INFO", msg="kube-metadata-collector tag collector successfully started")], "connected"),
    ([L.format(lvl="ERROR", msg="Could not initialise the communication with the Datadog Cluster Agent, falling "
                                "back to local service mapping: boom")], "fallback"),
    ([L.format(lvl="ERROR", msg="Could not initialise the communication with the cluster agent: boom")], "failing"),
    ([L.format(lvl="ERROR", msg="Could not initialise the communication with the cluster agent: boom"),
      L.format(lvl="INFO", msg="Successfully connected to the Datadog Cluster Agent 7.62.2")], "connected"),
    ([L.format(lvl="ERROR", msg="Permanent failure in communication with the cluster agent, will fallback to "
                                "local service mapper")], "fallback"),
], ids=["none", "started", "legacy-fallback", "init-failed", "later-success-wins", "permanent-failure"])
def test_tag_collector_log(lines: list[str], state: str) -> None:
    assert tag_collector_log("\n".join(lines)).state == state


def test_log_lines_never_keep_a_bearer_token() -> None:
    log = tag_collector_log(L.format(lvl="ERROR", msg="Could not initialise the communication with the cluster "
                                                      "agent: request with Bearer s3cr3tT0kenValue failed"))
    assert log.last is not None and "s3cr3tT0kenValue" not in log.last.text


def pod(name: str, labels: dict[str, str], ports: tuple = (("agentport", 5005),)) -> Pod:
    return Pod("datadog", name, "n1", "Running", True, "10.0.0.9", labels,
               (Container("cluster-agent", "img", (), ports),), "ReplicaSet", "rs",
               datetime(2026, 11, 27, tzinfo=timezone.utc), False, "sa", True)


DCA = Install("datadog", "datadog", "helm", "datadog-cluster-agent", (pod("dca-1", {"app": "dca"}),), ())


def svc(selector: dict[str, str], target: str = "5005", port: int = 5005, name: str = "agentport") -> Service:
    return Service("datadog", "dca", "10.1.0.1", (ServicePort(name, port, target),), selector)


def nso(eps: tuple[ReadyEndpoint, ...]) -> NamespaceObjects:
    return NamespaceObjects("datadog", {}, None, {"dca": eps})


READY = (ReadyEndpoint("10.0.0.9", "dca-1", True, (("agentport", 5005),)),)


@pytest.mark.parametrize("service, port, objs, kind", [
    (svc({"app": "dca"}), None, nso(READY), ""),
    (svc({"app": "dca"}, target="agentport"), 5005, nso(READY), ""),
    (svc({"app": "other"}), None, nso(()), "selector"),
    (svc({"app": "dca"}, target="5006"), None, nso(READY), "port"),
    (svc({"app": "dca"}, target="metricsapi"), None, nso(READY), "port"),
    (svc({"app": "dca"}), 443, nso(READY), "port"),
    (svc({"app": "dca"}), None, nso((ReadyEndpoint("10.0.0.9", "dca-1", False, (("agentport", 5005),)),)),
     "endpoints"),
    (svc({"app": "dca"}), None, None, ""),  # slices unknown: not judged
], ids=["ok", "named-target", "selector", "target-5006", "unknown-named-target", "no-such-port", "not-ready",
        "no-slices"])
def test_service_problem(service: Service, port: int | None, objs: NamespaceObjects | None, kind: str) -> None:
    assert service_problem(service, port, DCA, objs)[0] == kind


@pytest.mark.parametrize("env, envfrom, expect", [
    ({"DD_CLUSTER_AGENT_AUTH_TOKEN": EnvVar("DD_CLUSTER_AGENT_AUTH_TOKEN", None, "secret", "s", "token")}, [],
     ("secret", "s", "token")),
    ({}, [EnvVar("*", None, "secret", "all")], ("secret", "all", "DD_CLUSTER_AGENT_AUTH_TOKEN")),
    ({}, [EnvVar("DD_CLUSTER_AGENT_*", None, "secret", "pref")], ("secret", "pref", "AUTH_TOKEN")),
    ({}, [], ("missing", "", "")),
], ids=["secretKeyRef", "envFrom", "envFrom-prefix", "missing"])
def test_token_ref(env: dict, envfrom: list, expect: tuple) -> None:
    ref = token_ref(env, envfrom, "datadog")
    assert (ref.source, ref.name, ref.key) == expect


def test_literal_token_is_a_secret_value() -> None:
    ref = token_ref({"DD_CLUSTER_AGENT_AUTH_TOKEN": EnvVar("DD_CLUSTER_AGENT_AUTH_TOKEN", "x" * 40)}, [], "ns")
    assert ref.source == "value" and ref.value is not None and ref.value.length == 40
    assert "x" * 40 not in str(ref.to_dict())


@pytest.mark.parametrize("url, ns", [("https://datadog-cluster-agent.other.svc:5005", "other"),
                                     ("datadog-cluster-agent:5005", "mine"), ("https://10.0.0.1:5005", None)])
def test_url_namespace(url: str, ns: str | None) -> None:
    assert url_namespace(url, "mine") == ns


def test_identical_agent_findings_are_grouped_by_daemonset() -> None:
    from kubectl_datadog.diagnose.env_check import AgentRow, Endpoint

    def row(name: str) -> AgentRow:
        p = Pod("datadog", name, "n", "Running", True, "", {}, (), "DaemonSet", "datadog", None, False,
                "sa", True)
        f = Finding("agent-dca-unreachable", Severity.ERROR, f"pod/datadog/{name}", "same", "hint", "cmd")
        shared = Finding("dca-service-wrong-port", Severity.ERROR, "service/datadog/dca", "port", "hint")
        return AgentRow(p, DCA, DCA, True, Endpoint("url"), "ok", TokenRef("missing"), "no", "", "", "error",
                        (f, shared))

    out = group_findings(tuple(row(n) for n in ["a", "b", "c", "d", "e"]))
    assert [(f.code, f.subject) for f in out] == [("agent-dca-unreachable", "daemonset/datadog/datadog"),
                                                  ("dca-service-wrong-port", "service/datadog/dca")]
    assert out[0].message == "5 Agents (a, b, c and 2 more): same"
