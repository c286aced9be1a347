"""The DCA's `clusterchecks` output and status section "Cluster Checks Dispatching", parsed from
fixture texts (tests/fixtures/clusterchecks/) in the layouts of the reference (B4, datadog-agent.md §6):
the current layout, the older `node-agents reporting` one, DCAs with and without execution status."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubectl_datadog.textformats.clusterchecks import (
    ClusterChecksParseError,
    DispatchingStatus,
    dispatching_status,
    parse_clusterchecks,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clusterchecks"
RUNNER_A, RUNNER_B = "datadog-clusterchecks-7d9c6b5f4-2xk8p", "datadog-clusterchecks-7d9c6b5f4-9qv7m"


def _summary(name: str) -> dict[str, object]:
    s = parse_clusterchecks((FIXTURES / name).read_text())
    return {
        "enabled": s.enabled, "not_running": s.not_running, "warmup": s.warmup, "reporting": s.reporting,
        "query_error": s.query_error[:30],
        "nodes": {n: [(c.check, c.source) for c in cs] for n, cs in s.nodes.items()},
        "dangling": [c.check for c in s.dangling],
        "endpoints": None if s.endpoint_checks is None else [(c.check, c.state_node) for c in s.endpoint_checks],
        "execution_status": s.has_execution_status,
    }


CASES = {
    "runners.txt": {
        "enabled": True, "not_running": "", "warmup": False, "reporting": 2, "query_error": "",
        "nodes": {RUNNER_A: [("redisdb", "kube_services:kube_service://default/redis")],
                  RUNNER_B: [("kubernetes_state_core",
                              "file:/etc/datadog-agent/conf.d/kubernetes_state_core.yaml.default")]},
        "dangling": [], "endpoints": [("nginx", "gke-test-default-pool-068cb9c0-wntj")], "execution_status": False},
    "dangling-zero.txt": {
        "enabled": True, "not_running": "", "warmup": False, "reporting": 0, "query_error": "", "nodes": {},
        "dangling": ["redisdb", "kubernetes_state_core"],
        "endpoints": [("nginx", "gke-test-default-pool-068cb9c0-wntj")], "execution_status": False},
    "node-agents-old.txt": {
        "enabled": True, "not_running": "", "warmup": False, "reporting": 3, "query_error": "",
        "nodes": {"default-pool-bce5cd34-7g24.c.sandbox.internal": [],
                  "default-pool-bce5cd34-slx3.c.sandbox.internal": [
                      ("http_check", "file:/etc/datadog-agent/conf.d/http_check.d/conf.yaml"),
                      ("redisdb", "kube_services:kube_service://default/redis")],
                  "default-pool-bce5cd34-ttw6.c.sandbox.internal": [
                      ("mysql", "kube_services:kube_service://default/mysql")]},
        "dangling": [], "endpoints": None, "execution_status": False},
    "execution-status.txt": {
        "enabled": True, "not_running": "", "warmup": False, "reporting": 2, "query_error": "",
        "nodes": {"datadog-cluster-checks-runner-77844b957d-8xvpj": [
            ("kubernetes_state_core",
             "file:/etc/datadog-agent/conf.d/kubernetes_state_core.d/kubernetes_state_core.yaml.default")],
            "datadog-cluster-checks-runner-77844b957d-q2lrt": [
                ("postgres", "kube_services:kube_service://db/postgres")]},
        "dangling": [], "endpoints": None, "execution_status": True},
    "indented-execution-status.txt": {
        "enabled": True, "not_running": "", "warmup": False, "reporting": 1, "query_error": "",
        "nodes": {"datadog-cluster-checks-runner-77844b957d-8xvpj": [
            ("kubernetes_state_core",
             "file:/etc/datadog-agent/conf.d/kubernetes_state_core.d/kubernetes_state_core.yaml.default")]},
        "dangling": [], "endpoints": None, "execution_status": True},
    "warmup.txt": {
        "enabled": True, "not_running": "", "warmup": True, "reporting": 0, "query_error": "", "nodes": {},
        "dangling": [], "endpoints": None, "execution_status": False},
    "colored.txt": {
        "enabled": True, "not_running": "", "warmup": True, "reporting": 1, "query_error": "", "nodes": {"node-a": []},
        "dangling": [], "endpoints": None, "execution_status": False},
    "not-enabled.txt": {
        "enabled": False, "not_running": "", "warmup": False, "reporting": None, "query_error": "", "nodes": {},
        "dangling": [], "endpoints": None, "execution_status": False},
    "follower.txt": {
        "enabled": True, "not_running": "currently follower", "warmup": False, "reporting": None, "query_error": "",
        "nodes": {}, "dangling": [], "endpoints": None, "execution_status": False},
    "query-error.txt": {
        "enabled": True, "not_running": "", "warmup": False, "reporting": None,
        "query_error": 'Get "https://localhost:5005/ap', "nodes": {}, "dangling": [], "endpoints": None,
        "execution_status": False},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_clusterchecks_layouts(name: str) -> None:
    assert _summary(name) == CASES[name]


def test_execution_status_per_instance_with_the_error_line() -> None:
    s = parse_clusterchecks((FIXTURES / "execution-status.txt").read_text())
    ksm = s.nodes["datadog-cluster-checks-runner-77844b957d-8xvpj"][0]
    pg = s.nodes["datadog-cluster-checks-runner-77844b957d-q2lrt"][0]
    assert [(i.instance_id, i.state, i.error) for i in ksm.statuses or ()] == [
        ("kubernetes_state_core:d417aee8e5fba450", "OK", "")]
    assert [(i.state, i.error) for i in pg.statuses or ()] == [
        ("ERROR", 'password authentication failed for user "datadog"')]
    assert pg.instance_ids == ("postgres:8b1c2d3e4f506172",)


def test_without_execution_status_it_is_unknown_not_ok() -> None:
    s = parse_clusterchecks((FIXTURES / "runners.txt").read_text())
    assert all(c.statuses is None for cs in s.nodes.values() for c in cs)


def test_endpoint_check_block_fields() -> None:
    s = parse_clusterchecks((FIXTURES / "runners.txt").read_text())
    (ep,) = s.endpoint_checks or []
    assert ep.provider == "kubernetes-endpointslices"
    assert ep.ad_identifiers == ("kube_endpoint_uid://default/nginx/10.244.1.20",
                                 "kubernetes_pod://pod-nginx-6d4cf56db6-tk2rw")
    assert ep.source == "kube_endpoints:kube_endpoint_uid://default/nginx/"


def test_dangling_blocks_keep_their_cluster_check_header() -> None:
    s = parse_clusterchecks((FIXTURES / "dangling-zero.txt").read_text())
    assert [c.cluster_check for c in s.dangling] == [True, True]


@pytest.mark.parametrize("text", ["", "\n\n", (FIXTURES / "unknown-command.txt").read_text(),
                                  "some other program's output\n"])
def test_text_that_is_not_clusterchecks_output_is_an_error(text: str) -> None:
    with pytest.raises(ClusterChecksParseError):
        parse_clusterchecks(text)


STATUS = {
    "leader.txt": DispatchingStatus("leader", "", 3, 12, 11, 1),
    "warming-up.txt": DispatchingStatus("leader-warming-up"),
    "follower.txt": DispatchingStatus("follower", "10.244.1.5"),
    "follower-no-leader.txt": DispatchingStatus("follower"),
    "not-enabled.txt": DispatchingStatus("not-enabled"),
    "missing.txt": None,
}


@pytest.mark.parametrize("name", sorted(STATUS))
def test_status_section(name: str) -> None:
    assert dispatching_status((FIXTURES / "status" / name).read_text()) == STATUS[name]
