"""Check templates from Service annotations (AD v2 `checks`, the v1 trio, the legacy endpoints prefix),
conf.d files, and list settings, as the DCA's providers read them (reference B2)."""

from __future__ import annotations

import json

import pytest

from kubectl_datadog.snapshots.clusterchecks import split_list
from kubectl_datadog.snapshots.clusterchecks_configs import (
    ENDPOINTS_PREFIX,
    LEGACY_ENDPOINTS_PREFIX,
    SERVICE_PREFIX,
    annotated_service,
    confd_file,
    endpoints_addresses,
    parse_annotations,
)

S = SERVICE_PREFIX


@pytest.mark.parametrize("annotations,templates,error", [
    ({S + "checks": json.dumps({"redisdb": {"init_config": {}, "instances": [{"host": "%%host%%"}]}})},
     [("redisdb", 1)], ""),
    ({S + "checks": json.dumps({"a": {"instances": [{}, {}]}, "b": {"instances": [{}]}})}, [("a", 2), ("b", 1)], ""),
    ({S + "checks": "{'redisdb': {'instances': [{}]}}"}, [], "invalid JSON"),
    ({S + "checks": "[]"}, [], "expected a JSON object"),
    ({S + "checks": json.dumps({"redisdb": {"init_config": {}}})}, [], "redisdb has no instances"),
    ({S + "checks": json.dumps({"redisdb": "x"})}, [], "redisdb is not a JSON object"),
    ({S + "check_names": '["redisdb"]', S + "init_configs": "[{}]", S + "instances": '[{"host": "%%host%%"}]'},
     [("redisdb", 1)], ""),
    ({S + "check_names": '["redisdb", "http_check"]', S + "init_configs": "[{}]", S + "instances": "[{}, {}]"},
     [], "have 2, 1 and 2 items"),
    ({S + "check_names": '["redisdb"]', S + "instances": "[{}]"}, [], "init_configs is missing"),
    ({S + "check_names": '["redisdb"', S + "init_configs": "[{}]", S + "instances": "[{}]"}, [], "invalid JSON"),
    # v2 wins over v1, as in the agent
    ({S + "checks": json.dumps({"a": {"instances": [{}]}}), S + "check_names": "not json"}, [("a", 1)], ""),
])
def test_service_annotations(annotations: dict[str, str], templates: list[tuple[str, int]], error: str) -> None:
    got = parse_annotations(annotations, S)
    assert got is not None
    assert [(t.check, t.instances) for t in got.templates] == templates
    assert (error in got.error) if error else got.error == ""


def test_no_annotations_is_none_and_other_prefixes_are_ignored() -> None:
    assert parse_annotations({"ad.datadoghq.com/redis.checks": "{}"}, S) is None
    obj = {"metadata": {"name": "x", "namespace": "default", "annotations": {"prometheus.io/scrape": "true"}}}
    assert annotated_service(obj) is None


def test_endpoints_annotations_and_the_legacy_prefix() -> None:
    body = json.dumps({"nginx": {"instances": [{}]}})
    for prefix in (ENDPOINTS_PREFIX, LEGACY_ENDPOINTS_PREFIX):
        svc = annotated_service({"metadata": {"name": "web", "namespace": "shop", "annotations": {
            prefix + "checks": body, ENDPOINTS_PREFIX + "resolve": "ip"}}})
        assert svc is not None and svc.service is None and svc.endpoints is not None
        assert [t.check for t in svc.endpoints.templates] == ["nginx"] and svc.resolve == "ip"


def test_only_ready_addresses_are_used() -> None:
    addrs, not_ready = endpoints_addresses({"subsets": [{
        "addresses": [{"ip": "10.0.0.1", "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "p", "namespace": "d"}},
                      {"ip": "10.0.0.9"}],
        "notReadyAddresses": [{"ip": "10.0.0.2"}]}]})
    assert [(a.ip, a.pod, a.node) for a in addrs] == [("10.0.0.1", "d/p", "n1"), ("10.0.0.9", "", "")]
    assert not_ready == 1


@pytest.mark.parametrize("key,text,check,cluster_check,error", [
    ("kubernetes_state_core.yaml.default", "cluster_check: true\ninstances:\n  - collectors: [pods]\n",
     "kubernetes_state_core", True, ""),
    ("http_check--api.yaml", "instances:\n  - url: http://x\n", "http_check", False, ""),
    ("bad.yaml", "instances: [\n", "bad", False, "invalid YAML"),
    ("empty.yaml", "cluster_check: true\n", "empty", True, "no instances"),
])
def test_confd_files(key: str, text: str, check: str, cluster_check: bool, error: str) -> None:
    f = confd_file("cm", key, text)
    assert f is not None
    assert (f.check, f.cluster_check) == (check, cluster_check)
    assert (error in f.error) if error else f.error == ""


def test_confd_directory_names_the_check_and_other_keys_are_skipped() -> None:
    f = confd_file("cm", "conf.yaml", "instances: [{}]\n", "postgres")
    assert f is not None and f.check == "postgres"
    assert confd_file("cm", "README", "text") is None


@pytest.mark.parametrize("value,items", [
    ("kube_endpoints kube_services", ("kube_endpoints", "kube_services")),
    ("clusterchecks,endpointschecks", ("clusterchecks", "endpointschecks")),
    ('["clusterchecks"]', ("clusterchecks",)),
    ("", ()), (None, ()),
])
def test_list_settings(value: str | None, items: tuple[str, ...]) -> None:
    assert split_list(value) == items
