"""Rules about Kubernetes objects that several commands apply, each with one home in objects.py:
a Service selector selecting a pod, a named container port, EndpointSlice readiness, Secret
decoding and the envFrom prefix. The last test checks no copy of them is written elsewhere."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from kubectl_datadog.objects import EnvVar, Pod, endpoint_ready, secret_values, selector_selects

PACKAGE = Path(__file__).resolve().parents[2] / "kubectl_datadog"


@pytest.mark.parametrize("selector,labels,expected", [
    ({"app": "dca"}, {"app": "dca", "x": "y"}, True),
    ({"app": "dca", "tier": "a"}, {"app": "dca"}, False),
    ({"app": "dca"}, {"app": "agent"}, False),
    ({}, {"app": "dca"}, False),  # an empty selector selects nothing
])
def test_selector_selects(selector: dict[str, str], labels: dict[str, str], expected: bool) -> None:
    assert selector_selects(selector, labels) is expected


def test_named_port_is_looked_up_in_every_container() -> None:
    pod = Pod.from_dict({"spec": {"containers": [
        {"name": "sidecar", "ports": [{"name": "metrics", "containerPort": 9090}]},
        {"name": "cluster-agent", "ports": [{"name": "agentport", "containerPort": 5005},
                                            {"name": "metricsapi", "containerPort": 8443}]}]}})
    assert pod.port_named("agentport") == 5005
    assert pod.port_named("metrics") == 9090
    assert pod.port_named("nope") is None


@pytest.mark.parametrize("endpoint,expected", [
    ({}, True), ({"conditions": {}}, True), ({"conditions": None}, True), ({"conditions": {"ready": None}}, True),
    ({"conditions": {"ready": True}}, True), ({"conditions": {"ready": False}}, False),
    ({"conditions": {"ready": False, "serving": True}}, False),
])
def test_endpoint_ready(endpoint: dict, expected: bool) -> None:
    assert endpoint_ready(endpoint) is expected


def test_secret_values_are_decoded_and_never_shown() -> None:
    secret = {"data": {"api-key": base64.b64encode(b"0123456789abcdef").decode(), "empty": "", "bad": "%%%"},
              "stringData": {"token": "s3cr3t-token-value"}}
    got = secret_values(secret)
    assert {k: v.length for k, v in got.items()} == {"api-key": 16, "empty": 0, "bad": 0, "token": 18}
    assert "0123456789abcdef" not in repr(got) and "s3cr3t" not in str(got)
    assert secret_values(None) == {}


@pytest.mark.parametrize("name,variable,key", [
    ("*", "DD_API_KEY", "DD_API_KEY"),
    ("DD_*", "DD_API_KEY", "API_KEY"),
    ("OTHER_*", "DD_API_KEY", None),
    ("DD_API_KEY", "DD_API_KEY", None),  # a plain variable is not an envFrom source
])
def test_env_from_key(name: str, variable: str, key: str | None) -> None:
    assert EnvVar(name, None, "secret", "s").env_from_key(variable) == key


def test_no_copies_of_these_rules() -> None:
    copies = {
        'get("ready") is not False': "endpoint_ready",
        'get("ready") is False': "endpoint_ready",
        "b64decode": "secret_values",
        "labels.get(k) == v": "selector_selects",
        "name[:-1]": "EnvVar.env_from_key",
        'endswith("*")': "EnvVar.is_env_from",
        "for n, p in (c.ports": "Pod.port_named",
        "for name, number in c.ports": "Pod.port_named",
    }
    for path in PACKAGE.rglob("*.py"):
        if path.name == "objects.py" or path.parent.name == "cluster":
            continue  # the homes; cluster/selectors.py parses label-selector strings, another rule
        text = path.read_text()
        for pattern, home in copies.items():
            assert pattern not in text, f"{path}: a copy of {home}"
