"""The DCA's cluster-check telemetry read into the `clusterchecks` state shape, table-driven over
the layouts DCAs have exported (reference admission-and-clusterchecks.md B4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubectl_datadog.textformats.clusterchecks_telemetry import cluster_checks_telemetry
from kubectl_datadog.textformats.prometheus import parse_prometheus

FIXTURE = (Path(__file__).parents[1] / "scenarios" / "clusterchecks-telemetry" / "pods" / "datadog"
           / "datadog-cluster-agent-8568545574-x9tc9" / "proxy" / "5000" / "metrics")
RUNNER_A, RUNNER_B = "datadog-clusterchecks-7d9c6b5f4-2xk8p", "datadog-clusterchecks-7d9c6b5f4-9qv7m"

# An older DCA (telemetry.NewGauge with the double-underscore separator, no join_leader, no
# configs_info): counts only.
OLD = """\
cluster_checks__nodes_reporting 3
cluster_checks__configs_dangling 2
cluster_checks__configs_dispatched{node="node-a"} 4
cluster_checks__configs_dispatched{node="node-b"} 0
"""
FOLLOWER = """\
leader_election_is_leader{is_leader="false",join_leader="true"} 1
cluster_checks_nodes_reporting{join_leader="true"} 2
"""
NO_SERIES = """\
# HELP go_goroutines g
go_goroutines 12
leader_election_is_leader{is_leader="true",join_leader="true"} 1
"""


def _state(text: str):
    return cluster_checks_telemetry(parse_prometheus(text)).state()


def test_the_scenario_telemetry_names_each_runners_checks() -> None:
    tel = cluster_checks_telemetry(parse_prometheus(FIXTURE.read_text()))
    assert tel.is_leader is True and tel.nodes_reporting == 2 and tel.dangling == 0
    assert tel.dispatched == {RUNNER_A: 1, RUNNER_B: 1}
    assert tel.endpoint_dispatched == {"gke-test-default-pool-068cb9c0-wntj": 1}
    assert tel.busyness == {RUNNER_A: 12.0, RUNNER_B: 431.0}
    assert tel.rebalancing_decisions == 0 and tel.configs_named
    state = tel.state()
    assert state is not None and state.source == "telemetry" and state.reporting == 2
    assert {n: [(c.check, c.instance_ids) for c in cs] for n, cs in state.nodes.items()} == {
        RUNNER_A: [("redisdb", ("redisdb:6e3b9a1c2f4d5e70",))],
        RUNNER_B: [("kubernetes_state_core", ("kubernetes_state_core:d417aee8e5fba450",))]}
    assert state.unnamed_dangling == 0 and state.endpoint_checks is None


@pytest.mark.parametrize("text, reporting, dangling, nodes, named, not_running", [
    (OLD, 3, 2, {"node-a": 0, "node-b": 0}, False, ""),
    (FOLLOWER, None, 0, {}, True, "currently follower (its telemetry says it is not the leader)"),
    ('cluster_checks_configs_info{check_id="http_check:web:abc",node="r1"} 1\n'
     'cluster_checks_configs_info{check_id="gone:1",node="r1"} 0\n'
     'cluster_checks_configs_dispatched{node="r1"} 1\n', None, 0, {"r1": 1}, True, ""),
    ('cluster_checks_configs_info{check_id="a:1",node="r1"} 1\n'
     'cluster_checks_configs_dispatched{node="r1"} 2\n', None, 0, {"r1": 1}, False, ""),
])
def test_layouts(text: str, reporting, dangling: int, nodes: dict, named: bool, not_running: str) -> None:
    state = _state(text)
    assert state is not None
    assert state.reporting == reporting and state.unnamed_dangling == dangling
    assert {n: len(cs) for n, cs in state.nodes.items()} == nodes
    assert state.configs_named is named and state.not_running == not_running


def test_a_check_id_with_an_instance_name_keeps_the_check_name() -> None:
    state = _state('cluster_checks_configs_info{check_id="http_check:web:abc",node="r1"} 1\n'
                   'cluster_checks_configs_dispatched{node="r1"} 1\n')
    assert state is not None and state.nodes["r1"][0].check == "http_check"


def test_no_cluster_check_series_is_unknown_not_zero() -> None:
    assert _state(NO_SERIES) is None
    assert cluster_checks_telemetry(parse_prometheus(NO_SERIES)).nodes_reporting is None
